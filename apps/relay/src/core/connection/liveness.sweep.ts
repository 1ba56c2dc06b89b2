import type { ConnectionEvent, ConnectionSnapshot } from './connection.machine.js';
import { livenessEvent } from './connection.machine.js';

/** What the sweep needs of a connection actor. */
export interface LivenessTarget {
  getSnapshot(): ConnectionSnapshot;
  send(event: ConnectionEvent): void;
}

/** The shortest sweep period, so a tiny test heartbeat does not spin the event loop. */
export const MIN_SWEEP_MS = 5;

/**
 * How often the sweep walks the connections: a quarter of the shorter heartbeat duration, so a
 * ping goes out at most a quarter interval late (the connection's own schedule is kept: it is
 * pinged an interval after its own last ping), and a silent connection is terminated at most a
 * quarter interval after its deadline. A walk costs a few field reads per idle connection.
 */
export function sweepPeriodMs(heartbeat: { pingIntervalMs: number; pongTimeoutMs: number }) {
  return Math.max(
    MIN_SWEEP_MS,
    Math.floor(Math.min(heartbeat.pingIntervalMs, heartbeat.pongTimeoutMs) / 4),
  );
}

/**
 * One timer for the liveness of every connection, instead of two delayed events per actor: each
 * tick sends `PING_DUE` or `SILENT` to the connections `livenessEvent` says need it, and nothing
 * to the others. Runs from `start()` until `stop()`; the timer does not keep the process alive.
 */
export class LivenessSweep {
  readonly periodMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    heartbeat: { pingIntervalMs: number; pongTimeoutMs: number },
    private readonly connections: () => Iterable<LivenessTarget>,
  ) {
    this.periodMs = sweepPeriodMs(heartbeat);
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

  /** One walk over the connections. */
  sweep(): void {
    for (const actor of this.connections()) {
      const event = livenessEvent(actor.getSnapshot());
      if (event !== undefined) actor.send(event);
    }
  }
}
