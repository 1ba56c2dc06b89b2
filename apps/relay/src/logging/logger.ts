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
