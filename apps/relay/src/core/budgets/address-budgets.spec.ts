import { describe, expect, it } from 'vitest';
import type { AddressPolicy } from './address-budgets.js';
import { AddressBudgets } from './address-budgets.js';
import { addressKey } from './address-key.js';

const POLICY: AddressPolicy = {
  rates: {
    chat: { events: 4, windowMs: 1000 },
    join: { events: 2, windowMs: 1000 },
    invalid: { events: 3, windowMs: 1000 },
  },
  lockout: { maxFailures: 3, windowMs: 1000, durationMs: 5000 },
  maxConnections: 2,
};

function budgets(policy: AddressPolicy = POLICY) {
  const clock = { now: 10_000 };
  return { clock, budgets: new AddressBudgets(policy, () => clock.now) };
}

/** Spends while allowed; returns how many were allowed out of `tries`. */
function spendAll(
  b: AddressBudgets,
  kind: 'chat' | 'join' | 'invalid',
  address: string,
  tries: number,
) {
  let allowed = 0;
  for (let i = 0; i < tries; i++) {
    if (!b.allows(kind, address)) continue;
    b.spend(kind, address);
    allowed++;
  }
  return allowed;
}

describe('AddressBudgets: rates', () => {
  it('hold every connection of one address to one budget', () => {
    const { budgets: b } = budgets();
    expect(spendAll(b, 'chat', '198.51.100.7', 10)).toBe(4);
    expect(b.allows('chat', '198.51.100.7')).toBe(false);
    expect(b.allows('chat', '198.51.100.8')).toBe(true);
    expect(b.allows('join', '198.51.100.7')).toBe(true);
  });

  it('count a whole IPv6 /64 as one address, through its key', () => {
    const { budgets: b } = budgets();
    for (let i = 1; i <= 4; i++) b.spend('chat', addressKey(`2001:db8:0:1::${i}`));
    expect(b.allows('chat', addressKey('2001:db8:0:1:ffff::9'))).toBe(false);
    expect(b.allows('chat', addressKey('2001:db8:0:2::1'))).toBe(true);
  });

  it('recover as the sliding window moves on, weighing the previous window by its overlap', () => {
    const { budgets: b, clock } = budgets();
    clock.now = 10_000; // the start of a window
    expect(spendAll(b, 'chat', 'a', 4)).toBe(4);
    clock.now = 11_500; // half of the previous window still overlaps: 4 × 0.5 = 2 remain counted
    expect(spendAll(b, 'chat', 'a', 10)).toBe(2);
    clock.now = 13_000; // nothing of the full window remains
    expect(spendAll(b, 'chat', 'a', 10)).toBe(4);
  });
});

describe('AddressBudgets: lockout', () => {
  it('locks an address after maxFailures within the window, for durationMs', () => {
    const { budgets: b, clock } = budgets();
    b.recordFailedJoin('a');
    b.recordFailedJoin('a');
    expect(b.isLocked('a')).toBe(false);
    b.recordFailedJoin('a');
    expect(b.isLocked('a')).toBe(true);
    expect(b.isLocked('b')).toBe(false);
    clock.now += 5000;
    expect(b.isLocked('a')).toBe(false);
  });

  it('forgets failures older than the window', () => {
    const { budgets: b, clock } = budgets();
    b.recordFailedJoin('a');
    b.recordFailedJoin('a');
    clock.now += 2500;
    b.recordFailedJoin('a');
    expect(b.isLocked('a')).toBe(false);
  });

  it('keeps the longest of the locks it learns', () => {
    const { budgets: b, clock } = budgets();
    b.lock('a', clock.now + 1000);
    b.lock('a', clock.now + 500);
    clock.now += 900;
    expect(b.isLocked('a')).toBe(true);
  });
});

describe('AddressBudgets: connections', () => {
  it('refuse connections past the cap per address, counting other replicas, and free slots on close', () => {
    const { budgets: b } = budgets();
    b.connectionOpened('a');
    expect(b.connectionAllowed('a')).toBe(true);
    b.elsewhere.set('a', 1);
    expect(b.connectionAllowed('a')).toBe(false);
    expect(b.connectionAllowed('b')).toBe(true);
    b.elsewhere.delete('a');
    b.connectionOpened('a');
    expect(b.connectionAllowed('a')).toBe(false);
    b.connectionClosed('a');
    expect(b.connectionAllowed('a')).toBe(true);
    expect(b.open.get('a')).toBe(1);
  });

  it('have no cap at 0', () => {
    const { budgets: b } = budgets({ ...POLICY, maxConnections: 0 });
    for (let i = 0; i < 1000; i++) b.connectionOpened('a');
    expect(b.connectionAllowed('a')).toBe(true);
  });
});

describe('AddressBudgets: memory', () => {
  it('forgets idle counters and expired locks when pruned', () => {
    const { budgets: b, clock } = budgets();
    b.spend('chat', 'a');
    b.lock('b', clock.now + 1000);
    b.dirty.clear(); // as after a sync
    clock.now += 10 * 60_000;
    b.prune();
    expect([...b.counters.values()].every((counters) => counters.size === 0)).toBe(true);
    expect(b.locks.size).toBe(0);
  });
});
