import { RATE_LIMITS } from '@hush/protocol';

/** A chat budget as the relay announces it in Welcome (`chatPerWindow` per `windowMs`). */
export interface Budget {
  events: number;
  windowMs: number;
}

/** Share of the relay's refill rate the pacer uses, so network jitter never overdraws it. */
const REFILL_SAFETY = 0.9;

/**
 * Client-side token bucket mirroring the relay's chat rate limit, so piped bursts are paced
 * instead of dropped with E004. It keeps one token less than the relay and refills a little
 * slower: two messages the network delivers closer together than they were sent still fit.
 */
export class Pacer {
  private capacity = 1;
  private perMs = 0;
  private tokens = 0;
  private at: number;

  constructor(
    budget: Budget = RATE_LIMITS.chat,
    private readonly now: () => number = Date.now,
  ) {
    this.at = now();
    this.reset(budget);
  }

  /** Adopts a (new) budget and starts full, as the relay's bucket does on a new connection. */
  reset(budget: Budget): void {
    this.capacity = Math.max(1, budget.events - 1);
    this.perMs = (budget.events / Math.max(1, budget.windowMs)) * REFILL_SAFETY;
    this.tokens = this.capacity;
    this.at = this.now();
  }

  /** Milliseconds until one message may be sent; 0 when it may go now. */
  delay(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs);
  }

  /** Spends one token (call only when {@link delay} is 0). */
  take(): void {
    this.refill();
    this.tokens = Math.max(0, this.tokens - 1);
  }

  /** The relay said we went too fast: wait for a full token before the next message. */
  exhaust(): void {
    this.refill();
    this.tokens = 0;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.at) * this.perMs);
    this.at = now;
  }
}
