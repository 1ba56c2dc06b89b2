import type { RedisClient } from './redis.backends.js';
import type { Logger } from '../../logging/logger.js';
import type {
  AddressBudgets,
  BudgetSync,
  CountedKind,
  Counter,
} from '../../core/budgets/address-budgets.js';

/** How often counts are reconciled through Redis (sooner when a counter fills fast). */
export const BUDGET_SYNC_MS = 250;
/** How long another replica's connection count is believed without being renewed. */
const CONNECTIONS_TTL_MS = 30_000;
/** How often this replica renews the connection counts it published. */
const CONNECTIONS_REFRESH_MS = 10_000;
/**
 * After an address's connections change here, its counts are re-read at every sync for this
 * long, so a burst of connections spread over replicas is seen by all of them quickly.
 */
const CONNECTIONS_WATCH_MS = 2_000;
const PRUNE_MS = 10_000;

/**
 * The Redis side of {@link AddressBudgets}: every {@link BUDGET_SYNC_MS} the counts spent on this
 * replica are added (INCRBY) to per-window counters that all replicas share, and the totals read
 * back; locks are published with their remaining time; open connections per address are kept in
 * a hash with one field per replica. Keys share the hash tag `{a:<address>}` and expire on their
 * own (two windows, the lock's duration, {@link CONNECTIONS_TTL_MS}); they hold counts only.
 * While Redis is unreachable the budgets keep working per replica and catch up afterwards.
 */
export class RedisBudgetSync implements BudgetSync {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;
  private again = false;
  private lastRefresh = 0;
  /** Address key → until when its connection counts are re-read at every sync. */
  private readonly watched = new Map<string, number>();
  private lastPrune = 0;
  private closed = false;

  private readonly prefix: string;
  private readonly replicaId: string;
  private readonly logger: Logger;

  constructor(
    private readonly budgets: AddressBudgets,
    private readonly client: RedisClient,
    private readonly options: {
      prefix: string;
      replicaId: string;
      logger: Logger;
      /** Called once the sync has closed (releases the connection it was given). */
      release?: () => void;
    },
  ) {
    this.prefix = options.prefix;
    this.replicaId = options.replicaId;
    this.logger = options.logger;
    this.timer = setInterval(() => this.wake(), BUDGET_SYNC_MS);
    this.timer.unref();
    budgets.attach(this);
  }

  wake(): void {
    if (this.closed) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.flush()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'address budget sync failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  async lockRemaining(key: string): Promise<number> {
    return this.client.pttl(this.key(key, 'lock'));
  }

  /** Reconciles once now (tests and shutdown). */
  async flushNow(): Promise<void> {
    await this.running;
    await this.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
    const fields = [...this.budgets.open.keys()].map((key) =>
      this.client.hdel(this.key(key, 'conns'), this.replicaId),
    );
    await Promise.allSettled(fields);
    this.options.release?.();
  }

  private key(address: string, what: string): string {
    return `${this.prefix}{a:${address}}:${what}`;
  }

