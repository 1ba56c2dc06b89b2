import type {
  CreateRoom,
  ErrorCode as ErrorCodeType,
  Hello,
  JoinRoom,
  ProtocolError,
  ServerLimits,
  ServerMessage,
} from '@hush/protocol';
import {
  ClientType,
  ErrorCode,
  Feature,
  NoticeKind,
  PROTOCOL_VERSION,
  ServerType,
} from '@hush/protocol';
import { assertEvent, assign, setup } from 'xstate';
import type { AdmissionReply, AdmissionRequest, MemberLink } from '../rooms/member-link.js';
import type { Bucket, RateLimit } from '../security/rate-limiter.js';
import { hasToken, takeToken } from '../security/rate-limiter.js';
import type { RelayedMessage } from './room.machine.js';

/** Per-connection budgets. `invalid` counts rejected frames before the socket is closed. */
export type RateKind = 'chat' | 'typing' | 'reaction' | 'fileChunk' | 'join' | 'invalid';

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
  rateLimited(kind: RateKind): void;
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
  | { type: 'INVALID'; error: ProtocolError }
  | { type: 'TEXT_FRAME' }
  | { type: 'ADMITTED'; roomId: string; memberId: string }
  | { type: 'ADMISSION_FAILED'; code: ErrorCodeType; message: string }
  | { type: 'ROOM_CLOSED'; reason: string }
  | { type: 'DRAIN'; retryAfterMs: number }
  /** The socket is being closed because the client does not read: leave the room now. */
  | { type: 'SLOW_CONSUMER' }
  | { type: 'SOCKET_CLOSED' };

export interface ConnectionContext {
  io: ConnectionIo;
  /** Token buckets per kind of traffic (see `io.rate` for the budgets). */
  rate: Readonly<Partial<Record<RateKind, Bucket>>>;
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
}

const SUPPORTED: ReadonlySet<string> = new Set(Object.values(Feature));

const RELAY_RATE = {
  [ClientType.SendMessage]: 'chat',
  [ClientType.Typing]: 'typing',
  [ClientType.SendReaction]: 'reaction',
  [ClientType.SendFileChunk]: 'fileChunk',
} as const satisfies Partial<Record<RelayedMessage['type'], RateKind>>;

function rateKindOf(message: RelayedMessage): RateKind | undefined {
  return message.type in RELAY_RATE
    ? RELAY_RATE[message.type as keyof typeof RELAY_RATE]
    : undefined;
}

function budgetSpent(context: ConnectionContext, kind: RateKind): boolean {
  return !hasToken(context.io.rate[kind], context.rate[kind], context.io.now());
}

function spend(context: ConnectionContext, kind: RateKind): ConnectionContext['rate'] {
  return {
    ...context.rate,
    [kind]: takeToken(context.io.rate[kind], context.rate[kind], context.io.now()),
  };
}

