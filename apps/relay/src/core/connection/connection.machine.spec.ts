/**
 * Model-based tests of the connection machine. `xstate/graph` walks the machine's state space;
 * every generated path is replayed on a live actor driven the way the relay drives it (spy
 * `io`, admissions answered through the `reply` and `link` the machine handed out, time on a
 * simulated clock), and after every step an oracle checks the exact effects the step must have
 * had. From each reachable state, every event is then tried once more (transition coverage).
 */
import type { ErrorCode as ErrorCodeType, ServerMessage } from '@hush/protocol';
import {
  ClientType,
  ErrorCode,
  RATE_KINDS as WIRE_RATE_KINDS,
  ServerType,
  decodeServerMessage,
} from '@hush/protocol';
import { describe, expect, it } from 'vitest';
import type { SnapshotFrom } from 'xstate';
import { createActor, transition } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import type { AdmissionReply, MemberLink } from '../room/member-link.js';
import type { RateLimit } from '../budgets/rate-limiter.js';
import type {
  AddressKind,
  ConnectionEvent,
  ConnectionIo,
  RateKind,
  RoomRequest,
} from './connection.machine.js';
import { CloseCode, connectionMachine } from './connection.machine.js';
import { LivenessSweep } from './liveness.sweep.js';
import type { RelayedMessage } from '../room/room.machine.js';

type Snapshot = SnapshotFrom<typeof connectionMachine>;

const PING_INTERVAL_MS = 1000;
const PONG_TIMEOUT_MS = 10_000;
const ADMISSION_TIMEOUT_MS = 100_000;
const ROOM_ID = 'R'.repeat(21);
const MEMBER_ID = 'member-1';
const SERVER_LIMITS = {
  maxFrameBytes: 1024,
  maxRoomMembers: 3,
  nameMaxCodePoints: 20,
  maxExpirySeconds: 60,
  chatPerWindow: 10,
  windowMs: 1000,
};
const RATE_KINDS: readonly RateKind[] = [...WIRE_RATE_KINDS, 'invalid'];
/** Budgets the model never exhausts; rate limits have their own tests below. */
const UNLIMITED = Object.fromEntries(
  RATE_KINDS.map((kind) => [kind, { events: 1_000_000, windowMs: 1 }]),
) as Record<RateKind, RateLimit>;

// ---------------------------------------------------------------------------------------------
// Spy io
// ---------------------------------------------------------------------------------------------

interface Effects {
  /** Messages sent to the client (`send`), Pings excluded; frames `deliver`ed, decoded. */
  sent: ServerMessage[];
  pings: { ws: number; app: number[] };
  closes: { code: number; reason: string }[];
  terminations: number;
  joins: { request: RoomRequest; link: MemberLink; reply: AdmissionReply }[];
  relays: { roomId: string; memberId: string; message: RelayedMessage }[];
  leaves: { roomId: string; memberId: string }[];
  failedJoins: number;
  /** Address budgets spent, in order. */
  addressSpent: AddressKind[];
  observedErrors: ErrorCodeType[];
  rateLimited: string[];
  /** Every effect in order, for ordering assertions. */
  log: string[];
}

function emptyEffects(): Effects {
  return {
    sent: [],
    pings: { ws: 0, app: [] },
    closes: [],
    terminations: 0,
    joins: [],
    relays: [],
    leaves: [],
    failedJoins: 0,
    addressSpent: [],
    observedErrors: [],
    rateLimited: [],
    log: [],
  };
}

interface IoOptions {
  now: () => number;
  rate?: Record<RateKind, RateLimit>;
  lockedOut?: () => boolean;
  addressAllows?: (kind: AddressKind) => boolean;
  admissionTimeoutMs?: number;
}

function spyIo(options: IoOptions): { io: ConnectionIo; effects: Effects } {
  const effects = emptyEffects();
  const record = (message: ServerMessage) => {
    if (message.type === ServerType.Ping) {
      effects.pings.app.push(message.data.t);
      return;
    }
    effects.sent.push(message);
    effects.log.push(`send:${message.type}`);
  };
  const io: ConnectionIo = {
    rate: options.rate ?? UNLIMITED,
    heartbeat: { pingIntervalMs: PING_INTERVAL_MS, pongTimeoutMs: PONG_TIMEOUT_MS },
    admissionTimeoutMs: options.admissionTimeoutMs ?? ADMISSION_TIMEOUT_MS,
    serverLimits: SERVER_LIMITS,
    observer: {
      rateLimited: (kind) => effects.rateLimited.push(kind),
      error: (code) => effects.observedErrors.push(code),
    },
    now: options.now,
    send: record,
    deliver: (frame) => {
      const decoded = decodeServerMessage(frame);
      if (!decoded.ok) throw new Error('undecodable frame delivered');
      record(decoded.value);
    },
    ping: () => {
      effects.pings.ws++;
    },
    close: (code, reason) => {
      effects.closes.push({ code, reason });
      effects.log.push(`close:${code}`);
    },
    terminate: () => {
      effects.terminations++;
    },
    lockedOut: options.lockedOut ?? (() => false),
    recordFailedJoin: () => {
      effects.failedJoins++;
    },
    addressAllows: options.addressAllows ?? (() => true),
    spendAddress: (kind) => {
      effects.addressSpent.push(kind);
    },
    join: (request, link, reply) => {
      effects.joins.push({ request, link, reply });
    },
    relay: (roomId, memberId, message) => {
      effects.relays.push({ roomId, memberId, message });
    },
    leave: (roomId, memberId) => {
      effects.leaves.push({ roomId, memberId });
      effects.log.push('leave');
    },
  };
  return { io, effects };
}

