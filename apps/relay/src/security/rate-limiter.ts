/** One budget: at most `events` within any `windowMs`, refilled continuously. */
export interface RateLimit {
  events: number;
  windowMs: number;
}

/**
 * Token buckets, one per kind of traffic, for one connection. A bucket holds up to `events`
 * tokens and refills at `events / windowMs`, so bursts are allowed up to the budget and the
 * long-run rate never exceeds it.
 */
export class RateLimiter<K extends string> {
  private readonly buckets = new Map<K, { tokens: number; at: number }>();

  constructor(private readonly limits: Readonly<Record<K, RateLimit>>) {}

  /** Takes one token of `kind` at time `now` (ms); false when the budget is spent. */
  take(kind: K, now: number): boolean {
    const { events, windowMs } = this.limits[kind];
    const bucket = this.buckets.get(kind) ?? { tokens: events, at: now };
    const refilled = Math.min(events, bucket.tokens + ((now - bucket.at) * events) / windowMs);
    const allowed = refilled >= 1;
    this.buckets.set(kind, { tokens: allowed ? refilled - 1 : refilled, at: now });
    return allowed;
  }
}