function sendError(context: ConnectionContext, code: ErrorCodeType, msg: string): void {
  context.io.observer.error(code);
  context.io.send({ type: ServerType.Error, data: { code, msg } });
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

function nextTransferId(context: ConnectionContext, message: RelayedMessage): string | undefined {
  switch (message.type) {
    case ClientType.SendFileMeta:
      return message.data.transferId;
    case ClientType.SendFileComplete:
    case ClientType.SendFileCancel:
      return undefined;
    default:
      return context.transferId;
  }
}

/**
 * One WebSocket connection: a lobby, an admission in progress, or membership of one room (as the
 * Arthas protocol has it), plus liveness (Ping every interval, dead without Pong). The gateway
 * feeds it validated messages; every effect goes through `io`.
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as { io: ConnectionIo },
  },
  delays: {
    pingInterval: ({ context }) => context.io.heartbeat.pingIntervalMs,
    pongTimeout: ({ context }) => context.io.heartbeat.pongTimeoutMs,
    admissionTimeout: ({ context }) => context.io.admissionTimeoutMs,
  },
  guards: {
    lockedOut: ({ context }) => context.io.lockedOut(),
    joinBudgetSpent: ({ context }) => budgetSpent(context, 'join'),
    negotiated: ({ context }) => context.negotiated,
    tooManyInvalid: ({ context }) => budgetSpent(context, 'invalid'),
    transferViolation: ({ context, event }) =>
      event.type === 'RELAY' && transferViolation(context, event.message) !== undefined,
    relayBudgetSpent: ({ context, event }) => {
      const kind = event.type === 'RELAY' ? rateKindOf(event.message) : undefined;
      return kind !== undefined && budgetSpent(context, kind);
    },
  },
  actions: {
    countAdmission: assign({ admission: ({ context }) => context.admission + 1 }),
    spendJoin: assign({ rate: ({ context }) => spend(context, 'join') }),
    spendInvalid: assign({ rate: ({ context }) => spend(context, 'invalid') }),
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
      const ticket = context.admission;
      const awaited = (): boolean => {
        const snapshot = self.getSnapshot();
        return (
          snapshot.status === 'active' &&
          snapshot.context.admission === ticket &&
          snapshot.matches({ active: { session: 'joining' } })
        );
      };
      const link: MemberLink = {
        features: context.features,
        deliver: (frame) => context.io.deliver(frame),
        roomClosed: (reason) => queueMicrotask(() => self.send({ type: 'ROOM_CLOSED', reason })),
      };
      context.io.join(request, link, {
        accept: (admitted) => {
          if (!awaited()) return false;
          self.send({ type: 'ADMITTED', ...admitted });
          return true;
        },
        reject: (code, message) => {
          if (awaited()) self.send({ type: 'ADMISSION_FAILED', code, message });
        },
      });
    },
    enterRoom: assign(({ event }) => {
      assertEvent(event, 'ADMITTED');
      return { roomId: event.roomId, memberId: event.memberId };
    }),
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
    refuseLockedOut: ({ context }) =>
      sendError(context, ErrorCode.LockedOut, 'too many failed joins; try again later'),
    joinRateLimited: ({ context }) => {
      context.io.observer.rateLimited('join');
      sendError(context, ErrorCode.RateLimited, 'too many room requests');
    },
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
      const kind = rateKindOf(event.message);
      if (kind === undefined) return;
      context.io.observer.rateLimited(kind);
      sendError(context, ErrorCode.RateLimited, `rate limited (${kind})`);
    },
    relay: ({ context, event }) => {
      assertEvent(event, 'RELAY');
      if (context.roomId !== undefined && context.memberId !== undefined) {
        context.io.relay(context.roomId, context.memberId, event.message);
      }
    },
    /** Spends the message's budget and tracks the connection's one outgoing transfer. */
    acceptRelay: assign(({ context, event }) => {
      assertEvent(event, 'RELAY');
      const kind = rateKindOf(event.message);
      return {
        rate: kind === undefined ? context.rate : spend(context, kind),
        transferId: nextTransferId(context, event.message),
      };
    }),
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
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    io: input.io,
    rate: {},
    features: new Set(),
    negotiated: false,
    roomId: undefined,
    memberId: undefined,
    transferId: undefined,
    admission: 0,
  }),
  initial: 'active',
  states: {
    active: {
      type: 'parallel',
      on: {
        SOCKET_CLOSED: 'closed',
        SLOW_CONSUMER: 'closed',
        DRAIN: { target: 'closed', actions: 'drain' },
        HELLO: [
          { guard: 'negotiated', actions: 'helloTwice' },
          { actions: ['negotiate', 'welcome'] },
        ],
        INVALID: [
          { guard: 'tooManyInvalid', actions: ['rejectInvalid', 'closeForGarbage'] },
          { actions: ['spendInvalid', 'rejectInvalid'] },
        ],
        TEXT_FRAME: [
          { guard: 'tooManyInvalid', actions: ['rejectInvalid', 'closeForGarbage'] },
          { actions: ['spendInvalid', 'rejectInvalid'] },
        ],
      },
      states: {
        session: {
          initial: 'lobby',
          states: {
            lobby: {
              on: {
                CREATE_ROOM: [
                  { guard: 'lockedOut', actions: 'refuseLockedOut' },
                  { guard: 'joinBudgetSpent', actions: 'joinRateLimited' },
                  {
                    target: 'joining',
                    actions: ['spendJoin', 'countAdmission', 'requestAdmission'],
                  },
                ],
                JOIN_ROOM: [
                  { guard: 'lockedOut', actions: 'refuseLockedOut' },
                  { guard: 'joinBudgetSpent', actions: 'joinRateLimited' },
                  {
                    target: 'joining',
                    actions: ['spendJoin', 'countAdmission', 'requestAdmission'],
                  },
                ],
                LEAVE_ROOM: { actions: 'notInRoom' },
                RELAY: { actions: 'notInRoom' },
              },
            },
            joining: {
              after: { admissionTimeout: { target: 'lobby', actions: 'admissionTimedOut' } },
              on: {
                ADMITTED: { target: 'inRoom', actions: 'enterRoom' },
                ADMISSION_FAILED: { target: 'lobby', actions: 'admissionFailed' },
                CREATE_ROOM: { actions: 'alreadyInRoom' },
                JOIN_ROOM: { actions: 'alreadyInRoom' },
                // Giving up on a pending join: the room releases the seat when it is granted.
                LEAVE_ROOM: 'lobby',
                RELAY: { actions: 'notInRoom' },
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
                  { actions: ['relay', 'acceptRelay'] },
                ],
              },
            },
          },
        },
        pinger: {
          initial: 'waiting',
          states: {
            waiting: {
              after: { pingInterval: { target: 'waiting', reenter: true, actions: 'ping' } },
            },
          },
        },
        watchdog: {
          initial: 'watching',
          states: {
            watching: {
              after: { pongTimeout: { target: 'silent', actions: 'terminate' } },
              on: { PONG: { target: 'watching', reenter: true } },
            },
            silent: {},
          },
        },
      },
    },
    closed: { type: 'final' },
  },
});
