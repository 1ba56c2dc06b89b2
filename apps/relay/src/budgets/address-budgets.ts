import type { RateLimit } from '@hush/protocol';
import type { AddressRateKind } from '../config/config.schema.js';
import { addressKey } from './address-key.js';

/** Kinds counted per client address: the configurable rates, plus failed joins (lockout). */
export type CountedKind = AddressRateKind | 'failedJoin';

export interface AddressPolicy {
  /** Events per window each address may spend, by kind. */
  rates: Readonly<Record<AddressRateKind, RateLimit>>;
  /** After `maxFailures` failed joins within `windowMs` an address is locked for `durationMs`. */
  lockout: { maxFailures: number; windowMs: number; durationMs: number };
  /** Concurrent connections per address, cluster-wide; 0 = no cap. */
  maxConnections: number;
}

/**
 * One counter of one address: a sliding window approximated by two fixed windows (the current one
 * and the one before, weighted by how much of it still overlaps the sliding window). `cluster*`
 * are the totals other replicas and this one have published, as last read; `local*` what this
 * replica counted, of which `pushed*` is already in those totals.
 */
export interface Counter {
  slot: number;
  localCur: number;
  localPrev: number;
  pushedCur: number;
  pushedPrev: number;
  clusterCur: number;
  clusterPrev: number;
  /** Events of a slot this replica left before pushing them: flushed on the next sync. */
  stale: { slot: number; delta: number } | undefined;
  /** Last time this counter was spent, to forget idle ones. */
  touched: number;
}

/** The cluster side of the budgets (Redis); the embedded default has none. */
export interface BudgetSync {
  /** Asks for a sync soon (a counter is filling up fast). */
  wake(): void;
  close(): Promise<void>;
}

/** Counters and locks not touched for this long are forgotten. */
const IDLE_MS = 120_000;
/** Most addresses tracked at once; past it the least recently used are forgotten. */
const MAX_TRACKED = 100_000;

/**
 * Budgets per client address, shared by all of the address's connections and (with a sync) all
 * replicas: chat messages, room requests, invalid frames, failed joins (lockout) and open
 * connections. Every decision is synchronous and local; a {@link BudgetSync} reconciles the
 * counts through Redis in batches, so no chat message waits for a round trip. IPv6 addresses are
 * budgeted per /64 (see {@link addressKey}).
 */
export class AddressBudgets {
  /** `kind address` → counter. Map order is least recently used first. */
  readonly counters = new Map<string, Counter>();
  /** Address key → locked until (ms). */
  readonly locks = new Map<string, number>();
  /** Address key → connections open on this replica. */
  readonly open = new Map<string, number>();
  /** Address key → connections open on other replicas, as last read. */
  readonly elsewhere = new Map<string, number>();
  /** Counters spent since the last sync (`kind address`). */
  readonly dirty = new Set<string>();
  /** Address keys whose lock was set here and not yet published. */
  readonly newLocks = new Set<string>();
  /** Address keys whose open count changed since the last sync. */
  readonly openChanged = new Set<string>();
  private sync: BudgetSync | undefined;

  constructor(
    readonly policy: AddressPolicy,
    readonly now: () => number = Date.now,
  ) {}

  /** Connects the cluster side; before, budgets are per replica. */
  attach(sync: BudgetSync): void {
    this.sync = sync;
  }

  limitOf(kind: CountedKind): RateLimit {
    return kind === 'failedJoin'
      ? { events: this.policy.lockout.maxFailures, windowMs: this.policy.lockout.windowMs }
      : this.policy.rates[kind];
  }

  /** Whether `address` may spend one more event of `kind`. */
  allows(kind: AddressRateKind, address: string): boolean {
    const counter = this.counters.get(counterId(kind, addressKey(address)));
    return counter === undefined || this.estimate(kind, counter) + 1 <= this.limitOf(kind).events;
  }

  /** Counts one event of `kind` for `address`. */
  spend(kind: CountedKind, address: string): void {
    this.count(kind, addressKey(address));
  }

  isLocked(address: string): boolean {
    const key = addressKey(address);
    const until = this.locks.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.locks.delete(key);
    return false;
  }

  /** Counts a failed join; the address is locked out once it has failed too often. */
  recordFailedJoin(address: string): void {
    const key = addressKey(address);
    const counter = this.count('failedJoin', key);
    if (this.estimate('failedJoin', counter) >= this.policy.lockout.maxFailures) {
      this.lock(key, this.now() + this.policy.lockout.durationMs);
      this.newLocks.add(key);
    }
  }

