import type { RoomKey, Sealed } from '@hush/crypto';
import {
  hashRoomPassword,
  isHushCryptoError,
  newMessageId,
  openMessage,
  sealMessage,
} from '@hush/crypto';
import type {
  ClientMessage,
  ErrorCode,
  Member,
  NoticeKind,
  RelayMessage,
  RoomJoined,
  ServerMessage,
} from '@hush/protocol';
import {
  ClientType,
  ErrorCode as Codes,
  decodeFrame,
  decodeServerMessage,
  encode,
  Feature,
  MAX_FRAME_BYTES,
  nameKey,
  NoticeKind as Notices,
  PING_INTERVAL_MS,
  PONG_TIMEOUT_MS,
  PROTOCOL_VERSION,
  RATE_LIMITS,
  ServerType,
} from '@hush/protocol';
import type { RawData } from 'ws';
import { WebSocket } from 'ws';
import type { SessionEnd } from './errors.js';
import { assertNever } from './errors.js';
import type { Budget } from './pacer.js';
import { Pacer } from './pacer.js';
import { CLIENT_NAME } from './version.js';

/** What the session asks the relay for first. */
export type SessionTarget =
  { kind: 'create'; ephemeral: number; expiry: number } | { kind: 'join'; roomId: string };

/** The room's settings, as RoomJoined reports them. */
export interface RoomInfo {
  roomId: string;
  hasPassword: boolean;
  /** Seconds after which clients should hide messages; 0 = not ephemeral. */
  ephemeral: number;
  /** Unix seconds; 0 = never. */
  expiresAt: number;
}

/** Everything a session reports. Renderers turn these into output; tests assert on them. */
export type SessionEvent =
  | { type: 'connecting'; url: string; attempt: number }
  | { type: 'welcome'; version: number; features: readonly string[] }
  /** CreateRoom succeeded; RoomJoined follows. */
  | { type: 'created'; roomId: string; expiresAt: number }
  /** In the room, for the first time or again after a reconnect (`rejoin`). */
  | {
      type: 'joined';
      room: RoomInfo;
      self: Member;
      members: readonly Member[];
      rejoin: boolean;
    }
  | { type: 'member-joined'; member: Member }
  | { type: 'member-left'; member: Member }
  /** A chat message that decrypted. `t` is the relay's time, unix ms. */
  | { type: 'message'; from: Member; text: string; id: string | undefined; t: number }
  /** A chat message that did not decrypt: a wrong key, or a sender using another key. */
  | { type: 'undecryptable'; from: Member; t: number; firstFromSender: boolean }
  /** One of our messages was written to the relay. */
  | { type: 'sent'; id: string; text: string }
  /** Someone offered a file; the terminal client does not take files. */
  | { type: 'file-offered'; from: Member }
  | { type: 'notice'; kind: NoticeKind; message: string }
  /** An Error from the relay that did not end the session. */
  | { type: 'server-error'; code: ErrorCode; retrying: boolean }
  /** Something odd the user may want to know about (an unreadable frame, a silent relay). */
  | { type: 'warning'; detail: string }
  | { type: 'disconnected'; code: number; reason: string; retryInMs: number };

