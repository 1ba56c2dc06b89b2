import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { RelayCore } from '../core/relay-core.js';

/** Liveness and readiness probes. */
@Controller()
export class HealthController {
  constructor(@Inject(RelayCore) private readonly core: RelayCore) {}

  /** The process is up and serving HTTP. Stays 200 during a Redis outage and while draining. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * 200 when ready, also while the cluster backend is unreachable (status `degraded`, with the
   * reasons); 503 while draining and before the backend first answered. See `Readiness`.
   */
  @Get('readyz')
  readyz(@Res({ passthrough: true }) response: Response) {
    const { ready, status, reasons } = this.core.readiness();
    response.status(ready ? 200 : 503);
    return { status, reasons };
  }
}
