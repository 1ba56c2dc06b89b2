import type { TimerHandle, Timers } from '../state/timers.js';

interface Scheduled {
  at: number;
  order: number;
  callback: () => void;
}

/** A clock that only moves when a test says so. Timers fire in time order during `advance`. */
export class ManualTimers implements Timers {
  private time: number;
  private order = 0;
  private readonly scheduled = new Map<number, Scheduled>();

  constructor(start = Date.UTC(2025, 0, 1, 12, 0, 0)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = ++this.order;
    this.scheduled.set(id, { at: this.time + Math.max(0, ms), order: id, callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.scheduled.delete(handle as number);
  }

  /** Moves the clock forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let next: [number, Scheduled] | undefined;
      for (const entry of this.scheduled) {
        if (entry[1].at > target) continue;
        if (
          next === undefined ||
          entry[1].at < next[1].at ||
          (entry[1].at === next[1].at && entry[1].order < next[1].order)
        ) {
          next = entry;
        }
      }
      if (next === undefined) break;
      this.scheduled.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
    }
    this.time = target;
  }

  /** Milliseconds until the earliest pending timer, or undefined when none is pending. */
  nextDelay(): number | undefined {
    let earliest: number | undefined;
    for (const { at } of this.scheduled.values()) {
      if (earliest === undefined || at < earliest) earliest = at;
    }
    return earliest === undefined ? undefined : earliest - this.time;
  }
}
