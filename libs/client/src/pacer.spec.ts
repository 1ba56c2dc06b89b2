import { RATE_LIMITS } from '@hush/protocol';
import { describe, expect, it } from 'vitest';
import { LIMITS } from './fixtures/session-harness.js';
import { Pacer } from './pacer.js';

describe('Pacer', () => {
  it('allows the budget within any window (plus the margin), then says how long to wait', () => {
    const pacer = new Pacer(100);
    pacer.configure({ ...LIMITS, rates: { chat: { events: 2, windowMs: 1000 } } });
    pacer.take('chat', 0);
    pacer.take('chat', 400);
    expect(pacer.free('chat', 500)).toBe(0);
    expect(pacer.wait('chat', 500)).toBe(600);
    expect(pacer.wait('chat', 1100)).toBe(0);
    expect(pacer.untilMore('chat', 1100)).toBe(400);
  });

  it('falls back to the defaults for kinds an older relay did not announce, and its chat numbers', () => {
    const pacer = new Pacer(0);
    const { rates: _rates, ...older } = LIMITS;
    pacer.configure({ ...older, chatPerWindow: 1, windowMs: 500 });
    pacer.take('chat', 0);
    expect(pacer.wait('chat', 0)).toBe(500);
    for (let i = 0; i < RATE_LIMITS.typing.events; i++) pacer.take('typing', 0);
    expect(pacer.wait('typing', 0)).toBe(RATE_LIMITS.typing.windowMs);
  });

  it('ignores kinds it does not know and starts afresh on reset', () => {
    const pacer = new Pacer(0);
    pacer.configure({
      ...LIMITS,
      rates: { ...LIMITS.rates, telepathy: { events: 1, windowMs: 1 } } as never,
    });
    pacer.take('reaction', 0);
    pacer.reset();
    expect(pacer.free('reaction', 0)).toBe(RATE_LIMITS.reaction.events);
  });
});