/** A manual clock: time moves only when a test moves it. */
function manualClock(start: number) {
  let now = start;
  return {
    now: () => now,
    increment(ms: number) {
      now += ms;
    },
  };
}

/**
 * A live connection actor on a manual clock, with its spy io, and the relay's sweep over it
 * (never started: `advance` runs one walk).
 */
function harness(options: Partial<IoOptions> = {}) {
  const clock = manualClock(1_700_000_000_000);
  const { io, effects } = spyIo({ now: clock.now, ...options });
  const actor = createActor(connectionMachine, { input: { io } });
  const sweep = new LivenessSweep(
    { ...io.heartbeat, admissionTimeoutMs: io.admissionTimeoutMs },
    () => [actor],
  );
  const errors: unknown[] = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  return {
    actor,
    clock,
    io,
    effects,
    errors,
    /** Moves time forward by `ms` at once, then sweeps: what is due by then is sent now. */
    advance(ms: number) {
      clock.increment(ms);
      sweep.sweep();
    },
    /** `advance(ms)`, `times` times over. */
    advanceEach(ms: number, times: number) {
      for (let i = 0; i < times; i++) this.advance(ms);
    },
    pong() {
      actor.send({ type: 'PONG' });
    },
  };
}
type Harness = ReturnType<typeof harness>;

// ---------------------------------------------------------------------------------------------
// The model: events, their execution on a live actor, and state serialisation
// ---------------------------------------------------------------------------------------------

const relay = (message: RelayedMessage): ConnectionEvent => ({ type: 'RELAY', message });

const EVENTS: readonly ConnectionEvent[] = [
  { type: 'HELLO', data: { version: 3, features: ['notices', 'self-id', 'time-travel'] } },
  { type: 'CREATE_ROOM', data: { name: 'alice', password: '', ephemeral: 30, expiry: 60 } },
  { type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'bob', password: 'a'.repeat(64) } },
  { type: 'LEAVE_ROOM' },
  relay({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: 'ct' } }),
  relay({ type: ClientType.Typing, data: { typing: true } }),
  relay({ type: ClientType.SendFileMeta, data: { transferId: 't1', iv: 'iv', ciphertext: 'm' } }),
  relay({
    type: ClientType.SendFileChunk,
    data: { transferId: 't1', index: 0, iv: 'i', data: 'd' },
  }),
  relay({ type: ClientType.SendFileComplete, data: { transferId: 't1' } }),
  relay({ type: ClientType.SendFileCancel, data: { transferId: 't1' } }),
  relay({ type: ClientType.SendFileAck, data: { transferId: 'theirs' } }),
  { type: 'PONG' },
  { type: 'PING_DUE' },
  { type: 'SILENT' },
  {
    type: 'INVALID',
    error: { code: ErrorCode.InvalidMessage, reason: 'bad_field', message: 'bad "iv"' },
  },
  { type: 'TEXT_FRAME' },
  { type: 'ADMITTED', roomId: ROOM_ID, memberId: MEMBER_ID },
  { type: 'ADMISSION_FAILED', code: ErrorCode.WrongPassword, message: 'wrong password' },
  { type: 'ADMISSION_FAILED', code: ErrorCode.RoomFull, message: 'room full' },
  { type: 'ROOM_CLOSED', reason: 'expired' },
  { type: 'DRAIN', retryAfterMs: 1000 },
  { type: 'SOCKET_CLOSED' },
  { type: 'SLOW_CONSUMER' },
  { type: 'ADMISSION_TIMEOUT' },
];

function describeEvent(event: ConnectionEvent): string {
  switch (event.type) {
    case 'RELAY':
      return `RELAY(0x${event.message.type.toString(16)})`;
    case 'ADMISSION_FAILED':
      return `ADMISSION_FAILED(${event.code})`;
    default:
      return event.type;
  }
}

function sessionOf(snapshot: Snapshot): 'lobby' | 'joining' | 'inRoom' | 'closed' {
  if (snapshot.status !== 'active') return 'closed';
  const value = snapshot.value as { active: { session: 'lobby' | 'joining' | 'inRoom' } };
  return value.active.session;
}

function watchdogOf(snapshot: Snapshot): 'watching' | 'silent' | 'closed' {
  if (snapshot.status !== 'active') return 'closed';
  return (snapshot.value as { active: { watchdog: 'watching' | 'silent' } }).active.watchdog;
}

/** What distinguishes states for the model: machine state plus the context that changes rules. */
function serialize(snapshot: Snapshot): string {
  const { context } = snapshot;
  return JSON.stringify({
    session: sessionOf(snapshot),
    watchdog: watchdogOf(snapshot),
    negotiated: context.negotiated,
    transfer: context.transferId ?? null,
    // A closed connection does nothing, drained or not.
    draining: snapshot.status === 'active' && context.draining,
  });
}

const traversal = spyIo({ now: () => 1_700_000_000_000 });
const modelOptions = {
  input: { io: traversal.io },
  events: EVENTS,
  serializeState: (snapshot: Snapshot) => serialize(snapshot),
};

