import type {
  ChatMessage,
  Clock,
  FileInfo,
  SessionEnd,
  SessionEvent,
  SessionPolicy,
  SessionTarget,
  Transport,
  Verification,
} from '@hush/client';
import { MAX_MESSAGE_CODE_POINTS, Session, systemClock } from '@hush/client';
import type { RoomKey, ShareCode, SigningKeyPair } from '@hush/crypto';
import {
  exportRoomKey,
  formatShareCode,
  generateRoomKey,
  hashRoomPassword,
  importRoomKey,
  importSigningKeyPair,
  joinLink,
  MAX_FILE_BYTES,
  replyPreview,
  fromBase64Url,
} from '@hush/crypto';
import type { Member } from '@hush/protocol';
import {
  ErrorCode,
  MAX_EXPIRY_SECONDS,
  NAME_MAX_CODE_POINTS,
  nameKey,
  normalizeName,
  NoticeKind,
} from '@hush/protocol';
import type { SetStoreFunction } from 'solid-js/store';
import { createStore, produce, reconcile } from 'solid-js/store';
import { byteSize } from './format.js';
import type { MemberColors } from './member-colors.js';
import { memberColors } from './member-colors.js';
import type { Problem } from './problems.js';
import { joinProblem, problem } from './problems.js';
import type { RoomMemory, SavedRoom } from './saved-room.js';

/** How this client introduces itself in Hello. */
export const CLIENT_NAME = 'hush-web/0.2.0';
export { MAX_MESSAGE_CODE_POINTS };
/** Informational notices disappear after this long (0 = they stay until dismissed). */
export const NOTICE_TTL_MS = 10_000;
/** Lines kept in the view; older ones are dropped (queued messages are never dropped). */
export const MAX_ENTRIES = 500;
const MAX_NOTICES = 3;

/**
 * The web client's session policy: the SDK's, except that a tab keeps trying to rejoin for as
 * long as it is open (a laptop waking up finds out whether its room survived).
 */
export const WEB_POLICY: Partial<SessionPolicy> = { giveUpAfterMs: Infinity };

/**
 * - `idle`: not in a room.
 * - `connecting`: opening a connection and asking for the room.
 * - `online`: in the room.
 * - `waiting`: the connection was lost; the next attempt is at `retryAt`.
 * - `closed`: the room ended (expired, or gone after a reconnect); no more attempts.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'online' | 'waiting' | 'closed';

/** Why the client is waiting to reconnect. */
export type DropReason = 'lost' | 'drain' | 'refused';

export type NoticeTone = 'info' | 'warning' | 'error';

/** A notice about the session; one per `cause`, a repeat refreshes it instead of stacking. */
export interface SessionNotice {
  id: number;
  cause: string;
  tone: NoticeTone;
  text: string;
  /** How many times this cause happened while the notice was up. */
  count: number;
}

export interface ShareInfo {
  /** `roomId:key[:ephemeral[:expiresAt]]`. */
  code: string;
  /** `<base>#/join/<code>`. */
  link: string;
}

/** What members compare out of band. */
export interface VerificationView {
  roomKeyFingerprint: string;
  safetyCode: string;
  /** Members (by id) whose signing key we know, with its fingerprint. */
  fingerprints: Record<string, string>;
  /** Names of members whose key we never saw: the safety code cannot cover them. */
  missing: string[];
}

export interface SessionState {
  status: ConnectionStatus;
  /** Unix ms of the next connection attempt, while `waiting`. */
  retryAt: number | undefined;
  dropReason: DropReason | undefined;
  /** True once admitted to the room: from then on a lost connection means "rejoin". */
  entered: boolean;
  /** True while rejoining a room saved in this tab (after a reload). */
  resuming: boolean;
  /** Why creating or joining failed (before entering). */
  joinError: Problem | undefined;
  /** Why the room ended (after entering). */
  ended: Problem | undefined;
  notices: SessionNotice[];
  /** Our nickname, trimmed. */
  name: string;
  share: ShareInfo | undefined;
  /** Longest nickname the relay accepts. */
  nameMax: number;
  /** Longest room expiry the relay accepts, seconds. */
  maxExpirySeconds: number;
  /** Own messages waiting to be sent. */
  queued: number;
  /**
   * Others' messages arrive and none of them decrypts: the key in our share code is not the
   * room's. Never set for the member who created the room (its key is the room's by definition).
   */
  keyMismatch: boolean;
  verification: VerificationView | undefined;
}

export interface MemberView extends Member {
  /** Readable colours derived from `color`, per theme. */
  colors: MemberColors | undefined;
  /** This member's signing key changed during the session (a warning). */
  keyChanged: boolean;
  /** Messages from this member did not decrypt. */
  unreadable: boolean;
}

/** A reply as shown: the quoted message's author and preview, and where it is when we have it. */
export interface ReplyView {
  ref: number | undefined;
  senderName: string;
  preview: string;
}

interface EntryBase {
  /** Unique within this view. */
  key: string;
  /** The SDK's number of the message or file, once known. */
  ref: number | undefined;
  own: boolean;
  senderName: string;
  colors: MemberColors | undefined;
  /** Unix ms: the relay's time (estimated for our own). */
  t: number;
  /** Local unix ms when an ephemeral room removes it from view. */
  expiresAt: number | undefined;
  verification: Verification;
  /** Sent under a key that differs from the first one seen for this sender. */
  keyChanged: boolean;
  /** Member name → the emoji they reacted with (one each). */
  reactions: Record<string, string>;
}

