import type { RoomKey, ShareCode } from '@hush/crypto';
import {
  exportRoomKey,
  formatShareCode,
  generateRoomKey,
  hashRoomPassword,
  importRoomKey,
  joinLink,
  keyFingerprint,
  newMessageId,
  sealMessage,
} from '@hush/crypto';
import type {
  ClientMessage,
  ErrorCode as ErrorCodeType,
  Notice,
  RoomCreated,
  RoomJoined,
  ServerMessage,
} from '@hush/protocol';
import {
  ClientType,
  decodeServerMessage,
  encode,
  ErrorCode,
  Feature,
  NAME_MAX_CODE_POINTS,
  normalizeName,
  NoticeKind,
  PROTOCOL_VERSION,
  RATE_LIMITS,
  ServerType,
} from '@hush/protocol';
import type { SetStoreFunction } from 'solid-js/store';
import { createStore } from 'solid-js/store';
import type { BackoffOptions } from './backoff.js';
import { Backoff, RECONNECT_BACKOFF } from './backoff.js';
import { expiryText } from './format.js';
import type { Problem } from './problems.js';
import { isTransientJoinError, joinProblem, problem } from './problems.js';
import { RateBudget } from './rate-budget.js';
import { RoomStore } from './room-store.js';
import type { SocketClose, SocketFactory, SocketLike } from './socket.js';
import { CLIENT_GAVE_UP } from './socket.js';
import type { TimerHandle, Timers } from './timers.js';
import { systemTimers } from './timers.js';

/** How this client introduces itself in Hello. */
export const CLIENT_NAME = 'hush-web/0.1.0';
/** Longest message, in code points (far below the frame limit once encrypted and encoded). */
export const MAX_MESSAGE_CODE_POINTS = 4000;
/** While someone keeps typing, "typing: true" is repeated this often (receivers time out). */
export const TYPING_REFRESH_MS = 3_000;
/** "typing: false" goes out after this long without input. */
export const TYPING_IDLE_MS = 3_000;
/** A connection that has not opened and been admitted within this time is given up. */
export const CONNECT_TIMEOUT_MS = 10_000;
/**
 * A connection that received nothing for this long is dead: the relay pings every 25 s, so two
 * missed pings and some slack. Browsers can take minutes to notice a vanished network by
 * themselves.
 */
export const DEAD_AFTER_MS = 65_000;
/**
 * After a reconnect the relay may still hold our previous seat for a few seconds (a replica that
 * died is evicted by the others), which looks like "name taken" or "room full". Rejoins retry
 * those answers for this long before giving up.
 */
export const REJOIN_GRACE_MS = 30_000;
/** Random spread added to a drain notice's `retryAfterMs`, so clients do not return at once. */
export const DRAIN_JITTER_MS = 1_000;
/** Informational notices disappear after this long (0 = they stay until dismissed). */
export const NOTICE_TTL_MS = 10_000;
/** Extra room left in the client's copy of the chat rate limit, for clock differences. */
const BUDGET_MARGIN_MS = 250;
const MAX_NOTICES = 4;

/**
 * - `idle`: not in a room.
 * - `connecting`: a socket is opening.
 * - `joining`: the socket is open, CreateRoom/JoinRoom is on its way.
 * - `online`: in the room.
 * - `waiting`: the connection was lost; the next attempt is at `retryAt`.
 * - `closed`: the room ended (expired, or gone after a reconnect); no more attempts.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'joining' | 'online' | 'waiting' | 'closed';

/** Why the client is waiting to reconnect. */
export type DropReason = 'lost' | 'drain' | 'refused';

export type NoticeTone = 'info' | 'warning' | 'error';

export interface SessionNotice {
  id: number;
  tone: NoticeTone;
  text: string;
}

export interface ShareInfo {
  /** `roomId:key[:ephemeral[:expiresAt]]`. */
  code: string;
  /** `<base>#/join/<code>`. */
  link: string;
}

export interface SessionState {
  status: ConnectionStatus;
  /** Unix ms of the next connection attempt, while `waiting`. */
  retryAt: number | undefined;
  dropReason: DropReason | undefined;
  /** True once admitted to the room: from then on a lost connection means "rejoin". */
  entered: boolean;
  /** Why creating or joining failed (before entering). */
  joinError: Problem | undefined;
  /** Why the room ended (after entering). */
  ended: Problem | undefined;
  notices: SessionNotice[];
  /** Our nickname, trimmed. */
  name: string;
  share: ShareInfo | undefined;
  /** The room key's fingerprint, for members to compare out of band. */
  fingerprint: string | undefined;
  /** Longest nickname the relay accepts (from Welcome). */
  nameMax: number;
  /** Own messages waiting to be sent. */
  queued: number;
}

