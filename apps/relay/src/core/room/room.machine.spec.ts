/**
 * Model-based tests of the room machine. `xstate/graph` walks the room's states (subscribing,
 * open with up to two members and admissions in flight, unsubscribing, the final states); each
 * path is replayed on a live actor whose presence store and fan-out are spies answering when the
 * test says so (deferred promises), and an oracle checks every step's effects: what each member's
 * link received, what reached the presence store and the fan-out, and nothing else. Expiry,
 * transfers and admission races get focused tests below.
 */
import type { Member, ServerMessage } from '@hush/protocol';
import {
  ClientType,
  ErrorCode,
  Feature,
  NoticeKind,
  ServerType,
  decodeServerMessage,
  encode,
} from '@hush/protocol';
import { describe, expect, it } from 'vitest';
import type { ActorScope, AnyEventObject, SnapshotFrom } from 'xstate';
import { SimulatedClock, createActor, transition } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import type { Envelope, FanoutPort } from '../../cluster/fanout.port.js';
import type { PresencePort, RoomSettings, RoomSnapshot } from '../../cluster/presence.port.js';
import { AdmissionError } from '../../cluster/presence.port.js';
import type { AdmissionReply, AdmissionRequest, MemberLink } from './member-link.js';
import type { JoinEvent, RelayKind, RelayedMessage, RoomEvent, RoomIo } from './room.machine.js';
import { MAX_DELIVERED, roomMachine } from './room.machine.js';

type Snapshot = SnapshotFrom<typeof roomMachine>;

const ROOM_ID = 'R'.repeat(21);
const MAX_MEMBERS = 3;
const EXPIRY_WARNING_SECONDS = 5;
const T0 = 1_700_000_000_000;

// ---------------------------------------------------------------------------------------------
// Spies
// ---------------------------------------------------------------------------------------------

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface Admission {
  kind: 'create' | 'join';
  roomId: string;
  member: Member;
  settings?: RoomSettings;
  passwordHash?: string;
  maxMembers?: number;
  answer: Deferred<RoomSnapshot>;
}

interface Effects {
  admissions: Admission[];
  seatsReleased: { roomId: string; memberId: string }[];
  subscribes: { roomId: string; answer: Deferred<void> }[];
  unsubscribes: { roomId: string; answer: Deferred<void> }[];
  publishes: { roomId: string; envelope: Envelope }[];
  relayed: RelayKind[];
  faults: string[];
  /** Error codes the room reported sending to members. */
  errorsSent: string[];
  fanoutFailures: number;
}

function emptyEffects(): Effects {
  return {
    admissions: [],
    seatsReleased: [],
    subscribes: [],
    unsubscribes: [],
    publishes: [],
    relayed: [],
    faults: [],
    errorsSent: [],
    fanoutFailures: 0,
  };
}

function spyRoomIo(now: () => number, settle: 'never' | 'deferred' = 'deferred') {
  const effects = emptyEffects();
  let ids = 0;
  const pending = <T>(): Deferred<T> =>
    settle === 'never'
      ? {
          promise: new Promise<T>(() => undefined),
          resolve: () => undefined,
          reject: () => undefined,
        }
      : deferred<T>();
  const presence: PresencePort = {
    createRoom: (roomId, settings, member) => {
      const answer = pending<RoomSnapshot>();
      effects.admissions.push({ kind: 'create', roomId, settings, member, answer });
      return answer.promise;
    },
    joinRoom: (roomId, passwordHash, member, maxMembers) => {
      const answer = pending<RoomSnapshot>();
      effects.admissions.push({ kind: 'join', roomId, passwordHash, member, maxMembers, answer });
      return answer.promise;
    },
    leaveRoom: async (roomId, memberId) => {
      effects.seatsReleased.push({ roomId, memberId });
    },
    onEviction: () => undefined,
    onSeatLost: () => undefined,
    health: () => ({ ok: true }),
    close: async () => undefined,
  };
  const fanout: FanoutPort & { failing: boolean } = {
    replicaId: 'replica-a',
    failing: false,
    onEnvelope: () => undefined,
    subscribe: (roomId) => {
      const answer = pending<void>();
      effects.subscribes.push({ roomId, answer });
      return answer.promise;
    },
    unsubscribe: (roomId) => {
      const answer = pending<void>();
      effects.unsubscribes.push({ roomId, answer });
      return answer.promise;
    },
    publish: async (roomId, envelope) => {
      effects.publishes.push({ roomId, envelope });
      if (fanout.failing) throw new Error('cluster backend down');
    },
    health: () => ({ ok: true }),
    close: async () => undefined,
  };
  const io: RoomIo = {
    presence,
    fanout,
    maxMembers: MAX_MEMBERS,
    expiryWarningSeconds: EXPIRY_WARNING_SECONDS,
    observer: {
      relayed: (kind) => effects.relayed.push(kind),
      fanoutFailed: () => {
        effects.fanoutFailures++;
      },
      fault: (what) => effects.faults.push(what),
      error: (code) => effects.errorsSent.push(code),
    },
    now,
    newMemberId: () => `m${++ids}`,
    memberColor: (id) =>
      `#${id
        .padStart(6, '0')
        .slice(-6)
        .replace(/[^0-9a-f]/g, 'a')}`,
  };
  return { io, effects, fanout };
}

/** A connection as the room sees it: a link that records frames, a reply that records answers. */
interface SpyMember {
  name: string;
  link: MemberLink;
  reply: AdmissionReply;
  frames: ServerMessage[];
  closed: string[];
  accepted: { roomId: string; memberId: string }[];
  rejected: { code: string; message: string }[];
  /** Whether the connection still wants its seat when the admission comes through. */
  wantsSeat: boolean;
}

function spyMember(name: string, features: Feature[] = []): SpyMember {
  const member: SpyMember = {
    name,
    frames: [],
    closed: [],
    accepted: [],
    rejected: [],
    wantsSeat: true,
    link: {
      features: new Set(features),
      deliver: (frame) => {
        const decoded = decodeServerMessage(frame);
        if (!decoded.ok) throw new Error(`undecodable frame: ${decoded.error.message}`);
        member.frames.push(decoded.value);
      },
      roomClosed: (reason) => member.closed.push(reason),
    },
    reply: {
      accept: (admitted) => {
        if (!member.wantsSeat) return false;
        member.accepted.push(admitted);
        return true;
      },
      reject: (code, message) => member.rejected.push({ code, message }),
    },
  };
  return member;
}

function joinEvent(member: SpyMember, request: AdmissionRequest): JoinEvent {
  return { type: 'JOIN', request, link: member.link, reply: member.reply };
}

const createRequest = (name: string, expiresAt = 0): AdmissionRequest => ({
  kind: 'create',
  name,
  settings: { ephemeral: 30, expiresAt, passwordHash: '' },
});
const joinRequest = (name: string): AdmissionRequest => ({ kind: 'join', name, passwordHash: '' });

/** Lets promise callbacks (presence answers, fan-out, invoked actors) run to completion. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function harness() {
  const clock = new SimulatedClock();
  clock.set(T0);
  const spy = spyRoomIo(() => clock.now());
  const actor = createActor(roomMachine, { input: { roomId: ROOM_ID, io: spy.io }, clock });
  const errors: unknown[] = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  const connections: SpyMember[] = [];
  const byMemberId = new Map<string, SpyMember>();
  let answered = 0;
  let lastAnswered: Admission | undefined;
  return {
    ...spy,
    clock,
    actor,
    errors,
    connections,
    byMemberId,
    join(member: SpyMember, request: AdmissionRequest) {
      connections.push(member);
      actor.send(joinEvent(member, request));
    },
    /** The oldest admission not answered yet. */
    nextAdmission(): Admission {
      const admission = spy.effects.admissions[answered];
      if (admission === undefined) throw new Error('no admission in flight');
      return admission;
    },
    /**
     * Answers the oldest unanswered admission. The snapshot's other members are the room's local
     * members now, unless `others` says who the presence store saw when it read them.
     */
    async admit(outcome: 'seat' | Error, others?: Member[]) {
      const admission = spy.effects.admissions[answered++];
      if (admission === undefined) throw new Error('no admission in flight');
      lastAnswered = admission;
      if (outcome === 'seat') {
        const members =
          others ??
          [...actor.getSnapshot().context.members.values()].map(({ id, name, color }) => ({
            id,
            name,
            color,
          }));
        admission.answer.resolve({
          roomId: ROOM_ID,
          hasPassword: false,
          ephemeral: admission.settings?.ephemeral ?? 30,
          expiresAt: admission.settings?.expiresAt ?? 0,
          members: [...members, admission.member],
        });
      } else {
        admission.answer.reject(outcome);
      }
      await flush();
      return admission;
    },
    get lastAnswered(): Admission | undefined {
      return lastAnswered;
    },
    member(id: string): SpyMember {
      const found = byMemberId.get(id);
      if (found === undefined) throw new Error(`no member ${id}`);
      return found;
    },
    advance(ms: number) {
      for (let i = 0; i < ms; i++) clock.increment(1);
    },
  };
}
type Harness = ReturnType<typeof harness>;

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