/** Drives one model event into the live actor the way the relay would produce it. */
async function execute(h: Harness, event: ConnectionEvent): Promise<void> {
  const latest = h.effects.joins.at(-1);
  const active = h.actor.getSnapshot().status === 'active';
  switch (event.type) {
    case 'ADMITTED': {
      if (latest === undefined) return;
      const awaited = sessionOf(h.actor.getSnapshot()) === 'joining';
      expect(latest.reply.accept({ roomId: event.roomId, memberId: event.memberId })).toBe(awaited);
      return;
    }
    case 'ADMISSION_FAILED': {
      latest?.reply.reject(event.code, event.message);
      return;
    }
    case 'ROOM_CLOSED':
      // A room only reaches a connection it seated; a closed one is no longer seated anywhere.
      if (!active) return;
      latest?.link.roomClosed('expired');
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      return;
    case 'PONG':
      if (active) h.pong();
      return;
    // PING_DUE, SILENT and ADMISSION_TIMEOUT are sent as the sweep sends them: moving the clock
    // that far would bring the others due too. When they come is pinned by the tests below.
    // Nothing reaches a closed connection: the registry forgets its socket.
    default:
      if (active) h.actor.send(event);
  }
}

// ---------------------------------------------------------------------------------------------
// The oracle: the effects each step must have, and nothing else
// ---------------------------------------------------------------------------------------------

function delta(before: Effects, after: Effects): Effects {
  return {
    sent: after.sent.slice(before.sent.length),
    pings: {
      ws: after.pings.ws - before.pings.ws,
      app: after.pings.app.slice(before.pings.app.length),
    },
    closes: after.closes.slice(before.closes.length),
    terminations: after.terminations - before.terminations,
    joins: after.joins.slice(before.joins.length),
    relays: after.relays.slice(before.relays.length),
    leaves: after.leaves.slice(before.leaves.length),
    failedJoins: after.failedJoins - before.failedJoins,
    addressSpent: after.addressSpent.slice(before.addressSpent.length),
    observedErrors: after.observedErrors.slice(before.observedErrors.length),
    rateLimited: after.rateLimited.slice(before.rateLimited.length),
    log: after.log.slice(before.log.length),
  };
}

function copy(effects: Effects): Effects {
  return delta(emptyEffects(), effects);
}

const errorOf = (code: ErrorCodeType) => ({
  type: ServerType.Error,
  data: { code, msg: expect.any(String) },
});

