import type { RoomKey, Sealed, SigningKeyPair } from '@hush/crypto';
import {
  generateSigningKeyPair,
  hashRoomPassword,
  isHushCryptoError,
  isKeyAnnouncement,
  keyFingerprint,
  makeKeyAnnouncement,
  MAX_REACTION_EMOJI_LENGTH,
  newMessageId,
  openMessageWithJson,
  openReaction,
  openTyping,
  readKeyAnnouncement,
  replyPreview,
  roomSafetyCode,
  sealMessage,
  sealReaction,
  sealTyping,
  signPayload,
  signingKeyFingerprint,
} from '@hush/crypto';
import type {
  ClientMessage,
  ErrorCode as ErrorCodeType,
  Member,
  MemberTyping,
  RateKind,
  RelayMessage,
  RelayReaction,
  RoomJoined,
  ServerLimits,
  ServerMessage,
} from '@hush/protocol';
import {
  ClientType,
  ErrorCode,
  Feature,
  MAX_FRAME_BYTES,
  NoticeKind,
  PONG_TIMEOUT_MS,
  PROTOCOL_VERSION,
  ServerType,
  decodeFrame,
  decodeServerMessage,
  encode,
  nameKey,
} from '@hush/protocol';
import { Backoff } from './backoff.js';
import type { Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';
import type {
  ChatMessage,
  ReactionTarget,
  ReplyInfo,
  RoomInfo,
  SessionEnd,
  SessionEvent,
  Verification,
} from './events.js';
import type { FileStep, SendFileResult } from './file-transfers.js';
import { FileTransfers } from './file-transfers.js';
import { GapTracker } from './gap-tracker.js';
import { KeyStore } from './key-store.js';
import { MessageLog, logged, stableIdOf } from './message-log.js';
import { Pacer } from './pacer.js';
import type { SessionPolicy } from './policy.js';
import { DEFAULT_POLICY, isSeatError, isTransientError } from './policy.js';
import type { Connection, Transport, TransportClose } from './transport/transport.js';

/** Longest message, in code points: far below the frame limit once signed, encrypted and encoded. */
export const MAX_MESSAGE_CODE_POINTS = 4_000;

/**
 * The room lifetime clients ask for unless someone chooses another: none. A room ends anyway when
 * its last member leaves; web and terminal clients share this default.
 */
export const DEFAULT_ROOM_EXPIRY_SECONDS = 0;

/** What the session asks the relay for. */
export type SessionTarget =
  { kind: 'create'; ephemeral: number; expiry: number } | { kind: 'join'; roomId: string };

export interface SessionOptions {
  /** ws(s):// URL of the relay's WebSocket endpoint. */
  url: string;
  transport: Transport;
  /** Nickname, already normalised. */
  name: string;
  key: RoomKey;
  target: SessionTarget;
  /** `hashRoomPassword` output; '' (the default) for none. */
  passwordHash?: string;
  /**
   * Asked when a first join fails with E006 and no password was given (or the last prompted one
   * was wrong). Resolves with the password, or undefined to give up. Leave unset when nobody can
   * answer.
   */
  askPassword?: (attempt: number) => Promise<string | undefined>;
  /** How this client introduces itself in Hello, e.g. `hush-cli/0.1.0`. */
  client: string;
  /**
   * The signing key pair: `'generate'` (the default) makes one for this session, `'none'` runs
   * unsigned (as Arthas clients do without Ed25519).
   */
  signing?: SigningKeyPair | 'generate' | 'none';
  clock?: Clock;
  /** Uniform random numbers in [0, 1), for jitter. */
  random?: () => number;
  policy?: Partial<SessionPolicy>;
  /** Largest incoming file taken, bytes. */
  maxFileBytes?: number;
  /**
   * This join resumes a membership of an earlier session (a reloaded page): the relay may still
   * hold that seat for a moment, so E020 and E002 on the first join are retried as on a rejoin.
   */
  resumed?: boolean;
}

export type SendResult =
  | { ok: true; ref: number }
  | { ok: false; reason: 'empty' | 'too-long' | 'ended' | 'unknown-message' };

/** A member's signing key as this session knows it, for `/verify`. */
export interface MemberKey {
  member: Member;
  self: boolean;
  /** Undefined when the member never announced a (valid) key. */
  fingerprint: string | undefined;
}

/** What people compare out of band. */
export interface VerificationReport {
  /** The room key's fingerprint (`keyFingerprint`). */
  roomKeyFingerprint: string;
  /** The room safety code over the room key and the known keys of the members present. */
  safetyCode: string;
  members: MemberKey[];
}

type State = 'idle' | 'connecting' | 'joining' | 'in-room' | 'waiting' | 'leaving' | 'ended';

interface OutgoingMessage {
  ref: number;
  id: string;
  text: string;
  reply: ReplyInfo | undefined;
  /** Signed and sealed once, so a message retried after a reconnect is the same ciphertext. */
  sealed?: Sealed;
}

interface OutgoingReaction {
  stableId: string;
  messageId: string | undefined;
  emoji: string;
  action: 'add' | 'remove';
  sealed?: Sealed;
}

/** One thing to send and the budget it spends; `free` steps spend none. */
interface Step {
  kind: RateKind;
  free?: boolean;
  /** The frame to send, sealed once. */
  prepare(): Promise<ClientMessage>;
  /** It was written. */
  commit(): void;
  /** It cannot be sent at all (too large for the relay); `why` is for people. */
  drop(why: string): void;
}

/**
 * The close code `disconnected` reports when the client itself gave up on a connection (a silent
 * relay, a retry); on the wire such connections close normally (1000).
 */
export const CLIENT_CLOSED = 4000;

/** Relayed frames carry sender fields on top of what a client may send; leave them room. */
export const MAX_INCOMING_FRAME_BYTES = 4 * MAX_FRAME_BYTES;

/**
 * One person in one room, speaking everything Arthas clients say: the connection (Hello and
 * Welcome, create or join, reconnect with backoff and drain hints, rejoin), an outbox sealed once
 * and paced by the relay's budgets, signed payloads and their verification, key announcements,
 * replies, reactions, encrypted typing, file transfer and ephemeral expiry. It knows nothing of
 * screens or terminals: everything it has to say is a {@link SessionEvent}, and {@link done} says
 * how it ended. Transport and clock are injected.
 */
export class Session {
  /** Resolves once, with how the session ended. Never rejects. */
  readonly done: Promise<SessionEnd>;
  private resolveDone: (end: SessionEnd) => void = () => undefined;
  private readonly listeners = new Set<(event: SessionEvent) => void>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly policy: SessionPolicy;
  private readonly backoff: Backoff;
  private readonly pacer: Pacer;
  private readonly keys = new KeyStore();
  private readonly log = new MessageLog();
  private readonly files: FileTransfers;
  private state: State = 'idle';
  private connection: Connection | undefined;
  /** Identifies the current connection; callbacks of older ones are ignored. */
  private token: object = {};
  private signing: SigningKeyPair | undefined;
  private limits: ServerLimits | undefined;
  private roomId: string | undefined;
  private room: RoomInfo | undefined;
  private selfId: string | undefined;
  private readonly roster = new Map<string, Member>();
  private passwordHash: string;
  private passwordPrompts = 0;
  private everJoined = false;
  /** What never arrived, from the relay's sequence numbers (feature `gaps`). */
  private readonly gaps = new GapTracker<Member>();
  private welcomed = false;
  private helloRefused = false;
  private attempts = 0;
  private outageSince: number | undefined;
  private seatTroubleSince: number | undefined;
  private retryHintMs: number | undefined;
  private lastFailure: string | undefined;
  private readonly outbox: OutgoingMessage[] = [];
  private readonly reactions: OutgoingReaction[] = [];
  private readonly ownReactions = new Map<string, string>();
  /** `free`: the first message after admission (the relay does not count it); `counted`: later. */
  private announcement: 'free' | 'counted' | undefined;
  private typingWanted: boolean | undefined;
  private typingSent: boolean | undefined;
  private typingSentAt = -Infinity;
  private readonly typingOf = new Map<string, TimerHandle>();
  private readonly undecryptableFrom = new Set<string>();
  private readonly deferredTimers = new Map<string, TimerHandle>();
  private readonly expiryTimers = new Set<TimerHandle>();
  private readonly timers = new Map<'retry' | 'watchdog' | 'pump' | 'typing', TimerHandle>();
  private pumping = false;
  private pumpAgain = false;
  private drainWaiters: (() => void)[] = [];
  /** Server messages are handled one at a time, in order, though decryption is asynchronous. */
  private inbox: Promise<void> = Promise.resolve();
  private readonly work = new Set<Promise<unknown>>();

  constructor(private readonly options: SessionOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.policy = { ...DEFAULT_POLICY, ...options.policy };
    this.backoff = new Backoff(this.policy.backoff, this.random);
    this.pacer = new Pacer(this.policy.pacingMarginMs);
    this.passwordHash = options.passwordHash ?? '';
    if (options.target.kind === 'join') this.roomId = options.target.roomId;
    if (typeof options.signing === 'object') this.signing = options.signing;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.files = new FileTransfers({
      clock: this.clock,
      receiveTimeoutMs: this.policy.fileReceiveTimeoutMs,
      maxReceiveBytes: options.maxFileBytes ?? Number.MAX_SAFE_INTEGER,
      roomKey: () => this.options.key,
      keyPair: () => this.signing,
      self: () => this.self() ?? { id: '', name: this.options.name, color: '' },
      sender: (id, name) => this.sender(id, name),
      maxFrameBytes: () => this.limits?.maxFrameBytes ?? MAX_FRAME_BYTES,
      verify: (name, json, ref) => this.verifyFrom(name, json, ref),
      register: (info) => {
        const ref = this.log.allocate();
        const own = info.senderId === this.selfId;
        const t = own ? this.log.relayTime(info.t) : info.t;
        const stableId = stableIdOf(info.senderId, t);
        this.log.add({
          ref,
          stableId,
          id: undefined,
          own,
          senderId: info.senderId,
          senderName: info.senderName,
          text: info.fileName,
          t,
        });
        this.scheduleExpiry(ref);
        return { ref, stableId, t };
      },
      emit: (event) => this.emit(event),
      kick: () => this.kick(),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Public API
  // -------------------------------------------------------------------------------------------

  /** Opens the first connection (after making a signing key pair, unless given one). */
  start(): void {
    if (this.state !== 'idle') throw new Error('a session starts once');
    this.state = 'connecting';
    const signing = this.options.signing ?? 'generate';
    if (signing !== 'generate') {
      this.open();
      return;
    }
    this.track(
      generateSigningKeyPair().then(
        (pair) => {
          this.signing = pair;
          if (this.state === 'connecting') this.open();
        },
        (error: unknown) => this.end({ kind: 'failed', detail: describe(error) }),
      ),
    );
  }

  /** Receives every event from now on; returns the function that stops it. */
  subscribe(listener: (event: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Queues a chat message, signed, optionally replying to message `replyTo` (a `ref`). It goes
   * out, paced, while in the room; messages queued while disconnected go after the rejoin.
   */
  send(text: string, options: { replyTo?: number } = {}): SendResult {
    if (this.state === 'ended' || this.state === 'leaving') return { ok: false, reason: 'ended' };
    if (text.trim() === '') return { ok: false, reason: 'empty' };
    if ([...text].length > MAX_MESSAGE_CODE_POINTS) return { ok: false, reason: 'too-long' };
    let reply: ReplyInfo | undefined;
    if (options.replyTo !== undefined) {
      const target = this.log.get(options.replyTo);
      if (target === undefined) return { ok: false, reason: 'unknown-message' };
      reply = {
        stableId: target.stableId,
        senderName: target.senderName,
        preview: replyPreview(target.text),
        ...(target.id === undefined ? {} : { id: target.id }),
        ref: target.ref,
      };
    }
    const ref = this.log.allocate();
    this.outbox.push({ ref, id: newMessageId(), text, reply });
    if (this.typingSent === true) this.setTyping(false);
    if (this.state !== 'in-room' && this.everJoined) {
      this.emit({ type: 'queued', pending: this.outbox.length });
    }
    this.kick();
    return { ok: true, ref };
  }

  /**
   * Reacts to message `ref` with `emoji`, as Arthas clients do: one reaction per member and
   * message, so the same emoji again removes it and another one replaces it.
   */
  react(ref: number, emoji: string): SendResult {
    if (this.state === 'ended' || this.state === 'leaving') return { ok: false, reason: 'ended' };
    if (emoji.trim() === '') return { ok: false, reason: 'empty' };
    if (emoji.length > MAX_REACTION_EMOJI_LENGTH) return { ok: false, reason: 'too-long' };
    const target = this.log.get(ref);
    if (target === undefined) return { ok: false, reason: 'unknown-message' };
    const previous = this.ownReactions.get(target.stableId);
    const queue = (reactionEmoji: string, action: 'add' | 'remove') => {
      this.reactions.push({
        stableId: target.stableId,
        messageId: target.id,
        emoji: reactionEmoji,
        action,
      });
      this.emit({
        type: 'reaction',
        from: this.self() ?? { id: '', name: this.options.name, color: '' },
        target: {
          stableId: target.stableId,
          ref: target.ref,
          senderName: target.senderName,
          preview: replyPreview(target.text),
        },
        emoji: reactionEmoji,
        action,
        verification: this.signing === undefined ? 'unsigned' : 'verified',
        own: true,
      });
    };
    if (previous !== undefined) queue(previous, 'remove');
    if (previous === emoji) {
      this.ownReactions.delete(target.stableId);
    } else {
      queue(emoji, 'add');
      this.ownReactions.set(target.stableId, emoji);
    }
    this.kick();
    return { ok: true, ref };
  }

  /**
   * Says whether we are typing. Repeated `true` calls (one per keystroke) are throttled; "stopped"
   * follows by itself after a pause. Typing states are encrypted, as Arthas web clients send them.
   */
  setTyping(active: boolean): void {
    if (this.state !== 'in-room') return;
    if (active) {
      const due =
        this.typingSent !== true ||
        this.clock.now() - this.typingSentAt >= this.policy.typingRefreshMs;
      if (due) this.typingWanted = true;
      this.schedule('typing', this.policy.typingIdleMs, () => this.setTyping(false));
    } else {
      this.cancelTimer('typing');
      this.typingWanted = this.typingSent === true ? false : undefined;
    }
    this.kick();
  }

  /**
   * Queues a file for sending in the Arthas chunk format (at most 5 MiB), with an optional JPEG
   * `thumbnail` (kept small: Arthas writes it into the metadata frame as JSON, about 10 bytes per
   * byte, and the frame must stay within the relay's limit).
   */
  sendFile(file: {
    name: string;
    type?: string;
    data: Uint8Array;
    thumbnail?: Uint8Array;
  }): SendFileResult {
    if (this.state === 'ended' || this.state === 'leaving')
      return { ok: false, reason: 'not-in-room' };
    return this.files.send(file);
  }

  /** Cancels one of our file transfers. */
  cancelFile(transferId: string): boolean {
    return this.files.cancel(transferId);
  }

  /**
   * Skips the rest of the delay before the next connection attempt (the browser is back online,
   * someone pressed "retry now"). Does nothing unless the session is waiting to reconnect.
   */
  retryNow(): void {
    if (this.state !== 'waiting') return;
    this.cancelTimer('retry');
    this.open();
  }

  /** Chat messages queued and not yet written to the relay. */
  get pending(): number {
    return this.outbox.length;
  }

  /** True when nothing waits to be sent: no message, reaction, file or ack. */
  get idle(): boolean {
    return this.outbox.length === 0 && this.reactions.length === 0 && !this.files.busy;
  }

  get inRoom(): boolean {
    return this.state === 'in-room';
  }

  /** True once a password (given or prompted) has been sent with a join. */
  get passwordUsed(): boolean {
    return this.passwordHash !== '';
  }

  /** The room as last joined. */
  get roomInfo(): RoomInfo | undefined {
    return this.room;
  }

  /** The limits the relay announced in Welcome, once it did. */
  get relayLimits(): ServerLimits | undefined {
    return this.limits;
  }

  /** Everyone in the room as last known, us included. */
  members(): Member[] {
    return [...this.roster.values()];
  }

  /** Our own member entry, once joined. */
  self(): Member | undefined {
    return this.selfId === undefined ? undefined : this.roster.get(this.selfId);
  }

  /** A message of this session by number, while remembered. */
  message(
    ref: number,
  ): { ref: number; senderName: string; text: string; own: boolean } | undefined {
    return this.log.get(ref);
  }

  /** Fingerprints of every member's signing key and the room safety code. */
  async verification(): Promise<VerificationReport> {
    const members: MemberKey[] = [];
    const keys: Uint8Array[] = [];
    for (const member of this.roster.values()) {
      const self = member.id === this.selfId;
      let raw: Uint8Array | undefined;
      let fingerprint: string | undefined;
      if (self && this.signing !== undefined) {
        raw = this.signing.publicKey;
        fingerprint = await signingKeyFingerprint(raw);
      } else if (!self) {
        const known = this.keys.get(member.name);
        raw = known?.key.raw;
        fingerprint = known?.fingerprint;
      }
      if (raw !== undefined) keys.push(raw);
      members.push({ member, self, fingerprint });
    }
    return {
      roomKeyFingerprint: await keyFingerprint(this.options.key),
      safetyCode: await roomSafetyCode(this.options.key, keys),
      members,
    };
  }

  /**
   * Resolves when we are in the room with nothing left to send (messages, reactions and files
   * written to the relay), or when the session has ended.
   */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      this.settleDrain();
    });
  }

  /** Resolves once the session has no asynchronous work in flight (for deterministic tests). */
  async settled(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }

  /** Leaves the room (LeaveRoom, then a 1000 close) and ends the session. Idempotent. */
  leave(): Promise<SessionEnd> {
    if (this.state === 'ended' || this.state === 'leaving') return this.done;
    const connection = this.connection;
    const member = this.state === 'in-room' || this.state === 'joining';
    this.clearTimers();
    if (connection === undefined) {
      this.end({ kind: 'left' });
      return this.done;
    }
    this.state = 'leaving';
    if (member) this.write({ type: ClientType.LeaveRoom, data: {} });
    connection.close(1000, 'leaving');
    return this.done;
  }

  // -------------------------------------------------------------------------------------------
  // Connection
  // -------------------------------------------------------------------------------------------

  private open(): void {
    this.timers.delete('retry');
    this.state = 'connecting';
    this.attempts += 1;
    this.emit({ type: 'connecting', url: this.options.url, attempt: this.attempts });
    const token = {};
    this.token = token;
    this.connection = this.options.transport(this.options.url, {
      open: () => this.onOpen(token),
      message: (data) => this.onFrame(token, data),
      alive: () => token === this.token && this.touch(),
      close: (info) => this.onClose(token, info),
    });
    this.schedule('watchdog', this.policy.connectTimeoutMs, () => this.giveUpOnConnection());
  }

  private onOpen(token: object): void {
    if (token !== this.token) return;
    if (this.state === 'leaving' || this.state === 'ended') {
      this.connection?.close(1000, 'leaving');
      return;
    }
    this.state = 'joining';
    this.welcomed = false;
    this.helloRefused = false;
    this.pacer.reset();
    this.write({
      type: ClientType.Hello,
      data: {
        version: PROTOCOL_VERSION,
        features: [Feature.Notices, Feature.SelfId, Feature.Gaps],
        client: this.options.client,
      },
    });
    this.requestRoom();
  }

  private requestRoom(): void {
    const { name, target } = this.options;
    const password = this.passwordHash;
    this.pacer.take('join', this.clock.now());
    if (this.roomId === undefined && target.kind === 'create') {
      this.write({
        type: ClientType.CreateRoom,
        data: { name, password, ephemeral: target.ephemeral, expiry: target.expiry },
      });
    } else if (this.roomId !== undefined) {
      this.write({ type: ClientType.JoinRoom, data: { roomId: this.roomId, name, password } });
    }
  }

  private onClose(token: object, info: TransportClose): void {
    if (token !== this.token) return;
    this.token = {};
    this.connection = undefined;
    this.cancelTimer('watchdog');
    this.cancelTimer('pump');
    if (this.state === 'ended') return;
    if (this.state === 'leaving') {
      this.end({ kind: 'left' });
      return;
    }
    this.connectionLost();
    const detail = this.lastFailure ?? info.error ?? closeText(info);
    this.lastFailure = undefined;
    const now = this.clock.now();
    if (!this.everJoined) {
      if (this.attempts >= this.policy.firstConnectAttempts) {
        this.end({ kind: 'unreachable', detail, rejoin: false });
        return;
      }
    } else {
      this.outageSince ??= now;
      if (now - this.outageSince >= this.policy.giveUpAfterMs) {
        const seconds = Math.round(this.policy.giveUpAfterMs / 1000);
        this.end({
          kind: 'unreachable',
          detail: `gave up after ${seconds} s; last: ${detail}`,
          rejoin: true,
        });
        return;
      }
    }
    const hint = this.retryHintMs;
    this.retryHintMs = undefined;
    let delay = hint ?? this.backoff.next();
    if (this.everJoined)
      delay = Math.min(delay, Math.max(0, this.outageSince! + this.policy.giveUpAfterMs - now));
    this.state = 'waiting';
    this.settleDrain();
    this.emit({ type: 'disconnected', code: info.code, reason: info.reason, retryInMs: delay });
    this.schedule('retry', delay, () => this.open());
  }

  /** What a dropped connection takes with it. */
  private connectionLost(): void {
    this.files.connectionLost();
    this.typingWanted = undefined;
    this.typingSent = undefined;
    this.cancelTimer('typing');
    for (const [id, timer] of this.typingOf) {
      this.clock.clearTimeout(timer);
      const member = this.roster.get(id);
      if (member !== undefined) this.emit({ type: 'typing', member, typing: false });
    }
    this.typingOf.clear();
    this.announcement = undefined;
  }

  /**
   * Gives up on this connection and takes the reconnect path at once. The close is not waited
   * for: a dead connection may take minutes to confirm it, and its late events are ignored.
   */
  private recycle(reason: string): void {
    const token = this.token;
    this.connection?.close(1000, reason);
    this.onClose(token, { code: CLIENT_CLOSED, reason });
  }

  private giveUpOnConnection(): void {
    const seconds = Math.round(
      (this.state === 'in-room' ? this.silenceLimitMs() : this.policy.connectTimeoutMs) / 1000,
    );
    if (this.state === 'in-room')
      this.emit({ type: 'warning', detail: `no word from the relay for ${seconds} s` });
    this.lastFailure =
      this.state === 'in-room'
        ? `the relay went silent for ${seconds} s`
        : `no answer from the relay within ${seconds} s`;
    this.recycle('the relay went silent');
  }

  /** Any traffic proves the relay alive; silence past the limit means a dead connection. */
  private touch(): void {
    if (this.state !== 'in-room') return;
    this.schedule('watchdog', this.silenceLimitMs(), () => this.giveUpOnConnection());
  }

  /**
   * How long a rejoin retries E020/E002: our previous seat lasts until the relay's pong timeout
   * drops it (announced in Welcome, else the default), plus the policy's margin.
   */
  private rejoinSeatGraceMs(): number {
    const announced = this.limits?.pongTimeoutMs;
    return announced === undefined
      ? this.policy.rejoinSeatGraceMs
      : announced + this.policy.rejoinSeatGraceMs - PONG_TIMEOUT_MS;
  }

  /**
   * How long the relay may stay silent before this connection counts as dead: a ping interval
   * plus the pong timeout the relay announced in Welcome (by then it has given up on us too), or
   * the policy's value, made from the protocol defaults, for relays that announce none.
   */
  private silenceLimitMs(): number {
    const { pingIntervalMs, pongTimeoutMs } = this.limits ?? {};
    return pingIntervalMs !== undefined && pongTimeoutMs !== undefined
      ? pingIntervalMs + pongTimeoutMs
      : this.policy.silenceLimitMs;
  }

  // -------------------------------------------------------------------------------------------
  // Incoming
  // -------------------------------------------------------------------------------------------

  private onFrame(token: object, data: Uint8Array | string): void {
    if (token !== this.token) return;
    this.touch();
    this.inbox = this.inbox
      .then(() => this.receiveFrame(token, data))
      .catch((error: unknown) => this.end({ kind: 'failed', detail: describe(error) }));
    this.track(this.inbox);
  }

  private async receiveFrame(token: object, data: Uint8Array | string): Promise<void> {
    if (token !== this.token || this.state === 'ended') return;
    if (typeof data === 'string') {
      this.emit({ type: 'warning', detail: 'the relay sent a text frame; ignored it' });
      return;
    }
    const decoded = decodeServerMessage(data, MAX_INCOMING_FRAME_BYTES);
    if (decoded.ok) {
      await this.handle(decoded.value);
      return;
    }
    const unknownError = foreignError(data);
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

  private async handle(message: ServerMessage): Promise<void> {
    switch (message.type) {
      case ServerType.Ping:
        this.log.observeRelayTime(message.data.t, this.clock.now());
        this.write({ type: ClientType.Pong, data: { t: message.data.t } });
        return;
      case ServerType.Welcome:
        this.welcomed = true;
        this.limits = message.data.limits;
        this.pacer.configure(message.data.limits);
        this.emit({
          type: 'welcome',
          version: message.data.version,
          features: message.data.features,
          limits: message.data.limits,
        });
        return;
      case ServerType.RoomCreated:
        this.roomId = message.data.roomId;
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
      case ServerType.MemberJoined: {
        // A join heard as it happens starts the member's count, even one our RoomJoined already
        // listed: the relays may have told us where everyone stood before it was seated.
        const gap = message.data.id === this.selfId ? undefined : this.gaps.joined(message.data);
        // Already in our roster: our RoomJoined was read after this join; it is not news.
        if (this.roster.has(message.data.id)) return;
        this.roster.set(message.data.id, message.data);
        if (message.data.id !== this.selfId) {
          this.emit({ type: 'member-joined', member: message.data });
          if (gap !== undefined) this.emit({ type: 'gap', ...gap });
          // Late joiners cannot verify us without our key: say it again (coalesced, paced).
          if (this.signing !== undefined) this.announcement ??= 'counted';
          this.kick();
        }
        return;
      }
      case ServerType.MemberLeft: {
        const member = this.roster.get(message.data.id);
        this.roster.delete(message.data.id);
        this.stopTyping(message.data.id);
        this.files.memberLeft(message.data.id);
        if (member !== undefined && member.id !== this.selfId) {
          this.emit({ type: 'member-left', member });
        }
        return;
      }
      case ServerType.RelayMessage:
        await this.receiveMessage(message.data);
        return;
      case ServerType.RelayReaction:
        await this.receiveReaction(message.data);
        return;
      case ServerType.MemberTyping:
        await this.receiveTyping(message.data);
        return;
      case ServerType.RoomClosed:
        this.end({ kind: 'room-closed', reason: message.data.reason });
        return;
      case ServerType.Error:
        await this.onServerError(message.data.code, message.data.msg);
        return;
      case ServerType.Notice:
        if (message.data.kind === NoticeKind.Sequences) {
          const known = (id: string) => (id === this.selfId ? undefined : this.roster.get(id));
          for (const gap of this.gaps.standing(message.data.sequences ?? {}, known)) {
            this.emit({ type: 'gap', ...gap });
          }
          return;
        }
        if (message.data.kind === NoticeKind.Drain && message.data.retryAfterMs !== undefined) {
          this.retryHintMs = Math.round(
            message.data.retryAfterMs + this.random() * this.policy.drainJitterMs,
          );
        }
        this.emit({ type: 'notice', kind: message.data.kind, message: message.data.msg });
        return;
      case ServerType.RelayFileMeta:
        this.log.observeRelayTime(message.data.t, this.clock.now());
        await this.files.meta(message.data);
        return;
      case ServerType.RelayFileChunk:
        await this.files.chunk(message.data);
        return;
      case ServerType.RelayFileComplete:
        this.files.complete(message.data);
        return;
      case ServerType.RelayFileCancel:
        this.files.cancelled(message.data);
        return;
      case ServerType.RelayFileAck:
        this.files.acked(message.data);
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
    if (self !== undefined) this.log.addSelfId(self.id);
    this.roomId = data.roomId;
    this.room = {
      roomId: data.roomId,
      hasPassword: data.hasPassword,
      ephemeral: data.ephemeral,
      expiresAt: data.expiresAt,
    };
    this.state = 'in-room';
    this.everJoined = true;
    this.attempts = 1;
    this.backoff.reset();
    this.outageSince = undefined;
    this.seatTroubleSince = undefined;
    this.passwordPrompts = 0;
    this.lastFailure = undefined;
    this.touch();
    if (this.signing !== undefined) this.announcement = 'free';
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
          this.files.memberLeft(member.id);
          this.emit({ type: 'member-left', member });
        }
      }
      for (const member of this.roster.values()) {
        if (member.id !== this.selfId && !before.has(member.id)) {
          this.emit({ type: 'member-joined', member });
        }
      }
      const others = (roster: Iterable<Member>, self: string | undefined) =>
        [...roster].filter((member) => member.id !== self);
      const unknowable = this.gaps.rejoined(
        others(before.values(), selfBefore),
        others(this.roster.values(), this.selfId),
      );
      for (const gap of unknowable) this.emit({ type: 'gap', ...gap });
    } else {
      this.gaps.reset();
    }
    this.kick();
  }

  private noteSequence(from: Member, seq: number | undefined): void {
    const gap = this.gaps.received(from, seq);
    if (gap !== undefined) this.emit({ type: 'gap', ...gap });
  }

  private async receiveMessage(data: RelayMessage['data']): Promise<void> {
    const from = this.sender(data.senderId, data.senderName);
    this.noteSequence(from, data.seq);
    this.log.observeRelayTime(data.t, this.clock.now());
    let opened;
    try {
      opened = await openMessageWithJson(this.options.key, data);
    } catch (error) {
      if (!isHushCryptoError(error)) throw error;
      const name = nameKey(from.name);
      const firstFromSender = !this.undecryptableFrom.has(name);
      this.undecryptableFrom.add(name);
      this.emit({ type: 'undecryptable', from, t: data.t, firstFromSender });
      return;
    }
    const { payload, json } = opened;
    if (isKeyAnnouncement(json)) {
      await this.receiveAnnouncement(from, json!);
      return;
    }
    // Nothing to show: never an empty bubble (future payload types without text land here too).
    if (payload.text === '') return;
    const ref = this.log.allocate();
    const verification = await this.verifyFrom(from.name, json, ref);
    let reply: ReplyInfo | undefined;
    if (payload.reply !== undefined) {
      const target = this.log.find(payload.reply.stableId, payload.replyTo);
      reply = {
        ...payload.reply,
        ...(payload.replyTo === undefined ? {} : { id: payload.replyTo }),
        ...(target === undefined ? {} : { ref: target.ref }),
      };
    }
    const message: ChatMessage = {
      ref,
      stableId: stableIdOf(data.senderId, data.t),
      ...(payload.id === undefined ? {} : { id: payload.id }),
      own: false,
      from,
      text: payload.text,
      t: data.t,
      verification,
      ...(reply === undefined ? {} : { reply }),
    };
    this.log.add(logged(message));
    this.emit({ type: 'message', message });
    this.scheduleExpiry(ref);
  }

  private async receiveAnnouncement(from: Member, json: Record<string, unknown>): Promise<void> {
    const key = await readKeyAnnouncement(json);
    if (key === undefined) {
      this.emit({
        type: 'warning',
        detail: `${from.name} announced a signing key that does not verify; ignored it`,
      });
      return;
    }
    const update = await this.keys.announce(from.name, key);
    if (update.kind === 'learned') {
      this.emit({ type: 'key-learned', member: from, fingerprint: update.fingerprint });
    } else if (update.kind === 'changed') {
      this.emit({
        type: 'key-changed',
        member: from,
        fingerprint: update.fingerprint,
        previousFingerprint: update.previousFingerprint,
      });
    }
    this.cancelDeferred(from.name);
    for (const { ref, verification } of await this.keys.settle(from.name)) {
      this.emit({ type: 'verification', ref, from, verification });
    }
  }

  /** The verification state of a payload from `name`; a signed one waits for an unknown key. */
  private async verifyFrom(
    name: string,
    json: Record<string, unknown> | undefined,
    ref?: number,
  ): Promise<Verification> {
    const verification = await this.keys.verify(name, json, ref);
    if (verification === 'unknown-signer' && ref !== undefined) {
      const slot = nameKey(name);
      if (!this.deferredTimers.has(slot)) {
        this.deferredTimers.set(
          slot,
          this.clock.setTimeout(() => {
            this.deferredTimers.delete(slot);
            this.keys.expire(name);
          }, this.policy.deferredVerificationMs),
        );
      }
    }
    return verification;
  }

  private cancelDeferred(name: string): void {
    const slot = nameKey(name);
    const timer = this.deferredTimers.get(slot);
    if (timer === undefined) return;
    this.clock.clearTimeout(timer);
    this.deferredTimers.delete(slot);
  }

  private async receiveReaction(data: RelayReaction['data']): Promise<void> {
    const from = this.sender(data.senderId, data.senderName);
    this.noteSequence(from, data.seq);
    this.log.observeRelayTime(data.t, this.clock.now());
    let opened;
    try {
      opened = await openReaction(this.options.key, data);
    } catch (error) {
      if (!isHushCryptoError(error)) throw error;
      this.emit({ type: 'warning', detail: `could not read a reaction from ${from.name}` });
      return;
    }
    const { reaction, json } = opened;
    const found = this.log.find(reaction.stableId, reaction.messageId);
    const target: ReactionTarget = {
      stableId: reaction.stableId,
      ...(found === undefined
        ? {}
        : { ref: found.ref, senderName: found.senderName, preview: replyPreview(found.text) }),
    };
    this.emit({
      type: 'reaction',
      from,
      target,
      emoji: reaction.emoji,
      action: reaction.action,
      verification: await this.keys.verify(from.name, json),
      own: false,
    });
  }

  private async receiveTyping(data: MemberTyping['data']): Promise<void> {
    if (data.id === this.selfId) return;
    let typing = data.typing;
    if (data.iv !== undefined && data.ciphertext !== undefined) {
      try {
        typing = await openTyping(this.options.key, { iv: data.iv, ciphertext: data.ciphertext });
      } catch (error) {
        if (!isHushCryptoError(error)) throw error;
        return;
      }
    }
    const member = this.roster.get(data.id);
    if (member === undefined) return;
    const wasTyping = this.typingOf.has(data.id);
    this.clock.clearTimeout(this.typingOf.get(data.id));
    if (!typing) {
      this.stopTyping(data.id);
      return;
    }
    this.typingOf.set(
      data.id,
      this.clock.setTimeout(() => this.stopTyping(data.id), this.policy.typingTimeoutMs),
    );
    if (!wasTyping) this.emit({ type: 'typing', member, typing: true });
  }

  private stopTyping(memberId: string): void {
    const timer = this.typingOf.get(memberId);
    if (timer === undefined) return;
    this.clock.clearTimeout(timer);
    this.typingOf.delete(memberId);
    const member = this.roster.get(memberId);
    if (member !== undefined) this.emit({ type: 'typing', member, typing: false });
  }

  /** The sender as the relay names it (authoritative), with the colour from the roster. */
  private sender(id: string, name?: string): Member {
    const known = this.roster.get(id);
    return { id, name: name ?? known?.name ?? '?', color: known?.color ?? '' };
  }

  private async onServerError(code: ErrorCodeType, msg: string): Promise<void> {
    if (this.state !== 'joining') {
      if (code === ErrorCode.NotInRoom && this.state === 'in-room') {
        // The relay no longer counts us as a member: rejoin on a fresh connection.
        this.lastFailure = 'the relay no longer had us in the room';
        this.recycle('rejoining');
        return;
      }
      if (code === ErrorCode.TransferRejected) this.files.rejected();
      this.emit({ type: 'server-error', code, message: msg, retrying: false });
      return;
    }
    if (code === ErrorCode.InvalidMessage && !this.welcomed && !this.helloRefused) {
      // A relay without our extensions refuses Hello; the room request after it still counts.
      this.helloRefused = true;
      return;
    }
    if (code === ErrorCode.WrongPassword) {
      await this.retryPassword();
      return;
    }
    const now = this.clock.now();
    let retry = isTransientError(code);
    if (!retry && (this.everJoined || this.options.resumed === true) && isSeatError(code)) {
      this.seatTroubleSince ??= now;
      retry = now - this.seatTroubleSince < this.rejoinSeatGraceMs();
    }
    if (retry) {
      this.emit({ type: 'server-error', code, message: msg, retrying: true });
      this.lastFailure = `the relay answered ${code}${msg === '' ? '' : ` (${msg})`}`;
      this.recycle('retrying');
      return;
    }
    this.end({ kind: 'refused', code, rejoin: this.everJoined });
  }

  private async retryPassword(): Promise<void> {
    const ask = this.options.askPassword;
    const mayAsk =
      ask !== undefined &&
      !this.everJoined &&
      (this.passwordHash === '' || this.passwordPrompts > 0) &&
      this.passwordPrompts < this.policy.maxPasswordPrompts;
    if (!mayAsk) {
      this.end({ kind: 'refused', code: ErrorCode.WrongPassword, rejoin: this.everJoined });
      return;
    }
    this.passwordPrompts += 1;
    const connection = this.connection;
    // A person is typing: the connection waits for them (pings keep it alive meanwhile).
    this.cancelTimer('watchdog');
    // The prompt must not hold up the inbox: pings keep coming while someone types.
    this.track(
      (async () => {
        const password = await ask(this.passwordPrompts);
        if (this.state === 'ended' || this.state === 'leaving') return;
        if (password === undefined || password === '') {
          this.end({ kind: 'refused', code: ErrorCode.WrongPassword, rejoin: false });
          return;
        }
        this.passwordHash = await hashRoomPassword(password);
        // If the connection changed meanwhile, the next attempt carries the new password anyway.
        if (connection === this.connection && this.state === 'joining') {
          this.requestRoom();
          this.schedule('watchdog', this.policy.connectTimeoutMs, () => this.giveUpOnConnection());
        }
      })().catch((error: unknown) => this.end({ kind: 'failed', detail: describe(error) })),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Outgoing
  // -------------------------------------------------------------------------------------------

  private write(message: ClientMessage): boolean {
    const connection = this.connection;
    if (connection === undefined || !connection.isOpen) return false;
    return connection.send(encode(message));
  }

  private kick(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.track(
      this.pump().catch((error: unknown) => this.end({ kind: 'failed', detail: describe(error) })),
    );
  }

  /**
   * Sends what is waiting, in order of importance, each kind within its budget: the key
   * announcement, chat messages, reactions, typing, file acks and transfers.
   */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        await this.pumpOnce();
      } while (this.pumpAgain && this.state === 'in-room');
    } finally {
      this.pumping = false;
      this.settleDrain();
    }
  }

  private async pumpOnce(): Promise<void> {
    this.cancelTimer('pump');
    let wait = Infinity;
    const sources: (() => Step | undefined)[] = [
      () => this.announcementStep(),
      () => this.messageStep(),
      () => this.reactionStep(),
      () => this.typingStep(),
      () => this.fileStep(),
    ];
    for (const next of sources) {
      for (;;) {
        const connection = this.connection;
        if (this.state !== 'in-room' || connection === undefined) return;
        const step = next();
        if (step === undefined) break;
        const delay = step.free === true ? 0 : this.pacer.wait(step.kind, this.clock.now());
        if (delay > 0) {
          wait = Math.min(wait, delay);
          break;
        }
        const message = await step.prepare();
        if (this.state !== 'in-room' || connection !== this.connection) return;
        const frame = encode(message);
        const limit = this.limits?.maxFrameBytes ?? MAX_FRAME_BYTES;
        if (frame.length > limit) {
          // The relay would close the connection (1009) over it: drop it, and say so.
          step.drop(`${frame.length} bytes, more than this relay takes (${limit})`);
          continue;
        }
        // A failed write leaves the item queued for the connection that rejoins.
        if (!connection.isOpen || !connection.send(frame)) return;
        if (step.free !== true) this.pacer.take(step.kind, this.clock.now());
        step.commit();
      }
    }
    const held = this.announcement === 'counted' ? this.announcementHeldFor() : 0;
    if (held > 0) wait = Math.min(wait, held);
    if (wait < Infinity) this.schedule('pump', wait, () => this.kick());
  }

  private announcementStep(): Step | undefined {
    const announcement = this.announcement;
    const signing = this.signing;
    if (announcement === undefined || signing === undefined) return undefined;
    if (announcement === 'counted' && this.announcementHeldFor() > 0) return undefined;
    return {
      kind: 'chat',
      free: announcement === 'free',
      prepare: async () => ({
        type: ClientType.SendMessage,
        data: await sealMessage(this.options.key, await makeKeyAnnouncement(signing)),
      }),
      commit: () => {
        if (this.announcement === announcement) this.announcement = undefined;
      },
      drop: (why) => {
        this.announcement = undefined;
        this.emit({ type: 'warning', detail: `our key announcement was not sent: ${why}` });
      },
    };
  }

  /**
   * A re-announcement never crowds out a user's message: it goes only when every queued message
   * still fits the chat budget beside it. Milliseconds until that may be the case; 0 when it is.
   */
  private announcementHeldFor(): number {
    const now = this.clock.now();
    if (this.pacer.free('chat', now) > this.outbox.length) return 0;
    return this.pacer.untilMore('chat', now);
  }

  private messageStep(): Step | undefined {
    const item = this.outbox[0];
    if (item === undefined) return undefined;
    return {
      kind: 'chat',
      prepare: async () => {
        item.sealed ??= await this.sealOutgoing(item);
        return { type: ClientType.SendMessage, data: item.sealed };
      },
      commit: () => {
        this.outbox.shift();
        const self = this.self() ?? { id: '', name: this.options.name, color: '' };
        const t = this.log.relayTime(this.clock.now());
        const message: ChatMessage = {
          ref: item.ref,
          stableId: stableIdOf(self.id, t),
          id: item.id,
          own: true,
          from: self,
          text: item.text,
          t,
          verification: this.signing === undefined ? 'unsigned' : 'verified',
          ...(item.reply === undefined ? {} : { reply: item.reply }),
        };
        this.log.add(logged(message));
        this.emit({ type: 'sent', message });
        this.scheduleExpiry(item.ref);
      },
      drop: (why) => {
        this.outbox.shift();
        this.emit({ type: 'warning', detail: `message #${item.ref} was not sent: ${why}` });
      },
    };
  }

  private async sealOutgoing(item: OutgoingMessage): Promise<Sealed> {
    const payload = {
      text: item.text,
      id: item.id,
      ...(item.reply === undefined
        ? {}
        : {
            reply: {
              stableId: item.reply.stableId,
              senderName: item.reply.senderName,
              preview: item.reply.preview,
            },
            ...(item.reply.id === undefined ? {} : { replyTo: item.reply.id }),
          }),
    };
    return sealMessage(this.options.key, await signPayload(payload, this.signing));
  }

  private reactionStep(): Step | undefined {
    const item = this.reactions[0];
    if (item === undefined) return undefined;
    return {
      kind: 'reaction',
      prepare: async () => {
        item.sealed ??= await sealReaction(
          this.options.key,
          await signPayload(
            {
              stableId: item.stableId,
              emoji: item.emoji,
              action: item.action,
              ...(item.messageId === undefined ? {} : { messageId: item.messageId }),
            },
            this.signing,
          ),
        );
        return { type: ClientType.SendReaction, data: item.sealed };
      },
      commit: () => this.reactions.shift(),
      drop: (why) => {
        this.reactions.shift();
        this.emit({ type: 'warning', detail: `a reaction was not sent: ${why}` });
      },
    };
  }

  private typingStep(): Step | undefined {
    const wanted = this.typingWanted;
    if (wanted === undefined) return undefined;
    return {
      kind: 'typing',
      prepare: async () => ({
        type: ClientType.Typing,
        data: await sealTyping(this.options.key, wanted),
      }),
      commit: () => {
        if (this.typingWanted === wanted) this.typingWanted = undefined;
        this.typingSent = wanted;
        this.typingSentAt = this.clock.now();
      },
      drop: () => (this.typingWanted = undefined),
    };
  }

  private fileStep(): Step | undefined {
    const step: FileStep | undefined = this.files.nextStep();
    return step === undefined
      ? undefined
      : {
          kind: step.kind,
          prepare: () => step.prepare(),
          commit: () => step.commit(),
          drop: (why) => step.drop(why),
        };
  }

  private settleDrain(): void {
    const drained =
      this.state === 'ended' || (this.state === 'in-room' && this.idle && !this.pumping);
    if (!drained || this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // -------------------------------------------------------------------------------------------

  private scheduleExpiry(ref: number): void {
    const seconds = this.room?.ephemeral ?? 0;
    if (seconds <= 0) return;
    const timer = this.clock.setTimeout(() => {
      this.expiryTimers.delete(timer);
      this.emit({ type: 'expired', ref });
    }, seconds * 1000);
    this.expiryTimers.add(timer);
  }

  private end(end: SessionEnd): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.clearTimers();
    this.cancelTimer('watchdog');
    for (const timer of [
      ...this.typingOf.values(),
      ...this.deferredTimers.values(),
      ...this.expiryTimers,
    ]) {
      this.clock.clearTimeout(timer);
    }
    this.typingOf.clear();
    this.deferredTimers.clear();
    this.expiryTimers.clear();
    this.files.clear();
    const connection = this.connection;
    this.connection = undefined;
    if (connection?.isOpen === true) connection.close(1000, 'done');
    this.settleDrain();
    this.resolveDone(end);
  }

  private clearTimers(): void {
    for (const name of ['retry', 'pump', 'typing'] as const) this.cancelTimer(name);
  }

  private schedule(
    name: 'retry' | 'watchdog' | 'pump' | 'typing',
    ms: number,
    callback: () => void,
  ): void {
    this.cancelTimer(name);
    this.timers.set(
      name,
      this.clock.setTimeout(() => {
        this.timers.delete(name);
        callback();
      }, ms),
    );
  }

  private cancelTimer(name: 'retry' | 'watchdog' | 'pump' | 'typing'): void {
    const handle = this.timers.get(name);
    if (handle === undefined) return;
    this.clock.clearTimeout(handle);
    this.timers.delete(name);
  }

  private track(work: Promise<unknown>): void {
    this.work.add(work);
    void work.finally(() => this.work.delete(work));
  }

  private emit(event: SessionEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}

/** An Error frame whose code this client does not know (a newer relay), as "error E0xx: text". */
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

function closeText(info: TransportClose): string {
  return info.reason === ''
    ? `connection closed (${info.code})`
    : `connection closed (${info.code} ${info.reason})`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function assertNever(value: never): never {
  throw new Error(`unhandled relay message ${JSON.stringify(value)}`);
}