export interface CreateOptions {
  name: string;
  /** "" for none. Only its SHA-256 travels. */
  password: string;
  /** Seconds after which messages leave the view; 0 = off. */
  ephemeral: number;
  /** Room lifetime in seconds; 0 = never expires. */
  expiry: number;
}

export interface JoinOptions {
  name: string;
  password: string;
  code: ShareCode;
}

export type SendResult = 'queued' | 'empty' | 'too-long' | 'not-in-room';

export interface SessionDeps {
  /** The relay's WebSocket URL. */
  url: string;
  /** Page URL join links are built on (origin and path, no fragment). */
  linkBase: string;
  connect: SocketFactory;
  timers?: Timers;
  random?: () => number;
  backoff?: BackoffOptions;
}

type Intent =
  | { kind: 'create'; name: string; passwordHash: string; ephemeral: number; expiry: number }
  | { kind: 'join'; roomId: string; name: string; passwordHash: string };

interface OutboxItem {
  entryKey: string;
  id: string;
  text: string;
}

type TimerName = 'retry' | 'watchdog' | 'flush' | 'typing';

/** A fresh store; a factory so a class can keep the pair in its fields. */
function newStore(): [SessionState, SetStoreFunction<SessionState>] {
  const [state, setState] = createStore<SessionState>(initialState());
  return [state, setState];
}

function initialState(): SessionState {
  return {
    status: 'idle',
    retryAt: undefined,
    dropReason: undefined,
    entered: false,
    joinError: undefined,
    ended: undefined,
    notices: [],
    name: '',
    share: undefined,
    fingerprint: undefined,
    nameMax: NAME_MAX_CODE_POINTS,
    queued: 0,
  };
}

/**
 * The connection to the relay and the user's place in one room: socket lifecycle, negotiation,
 * create/join, reconnecting with jittered backoff and rejoining, the outbox, typing, notices.
 *
 * Delivery: a message is `queued` until the client is in the room and within the relay's chat
 * rate limit, then sealed, written to the socket and marked `sent`. Messages typed while the
 * connection is down stay queued and go out, in order, after the rejoin. If the room turns out
 * to be gone, queued messages are marked `unsent`. The protocol has no delivery receipts, so a
 * message written just before a connection silently died can still be lost; that window is
 * bounded by the liveness watchdog.
 *
 * The room key lives only in this object's memory and is dropped on `leave()`.
 */
export class Session {
  readonly state: SessionState;
  readonly room: RoomStore;
  private readonly setState: SetStoreFunction<SessionState>;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly backoff: Backoff;
  private readonly chatBudget = new RateBudget(
    RATE_LIMITS.chat.events,
    RATE_LIMITS.chat.windowMs + BUDGET_MARGIN_MS,
  );
  private readonly pending = new Map<TimerName, TimerHandle>();
  private readonly noticeTimers = new Map<number, TimerHandle>();

  private intent: Intent | undefined;
  private key: RoomKey | undefined;
  private shareCode: ShareCode | undefined;
  private socket: SocketLike | undefined;
  /** Bumped whenever a socket is replaced; callbacks of older sockets are ignored. */
  private generation = 0;
  /** Bumped by every create/join/leave, so a slow create that was cancelled does not start. */
  private startToken = 0;
  private drainHint: number | undefined;
  private rejoinTroubleSince: number | undefined;
  private outbox: OutboxItem[] = [];
  private flushing = false;
  private flushAgain = false;
  private typingSentAt: number | undefined;
  private noticeCounter = 0;

  constructor(private readonly deps: SessionDeps) {
    [this.state, this.setState] = newStore();
    this.timers = deps.timers ?? systemTimers;
    this.random = deps.random ?? Math.random;
    this.backoff = new Backoff({ ...RECONNECT_BACKOFF, ...deps.backoff, random: this.random });
    this.room = new RoomStore(this.timers);
  }

  // -------------------------------------------------------------------------------------------
  // Commands
  // -------------------------------------------------------------------------------------------