/** Asserts what one step did, given the states around it. */
function expectEffects(
  event: ConnectionEvent,
  before: Snapshot,
  after: Snapshot,
  d: Effects,
  now: number,
): void {
  const session = sessionOf(before);
  const inRoom = session === 'inRoom';
  const { context } = before;
  const expected: Partial<Effects> = {
    sent: [],
    closes: [],
    terminations: 0,
    joins: [],
    relays: [],
    leaves: [],
    failedJoins: 0,
    addressSpent: [],
    rateLimited: [],
  };
  const leaving = inRoom ? [{ roomId: ROOM_ID, memberId: MEMBER_ID }] : [];

  if (session === 'closed') {
    // A finished connection does nothing, whatever happens.
    expect(d).toEqual({ ...emptyEffects() });
    expect(after.status).toBe('done');
    return;
  }

  switch (event.type) {
    case 'HELLO':
      expected.sent = context.negotiated
        ? [errorOf(ErrorCode.InvalidMessage)]
        : [
            {
              type: ServerType.Welcome,
              data: { version: 1, features: ['notices', 'self-id'], limits: SERVER_LIMITS },
            },
          ];
      expect(after.context.negotiated).toBe(true);
      expect([...after.context.features].sort()).toEqual(['notices', 'self-id']);
      break;
    case 'CREATE_ROOM':
    case 'JOIN_ROOM':
      if (session === 'lobby' && context.draining) {
        // Not admitted: the close is out, nothing could tell the client.
        expect(sessionOf(after)).toBe('lobby');
      } else if (session === 'lobby') {
        expected.joins = [
          {
            request:
              event.type === 'CREATE_ROOM'
                ? {
                    kind: 'create',
                    name: 'alice',
                    settings: {
                      ephemeral: 30,
                      expiresAt: Math.floor(now / 1000) + 60,
                      passwordHash: '',
                    },
                  }
                : { kind: 'join', roomId: ROOM_ID, name: 'bob', passwordHash: 'a'.repeat(64) },
            link: expect.objectContaining({ features: context.features }),
            reply: expect.anything(),
          },
        ];
        expected.addressSpent = ['join'];
        expect(sessionOf(after)).toBe('joining');
      } else {
        expected.sent = [errorOf(ErrorCode.AlreadyInRoom)];
        expect(sessionOf(after)).toBe(session);
      }
      break;
    case 'LEAVE_ROOM':
      // Outside a room it is ignored, as the Arthas server ignores it.
      expected.leaves = leaving;
      expect(sessionOf(after)).toBe('lobby');
      break;
    case 'RELAY': {
      const { message } = event;
      if (!inRoom) {
        expected.sent = [errorOf(ErrorCode.NotInRoom)];
        break;
      }
      const owns = context.transferId === 't1';
      const allowed =
        message.type === ClientType.SendFileMeta
          ? context.transferId === undefined
          : message.type === ClientType.SendFileChunk ||
              message.type === ClientType.SendFileComplete ||
              message.type === ClientType.SendFileCancel
            ? owns
            : true;
      if (allowed) {
        expected.relays = [{ roomId: ROOM_ID, memberId: MEMBER_ID, message }];
        expected.addressSpent = message.type === ClientType.SendMessage ? ['chat'] : [];
      } else {
        expected.sent = [errorOf(ErrorCode.TransferRejected)];
      }
      const transferAfter = !allowed
        ? context.transferId
        : message.type === ClientType.SendFileMeta
          ? 't1'
          : message.type === ClientType.SendFileComplete ||
              message.type === ClientType.SendFileCancel
            ? undefined
            : context.transferId;
      expect(after.context.transferId).toBe(transferAfter);
      break;
    }
    case 'PONG':
      expect(watchdogOf(after)).toBe(watchdogOf(before));
      break;
    case 'INVALID':
    case 'TEXT_FRAME':
      expected.sent = [errorOf(ErrorCode.InvalidMessage)];
      expected.addressSpent = ['invalid'];
      break;
    case 'ADMITTED':
      if (session === 'joining') {
        expect(sessionOf(after)).toBe('inRoom');
        expect(after.context).toMatchObject({ roomId: ROOM_ID, memberId: MEMBER_ID });
      }
      break;
    case 'ADMISSION_FAILED':
      if (session === 'joining') {
        const { code } = event;
        expected.sent = [errorOf(code)];
        expected.failedJoins = code === ErrorCode.WrongPassword ? 1 : 0;
        expect(sessionOf(after)).toBe('lobby');
      }
      break;
    case 'ROOM_CLOSED':
      expected.leaves = leaving;
      if (inRoom) expect(sessionOf(after)).toBe('lobby');
      break;
    case 'DRAIN':
      // The connection stays until its socket closes, seated where it was, so what the client
      // wrote before the close reached it is still relayed; a pending join is given up.
      expect(after.status).toBe('active');
      expect(after.context.draining).toBe(true);
      expect(sessionOf(after)).toBe(session === 'joining' ? 'lobby' : session);
      if (context.draining) break; // drained once already: nothing more
      expected.sent = context.features.has('notices')
        ? [
            {
              type: ServerType.Notice,
              data: { kind: 'drain', msg: expect.any(String), retryAfterMs: 1000 },
            },
          ]
        : [];
      expected.closes = [{ code: CloseCode.GoingAway, reason: expect.any(String) }];
      // The notice goes out before the close.
      expect(d.log).toEqual(
        context.features.has('notices')
          ? [`send:${ServerType.Notice}`, 'close:1001']
          : ['close:1001'],
      );
      break;
    case 'SOCKET_CLOSED':
    case 'SLOW_CONSUMER':
      expected.leaves = leaving;
      expect(after.status).toBe('done');
      break;
    case 'ADMISSION_TIMEOUT':
      if (session === 'joining') {
        expected.sent = [errorOf(ErrorCode.Unavailable)];
        expect(sessionOf(after)).toBe('lobby');
      }
      break;
    case 'SILENT':
      // Terminated once: a silent connection ignores a second SILENT.
      expected.terminations = watchdogOf(before) === 'watching' ? 1 : 0;
      expect(watchdogOf(after)).toBe('silent');
      break;
    case 'PING_DUE':
      expect(d.pings.ws).toBe(1);
      expect(d.pings.app).toEqual([now]);
      expect(after.context.meter.pingedAt).toBe(now);
      break;
    default: {
      const unexpected: never = event;
      throw new Error(`no oracle for ${JSON.stringify(unexpected)}`);
    }
  }
  expect(d).toMatchObject(expected);
  // Errors sent to the client are the errors reported to metrics.
  expect(d.observedErrors).toEqual(
    d.sent.flatMap((m) => (m.type === ServerType.Error ? [m.data.code] : [])),
  );
}

/** Replays `events` on a fresh harness, checking effects and model fidelity at every step. */
async function replay(
  steps: readonly { event: ConnectionEvent; state: Snapshot }[],
): Promise<Harness> {
  const h = harness();
  for (const step of steps) {
    const before = h.actor.getSnapshot();
    const recorded = copy(h.effects);
    await execute(h, step.event);
    const after = h.actor.getSnapshot();
    expectEffects(step.event, before, after, delta(recorded, h.effects), h.clock.now());
    expect(serialize(after)).toBe(serialize(step.state));
  }
  expect(h.errors).toEqual([]);
  return h;
}

