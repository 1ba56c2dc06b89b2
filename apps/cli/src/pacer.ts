import { RATE_LIMITS } from '@hush/protocol';

/** A chat budget as the relay announces it in Welcome (`chatPerWindow` per `windowMs`). */
export interface Budget {
  events: number;
  windowMs: number;
}

/** Time added to the window, so network jitter never makes two sends look closer than they were. */
const WINDOW_MARGIN_MS = 250;

/**
 * Client-side mirror of the relay's chat limit, so piped bursts are paced instead of refused
 * with E004. The relay counts the messages it accepted within any window (a sliding window, as
 * the Arthas server does); the pacer keeps one message below that and a slightly longer window.
 */
export class Pacer {
  private budget: Budget = RATE_LIMITS.chat;
  /** When the messages still inside the (widened) window were sent, oldest first. */
  private sent: number[] = [];

  constructor(
    budget: Budget = RATE_LIMITS.chat,
    private readonly now: () => number = Date.now,
  ) {
    this.reset(budget);
  }

  /** Adopts a (new) budget and starts empty, as the relay's window does on a new connection. */
  reset(budget: Budget): void {
    this.budget = budget;
    this.sent = [];
  }

  /** Milliseconds until one message may be sent; 0 when it may go now. */
  delay(): number {
    this.forget();
    const allowed = Math.max(1, this.budget.events - 1);
    if (this.sent.length < allowed) return 0;
    const oldest = this.sent[this.sent.length - allowed] as number;
    return Math.max(1, oldest + this.window() - this.now());
  }

  /** Records one message sent now (call only when {@link delay} is 0). */
  take(): void {
    this.sent.push(this.now());
  }

  /** The relay said we went too fast: wait a whole window before the next message. */
  exhaust(): void {
    const now = this.now();
    this.sent = Array<number>(Math.max(1, this.budget.events - 1)).fill(now);
  }

  private window(): number {
    return this.budget.windowMs + WINDOW_MARGIN_MS;
  }

  private forget(): void {
    const horizon = this.now() - this.window();
    while (this.sent.length > 0 && (this.sent[0] as number) <= horizon) this.sent.shift();
  }
}
