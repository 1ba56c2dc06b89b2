import type { ErrorCode } from './error-codes.js';
import type { ClientType, Feature, RelayedType, ServerType } from './message-types.js';
import { RELAYED_TYPES } from './message-types.js';
import type { RateKind, RateLimit } from './limits.js';

/**
 * An opaque encrypted field. Arthas clients send base64url strings; other clients may send
 * msgpack binary. The relay forwards either form byte-for-byte as received.
 */
export type Opaque = string | Uint8Array;

/** A member as the server describes it. */
export interface Member {
  /** Server-made member id, unique within the cluster. */
  id: string;
  /** Nickname, trimmed, unique within the room (case-insensitive). */
  name: string;
  /** CSS colour `#rrggbb` derived from the member id. */
  color: string;
}

// ---------------------------------------------------------------------------------------------
// Client → server
// ---------------------------------------------------------------------------------------------

export interface CreateRoom {
  type: typeof ClientType.CreateRoom;
  data: {
    /** Creator's nickname. */
    name: string;
    /**
     * "" for no password, else 64 lowercase hex chars: SHA-256 of the password. Missing reads as
     * "" (Arthas).
     */
    password: string;
    /** Seconds after which clients hide messages; 0 = not ephemeral. Missing reads as 0. */
    ephemeral: number;
    /**
     * Room lifetime in seconds; 0 = no expiry. Missing reads as 0; out-of-range values are
     * clamped to 0…max (604800 by default), as the Arthas server does.
     */
    expiry: number;
  };
}

export interface JoinRoom {
  type: typeof ClientType.JoinRoom;
  data: {
    /**
     * The 21-character room id from the share code. Any other string is accepted on the wire
     * and answered E001 (room not found), as the Arthas server does.
     */
    roomId: string;
    /** Joiner's nickname. */
    name: string;
    /** "" or the SHA-256 hex of the password. */
    password: string;
  };
}

export interface SendMessage {
  type: typeof ClientType.SendMessage;
  data: {
    /** AES-GCM IV. */
    iv: Opaque;
    /** AES-GCM ciphertext with tag. */
    ciphertext: Opaque;
  };
}

export interface LeaveRoom {
  type: typeof ClientType.LeaveRoom;
  data: Record<string, never>;
}

export interface Typing {
  type: typeof ClientType.Typing;
  /**
   * A plain flag, or an encrypted typing state in `iv` + `ciphertext` (Arthas web clients send
   * only those; a missing `typing` reads as false).
   */
  data: { typing?: boolean; iv?: Opaque; ciphertext?: Opaque };
}

export interface Pong {
  type: typeof ClientType.Pong;
  data: {
    /** Echo of the Ping's `t`. The relay needs only the frame: a missing `t` is fine. */
    t?: number;
  };
}

export interface SendReaction {
  type: typeof ClientType.SendReaction;
  data: { iv: Opaque; ciphertext: Opaque };
}

export interface SendFileMeta {
  type: typeof ClientType.SendFileMeta;
  data: {
    /** Client-chosen id of the transfer. */
    transferId: string;
    /** Encrypted file metadata (name, size, type). */
    iv: Opaque;
    ciphertext: Opaque;
  };
}

export interface SendFileChunk {
  type: typeof ClientType.SendFileChunk;
  data: {
    transferId: string;
    /** Chunk index, from 0. */
    index: number;
    iv: Opaque;
    /** Encrypted chunk bytes. */
    data: Opaque;
  };
}

export interface SendFileComplete {
  type: typeof ClientType.SendFileComplete;
  data: { transferId: string };
}

export interface SendFileCancel {
  type: typeof ClientType.SendFileCancel;
  data: { transferId: string };
}

export interface SendFileAck {
  type: typeof ClientType.SendFileAck;
  /** A receiver acknowledges a transfer; relayed only to the file's sender. */
  data: { transferId: string };
}

/** Extension: version and feature negotiation. Optional; must come before anything else to matter. */
export interface Hello {
  type: typeof ClientType.Hello;
  data: {
    /** Highest protocol version the client speaks. */
    version: number;
    /** Features the client wants (unknown ones are ignored). */
    features: string[];
    /** Free-form client identification, e.g. "hush-web/0.1.0". */
    client?: string;
  };
}

export type ClientMessage =
  | CreateRoom
  | JoinRoom
  | SendMessage
  | LeaveRoom
  | Typing
  | Pong
  | SendReaction
  | SendFileMeta
  | SendFileChunk
  | SendFileComplete
  | SendFileCancel
  | SendFileAck
  | Hello;

/** The client messages of {@link RELAYED_TYPES}. */
export type RelayedMessage = Extract<ClientMessage, { type: RelayedType }>;

const relayedTypes: ReadonlySet<ClientType> = new Set(RELAYED_TYPES);

/** True for a message the relay forwards to other members (see {@link RELAYED_TYPES}). */
export function isRelayed(message: ClientMessage): message is RelayedMessage {
  return relayedTypes.has(message.type);
}

// ---------------------------------------------------------------------------------------------
// Server → client
// ---------------------------------------------------------------------------------------------

export interface RoomCreated {
  type: typeof ServerType.RoomCreated;
  data: {
    roomId: string;
    /** Unix seconds; 0 = never. */
    expiresAt: number;
  };
}