function describeState(snapshot: Snapshot): string {
  const { session, watchdog, negotiated, transfer, draining } = JSON.parse(serialize(snapshot)) as {
    session: string;
    watchdog: string;
    negotiated: boolean;
    transfer: string | null;
    draining: boolean;
  };
  if (session === 'closed') return `closed${negotiated ? ' (negotiated)' : ''}`;
  return [
    session,
    watchdog === 'silent' ? 'silent' : undefined,
    negotiated ? 'negotiated' : undefined,
    transfer === null ? undefined : 'sending a file',
    draining ? 'draining' : undefined,
  ]
    .filter(Boolean)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

const shortest = getShortestPaths(connectionMachine, modelOptions);

describe('connection machine, model-based', () => {
  it('reaches every state the connection can be in', () => {
    const reached = new Set(shortest.map((path) => describeState(path.state)));
    expect(reached).toEqual(
      new Set([
        'lobby',
        'lobby, negotiated',
        'lobby, silent',
        'lobby, silent, negotiated',
        'joining',
        'joining, negotiated',
        'joining, silent',
        'joining, silent, negotiated',
        'inRoom',
        'inRoom, negotiated',
        'inRoom, silent',
        'inRoom, silent, negotiated',
        'inRoom, sending a file',
        'inRoom, negotiated, sending a file',
        'inRoom, silent, sending a file',
        'inRoom, silent, negotiated, sending a file',
        // A drain gives up a pending join, so there is no joining while draining.
        'lobby, draining',
        'lobby, negotiated, draining',
        'lobby, silent, draining',
        'lobby, silent, negotiated, draining',
        'inRoom, draining',
        'inRoom, negotiated, draining',
        'inRoom, silent, draining',
        'inRoom, silent, negotiated, draining',
        'inRoom, sending a file, draining',
        'inRoom, negotiated, sending a file, draining',
        'inRoom, silent, sending a file, draining',
        'inRoom, silent, negotiated, sending a file, draining',
        'closed',
        'closed (negotiated)',
      ]),
    );
  });

  describe.each(shortest.map((path) => [describeState(path.state), path] as const))(
    'from %s',
    (_name, path) => {
      it('the shortest path there has exactly the expected effects at every step', async () => {
        await replay(path.steps.slice(1));
      });

      it.each(EVENTS.map((event) => [describeEvent(event), event] as const))(
        'then %s has exactly its effects',
        async (_event, event) => {
          const [expectedNext] = transition(connectionMachine, path.state, event);
          await replay([...path.steps.slice(1), { event, state: expectedNext }]);
        },
      );

      it('keeps pinging every interval while active, and never after it closed', async () => {
        const h = await replay(path.steps.slice(1));
        const before = copy(h.effects);
        h.advanceEach(PING_INTERVAL_MS, 3);
        const d = delta(before, h.effects);
        const active = h.actor.getSnapshot().status === 'active';
        expect(d.pings.ws).toBe(active ? 3 : 0);
        expect(d.pings.app).toHaveLength(active ? 3 : 0);
        expect(d.sent).toEqual([]);
      });
    },
  );

  it('replays every simple path through negotiation and the room lifecycle with the expected effects', async () => {
    // The watchdog is orthogonal to the session and covered above from every state; without
    // it (and the events that only loop) the simple paths stay few enough to replay them all:
    // some 1,500 with draining, CPU-bound, hence the longer timeout.
    const lifecycle = EVENTS.filter(
      (e) => !['PONG', 'INVALID', 'TEXT_FRAME', 'PING_DUE', 'SILENT'].includes(e.type),
    );
    const simple = getSimplePaths(connectionMachine, { ...modelOptions, events: lifecycle });
    expect(simple.length).toBeGreaterThan(shortest.length);
    for (const path of simple) await replay(path.steps.slice(1));
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// Focused behaviours
// ---------------------------------------------------------------------------------------------

async function inRoom(h: Harness): Promise<void> {
  h.actor.send({ type: 'CREATE_ROOM', data: { name: 'a', password: '', ephemeral: 0, expiry: 0 } });
  expect(h.effects.joins.at(-1)?.reply.accept({ roomId: ROOM_ID, memberId: MEMBER_ID })).toBe(true);
}

// The harness sweeps at exactly the moments a test moves the clock to, so deadlines are pinned to
// the millisecond; the relay's own sweep (liveness.sweep.spec.ts) only adds its period.
describe('connection machine: heartbeat', () => {
  it('sends a WebSocket ping and an app-level Ping with the current time every pingIntervalMs', () => {
    const h = harness();
    const start = h.clock.now();
    h.advance(PING_INTERVAL_MS - 1);
    expect(h.effects.pings.ws).toBe(0);
    h.advance(1);
    expect(h.effects.pings).toEqual({ ws: 1, app: [start + PING_INTERVAL_MS] });
    h.advanceEach(PING_INTERVAL_MS, 2);
    expect(h.effects.pings).toEqual({
      ws: 3,
      app: [1, 2, 3].map((i) => start + i * PING_INTERVAL_MS),
    });
  });

  it('terminates a connection exactly pongTimeoutMs after the last pong', () => {
    const h = harness();
    h.advance(PONG_TIMEOUT_MS - 1);
    expect(h.effects.terminations).toBe(0);
    h.advance(1);
    expect(h.effects.terminations).toBe(1);
    h.advanceEach(PONG_TIMEOUT_MS, 5);
    expect(h.effects.terminations).toBe(1);
  });

  it('restarts the pong deadline on every PONG (app-level or WebSocket-level alike)', () => {
    const h = harness();
    for (let i = 0; i < 5; i++) {
      h.advance(PONG_TIMEOUT_MS - 1);
      h.pong();
    }
    expect(h.effects.terminations).toBe(0);
    h.advance(PONG_TIMEOUT_MS);
    expect(h.effects.terminations).toBe(1);
  });

  it('ignores a pong closer than a quarter ping interval to the last one, so floods re-arm nothing', () => {
    const h = harness();
    h.advance(PONG_TIMEOUT_MS - 10);
    h.pong(); // counted: the deadline is now PONG_TIMEOUT_MS from here
    for (let i = 0; i < 100; i++) {
      h.clock.increment(1);
      h.pong(); // all within a quarter interval of the counted one: ignored
    }
    h.advance(PONG_TIMEOUT_MS - 100 - 1);
    expect(h.effects.terminations).toBe(0);
    h.advance(1);
    expect(h.effects.terminations).toBe(1);
  });

  it('keeps pinging a silent connection until its socket closes, but terminates it once', () => {
    const h = harness();
    h.advance(PONG_TIMEOUT_MS);
    expect(h.effects.terminations).toBe(1);
    const pinged = h.effects.pings.ws;
    h.advanceEach(PING_INTERVAL_MS, 3);
    expect(h.effects.pings.ws).toBe(pinged + 3);
    expect(h.effects.terminations).toBe(1);
  });

  it('asks for nothing once closed', () => {
    const h = harness();
    h.actor.send({ type: 'SOCKET_CLOSED' });
    h.advance(2 * PONG_TIMEOUT_MS);
    expect(h.effects.pings.ws).toBe(0);
    expect(h.effects.terminations).toBe(0);
  });
});

describe('connection machine: frequent events', () => {
  it('relays accepted messages and takes pongs and pings without replacing the snapshot', async () => {
    const h = harness();
    await inRoom(h);
    const settled = h.actor.getSnapshot();
    for (const message of [
      { type: ClientType.SendMessage, data: { iv: 'i', ciphertext: 'c' } },
      { type: ClientType.SendMessage, data: { iv: 'i', ciphertext: 'c' } },
      { type: ClientType.Typing, data: { typing: true } },
      { type: ClientType.SendReaction, data: { iv: 'i', ciphertext: 'c' } },
    ] as const) {
      h.actor.send(relay(message));
    }
    h.advance(PING_INTERVAL_MS);
    h.pong();
    expect(h.effects.relays).toHaveLength(4);
    expect(h.effects.pings.ws).toBe(1);
    expect(h.actor.getSnapshot()).toBe(settled);
  });
});

describe('connection machine: drain', () => {
  const chat = relay({ type: ClientType.SendMessage, data: { iv: 'i', ciphertext: 'c' } });
  const drain: ConnectionEvent = { type: 'DRAIN', retryAfterMs: 500 };

  it('keeps relaying what the client wrote before the close reached it, under the same budgets, and leaves once the socket closes', async () => {
    const h = harness({ rate: { ...UNLIMITED, chat: { events: 1, windowMs: 1000 } } });
    await inRoom(h);
    h.actor.send(drain);
    for (let i = 0; i < 3; i++) h.actor.send(chat); // the announcement, one message, one too many
    expect(h.effects.relays).toHaveLength(2);
    expect(h.effects.rateLimited).toEqual(['chat']);
    expect(h.effects.leaves).toEqual([]);
    h.actor.send({ type: 'SOCKET_CLOSED' });
    expect(h.effects.leaves).toEqual([{ roomId: ROOM_ID, memberId: MEMBER_ID }]);
    expect(h.actor.getSnapshot().status).toBe('done');
  });

  it('sends its notice and close once, however often it is asked to drain', () => {
    const h = harness();
    h.actor.send({ type: 'HELLO', data: { version: 1, features: ['notices'] } });
    h.actor.send(drain);
    h.actor.send(drain);
    expect(h.effects.log).toEqual([
      `send:${ServerType.Welcome}`,
      `send:${ServerType.Notice}`,
      'close:1001',
    ]);
  });

  it('gives up a pending join, so a late admission is refused and the room releases the seat', () => {
    const h = harness();
    h.actor.send({ type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'b', password: '' } });
    h.actor.send(drain);
    expect(sessionOf(h.actor.getSnapshot())).toBe('lobby');
    expect(h.effects.joins[0]?.reply.accept({ roomId: ROOM_ID, memberId: MEMBER_ID })).toBe(false);
    h.actor.send({ type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'b', password: '' } });
    expect(h.effects.joins).toHaveLength(1);
    expect(h.effects.leaves).toEqual([]);
  });
});

describe('connection machine: admissions', () => {
  it('ignores an admission granted after the client gave up with LeaveRoom, so the room releases the seat', () => {
    const h = harness();
    h.actor.send({ type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'b', password: '' } });
    h.actor.send({ type: 'LEAVE_ROOM' });
    expect(h.effects.joins[0]?.reply.accept({ roomId: ROOM_ID, memberId: 'late' })).toBe(false);
    expect(sessionOf(h.actor.getSnapshot())).toBe('lobby');
    expect(h.effects.sent).toEqual([]);
  });

  it('does not take the late answer to an abandoned join for the answer to the next one', () => {
    const h = harness();
    const other = 'O'.repeat(21);
    h.actor.send({ type: 'JOIN_ROOM', data: { roomId: other, name: 'b', password: '' } });
    h.actor.send({ type: 'LEAVE_ROOM' });
    h.actor.send({ type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'b', password: '' } });
    const [abandoned, current] = h.effects.joins;
    expect(abandoned?.reply.accept({ roomId: other, memberId: 'stale' })).toBe(false);
    abandoned?.reply.reject(ErrorCode.RoomNotFound, 'room not found');
    expect(sessionOf(h.actor.getSnapshot())).toBe('joining');
    expect(h.effects.sent).toEqual([]);
    expect(h.effects.failedJoins).toBe(0);
    expect(current?.reply.accept({ roomId: ROOM_ID, memberId: MEMBER_ID })).toBe(true);
    expect(h.actor.getSnapshot().context).toMatchObject({ roomId: ROOM_ID, memberId: MEMBER_ID });
  });

  it('gives up on a join admissionTimeoutMs after the request with E024, and ignores its late answer', () => {
    const h = harness({ admissionTimeoutMs: 50 });
    h.advance(70); // in the lobby: no deadline runs
    h.actor.send({ type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'b', password: '' } });
    h.advance(49);
    expect(h.effects.sent).toEqual([]);
    h.advance(1);
    expect(h.effects.sent).toEqual([errorOf(ErrorCode.Unavailable)]);
    expect(sessionOf(h.actor.getSnapshot())).toBe('lobby');
    h.actor.send({ type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'b', password: '' } });
    expect(h.effects.joins[0]?.reply.accept({ roomId: ROOM_ID, memberId: 'late' })).toBe(false);
    expect(h.effects.joins[1]?.reply.accept({ roomId: ROOM_ID, memberId: MEMBER_ID })).toBe(true);
  });

  it('refuses the seat of a connection that closed while being admitted', () => {
    const h = harness();
    h.actor.send({ type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'b', password: '' } });
    h.actor.send({ type: 'SOCKET_CLOSED' });
    expect(h.effects.joins[0]?.reply.accept({ roomId: ROOM_ID, memberId: MEMBER_ID })).toBe(false);
    expect(h.effects.leaves).toEqual([]);
  });

  it('counts unknown rooms and wrong passwords towards the lockout, nothing else', () => {
    const counted: Partial<Record<ErrorCodeType, boolean>> = {
      [ErrorCode.RoomNotFound]: true,
      [ErrorCode.WrongPassword]: true,
      [ErrorCode.RoomFull]: false,
      [ErrorCode.NameTaken]: false,
      [ErrorCode.RoomExpired]: false,
      [ErrorCode.Unavailable]: false,
    };
    for (const [code, counts] of Object.entries(counted)) {
      const h = harness();
      h.actor.send({ type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'b', password: '' } });
      h.effects.joins[0]?.reply.reject(code as ErrorCodeType, 'no');
      expect({ code, failed: h.effects.failedJoins }).toEqual({ code, failed: counts ? 1 : 0 });
    }
  });

  it('refuses room requests from a locked-out address with E022, without asking any room', () => {
    const h = harness({ lockedOut: () => true });
    h.actor.send({ type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'b', password: '' } });
    h.actor.send({
      type: 'CREATE_ROOM',
      data: { name: 'b', password: '', ephemeral: 0, expiry: 0 },
    });
    expect(h.effects.sent).toEqual([errorOf(ErrorCode.LockedOut), errorOf(ErrorCode.LockedOut)]);
    expect(h.effects.joins).toEqual([]);
  });
});