/**
 * Own messages: `queued` (kept until the room is reachable) → `sent`, or `unsent` when the room
 * ended before they could go out. Others' messages are `received`.
 */
export type MessageStatus = 'queued' | 'sent' | 'unsent' | 'received';

export interface ChatEntry extends EntryBase {
  kind: 'message';
  text: string;
  status: MessageStatus;
  reply: ReplyView | undefined;
}

export type FileState =
  'queued' | 'sending' | 'sent' | 'receiving' | 'received' | 'failed' | 'cancelled';

export interface FileEntry extends EntryBase {
  kind: 'file';
  transferId: string;
  fileName: string;
  mimeType: string;
  size: number;
  /** Bytes sent or received so far. */
  bytes: number;
  state: FileState;
  reason: string | undefined;
  /** Object URL of the preview image, when there is one. */
  previewUrl: string | undefined;
  /** Object URL of the whole file, once received (or our own file). */
  url: string | undefined;
  /** Members who confirmed they received our file. */
  acks: number;
}

/** A line about the room itself ("Ana joined"). */
export interface SystemEntry {
  kind: 'system';
  key: string;
  t: number;
  text: string;
  tone: 'info' | 'warning';
}

/** Messages from one sender that did not decrypt, counted on one line. */
export interface UndecryptableEntry {
  kind: 'undecryptable';
  key: string;
  t: number;
  senderName: string;
  colors: MemberColors | undefined;
  count: number;
}

export type Entry = ChatEntry | FileEntry | SystemEntry | UndecryptableEntry;

export interface RoomState {
  roomId: string | undefined;
  selfId: string | undefined;
  members: MemberView[];
  hasPassword: boolean;
  /** Seconds after which messages leave the view; 0 = they stay. */
  ephemeral: number;
  /** Unix seconds; 0 = never. */
  expiresAt: number;
  entries: Entry[];
  /** Ids of members currently typing (never our own). */
  typing: string[];
  /** Messages and files from others received so far (drives unread counts). */
  incoming: number;
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

/** Makes a small JPEG preview of an image, or undefined when it cannot. */
export type ThumbnailMaker = (file: Blob, maxBytes: number) => Promise<Uint8Array | undefined>;

/** Object URLs for received bytes; injected so the store stays DOM-free in tests. */
export interface ObjectUrls {
  create(data: Uint8Array, type: string): string;
  revoke(url: string): void;
}

export interface ChatStoreDeps {
  /** The relay's WebSocket URL. */
  url: string;
  /** Page URL join links are built on (origin and path, no fragment). */
  linkBase: string;
  transport: Transport;
  clock?: Clock;
  random?: () => number;
  policy?: Partial<SessionPolicy>;
  /** The tab's memory of its room, for reload survival. */
  memory?: RoomMemory;
  thumbnail?: ThumbnailMaker;
  urls?: ObjectUrls;
}

/** A file to send: a browser `File`, or anything with its bytes, name and type. */
export interface FileToSend {
  name: string;
  type: string;
  size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** What a failed file send says to people. */
export const FILE_LIMIT_TEXT = `Files up to ${byteSize(MAX_FILE_BYTES)}`;

const noMemory: RoomMemory = {
  load: () => undefined,
  save: () => undefined,
  clear: () => undefined,
};

const browserUrls: ObjectUrls = {
  create: (data, type) => URL.createObjectURL(new Blob([data as BlobPart], { type })),
  revoke: (url) => URL.revokeObjectURL(url),
};

function initialState(name = '', nameMax = NAME_MAX_CODE_POINTS, maxExpiry = MAX_EXPIRY_SECONDS) {
  return {
    status: 'idle',
    retryAt: undefined,
    dropReason: undefined,
    entered: false,
    resuming: false,
    joinError: undefined,
    ended: undefined,
    notices: [],
    name,
    share: undefined,
    nameMax,
    maxExpirySeconds: maxExpiry,
    queued: 0,
    keyMismatch: false,
    verification: undefined,
  } satisfies SessionState as SessionState;
}

function initialRoom(): RoomState {
  return {
    roomId: undefined,
    selfId: undefined,
    members: [],
    hasPassword: false,
    ephemeral: 0,
    expiresAt: 0,
    entries: [],
    typing: [],
    incoming: 0,
  };
}

function newStores(): [
  SessionState,
  SetStoreFunction<SessionState>,
  RoomState,
  SetStoreFunction<RoomState>,
] {
  const [state, setState] = createStore<SessionState>(initialState());
  const [room, setRoom] = createStore<RoomState>(initialRoom());
  return [state, setState, room, setRoom];
}

/** This tab's signing key, with the seed that lets a reload keep it. */
export interface TabSigningKey {
  pair: SigningKeyPair;
  seed: Uint8Array;
}

/** Everything one room needs while it lasts. */
interface Active {
  session: Session;
  key: RoomKey;
  name: string;
  passwordHash: string;
  signing: TabSigningKey | undefined;
  createdHere: boolean;
  roomId: string | undefined;
  /** Transfer id (ours) or sender id + transfer id (others') → entry key. */
  files: Map<string, string>;
  decryptedFromOthers: number;
  undecryptableFrom: Set<string>;
  keyChangedNames: Set<string>;
  lastDrain: boolean;
  lastRefused: boolean;
  verifying: Promise<void>;
}

/**
 * The web client's state for one room at a time, on the client SDK (`@hush/client`): the SDK
 * owns the connection, reconnects, pacing, payloads, signatures and files; this store turns its
 * events into what the page shows (Solid stores, DOM-free) and keeps the tab's memory of the room
 * for reload survival. The room key lives in the SDK session and, while in the room, in the tab's
 * `sessionStorage`; `leave()` drops both.
 */
export class ChatStore {
  readonly state: SessionState;
  readonly room: RoomState;
  private readonly setState: SetStoreFunction<SessionState>;
  private readonly setRoom: SetStoreFunction<RoomState>;
  private readonly clock: Clock;
  private readonly memory: RoomMemory;
  private readonly urls: ObjectUrls;
  private readonly noticeTimers = new Map<number, ReturnType<Clock['setTimeout']>>();
  private active: Active | undefined;
  private counter = 0;
  private noticeCounter = 0;
  private linkBase: string;

