import type { LoggerService } from '@nestjs/common';
import { createHmac, randomBytes } from 'node:crypto';
import type { Logger, LevelWithSilent } from 'pino';
import { pino } from 'pino';

export type { Logger };

/** JSON logs on stdout. Payloads, keys, nicknames and room ids never reach a log line. */
export function createLogger(level: LevelWithSilent, replicaId: string): Logger {
  return pino({ level, base: { service: 'hush-relay', replica: replicaId } });
}

const pseudonymKey = randomBytes(32);

/**
 * A stable, per-process pseudonym for a room id: lines about one room correlate within a run,
 * but the id itself (which, with the key, is the room's secret) is never written.
 */
export function roomTag(roomId: string): string {
  return createHmac('sha256', pseudonymKey).update(roomId).digest('base64url').slice(0, 10);
}

/** Routes Nest's own log lines into the relay's pino logger. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
