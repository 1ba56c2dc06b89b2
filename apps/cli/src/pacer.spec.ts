import { describe, expect, it } from 'vitest';
import { Pacer } from './pacer.js';

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('Pacer', () => {
  it('lets a burst of one less than the budget through, then waits for the window to move on', () => {
    const time = clock();
    const pacer = new Pacer({ events: 10, windowMs: 10_000 }, time.now);
    for (let i = 0; i < 9; i += 1) {
      expect(pacer.delay()).toBe(0);
      pacer.take();
    }
    const wait = pacer.delay();
    // The relay counts the last window's messages: the burst must leave it first.
    expect(wait).toBeGreaterThan(10_000);
    expect(wait).toBeLessThan(10_500);
    time.advance(wait);
    expect(pacer.delay()).toBe(0);
  });

  it('never puts more than the budget into any window of the relay', () => {
    const time = clock();
    const pacer = new Pacer({ events: 10, windowMs: 10_000 }, time.now);
    const sent: number[] = [];
    while (sent.length < 100) {
      const wait = pacer.delay();
      if (wait > 0) time.advance(Math.min(wait, 137)); // wake up early, at odd times
      if (pacer.delay() > 0) continue;
      pacer.take();
      sent.push(time.now());
    }
    for (const at of sent) {
      expect(sent.filter((t) => t > at - 10_000 && t <= at).length).toBeLessThanOrEqual(10);
    }
  });

  it('waits a whole window after the relay said it was rate-limited', () => {
    const time = clock();
    const pacer = new Pacer({ events: 10, windowMs: 10_000 }, time.now);
    pacer.exhaust();
    expect(pacer.delay()).toBeGreaterThan(10_000);
  });

  it('adopts the budget a relay announces and starts empty', () => {
    const time = clock();
    const pacer = new Pacer({ events: 10, windowMs: 10_000 }, time.now);
    pacer.reset({ events: 2, windowMs: 1000 });
    pacer.take();
    expect(pacer.delay()).toBeGreaterThan(1000);
  });
});
