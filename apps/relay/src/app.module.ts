import type { DynamicModule } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { RelayGateway } from './transport/ws/relay.gateway.js';
import { HealthController } from './http/health.controller.js';
import { MetricsController } from './http/metrics.controller.js';
import { RelayCore } from './core/relay-core.js';

/**
 * Nest hosts the relay core: the gateway, the probes, and the metrics endpoint when it is served
 * on the main port (by default it has a listener of its own: see metrics-listener.ts).
 */
@Module({})
export class AppModule {
  static forCore(core: RelayCore, options: { metrics: boolean }): DynamicModule {
    return {
      module: AppModule,
      controllers: options.metrics ? [HealthController, MetricsController] : [HealthController],
      providers: [{ provide: RelayCore, useValue: core }, RelayGateway],
    };
  }
}
