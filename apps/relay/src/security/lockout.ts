export interface LockoutPolicy {
  /** Failed joins (unknown room, wrong password) allowed within `windowMs`. */
  maxFailures: number;
  windowMs: number;
  /** How long an address stays locked out once it passes the limit. */
  durationMs: number;
}

interface Record {
  failures: number[];
  lockedUntil: number;
}

/** Most addresses remembered at once; the oldest are forgotten first beyond it. */
const MAX_TRACKED = 100_000;

/**
 * Locks out client addresses that guess room ids or passwords. Bounded in memory: entries are
 * dropped once they no longer matter, and the table never holds more than MAX_TRACKED addresses.
 */
export class Lockout {
  private readonly records = new Map<string, Record>();

  constructor(
    private readonly policy: LockoutPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  isLocked(address: string): boolean {
    const record = this.records.get(address);
    if (record === undefined) return false;
    if (record.lockedUntil > this.now()) return true;
    if (record.lockedUntil !== 0) this.records.delete(address);
    return false;
  }

  recordFailure(address: string): void {
    const now = this.now();
    const record = this.records.get(address) ?? { failures: [], lockedUntil: 0 };
    record.failures = record.failures.filter((t) => t > now - this.policy.windowMs);
    record.failures.push(now);
    if (record.failures.length >= this.policy.maxFailures) {
      record.lockedUntil = now + this.policy.durationMs;
      record.failures = [];
    }
    this.records.delete(address);
    this.records.set(address, record);
    if (this.records.size > MAX_TRACKED) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
  }

  /** Addresses currently tracked, for metrics. */
  get size(): number {
    return this.records.size;
  }
}