describe('connection machine: budgets', () => {
  const tight = (kind: RateKind, events: number): Record<RateKind, RateLimit> => ({
    ...UNLIMITED,
    [kind]: { events, windowMs: 1000 },
  });

  const chat = relay({ type: ClientType.SendMessage, data: { iv: 'i', ciphertext: 'c' } });

  it('lets the key announcement after joining pass, then holds chat to the budget in any window, as Arthas does', async () => {
    const h = harness({ rate: tight('chat', 2) });
    await inRoom(h);
    for (let i = 0; i < 4; i++) h.actor.send(chat); // the announcement, two messages, one too many
    expect(h.effects.relays).toHaveLength(3);
    expect(h.effects.sent).toEqual([errorOf(ErrorCode.RateLimited)]);
    expect(h.effects.rateLimited).toEqual(['chat']);
    // Typing has its own budget.
    h.actor.send(relay({ type: ClientType.Typing, data: { typing: true } }));
    expect(h.effects.relays).toHaveLength(4);
    // A sliding window: the two accepted messages count until a whole window has passed.
    h.advance(999);
    h.actor.send(chat);
    expect(h.effects.relays).toHaveLength(4);
    h.advance(1);
    h.actor.send(chat);
    h.actor.send(chat);
    expect(h.effects.relays).toHaveLength(6);
  });

  it('grants the free announcement once per admission, not per message', async () => {
    const h = harness({ rate: tight('chat', 1) });
    await inRoom(h);
    h.actor.send(chat);
    h.actor.send(chat);
    h.actor.send(chat);
    expect(h.effects.relays).toHaveLength(2);
    h.actor.send({ type: 'LEAVE_ROOM' });
    await inRoom(h);
    h.actor.send(chat); // the new admission's announcement
    expect(h.effects.relays).toHaveLength(3);
  });

  it.each([
    ['typing', { type: ClientType.Typing, data: { typing: true } }],
    ['reaction', { type: ClientType.SendReaction, data: { iv: 'i', ciphertext: 'c' } }],
    ['fileAck', { type: ClientType.SendFileAck, data: { transferId: 'theirs' } }],
  ] as const)('refuses %s past its budget with E004', async (kind, message) => {
    const h = harness({ rate: tight(kind, 1) });
    await inRoom(h);
    h.actor.send(relay(message as RelayedMessage));
    h.actor.send(relay(message as RelayedMessage));
    expect(h.effects.relays).toHaveLength(1);
    expect(h.effects.sent).toEqual([errorOf(ErrorCode.RateLimited)]);
    expect(h.effects.rateLimited).toEqual([kind]);
  });

  it('holds file transfers to the fileMeta and fileControl budgets: a meta + cancel flood is refused', async () => {
    const h = harness({
      rate: { ...tight('fileMeta', 3), fileControl: { events: 2, windowMs: 1000 } },
    });
    await inRoom(h);
    for (let i = 0; i < 5; i++) {
      const transferId = `t${i}`;
      h.actor.send(
        relay({ type: ClientType.SendFileMeta, data: { transferId, iv: 'i', ciphertext: 'c' } }),
      );
      h.actor.send(relay({ type: ClientType.SendFileCancel, data: { transferId } }));
    }
    // t0 and t1 start and are cancelled; t2 starts, but its cancel is over budget, so t2 stays
    // open and the later metas are refused for it (E023) or the budget (E004).
    expect(h.effects.relays.map((r) => r.message.type)).toEqual([
      ClientType.SendFileMeta,
      ClientType.SendFileCancel,
      ClientType.SendFileMeta,
      ClientType.SendFileCancel,
      ClientType.SendFileMeta,
    ]);
    expect(h.effects.rateLimited).toContain('fileControl');
    expect(h.effects.sent.every((m) => m.type === ServerType.Error)).toBe(true);
  });

  it("refuses chat with E004 once the client address's budget is spent, and spends it otherwise", async () => {
    let addressHasRoom = true;
    const h = harness({ addressAllows: (kind) => kind !== 'chat' || addressHasRoom });
    await inRoom(h);
    h.actor.send(chat);
    expect(h.effects.addressSpent).toEqual(['join', 'chat']);
    addressHasRoom = false;
    h.actor.send(chat);
    expect(h.effects.relays).toHaveLength(1);
    expect(h.effects.sent).toEqual([errorOf(ErrorCode.RateLimited)]);
    expect(h.effects.rateLimited).toEqual(['address_chat']);
  });

  it("refuses room requests once the client address's join budget is spent", () => {
    const h = harness({ addressAllows: (kind) => kind !== 'join' });
    h.actor.send({ type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'b', password: '' } });
    expect(h.effects.joins).toEqual([]);
    expect(h.effects.sent).toEqual([errorOf(ErrorCode.RateLimited)]);
    expect(h.effects.rateLimited).toEqual(['address_join']);
  });

  it("closes at the first invalid frame once the client address's invalid budget is spent", () => {
    const h = harness({ addressAllows: (kind) => kind !== 'invalid' });
    h.actor.send({ type: 'TEXT_FRAME' });
    expect(h.effects.closes).toEqual([
      { code: CloseCode.UnsupportedData, reason: expect.any(String) },
    ]);
  });

  it('answers room traffic outside a room with E003 up to the lobby budget, then E004', () => {
    const h = harness({ rate: tight('lobby', 2) });
    for (let i = 0; i < 3; i++) h.actor.send(chat);
    expect(h.effects.sent).toEqual([
      errorOf(ErrorCode.NotInRoom),
      errorOf(ErrorCode.NotInRoom),
      errorOf(ErrorCode.RateLimited),
    ]);
    expect(h.effects.relays).toEqual([]);
  });

  it('does not spend a chunk budget on chunks refused for their transfer id', async () => {
    const h = harness({ rate: tight('fileChunk', 1) });
    await inRoom(h);
    const chunk = (transferId: string) =>
      relay({ type: ClientType.SendFileChunk, data: { transferId, index: 0, iv: 'i', data: 'd' } });
    h.actor.send(chunk('nobody'));
    h.actor.send(
      relay({ type: ClientType.SendFileMeta, data: { transferId: 't', iv: 'i', ciphertext: 'c' } }),
    );
    h.actor.send(chunk('t'));
    expect(h.effects.sent).toEqual([errorOf(ErrorCode.TransferRejected)]);
    expect(h.effects.relays.map((r) => r.message.type)).toEqual([
      ClientType.SendFileMeta,
      ClientType.SendFileChunk,
    ]);
  });

  it('limits room requests with the join budget (E004)', () => {
    const h = harness({ rate: tight('join', 2) });
    for (let i = 0; i < 3; i++) {
      h.actor.send({ type: 'JOIN_ROOM', data: { roomId: ROOM_ID, name: 'b', password: '' } });
      h.actor.send({ type: 'LEAVE_ROOM' });
    }
    expect(h.effects.joins).toHaveLength(2);
    // The refused request never left the lobby; its LeaveRoom is ignored there, as on Arthas.
    expect(h.effects.sent).toEqual([errorOf(ErrorCode.RateLimited)]);
    expect(h.effects.rateLimited).toEqual(['join']);
  });

  it('answers a room id that cannot name a room with E001, counting it as a failed join', () => {
    const h = harness();
    for (const roomId of ['', 'short', `${ROOM_ID}x`, '{hush}:meta']) {
      h.actor.send({ type: 'JOIN_ROOM', data: { roomId, name: 'b', password: '' } });
    }
    expect(h.effects.joins).toEqual([]);
    expect(h.effects.sent).toEqual(Array(4).fill(errorOf(ErrorCode.RoomNotFound)));
    expect(h.effects.failedJoins).toBe(4);
  });

  it('closes with 1008 after too many invalid frames, and with 1003 when the last was text', () => {
    for (const [last, code] of [
      ['INVALID', CloseCode.PolicyViolation],
      ['TEXT_FRAME', CloseCode.UnsupportedData],
    ] as const) {
      const h = harness({ rate: tight('invalid', 2) });
      const invalid: ConnectionEvent = {
        type: 'INVALID',
        error: { code: ErrorCode.InvalidMessage, reason: 'undecodable', message: 'x' },
      };
      h.actor.send(invalid);
      h.actor.send({ type: 'TEXT_FRAME' });
      expect(h.effects.closes).toEqual([]);
      h.actor.send(last === 'INVALID' ? invalid : { type: 'TEXT_FRAME' });
      expect(h.effects.closes).toEqual([{ code, reason: expect.any(String) }]);
      expect(h.effects.sent).toHaveLength(3);
    }
  });
});