  constructor(private readonly deps: ChatStoreDeps) {
    [this.state, this.setState, this.room, this.setRoom] = newStores();
    this.clock = deps.clock ?? systemClock;
    this.memory = deps.memory ?? noMemory;
    this.urls = deps.urls ?? browserUrls;
    this.linkBase = deps.linkBase;
  }

  // -------------------------------------------------------------------------------------------
  // Commands
  // -------------------------------------------------------------------------------------------

  /** Makes a room key and creates a room. False when the nickname is not acceptable. */
  async create(options: CreateOptions): Promise<boolean> {
    const name = this.acceptName(options.name);
    if (name === undefined) return false;
    const token = this.prepare(name);
    const [key, passwordHash, signing] = await Promise.all([
      generateRoomKey(),
      hashRoomPassword(options.password),
      makeSigningKey(),
    ]);
    if (token !== this.token) return false;
    this.begin({
      target: { kind: 'create', ephemeral: options.ephemeral, expiry: options.expiry },
      key,
      name,
      passwordHash,
      signing,
      createdHere: true,
      resumed: false,
    });
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
    const [passwordHash, signing] = await Promise.all([
      hashRoomPassword(options.password),
      makeSigningKey(),
    ]);
    if (token !== this.token) return false;
    this.begin({
      target: { kind: 'join', roomId: options.code.roomId },
      key,
      name,
      passwordHash,
      signing,
      createdHere: false,
      resumed: false,
    });
    return true;
  }

  /**
   * Rejoins the room this tab was in before a reload. False when there is none (or it cannot be
   * used any more, in which case it is forgotten).
   */
  async resume(): Promise<boolean> {
    const saved = this.memory.load();
    if (saved === undefined) return false;
    const name = normalizeName(saved.name, this.state.nameMax);
    if (name === undefined) {
      this.memory.clear();
      return false;
    }
    const token = this.prepare(name);
    this.setState('resuming', true);
    let key: RoomKey;
    let signing: Active['signing'];
    try {
      key = await importRoomKey(saved.code.key);
      signing =
        saved.signing === undefined
          ? await makeSigningKey()
          : {
              pair: await importSigningKeyPair(saved.signing.seed, saved.signing.publicKey),
              seed: saved.signing.seed,
            };
    } catch {
      this.memory.clear();
      this.fail(problem('invalid-code'));
      return false;
    }
    if (token !== this.token) return false;
    this.begin({
      target: { kind: 'join', roomId: saved.code.roomId },
      key,
      name,
      passwordHash: saved.passwordHash,
      signing,
      createdHere: false,
      resumed: true,
    });
    return true;
  }

  /**
   * The key of our share code does not match the room's: leave, and join the same room again
   * with the key of `code`, keeping the nickname and password.
   */
  async reenterKey(code: ShareCode): Promise<boolean> {
    const active = this.active;
    if (active === undefined) return false;
    const { name, passwordHash } = active;
    let key: RoomKey;
    try {
      key = await importRoomKey(code.key);
    } catch {
      return false;
    }
    const token = this.prepare(name);
    const signing = await makeSigningKey();
    if (token !== this.token) return false;
    this.begin({
      target: { kind: 'join', roomId: code.roomId },
      key,
      name,
      passwordHash,
      signing,
      createdHere: false,
      resumed: false,
    });
    return true;
  }

  /** Queues a message, optionally replying to message `replyTo` (a ref). */
  send(text: string, replyTo?: number): SendResult {
    const active = this.active;
    const trimmed = text.trim();
    if (trimmed === '') return 'empty';
    if ([...trimmed].length > MAX_MESSAGE_CODE_POINTS) return 'too-long';
    if (active === undefined || !this.state.entered || this.state.status === 'closed') {
      return 'not-in-room';
    }
    const result = active.session.send(trimmed, replyTo === undefined ? {} : { replyTo });
    if (!result.ok) {
      if (result.reason === 'unknown-message') return this.send(trimmed);
      return result.reason === 'too-long' ? 'too-long' : 'not-in-room';
    }
    const target = replyTo === undefined ? undefined : this.entryByRef(replyTo);
    const self = this.self();
    this.append({
      kind: 'message',
      key: this.nextKey(),
      ref: result.ref,
      own: true,
      senderName: self?.name ?? this.state.name,
      colors: self?.colors,
      t: this.clock.now(),
      expiresAt: undefined,
      verification: 'unsigned',
      keyChanged: false,
      reactions: {},
      text: trimmed,
      status: 'queued',
      reply:
        target === undefined || (target.kind !== 'message' && target.kind !== 'file')
          ? undefined
          : {
              ref: replyTo,
              senderName: target.senderName,
              preview: replyPreview(target.kind === 'message' ? target.text : target.fileName),
            },
    });
    this.setState('queued', active.session.pending);
    return 'queued';
  }

