export interface BackoffOptions {
  /** Ceiling of the first delay, ms. */
  baseMs: number;
  /** Largest ceiling, ms: delays never exceed it. */
  maxMs: number;
  /** Growth of the ceiling per attempt. */
  factor: number;
}

/**
 * Exponential backoff with equal jitter: the ceiling grows per attempt up to `maxMs`, and each
 * delay is half the ceiling plus a random part of the other half. After a relay restart every
 * client reconnects at once; the random half spreads them out, the fixed half keeps a client from
 * hammering a relay that is down.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number,
  ) {}

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt, in ms; each call counts as one attempt. */
  next(): number {
    const { baseMs, maxMs, factor } = this.options;
    const ceiling = Math.min(maxMs, baseMs * factor ** Math.min(this.attempt, 32));
    this.attempt += 1;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /** Back to the first delay, after a connection succeeded. */
  reset(): void {
    this.attempt = 0;
  }
}
