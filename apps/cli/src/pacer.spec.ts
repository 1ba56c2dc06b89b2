import { describe, expect, it } from 'vitest';
import { Pacer } from './pacer.js';

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('Pacer', () => {
  it('lets a burst of one less than the budget through, then spaces messages out', () => {
    const time = clock();
    const pacer = new Pacer({ events: 10, windowMs: 10_000 }, time.now);
    for (let i = 0; i < 9; i += 1) {
      expect(pacer.delay()).toBe(0);
      pacer.take();
    }
    const wait = pacer.delay();
    // Slower than the relay's refill of one message per second, never faster.
    expect(wait).toBeGreaterThan(1000);
    expect(wait).toBeLessThan(1200);
    time.advance(wait);
    expect(pacer.delay()).toBe(0);
  });

  it('never sends faster than the relay refills over a long run', () => {
    const time = clock();
    const pacer = new Pacer({ events: 10, windowMs: 10_000 }, time.now);
    const start = time.now();
    let sent = 0;
    while (sent < 100) {
      const wait = pacer.delay();
      if (wait > 0) time.advance(wait);
      pacer.take();
      sent += 1;
    }
    // The relay would allow 10 at once plus one per second: 90 s for 100 messages at best.
    expect(time.now() - start).toBeGreaterThanOrEqual(90_000);
  });

  it('waits a full token after the relay said it was rate-limited', () => {
    const time = clock();
    const pacer = new Pacer({ events: 10, windowMs: 10_000 }, time.now);
    pacer.exhaust();
    expect(pacer.delay()).toBeGreaterThan(1000);
  });

  it('adopts the budget a relay announces and starts full', () => {
    const time = clock();
    const pacer = new Pacer({ events: 10, windowMs: 10_000 }, time.now);
    pacer.reset({ events: 2, windowMs: 1000 });
    pacer.take();
    expect(pacer.delay()).toBeGreaterThan(500);
  });
});
