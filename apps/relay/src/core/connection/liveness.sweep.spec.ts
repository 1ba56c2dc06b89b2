import { ErrorCode, ServerType } from '@hush/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Actor } from 'xstate';
import { createActor } from 'xstate';
import type { ConnectionEvent, ConnectionIo } from './connection.machine.js';
import { connectionMachine } from './connection.machine.js';
import type { LivenessTarget } from './liveness.sweep.js';
import {
  LivenessSweep,
  MIN_SWEEP_MS,
  SWEEP_CHUNK_CONNECTIONS,
  SWEEP_CHUNK_EVENTS,
  sweepPeriodMs,
} from './liveness.sweep.js';

const HEARTBEAT = { pingIntervalMs: 1000, pongTimeoutMs: 3000 };
const TIMING = { ...HEARTBEAT, admissionTimeoutMs: 2000 };
const PERIOD = HEARTBEAT.pingIntervalMs / 4;

interface Connection {
  actor: Actor<typeof connectionMachine>;
  /** What the sweep sees: the actor, with the events sent to it recorded. */
  target: LivenessTarget;
  /** When each WebSocket ping went out (the app-level Ping goes with it). */
  pings: number[];
  /** Error codes sent to the client. */
  errors: string[];
  terminations: number;
  /** Every event the sweep sent, by type. */
  events: ConnectionEvent['type'][];
}

/**
 * A connection actor on the fake clock whose io records pings, terminations and errors, and
 * leaves room requests unanswered.
 */
function connect(): Connection {
  const pings: number[] = [];
  const errors: string[] = [];
  const events: ConnectionEvent['type'][] = [];
  let terminations = 0;
  const unused = () => {
    throw new Error('not used by liveness');
  };
  const io: ConnectionIo = {
    rate: { join: { events: 10, windowMs: 1000 } } as ConnectionIo['rate'],
    heartbeat: HEARTBEAT,
    admissionTimeoutMs: TIMING.admissionTimeoutMs,
    serverLimits: {} as ConnectionIo['serverLimits'],
    observer: { rateLimited: unused, error: () => undefined },
    now: () => Date.now(),
    send: (message) => {
      if (message.type === ServerType.Error) errors.push(message.data.code);
    },
    deliver: unused,
    ping: () => pings.push(Date.now()),
    close: unused,
    terminate: () => terminations++,
    lockedOut: () => false,
    recordFailedJoin: unused,
    addressAllows: () => true,
    spendAddress: () => undefined,
    join: () => undefined,
    relay: unused,
    leave: unused,
  };
  const actor = createActor(connectionMachine, { input: { io } });
  actor.subscribe({ error: (error) => expect.unreachable(String(error)) });
  actor.start();
  return {
    actor,
    target: {
      getSnapshot: () => actor.getSnapshot(),
      send: (event) => {
        events.push(event.type);
        actor.send(event);
      },
    },
    pings,
    errors,
    get terminations() {
      return terminations;
    },
    events,
  };
}