export interface RoomJoined {
  type: typeof ServerType.RoomJoined;
  data: {
    roomId: string;
    /** Everyone in the room, the joiner included. */
    members: Member[];
    hasPassword: boolean;
    ephemeral: number;
    /** Unix seconds; 0 = never. */
    expiresAt: number;
    /** The joiner's own member id; only for clients that negotiated `self-id`. */
    selfId?: string;
  };
}

export interface MemberJoined {
  type: typeof ServerType.MemberJoined;
  data: Member;
}

export interface MemberLeft {
  type: typeof ServerType.MemberLeft;
  data: { id: string };
}

/** Fields the server sets on everything it relays; never taken from the client. */
export interface SenderFields {
  senderId: string;
  senderName: string;
  /** Server time, unix milliseconds. */
  t: number;
}

/**
 * With feature `gaps`: the sender's running count of its chat messages and reactions since it
 * joined (1, 2, 3 …, one sequence per member id). A receiver that sees a number skip missed the
 * ones in between. Never sent to clients that did not negotiate it.
 */
export interface Sequenced {
  seq?: number;
}

export interface RelayMessage {
  type: typeof ServerType.RelayMessage;
  data: SenderFields & { iv: Opaque; ciphertext: Opaque } & Sequenced;
}

export interface MemberTyping {
  type: typeof ServerType.MemberTyping;
  data: { id: string; typing: boolean; iv?: Opaque; ciphertext?: Opaque };
}

export interface RoomClosed {
  type: typeof ServerType.RoomClosed;
  data: {
    /** Why the room closed, e.g. "expired". */
    reason: string;
  };
}

export interface ErrorMessage {
  type: typeof ServerType.Error;
  data: {
    code: ErrorCode;
    /** Human-readable explanation; never contains room ids, names or payloads. */
    msg: string;
  };
}

export interface Ping {
  type: typeof ServerType.Ping;
  data: {
    /** Server time, unix milliseconds; echo it in Pong. */
    t: number;
  };
}

export interface RelayReaction {
  type: typeof ServerType.RelayReaction;
  data: SenderFields & { iv: Opaque; ciphertext: Opaque } & Sequenced;
}

export interface RelayFileMeta {
  type: typeof ServerType.RelayFileMeta;
  data: SenderFields & { transferId: string; iv: Opaque; ciphertext: Opaque };
}

export interface RelayFileChunk {
  type: typeof ServerType.RelayFileChunk;
  data: { senderId: string; transferId: string; index: number; iv: Opaque; data: Opaque };
}

export interface RelayFileComplete {
  type: typeof ServerType.RelayFileComplete;
  data: { senderId: string; transferId: string };
}

export interface RelayFileCancel {
  type: typeof ServerType.RelayFileCancel;
  data: { senderId: string; transferId: string };
}

export interface RelayFileAck {
  type: typeof ServerType.RelayFileAck;
  /** Sent only to the file's sender. */
  data: { receiverId: string; transferId: string };
}

/** Extension: the answer to Hello. */
export interface Welcome {
  type: typeof ServerType.Welcome;
  data: {
    /** Protocol version the server will speak on this connection. */
    version: number;
    /** Features granted (the intersection of asked and supported). */
    features: Feature[];
    /** Limits in force on this relay, so clients can validate before sending. */
    limits: ServerLimits;
  };
}

/** Limits a relay announces in Welcome. */
export interface ServerLimits {
  maxFrameBytes: number;
  maxRoomMembers: number;
  nameMaxCodePoints: number;
  maxExpirySeconds: number;
  /** The chat budget (also in `rates.chat`, kept for clients of protocol version 1). */
  chatPerWindow: number;
  windowMs: number;
  /**
   * Every per-connection budget in force, by kind. Relays before this field announced only the
   * chat budget; a client then assumes the defaults of `RATE_LIMITS`.
   */
  rates?: Partial<Record<RateKind, RateLimit>>;
  /**
   * Liveness: the relay pings every `pingIntervalMs` and drops a connection that sent no pong for
   * `pongTimeoutMs`. Relays before these fields used the defaults, `PING_INTERVAL_MS` and
   * `PONG_TIMEOUT_MS`.
   */
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
}

export const NoticeKind = {
  /** The replica is shutting down; reconnect (through the load balancer) after `retryAfterMs`. */
  Drain: 'drain',
  /** The room expires at `expiresAt`. */
  Expiring: 'expiring',
  /**
   * Feature `gaps`: where members' sequences stand (`sequences`), sent to a member as it joins,
   * so the first number it sees from each is already checked.
   */
  Sequences: 'sequences',
} as const;
export type NoticeKind = (typeof NoticeKind)[keyof typeof NoticeKind];

/** Extension: a server notice. */
export interface Notice {
  type: typeof ServerType.Notice;
  data: {
    kind: NoticeKind;
    /** Human-readable text. */
    msg: string;
    /** For `drain`: how long to wait before reconnecting, ms. */
    retryAfterMs?: number;
    /** For `expiring`: when the room closes, unix seconds. */
    expiresAt?: number;
    /** For `sequences`: member id → the `seq` of the last message or reaction it sent. */
    sequences?: Record<string, number>;
  };
}

export type ServerMessage =
  | RoomCreated
  | RoomJoined
  | MemberJoined
  | MemberLeft
  | RelayMessage
  | MemberTyping
  | RoomClosed
  | ErrorMessage
  | Ping
  | RelayReaction
  | RelayFileMeta
  | RelayFileChunk
  | RelayFileComplete
  | RelayFileCancel
  | RelayFileAck
  | Welcome
  | Notice;

/** Any message, either direction. */
export type Message = ClientMessage | ServerMessage;
