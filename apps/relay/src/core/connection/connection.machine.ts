import type {
  CreateRoom,
  ErrorCode as ErrorCodeType,
  Hello,
  JoinRoom,
  ProtocolError,
  RateKind as WireRateKind,
  ServerLimits,
  ServerMessage,
} from '@hush/protocol';
import {
  ClientType,
  ErrorCode,
  Feature,
  NoticeKind,
  PROTOCOL_VERSION,
  ROOM_ID_PATTERN,
  ServerType,
} from '@hush/protocol';
import type { SnapshotFrom } from 'xstate';
import { assertEvent, assign, setup } from 'xstate';
import type {
  AdmissionReply,
  AdmissionRequest,
  Admitted,
  MemberLink,
} from '../room/member-link.js';
import type { Bucket, RateLimit, Window } from '../budgets/rate-limiter.js';
import { hasToken, takeToken, windowHasRoom, windowTake } from '../budgets/rate-limiter.js';
import type { RelayedMessage } from '../room/room.machine.js';
import { changesTransfer } from '../room/room.machine.js';

/**
 * Per-connection budgets: every kind of client traffic the protocol names (see `RATE_LIMITS`),
 * plus `invalid`, the rejected frames tolerated before the socket is closed.
 */
export type RateKind = WireRateKind | 'invalid';

/** Budgets per client address, shared by all of its connections (and, in cluster mode, replicas). */
export type AddressKind = 'chat' | 'join' | 'invalid';

/** WebSocket close codes the relay uses. */
export const CloseCode = {
  /** Server shutting down (drain). */
  GoingAway: 1001,
  /** Repeated text frames. */
  UnsupportedData: 1003,
  /** Repeated invalid binary frames. */
  PolicyViolation: 1008,
  /** The client does not read fast enough: its outbound buffer passed the bound. */
  SlowConsumer: 4008,
} as const;

/** What the connection reports; implemented by the metrics layer. */
export interface ConnectionObserver {
  rateLimited(kind: RateKind | `address_${AddressKind}`): void;
  error(code: ErrorCodeType): void;
}

/** A connection's admission request to the room directory. */
export type RoomRequest =
  (AdmissionRequest & { kind: 'create' }) | (AdmissionRequest & { kind: 'join'; roomId: string });

/** Everything a connection does to the outside world. Tests pass spies. */
export interface ConnectionIo {
  readonly rate: Readonly<Record<RateKind, RateLimit>>;
  readonly heartbeat: { pingIntervalMs: number; pongTimeoutMs: number };
  readonly admissionTimeoutMs: number;
  readonly serverLimits: ServerLimits;
  readonly observer: ConnectionObserver;
  /** Unix milliseconds. */
  now(): number;
  /** Encodes and writes one message. */
  send(message: ServerMessage): void;
  /** Writes an already encoded frame (room fan-out). */
  deliver(frame: Uint8Array): void;
  /** Sends a WebSocket-level ping. */
  ping(): void;
  close(code: number, reason: string): void;
  /** Drops a connection that stopped answering, without a closing handshake. */
  terminate(): void;
  /** Failed-join lockout for this connection's client address. */
  lockedOut(): boolean;
  recordFailedJoin(): void;
  /** Whether this connection's client address has budget left for one event of `kind`. */
  addressAllows(kind: AddressKind): boolean;
  /** Spends one event of the address's `kind` budget (check `addressAllows` first). */
  spendAddress(kind: AddressKind): void;
  join(request: RoomRequest, link: MemberLink, reply: AdmissionReply): void;
  relay(roomId: string, memberId: string, message: RelayedMessage): void;
  leave(roomId: string, memberId: string): void;
}

