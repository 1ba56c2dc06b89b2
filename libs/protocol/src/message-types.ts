/**
 * Numeric message type ids. The client and server ranges are the Arthas protocol's and must never
 * change; 0x40–0x7F is the extension range for messages of our own.
 */
export const ClientType = {
  CreateRoom: 0x01,
  JoinRoom: 0x02,
  SendMessage: 0x03,
  LeaveRoom: 0x04,
  Typing: 0x05,
  Pong: 0x06,
  SendReaction: 0x07,
  SendFileMeta: 0x08,
  SendFileChunk: 0x09,
  SendFileComplete: 0x0a,
  SendFileCancel: 0x0b,
  SendFileAck: 0x0c,
  /** Extension: version and feature negotiation. */
  Hello: 0x40,
} as const;
export type ClientType = (typeof ClientType)[keyof typeof ClientType];

/**
 * Client messages a room member sends for the others: the relay forwards each to the rest of the
 * room (a file ack to the transfer's sender) and has no other use for it.
 */
export const RELAYED_TYPES = [
  ClientType.SendMessage,
  ClientType.Typing,
  ClientType.SendReaction,
  ClientType.SendFileMeta,
  ClientType.SendFileChunk,
  ClientType.SendFileComplete,
  ClientType.SendFileCancel,
  ClientType.SendFileAck,
] as const;
export type RelayedType = (typeof RELAYED_TYPES)[number];

export const ServerType = {
  RoomCreated: 0x10,
  RoomJoined: 0x11,
  MemberJoined: 0x12,
  MemberLeft: 0x13,
  RelayMessage: 0x14,
  MemberTyping: 0x15,
  RoomClosed: 0x16,
  Error: 0x17,
  Ping: 0x18,
  RelayReaction: 0x19,
  RelayFileMeta: 0x1a,
  RelayFileChunk: 0x1b,
  RelayFileComplete: 0x1c,
  RelayFileCancel: 0x1d,
  RelayFileAck: 0x1e,
  /** Extension: answer to Hello. */
  Welcome: 0x41,
  /** Extension: server notices (drain, expiry warning). Only sent to clients that negotiated it. */
  Notice: 0x42,
} as const;
export type ServerType = (typeof ServerType)[keyof typeof ServerType];

/** First and last id of the extension range. */
export const EXTENSION_MIN = 0x40;
export const EXTENSION_MAX = 0x7f;

/** Features a client may ask for in Hello; the server answers with those it grants. */
export const Feature = {
  /** Receive Notice messages (drain with a reconnect hint, room expiry warnings). */
  Notices: 'notices',
  /** Receive your own member id in RoomJoined (`selfId`). */
  SelfId: 'self-id',
  /**
   * RelayMessage and RelayReaction carry `seq`, the sender's count of them since it joined, so a
   * receiver can tell how many it missed (while it reconnected, or while the cluster lost them).
   */
  Gaps: 'gaps',
} as const;
export type Feature = (typeof Feature)[keyof typeof Feature];
