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
 * A walk hands the event loop back after sending this many events (each a trip through a
 * connection actor, and a ping a write to its socket) ...
 */
export const SWEEP_CHUNK_EVENTS = 256;
/** ... or after looking at this many connections, whichever comes first. */
export const SWEEP_CHUNK_CONNECTIONS = 4_096;

/**
 * One timer for the deadlines of every connection, instead of delayed events per actor: each
 * tick sends `PING_DUE`, `SILENT` or `ADMISSION_TIMEOUT` to the connections `dueEvent` says need
 * one, and nothing to the others. Runs from `start()` until `stop()`; the timer does not keep the
 * process alive.
 *
 * A tick's walk goes in chunks (`SWEEP_CHUNK_EVENTS`, `SWEEP_CHUNK_CONNECTIONS`), each in its own
 * macrotask, so frames and Redis replies are handled between them: connections admitted
 * together (a ramp, a reconnect storm) fall due together, and 18,000 pings in one synchronous
 * walk held a replica's event loop for about 200 ms, which every message in flight waited out.
 */
export class LivenessSweep {
  readonly periodMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** The walk of the current tick, until it has visited every connection. */
  private walk: Iterator<LivenessTarget> | undefined;
  private pending: ReturnType<typeof setImmediate> | undefined;

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
    this.timer = setInterval(() => this.tick(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    clearImmediate(this.pending);
    this.timer = undefined;
    this.pending = undefined;
    this.walk = undefined;
  }

  /** One walk over the connections at once: each gets every event due, e.g. SILENT, then PING_DUE. */
  sweep(): void {
    this.chunk(this.connections()[Symbol.iterator](), Infinity, Infinity);
  }

  /** Starts a walk in chunks, unless the last tick's walk is still going. */
  private tick(): void {
    if (this.walk !== undefined) return;
    this.walk = this.connections()[Symbol.iterator]();
    this.continueWalk();
  }

  private continueWalk(): void {
    this.pending = undefined;
    const walk = this.walk;
    if (walk === undefined) return;
    if (this.chunk(walk, SWEEP_CHUNK_EVENTS, SWEEP_CHUNK_CONNECTIONS)) {
      this.pending = setImmediate(() => this.continueWalk());
    } else {
      this.walk = undefined;
    }
  }

  /**
   * Walks on until `maxEvents` were sent or `maxConnections` looked at; false once the walk has
   * reached the end. A Set's or Map's iterator survives its collection changing between chunks:
   * connections gone meanwhile are skipped, new ones are reached (they are due later anyway).
   */
  private chunk(
    walk: Iterator<LivenessTarget>,
    maxEvents: number,
    maxConnections: number,
  ): boolean {
    let events = 0;
    for (let seen = 0; seen < maxConnections && events < maxEvents; seen++) {
      const next = walk.next();
      if (next.done === true) return false;
      const actor = next.value;
      // Each event settles its own deadline, so no more than one of each kind can be due.
      for (let sent = 0; sent < DUE_KINDS; sent++) {
        const event = dueEvent(actor.getSnapshot());
        if (event === undefined) break;
        actor.send(event);
        events++;
      }
    }
    return true;
  }
}