export type ConnectionEvent =
  | { type: 'CREATE_ROOM'; data: CreateRoom['data'] }
  | { type: 'JOIN_ROOM'; data: JoinRoom['data'] }
  | { type: 'LEAVE_ROOM' }
  | { type: 'RELAY'; message: RelayedMessage }
  | { type: 'HELLO'; data: Hello['data'] }
  /** An application Pong (0x06) or a WebSocket pong. */
  | { type: 'PONG' }
  /** A ping is due: `pingIntervalMs` passed since the start or the last ping (see `dueEvent`). */
  | { type: 'PING_DUE' }
  /** No counted pong for `pongTimeoutMs` since the start (see `dueEvent`). */
  | { type: 'SILENT' }
  /** The pending room request is `admissionTimeoutMs` old (see `dueEvent`). */
  | { type: 'ADMISSION_TIMEOUT' }
  | { type: 'INVALID'; error: ProtocolError }
  | { type: 'TEXT_FRAME' }
  | { type: 'ADMITTED'; roomId: string; memberId: string }
  | { type: 'ADMISSION_FAILED'; code: ErrorCodeType; message: string }
  | { type: 'ROOM_CLOSED'; reason: string }
  | { type: 'DRAIN'; retryAfterMs: number }
  /** The socket is being closed because the client does not read: leave the room now. */
  | { type: 'SLOW_CONSUMER' }
  | { type: 'SOCKET_CLOSED' };

/**
 * What a connection's frequent events change: its budgets and the times its deadlines run from.
 * The machine creates one per connection with its context and updates it in place, in actions
 * that do not `assign`, so an accepted message, a pong or a ping is a targetless transition that
 * keeps the snapshot it started from (an `assign` copies the snapshot and the context). Nothing
 * here decides which state the connection is in, only whether a budget or a deadline is spent;
 * snapshots of one actor, and pure `transition()` calls from them, share it.
 */
export interface ConnectionMeter {
  /** Token buckets per kind of traffic (see `io.rate` for the budgets); chat has `chat` instead. */
  readonly buckets: Partial<Record<Exclude<RateKind, 'chat'>, Bucket>>;
  /** The chat budget, a sliding window as on the Arthas server: accepted messages' times. */
  chat: Window;
  /**
   * True from an admission until the first chat message after it, which the chat budget does not
   * count: Arthas clients announce their signing key in it right after joining.
   */
  announcement: boolean;
  /** When the last pong that counted arrived (see the `pongTooSoon` guard). */
  lastPong: number;
  /** When the connection started or last heard a counted pong: the pong deadline runs from here. */
  heardAt: number;
  /** When the connection started or was last pinged: the next ping is due an interval later. */
  pingedAt: number;
  /** When the last room request was made: a pending one times out `admissionTimeoutMs` later. */
  requestedAt: number;
}

export interface ConnectionContext {
  io: ConnectionIo;
  meter: ConnectionMeter;
  /** Features granted by Hello; empty for clients that never negotiated. */
  features: ReadonlySet<Feature>;
  negotiated: boolean;
  roomId: string | undefined;
  memberId: string | undefined;
  /** The one outgoing file transfer this connection may have. */
  transferId: string | undefined;
  /**
   * Counts admission requests, so the late answer to an abandoned one is not taken for the
   * answer to the current one.
   */
  admission: number;
  /**
   * Set by the first DRAIN. The close is out, but what the client wrote before it reached the
   * client still arrives and is relayed as usual; the connection takes no new room.
   */
  draining: boolean;
}

const SUPPORTED: ReadonlySet<string> = new Set(Object.values(Feature));

/** What a connection has before Hello: one set shared by all of them. */
const NO_FEATURES: ReadonlySet<Feature> = new Set();

/** A chat window with nothing in it, shared: windows are replaced, never changed in place. */
const NO_MESSAGES: Window = [];

/** The budget each relayed message spends. */
const RELAY_RATE = {
  [ClientType.SendMessage]: 'chat',
  [ClientType.Typing]: 'typing',
  [ClientType.SendReaction]: 'reaction',
  [ClientType.SendFileMeta]: 'fileMeta',
  [ClientType.SendFileChunk]: 'fileChunk',
  [ClientType.SendFileComplete]: 'fileControl',
  [ClientType.SendFileCancel]: 'fileControl',
  [ClientType.SendFileAck]: 'fileAck',
} as const satisfies Record<RelayedMessage['type'], RateKind>;

/** Relayed kinds that also spend a budget of the client's address. */
const ADDRESS_RATE: Partial<Record<RateKind, AddressKind>> = { chat: 'chat' };

/** What a locked-out client is told (E022). */
export const LOCKED_OUT_MESSAGE =
  'too many failed attempts to join from your network; try again in a few minutes';

