import type { Logger } from './logger.js';

/** One interval's record of a cause. */
interface Tally {
  /** Occurrences since the line that was last written for this cause. */
  suppressed: number;
  /** When the interval that the last written line opened ends. */
  until: number;
}

type Level = 'error' | 'warn' | 'info';

/**
 * Log lines that cannot be amplified: the first occurrence of a cause is written at once, later
 * ones within `intervalMs` are only counted, and the next occurrence after the interval writes
 * one line carrying that count (`suppressed`). A flood of one fault (a Redis outage failing every
 * publish, a client sending oversized frames) therefore costs one line per cause per interval.
 */
export class ThrottledLog {
  private readonly tallies = new Map<string, Tally>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `message` under `cause` (a bounded string: never a payload, name or room id). */
  write(level: Level, cause: string, fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    const tally = this.tallies.get(cause);
    if (tally !== undefined && now < tally.until) {
      tally.suppressed += 1;
      return;
    }
    const suppressed = tally?.suppressed ?? 0;
    this.tallies.set(cause, { suppressed: 0, until: now + this.intervalMs });
    if (this.tallies.size > 1_000) this.forgetExpired(now);
    this.logger[level]({ ...fields, cause, ...(suppressed > 0 ? { suppressed } : {}) }, message);
  }

  private forgetExpired(now: number): void {
    for (const [cause, tally] of this.tallies) {
      if (tally.until <= now && tally.suppressed === 0) this.tallies.delete(cause);
    }
  }
}

/** What an error looks like in a throttled line: its code or message, never its stack. */
export function describeFault(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
