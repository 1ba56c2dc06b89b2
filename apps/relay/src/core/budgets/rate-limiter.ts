import type { RateLimit } from '@hush/protocol';

export type { RateLimit };

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

/**
 * A sliding window, as the Arthas server limits chat: the times of the events accepted within
 * the last `windowMs`, oldest first. At most `events` of them; an event is accepted while fewer
 * than `events` were accepted in the window before it.
 */
export type Window = readonly number[];

function recent(limit: RateLimit, window: Window, now: number): Window {
  let first = 0;
  while (first < window.length && (window[first] as number) <= now - limit.windowMs) first++;
  return first === 0 ? window : window.slice(first);
}

/** Whether the window accepts one more event at `now`. Pure. */
export function windowHasRoom(limit: RateLimit, window: Window, now: number): boolean {
  return recent(limit, window, now).length < limit.events;
}

/** The window after one event is accepted at `now` (check `windowHasRoom` first). Pure. */
export function windowTake(limit: RateLimit, window: Window, now: number): Window {
  return [...recent(limit, window, now), now];
}