  /** Adds, replaces or (the same emoji again) removes our reaction to message `ref`. */
  react(ref: number, emoji: string): boolean {
    return this.active?.session.react(ref, emoji).ok ?? false;
  }

  /** The composer's text changed: typing while it has text, throttled by the SDK. */
  inputChanged(text: string): void {
    this.active?.session.setTyping(text.trim() !== '');
  }

  stopTyping(): void {
    this.active?.session.setTyping(false);
  }

  /**
   * Sends a file, with a preview for images. Files over the SDK's limit are refused with a
   * notice that states it. Resolves false when the file was not queued.
   */
  async sendFile(file: FileToSend): Promise<boolean> {
    const active = this.active;
    if (active === undefined || this.state.status === 'closed' || !this.state.entered) {
      return false;
    }
    if (file.size === 0) {
      this.notify('file', 'warning', `${file.name} is empty; nothing was sent.`);
      return false;
    }
    if (file.size > MAX_FILE_BYTES) {
      this.notify(
        'file',
        'warning',
        `${file.name} is ${byteSize(file.size)}: too large. ${FILE_LIMIT_TEXT} can be sent.`,
      );
      return false;
    }
    const data = new Uint8Array(await file.arrayBuffer());
    const thumbnail =
      file.type.startsWith('image/') && this.deps.thumbnail !== undefined
        ? await this.deps.thumbnail(new Blob([data], { type: file.type }), this.thumbnailBudget())
        : undefined;
    if (this.active !== active) return false;
    const result = active.session.sendFile({
      name: file.name,
      type: file.type,
      data,
      ...(thumbnail === undefined ? {} : { thumbnail }),
    });
    if (!result.ok) {
      const why = {
        empty: `${file.name} is empty; nothing was sent.`,
        'too-large': `${file.name} is too large. ${FILE_LIMIT_TEXT} can be sent.`,
        'queue-full': 'Several files are still being sent; try again when one is done.',
        'not-in-room': 'Not in a room.',
      }[result.reason];
      this.notify('file', 'warning', why);
      return false;
    }
    const self = this.self();
    const type = file.type === '' ? 'application/octet-stream' : file.type;
    const key = this.nextKey();
    active.files.set(result.transferId, key);
    this.append({
      kind: 'file',
      key,
      ref: undefined,
      own: true,
      senderName: self?.name ?? this.state.name,
      colors: self?.colors,
      t: this.clock.now(),
      expiresAt: undefined,
      verification: 'unsigned',
      keyChanged: false,
      reactions: {},
      transferId: result.transferId,
      fileName: file.name,
      mimeType: type,
      size: data.length,
      bytes: 0,
      state: 'queued',
      reason: undefined,
      previewUrl: thumbnail === undefined ? undefined : this.urls.create(thumbnail, 'image/jpeg'),
      url: this.urls.create(data, type),
      acks: 0,
    });
    return true;
  }

  /** Stops one of our files. */
  cancelFile(transferId: string): void {
    this.active?.session.cancelFile(transferId);
  }

  /** Skips the rest of the backoff delay (a "retry now" button, the browser coming online). */
  retryNow(): void {
    this.active?.session.retryNow();
  }

  /** Leaves the room (or cancels creating/joining), forgets its key and the tab's memory of it. */
  leave(): void {
    const active = this.active;
    this.active = undefined;
    this.memory.clear();
    if (active !== undefined) void active.session.leave();
    this.revokeAll();
    for (const handle of this.noticeTimers.values()) this.clock.clearTimeout(handle);
    this.noticeTimers.clear();
    this.setRoom(reconcile(initialRoom()));
    this.setState(
      reconcile(initialState(this.state.name, this.state.nameMax, this.state.maxExpirySeconds)),
    );
  }

  dismissNotice(id: number): void {
    const handle = this.noticeTimers.get(id);
    if (handle !== undefined) this.clock.clearTimeout(handle);
    this.noticeTimers.delete(id);
    this.setState('notices', (notices) => notices.filter((n) => n.id !== id));
  }

  /** The page learned where invitations should point (the relay's public URL). */
  setLinkBase(base: string): void {
    this.linkBase = base;
    this.refreshShare();
  }

  /** The relay's limits as its page config states them, before any connection. */
  setLimits(limits: { nameMaxCodePoints?: number; maxExpirySeconds?: number }): void {
    if (limits.nameMaxCodePoints !== undefined) this.setState('nameMax', limits.nameMaxCodePoints);
    if (limits.maxExpirySeconds !== undefined)
      this.setState('maxExpirySeconds', limits.maxExpirySeconds);
  }

  /** Our member entry, once in the room. */
  self(): MemberView | undefined {
    const id = this.room.selfId;
    return id === undefined ? undefined : this.room.members.find((m) => m.id === id);
  }

  // -------------------------------------------------------------------------------------------
  // Session lifecycle
  // -------------------------------------------------------------------------------------------

  /** Bumped by every create/join/leave, so a slow start that was cancelled does not go on. */
  private token = 0;

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
    this.token += 1;
    this.setState({ name, status: 'connecting' });
    return this.token;
  }

