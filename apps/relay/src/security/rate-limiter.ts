/** One budget: at most `events` within any `windowMs`, refilled continuously. */
export interface RateLimit {
  events: number;
  windowMs: number;
}

/**
 * A token bucket's state. A bucket holds up to `events` tokens and refills at
 * `events / windowMs`, so bursts are allowed up to the budget and the long-run rate never
 * exceeds it. No bucket yet means a full one.
 */
export interface Bucket {
  readonly tokens: number;
  /** When `tokens` was last computed, ms. */
  readonly at: number;
}

function available(limit: RateLimit, bucket: Bucket | undefined, now: number): number {
  if (bucket === undefined) return limit.events;
  return Math.min(
    limit.events,
    bucket.tokens + ((now - bucket.at) * limit.events) / limit.windowMs,
  );
}

/** Whether the bucket holds a whole token at `now`. Pure. */
export function hasToken(limit: RateLimit, bucket: Bucket | undefined, now: number): boolean {
  return available(limit, bucket, now) >= 1;
}

/** The bucket after one token is taken at `now` (check `hasToken` first). Pure. */
export function takeToken(limit: RateLimit, bucket: Bucket | undefined, now: number): Bucket {
  return { tokens: available(limit, bucket, now) - 1, at: now };
}