export interface ReconnectPolicy {
  /** First delay after a drop; doubles per failed attempt, with jitter. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up when no rejoin succeeded for this long. Longer than the relay's pong timeout, so a
   * ghost of our previous connection holding our nickname (E020) has time to be dropped. */
  giveUpAfterMs: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = {
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  giveUpAfterMs: 120_000,
};

export interface SessionOptions {
  /** ws(s):// URL of the relay's WebSocket endpoint. */
  url: string;
  /** Nickname, already normalised. */
  name: string;
  key: RoomKey;
  target: SessionTarget;
  /** `hashRoomPassword` output: '' for none. */
  passwordHash?: string;
  /**
   * Asked when a join fails with E006 and no password was given (or the last prompted one was
   * wrong). Resolves with the password, or undefined to give up. Leave unset when nobody can answer.
   */
  askPassword?: (attempt: number) => Promise<string | undefined>;
  onEvent: (event: SessionEvent) => void;
  reconnect?: Partial<ReconnectPolicy>;
  /** Reconnect when the relay has been silent this long (it pings every 25 s). */
  idleTimeoutMs?: number;
  now?: () => number;
}

type State = 'idle' | 'connecting' | 'joining' | 'in-room' | 'waiting' | 'leaving' | 'ended';

interface Outgoing {
  id: string;
  text: string;
  /** Sealed once, so a message retried after a reconnect is the same ciphertext. */
  sealed?: Sealed;
}

interface CloseInfo {
  code: number;
  reason: string;
  opened: boolean;
  failure: string | undefined;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long a clean close may take before the socket is dropped. */
const CLOSE_TIMEOUT_MS = 2_000;
/** Relayed frames carry sender fields on top of what a client may send; leave them room. */
const MAX_INCOMING_FRAME_BYTES = 4 * MAX_FRAME_BYTES;
const MAX_PASSWORD_PROMPTS = 3;

/**
 * One person in one room: the WebSocket connection, joining or creating, reconnecting with
 * backoff and rejoining, the outgoing queue, decryption of what arrives. It knows nothing about
 * terminals; everything it has to say goes through `onEvent`, and `done` says how it ended.
 */
export class Session {
  /** Resolves once, with how the session ended. Never rejects. */
  readonly done: Promise<SessionEnd>;
  private resolveDone: (end: SessionEnd) => void = () => undefined;
  private state: State = 'idle';
  private socket: WebSocket | undefined;
  private roomId: string | undefined;
  private room: RoomInfo | undefined;
  private selfId: string | undefined;
  private readonly roster = new Map<string, Member>();
  private readonly outbox: Outgoing[] = [];
  private pumping = false;
  private pumpAgain = false;
  private budget: Budget = RATE_LIMITS.chat;
  private readonly pacer: Pacer;
  private readonly policy: ReconnectPolicy;
  private readonly idleTimeoutMs: number;
  private readonly now: () => number;
  private passwordHash: string;
  private passwordPrompts = 0;
  private everJoined = false;
  private everOpened = false;
  private welcomed = false;
  private helloRefused = false;
  private failedAttempts = 0;
  private outageSince: number | undefined;
  private retryHintMs: number | undefined;
  /** Server messages are handled one at a time, in order, though decryption is asynchronous. */
  private inbox: Promise<void> = Promise.resolve();
  private readonly undecryptableFrom = new Set<string>();
  private drainWaiters: (() => void)[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SessionOptions) {
    this.now = options.now ?? Date.now;
    this.pacer = new Pacer(this.budget, this.now);
    this.policy = { ...DEFAULT_RECONNECT, ...options.reconnect };
    this.idleTimeoutMs = options.idleTimeoutMs ?? PING_INTERVAL_MS + PONG_TIMEOUT_MS;
    this.passwordHash = options.passwordHash ?? '';
    if (options.target.kind === 'join') this.roomId = options.target.roomId;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Opens the first connection. */
  start(): void {
    if (this.state !== 'idle') throw new Error('a session starts once');
    this.open();
  }

  /** Queues a chat message; it goes out (paced) while in the room. Returns its message id. */
  send(text: string): string | undefined {
    if (this.state === 'ended' || this.state === 'leaving') return undefined;
    const id = newMessageId();
    this.outbox.push({ id, text });
    this.kick();
    return id;
  }

  /** Messages queued and not yet written to the relay. */
  get pending(): number {
    return this.outbox.length;
  }

  /** True once a password (given or prompted) has been sent with a join. */
  get passwordUsed(): boolean {
    return this.passwordHash !== '';
  }

  get inRoom(): boolean {
    return this.state === 'in-room';
  }

  /** The room as last joined. */
  get roomInfo(): RoomInfo | undefined {
    return this.room;
  }

  /** Everyone in the room as last known, us included. */
  members(): Member[] {
    return [...this.roster.values()];
  }

  /** Our own member entry, once joined. */
  self(): Member | undefined {
    return this.selfId === undefined ? undefined : this.roster.get(this.selfId);
  }

  /**
   * Resolves when we are in the room with nothing left to send (every queued message written to
   * the socket), or when the session has ended.
   */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      this.settleDrain();
    });
  }