  private begin(start: {
    target: SessionTarget;
    key: RoomKey;
    name: string;
    passwordHash: string;
    signing: Active['signing'];
    createdHere: boolean;
    resumed: boolean;
  }): void {
    const session = new Session({
      url: this.deps.url,
      transport: this.deps.transport,
      name: start.name,
      key: start.key,
      target: start.target,
      passwordHash: start.passwordHash,
      client: CLIENT_NAME,
      signing: start.signing?.pair ?? 'none',
      clock: this.clock,
      ...(this.deps.random === undefined ? {} : { random: this.deps.random }),
      policy: { ...WEB_POLICY, ...this.deps.policy },
      maxFileBytes: MAX_FILE_BYTES,
      resumed: start.resumed,
    });
    const active: Active = {
      session,
      key: start.key,
      name: start.name,
      passwordHash: start.passwordHash,
      signing: start.signing,
      createdHere: start.createdHere,
      roomId: start.target.kind === 'join' ? start.target.roomId : undefined,
      files: new Map(),
      decryptedFromOthers: 0,
      undecryptableFrom: new Set(),
      keyChangedNames: new Set(),
      lastDrain: false,
      lastRefused: false,
      verifying: Promise.resolve(),
    };
    this.active = active;
    session.subscribe((event) => {
      if (this.active !== active) return;
      try {
        this.onEvent(active, event);
      } catch (error) {
        // One event this page mishandles must not take the session down with it.
        console.warn('hush: could not show a session event', error);
      }
    });
    void session.done.then((end) => {
      if (this.active === active) this.onEnd(active, end);
    });
    session.start();
  }

  private onEvent(active: Active, event: SessionEvent): void {
    switch (event.type) {
      case 'connecting':
        this.setState({ status: 'connecting', retryAt: undefined });
        return;
      case 'welcome':
        this.setState({
          nameMax: event.limits.nameMaxCodePoints,
          maxExpirySeconds: event.limits.maxExpirySeconds,
        });
        return;
      case 'created':
        active.roomId = event.roomId;
        return;
      case 'joined':
        this.onJoined(active, event);
        return;
      case 'member-joined':
        this.addMember(event.member);
        this.system(`${event.member.name} joined`);
        this.refreshVerification(active);
        return;
      case 'member-left':
        this.removeMember(event.member.id);
        this.system(`${event.member.name} left`);
        this.refreshVerification(active);
        return;
      case 'message':
        this.onMessage(active, event.message);
        return;
      case 'undecryptable':
        this.onUndecryptable(active, event.from);
        return;
      case 'verification':
        this.updateByRef(event.ref, { verification: event.verification });
        return;
      case 'key-learned':
        this.decrypted(active);
        this.refreshVerification(active);
        return;
      case 'key-changed':
        this.decrypted(active);
        active.keyChangedNames.add(nameKey(event.member.name));
        this.setRoom('members', (m) => m.id === event.member.id, 'keyChanged', true);
        this.system(
          `${event.member.name}'s signing key changed (it was ${event.previousFingerprint}, now ${event.fingerprint}). If they did not rejoin from another device, compare the room safety code with them.`,
          'warning',
        );
        this.refreshVerification(active);
        return;
      case 'sent':
        this.onSent(active, event.message);
        return;
      case 'queued':
        this.setState('queued', event.pending);
        return;
      case 'reaction':
        if (!event.own) this.decrypted(active);
        if (event.target.ref === undefined) return;
        this.applyReaction(event.target.ref, event.from.name, event.emoji, event.action);
        return;
      case 'typing':
        this.setRoom('typing', (ids) => {
          const others = ids.filter((id) => id !== event.member.id);
          return event.typing ? [...others, event.member.id] : others;
        });
        return;
      case 'gap':
        this.system(
          event.missed === undefined
            ? `Some messages from ${event.member.name} did not reach you while the connection was down.`
            : `${event.missed === 1 ? '1 message' : `${event.missed} messages`} from ${event.member.name} did not reach you while the connection was down.`,
          'warning',
        );
        return;
      case 'file-offered':
        this.decrypted(active);
        this.onFileOffered(active, event.file);
        return;
      case 'file-progress':
        this.updateFile(active, event.file, {
          bytes: event.bytes,
          state: event.file.direction === 'outgoing' ? 'sending' : 'receiving',
        });
        return;
      case 'file-received':
        this.updateFile(active, event.file, {
          bytes: event.file.size,
          state: 'received',
          url: this.urls.create(event.data, safeMimeType(event.file.mimeType)),
        });
        return;
      case 'file-sent':
        this.updateFile(active, event.file, { bytes: event.file.size, state: 'sent' });
        return;
      case 'file-acked':
        this.updateFile(active, event.file, { acks: event.acks });
        return;
      case 'file-failed':
        this.updateFile(active, event.file, { state: 'failed', reason: event.reason });
        return;
      case 'file-cancelled':
        this.updateFile(active, event.file, { state: 'cancelled' });
        return;
      case 'expired':
        this.removeByRef(event.ref);
        return;
      case 'notice':
        if (event.kind === NoticeKind.Drain) active.lastDrain = true;
        else if (event.kind === NoticeKind.Expiring) {
          // The header counts down to the second; a notice says it once.
          this.notify('expiring', 'warning', 'This room closes soon.', 0);
        }
        return;
      case 'server-error':
        this.onServerError(active, event.code, event.message, event.retrying);
        return;
      case 'warning':
        // Diagnostics (an unreadable frame, a key announcement that does not verify).
        console.warn(`hush: ${event.detail}`);
        return;
      case 'disconnected': {
        const reason: DropReason =
          active.lastDrain || event.code === 1001
            ? 'drain'
            : active.lastRefused
              ? 'refused'
              : 'lost';
        active.lastDrain = false;
        active.lastRefused = false;
        this.setState({
          status: 'waiting',
          retryAt: this.clock.now() + event.retryInMs,
          dropReason: reason,
        });
        this.setRoom('typing', []);
        return;
      }
      default:
        assertNever(event);
    }
  }