  private async flush(): Promise<void> {
    const { budgets } = this;
    const now = budgets.now();
    const work: Promise<void>[] = [];
    const counters = [...new Set([...budgets.dirty, ...budgets.hot])];
    budgets.dirty.clear();
    for (const counter of counters) work.push(this.syncCounter(counter));
    for (const key of budgets.newLocks) work.push(this.publishLock(key));
    budgets.newLocks.clear();
    if (now - this.lastRefresh >= CONNECTIONS_REFRESH_MS) {
      this.lastRefresh = now;
      for (const key of budgets.open.keys()) budgets.openChanged.add(key);
    }
    for (const key of budgets.openChanged) this.watched.set(key, now + CONNECTIONS_WATCH_MS);
    for (const [key, until] of this.watched) {
      if (until > now) budgets.openChanged.add(key);
      else this.watched.delete(key);
    }
    const changed = [...budgets.openChanged];
    budgets.openChanged.clear();
    for (const key of changed) work.push(this.syncConnections(key, now));
    const results = await Promise.allSettled(work);
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) {
      // What was not pushed stays counted locally and goes out with the next sync.
      for (const counter of counters) budgets.dirty.add(counter);
      for (const key of changed) budgets.openChanged.add(key);
      const first = results.find((r) => r.status === 'rejected');
      throw first?.status === 'rejected' ? first.reason : new Error('address budget sync failed');
    }
    if (now - this.lastPrune >= PRUNE_MS) {
      this.lastPrune = now;
      budgets.prune();
    }
  }

  private async syncCounter(counter: Counter): Promise<void> {
    const { kind, key } = counter;
    const { windowMs } = this.budgets.limitOf(kind);
    const ttl = 2 * windowMs + 1_000;
    const counterKey = (slot: number) => this.key(key, `${kind}:${slot}`);
    const pending: Promise<unknown>[] = [];
    const { stale } = counter;
    if (stale !== undefined) {
      counter.stale = undefined;
      const staleKey = counterKey(stale.slot);
      pending.push(this.client.incrby(staleKey, stale.delta), this.client.pexpire(staleKey, ttl));
    }
    const slot = counter.slot;
    const delta = counter.localCur - counter.pushedCur;
    const sent = counter.localCur;
    const cur = counterKey(slot);
    const total =
      delta > 0
        ? this.client.incrby(cur, delta)
        : this.client.get(cur).then((value) => Number(value ?? 0));
    if (delta > 0) pending.push(this.client.pexpire(cur, ttl));
    const previous = this.client.get(counterKey(slot - 1)).then((value) => Number(value ?? 0));
    const lock = lockedKinds.has(kind) ? this.client.pttl(this.key(key, 'lock')) : undefined;
    // One Promise.all over everything, so a failing command never leaves another unhandled.
    const [[clusterCur, clusterPrev, lockTtl]] = await Promise.all([
      Promise.all([total, previous, lock]),
      Promise.all(pending),
    ]);
    if (counter.slot === slot) {
      counter.clusterCur = clusterCur;
      counter.pushedCur = Math.max(counter.pushedCur, sent);
      counter.clusterPrev = clusterPrev;
      counter.pushedPrev = counter.localPrev;
    } else if (delta > 0) {
      // The window moved on while the reply was on its way; what was sent is in Redis already.
      counter.stale = undefined;
    }
    if (lockTtl !== undefined && lockTtl > 0) this.budgets.lock(key, this.budgets.now() + lockTtl);
  }

  private async publishLock(key: string): Promise<void> {
    const until = this.budgets.locks.get(key);
    if (until === undefined) return;
    const ms = until - this.budgets.now();
    if (ms > 0) await this.client.set(this.key(key, 'lock'), '1', 'PX', ms);
  }

  private async syncConnections(key: string, now: number): Promise<void> {
    const hash = this.key(key, 'conns');
    const count = this.budgets.open.get(key) ?? 0;
    if (count > 0) {
      await this.client.hset(hash, this.replicaId, `${count}:${now + CONNECTIONS_TTL_MS}`);
      await this.client.pexpire(hash, 2 * CONNECTIONS_TTL_MS);
    } else {
      await this.client.hdel(hash, this.replicaId);
    }
    const fields = await this.client.hgetall(hash);
    let elsewhere = 0;
    for (const [replica, value] of Object.entries(fields)) {
      if (replica === this.replicaId) continue;
      const [open = '0', until = '0'] = value.split(':');
      if (Number(until) > now) elsewhere += Number(open);
    }
    if (elsewhere > 0 || this.budgets.open.has(key)) this.budgets.elsewhere.set(key, elsewhere);
    else this.budgets.elsewhere.delete(key);
  }
}

/** Counters whose address may be locked out elsewhere: syncing them also reads the lock. */
const lockedKinds: ReadonlySet<CountedKind> = new Set<CountedKind>(['join', 'failedJoin']);