  /** Leaves the room (LeaveRoom, then a 1000 close) and ends the session. Idempotent. */
  leave(): Promise<SessionEnd> {
    if (this.state === 'ended' || this.state === 'leaving') return this.done;
    const socket = this.socket;
    const wasMember = this.state === 'in-room' || this.state === 'joining';
    this.clearTimers();
    if (socket === undefined) {
      this.end({ kind: 'left' });
      return this.done;
    }
    this.state = 'leaving';
    if (socket.readyState === WebSocket.OPEN) {
      if (wasMember) void this.write(socket, { type: ClientType.LeaveRoom, data: {} });
      socket.close(1000, 'leaving');
      this.closeTimer = setTimeout(() => socket.terminate(), CLOSE_TIMEOUT_MS);
    } else {
      socket.terminate();
    }
    return this.done;
  }

  // -------------------------------------------------------------------------------------------
  // Connection
  // -------------------------------------------------------------------------------------------

  private open(): void {
    this.retryTimer = undefined;
    this.state = 'connecting';
    this.emit({ type: 'connecting', url: this.options.url, attempt: this.failedAttempts + 1 });
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.options.url, {
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        maxPayload: MAX_INCOMING_FRAME_BYTES,
        perMessageDeflate: false,
      });
    } catch (error) {
      this.end({ kind: 'unreachable', detail: errorText(error), rejoin: this.everJoined });
      return;
    }
    this.socket = socket;
    const info: CloseInfo = { code: 1006, reason: '', opened: false, failure: undefined };
    socket.on('open', () => {
      info.opened = true;
      this.onOpen(socket);
    });
    socket.on('message', (data, isBinary) => this.onFrame(socket, data, isBinary));
    socket.on('ping', () => this.touch(socket));
    socket.on('error', (error) => (info.failure = errorText(error)));
    socket.on('close', (code, reason) => {
      info.code = code;
      info.reason = reason.toString();
      this.onClose(socket, info);
    });
  }

  private onOpen(socket: WebSocket): void {
    if (socket !== this.socket) return;
    if (this.state === 'leaving') {
      socket.close(1000, 'leaving');
      return;
    }
    this.everOpened = true;
    this.state = 'joining';
    this.welcomed = false;
    this.helloRefused = false;
    this.pacer.reset(this.budget);
    this.touch(socket);
    void this.write(socket, {
      type: ClientType.Hello,
      data: {
        version: PROTOCOL_VERSION,
        features: [Feature.Notices, Feature.SelfId],
        client: CLIENT_NAME,
      },
    });
    this.requestRoom(socket);
  }

  private requestRoom(socket: WebSocket): void {
    const { name, target } = this.options;
    const password = this.passwordHash;
    if (this.roomId === undefined && target.kind === 'create') {
      void this.write(socket, {
        type: ClientType.CreateRoom,
        data: { name, password, ephemeral: target.ephemeral, expiry: target.expiry },
      });
    } else if (this.roomId !== undefined) {
      void this.write(socket, {
        type: ClientType.JoinRoom,
        data: { roomId: this.roomId, name, password },
      });
    }
  }

  private onClose(socket: WebSocket, info: CloseInfo): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    clearTimeout(this.idleTimer);
    clearTimeout(this.closeTimer);
    if (this.state === 'ended') return;
    if (this.state === 'leaving') {
      this.end({ kind: 'left' });
      return;
    }
    const detail = info.failure ?? closeText(info);
    if (!this.everOpened) {
      // The very first connection failed: report it now rather than retry in silence.
      this.end({ kind: 'unreachable', detail, rejoin: false });
      return;
    }
    const now = this.now();
    this.outageSince ??= now;
    const left = this.outageSince + this.policy.giveUpAfterMs - now;
    if (left <= 0) {
      const seconds = Math.round(this.policy.giveUpAfterMs / 1000);
      this.end({
        kind: 'unreachable',
        detail: `gave up after ${seconds} s; last: ${detail}`,
        rejoin: this.everJoined,
      });
      return;
    }
    const delay = Math.min(left, this.retryHintMs ?? this.backoff());
    this.retryHintMs = undefined;
    this.failedAttempts += 1;
    this.state = 'waiting';
    this.settleDrain();
    this.emit({ type: 'disconnected', code: info.code, reason: info.reason, retryInMs: delay });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private backoff(): number {
    const { initialDelayMs, maxDelayMs } = this.policy;
    const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(this.failedAttempts, 20));
    // Jitter spreads the reconnects of everyone a relay restart dropped at once.
    return Math.round(ceiling * (0.5 + Math.random() * 0.5));
  }

  /** Closes this connection so the reconnect path opens a fresh one after a backoff. */
  private recycle(socket: WebSocket): void {
    if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'retrying');
    else socket.terminate();
  }

  /** Any traffic proves the relay alive; silence past the timeout means a dead connection. */
  private touch(socket: WebSocket): void {
    if (socket !== this.socket) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (socket !== this.socket) return;
      const seconds = Math.round(this.idleTimeoutMs / 1000);
      this.emit({ type: 'warning', detail: `no word from the relay for ${seconds} s` });
      socket.terminate();
    }, this.idleTimeoutMs);
  }

  // -------------------------------------------------------------------------------------------
  // Incoming
  // -------------------------------------------------------------------------------------------

  private onFrame(socket: WebSocket, data: RawData, isBinary: boolean): void {
    if (socket !== this.socket) return;
    this.touch(socket);
    this.inbox = this.inbox
      .then(() => this.receiveFrame(socket, data, isBinary))
      .catch((error: unknown) => this.end({ kind: 'failed', detail: errorText(error) }));
  }

  private async receiveFrame(socket: WebSocket, data: RawData, isBinary: boolean): Promise<void> {
    if (socket !== this.socket || this.state === 'ended') return;
    if (!isBinary) {
      this.emit({ type: 'warning', detail: 'the relay sent a text frame; ignored it' });
      return;
    }
    const bytes = rawBytes(data);
    const decoded = decodeServerMessage(bytes);
    if (decoded.ok) {
      await this.handle(socket, decoded.value);
      return;
    }
    const unknownError = foreignError(bytes);
    if (unknownError !== undefined && this.state === 'joining') {
      this.end({ kind: 'failed', detail: `the relay refused us: ${unknownError}` });
      return;
    }
    this.emit({
      type: 'warning',
      detail:
        unknownError === undefined
          ? `ignored a frame the relay sent (${decoded.error.message})`
          : `the relay reported ${unknownError}`,
    });
  }

  private async handle(socket: WebSocket, message: ServerMessage): Promise<void> {
    switch (message.type) {
      case ServerType.Ping:
        void this.write(socket, { type: ClientType.Pong, data: { t: message.data.t } });
        return;
      case ServerType.Welcome: {
        const { limits } = message.data;
        this.welcomed = true;
        this.budget = { events: limits.chatPerWindow, windowMs: limits.windowMs };
        this.pacer.reset(this.budget);
        this.emit({
          type: 'welcome',
          version: message.data.version,
          features: message.data.features,
        });
        return;
      }
      case ServerType.RoomCreated:
        if (!this.everJoined) {
          this.emit({
            type: 'created',
            roomId: message.data.roomId,
            expiresAt: message.data.expiresAt,
          });
        }
        return;
      case ServerType.RoomJoined:
        this.joined(message.data);
        return;
      case ServerType.MemberJoined:
        this.roster.set(message.data.id, message.data);
        if (message.data.id !== this.selfId) {
          this.emit({ type: 'member-joined', member: message.data });
        }
        return;
      case ServerType.MemberLeft: {
        const member = this.roster.get(message.data.id);
        this.roster.delete(message.data.id);
        if (member !== undefined && member.id !== this.selfId) {
          this.emit({ type: 'member-left', member });
        }
        return;
      }
      case ServerType.RelayMessage:
        await this.receiveMessage(message.data);
        return;
      case ServerType.RoomClosed:
        this.end({ kind: 'room-closed', reason: message.data.reason });
        return;
      case ServerType.Error:
        this.onServerError(socket, message.data.code);
        return;
      case ServerType.Notice:
        if (message.data.kind === Notices.Drain && message.data.retryAfterMs !== undefined) {
          this.retryHintMs = message.data.retryAfterMs;
        }
        this.emit({ type: 'notice', kind: message.data.kind, message: message.data.msg });
        return;
      case ServerType.RelayFileMeta:
        this.emit({ type: 'file-offered', from: this.sender(message.data) });
        return;
      case ServerType.MemberTyping:
      case ServerType.RelayReaction:
      case ServerType.RelayFileChunk:
      case ServerType.RelayFileComplete:
      case ServerType.RelayFileCancel:
      case ServerType.RelayFileAck:
        // The terminal client shows neither typing, reactions nor file transfers.
        return;
      default:
        assertNever(message);
    }
  }

  private joined(data: RoomJoined['data']): void {
    const rejoin = this.everJoined;
    const before = new Map(this.roster);
    const selfBefore = this.selfId;
    this.roster.clear();
    for (const member of data.members) this.roster.set(member.id, member);
    const key = nameKey(this.options.name);
    const self =
      (data.selfId === undefined ? undefined : this.roster.get(data.selfId)) ??
      data.members.find((m) => nameKey(m.name) === key);
    this.selfId = self?.id;
    this.roomId = data.roomId;
    this.room = {
      roomId: data.roomId,
      hasPassword: data.hasPassword,
      ephemeral: data.ephemeral,
      expiresAt: data.expiresAt,
    };
    this.state = 'in-room';
    this.everJoined = true;
    this.failedAttempts = 0;
    this.outageSince = undefined;
    this.passwordPrompts = 0;
    this.emit({
      type: 'joined',
      room: this.room,
      self: self ?? { id: '', name: this.options.name, color: '' },
      members: data.members,
      rejoin,
    });
    if (rejoin) {
      // What changed while we were away, as if we had seen it happen.
      for (const member of before.values()) {
        if (member.id !== selfBefore && !this.roster.has(member.id)) {
          this.emit({ type: 'member-left', member });
        }
      }
      for (const member of this.roster.values()) {
        if (member.id !== this.selfId && !before.has(member.id)) {
          this.emit({ type: 'member-joined', member });
        }
      }
    }
    this.kick();
  }

  private async receiveMessage(data: RelayMessage['data']): Promise<void> {
    const from = this.sender(data);
    try {
      const payload = await openMessage(this.options.key, data);
      this.emit({ type: 'message', from, text: payload.text, id: payload.id, t: data.t });
    } catch (error) {
      if (!isHushCryptoError(error)) throw error;
      const key = nameKey(from.name);
      const firstFromSender = !this.undecryptableFrom.has(key);
      this.undecryptableFrom.add(key);
      this.emit({ type: 'undecryptable', from, t: data.t, firstFromSender });
    }
  }

  /** The sender as the relay names it (authoritative), with the colour from the roster. */
  private sender(data: { senderId: string; senderName: string }): Member {
    const known = this.roster.get(data.senderId);
    return { id: data.senderId, name: data.senderName, color: known?.color ?? '' };
  }

  private onServerError(socket: WebSocket, code: ErrorCode): void {
    if (this.state !== 'joining') {
      if (code === Codes.RateLimited) this.pacer.exhaust();
      this.emit({ type: 'server-error', code, retrying: false });
      return;
    }
    if (code === Codes.InvalidMessage && !this.welcomed && !this.helloRefused) {
      // A relay without our extensions refuses Hello; the room request after it still counts.
      this.helloRefused = true;
      return;
    }
    if (code === Codes.WrongPassword) {
      this.retryPassword(socket).catch((error: unknown) =>
        this.end({ kind: 'failed', detail: errorText(error) }),
      );
      return;
    }
    const transient = code === Codes.RateLimited || code === Codes.Unavailable;
    // On a rejoin the relay may still hold our dropped connection's seat (and nickname) until
    // its liveness check runs out; a full room may free a seat too.
    const seatPending = this.everJoined && (code === Codes.NameTaken || code === Codes.RoomFull);
    if (transient || seatPending) {
      this.emit({ type: 'server-error', code, retrying: true });
      this.recycle(socket);
      return;
    }
    this.end({ kind: 'refused', code, rejoin: this.everJoined });
  }

  private async retryPassword(socket: WebSocket): Promise<void> {
    const ask = this.options.askPassword;
    const mayAsk =
      ask !== undefined &&
      !this.everJoined &&
      (this.passwordHash === '' || this.passwordPrompts > 0) &&
      this.passwordPrompts < MAX_PASSWORD_PROMPTS;
    if (!mayAsk) {
      this.end({ kind: 'refused', code: Codes.WrongPassword, rejoin: this.everJoined });
      return;
    }
    this.passwordPrompts += 1;
    const password = await ask(this.passwordPrompts);
    if (this.state === 'ended' || this.state === 'leaving') return;
    if (password === undefined || password === '') {
      this.end({ kind: 'refused', code: Codes.WrongPassword, rejoin: false });
      return;
    }
    this.passwordHash = await hashRoomPassword(password);
    // If the connection changed meanwhile, the next attempt carries the new password anyway.
    if (socket === this.socket && this.state === 'joining') this.requestRoom(socket);
  }

  // -------------------------------------------------------------------------------------------
  // Outgoing
  // -------------------------------------------------------------------------------------------

  private write(socket: WebSocket, message: ClientMessage): Promise<boolean> {
    return new Promise((resolve) => {
      if (socket.readyState !== WebSocket.OPEN) {
        resolve(false);
        return;
      }
      socket.send(encode(message), (error) => resolve(error === undefined || error === null));
    });
  }

  private kick(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pump().catch((error: unknown) => this.end({ kind: 'failed', detail: errorText(error) }));
  }

  /** Sends queued messages in order while in the room, paced to the relay's chat budget. */
  private async pump(): Promise<void> {
    this.pumping = true;
    this.pumpAgain = false;
    try {
      while (this.state === 'in-room' && this.pumpTimer === undefined) {
        const item = this.outbox[0];
        if (item === undefined) break;
        const wait = this.pacer.delay();
        if (wait > 0) {
          this.pumpTimer = setTimeout(() => {
            this.pumpTimer = undefined;
            this.kick();
          }, wait);
          break;
        }
        item.sealed ??= await sealMessage(this.options.key, { text: item.text, id: item.id });
        const socket = this.socket;
        if (this.state !== 'in-room' || socket === undefined) break;
        this.pacer.take();
        // A failed write leaves the message queued for the connection that rejoins.
        if (!(await this.write(socket, { type: ClientType.SendMessage, data: item.sealed }))) break;
        this.outbox.shift();
        this.emit({ type: 'sent', id: item.id, text: item.text });
      }
    } finally {
      this.pumping = false;
      this.settleDrain();
    }
    if (this.pumpAgain) this.kick();
  }

  private settleDrain(): void {
    const drained =
      this.state === 'ended' ||
      (this.state === 'in-room' && this.outbox.length === 0 && !this.pumping);
    if (!drained || this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // -------------------------------------------------------------------------------------------

  private end(end: SessionEnd): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.clearTimers();
    clearTimeout(this.idleTimer);
    const socket = this.socket;
    if (socket !== undefined) {
      if (socket.readyState === WebSocket.OPEN) {
        socket.close(1000, 'done');
        this.closeTimer = setTimeout(() => socket.terminate(), CLOSE_TIMEOUT_MS);
        this.closeTimer.unref();
      } else {
        socket.terminate();
      }
    }
    this.settleDrain();
    this.resolveDone(end);
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.pumpTimer);
    this.retryTimer = undefined;
    this.pumpTimer = undefined;
  }

  private emit(event: SessionEvent): void {
    this.options.onEvent(event);
  }
}

function rawBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/** An Error frame whose code this client does not know (a newer relay), as "E0xx: text". */
function foreignError(bytes: Uint8Array): string | undefined {
  const frame = decodeFrame(bytes, MAX_INCOMING_FRAME_BYTES);
  if (!frame.ok || !isRecord(frame.value) || frame.value['type'] !== ServerType.Error) {
    return undefined;
  }
  const data = frame.value['data'];
  if (!isRecord(data) || typeof data['code'] !== 'string') return undefined;
  const msg = typeof data['msg'] === 'string' ? data['msg'] : '';
  return `error ${data['code'].slice(0, 8)}: ${msg.slice(0, 200)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const UPGRADE_REFUSALS: Readonly<Record<string, string>> = {
  '403': 'the relay refused the connection: origin not allowed',
  '429': 'the relay refused the connection: too many connections from this address',
  '503': 'the relay is shutting down',
};

function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const status = /Unexpected server response: (\d+)/.exec(message)?.[1];
  if (status !== undefined) {
    return UPGRADE_REFUSALS[status] ?? `the relay answered HTTP ${status} instead of a WebSocket`;
  }
  return message;
}

function closeText(info: CloseInfo): string {
  return info.reason === ''
    ? `connection closed (${info.code})`
    : `connection closed (${info.code} ${info.reason})`;
}
