import { describe, expect, it } from 'vitest';
import type { Bucket } from './rate-limiter.js';
import { hasToken, takeToken } from './rate-limiter.js';

/** Takes a token at each time in `times` while there is one; returns which succeeded. */
function drive(limit: { events: number; windowMs: number }, times: number[]): boolean[] {
  let bucket: Bucket | undefined;
  return times.map((now) => {
    if (!hasToken(limit, bucket, now)) return false;
    bucket = takeToken(limit, bucket, now);
    return true;
  });
}

describe('token buckets', () => {
  const chat = { events: 3, windowMs: 1000 };

  it('allow a burst up to the budget, then refuse', () => {
    expect(drive(chat, [0, 0, 0, 0])).toEqual([true, true, true, false]);
  });

  it('refill continuously: one token per windowMs/events', () => {
    expect(drive(chat, [0, 0, 0, 300, 334, 334])).toEqual([true, true, true, false, true, false]);
  });

  it('never hold more than the budget after a long idle period', () => {
    const taken = drive(chat, [0, 1e6, 1e6, 1e6, 1e6, 1e6]).slice(1).filter(Boolean);
    expect(taken).toHaveLength(3);
  });

  it('are values: checking a bucket does not spend it', () => {
    const bucket = takeToken(chat, undefined, 0);
    expect(hasToken(chat, bucket, 0)).toBe(true);
    expect(hasToken(chat, bucket, 0)).toBe(true);
    expect(bucket).toEqual({ tokens: 2, at: 0 });
  });
});
