/**
 * A client-side copy of a relay rate limit: at most `events` in any window of `windowMs`. The
 * client waits for budget instead of sending a message the relay would refuse (E004), since a
 * refusal does not say which message it was about. A sliding window is at least as strict as the
 * relay's token bucket with the same numbers.
 */
export class RateBudget {
  private stamps: number[] = [];

  constructor(
    private events: number,
    private windowMs: number,
  ) {}

  /** Adopts the limits a relay announced. */
  configure(events: number, windowMs: number): void {
    this.events = Math.max(1, events);
    this.windowMs = Math.max(0, windowMs);
  }

  /** Milliseconds until one more event fits; 0 when it fits now. */
  wait(now: number): number {
    this.stamps = this.stamps.filter((stamp) => stamp > now - this.windowMs);
    const oldest = this.stamps[0];
    if (this.stamps.length < this.events || oldest === undefined) return 0;
    return oldest + this.windowMs - now;
  }

  /** Records one event at `now`. */
  take(now: number): void {
    this.stamps.push(now);
  }
}