  /** Makes a room key and creates a room. False when the nickname is not acceptable. */
  async create(options: CreateOptions): Promise<boolean> {
    const name = this.acceptName(options.name);
    if (name === undefined) return false;
    const token = this.prepare(name);
    const [key, passwordHash] = await Promise.all([
      generateRoomKey(),
      hashRoomPassword(options.password),
    ]);
    if (token !== this.startToken) return false;
    this.begin(
      { kind: 'create', name, passwordHash, ephemeral: options.ephemeral, expiry: options.expiry },
      key,
    );
    return true;
  }

  /** Joins the room of a share code. False when the nickname or the code is not acceptable. */
  async join(options: JoinOptions): Promise<boolean> {
    const name = this.acceptName(options.name);
    if (name === undefined) return false;
    const token = this.prepare(name);
    let key: RoomKey;
    try {
      key = await importRoomKey(options.code.key);
    } catch {
      this.fail(problem('invalid-code'));
      return false;
    }
    const passwordHash = await hashRoomPassword(options.password);
    if (token !== this.startToken) return false;
    this.shareCode = { roomId: options.code.roomId, key: options.code.key };
    this.begin({ kind: 'join', roomId: options.code.roomId, name, passwordHash }, key);
    return true;
  }

  /** Queues a message; it goes out as soon as the room is reachable. */
  send(text: string): SendResult {
    const trimmed = text.trim();
    if (trimmed === '') return 'empty';
    if (codePoints(trimmed) > MAX_MESSAGE_CODE_POINTS) return 'too-long';
    if (this.intent === undefined || !this.state.entered) return 'not-in-room';
    const id = newMessageId();
    const entryKey = this.room.addOwn(trimmed, id, this.state.name);
    this.outbox.push({ entryKey, id, text: trimmed });
    this.setState('queued', this.outbox.length);
    this.stopTyping();
    void this.flush();
    return 'queued';
  }

  /** The composer's text changed: announces typing, throttled, and its end after a pause. */
  inputChanged(text: string): void {
    if (this.state.status !== 'online') return;
    if (text.trim() === '') {
      this.stopTyping();
      return;
    }
    const now = this.timers.now();
    if (this.typingSentAt === undefined || now - this.typingSentAt >= TYPING_REFRESH_MS) {
      if (this.write({ type: ClientType.Typing, data: { typing: true } })) this.typingSentAt = now;
    }
    this.schedule('typing', TYPING_IDLE_MS, () => this.stopTyping());
  }

  /** Announces that we stopped typing, if we had said we were. */
  stopTyping(): void {
    this.cancel('typing');
    if (this.typingSentAt === undefined) return;
    this.typingSentAt = undefined;
    this.write({ type: ClientType.Typing, data: { typing: false } });
  }

  /** Skips the rest of the backoff delay (a "retry now" button, the browser coming online). */
  retryNow(): void {
    if (this.state.status === 'waiting') this.openSocket();
  }

  /** Leaves the room (or cancels creating/joining) and forgets its key. */
  leave(): void {
    this.startToken += 1;
    if (this.state.status === 'online') this.write({ type: ClientType.LeaveRoom, data: {} });
    this.abandonSocket(1000);
    for (const name of [...this.pending.keys()]) this.cancel(name);
    for (const handle of this.noticeTimers.values()) this.timers.clearTimeout(handle);
    this.noticeTimers.clear();
    this.intent = undefined;
    this.key = undefined;
    this.shareCode = undefined;
    this.outbox = [];
    this.drainHint = undefined;
    this.rejoinTroubleSince = undefined;
    this.typingSentAt = undefined;
    this.backoff.reset();
    this.room.reset();
    this.setState({ ...initialState(), name: this.state.name, nameMax: this.state.nameMax });
  }

  dismissNotice(id: number): void {
    const handle = this.noticeTimers.get(id);
    if (handle !== undefined) this.timers.clearTimeout(handle);
    this.noticeTimers.delete(id);
    this.setState('notices', (notices) => notices.filter((n) => n.id !== id));
  }

  // -------------------------------------------------------------------------------------------
  // Connection lifecycle
  // -------------------------------------------------------------------------------------------

  private acceptName(raw: string): string | undefined {
    const name = normalizeName(raw, this.state.nameMax);
    if (name === undefined) {
      this.leave();
      this.setState('joinError', problem('invalid-name'));
    }
    return name;
  }

