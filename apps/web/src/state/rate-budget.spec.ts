import { describe, expect, it } from 'vitest';
import { RateBudget } from './rate-budget.js';

describe('RateBudget', () => {
  it('allows `events` within a window, then says how long to wait for the oldest to age out', () => {
    const budget = new RateBudget(3, 1_000);
    for (const t of [0, 100, 200]) {
      expect(budget.wait(t)).toBe(0);
      budget.take(t);
    }
    expect(budget.wait(300)).toBe(700);
    expect(budget.wait(1_000)).toBe(0);
  });

  it('adopts new limits', () => {
    const budget = new RateBudget(10, 10_000);
    budget.configure(1, 500);
    budget.take(0);
    expect(budget.wait(0)).toBe(500);
  });
});