const SUBSCRIBE_ID = '0.room.subscribing';
const UNSUBSCRIBE_ID = '0.room.unsubscribing';
const DONE = (id: string) => `xstate.done.actor.${id}`;
const ERROR = (id: string) => `xstate.error.actor.${id}`;
const MODEL_MAX_SEATS = 2;
const TRANSFER = 'tx-1';

function stateName(snapshot: Snapshot): string {
  return typeof snapshot.value === 'string' ? snapshot.value : JSON.stringify(snapshot.value);
}

function serialize(snapshot: Snapshot): string {
  const { context } = snapshot;
  return JSON.stringify({
    state: stateName(snapshot),
    members: context.members.size,
    admitting: context.admitting,
    queued: context.queued.length,
    transfers: context.transfers.size,
    delivered: context.delivered.length > 0,
    settings: context.settings !== undefined,
  });
}

const traversalMember = (name: string) => spyMember(name);
const message = (type: RelayedMessage['type'], data: Record<string, unknown>) =>
  ({ type, data }) as RelayedMessage;

/** The events the model offers in a state (bounded to two seats). */
function roomEvents(snapshot: Snapshot): RoomEvent[] {
  const { context } = snapshot;
  const state = stateName(snapshot);
  const ids = [...context.members.keys()];
  const events: RoomEvent[] = [];
  const seats = context.members.size + context.admitting + context.queued.length;
  if (state === 'subscribing' || state === 'open') {
    if (seats < MODEL_MAX_SEATS) {
      const fresh = seats === 0 && context.settings === undefined;
      events.push(
        joinEvent(
          traversalMember(fresh ? 'creator' : 'joiner'),
          fresh ? createRequest('creator') : joinRequest('joiner'),
        ),
      );
    }
  }
  if (state === 'subscribing') {
    events.push({ type: DONE(SUBSCRIBE_ID) } as unknown as RoomEvent);
    events.push({ type: ERROR(SUBSCRIBE_ID), error: new Error('down') } as unknown as RoomEvent);
  }
  if (state === 'unsubscribing') {
    events.push({ type: DONE(UNSUBSCRIBE_ID) } as unknown as RoomEvent);
    events.push({ type: ERROR(UNSUBSCRIBE_ID), error: new Error('down') } as unknown as RoomEvent);
  }
  if (state !== 'open') return events;
  if (context.admitting > 0) {
    const free = ['m1', 'm2', 'm3'].find((id) => !context.members.has(id)) ?? 'm9';
    const member = { id: free, name: 'seated', color: '#000000' };
    const snapshotOf = {
      roomId: ROOM_ID,
      hasPassword: false,
      ephemeral: 30,
      expiresAt: 0,
      members: [member],
    };
    const stays = traversalMember('stays');
    events.push({
      type: 'ADMITTED',
      join: joinEvent(stays, joinRequest(stays.name)),
      member,
      snapshot: snapshotOf,
    });
    // The store admitted a member whose connection no longer wants the seat.
    events.push({ type: 'ABANDONED', member });
    events.push({
      type: 'ADMIT_FAILED',
      join: joinEvent(traversalMember('refused'), joinRequest('refused')),
      code: ErrorCode.RoomNotFound,
      message: 'room not found',
    });
  }
  const [first, second] = ids;
  if (first !== undefined) {
    events.push({
      type: 'RELAY',
      memberId: first,
      message: message(ClientType.SendMessage, { iv: 'iv', ciphertext: 'ct' }),
    });
    if (context.transfers.size === 0) {
      events.push({
        type: 'RELAY',
        memberId: first,
        message: message(ClientType.SendFileMeta, {
          transferId: TRANSFER,
          iv: 'iv',
          ciphertext: 'm',
        }),
      });
    }
    const [sending] = context.transfers.get(TRANSFER) ?? [];
    const owner = sending ?? context.delivered.find((d) => d.transferId === TRANSFER)?.sender;
    if (sending !== undefined) {
      events.push({
        type: 'RELAY',
        memberId: sending,
        message: message(ClientType.SendFileComplete, { transferId: TRANSFER }),
      });
    }
    if (owner !== undefined) {
      // Receivers acknowledge during a transfer and, as Arthas clients do, after its Complete.
      const other = ids.find((id) => id !== owner);
      if (other !== undefined) {
        events.push({
          type: 'RELAY',
          memberId: other,
          message: message(ClientType.SendFileAck, { transferId: TRANSFER }),
        });
      }
    }
    events.push({ type: 'LEAVE', memberId: first });
    events.push({
      type: 'REMOTE',
      envelope: { kind: 'broadcast', origin: 'replica-b', frame: encode(remoteFrame) },
    });
  }
  if (second !== undefined) events.push({ type: 'LEAVE', memberId: second });
  for (const event of events) {
    if (event.type === 'RELAY' || event.type === 'LEAVE') at(event, snapshot, event.memberId);
  }
  return events;
}

const remoteFrame = { type: ServerType.MemberLeft, data: { id: 'elsewhere' } } as const;

function describeEvent(event: RoomEvent): string {
  const type = event.type as string;
  switch (event.type) {
    case 'JOIN':
      return `JOIN(${event.request.kind})`;
    case 'ABANDONED':
      return 'ADMITTED(connection gone)';
    case 'RELAY':
      return `RELAY(0x${event.message.type.toString(16)} from ${event.memberId})`;
    case 'LEAVE':
      return `LEAVE(${event.memberId})`;
    default:
      return type
        .replace(DONE(SUBSCRIBE_ID), 'subscribed')
        .replace(ERROR(SUBSCRIBE_ID), 'subscribe failed')
        .replace(DONE(UNSUBSCRIBE_ID), 'unsubscribed')
        .replace(ERROR(UNSUBSCRIBE_ID), 'unsubscribe failed');
  }
}

/**
 * The room changes its context in place (see RoomContext): a snapshot is a view of the live room.
 * A copy keeps a state apart from what later events do to the room.
 */
function fork(snapshot: Snapshot): Snapshot {
  const { context } = snapshot;
  return {
    ...snapshot,
    context: {
      ...context,
      members: new Map(context.members),
      queued: [...context.queued],
      churn: [...context.churn],
      transfers: new Map([...context.transfers].map(([id, senders]) => [id, new Set(senders)])),
      delivered: [...context.delivered],
    },
  };
}

/**
 * The room machine as the model walks it: every step starts from a fork of its state and runs its
 * actions, which are what change the room (a pure transition would only list them).
 */
const modelLogic: typeof roomMachine = Object.assign(
  Object.create(roomMachine) as typeof roomMachine,
  {
    transition: (
      snapshot: Snapshot,
      event: AnyEventObject,
      scope: ActorScope<Snapshot, RoomEvent>,
    ) =>
      roomMachine.transition(fork(snapshot), event as RoomEvent, {
        ...scope,
        actionExecutor: (action) => action.exec?.(action.info, action.params),
      }),
  },
);

const traversal = spyRoomIo(() => T0, 'never');
const modelOptions = {
  input: { roomId: ROOM_ID, io: traversal.io },
  events: (snapshot: Snapshot) => roomEvents(snapshot),
  serializeState: (snapshot: Snapshot) => serialize(snapshot),
  serializeEvent: (event: RoomEvent) => describeEvent(event) as never,
};