  private prepare(name: string): number {
    this.leave();
    this.setState({ name, status: 'connecting' });
    return this.startToken;
  }

  private begin(intent: Intent, key: RoomKey): void {
    this.intent = intent;
    this.key = key;
    keyFingerprint(key).then(
      (fingerprint) => {
        if (this.key === key) this.setState('fingerprint', fingerprint);
      },
      (error: unknown) =>
        this.notify('error', `Could not compute the key fingerprint: ${describe(error)}`, 0),
    );
    this.openSocket();
  }

  private openSocket(): void {
    this.cancel('retry');
    const generation = ++this.generation;
    this.setState({ status: 'connecting', retryAt: undefined });
    const current = () => generation === this.generation;
    this.socket = this.deps.connect(this.deps.url, {
      open: () => current() && this.onOpen(),
      message: (data) => current() && this.onFrame(data),
      close: (info) => current() && this.onClose(info),
    });
    this.armWatchdog(CONNECT_TIMEOUT_MS);
  }

  private onOpen(): void {
    const intent = this.intent;
    if (intent === undefined) return;
    this.setState('status', 'joining');
    this.write({
      type: ClientType.Hello,
      data: {
        version: PROTOCOL_VERSION,
        features: [Feature.Notices, Feature.SelfId],
        client: CLIENT_NAME,
      },
    });
    this.write(
      intent.kind === 'create'
        ? {
            type: ClientType.CreateRoom,
            data: {
              name: intent.name,
              password: intent.passwordHash,
              ephemeral: intent.ephemeral,
              expiry: intent.expiry,
            },
          }
        : {
            type: ClientType.JoinRoom,
            data: { roomId: intent.roomId, name: intent.name, password: intent.passwordHash },
          },
    );
  }

  private onFrame(data: unknown): void {
    this.armWatchdog(this.state.status === 'online' ? DEAD_AFTER_MS : CONNECT_TIMEOUT_MS);
    // Text frames are not part of the protocol; binary frames arrive as ArrayBuffers.
    if (!(data instanceof ArrayBuffer)) return;
    const decoded = decodeServerMessage(new Uint8Array(data));
    if (!decoded.ok) {
      // A newer relay may send messages this client does not know; they are not ours to handle.
      console.warn(`hush: ignored a relay frame (${decoded.error.reason})`);
      return;
    }
    try {
      this.dispatch(decoded.value);
    } catch (error) {
      // One message this client mishandles must not take the session down with it.
      console.error('hush: could not handle a relay message', error);
    }
  }

  private onClose(info: SocketClose): void {
    this.socket = undefined;
    this.cancel('watchdog');
    if (this.intent === undefined) return;
    this.scheduleReconnect(this.drainHint !== undefined || info.code === 1001 ? 'drain' : 'lost');
  }

  private scheduleReconnect(reason: DropReason): void {
    const delay =
      reason === 'drain' && this.drainHint !== undefined
        ? Math.round(this.drainHint + this.random() * DRAIN_JITTER_MS)
        : this.backoff.next();
    this.drainHint = undefined;
    this.cancel('typing');
    this.typingSentAt = undefined;
    this.room.clearTyping();
    this.setState({ status: 'waiting', retryAt: this.timers.now() + delay, dropReason: reason });
    this.schedule('retry', delay, () => this.openSocket());
  }

  /** Drops the current socket without waiting for it; its late events are ignored. */
  private abandonSocket(code: number): void {
    const socket = this.socket;
    this.socket = undefined;
    this.generation += 1;
    this.cancel('watchdog');
    socket?.close(code);
  }

  private armWatchdog(ms: number): void {
    this.schedule('watchdog', ms, () => {
      this.abandonSocket(CLIENT_GAVE_UP);
      if (this.intent !== undefined) this.scheduleReconnect('lost');
    });
  }

  /** Creating or joining failed before we were ever in the room: back to the start. */
  private fail(reason: Problem): void {
    this.leave();
    this.setState('joinError', reason);
  }

  /** The room ended while we were in it: keep the view, stop reconnecting, mark what was not sent. */
  private end(reason: Problem): void {
    this.abandonSocket(1000);
    for (const name of [...this.pending.keys()]) this.cancel(name);
    this.intent = undefined;
    this.typingSentAt = undefined;
    for (const item of this.outbox) this.room.setStatus(item.entryKey, 'unsent');
    this.outbox = [];
    this.room.clearTyping();
    this.setState({ status: 'closed', ended: reason, retryAt: undefined, queued: 0 });
  }