/** What a client is told when a budget refuses it (E004). */
const RATE_LIMITED_MESSAGE: Record<RateKind, string> = {
  chat: 'too many messages; slow down',
  typing: 'too many typing notifications; slow down',
  reaction: 'too many reactions; slow down',
  fileMeta: 'too many file transfers started; wait a moment',
  fileChunk: 'file chunks are arriving too fast; slow down',
  fileControl: 'too many file transfer updates; slow down',
  fileAck: 'too many file acknowledgements; slow down',
  join: 'too many room requests; wait a moment',
  lobby: 'too many messages outside a room; join a room first',
  invalid: 'too many invalid messages',
};

const ADDRESS_LIMITED_MESSAGE: Record<AddressKind, string> = {
  chat: 'too many messages from your network; slow down',
  join: 'too many room requests from your network; wait a moment',
  invalid: 'too many invalid messages from your network',
};

function rateKindOf(message: RelayedMessage): RateKind {
  return RELAY_RATE[message.type];
}

function budgetSpent({ io, meter }: ConnectionContext, kind: RateKind): boolean {
  const now = io.now();
  if (kind === 'chat') {
    return !meter.announcement && !windowHasRoom(io.rate.chat, meter.chat, now);
  }
  return !hasToken(io.rate[kind], meter.buckets[kind], now);
}

/** Spends one event of `kind` (check `budgetSpent` first). */
function spend({ io, meter }: ConnectionContext, kind: RateKind): void {
  const now = io.now();
  if (kind !== 'chat') {
    meter.buckets[kind] = takeToken(io.rate[kind], meter.buckets[kind], now);
  } else if (meter.announcement) {
    meter.announcement = false;
  } else {
    meter.chat = windowTake(io.rate.chat, meter.chat, now);
  }
}

/** The address budget `event` spends, when it is a relayed message that spends one. */
function addressKindOf(event: ConnectionEvent): AddressKind | undefined {
  return event.type === 'RELAY' ? ADDRESS_RATE[rateKindOf(event.message)] : undefined;
}

function sendError(context: ConnectionContext, code: ErrorCodeType, msg: string): void {
  context.io.observer.error(code);
  context.io.send({ type: ServerType.Error, data: { code, msg } });
}

function rateLimited(context: ConnectionContext, kind: RateKind): void {
  context.io.observer.rateLimited(kind);
  sendError(context, ErrorCode.RateLimited, RATE_LIMITED_MESSAGE[kind]);
}

function addressLimited(context: ConnectionContext, kind: AddressKind): void {
  context.io.observer.rateLimited(`address_${kind}`);
  sendError(context, ErrorCode.RateLimited, ADDRESS_LIMITED_MESSAGE[kind]);
}

/** The transfer rule: one outgoing transfer per connection, and file messages must name it. */
function transferViolation(
  context: ConnectionContext,
  message: RelayedMessage,
): string | undefined {
  switch (message.type) {
    case ClientType.SendFileMeta:
      return context.transferId === undefined
        ? undefined
        : 'a file transfer is already in progress';
    case ClientType.SendFileChunk:
    case ClientType.SendFileComplete:
    case ClientType.SendFileCancel:
      return message.data.transferId === context.transferId ? undefined : 'unknown transfer id';
    default:
      return undefined;
  }
}

/** The snapshot state of a connection waiting for its admission. */
const JOINING = { active: { session: 'joining' } } as const;

/** What `Seat` needs of the connection actor. */
interface SeatHolder {
  getSnapshot(): {
    status: string;
    context: ConnectionContext;
    matches(value: typeof JOINING): boolean;
  };
  send(event: ConnectionEvent): void;
}

/**
 * A connection's side of one admission (its reply) and, once seated, of its membership (its
 * link): one object with its methods on the prototype, which the room holds for as long as the
 * connection is its member, rather than a closure per method.
 */
class Seat implements MemberLink, AdmissionReply {
  constructor(
    private readonly holder: SeatHolder,
    private readonly io: ConnectionIo,
    /** The admission this seat answers (see `ConnectionContext.admission`). */
    private readonly ticket: number,
    readonly features: ReadonlySet<Feature>,
  ) {}

  deliver(frame: Uint8Array): void {
    this.io.deliver(frame);
  }

  roomClosed(reason: string): void {
    queueMicrotask(() => this.holder.send({ type: 'ROOM_CLOSED', reason }));
  }