/**
 * Model events name members by their position among the seated (ids differ between the model
 * and the live actor; seating order does not).
 */
const positions = new WeakMap<RoomEvent, number>();
function at<E extends RoomEvent>(event: E, snapshot: Snapshot, memberId: string): E {
  positions.set(event, [...snapshot.context.members.keys()].indexOf(memberId));
  return event;
}
function liveId(event: RoomEvent, live: Snapshot): string {
  const index = positions.get(event) ?? -1;
  const id = [...live.context.members.keys()][index];
  if (id === undefined) throw new Error(`no live member at ${index}`);
  return id;
}

/** Drives one model event into the live actor the way its collaborators would produce it. */
async function execute(h: Harness, event: RoomEvent): Promise<void> {
  const live = h.actor.getSnapshot();
  switch (event.type as string) {
    case 'JOIN': {
      const { request } = event as JoinEvent;
      const name = `${request.name}${h.connections.length}`;
      h.join(spyMember(name), { ...request, name });
      return;
    }
    case 'ADMITTED':
    case 'ABANDONED': {
      const admission = h.nextAdmission();
      const who = h.connections.find((c) => c.name === admission.member.name) as SpyMember;
      who.wantsSeat = event.type === 'ADMITTED';
      await h.admit('seat');
      if (who.wantsSeat) h.byMemberId.set(admission.member.id, who);
      return;
    }
    case 'ADMIT_FAILED':
      await h.admit(new AdmissionError(ErrorCode.RoomNotFound, 'room not found'));
      return;
    case 'RELAY': {
      const relay = event as Extract<RoomEvent, { type: 'RELAY' }>;
      h.actor.send({ ...relay, memberId: liveId(relay, live) });
      await flush();
      return;
    }
    case 'LEAVE': {
      const leave = event as Extract<RoomEvent, { type: 'LEAVE' }>;
      h.actor.send({ type: 'LEAVE', memberId: liveId(leave, live) });
      await flush();
      return;
    }
    case DONE(SUBSCRIBE_ID):
      h.effects.subscribes.at(-1)?.answer.resolve();
      await flush();
      return;
    case ERROR(SUBSCRIBE_ID):
      h.effects.subscribes.at(-1)?.answer.reject(new Error('down'));
      await flush();
      return;
    case DONE(UNSUBSCRIBE_ID):
      h.effects.unsubscribes.at(-1)?.answer.resolve();
      await flush();
      return;
    case ERROR(UNSUBSCRIBE_ID):
      h.effects.unsubscribes.at(-1)?.answer.reject(new Error('down'));
      await flush();
      return;
    default:
      h.actor.send(event);
      await flush();
  }
}

// ---------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------

interface Observed {
  effects: Effects;
  /** Frames each connection received during the step, by connection name. */
  frames: Map<string, ServerMessage[]>;
  rejected: Map<string, { code: string; message: string }[]>;
  closed: Map<string, string[]>;
}

function observe(h: Harness): Observed {
  const copy = (e: Effects): Effects => ({
    admissions: [...e.admissions],
    seatsReleased: [...e.seatsReleased],
    subscribes: [...e.subscribes],
    unsubscribes: [...e.unsubscribes],
    publishes: [...e.publishes],
    relayed: [...e.relayed],
    faults: [...e.faults],
    errorsSent: [...e.errorsSent],
    fanoutFailures: e.fanoutFailures,
  });
  return {
    effects: copy(h.effects),
    frames: new Map(h.connections.map((c) => [c.name, [...c.frames]])),
    rejected: new Map(h.connections.map((c) => [c.name, [...c.rejected]])),
    closed: new Map(h.connections.map((c) => [c.name, [...c.closed]])),
  };
}

function since(before: Observed, after: Observed): Observed {
  const slice = <T>(b: readonly T[] | undefined, a: readonly T[] | undefined) =>
    (a ?? []).slice(b?.length ?? 0);
  const e = after.effects;
  const b = before.effects;
  return {
    effects: {
      admissions: slice(b.admissions, e.admissions),
      seatsReleased: slice(b.seatsReleased, e.seatsReleased),
      subscribes: slice(b.subscribes, e.subscribes),
      unsubscribes: slice(b.unsubscribes, e.unsubscribes),
      publishes: slice(b.publishes, e.publishes),
      relayed: slice(b.relayed, e.relayed),
      faults: slice(b.faults, e.faults),
      errorsSent: slice(b.errorsSent, e.errorsSent),
      fanoutFailures: e.fanoutFailures - b.fanoutFailures,
    },
    frames: new Map([...after.frames].map(([k, v]) => [k, slice(before.frames.get(k), v)])),
    rejected: new Map([...after.rejected].map(([k, v]) => [k, slice(before.rejected.get(k), v)])),
    closed: new Map([...after.closed].map(([k, v]) => [k, slice(before.closed.get(k), v)])),
  };
}

const decodeFrame = (frame: Uint8Array) => {
  const decoded = decodeServerMessage(frame);
  if (!decoded.ok) throw new Error('undecodable published frame');
  return decoded.value;
};

/** Asserts what one step did. `expected.frames` lists only connections that got something. */
function expectStep(
  d: Observed,
  expected: {
    frames?: Record<string, unknown[]>;
    rejected?: Record<string, unknown[]>;
    effects?: Partial<Record<keyof Effects, unknown>>;
  },
): void {
  const nonEmpty = <T>(m: Map<string, T[]>) =>
    Object.fromEntries([...m].filter(([, v]) => v.length > 0));
  expect(nonEmpty(d.frames)).toEqual(expected.frames ?? {});
  expect(nonEmpty(d.rejected)).toEqual(expected.rejected ?? {});
  expect(nonEmpty(d.closed)).toEqual({});
  expect({
    ...d.effects,
    admissions: d.effects.admissions.map((a) => ({ ...a, answer: undefined })),
    publishes: d.effects.publishes.map(({ roomId, envelope }) => ({
      roomId,
      envelope: { ...envelope, frame: decodeFrame(envelope.frame) },
    })),
  }).toEqual({
    admissions: [],
    seatsReleased: [],
    subscribes: [],
    unsubscribes: [],
    publishes: [],
    relayed: [],
    faults: [],
    errorsSent: [],
    fanoutFailures: 0,
    ...expected.effects,
  });
}

