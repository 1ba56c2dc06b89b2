import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  const limiter = () =>
    new RateLimiter({ chat: { events: 3, windowMs: 1000 }, typing: { events: 1, windowMs: 1000 } });

  it('allows a burst up to the budget, then refuses', () => {
    const rate = limiter();
    expect([1, 2, 3, 4].map(() => rate.take('chat', 0))).toEqual([true, true, true, false]);
  });

  it('refills continuously: one token per windowMs/events', () => {
    const rate = limiter();
    for (let i = 0; i < 3; i++) rate.take('chat', 0);
    expect(rate.take('chat', 300)).toBe(false);
    expect(rate.take('chat', 334)).toBe(true);
    expect(rate.take('chat', 334)).toBe(false);
  });

  it('never holds more than the budget after a long idle period', () => {
    const rate = limiter();
    rate.take('chat', 0);
    const taken = Array.from({ length: 5 }, () => rate.take('chat', 1_000_000)).filter(Boolean);
    expect(taken).toHaveLength(3);
  });

  it('keeps kinds independent', () => {
    const rate = limiter();
    expect(rate.take('typing', 0)).toBe(true);
    expect(rate.take('typing', 0)).toBe(false);
    expect(rate.take('chat', 0)).toBe(true);
  });
});