describe('liveness sweep', () => {
  let connections: Connection[];
  let sweep: LivenessSweep;

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    connections = [];
    sweep = new LivenessSweep(TIMING, () => connections.map((c) => c.target));
  });
  afterEach(() => {
    sweep.stop();
    vi.useRealTimers();
  });

  it('ticks every quarter of the shortest duration it watches, and no faster than MIN_SWEEP_MS', () => {
    expect(sweep.periodMs).toBe(PERIOD);
    expect(sweepPeriodMs({ ...TIMING, pongTimeoutMs: 200 })).toBe(50);
    expect(sweepPeriodMs({ ...TIMING, admissionTimeoutMs: 600 })).toBe(150);
    expect(sweepPeriodMs({ pingIntervalMs: 4, pongTimeoutMs: 8, admissionTimeoutMs: 8 })).toBe(
      MIN_SWEEP_MS,
    );
  });

  it('runs one timer for all connections, from start() until stop()', () => {
    for (let i = 0; i < 100; i++) connections.push(connect());
    const before = vi.getTimerCount();
    sweep.start();
    sweep.start();
    expect(vi.getTimerCount()).toBe(before + 1);
    expect(sweep.running).toBe(true);
    sweep.stop();
    expect(vi.getTimerCount()).toBe(before);
    expect(sweep.running).toBe(false);
    vi.advanceTimersByTime(10 * HEARTBEAT.pongTimeoutMs);
    for (const c of connections) expect(c.events).toEqual([]);
  });

  it('pings each connection an interval after its own start and last ping, at most a tick late', () => {
    sweep.start();
    const first = connect();
    connections.push(first);
    vi.advanceTimersByTime(HEARTBEAT.pingIntervalMs / 2);
    const second = connect();
    connections.push(second);
    const start = [first, second].map((c) => c.actor.getSnapshot().context.meter.pingedAt);
    for (let i = 0; i < 4; i++) {
      vi.advanceTimersByTime(HEARTBEAT.pingIntervalMs);
      [first, second].forEach((c) => c.actor.send({ type: 'PONG' }));
    }
    const [a, b] = [first.pings, second.pings];
    expect(a.length).toBeGreaterThanOrEqual(3);
    expect(b.length).toBeGreaterThanOrEqual(3);
    for (const [pings, since] of [
      [a, start[0]],
      [b, start[1]],
    ] as const) {
      let last = since as number;
      for (const at of pings) {
        expect(at - last).toBeGreaterThanOrEqual(HEARTBEAT.pingIntervalMs);
        expect(at - last).toBeLessThanOrEqual(HEARTBEAT.pingIntervalMs + PERIOD);
        last = at;
      }
    }
    // Spread: the second connection is never pinged in the tick that pings the first.
    expect(a.filter((at) => b.includes(at))).toEqual([]);
  });

  it('sends events only to the connections that need one', () => {
    sweep.start();
    const old = connect();
    connections.push(old);
    vi.advanceTimersByTime(HEARTBEAT.pingIntervalMs - PERIOD);
    const fresh = connect();
    connections.push(fresh);
    vi.advanceTimersByTime(PERIOD);
    expect(old.events).toEqual(['PING_DUE']);
    expect(fresh.events).toEqual([]);
    vi.advanceTimersByTime(HEARTBEAT.pingIntervalMs - PERIOD);
    expect(old.events).toEqual(['PING_DUE']);
    expect(fresh.events).toEqual(['PING_DUE']);
  });

  it('terminates a silent connection once, between pongTimeoutMs and a tick after it', () => {
    sweep.start();
    const mute = connect();
    connections.push(mute);
    vi.advanceTimersByTime(HEARTBEAT.pongTimeoutMs - 1);
    expect(mute.terminations).toBe(0);
    vi.advanceTimersByTime(PERIOD);
    expect(mute.terminations).toBe(1);
    vi.advanceTimersByTime(5 * HEARTBEAT.pongTimeoutMs);
    expect(mute.terminations).toBe(1);
    // The socket is gone at once in the relay; until then, nothing more than its pings.
    expect(mute.events.filter((type) => type === 'SILENT')).toEqual(['SILENT']);
  });

  it('never terminates a connection that answers its pings', () => {
    sweep.start();
    const answering = connect();
    const mute = connect();
    connections.push(answering, mute);
    let answered = 0;
    for (let t = 0; t < 10 * HEARTBEAT.pongTimeoutMs; t += MIN_SWEEP_MS) {
      vi.advanceTimersByTime(MIN_SWEEP_MS);
      if (answering.pings.length > answered) {
        answered = answering.pings.length;
        answering.actor.send({ type: 'PONG' });
      }
    }
    expect(answered).toBeGreaterThanOrEqual(20);
    expect(answering.terminations).toBe(0);
    expect(answering.events).not.toContain('SILENT');
    expect(mute.terminations).toBe(1);
  });

  it('skips closed connections', () => {
    sweep.start();
    const closed = connect();
    connections.push(closed);
    closed.actor.send({ type: 'SOCKET_CLOSED' });
    vi.advanceTimersByTime(2 * HEARTBEAT.pongTimeoutMs);
    expect(closed.events).toEqual([]);
    expect(closed.pings).toEqual([]);
    expect(closed.terminations).toBe(0);
  });

  it('gives up a pending join between admissionTimeoutMs and a tick after the request, once', () => {
    sweep.start();
    const joining = connect();
    connections.push(joining);
    vi.advanceTimersByTime(PERIOD / 2);
    joining.actor.send({
      type: 'JOIN_ROOM',
      data: { roomId: 'R'.repeat(21), name: 'b', password: '' },
    });
    vi.advanceTimersByTime(TIMING.admissionTimeoutMs - 1);
    expect(joining.errors).toEqual([]);
    vi.advanceTimersByTime(PERIOD);
    expect(joining.errors).toEqual([ErrorCode.Unavailable]);
    vi.advanceTimersByTime(2 * TIMING.admissionTimeoutMs);
    expect(joining.events.filter((type) => type === 'ADMISSION_TIMEOUT')).toEqual([
      'ADMISSION_TIMEOUT',
    ]);
  });

  it('walks in chunks, handing the event loop back between them, when many fall due at once', () => {
    const count = 2 * SWEEP_CHUNK_EVENTS + 10;
    for (let i = 0; i < count; i++) connections.push(connect());
    sweep.start();
    // Admitted together, so due together: every one is pinged by the tick after the interval.
    vi.advanceTimersByTime(HEARTBEAT.pingIntervalMs - PERIOD);
    const pinged = () => connections.filter((c) => c.pings.length > 0).length;
    expect(pinged()).toBe(0);
    vi.advanceTimersToNextTimer(); // the tick: its first chunk only
    expect(pinged()).toBe(SWEEP_CHUNK_EVENTS);
    vi.advanceTimersToNextTimer(); // the next chunk, in its own macrotask
    expect(pinged()).toBe(2 * SWEEP_CHUNK_EVENTS);
    vi.advanceTimersToNextTimer();
    expect(pinged()).toBe(count);
    // The walk is over: the next tick starts a new one, which finds nothing due.
    vi.advanceTimersByTime(PERIOD);
    expect(connections.every((c) => c.pings.length === 1)).toBe(true);
  });

  it('bounds a chunk by the connections it looks at, even when none is due', () => {
    const seen: number[] = [];
    const idle = Array.from({ length: 2 * SWEEP_CHUNK_CONNECTIONS + 1 }, (_, i) => ({
      getSnapshot: () => {
        seen.push(i);
        return connections[0]?.actor.getSnapshot() as ReturnType<LivenessTarget['getSnapshot']>;
      },
      send: () => expect.unreachable('nothing is due'),
    }));
    connections.push(connect());
    const chunked = new LivenessSweep(TIMING, () => idle);
    chunked.start();
    vi.advanceTimersToNextTimer();
    expect(seen).toHaveLength(SWEEP_CHUNK_CONNECTIONS);
    vi.advanceTimersToNextTimer();
    vi.advanceTimersToNextTimer();
    expect(seen).toHaveLength(idle.length);
    chunked.stop();
  });

  it('sends a connection every event due in one walk', () => {
    const late = connect();
    connections.push(late);
    late.actor.send({
      type: 'JOIN_ROOM',
      data: { roomId: 'R'.repeat(21), name: 'b', password: '' },
    });
    vi.advanceTimersByTime(HEARTBEAT.pongTimeoutMs); // no sweep ran meanwhile
    sweep.sweep();
    expect(late.events).toEqual(['SILENT', 'ADMISSION_TIMEOUT', 'PING_DUE']);
    sweep.sweep();
    expect(late.events).toHaveLength(3);
  });
});
