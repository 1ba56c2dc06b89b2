import type { ErrorCode, Member, NoticeKind, ServerLimits } from '@hush/protocol';

/** The room's settings, as RoomJoined reports them. */
export interface RoomInfo {
  roomId: string;
  hasPassword: boolean;
  /** Seconds after which messages should leave the view; 0 = they stay. */
  ephemeral: number;
  /** Unix seconds; 0 = never. */
  expiresAt: number;
}

/**
 * What a signature says about a message:
 * - `verified`: signed by the key its sender announced;
 * - `invalid`: signed, but not by that key (tampered with, or relabelled by the relay);
 * - `unknown-signer`: signed by a member whose key we do not know (yet);
 * - `unsigned`: no signature (older clients, or no Ed25519 where it was sent).
 */
export type Verification = 'verified' | 'invalid' | 'unknown-signer' | 'unsigned';

/** A quoted message, as the reply carries it and as far as we could find it. */
export interface ReplyInfo {
  /** The quoted message's `senderId:t` (Arthas). */
  stableId: string;
  senderName: string;
  preview: string;
  /** The quoted message's client message id, when the sender is one of ours. */
  id?: string;
  /** The quoted message in this session, when we have it. */
  ref?: number;
}

/** A chat message, received or our own. */
export interface ChatMessage {
  /** This session's number for the message: 1, 2, 3 … (what `/reply 3` refers to). */
  ref: number;
  /** `senderId:t`, how Arthas clients name a message in replies and reactions. */
  stableId: string;
  /** The client message id, when the sender is one of ours. */
  id?: string;
  own: boolean;
  from: Member;
  text: string;
  /** Unix ms: the relay's time for received messages, ours for our own. */
  t: number;
  verification: Verification;
  reply?: ReplyInfo;
}

/** The message a reaction is about. */
export interface ReactionTarget {
  stableId: string;
  /** The message, when we have it. */
  ref?: number;
  /** Who wrote it, when we know. */
  senderName?: string;
  preview?: string;
}

export type FileDirection = 'incoming' | 'outgoing';

/** A file someone offers, or one we send. */
export interface FileInfo {
  transferId: string;
  direction: FileDirection;
  /** The sender (ourselves for outgoing files). */
  from: Member;
  /** As the sender named it; sanitise it before using it as a file name. */
  fileName: string;
  mimeType: string;
  size: number;
  /** A JPEG preview, when the sender made one. */
  thumbnail?: Uint8Array;
  verification: Verification;
  /** The chat message number this file takes, for replies and reactions. */
  ref: number;
  /** Unix ms: the relay's time for incoming files, ours for outgoing ones. */
  t: number;
  /** `senderId:t` of the file message. */
  stableId: string;
}

/** How a session ended. */
export type SessionEnd =
  /** We left (leave(), end of input, a signal). */
  | { kind: 'left' }
  /** The relay closed the room under us (RoomClosed), e.g. `expired`. */
  | { kind: 'room-closed'; reason: string }
  /** The relay refused a create or join; `rejoin` when it happened while reconnecting. */
  | { kind: 'refused'; code: ErrorCode; rejoin: boolean }
  /** No connection could be made, or reconnecting gave up. */
  | { kind: 'unreachable'; detail: string; rejoin: boolean }
  /** Something unexpected; `detail` is for people and never holds keys or payloads. */
  | { kind: 'failed'; detail: string };

/** Everything a session reports, in order. Clients render these; tests assert on them. */
export type SessionEvent =
  | { type: 'connecting'; url: string; attempt: number }
  | { type: 'welcome'; version: number; features: readonly string[]; limits: ServerLimits }
  /** CreateRoom succeeded; `joined` follows. */
  | { type: 'created'; roomId: string; expiresAt: number }
  /** In the room, the first time or again after a reconnect (`rejoin`). */
  | { type: 'joined'; room: RoomInfo; self: Member; members: readonly Member[]; rejoin: boolean }
  | { type: 'member-joined'; member: Member }
  | { type: 'member-left'; member: Member }
  | { type: 'message'; message: ChatMessage }
  /** A message that did not decrypt: a wrong key, or a sender using another one. */
  | { type: 'undecryptable'; from: Member; t: number; firstFromSender: boolean }
  /** A message's signature state changed, because its sender's key arrived. */
  | { type: 'verification'; ref: number; from: Member; verification: Verification }
  /** A member's signing key, seen for the first time in this room. */
  | { type: 'key-learned'; member: Member; fingerprint: string }
  /** A member's signing key differs from the one first seen under that name: a warning. */
  | { type: 'key-changed'; member: Member; fingerprint: string; previousFingerprint: string }
  /** Our message went to the relay. */
  | { type: 'sent'; message: ChatMessage }
  /** Our messages waiting for the connection, after one was queued while disconnected. */
  | { type: 'queued'; pending: number }
  | {
      type: 'reaction';
      from: Member;
      target: ReactionTarget;
      emoji: string;
      action: 'add' | 'remove';
      verification: Verification;
      own: boolean;
    }
  | { type: 'typing'; member: Member; typing: boolean }
  /**
   * Messages from `member` that never reached us (while we reconnected, or lost between relay
   * replicas): `missed` of them, or an unknown number when it cannot be counted (the member
   * reconnected under a new id meanwhile). Needs a relay that grants the `gaps` feature.
   */
  | { type: 'gap'; member: Member; missed?: number }
  | { type: 'file-offered'; file: FileInfo }
  | { type: 'file-progress'; file: FileInfo; bytes: number }
  /** An incoming file arrived whole and checked. */
  | { type: 'file-received'; file: FileInfo; data: Uint8Array }
  /** Our file went out whole. */
  | { type: 'file-sent'; file: FileInfo }
  /** A member confirmed it received our file. */
  | { type: 'file-acked'; file: FileInfo; by: Member; acks: number }
  | { type: 'file-failed'; file: FileInfo; reason: string }
  | { type: 'file-cancelled'; file: FileInfo }
  /** In an ephemeral room, a message's time is up: clients should stop showing it. */
  | { type: 'expired'; ref: number }
  | { type: 'notice'; kind: NoticeKind; message: string }
  /** An Error from the relay that did not end the session. */
  | { type: 'server-error'; code: ErrorCode; message: string; retrying: boolean }
  /** Something odd worth knowing (an unreadable frame, a silent relay, a bad key announcement). */
  | { type: 'warning'; detail: string }
  | { type: 'disconnected'; code: number; reason: string; retryInMs: number };

export type SessionEventType = SessionEvent['type'];
