/**
 * Protocol limits. Every bound the codec, the validator or the relay applies is named here so
 * clients, the relay and tests agree on the same numbers. The relay may be configured tighter or
 * looser; these are the defaults of SPEC.md section 3.
 */

/** Protocol version spoken by this library, announced in Hello/Welcome. */
export const PROTOCOL_VERSION = 1;

/** Largest WebSocket frame accepted by default (bytes). Larger frames close the socket with 1009. */
export const MAX_FRAME_BYTES = 100 * 1024;

/** Nickname length bounds, in Unicode code points after trimming. */
export const NAME_MIN_CODE_POINTS = 1;
export const NAME_MAX_CODE_POINTS = 20;

/** Room ids are nanoids made by the server. */
export const ROOM_ID_LENGTH = 21;
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{21}$/;

/** A room password travels as "" (none) or the lowercase hex SHA-256 of the password. */
export const PASSWORD_HASH_PATTERN = /^[0-9a-f]{64}$/;

/** The length CreateRoom requires of a non-empty password (that of a SHA-256 hex digest). */
export const PASSWORD_HASH_LENGTH = 64;

/** Longest password or room id string read from a client; longer ones are refused as E005. */
export const MAX_PASSWORD_LENGTH = 256;
export const MAX_ROOM_ID_LENGTH = 256;

/** Room expiry bound: 7 days, in seconds. 0 means the room never expires. */
export const MAX_EXPIRY_SECONDS = 604_800;

/** Ephemeral message lifetime bound, in seconds (clients hide messages after it). */
export const MAX_EPHEMERAL_SECONDS = 604_800;

/** Default room capacity. */
export const MAX_ROOM_MEMBERS = 50;

/** The most members a relay may be configured to seat in one room. */
export const ROOM_MEMBERS_CEILING = 10_000;

/**
 * Bounds on opaque encrypted fields, in bytes of the binary form or characters of the string
 * form. Chat ciphertext, file metadata (which carries an image thumbnail in Arthas clients, ~40 KB
 * for an 800×600 picture) and file chunks have no bound of their own: the frame limit bounds them,
 * as on the Arthas server.
 */
export const MAX_IV_LENGTH = 64;
export const MAX_TYPING_CIPHERTEXT_LENGTH = 1024;
export const MAX_REACTION_CIPHERTEXT_LENGTH = 4096;

/** File transfer ids are client-chosen opaque strings. */
export const MAX_TRANSFER_ID_LENGTH = 64;
export const MAX_FILE_CHUNK_INDEX = 1_000_000;

/** Free-text bounds for server-originated strings and negotiation. */
export const MAX_ERROR_MESSAGE_LENGTH = 512;
export const MAX_FEATURES = 32;
export const MAX_FEATURE_LENGTH = 32;
export const MAX_CLIENT_NAME_LENGTH = 64;

/** Liveness defaults: the server pings every 25 s and drops a connection silent for 40 s. */
export const PING_INTERVAL_MS = 25_000;
export const PONG_TIMEOUT_MS = 40_000;

/** One budget: at most `events` within `windowMs`. */
export interface RateLimit {
  events: number;
  windowMs: number;
}

/**
 * The kinds of client traffic the relay budgets, each per connection. A client paces itself by
 * the budgets the relay announces in Welcome (`limits.rates`); these are the defaults.
 */
export const RATE_LIMITS = {
  /** SendMessage (0x03). Arthas semantics: at most `events` accepted within any `windowMs`. */
  chat: { events: 10, windowMs: 10_000 },
  /** Typing (0x05). */
  typing: { events: 20, windowMs: 10_000 },
  /** SendReaction (0x07). */
  reaction: { events: 20, windowMs: 10_000 },
  /** SendFileMeta (0x08): file transfers started. */
  fileMeta: { events: 10, windowMs: 10_000 },
  /** SendFileChunk (0x09). Arthas senders push a chunk every 10 ms; a 5 MB file is 80 chunks. */
  fileChunk: { events: 400, windowMs: 10_000 },
  /** SendFileComplete (0x0A) and SendFileCancel (0x0B). */
  fileControl: { events: 20, windowMs: 10_000 },
  /** SendFileAck (0x0C). */
  fileAck: { events: 50, windowMs: 10_000 },
  /** CreateRoom (0x01) and JoinRoom (0x02). */
  join: { events: 5, windowMs: 10_000 },
  /** Room traffic sent outside a room (answered E003). */
  lobby: { events: 20, windowMs: 10_000 },
} as const satisfies Record<string, RateLimit>;

/** A kind of budgeted client traffic. */
export type RateKind = keyof typeof RATE_LIMITS;

export const RATE_KINDS = Object.keys(RATE_LIMITS) as readonly RateKind[];
