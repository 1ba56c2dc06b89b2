import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { RelayCore } from '../relay-core.js';

/** Liveness and readiness probes. */
@Controller()
export class HealthController {
  constructor(@Inject(RelayCore) private readonly core: RelayCore) {}

  /** The process is up and serving HTTP. Stays 200 during a Redis outage and while draining. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 503 while draining or while the cluster backend is unreachable; the body says which. */
  @Get('readyz')
  readyz(@Res({ passthrough: true }) response: Response) {
    const { ready, reasons } = this.core.readiness();
    response.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'unavailable', reasons };
  }
}