  // -------------------------------------------------------------------------------------------
  // Server messages
  // -------------------------------------------------------------------------------------------

  private dispatch(message: ServerMessage): void {
    switch (message.type) {
      case ServerType.RoomCreated:
        return this.onRoomCreated(message.data);
      case ServerType.RoomJoined:
        return this.onRoomJoined(message.data);
      case ServerType.MemberJoined:
        return this.room.memberJoined(message.data);
      case ServerType.MemberLeft:
        return this.room.memberLeft(message.data.id);
      case ServerType.RelayMessage:
        if (this.key !== undefined) void this.room.receive(message.data, this.key);
        return;
      case ServerType.MemberTyping:
        return this.room.memberTyping(message.data.id, message.data.typing);
      case ServerType.RoomClosed:
        return this.onRoomClosed(message.data.reason);
      case ServerType.Error:
        return this.onError(message.data.code);
      case ServerType.Ping:
        this.write({ type: ClientType.Pong, data: { t: message.data.t } });
        return;
      case ServerType.Welcome:
        this.chatBudget.configure(
          message.data.limits.chatPerWindow,
          message.data.limits.windowMs + BUDGET_MARGIN_MS,
        );
        this.setState('nameMax', message.data.limits.nameMaxCodePoints);
        return;
      case ServerType.Notice:
        return this.onNotice(message.data);
      case ServerType.RelayFileMeta:
        this.room.system(
          `${message.data.senderName} sent a file; this client cannot receive files yet.`,
        );
        return;
      case ServerType.RelayReaction:
      case ServerType.RelayFileChunk:
      case ServerType.RelayFileComplete:
      case ServerType.RelayFileCancel:
      case ServerType.RelayFileAck:
        // Reactions and file transfers are not supported by this client yet.
        return;
      default:
        return assertNever(message);
    }
  }

  private onRoomCreated(data: RoomCreated['data']): void {
    const intent = this.intent;
    if (intent?.kind !== 'create' || this.key === undefined) return;
    // From now on a reconnect rejoins this room instead of creating another one.
    this.intent = {
      kind: 'join',
      roomId: data.roomId,
      name: intent.name,
      passwordHash: intent.passwordHash,
    };
    this.shareCode = { roomId: data.roomId, key: exportRoomKey(this.key) };
  }

  private onRoomJoined(data: RoomJoined['data']): void {
    const intent = this.intent;
    const key = this.key;
    if (intent === undefined || key === undefined) return;
    if (intent.kind === 'join' && intent.roomId !== data.roomId) return;
    const rejoined = this.state.entered;
    this.intent = {
      kind: 'join',
      roomId: data.roomId,
      name: intent.name,
      passwordHash: intent.passwordHash,
    };
    this.room.joined(data, intent.name);
    const code = formatShareCode({
      ...(this.shareCode ?? { roomId: data.roomId, key: exportRoomKey(key) }),
      ...(data.ephemeral > 0 || data.expiresAt > 0
        ? { ephemeral: data.ephemeral, expiresAt: data.expiresAt }
        : {}),
    });
    this.backoff.reset();
    this.rejoinTroubleSince = undefined;
    this.setState({
      status: 'online',
      entered: true,
      retryAt: undefined,
      dropReason: undefined,
      joinError: undefined,
      share: { code, link: joinLink(this.deps.linkBase, code) },
    });
    this.armWatchdog(DEAD_AFTER_MS);
    if (rejoined) this.room.system('You are back in the room.');
    void this.flush();
  }

  private onRoomClosed(reason: string): void {
    const why = reason === 'expired' ? problem('room-expired') : problem('room-closed');
    if (this.state.entered) this.end(why);
    else this.fail(why);
  }

  private onError(code: ErrorCodeType): void {
    if (this.state.status === 'joining') {
      this.onJoinRefused(code);
      return;
    }
    switch (code) {
      case ErrorCode.RateLimited:
        this.notify(
          'warning',
          'You are sending too fast: the relay refused a message. Wait a moment before sending more.',
        );
        return;
      case ErrorCode.NotInRoom:
        // The relay no longer counts us as a member: rejoin on a fresh connection.
        this.abandonSocket(1000);
        if (this.intent !== undefined) this.scheduleReconnect('lost');
        return;
      case ErrorCode.Unavailable:
        this.notify(
          'warning',
          'The relay could not reach part of its cluster; some members may have missed your last message.',
        );
        return;
      default:
        this.notify('error', `The relay refused a message (${code}).`);
    }
  }