  private onJoined(active: Active, event: Extract<SessionEvent, { type: 'joined' }>): void {
    active.roomId = event.room.roomId;
    this.setRoom({
      roomId: event.room.roomId,
      selfId: event.self.id === '' ? undefined : event.self.id,
      hasPassword: event.room.hasPassword,
      ephemeral: event.room.ephemeral,
      expiresAt: event.room.expiresAt,
      typing: [],
    });
    this.setMembers(event.members);
    this.setState({
      status: 'online',
      entered: true,
      resuming: false,
      retryAt: undefined,
      dropReason: undefined,
      joinError: undefined,
    });
    this.refreshShare();
    this.memory.save(this.savedRoom(active));
    if (event.rejoin) this.system('You are back in the room.');
    this.refreshVerification(active);
  }

  private onEnd(active: Active, end: SessionEnd): void {
    this.memory.clear();
    const entered = this.state.entered;
    switch (end.kind) {
      case 'left':
        return;
      case 'room-closed': {
        const why =
          end.reason === 'expired'
            ? problem('room-expired')
            : end.reason === 'seat-lost'
              ? problem('seat-lost')
              : problem('room-closed');
        if (entered) this.end(active, why);
        else this.fail(why);
        return;
      }
      case 'refused': {
        const resumedGone = this.state.resuming && end.code === ErrorCode.RoomNotFound;
        const why = resumedGone ? problem('room-gone-reload') : joinProblem(end.code, end.rejoin);
        if (entered) this.end(active, why);
        else this.fail(why);
        return;
      }
      case 'unreachable':
        if (entered) {
          this.end(
            active,
            problem('unreachable', `Lost the connection to the relay (${end.detail}).`),
          );
        } else {
          this.fail(problem('unreachable'));
        }
        return;
      case 'failed':
        console.error('hush: the session failed', end.detail);
        if (entered) this.end(active, problem('failed', `Something went wrong: ${end.detail}`));
        else this.fail(problem('failed', `Something went wrong: ${end.detail}`));
        return;
      default:
        assertNever(end);
    }
  }

  /** Creating or joining failed before we were ever in the room: back to the start. */
  private fail(reason: Problem): void {
    this.leave();
    this.setState('joinError', reason);
  }

  /** The room ended while we were in it: keep the view, mark what was not sent. */
  private end(active: Active, reason: Problem): void {
    this.setRoom(
      'entries',
      (entry) => entry.kind === 'message' && entry.status === 'queued',
      produce((entry) => {
        if (entry.kind === 'message') entry.status = 'unsent';
      }),
    );
    this.setRoom(
      'entries',
      (entry) =>
        entry.kind === 'file' &&
        (entry.state === 'queued' || entry.state === 'sending' || entry.state === 'receiving'),
      produce((entry) => {
        if (entry.kind !== 'file') return;
        entry.state = 'failed';
        entry.reason = 'the room ended';
      }),
    );
    void active.session.leave();
    this.setRoom('typing', []);
    this.setState({ status: 'closed', ended: reason, retryAt: undefined, queued: 0 });
  }

  private savedRoom(active: Active): SavedRoom {
    return {
      code: { roomId: active.roomId ?? '', key: exportRoomKey(active.key) },
      name: active.name,
      passwordHash: active.passwordHash,
      ...(active.signing === undefined
        ? {}
        : { signing: { seed: active.signing.seed, publicKey: active.signing.pair.publicKey } }),
    };
  }

  private refreshShare(): void {
    const active = this.active;
    const roomId = this.room.roomId;
    if (active === undefined || roomId === undefined) return;
    const { ephemeral, expiresAt } = this.room;
    const code = formatShareCode({
      roomId,
      key: exportRoomKey(active.key),
      ...(ephemeral > 0 || expiresAt > 0 ? { ephemeral, expiresAt } : {}),
    });
    this.setState('share', { code, link: joinLink(this.linkBase, code) });
  }

