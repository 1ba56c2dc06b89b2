export interface BackoffOptions {
  /** Ceiling of the first delay, ms. */
  baseMs: number;
  /** Largest ceiling, ms: delays never exceed it. */
  maxMs: number;
  /** Growth of the ceiling per attempt. */
  factor?: number;
  /** Uniform random number in [0, 1). */
  random?: () => number;
}

/** Reconnect delays used by the web client: 0.5 s, 1 s, 2 s … up to 10 s, each jittered. */
export const RECONNECT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 10_000, factor: 2 };

/**
 * Exponential backoff with "equal jitter": the ceiling doubles per attempt up to `maxMs`, and each
 * delay is half the ceiling plus a random part of the other half. After a relay restart every
 * client reconnects, so the random half spreads them out; the fixed half keeps a client from
 * hammering a relay that is down.
 */
export class Backoff {
  private attempt = 0;
  private readonly factor: number;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.factor = options.factor ?? 2;
    this.random = options.random ?? Math.random;
  }

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt, in ms; each call counts as one attempt. */
  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.baseMs * this.factor ** this.attempt);
    this.attempt += 1;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /** Back to the first delay, after a connection succeeded. */
  reset(): void {
    this.attempt = 0;
  }
}
