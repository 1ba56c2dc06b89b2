import type { DynamicModule } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { RelayGateway } from './gateway/relay.gateway.js';
import { HealthController } from './health/health.controller.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { RelayCore } from './relay-core.js';

/** Nest hosts the relay core: the gateway, the probes and the metrics endpoint. */
@Module({})
export class AppModule {
  static forCore(core: RelayCore): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController, MetricsController],
      providers: [{ provide: RelayCore, useValue: core }, RelayGateway],
    };
  }
}