function expectEffects(
  h: Harness,
  event: RoomEvent,
  before: Snapshot,
  after: Snapshot,
  d: Observed,
): void {
  const state = stateName(before);
  const { context } = before;
  const others = (exclude: string | undefined) =>
    [...context.members.keys()].filter((id) => id !== exclude).map((id) => h.member(id).name);
  const unsubscribed =
    stateName(after) === 'unsubscribing' && state !== 'unsubscribing'
      ? [{ roomId: ROOM_ID, answer: expect.anything() }]
      : [];
  const now = h.clock.now();
  const published = (frame: unknown, exclude?: string, seq?: number) => ({
    roomId: ROOM_ID,
    envelope: {
      kind: 'broadcast',
      origin: 'replica-a',
      frame,
      ...(exclude === undefined ? {} : { exclude }),
      ...(seq === undefined ? {} : { seq }),
    },
  });

  switch (event.type as string) {
    case 'JOIN': {
      const joiner = h.connections.at(-1) as SpyMember;
      if (state === 'subscribing') {
        expect(after.context.queued).toHaveLength(context.queued.length + 1);
        expectStep(d, {});
      } else {
        const { request } = event as JoinEvent;
        const member = {
          id: expect.stringMatching(/^m\d+$/),
          name: joiner.name,
          color: expect.stringMatching(/^#/),
        };
        expectStep(d, {
          effects: {
            admissions: [
              request.kind === 'create'
                ? {
                    kind: 'create',
                    roomId: ROOM_ID,
                    settings: request.settings,
                    member,
                    answer: undefined,
                  }
                : {
                    kind: 'join',
                    roomId: ROOM_ID,
                    passwordHash: '',
                    member,
                    maxMembers: MAX_MEMBERS,
                    answer: undefined,
                  },
            ],
          },
        });
        expect(after.context.admitting).toBe(context.admitting + 1);
      }
      return;
    }
    case DONE(SUBSCRIBE_ID): {
      const queued = context.queued.map((join) => ({
        kind: join.request.kind,
        roomId: ROOM_ID,
        member: expect.objectContaining({ name: join.request.name }),
      }));
      expect(d.effects.admissions).toEqual(queued.map((q) => expect.objectContaining(q)));
      expect(d.effects.unsubscribes).toEqual(unsubscribed);
      expect(after.context.queued).toEqual([]);
      expect(after.context.admitting).toBe(queued.length);
      return;
    }
    case ERROR(SUBSCRIBE_ID): {
      const rejected = Object.fromEntries(
        context.queued.map((join) => [
          h.connections.find((c) => c.reply === join.reply)?.name,
          [{ code: ErrorCode.Unavailable, message: expect.any(String) }],
        ]),
      );
      expectStep(d, { rejected });
      expect(stateName(after)).toBe('failed');
      expect(after.status).toBe('done');
      return;
    }
    case 'ABANDONED': {
      expect([...after.context.members.keys()].filter((id) => !context.members.has(id))).toEqual(
        [],
      );
      expectStep(d, {
        effects: {
          seatsReleased: [{ roomId: ROOM_ID, memberId: h.lastAnswered?.member.id }],
          unsubscribes: unsubscribed,
        },
      });
      return;
    }
    case 'ADMITTED': {
      const admitted = d;
      const seated = [...after.context.members.keys()].find((id) => !context.members.has(id));
      const member = after.context.members.get(seated as string) as Member;
      const joiner = h.member(member.id);
      const { id, name, color } = member;
      const createdFirst =
        h.effects.admissions.find((a) => a.member.id === id)?.kind === 'create'
          ? [{ type: ServerType.RoomCreated, data: { roomId: ROOM_ID, expiresAt: 0 } }]
          : [];
      const frames: Record<string, unknown[]> = {
        [joiner.name]: [
          ...createdFirst,
          {
            type: ServerType.RoomJoined,
            data: {
              roomId: ROOM_ID,
              members: [
                ...[...context.members.values()].map((m) => ({
                  id: m.id,
                  name: m.name,
                  color: m.color,
                })),
                { id, name, color },
              ],
              hasPassword: false,
              ephemeral: 30,
              expiresAt: 0,
            },
          },
        ],
      };
      for (const other of others(undefined)) {
        frames[other] = [{ type: ServerType.MemberJoined, data: { id, name, color } }];
      }
      expectStep(admitted, {
        frames,
        effects: {
          publishes: [published({ type: ServerType.MemberJoined, data: { id, name, color } }, id)],
        },
      });
      expect(joiner.accepted.at(-1)).toEqual({ roomId: ROOM_ID, memberId: id });
      return;
    }
    case 'ADMIT_FAILED': {
      expect(Object.values(Object.fromEntries(d.rejected)).flat()).toEqual([
        { code: ErrorCode.RoomNotFound, message: 'room not found' },
      ]);
      expect(d.effects.unsubscribes).toEqual(unsubscribed);
      expect(after.context.admitting).toBe(context.admitting - 1);
      return;
    }
    case 'RELAY': {
      const relay = event as Extract<RoomEvent, { type: 'RELAY' }>;
      const sender = liveSender(before, relay);
      const from = { senderId: sender.id, senderName: sender.name, t: now };
      const data = relay.message.data;
      switch (relay.message.type) {
        case ClientType.SendMessage:
        case ClientType.SendFileMeta:
        case ClientType.SendFileComplete: {
          const frame =
            relay.message.type === ClientType.SendMessage
              ? { type: ServerType.RelayMessage, data: { ...from, ...data } }
              : relay.message.type === ClientType.SendFileMeta
                ? { type: ServerType.RelayFileMeta, data: { ...from, ...data } }
                : { type: ServerType.RelayFileComplete, data: { senderId: sender.id, ...data } };
          // Chat messages count in their sender's sequence (feature gaps), carried beside the frame.
          // The count lives on the member (mutable, shared by both snapshots); a focused test pins
          // the numbering itself.
          const seq =
            relay.message.type === ClientType.SendMessage
              ? after.context.members.get(sender.id)?.sent
              : undefined;
          expectStep(d, {
            frames: Object.fromEntries(others(sender.id).map((n) => [n, [frame]])),
            effects: {
              publishes: [published(frame, sender.id, seq)],
              relayed: [relay.message.type === ClientType.SendMessage ? 'message' : 'file'],
            },
          });
          const transfers = after.context.transfers;
          if (relay.message.type === ClientType.SendFileMeta)
            expect([...(transfers.get(TRANSFER) ?? [])]).toEqual([sender.id]);
          if (relay.message.type === ClientType.SendFileComplete) {
            expect(transfers.has(TRANSFER)).toBe(false);
            expect(after.context.delivered).toContainEqual({
              transferId: TRANSFER,
              sender: sender.id,
            });
          }
          return;
        }
        case ClientType.SendFileAck: {
          const ownerId =
            [...(context.transfers.get(TRANSFER) ?? [])][0] ??
            context.delivered.find((d) => d.transferId === TRANSFER)?.sender;
          const owner = h.member(ownerId as string);
          expectStep(d, {
            frames: {
              [owner.name]: [
                {
                  type: ServerType.RelayFileAck,
                  data: { receiverId: sender.id, transferId: TRANSFER },
                },
              ],
            },
            effects: { relayed: ['file'] },
          });
          return;
        }
        default:
          throw new Error('no oracle for this relay');
      }
    }
    case 'LEAVE': {
      const leave = event as Extract<RoomEvent, { type: 'LEAVE' }>;
      const id = leave.memberId;
      const cancels = [...context.transfers]
        .filter(([, senders]) => senders.has(id))
        .map(([transferId]) => ({
          type: ServerType.RelayFileCancel,
          data: { senderId: id, transferId },
        }));
      const left = { type: ServerType.MemberLeft, data: { id } };
      expectStep(d, {
        frames: Object.fromEntries(others(id).map((n) => [n, [...cancels, left]])),
        effects: {
          publishes: [...cancels, left].map((frame) => published(frame)),
          seatsReleased: [{ roomId: ROOM_ID, memberId: id }],
          unsubscribes: unsubscribed,
        },
      });
      expect(after.context.members.has(id)).toBe(false);
      expect([...after.context.transfers.values()].some((senders) => senders.has(id))).toBe(false);
      return;
    }
    case 'REMOTE':
      expectStep(d, {
        frames: Object.fromEntries(others(undefined).map((n) => [n, [remoteFrame]])),
      });
      return;
    case DONE(UNSUBSCRIBE_ID):
      expectStep(d, {});
      expect(stateName(after)).toBe('closed');
      expect(after.status).toBe('done');
      return;
    case ERROR(UNSUBSCRIBE_ID):
      expectStep(d, { effects: { faults: ['fanout unsubscribe'] } });
      expect(stateName(after)).toBe('closed');
      return;
    default:
      throw new Error(`no oracle for ${String(event.type)}`);
  }
}

function liveSender(before: Snapshot, relay: Extract<RoomEvent, { type: 'RELAY' }>): Member {
  const member = before.context.members.get(relay.memberId);
  if (member === undefined) throw new Error('relay from a non-member');
  return { id: member.id, name: member.name, color: member.color };
}

/** Replays model steps on a fresh harness, checking each step's effects and the model state. */
async function replay(steps: readonly { event: RoomEvent; state: Snapshot }[]): Promise<Harness> {
  const h = harness();
  expect(h.effects.subscribes).toEqual([{ roomId: ROOM_ID, answer: expect.anything() }]);
  for (const step of steps) {
    const before = fork(h.actor.getSnapshot());
    const observed = observe(h);
    await execute(h, step.event);
    const after = h.actor.getSnapshot();
    const liveEvent = toLive(step.event, before);
    expectEffects(h, liveEvent, before, after, since(observed, observe(h)));
    expect(serialize(after)).toBe(serialize(step.state));
  }
  expect(h.errors).toEqual([]);
  return h;
}

/** The model event with member ids translated to the live actor's. */
function toLive(event: RoomEvent, live: Snapshot): RoomEvent {
  if (event.type === 'RELAY' || event.type === 'LEAVE') {
    return { ...event, memberId: liveId(event, live) };
  }
  return event;
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

const shortest = getShortestPaths(modelLogic, modelOptions);

function describeState(snapshot: Snapshot): string {
  const s = JSON.parse(serialize(snapshot)) as Record<string, unknown>;
  const parts = [s['state'] as string];
  for (const key of ['members', 'admitting', 'queued', 'transfers'] as const) {
    if (s[key] !== 0) parts.push(`${key} ${String(s[key])}`);
  }
  return parts.join(', ');
}

describe('room machine, model-based', () => {
  it('reaches subscribing, open, unsubscribing and both final states', () => {
    const states = new Set(shortest.map((p) => stateName(p.state)));
    expect(states).toEqual(new Set(['subscribing', 'open', 'unsubscribing', 'failed', 'closed']));
    expect(shortest.length).toBeGreaterThan(15);
  });

  describe.each(shortest.map((p) => [describeState(p.state), p] as const))(
    'from %s',
    (_name, path) => {
      it('the shortest path there has exactly the expected effects at every step', async () => {
        await replay(path.steps.slice(1));
      });

      // Replays are CPU-bound; on a loaded 2-core machine some take seconds.
      it('every event offered there has exactly its effects', async () => {
        for (const event of roomEvents(path.state)) {
          const [next] = transition(modelLogic, path.state, event);
          await replay([...path.steps.slice(1), { event, state: next }]);
        }
      }, 60_000);
    },
  );

  it('replays every simple path up to two seats with the expected effects', async () => {
    const simple = getSimplePaths(modelLogic, modelOptions);
    expect(simple.length).toBeGreaterThan(shortest.length);
    for (const path of simple) await replay(path.steps.slice(1));
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// Focused behaviours
// ---------------------------------------------------------------------------------------------

/** A subscribed room with `names` seated in order (the first creates it with `expiresAt`). */
async function seated(
  names: string[],
  options: { expiresAt?: number; features?: Feature[][] } = {},
) {
  const h = harness();
  const members: SpyMember[] = [];
  for (const [i, name] of names.entries()) {
    const member = spyMember(name, options.features?.[i] ?? []);
    h.join(member, i === 0 ? createRequest(name, options.expiresAt ?? 0) : joinRequest(name));
    // The directory starts a room actor for its first join, which waits for the subscription.
    if (i === 0) h.effects.subscribes[0]?.answer.resolve();
    await flush();
    const admission = await h.admit('seat');
    h.byMemberId.set(admission.member.id, member);
    members.push(member);
  }
  const ids = [...h.actor.getSnapshot().context.members.keys()];
  return { h, members, ids };
}

const types = (member: SpyMember) => member.frames.map((f) => f.type);

describe('room machine: admission races', () => {
  it('gives the seat back through presence.leaveRoom when the connection is gone before ADMITTED', async () => {
    const { h, members } = await seated(['alice']);
    const late = spyMember('late');
    late.wantsSeat = false;
    h.join(late, joinRequest('late'));
    await flush();
    const admission = await h.admit('seat');
    expect(h.effects.seatsReleased).toEqual([{ roomId: ROOM_ID, memberId: admission.member.id }]);
    expect(late.frames).toEqual([]);
    expect(types(members[0] as SpyMember)).toEqual([ServerType.RoomCreated, ServerType.RoomJoined]);
    expect(h.actor.getSnapshot().context.members.size).toBe(1);
  });

  it('releases a created room whose creator is gone, and winds the actor down', async () => {
    const h = harness();
    const creator = spyMember('creator');
    creator.wantsSeat = false;
    h.join(creator, createRequest('creator'));
    h.effects.subscribes[0]?.answer.resolve();
    await flush();
    const admission = await h.admit('seat');
    expect(h.effects.seatsReleased).toEqual([{ roomId: ROOM_ID, memberId: admission.member.id }]);
    expect(stateName(h.actor.getSnapshot())).toBe('unsubscribing');
    h.effects.unsubscribes[0]?.answer.resolve();
    await flush();
    expect(h.actor.getSnapshot().status).toBe('done');
  });

  it('admits joins queued while subscribing, in arrival order, once subscribed', async () => {
    const h = harness();
    const [a, b] = [spyMember('a'), spyMember('b')];
    h.join(a, createRequest('a'));
    h.join(b, joinRequest('b'));
    expect(h.effects.admissions).toEqual([]);
    h.effects.subscribes[0]?.answer.resolve();
    await flush();
    expect(h.effects.admissions.map((x) => [x.kind, x.member.name])).toEqual([
      ['create', 'a'],
      ['join', 'b'],
    ]);
  });

  it('refuses queued joins with E024 when the fan-out subscription fails', async () => {
    const h = harness();
    const a = spyMember('a');
    h.join(a, createRequest('a'));
    h.effects.subscribes[0]?.answer.reject(new Error('redis down'));
    await flush();
    expect(a.rejected).toEqual([{ code: ErrorCode.Unavailable, message: expect.any(String) }]);
    expect(h.effects.admissions).toEqual([]);
    expect(h.actor.getSnapshot().status).toBe('done');
  });

  it('passes admission refusals from the presence store through, and a fault as E024', async () => {
    const { h } = await seated(['alice']);
    const [full, broken] = [spyMember('full'), spyMember('broken')];
    h.join(full, joinRequest('full'));
    h.join(broken, joinRequest('broken'));
    await flush();
    await h.admit(new AdmissionError(ErrorCode.RoomFull, 'room full'));
    await h.admit(new Error('connection reset'));
    expect(full.rejected).toEqual([{ code: ErrorCode.RoomFull, message: 'room full' }]);
    expect(broken.rejected).toEqual([{ code: ErrorCode.Unavailable, message: expect.any(String) }]);
  });

  it('tells joiners that negotiated self-id their member id, and nobody else', async () => {
    const { h, members, ids } = await seated(['alice', 'bob'], {
      features: [[Feature.SelfId], []],
    });
    const joined = (m: SpyMember) => m.frames.find((f) => f.type === ServerType.RoomJoined);
    expect(joined(members[0] as SpyMember)?.data).toMatchObject({ selfId: ids[0] });
    expect(joined(members[1] as SpyMember)?.data).not.toHaveProperty('selfId');
    expect(h.errors).toEqual([]);
  });
});

describe('room machine: sequence numbers (feature gaps)', () => {
  const chat = (ciphertext: string) => message(ClientType.SendMessage, { iv: 'iv', ciphertext });
  const react = () => message(ClientType.SendReaction, { iv: 'iv', ciphertext: 'r' });

  it("numbers each sender's messages and reactions for members that negotiated gaps, and nobody else", async () => {
    const { h, members, ids } = await seated(['alice', 'bob', 'carol'], {
      features: [[], [Feature.Gaps], []],
    });
    const [, bob, carol] = members as [SpyMember, SpyMember, SpyMember];
    const [a, b] = ids as [string, string, string];
    h.actor.send({ type: 'RELAY', memberId: a, message: chat('one') });
    h.actor.send({ type: 'RELAY', memberId: a, message: react() });
    h.actor.send({
      type: 'RELAY',
      memberId: a,
      message: message(ClientType.Typing, { typing: true }),
    });
    h.actor.send({ type: 'RELAY', memberId: a, message: chat('two') });
    h.actor.send({ type: 'RELAY', memberId: b, message: chat('from bob') });
    await flush();
    const seqs = (m: SpyMember) =>
      m.frames.flatMap((f) =>
        f.type === ServerType.RelayMessage || f.type === ServerType.RelayReaction
          ? [`${f.data.senderId === a ? 'a' : 'b'}${String(f.data.seq)}`]
          : [],
      );
    expect(seqs(bob)).toEqual(['a1', 'a2', 'a3']);
    expect(seqs(carol)).toEqual(['aundefined', 'aundefined', 'aundefined', 'bundefined']);
    // Other replicas get the number beside the one frame everyone else gets.
    const envelopes = h.effects.publishes
      .map((p) => p.envelope)
      .filter((e) => e.kind === 'broadcast');
    expect(envelopes.slice(-4).map((e) => (e.kind === 'broadcast' ? e.seq : 'other'))).toEqual([
      2,
      undefined,
      3,
      1,
    ]);
  });

  it('adds the number to frames from other replicas for members that negotiated gaps only', async () => {
    const { h, members } = await seated(['alice', 'bob'], { features: [[Feature.Gaps], []] });
    const [alice, bob] = members as [SpyMember, SpyMember];
    const frame = encode({
      type: ServerType.RelayMessage,
      data: { senderId: 'remote', senderName: 'zed', t: 1, iv: 'iv', ciphertext: 'c' },
    });
    h.actor.send({
      type: 'REMOTE',
      envelope: { kind: 'broadcast', origin: 'replica-b', frame, exclude: 'remote', seq: 7 },
    });
    await flush();
    expect(alice.frames.at(-1)).toMatchObject({ type: ServerType.RelayMessage, data: { seq: 7 } });
    expect(bob.frames.at(-1)?.data).not.toHaveProperty('seq');
  });
});

describe('room machine: where sequences stand (feature gaps)', () => {
  const chat = () => message(ClientType.SendMessage, { iv: 'iv', ciphertext: 'c' });
  const notices = (m: SpyMember) =>
    m.frames.flatMap((f) =>
      f.type === ServerType.Notice && f.data.kind === NoticeKind.Sequences
        ? [f.data.sequences]
        : [],
    );

  it('tells a joiner with gaps, right after RoomJoined, what each member here has sent, zeros too', async () => {
    const { h, ids } = await seated(['alice', 'bob']);
    const [a, b] = ids as [string, string];
    h.actor.send({ type: 'RELAY', memberId: a, message: chat() });
    h.actor.send({ type: 'RELAY', memberId: a, message: chat() });
    const carol = spyMember('carol', [Feature.Gaps]);
    h.join(carol, joinRequest('carol'));
    await flush();
    const admission = await h.admit('seat');
    expect(types(carol)).toEqual([ServerType.RoomJoined, ServerType.Notice]);
    expect(notices(carol)).toEqual([{ [a]: 2, [b]: 0 }]);
    // Other replicas are asked to say the same of their members, in the MemberJoined envelope.
    expect(h.effects.publishes.at(-1)?.envelope).toMatchObject({
      kind: 'broadcast',
      exclude: admission.member.id,
      sequencesFor: admission.member.id,
    });
  });

  it('asks nothing for a joiner without gaps, and tells it nothing', async () => {
    const { h, members } = await seated(['alice', 'bob'], { features: [[Feature.Gaps], []] });
    const [, bob] = members as [SpyMember, SpyMember];
    expect(types(bob)).toEqual([ServerType.RoomJoined]);
    expect(h.effects.publishes.at(-1)?.envelope).not.toHaveProperty('sequencesFor');
  });

  it("answers another replica's joiner with its own members' sequences, after their messages", async () => {
    const { h, ids } = await seated(['alice']);
    const [a] = ids as [string];
    h.actor.send({ type: 'RELAY', memberId: a, message: chat() });
    await flush();
    const joined = encode({
      type: ServerType.MemberJoined,
      data: { id: 'far-away', name: 'zed', color: '#112233' },
    });
    h.actor.send({
      type: 'REMOTE',
      envelope: {
        kind: 'broadcast',
        origin: 'replica-b',
        frame: joined,
        exclude: 'far-away',
        sequencesFor: 'far-away',
      },
    });
    await flush();
    const [relayed, answer] = h.effects.publishes.slice(-2).map((p) => p.envelope);
    expect(relayed).toMatchObject({ kind: 'broadcast', seq: 1 });
    expect(answer).toMatchObject({ kind: 'to-members', memberIds: ['far-away'] });
    expect(decodeServerMessage(answer!.frame)).toEqual({
      ok: true,
      value: {
        type: ServerType.Notice,
        data: { kind: NoticeKind.Sequences, msg: expect.any(String), sequences: { [a]: 1 } },
      },
    });
  });
});

describe('room machine: joins and leaves around a snapshot', () => {
  const ZED = { id: 'zed-remote', name: 'zed', color: '#123456' };
  const remote = (message: ServerMessage, exclude: string): RoomEvent => ({
    type: 'REMOTE',
    envelope: { kind: 'broadcast', origin: 'replica-b', frame: encode(message), exclude },
  });
  const roster = (m: SpyMember) =>
    m.frames.flatMap((f) =>
      f.type === ServerType.MemberJoined
        ? [`+${f.data.name}`]
        : f.type === ServerType.MemberLeft
          ? [`-${f.data.id}`]
          : [],
    );
  const plain = ({ id, name, color }: Member): Member => ({ id, name, color });

  it('tells a joiner of a join on another replica that its snapshot, read earlier, missed', async () => {
    const { h, ids } = await seated(['alice']);
    const alice = h.actor.getSnapshot().context.members.get(ids[0] as string) as Member;
    const carol = spyMember('carol');
    h.join(carol, joinRequest('carol'));
    await flush();
    // Zed's admission on replica B came after carol's snapshot; its MemberJoined arrives before
    // carol's admission is answered here, while carol is not a member yet.
    h.actor.send(remote({ type: ServerType.MemberJoined, data: ZED }, ZED.id));
    await flush();
    await h.admit('seat', [plain(alice)]);
    expect(types(carol)).toEqual([ServerType.RoomJoined, ServerType.MemberJoined]);
    expect(roster(carol)).toEqual(['+zed']);
  });

  it('tells a joiner of a leave its snapshot, read earlier, did not see', async () => {
    const { h, ids } = await seated(['alice']);
    const alice = h.actor.getSnapshot().context.members.get(ids[0] as string) as Member;
    const carol = spyMember('carol');
    h.join(carol, joinRequest('carol'));
    await flush();
    h.actor.send(remote({ type: ServerType.MemberLeft, data: { id: ZED.id } }, ZED.id));
    h.actor.send({ type: 'LEAVE', memberId: alice.id });
    await flush();
    await h.admit('seat', [plain(alice), ZED]);
    expect(roster(carol)).toEqual([`-${ZED.id}`, `-${alice.id}`]);
  });

  it('tells nothing that the snapshot already shows, nor someone absent who came and went', async () => {
    const { h, ids } = await seated(['alice']);
    const alice = h.actor.getSnapshot().context.members.get(ids[0] as string) as Member;
    const carol = spyMember('carol');
    h.join(carol, joinRequest('carol'));
    await flush();
    const kim = { id: 'kim-remote', name: 'kim', color: '#654321' };
    h.actor.send(remote({ type: ServerType.MemberJoined, data: ZED }, ZED.id));
    h.actor.send(remote({ type: ServerType.MemberJoined, data: kim }, kim.id));
    h.actor.send(remote({ type: ServerType.MemberLeft, data: { id: kim.id } }, kim.id));
    await flush();
    await h.admit('seat', [plain(alice), ZED]);
    expect(types(carol)).toEqual([ServerType.RoomJoined]);
  });

  it('forgets the churn once no admission is in flight', async () => {
    const { h, ids } = await seated(['alice']);
    const alice = h.actor.getSnapshot().context.members.get(ids[0] as string) as Member;
    h.join(spyMember('carol'), joinRequest('carol'));
    await flush();
    h.actor.send(remote({ type: ServerType.MemberJoined, data: ZED }, ZED.id));
    await flush();
    await h.admit('seat', [plain(alice)]);
    expect(h.actor.getSnapshot().context.churn).toEqual([]);
    const dave = spyMember('dave');
    h.join(dave, joinRequest('dave'));
    await flush();
    await h.admit('seat', [plain(alice), ZED]);
    expect(types(dave)).toEqual([ServerType.RoomJoined]);
    // With nobody being admitted, a join elsewhere is not written down.
    h.actor.send(remote({ type: ServerType.MemberJoined, data: { ...ZED, id: 'z2' } }, 'z2'));
    await flush();
    expect(h.actor.getSnapshot().context.churn).toEqual([]);
  });
});

describe('room machine: a seat lost in a recovery', () => {
  const decoded = (envelope: Envelope) => decodeServerMessage(envelope.frame);

  it('closes the room for that member alone and tells everyone else it left, once', async () => {
    const { h, members, ids } = await seated(['alice', 'bob']);
    const [alice, bob] = members as [SpyMember, SpyMember];
    const [aliceId, bobId] = ids as [string, string];
    const published = h.effects.publishes.length;
    h.actor.send({ type: 'SEAT_LOST', memberId: aliceId, reason: 'seat-lost', announced: false });
    await flush();
    expect(alice.frames.at(-1)).toEqual({
      type: ServerType.RoomClosed,
      data: { reason: 'seat-lost' },
    });
    expect(alice.closed).toEqual(['seat-lost']);
    expect(types(alice)).not.toContain(ServerType.MemberLeft);
    expect(bob.frames.at(-1)).toEqual({ type: ServerType.MemberLeft, data: { id: aliceId } });
    expect(h.effects.publishes.slice(published).map((p) => decoded(p.envelope))).toEqual([
      { ok: true, value: { type: ServerType.MemberLeft, data: { id: aliceId } } },
    ]);
    // The presence store refused the seat: there is nothing to give back.
    expect(h.effects.seatsReleased).toEqual([]);
    expect([...h.actor.getSnapshot().context.members.keys()]).toEqual([bobId]);
    // The connection's own LEAVE, when it reaches the lobby, changes nothing.
    h.actor.send({ type: 'LEAVE', memberId: aliceId });
    await flush();
    expect(bob.frames.filter((f) => f.type === ServerType.MemberLeft)).toHaveLength(1);
  });

  it('tells nobody again when the cluster already announced the departure', async () => {
    const { h, members, ids } = await seated(['alice', 'bob']);
    const [alice, bob] = members as [SpyMember, SpyMember];
    const published = h.effects.publishes.length;
    const before = bob.frames.length;
    h.actor.send({
      type: 'SEAT_LOST',
      memberId: ids[0] as string,
      reason: 'expired',
      announced: true,
    });
    await flush();
    expect(alice.closed).toEqual(['expired']);
    expect(bob.frames.length).toBe(before);
    expect(h.effects.publishes.length).toBe(published);
  });

  it('winds the room down when its last local member loses its seat', async () => {
    const { h, members, ids } = await seated(['alice']);
    h.actor.send({
      type: 'SEAT_LOST',
      memberId: ids[0] as string,
      reason: 'seat-lost',
      announced: true,
    });
    await flush();
    expect((members[0] as SpyMember).closed).toEqual(['seat-lost']);
    expect(stateName(h.actor.getSnapshot())).toBe('unsubscribing');
  });
});

describe('room machine: expiry', () => {
  it('closes the room at expiresAt: RoomClosed {expired} to every member, their connections told, seats released', async () => {
    const expiresAt = Math.floor(T0 / 1000) + 30;
    const { h, members, ids } = await seated(['alice', 'bob'], { expiresAt });
    h.advance(expiresAt * 1000 - T0 - 1);
    expect(members.every((m) => m.closed.length === 0)).toBe(true);
    h.advance(1);
    for (const member of members) {
      expect(member.frames.at(-1)).toEqual({
        type: ServerType.RoomClosed,
        data: { reason: 'expired' },
      });
      expect(member.closed).toEqual(['expired']);
    }
    expect(h.effects.seatsReleased.map((r) => r.memberId).sort()).toEqual([...ids].sort());
    await flush();
    expect(stateName(h.actor.getSnapshot())).toBe('unsubscribing');
  });

  it('warns members that negotiated notices expiryWarningSeconds before, and only them', async () => {
    const expiresAt = Math.floor(T0 / 1000) + 30;
    const { h, members } = await seated(['alice', 'bob'], {
      expiresAt,
      features: [[Feature.Notices], []],
    });
    const [alice, bob] = members as [SpyMember, SpyMember];
    h.advance((expiresAt - EXPIRY_WARNING_SECONDS) * 1000 - T0 - 1);
    expect(alice.frames.some((f) => f.type === ServerType.Notice)).toBe(false);
    h.advance(1);
    expect(alice.frames.at(-1)).toEqual({
      type: ServerType.Notice,
      data: {
        kind: 'expiring',
        msg: `room expires in ${EXPIRY_WARNING_SECONDS} s`,
        expiresAt,
      },
    });
    expect(bob.frames.some((f) => f.type === ServerType.Notice)).toBe(false);
    h.advance(EXPIRY_WARNING_SECONDS * 1000);
    expect(alice.frames.at(-1)?.type).toBe(ServerType.RoomClosed);
  });

  it('does not warn when the room starts closer to its expiry than the warning period', async () => {
    const expiresAt = Math.floor(T0 / 1000) + EXPIRY_WARNING_SECONDS - 1;
    const { h, members } = await seated(['alice'], {
      expiresAt,
      features: [[Feature.Notices]],
    });
    h.advance(EXPIRY_WARNING_SECONDS * 1000);
    expect(types(members[0] as SpyMember)).toEqual([
      ServerType.RoomCreated,
      ServerType.RoomJoined,
      ServerType.RoomClosed,
    ]);
  });

  it('never closes a room without an expiry', async () => {
    const { h, members } = await seated(['alice']);
    h.advance(100_000);
    expect(types(members[0] as SpyMember)).toEqual([ServerType.RoomCreated, ServerType.RoomJoined]);
  });

  it('takes the expiry from the presence store when the room was created on another replica', async () => {
    const h = harness();
    const bob = spyMember('bob');
    h.join(bob, joinRequest('bob'));
    h.effects.subscribes[0]?.answer.resolve();
    await flush();
    const expiresAt = Math.floor(T0 / 1000) + 2;
    h.nextAdmission().answer.resolve({
      roomId: ROOM_ID,
      hasPassword: true,
      ephemeral: 0,
      expiresAt,
      members: [{ id: 'elsewhere', name: 'alice', color: '#123456' }, h.nextAdmission().member],
    });
    await flush();
    expect(bob.frames[0]).toMatchObject({
      type: ServerType.RoomJoined,
      data: { hasPassword: true, expiresAt },
    });
    h.advance(2000);
    expect(bob.closed).toEqual(['expired']);
  });
});

describe('room machine: transfers and fan-out', () => {
  const meta = (transferId: string) =>
    message(ClientType.SendFileMeta, { transferId, iv: 'iv', ciphertext: 'm' });

  it("cancels a leaving member's open transfer for the others, before telling them it left", async () => {
    const { h, members, ids } = await seated(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = members as [SpyMember, SpyMember, SpyMember];
    h.actor.send({ type: 'RELAY', memberId: ids[0] as string, message: meta('t1') });
    h.actor.send({ type: 'LEAVE', memberId: ids[0] as string });
    await flush();
    for (const other of [bob, carol]) {
      expect(other.frames.slice(-3)).toEqual([
        { type: ServerType.RelayFileMeta, data: expect.objectContaining({ transferId: 't1' }) },
        { type: ServerType.RelayFileCancel, data: { senderId: ids[0], transferId: 't1' } },
        { type: ServerType.MemberLeft, data: { id: ids[0] } },
      ]);
    }
    expect(alice.frames.some((f) => f.type === ServerType.RelayFileCancel)).toBe(false);
    expect(h.actor.getSnapshot().context.transfers.size).toBe(0);
  });

  it('keeps transfers of two members that chose the same id apart, acks reaching both', async () => {
    const { h, members, ids } = await seated(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = members as [SpyMember, SpyMember, SpyMember];
    const [a, b, c] = ids as [string, string, string];
    h.actor.send({ type: 'RELAY', memberId: a, message: meta('same') });
    h.actor.send({ type: 'RELAY', memberId: b, message: meta('same') });
    h.actor.send({
      type: 'RELAY',
      memberId: b,
      message: message(ClientType.SendFileComplete, { transferId: 'same' }),
    });
    h.actor.send({
      type: 'RELAY',
      memberId: c,
      message: message(ClientType.SendFileAck, { transferId: 'same' }),
    });
    // An ack names a transfer id only: both the open transfer and the completed one may be meant.
    for (const sender of [alice, bob]) {
      expect(sender.frames.at(-1)).toEqual({
        type: ServerType.RelayFileAck,
        data: { receiverId: c, transferId: 'same' },
      });
    }
    h.actor.send({ type: 'LEAVE', memberId: a });
    await flush();
    expect(carol.frames.slice(-2)).toEqual([
      { type: ServerType.RelayFileCancel, data: { senderId: a, transferId: 'same' } },
      { type: ServerType.MemberLeft, data: { id: a } },
    ]);
  });

  it("routes acks sent after SendFileComplete to the file's sender while it stays in the room", async () => {
    const { h, members, ids } = await seated(['alice', 'bob', 'carol']);
    const [alice, bob] = members as [SpyMember, SpyMember, SpyMember];
    const [a, b, c] = ids as [string, string, string];
    const ack = (from: string) =>
      h.actor.send({
        type: 'RELAY',
        memberId: from,
        message: message(ClientType.SendFileAck, { transferId: 't1' }),
      });
    h.actor.send({ type: 'RELAY', memberId: a, message: meta('t1') });
    h.actor.send({
      type: 'RELAY',
      memberId: a,
      message: message(ClientType.SendFileComplete, { transferId: 't1' }),
    });
    ack(b);
    ack(c);
    await flush();
    expect(alice.frames.filter((f) => f.type === ServerType.RelayFileAck)).toEqual([
      { type: ServerType.RelayFileAck, data: { receiverId: b, transferId: 't1' } },
      { type: ServerType.RelayFileAck, data: { receiverId: c, transferId: 't1' } },
    ]);
    expect(bob.frames.some((f) => f.type === ServerType.RelayFileAck)).toBe(false);
    expect(h.effects.publishes.some((p) => p.envelope.kind === 'to-transfer-sender')).toBe(false);
    h.actor.send({ type: 'LEAVE', memberId: a });
    await flush();
    expect(h.actor.getSnapshot().context.delivered).toEqual([]);
    // With the sender gone, an ack is for a sender elsewhere, if any: it goes to the fan-out.
    ack(c);
    await flush();
    expect(h.effects.publishes.at(-1)?.envelope).toMatchObject({
      kind: 'to-transfer-sender',
      transferId: 't1',
    });
  });

  it('forgets a cancelled transfer for acks, and remembers at most MAX_DELIVERED completed ones', async () => {
    const { h, ids } = await seated(['alice', 'bob']);
    const [a] = ids as [string, string];
    const send = (
      type: typeof ClientType.SendFileComplete | typeof ClientType.SendFileCancel,
      t: string,
    ) => {
      h.actor.send({ type: 'RELAY', memberId: a, message: meta(t) });
      h.actor.send({ type: 'RELAY', memberId: a, message: message(type, { transferId: t }) });
    };
    send(ClientType.SendFileCancel, 'cancelled');
    expect(h.actor.getSnapshot().context.delivered).toEqual([]);
    for (let i = 0; i < MAX_DELIVERED + 5; i++) send(ClientType.SendFileComplete, `t${i}`);
    const { delivered } = h.actor.getSnapshot().context;
    expect(delivered).toHaveLength(MAX_DELIVERED);
    expect(delivered[0]).toEqual({ transferId: 't5', sender: a });
  });

  it('relays an encrypted typing state with typing false, as the Arthas server reads a missing flag', async () => {
    const { h, members, ids } = await seated(['alice', 'bob']);
    const [, bob] = members as [SpyMember, SpyMember];
    h.actor.send({
      type: 'RELAY',
      memberId: ids[0] as string,
      message: message(ClientType.Typing, { iv: 'iv', ciphertext: 'stop' }),
    });
    await flush();
    expect(bob.frames.at(-1)).toEqual({
      type: ServerType.MemberTyping,
      data: { id: ids[0], typing: false, iv: 'iv', ciphertext: 'stop' },
    });
  });

  it('routes an ack for a transfer sent from another replica through the fan-out', async () => {
    const { h, members, ids } = await seated(['alice', 'bob']);
    h.actor.send({
      type: 'RELAY',
      memberId: ids[1] as string,
      message: message(ClientType.SendFileAck, { transferId: 'remote-t' }),
    });
    await flush();
    expect(members.every((m) => !m.frames.some((f) => f.type === ServerType.RelayFileAck))).toBe(
      true,
    );
    expect(h.effects.publishes.at(-1)).toMatchObject({
      roomId: ROOM_ID,
      envelope: { kind: 'to-transfer-sender', origin: 'replica-a', transferId: 'remote-t' },
    });
  });

  it('delivers an ack arriving from another replica only to the local sender of that transfer', async () => {
    const { h, members, ids } = await seated(['alice', 'bob']);
    h.actor.send({ type: 'RELAY', memberId: ids[0] as string, message: meta('t1') });
    const ack = encode({
      type: ServerType.RelayFileAck,
      data: { receiverId: 'elsewhere', transferId: 't1' },
    });
    h.actor.send({
      type: 'REMOTE',
      envelope: { kind: 'to-transfer-sender', origin: 'replica-b', frame: ack, transferId: 't1' },
    });
    h.actor.send({
      type: 'REMOTE',
      envelope: {
        kind: 'to-transfer-sender',
        origin: 'replica-b',
        frame: ack,
        transferId: 'other',
      },
    });
    await flush();
    const acks = (m: SpyMember) => m.frames.filter((f) => f.type === ServerType.RelayFileAck);
    expect(acks(members[0] as SpyMember)).toHaveLength(1);
    expect(acks(members[1] as SpyMember)).toEqual([]);
  });

  it('delivers a broadcast from another replica to every local member but the one excluded', async () => {
    const { h, members, ids } = await seated(['alice', 'bob']);
    const frame = encode({ type: ServerType.MemberLeft, data: { id: 'x' } });
    h.actor.send({
      type: 'REMOTE',
      envelope: { kind: 'broadcast', origin: 'replica-b', frame, exclude: ids[1] as string },
    });
    expect(members[0]?.frames.at(-1)).toEqual({ type: ServerType.MemberLeft, data: { id: 'x' } });
    expect(members[1]?.frames.some((f) => f.type === ServerType.MemberLeft)).toBe(false);
  });

  it('delivers an envelope for given members from another replica to those of them seated here', async () => {
    const { h, members, ids } = await seated(['alice', 'bob', 'carol']);
    const frame = encode({
      type: ServerType.MemberJoined,
      data: { id: 'x', name: 'x', color: '#000000' },
    });
    h.actor.send({
      type: 'REMOTE',
      envelope: {
        kind: 'to-members',
        origin: 'replica-b',
        frame,
        memberIds: [ids[2] as string, 'elsewhere'],
      },
    });
    const joined = members.map(
      (m) => m.frames.filter((f) => f.type === ServerType.MemberJoined && f.data.id === 'x').length,
    );
    expect(joined).toEqual([0, 0, 1]);
  });

  it('tells the sender E024 when the fan-out publish fails, reports it, and keeps serving', async () => {
    const { h, members, ids } = await seated(['alice', 'bob']);
    h.fanout.failing = true;
    h.actor.send({
      type: 'RELAY',
      memberId: ids[0] as string,
      message: message(ClientType.SendMessage, { iv: 'i', ciphertext: 'c' }),
    });
    await flush();
    expect(members[1]?.frames.at(-1)?.type).toBe(ServerType.RelayMessage);
    expect(members[0]?.frames.at(-1)).toEqual({
      type: ServerType.Error,
      data: { code: ErrorCode.Unavailable, msg: expect.any(String) },
    });
    expect(h.effects.fanoutFailures).toBe(1);
    expect(h.effects.faults).toEqual(['fanout publish']);
    expect(h.effects.errorsSent).toEqual([ErrorCode.Unavailable]);
    expect(h.actor.getSnapshot().status).toBe('active');
    expect(h.errors).toEqual([]);
  });

  it('ignores relays and leaves from members it does not have', async () => {
    const { h, members } = await seated(['alice', 'bob']);
    const before = members.map((m) => m.frames.length);
    h.actor.send({
      type: 'RELAY',
      memberId: 'stranger',
      message: message(ClientType.SendMessage, { iv: 'i', ciphertext: 'c' }),
    });
    h.actor.send({ type: 'LEAVE', memberId: 'stranger' });
    await flush();
    expect(members.map((m) => m.frames.length)).toEqual(before);
    expect(h.effects.seatsReleased).toEqual([]);
  });
});