  private onJoinRefused(code: ErrorCodeType): void {
    const rejoining = this.state.entered;
    if (isTransientJoinError(code, rejoining)) {
      const now = this.timers.now();
      const seatTrouble = code === ErrorCode.NameTaken || code === ErrorCode.RoomFull;
      if (seatTrouble) this.rejoinTroubleSince ??= now;
      if (!seatTrouble || now - (this.rejoinTroubleSince ?? now) < REJOIN_GRACE_MS) {
        this.abandonSocket(1000);
        this.scheduleReconnect('refused');
        return;
      }
    }
    const reason = joinProblem(code, rejoining);
    if (rejoining) this.end(reason);
    else this.fail(reason);
  }

  private onNotice(data: Notice['data']): void {
    switch (data.kind) {
      case NoticeKind.Drain:
        this.drainHint = Math.max(0, data.retryAfterMs ?? 0);
        return;
      case NoticeKind.Expiring:
        this.notify(
          'warning',
          data.expiresAt === undefined
            ? 'This room closes soon.'
            : `This room closes ${expiryText(data.expiresAt, this.timers.now())}.`,
          0,
        );
        return;
      case NoticeKind.Sequences: // only for `gaps`, which this store does not ask for
        return;
      default:
        return assertNever(data.kind);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Outbox
  // -------------------------------------------------------------------------------------------

  /** Sends queued messages in order while in the room and within the chat rate limit. */
  private async flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    try {
      while (this.outbox.length > 0 && this.state.status === 'online') {
        const key = this.key;
        const item = this.outbox[0];
        if (key === undefined || item === undefined) break;
        const wait = this.chatBudget.wait(this.timers.now());
        if (wait > 0) {
          if (!this.pending.has('flush')) this.schedule('flush', wait, () => void this.flush());
          break;
        }
        const generation = this.generation;
        let sealed;
        try {
          sealed = await sealMessage(key, { text: item.text, id: item.id });
        } catch (error) {
          this.outbox.shift();
          this.room.setStatus(item.entryKey, 'unsent');
          this.notify('error', `A message could not be encrypted: ${describe(error)}`, 0);
          continue;
        }
        // The connection changed while sealing: leave the message for the next flush.
        if (generation !== this.generation || this.outbox[0] !== item) break;
        if (!this.write({ type: ClientType.SendMessage, data: sealed })) break;
        this.chatBudget.take(this.timers.now());
        this.outbox.shift();
        this.room.setStatus(item.entryKey, 'sent');
      }
    } finally {
      this.flushing = false;
      this.setState('queued', this.outbox.length);
    }
    if (this.flushAgain) {
      this.flushAgain = false;
      await this.flush();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  private write(message: ClientMessage): boolean {
    const socket = this.socket;
    if (socket === undefined || !socket.isOpen) return false;
    socket.send(encode(message));
    return true;
  }

  private notify(tone: NoticeTone, text: string, ttlMs: number = NOTICE_TTL_MS): void {
    const id = ++this.noticeCounter;
    const notices = [...this.state.notices, { id, tone, text }];
    for (const dropped of notices.slice(0, -MAX_NOTICES)) this.dismissNotice(dropped.id);
    this.setState('notices', notices.slice(-MAX_NOTICES));
    if (ttlMs > 0) {
      this.noticeTimers.set(
        id,
        this.timers.setTimeout(() => this.dismissNotice(id), ttlMs),
      );
    }
  }

  private schedule(name: TimerName, ms: number, callback: () => void): void {
    this.cancel(name);
    this.pending.set(
      name,
      this.timers.setTimeout(() => {
        this.pending.delete(name);
        callback();
      }, ms),
    );
  }

  private cancel(name: TimerName): void {
    const handle = this.pending.get(name);
    if (handle === undefined) return;
    this.timers.clearTimeout(handle);
    this.pending.delete(name);
  }
}

/** Length in code points, as the composer counts it. */
export function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function assertNever(value: never): never {
  throw new Error(`unhandled relay message ${JSON.stringify(value)}`);
}