  /** Records a lock learnt from the cluster (or set here). */
  lock(key: string, until: number): void {
    if ((this.locks.get(key) ?? 0) < until) this.locks.set(key, until);
  }

  /** Whether `address` may open one more connection. */
  connectionAllowed(address: string): boolean {
    const { maxConnections } = this.policy;
    if (maxConnections === 0) return true;
    const key = addressKey(address);
    return (this.open.get(key) ?? 0) + (this.elsewhere.get(key) ?? 0) < maxConnections;
  }

  connectionOpened(address: string): void {
    const key = addressKey(address);
    this.open.set(key, (this.open.get(key) ?? 0) + 1);
    this.openChanged.add(key);
  }

  connectionClosed(address: string): void {
    const key = addressKey(address);
    const count = (this.open.get(key) ?? 0) - 1;
    if (count > 0) this.open.set(key, count);
    else this.open.delete(key);
    this.openChanged.add(key);
  }

  /** The counter's events within the sliding window ending now, cluster-wide as far as known. */
  estimate(kind: CountedKind, counter: Counter): number {
    const { windowMs } = this.limitOf(kind);
    const now = this.now();
    roll(counter, slotOf(now, windowMs));
    const overlap = 1 - (now % windowMs) / windowMs;
    const prev = counter.clusterPrev + counter.localPrev - counter.pushedPrev;
    const cur = counter.clusterCur + counter.localCur - counter.pushedCur;
    return prev * overlap + cur;
  }

  /** Forgets counters and locks that no longer matter. */
  prune(): void {
    const now = this.now();
    for (const [id, counter] of this.counters) {
      if (now - counter.touched <= IDLE_MS || this.dirty.has(id) || counter.stale !== undefined) {
        continue;
      }
      this.counters.delete(id);
    }
    for (const [key, until] of this.locks) if (until <= now) this.locks.delete(key);
    for (const key of this.elsewhere.keys()) if (!this.open.has(key)) this.elsewhere.delete(key);
  }

  async close(): Promise<void> {
    await this.sync?.close();
  }

  private count(kind: CountedKind, key: string): Counter {
    const id = counterId(kind, key);
    const limit = this.limitOf(kind);
    const now = this.now();
    let counter = this.counters.get(id);
    if (counter === undefined) {
      counter = newCounter(slotOf(now, limit.windowMs), now);
    } else {
      this.counters.delete(id); // re-inserted below: most recently used last
      roll(counter, slotOf(now, limit.windowMs));
    }
    counter.localCur += 1;
    counter.touched = now;
    this.counters.set(id, counter);
    this.dirty.add(id);
    if (this.counters.size > MAX_TRACKED) this.forgetOldest();
    // A counter that fills fast is reconciled early, so replicas overshoot by little.
    if (counter.localCur - counter.pushedCur >= Math.max(1, limit.events / 8)) this.sync?.wake();
    return counter;
  }

  private forgetOldest(): void {
    for (const id of this.counters.keys()) {
      if (this.dirty.has(id)) continue;
      this.counters.delete(id);
      return;
    }
  }
}

export function counterId(kind: CountedKind, key: string): string {
  return `${kind} ${key}`;
}

export function parseCounterId(id: string): { kind: CountedKind; key: string } {
  const space = id.indexOf(' ');
  return { kind: id.slice(0, space) as CountedKind, key: id.slice(space + 1) };
}

export function slotOf(now: number, windowMs: number): number {
  return Math.floor(now / windowMs);
}

function newCounter(slot: number, now: number): Counter {
  return {
    slot,
    localCur: 0,
    localPrev: 0,
    pushedCur: 0,
    pushedPrev: 0,
    clusterCur: 0,
    clusterPrev: 0,
    stale: undefined,
    touched: now,
  };
}

/** Moves a counter's windows forward to `slot`, keeping unpushed events of the left window. */
function roll(counter: Counter, slot: number): void {
  if (slot <= counter.slot) return;
  const unpushed = counter.localCur - counter.pushedCur;
  if (unpushed > 0) counter.stale = { slot: counter.slot, delta: unpushed };
  const adjacent = slot === counter.slot + 1;
  counter.localPrev = adjacent ? counter.localCur : 0;
  counter.pushedPrev = adjacent ? counter.localCur : 0;
  counter.clusterPrev = adjacent ? counter.clusterCur + unpushed : 0;
  counter.localCur = 0;
  counter.pushedCur = 0;
  counter.clusterCur = 0;
  counter.slot = slot;
}
