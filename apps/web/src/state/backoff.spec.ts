import { describe, expect, it } from 'vitest';
import { Backoff, RECONNECT_BACKOFF } from './backoff.js';

const sequence = (random: () => number, count: number) => {
  const backoff = new Backoff({ baseMs: 500, maxMs: 10_000, random });
  return Array.from({ length: count }, () => backoff.next());
};

describe('Backoff', () => {
  it('doubles its ceiling per attempt and never exceeds maxMs', () => {
    expect(sequence(() => 0.999_999, 8)).toEqual([
      500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000,
    ]);
  });

  it('always waits at least half the ceiling, so a dead relay is not hammered', () => {
    expect(sequence(() => 0, 7)).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000, 5_000]);
  });

  it('jitters each delay between half the ceiling and the ceiling', () => {
    const delays = sequence(Math.random, 200);
    delays.forEach((delay, attempt) => {
      const ceiling = Math.min(10_000, 500 * 2 ** attempt);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    });
    // Two clients with independent randomness do not reconnect in lockstep.
    expect(new Set(delays.slice(6)).size).toBeGreaterThan(10);
  });

  it('starts over after reset()', () => {
    const backoff = new Backoff({ baseMs: 500, maxMs: 10_000, random: () => 0.5 });
    backoff.next();
    backoff.next();
    backoff.next();
    expect(backoff.attempts).toBe(3);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(375);
  });

  it('uses 0.5 s to 10 s for reconnects', () => {
    expect(RECONNECT_BACKOFF).toMatchObject({ baseMs: 500, maxMs: 10_000 });
  });
});
