import type { ConnectionEvent, ConnectionSnapshot } from './connection.machine.js';
import { dueEvent } from './connection.machine.js';

/** What the sweep needs of a connection actor. */
export interface LivenessTarget {
  getSnapshot(): ConnectionSnapshot;
  send(event: ConnectionEvent): void;
}

/** The deadlines the sweep watches, the same for every connection of the relay. */
export interface SweepTiming {
  pingIntervalMs: number;
  pongTimeoutMs: number;
  admissionTimeoutMs: number;
}

/** How many kinds of event `dueEvent` can ask for. */
const DUE_KINDS = 3;

/** The shortest sweep period, so a tiny test heartbeat does not spin the event loop. */
export const MIN_SWEEP_MS = 5;

/**
 * How often the sweep walks the connections: a quarter of the shortest duration it watches, so
 * a ping goes out at most a quarter interval late (the connection's own schedule is kept: it is
 * pinged an interval after its own last ping), and a silent connection is terminated, or a
 * pending join given up, at most a quarter of that duration after its deadline. A walk costs a
 * few field reads per idle connection.
 */
export function sweepPeriodMs(timing: SweepTiming): number {
  return Math.max(
    MIN_SWEEP_MS,
    Math.floor(
      Math.min(timing.pingIntervalMs, timing.pongTimeoutMs, timing.admissionTimeoutMs) / 4,
    ),
  );
}

/**
 * One timer for the deadlines of every connection, instead of delayed events per actor: each
 * tick sends `PING_DUE`, `SILENT` or `ADMISSION_TIMEOUT` to the connections `dueEvent` says need
 * one, and nothing to the others. Runs from `start()` until `stop()`; the timer does not keep the
 * process alive.
 */
export class LivenessSweep {
  readonly periodMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    timing: SweepTiming,
    private readonly connections: () => Iterable<LivenessTarget>,
  ) {
    this.periodMs = sweepPeriodMs(timing);
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sweep(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One walk over the connections: each gets every event due, e.g. SILENT, then PING_DUE. */
  sweep(): void {
    for (const actor of this.connections()) {
      // Each event settles its own deadline, so no more than one of each kind can be due.
      for (let sent = 0; sent < DUE_KINDS; sent++) {
        const event = dueEvent(actor.getSnapshot());
        if (event === undefined) break;
        actor.send(event);
      }
    }
  }
}
