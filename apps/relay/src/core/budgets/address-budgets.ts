import type { RateLimit } from '@hush/protocol';
import type { AddressRateKind } from '../../config/config.schema.js';

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
  readonly kind: CountedKind;
  /** The address key (see {@link addressKey}). */
  readonly key: string;
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
  /** Asks for a sync soon (a counter is filling up fast, or a lock must go out). */
  wake(): void;
  /** Milliseconds the cluster has `key` locked out for (0 when not), read now. */
  lockRemaining(key: string): Promise<number>;
  close(): Promise<void>;
}

/** Counters and locks not touched for this long are forgotten. */
const IDLE_MS = 120_000;
/** Most counters tracked per kind; past it the oldest are forgotten. */
const MAX_TRACKED = 100_000;

const COUNTED_KINDS: readonly CountedKind[] = ['chat', 'join', 'invalid', 'failedJoin'];

/**
 * Budgets per client address, shared by all of the address's connections and (with a sync) all
 * replicas: chat messages, room requests, invalid frames, failed joins (lockout) and open
 * connections. Every decision is synchronous and local; a {@link BudgetSync} reconciles the
 * counts through Redis in batches, so no chat message waits for a round trip. Addresses are
 * passed as keys made by {@link addressKey} (IPv6 grouped per /64); callers make a key once per
 * connection.
 */
export class AddressBudgets {
  /** Counters by kind, then address key. */
  readonly counters = new Map<CountedKind, Map<string, Counter>>(
    COUNTED_KINDS.map((kind) => [kind, new Map()]),
  );
  /** Address key → locked until (ms). */
  readonly locks = new Map<string, number>();
  /** Address key → connections open on this replica. */
  readonly open = new Map<string, number>();
  /** Address key → connections open on other replicas, as last read. */
  readonly elsewhere = new Map<string, number>();
  /** Counters spent since the last sync. */
  readonly dirty = new Set<Counter>();
  /**
   * Counters past a quarter of their budget: each sync reads their cluster totals even when this
   * replica spent nothing since, so it learns what the other replicas spent.
   */
  readonly hot = new Set<Counter>();
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

  counter(kind: CountedKind, key: string): Counter | undefined {
    return this.counters.get(kind)?.get(key);
  }

  /**
   * Whether `key` may spend one more event of `kind`: the estimate leaves room, and at most a
   * quarter of the budget was spent here since the cluster last confirmed this replica's counts,
   * so replicas that have not heard from each other yet overshoot the budget by little.
   */
  allows(kind: AddressRateKind, key: string): boolean {
    const counter = this.counter(kind, key);
    if (counter === undefined) return true;
    const { events } = this.limitOf(kind);
    if (this.estimate(counter) + 1 > events) return false;
    return this.sync === undefined || counter.localCur - counter.pushedCur < unconfirmed(events);
  }

  /** Counts one event of `kind` for `key`. */
  spend(kind: CountedKind, key: string): void {
    this.count(kind, key);
  }

  isLocked(key: string): boolean {
    const until = this.locks.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.locks.delete(key);
    return false;
  }

  /**
   * Whether `key` may try to join, asking the cluster: another replica may have locked it out a
   * moment ago. Fails open to the local answer when the cluster cannot be asked.
   */
  async confirmUnlocked(key: string): Promise<boolean> {
    if (this.isLocked(key)) return false;
    if (this.sync === undefined) return true;
    try {
      const remaining = await this.sync.lockRemaining(key);
      if (remaining <= 0) return true;
      this.lock(key, this.now() + remaining);
      return false;
    } catch {
      return true;
    }
  }

  /** Counts a failed join; the address is locked out once it has failed too often. */
  recordFailedJoin(key: string): void {
    const counter = this.count('failedJoin', key);
    if (this.estimate(counter) >= this.policy.lockout.maxFailures) {
      this.lock(key, this.now() + this.policy.lockout.durationMs);
      this.newLocks.add(key);
      this.sync?.wake();
    }
  }

  /** Records a lock learnt from the cluster (or set here). */
  lock(key: string, until: number): void {
    if ((this.locks.get(key) ?? 0) < until) this.locks.set(key, until);
  }

  /** Whether `key` may open one more connection. */
  connectionAllowed(key: string): boolean {
    const { maxConnections } = this.policy;
    if (maxConnections === 0) return true;
    return (this.open.get(key) ?? 0) + (this.elsewhere.get(key) ?? 0) < maxConnections;
  }

  connectionOpened(key: string): void {
    this.open.set(key, (this.open.get(key) ?? 0) + 1);
    this.openChanged.add(key);
  }

  connectionClosed(key: string): void {
    const count = (this.open.get(key) ?? 0) - 1;
    if (count > 0) this.open.set(key, count);
    else this.open.delete(key);
    this.openChanged.add(key);
  }

  /** The counter's events within the sliding window ending now, cluster-wide as far as known. */
  estimate(counter: Counter): number {
    const { windowMs } = this.limitOf(counter.kind);
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
    for (const [kind, counters] of this.counters) {
      const windowMs = this.limitOf(kind).windowMs;
      for (const [key, counter] of counters) {
        if (now - counter.touched > 2 * windowMs) this.hot.delete(counter);
        if (now - counter.touched <= IDLE_MS) continue;
        if (this.dirty.has(counter) || counter.stale !== undefined) continue;
        counters.delete(key);
      }
    }
    for (const [key, until] of this.locks) if (until <= now) this.locks.delete(key);
    for (const key of this.elsewhere.keys()) if (!this.open.has(key)) this.elsewhere.delete(key);
  }

  async close(): Promise<void> {
    await this.sync?.close();
  }

  private count(kind: CountedKind, key: string): Counter {
    const counters = this.counters.get(kind) as Map<string, Counter>;
    const limit = this.limitOf(kind);
    const now = this.now();
    let counter = counters.get(key);
    if (counter === undefined) {
      counter = newCounter(kind, key, slotOf(now, limit.windowMs), now);
      counters.set(key, counter);
      if (counters.size > MAX_TRACKED) this.forgetOldest(counters);
    } else {
      roll(counter, slotOf(now, limit.windowMs));
    }
    counter.localCur += 1;
    counter.touched = now;
    this.dirty.add(counter);
    if (this.estimate(counter) >= limit.events / 4) this.hot.add(counter);
    // A counter that fills fast is reconciled early, so replicas overshoot by little.
    if (counter.localCur - counter.pushedCur >= unconfirmed(limit.events) / 2) this.sync?.wake();
    return counter;
  }

  private forgetOldest(counters: Map<string, Counter>): void {
    for (const [key, counter] of counters) {
      if (this.dirty.has(counter)) continue;
      counters.delete(key);
      this.hot.delete(counter);
      return;
    }
  }
}

/** Events a replica may count before the cluster has confirmed them. */
export function unconfirmed(events: number): number {
  return Math.max(1, Math.ceil(events / 4));
}

export function slotOf(now: number, windowMs: number): number {
  return Math.floor(now / windowMs);
}

function newCounter(kind: CountedKind, key: string, slot: number, now: number): Counter {
  return {
    kind,
    key,
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