  /** Recomputes fingerprints and the safety code, one computation at a time, in order. */
  private refreshVerification(active: Active): void {
    active.verifying = active.verifying.then(async () => {
      if (this.active !== active) return;
      const report = await active.session.verification();
      if (this.active !== active) return;
      const fingerprints: Record<string, string> = {};
      const missing: string[] = [];
      for (const { member, fingerprint } of report.members) {
        if (fingerprint === undefined) missing.push(member.name);
        else fingerprints[member.id] = fingerprint;
      }
      this.setState('verification', {
        roomKeyFingerprint: report.roomKeyFingerprint,
        safetyCode: report.safetyCode,
        fingerprints,
        missing,
      });
    });
    active.verifying = active.verifying.catch((error: unknown) =>
      console.warn('hush: could not compute the safety code', error),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Messages, reactions, files
  // -------------------------------------------------------------------------------------------

  private onMessage(active: Active, message: ChatMessage): void {
    this.decrypted(active);
    const colors = this.colorsOf(message.from.id);
    this.setRoom('typing', (ids) => ids.filter((id) => id !== message.from.id));
    this.append({
      kind: 'message',
      key: this.nextKey(),
      ref: message.ref,
      own: false,
      senderName: message.from.name,
      colors,
      t: message.t,
      expiresAt: this.expiryFromNow(),
      verification: message.verification,
      keyChanged: active.keyChangedNames.has(nameKey(message.from.name)),
      reactions: {},
      text: message.text,
      status: 'received',
      reply:
        message.reply === undefined
          ? undefined
          : {
              ref: message.reply.ref,
              senderName: message.reply.senderName,
              preview: message.reply.preview,
            },
    });
    this.setRoom('incoming', (n) => n + 1);
  }

  private onSent(active: Active, message: ChatMessage): void {
    this.updateByRef(message.ref, {
      status: 'sent',
      t: message.t,
      verification: message.verification,
      expiresAt: this.expiryFromNow(),
    });
    this.setState('queued', active.session.pending);
  }

  private onUndecryptable(active: Active, from: Member): void {
    active.undecryptableFrom.add(nameKey(from.name));
    this.setRoom('members', (m) => m.id === from.id, 'unreadable', true);
    this.updateKeyMismatch(active);
    const last = this.room.entries.at(-1);
    if (last?.kind === 'undecryptable' && nameKey(last.senderName) === nameKey(from.name)) {
      this.setRoom(
        'entries',
        this.room.entries.length - 1,
        produce((entry) => {
          if (entry.kind === 'undecryptable') entry.count += 1;
        }),
      );
      return;
    }
    this.append({
      kind: 'undecryptable',
      key: this.nextKey(),
      t: this.clock.now(),
      senderName: from.name,
      colors: this.colorsOf(from.id),
      count: 1,
    });
  }

  /** Something from another member decrypted: our key is the room's. */
  private decrypted(active: Active): void {
    active.decryptedFromOthers += 1;
    this.updateKeyMismatch(active);
  }

  private updateKeyMismatch(active: Active): void {
    const mismatch =
      !active.createdHere && active.decryptedFromOthers === 0 && active.undecryptableFrom.size > 0;
    if (mismatch !== this.state.keyMismatch) this.setState('keyMismatch', mismatch);
  }

  private applyReaction(ref: number, name: string, emoji: string, action: 'add' | 'remove'): void {
    const index = this.room.entries.findIndex(
      (entry) => (entry.kind === 'message' || entry.kind === 'file') && entry.ref === ref,
    );
    if (index < 0) return;
    this.setRoom(
      'entries',
      index,
      produce((entry) => {
        if (entry.kind !== 'message' && entry.kind !== 'file') return;
        if (action === 'add') entry.reactions[name] = emoji;
        else if (entry.reactions[name] === emoji) delete entry.reactions[name];
      }),
    );
  }

  private onFileOffered(active: Active, file: FileInfo): void {
    const key = this.nextKey();
    active.files.set(fileKey(file), key);
    this.append({
      kind: 'file',
      key,
      ref: file.ref,
      own: false,
      senderName: file.from.name,
      colors: this.colorsOf(file.from.id),
      t: file.t,
      expiresAt: this.expiryFromNow(),
      verification: file.verification,
      keyChanged: active.keyChangedNames.has(nameKey(file.from.name)),
      reactions: {},
      transferId: file.transferId,
      fileName: file.fileName,
      mimeType: file.mimeType,
      size: file.size,
      bytes: 0,
      state: 'receiving',
      reason: undefined,
      previewUrl:
        file.thumbnail === undefined ? undefined : this.urls.create(file.thumbnail, 'image/jpeg'),
      url: undefined,
      acks: 0,
    });
    this.setRoom('incoming', (n) => n + 1);
  }

  private updateFile(active: Active, file: FileInfo, update: Partial<FileEntry>): void {
    const key = active.files.get(fileKey(file));
    if (key === undefined) return;
    const own = file.direction === 'outgoing';
    this.setRoom(
      'entries',
      (entry) => entry.key === key,
      produce((entry) => {
        if (entry.kind !== 'file') return;
        Object.assign(entry, update);
        if (own && entry.ref === undefined) {
          entry.ref = file.ref;
          entry.verification = file.verification;
        }
        if (own && update.state === 'sent') entry.expiresAt = this.expiryFromNow();
      }),
    );
  }

  private expiryFromNow(): number | undefined {
    const seconds = this.room.ephemeral;
    return seconds > 0 ? this.clock.now() + seconds * 1000 : undefined;
  }

  /** Thumbnail bytes that keep file metadata within the relay's frame limit (JSON, ~10× bytes). */
  private thumbnailBudget(): number {
    const frame = this.active?.session.relayLimits?.maxFrameBytes ?? 102_400;
    return Math.max(0, Math.floor((frame - 24_000) / 10));
  }

  // -------------------------------------------------------------------------------------------
  // Members and entries
  // -------------------------------------------------------------------------------------------

  private setMembers(members: readonly Member[]): void {
    const active = this.active;
    const colors = memberColors(members);
    this.setRoom(
      'members',
      members.map((member) => ({
        ...member,
        colors: colors.get(member.id),
        keyChanged: active?.keyChangedNames.has(nameKey(member.name)) ?? false,
        unreadable: active?.undecryptableFrom.has(nameKey(member.name)) ?? false,
      })),
    );
  }

  private addMember(member: Member): void {
    if (this.room.members.some((m) => m.id === member.id)) return;
    this.setMembers([...this.room.members, member]);
  }

  private removeMember(id: string): void {
    this.setRoom('typing', (ids) => ids.filter((other) => other !== id));
    this.setRoom('members', (members) => members.filter((m) => m.id !== id));
  }

  private colorsOf(memberId: string): MemberColors | undefined {
    return this.room.members.find((m) => m.id === memberId)?.colors;
  }

  private entryByRef(ref: number): Entry | undefined {
    return this.room.entries.find(
      (entry) => (entry.kind === 'message' || entry.kind === 'file') && entry.ref === ref,
    );
  }

  private updateByRef(ref: number, update: Partial<ChatEntry>): void {
    this.setRoom(
      'entries',
      (entry) => (entry.kind === 'message' || entry.kind === 'file') && entry.ref === ref,
      produce((entry) => Object.assign(entry, update)),
    );
  }

  private removeByRef(ref: number): void {
    const entry = this.entryByRef(ref);
    if (entry === undefined) return;
    this.revoke(entry);
    const { key } = entry;
    this.setRoom('entries', (entries) => entries.filter((e) => e.key !== key));
  }

  /** Adds a line about the room. */
  private system(text: string, tone: 'info' | 'warning' = 'info'): void {
    this.append({ kind: 'system', key: this.nextKey(), t: this.clock.now(), text, tone });
  }

  private nextKey(): string {
    this.counter += 1;
    return `e${this.counter}`;
  }

  private append(entry: Entry): void {
    const dropped: Entry[] = [];
    this.setRoom(
      'entries',
      produce((entries) => {
        entries.push(entry);
        let excess = entries.length - MAX_ENTRIES;
        for (let i = 0; excess > 0 && i < entries.length;) {
          const candidate = entries[i]!;
          if (candidate.kind === 'message' && candidate.status === 'queued') {
            i += 1;
            continue;
          }
          dropped.push(candidate);
          entries.splice(i, 1);
          excess -= 1;
        }
      }),
    );
    for (const entry of dropped) this.revoke(entry);
  }

  private revoke(entry: Entry): void {
    if (entry.kind !== 'file') return;
    if (entry.url !== undefined) this.urls.revoke(entry.url);
    if (entry.previewUrl !== undefined) this.urls.revoke(entry.previewUrl);
  }

  private revokeAll(): void {
    for (const entry of this.room.entries) this.revoke(entry);
  }

  // -------------------------------------------------------------------------------------------
  // Notices
  // -------------------------------------------------------------------------------------------

  private onServerError(active: Active, code: string, message: string, retrying: boolean): void {
    if (retrying) {
      active.lastRefused = true;
      return;
    }
    switch (code) {
      case ErrorCode.RateLimited:
        // The SDK paces typing within the announced budget; a relay that still refuses one
        // loses nothing anyone needs to hear about.
        if (/typing/i.test(message)) return;
        this.notify(
          'rate-limited',
          'warning',
          'The relay refused some of your traffic as too fast; your last message may not have reached everyone.',
        );
        return;
      case ErrorCode.Unavailable:
        this.notify(
          'unavailable',
          'warning',
          'The relay could not reach part of its cluster; some members may have missed your last message.',
        );
        return;
      case ErrorCode.TransferRejected:
        // The file's line says it failed.
        return;
      default:
        this.notify(`error-${code}`, 'error', `The relay refused a request (${code}).`);
    }
  }

  private notify(
    cause: string,
    tone: NoticeTone,
    text: string,
    ttlMs: number = NOTICE_TTL_MS,
  ): void {
    const existing = this.state.notices.find((notice) => notice.cause === cause);
    const id = existing?.id ?? ++this.noticeCounter;
    if (existing !== undefined) {
      this.setState('notices', (n) => n.id === id, { text, tone, count: existing.count + 1 });
    } else {
      const notices = [...this.state.notices, { id, cause, tone, text, count: 1 }];
      for (const dropped of notices.slice(0, -MAX_NOTICES)) this.dismissNotice(dropped.id);
      this.setState('notices', notices.slice(-MAX_NOTICES));
    }
    const previous = this.noticeTimers.get(id);
    if (previous !== undefined) this.clock.clearTimeout(previous);
    this.noticeTimers.delete(id);
    if (ttlMs > 0) {
      this.noticeTimers.set(
        id,
        this.clock.setTimeout(() => this.dismissNotice(id), ttlMs),
      );
    }
  }
}

/**
 * A signing key pair for this tab whose seed can be kept in the tab's storage, so a reload keeps
 * the same key (others would otherwise see it change). Undefined where WebCrypto has no Ed25519.
 */
export async function makeSigningKey(): Promise<TabSigningKey | undefined> {
  let jwk: JsonWebKey;
  try {
    const pair = (await globalThis.crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    jwk = await globalThis.crypto.subtle.exportKey('jwk', pair.privateKey);
  } catch {
    return undefined;
  }
  if (jwk.d === undefined || jwk.x === undefined) return undefined;
  const seed = fromBase64Url(jwk.d);
  const pair = await importSigningKeyPair(seed, fromBase64Url(jwk.x));
  return { pair, seed };
}

function fileKey(file: FileInfo): string {
  return file.direction === 'outgoing'
    ? file.transferId
    : `${file.from.id}\u0000${file.transferId}`;
}

/** Received files are offered for download as what they claim, except types a browser runs. */
function safeMimeType(type: string): string {
  return /^(text\/html|application\/xhtml|image\/svg)/i.test(type)
    ? 'application/octet-stream'
    : type;
}

function assertNever(value: never): never {
  throw new Error(`unhandled session event ${JSON.stringify(value)}`);
}
