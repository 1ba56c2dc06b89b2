import type { RateKind, RateLimit, ServerLimits } from '@hush/protocol';
import { RATE_KINDS, RATE_LIMITS } from '@hush/protocol';

/**
 * The client's copy of one relay budget: at most `events` sends in any window of
 * `windowMs + margin`. A sliding window is at least as strict as the relay's, whether the relay
 * counts a sliding window (Arthas semantics for chat) or a token bucket of the same numbers.
 */
class SlidingWindow {
  private stamps: number[] = [];

  constructor(
    private limit: RateLimit,
    private readonly marginMs: number,
  ) {}

  configure(limit: RateLimit): void {
    this.limit = { events: Math.max(1, limit.events), windowMs: Math.max(0, limit.windowMs) };
  }

  reset(): void {
    this.stamps = [];
  }

  /** Sends that fit right now. */
  free(now: number): number {
    this.forget(now);
    return Math.max(0, this.limit.events - this.stamps.length);
  }

  /** Milliseconds until one more send fits; 0 when it fits now. */
  wait(now: number): number {
    this.forget(now);
    if (this.stamps.length < this.limit.events) return 0;
    return this.stamps[0]! + this.span() - now;
  }

  take(now: number): void {
    this.stamps.push(now);
  }

  /** Milliseconds until one more send than now fits; Infinity when the window is empty. */
  untilMore(now: number): number {
    this.forget(now);
    const oldest = this.stamps[0];
    return oldest === undefined ? Infinity : oldest + this.span() - now;
  }

  private span(): number {
    return this.limit.windowMs + this.marginMs;
  }

  private forget(now: number): void {
    const span = this.span();
    while (this.stamps.length > 0 && this.stamps[0]! <= now - span) this.stamps.shift();
  }
}

/**
 * Paces every kind of client traffic by the budgets the relay announced in Welcome
 * (`limits.rates`), so users never hit E004 in normal use. Budgets are per connection: a new
 * connection starts with full windows.
 */
export class Pacer {
  private readonly windows = new Map<RateKind, SlidingWindow>();

  constructor(marginMs: number) {
    for (const kind of RATE_KINDS) {
      this.windows.set(kind, new SlidingWindow(RATE_LIMITS[kind], marginMs));
    }
  }

  /**
   * Adopts the relay's limits. A relay that announced only the chat budget (older relays) is
   * assumed to use the defaults for everything else; kinds this client does not know are skipped.
   */
  configure(limits: ServerLimits): void {
    for (const kind of RATE_KINDS) this.window(kind).configure(RATE_LIMITS[kind]);
    this.window('chat').configure({ events: limits.chatPerWindow, windowMs: limits.windowMs });
    for (const [kind, limit] of Object.entries(limits.rates ?? {})) {
      if (limit !== undefined) this.windows.get(kind as RateKind)?.configure(limit);
    }
  }

  /** A new connection: the relay's counters start afresh. */
  reset(): void {
    for (const window of this.windows.values()) window.reset();
  }

  free(kind: RateKind, now: number): number {
    return this.window(kind).free(now);
  }

  wait(kind: RateKind, now: number): number {
    return this.window(kind).wait(now);
  }

  take(kind: RateKind, now: number): void {
    this.window(kind).take(now);
  }

  /** Milliseconds until `kind` has one more free send than now. */
  untilMore(kind: RateKind, now: number): number {
    return this.window(kind).untilMore(now);
  }

  private window(kind: RateKind): SlidingWindow {
    return this.windows.get(kind)!;
  }
}