  accept(admitted: Admitted): boolean {
    if (!this.awaited()) return false;
    this.holder.send({ type: 'ADMITTED', ...admitted });
    return true;
  }

  reject(code: ErrorCodeType, message: string): void {
    if (this.awaited()) this.holder.send({ type: 'ADMISSION_FAILED', code, message });
  }

  /** Whether the connection still waits for this admission, not a later one or none. */
  private awaited(): boolean {
    const snapshot = this.holder.getSnapshot();
    return (
      snapshot.status === 'active' &&
      snapshot.context.admission === this.ticket &&
      snapshot.matches(JOINING)
    );
  }
}

/**
 * One WebSocket connection: a lobby, an admission in progress, or membership of one room (as the
 * Arthas protocol has it), plus liveness (Ping every interval, dead without Pong). The gateway
 * feeds it validated messages; every effect goes through `io`. It has no timer of its own: a
 * relay-wide sweep (`LivenessSweep`) sends `PING_DUE`, `SILENT` and `ADMISSION_TIMEOUT` when
 * `dueEvent` says so. The frequent events (accepted messages, pongs, pings) change only the
 * connection's `meter`, in place, and leave its snapshot as it was.
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as { io: ConnectionIo },
  },
  guards: {
    lockedOut: ({ context }) => context.io.lockedOut(),
    joinBudgetSpent: ({ context }) => budgetSpent(context, 'join'),
    addressJoinBudgetSpent: ({ context }) => !context.io.addressAllows('join'),
    /** Arthas answers a room id that names no room with E001, whatever its shape. */
    malformedRoomId: ({ event }) =>
      event.type === 'JOIN_ROOM' && !ROOM_ID_PATTERN.test(event.data.roomId),
    negotiated: ({ context }) => context.negotiated,
    draining: ({ context }) => context.draining,
    tooManyInvalid: ({ context }) =>
      budgetSpent(context, 'invalid') || !context.io.addressAllows('invalid'),
    transferViolation: ({ context, event }) =>
      event.type === 'RELAY' && transferViolation(context, event.message) !== undefined,
    relayBudgetSpent: ({ context, event }) =>
      event.type === 'RELAY' && budgetSpent(context, rateKindOf(event.message)),
    addressBudgetSpent: ({ context, event }) => {
      const kind = addressKindOf(event);
      return kind !== undefined && !context.io.addressAllows(kind);
    },
    lobbyBudgetSpent: ({ context }) => budgetSpent(context, 'lobby'),
    /**
     * One pong per ping interval proves liveness; pongs closer together than a quarter interval
     * are ignored, so a pong flood costs no timer work.
     */
    pongTooSoon: ({ context }) =>
      context.io.now() - context.meter.lastPong < context.io.heartbeat.pingIntervalMs / 4,
    changesTransfer: ({ event }) => event.type === 'RELAY' && changesTransfer(event.message),
  },
  actions: {
    countAdmission: assign({ admission: ({ context }) => context.admission + 1 }),
    spendJoin: ({ context }) => spend(context, 'join'),
    spendAddressJoin: ({ context }) => context.io.spendAddress('join'),
    spendInvalid: ({ context }) => spend(context, 'invalid'),
    spendAddressInvalid: ({ context }) => context.io.spendAddress('invalid'),
    spendLobby: ({ context }) => spend(context, 'lobby'),
    notePong: ({ context: { io, meter } }) => {
      const now = io.now();
      meter.lastPong = now;
      meter.heardAt = now;
    },
    requestAdmission: ({ context, event, self }) => {
      const request: RoomRequest | undefined =
        event.type === 'CREATE_ROOM'
          ? {
              kind: 'create',
              name: event.data.name,
              settings: {
                ephemeral: event.data.ephemeral,
                expiresAt:
                  event.data.expiry === 0
                    ? 0
                    : Math.floor(context.io.now() / 1000) + event.data.expiry,
                passwordHash: event.data.password,
              },
            }
          : event.type === 'JOIN_ROOM'
            ? {
                kind: 'join',
                roomId: event.data.roomId,
                name: event.data.name,
                passwordHash: event.data.password,
              }
            : undefined;
      if (request === undefined) return;
      context.meter.requestedAt = context.io.now();
      const seat = new Seat(self, context.io, context.admission, context.features);
      context.io.join(request, seat, seat);
    },
    enterRoom: assign(({ event }) => {
      assertEvent(event, 'ADMITTED');
      return { roomId: event.roomId, memberId: event.memberId };
    }),
    grantAnnouncement: ({ context }) => {
      context.meter.announcement = true;
    },
    leaveRoom: ({ context }) => {
      if (context.roomId !== undefined && context.memberId !== undefined) {
        context.io.leave(context.roomId, context.memberId);
      }
    },
    forgetRoom: assign({ roomId: undefined, memberId: undefined, transferId: undefined }),
    admissionFailed: ({ context, event }) => {
      assertEvent(event, 'ADMISSION_FAILED');
      if (event.code === ErrorCode.RoomNotFound || event.code === ErrorCode.WrongPassword) {
        context.io.recordFailedJoin();
      }
      sendError(context, event.code, event.message);
    },
    admissionTimedOut: ({ context }) =>
      sendError(context, ErrorCode.Unavailable, 'the room could not be reached in time'),
    refuseLockedOut: ({ context }) => sendError(context, ErrorCode.LockedOut, LOCKED_OUT_MESSAGE),
    refuseMalformedRoomId: ({ context }) => {
      context.io.recordFailedJoin();
      sendError(context, ErrorCode.RoomNotFound, 'room not found');
    },
    joinRateLimited: ({ context }) => rateLimited(context, 'join'),
    addressJoinRateLimited: ({ context }) => addressLimited(context, 'join'),
    lobbyRateLimited: ({ context }) => rateLimited(context, 'lobby'),
    notInRoom: ({ context }) => sendError(context, ErrorCode.NotInRoom, 'not in a room'),
    alreadyInRoom: ({ context }) =>
      sendError(context, ErrorCode.AlreadyInRoom, 'already in a room; leave it first'),
    rejectTransfer: ({ context, event }) => {
      assertEvent(event, 'RELAY');
      const violation = transferViolation(context, event.message);
      if (violation !== undefined) sendError(context, ErrorCode.TransferRejected, violation);
    },
    relayRateLimited: ({ context, event }) => {
      assertEvent(event, 'RELAY');
      rateLimited(context, rateKindOf(event.message));
    },
    addressRateLimited: ({ context, event }) => {
      const kind = addressKindOf(event);
      if (kind !== undefined) addressLimited(context, kind);
    },
    /**
     * Relays the message and spends its budgets: one action, as each action costs XState a few
     * objects on the hot path.
     */
    acceptRelay: ({ context, event }) => {
      assertEvent(event, 'RELAY');
      if (context.roomId !== undefined && context.memberId !== undefined) {
        context.io.relay(context.roomId, context.memberId, event.message);
      }
      spend(context, rateKindOf(event.message));
      const kind = addressKindOf(event);
      if (kind !== undefined) context.io.spendAddress(kind);
    },
    /** Tracks the connection's one outgoing transfer (see the `changesTransfer` guard). */
    trackTransfer: assign({
      transferId: ({ event }) => {
        assertEvent(event, 'RELAY');
        return event.message.type === ClientType.SendFileMeta
          ? event.message.data.transferId
          : undefined;
      },
    }),
    spendAddressRelay: ({ context, event }) => {
      const kind = addressKindOf(event);
      if (kind !== undefined) context.io.spendAddress(kind);
    },
    negotiate: assign(({ event }) => {
      assertEvent(event, 'HELLO');
      const features = new Set(event.data.features.filter((f): f is Feature => SUPPORTED.has(f)));
      return { features, negotiated: true };
    }),
    welcome: ({ context, event }) => {
      assertEvent(event, 'HELLO');
      context.io.send({
        type: ServerType.Welcome,
        data: {
          version: Math.min(event.data.version, PROTOCOL_VERSION),
          features: [...context.features],
          limits: context.io.serverLimits,
        },
      });
    },
    helloTwice: ({ context }) =>
      sendError(context, ErrorCode.InvalidMessage, 'Hello may be sent once per connection'),
    rejectInvalid: ({ context, event }) => {
      if (event.type === 'INVALID') sendError(context, event.error.code, event.error.message);
      if (event.type === 'TEXT_FRAME') {
        sendError(context, ErrorCode.InvalidMessage, 'text frames are not supported; send binary');
      }
    },
    closeForGarbage: ({ context, event }) =>
      event.type === 'TEXT_FRAME'
        ? context.io.close(CloseCode.UnsupportedData, 'text frames are not supported')
        : context.io.close(CloseCode.PolicyViolation, 'too many invalid messages'),
    ping: ({ context }) => {
      context.io.ping();
      context.io.send({ type: ServerType.Ping, data: { t: context.io.now() } });
    },
    notePing: ({ context }) => {
      context.meter.pingedAt = context.io.now();
    },
    terminate: ({ context }) => context.io.terminate(),
    drain: ({ context, event }) => {
      assertEvent(event, 'DRAIN');
      if (context.features.has(Feature.Notices)) {
        context.io.send({
          type: ServerType.Notice,
          data: {
            kind: NoticeKind.Drain,
            msg: 'this relay is restarting; reconnect',
            retryAfterMs: event.retryAfterMs,
          },
        });
      }
      context.io.close(CloseCode.GoingAway, 'server shutting down');
    },
    markDraining: assign({ draining: true }),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => {
    const now = input.io.now();
    return {
      io: input.io,
      meter: {
        buckets: {},
        chat: NO_MESSAGES,
        announcement: false,
        lastPong: Number.NEGATIVE_INFINITY,
        heardAt: now,
        pingedAt: now,
        requestedAt: now,
      },
      features: NO_FEATURES,
      negotiated: false,
      roomId: undefined,
      memberId: undefined,
      transferId: undefined,
      admission: 0,
      draining: false,
    };
  },
  initial: 'active',
  states: {
    active: {
      type: 'parallel',
      on: {
        SOCKET_CLOSED: 'closed',
        SLOW_CONSUMER: 'closed',
        PING_DUE: { actions: ['ping', 'notePing'] },
        // The client may have written to its room before the close reaches it; it stays seated
        // until the socket closes, so none of that is lost.
        DRAIN: [{ guard: 'draining' }, { actions: ['drain', 'markDraining'] }],
        HELLO: [
          { guard: 'negotiated', actions: 'helloTwice' },
          { actions: ['negotiate', 'welcome'] },
        ],
        INVALID: [
          { guard: 'tooManyInvalid', actions: ['rejectInvalid', 'closeForGarbage'] },
          { actions: ['spendInvalid', 'spendAddressInvalid', 'rejectInvalid'] },
        ],
        TEXT_FRAME: [
          { guard: 'tooManyInvalid', actions: ['rejectInvalid', 'closeForGarbage'] },
          { actions: ['spendInvalid', 'spendAddressInvalid', 'rejectInvalid'] },
        ],
      },
      states: {
        session: {
          initial: 'lobby',
          states: {
            lobby: {
              // LeaveRoom outside a room is ignored, as on the Arthas server (its clients send
              // one after RoomClosed).
              on: {
                // Ignored while draining: the close is already out, so an answer could not reach
                // the client, and a seat taken now would only be given up again.
                CREATE_ROOM: [
                  { guard: 'draining' },
                  { guard: 'lockedOut', actions: 'refuseLockedOut' },
                  { guard: 'joinBudgetSpent', actions: 'joinRateLimited' },
                  { guard: 'addressJoinBudgetSpent', actions: 'addressJoinRateLimited' },
                  {
                    target: 'joining',
                    actions: [
                      'spendJoin',
                      'spendAddressJoin',
                      'countAdmission',
                      'requestAdmission',
                    ],
                  },
                ],
                JOIN_ROOM: [
                  { guard: 'draining' },
                  { guard: 'lockedOut', actions: 'refuseLockedOut' },
                  { guard: 'joinBudgetSpent', actions: 'joinRateLimited' },
                  { guard: 'addressJoinBudgetSpent', actions: 'addressJoinRateLimited' },
                  {
                    guard: 'malformedRoomId',
                    actions: ['spendJoin', 'spendAddressJoin', 'refuseMalformedRoomId'],
                  },
                  {
                    target: 'joining',
                    actions: [
                      'spendJoin',
                      'spendAddressJoin',
                      'countAdmission',
                      'requestAdmission',
                    ],
                  },
                ],
                RELAY: [
                  { guard: 'lobbyBudgetSpent', actions: 'lobbyRateLimited' },
                  { actions: ['spendLobby', 'notInRoom'] },
                ],
              },
            },
            joining: {
              on: {
                ADMISSION_TIMEOUT: { target: 'lobby', actions: 'admissionTimedOut' },
                // A drain gives up a pending join as LeaveRoom does: the client will never hear
                // of the seat, and the room releases it when it is granted. (Nothing draining
                // ever gets here: the lobby takes no room requests then.)
                DRAIN: { target: 'lobby', actions: ['drain', 'markDraining'] },
                ADMITTED: { target: 'inRoom', actions: ['enterRoom', 'grantAnnouncement'] },
                ADMISSION_FAILED: { target: 'lobby', actions: 'admissionFailed' },
                CREATE_ROOM: { actions: 'alreadyInRoom' },
                JOIN_ROOM: { actions: 'alreadyInRoom' },
                // Giving up on a pending join: the room releases the seat when it is granted.
                LEAVE_ROOM: 'lobby',
                RELAY: [
                  { guard: 'lobbyBudgetSpent', actions: 'lobbyRateLimited' },
                  { actions: ['spendLobby', 'notInRoom'] },
                ],
              },
            },
            inRoom: {
              exit: ['leaveRoom', 'forgetRoom'],
              on: {
                CREATE_ROOM: { actions: 'alreadyInRoom' },
                JOIN_ROOM: { actions: 'alreadyInRoom' },
                LEAVE_ROOM: 'lobby',
                ROOM_CLOSED: 'lobby',
                RELAY: [
                  { guard: 'transferViolation', actions: 'rejectTransfer' },
                  { guard: 'relayBudgetSpent', actions: 'relayRateLimited' },
                  { guard: 'addressBudgetSpent', actions: 'addressRateLimited' },
                  {
                    guard: 'changesTransfer',
                    actions: ['acceptRelay', 'trackTransfer'],
                  },
                  // The hot path: a targetless transition without `assign`.
                  { actions: 'acceptRelay' },
                ],
              },
            },
          },
        },
        // Terminates once: a silent connection ignores later SILENT events and pongs alike.
        watchdog: {
          initial: 'watching',
          states: {
            watching: {
              on: {
                SILENT: { target: 'silent', actions: 'terminate' },
                PONG: [{ guard: 'pongTooSoon' }, { actions: 'notePong' }],
              },
            },
            silent: {},
          },
        },
      },
    },
    closed: { type: 'final' },
  },
});

