import { Controller, Get, Header, Inject } from '@nestjs/common';
import { RelayCore } from '../core/relay-core.js';

/** Prometheus scrape endpoint. */
@Controller()
export class MetricsController {
  constructor(@Inject(RelayCore) private readonly core: RelayCore) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.core.metrics.registry.metrics();
  }
}