export type ConnectionSnapshot = SnapshotFrom<typeof connectionMachine>;

const PING_DUE = { type: 'PING_DUE' } as const satisfies ConnectionEvent;
const SILENT = { type: 'SILENT' } as const satisfies ConnectionEvent;
const ADMISSION_TIMEOUT = { type: 'ADMISSION_TIMEOUT' } as const satisfies ConnectionEvent;
const WATCHING = { active: { watchdog: 'watching' } } as const;

/** The events the relay-wide sweep sends when a connection's deadline passes. */
export type DueEvent = typeof PING_DUE | typeof SILENT | typeof ADMISSION_TIMEOUT;

/**
 * The timed event a connection needs now, judged from the times it recorded on its own clock
 * (`io.now()`): `SILENT` once no counted pong arrived for `pongTimeoutMs` since the later of its
 * start and its last counted pong, `ADMISSION_TIMEOUT` once its pending room request is
 * `admissionTimeoutMs` old, `PING_DUE` once `pingIntervalMs` passed since its start or last
 * ping, else nothing. Each event makes its own condition false, so asking again until nothing
 * is due ends. Allocates nothing for a connection that needs nothing.
 */
export function dueEvent(snapshot: ConnectionSnapshot): DueEvent | undefined {
  if (snapshot.status !== 'active') return undefined;
  const { io, meter } = snapshot.context;
  const now = io.now();
  if (now - meter.heardAt >= io.heartbeat.pongTimeoutMs && snapshot.matches(WATCHING)) {
    return SILENT;
  }
  if (now - meter.requestedAt >= io.admissionTimeoutMs && snapshot.matches(JOINING)) {
    return ADMISSION_TIMEOUT;
  }
  return now - meter.pingedAt >= io.heartbeat.pingIntervalMs ? PING_DUE : undefined;
}
