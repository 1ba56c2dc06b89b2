import { isErrorCode } from './error-codes.js';
import type { ProtocolError, ProtocolErrorReason, Result } from './errors.js';
import { protocolError } from './errors.js';
import * as L from './limits.js';
import { ClientType, Feature, ServerType } from './message-types.js';
import type { ClientMessage, Member, Opaque, ServerLimits, ServerMessage } from './messages.js';
import { NoticeKind } from './messages.js';
import { normalizeName } from './name.js';

/** Thrown inside the validator only; `parseClientMessage`/`parseServerMessage` turn it into a Result. */
class FieldError extends Error {
  constructor(
    readonly reason: ProtocolErrorReason,
    message: string,
  ) {
    super(message);
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** The bound of fields that only the frame limit bounds (chat and file ciphertext). */
const FRAME_BOUNDED = Number.MAX_SAFE_INTEGER;

/** Typed access to the fields of a `data` map. Every accessor checks type and bounds. */
class Fields {
  constructor(
    private readonly data: Record<string, unknown>,
    private readonly limits: ClientLimits = DEFAULT_CLIENT_LIMITS,
  ) {}

  has(key: string): boolean {
    return Object.hasOwn(this.data, key) && this.data[key] !== undefined && this.data[key] !== null;
  }

  /** The keys of this map, at most `max` of them. */
  keys(max: number): string[] {
    const keys = Object.keys(this.data);
    if (keys.length > max) throw new FieldError('oversized_field', `more than ${max} keys`);
    return keys;
  }

  private get(key: string): unknown {
    if (!this.has(key)) throw new FieldError('bad_field', `missing field "${key}"`);
    return this.data[key];
  }

  string(key: string, max: number, min = 0): string {
    const value = this.get(key);
    if (typeof value !== 'string') throw new FieldError('bad_field', `"${key}" must be a string`);
    if (value.length > max)
      throw new FieldError('oversized_field', `"${key}" is longer than ${max}`);
    if (value.length < min) throw new FieldError('bad_field', `"${key}" must not be empty`);
    return value;
  }

  /** A string field read the Arthas way: missing or not a string reads as "". */
  looseString(key: string, max: number): string {
    return this.has(key) && typeof this.data[key] === 'string' ? this.string(key, max) : '';
  }

  /**
   * An integer field read the Arthas way: missing, not an integer, or not a safe integer reads
   * as 0 (the Go server's zero value). The result is then clamped to `min…max`.
   */
  looseInt(key: string, min: number, max: number): number {
    const value = this.has(key) ? this.data[key] : 0;
    // An int64 beyond 2^53 arrives as an (integral) float: it is still far out of range.
    const int = typeof value === 'number' && Number.isInteger(value) ? value + 0 : 0;
    return Math.min(max, Math.max(min, int));
  }

  /** A boolean, or undefined when missing or not a boolean (which Arthas reads as false). */
  looseBool(key: string): boolean | undefined {
    const value = this.has(key) ? this.data[key] : undefined;
    return typeof value === 'boolean' ? value : undefined;
  }

  optionalString(key: string, max: number): string | undefined {
    return this.has(key) ? this.string(key, max) : undefined;
  }

  matching(key: string, pattern: RegExp, rule: string, reason: ProtocolErrorReason = 'bad_field') {
    const value = this.string(key, 256);
    if (!pattern.test(value)) throw new FieldError(reason, `"${key}" must be ${rule}`);
    return value;
  }

  uint(key: string, max: number = Number.MAX_SAFE_INTEGER): number {
    const value = this.get(key);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new FieldError('bad_field', `"${key}" must be a non-negative integer`);
    }
    if (value > max) throw new FieldError('bad_field', `"${key}" must be at most ${max}`);
    return value + 0; // -0 (a float64 on the wire) reads as 0, so it re-encodes as it reads
  }

  optionalUint(key: string, max?: number): number | undefined {
    return this.has(key) ? this.uint(key, max) : undefined;
  }

  timestamp(key: string): number {
    const value = this.get(key);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new FieldError('bad_field', `"${key}" must be a non-negative number`);
    }
    return value + 0;
  }

  /** A timestamp, or undefined when missing or not a non-negative finite number. */
  looseTimestamp(key: string): number | undefined {
    const value = this.has(key) ? this.data[key] : undefined;
    return typeof value === 'number' && Number.isFinite(value) && value >= 0
      ? value + 0
      : undefined;
  }

  bool(key: string): boolean {
    const value = this.get(key);
    if (typeof value !== 'boolean') throw new FieldError('bad_field', `"${key}" must be a boolean`);
    return value;
  }

  optionalBool(key: string): boolean | undefined {
    return this.has(key) ? this.bool(key) : undefined;
  }

  /** An encrypted field: a non-empty string or binary, at most `max` characters or bytes. */
  opaque(key: string, max: number): Opaque {
    const value = this.get(key);
    if (typeof value === 'string' || value instanceof Uint8Array) {
      if (value.length === 0) throw new FieldError('bad_field', `"${key}" must not be empty`);
      if (value.length > max) {
        throw new FieldError('oversized_field', `"${key}" is longer than ${max}`);
      }
      // A string that is not plain ASCII could have been invalid UTF-8 on the wire, decoded with
      // replacement characters; relaying it would not be byte-for-byte. base64url is ASCII.
      if (typeof value === 'string' && !PRINTABLE_ASCII.test(value)) {
        throw new FieldError('bad_field', `"${key}" must be ASCII text (base64url) or binary`);
      }
      return value;
    }
    throw new FieldError('bad_field', `"${key}" must be a string or binary`);
  }

  /** An optional iv + ciphertext pair: both or neither. */
  optionalSealed(max: number): { iv: Opaque; ciphertext: Opaque } | undefined {
    const hasIv = this.has('iv');
    if (hasIv !== this.has('ciphertext')) {
      throw new FieldError('bad_field', '"iv" and "ciphertext" go together');
    }
    return hasIv
      ? { iv: this.opaque('iv', L.MAX_IV_LENGTH), ciphertext: this.opaque('ciphertext', max) }
      : undefined;
  }

  /**
   * An iv + ciphertext pair read the Arthas way: a half pair or mistyped halves are ignored (the
   * Arthas server never reads them); a well-formed pair is kept, within `max`.
   */
  looseSealed(max: number): { iv: Opaque; ciphertext: Opaque } | undefined {
    const { iv, ciphertext } = this.data;
    const opaque = (value: unknown) => typeof value === 'string' || value instanceof Uint8Array;
    return opaque(iv) && opaque(ciphertext) ? this.sealed(max) : undefined;
  }

  sealed(max: number): { iv: Opaque; ciphertext: Opaque } {
    return { iv: this.opaque('iv', L.MAX_IV_LENGTH), ciphertext: this.opaque('ciphertext', max) };
  }

  name(key: string): string {
    const max = this.limits.nameMaxCodePoints;
    const name = normalizeName(this.string(key, 256), max);
    if (name === undefined) {
      throw new FieldError(
        'bad_name',
        `"${key}" must be ${L.NAME_MIN_CODE_POINTS}-${max} characters with a visible one, and no control or invisible characters`,
      );
    }
    return name;
  }

  /** Room expiry in seconds: missing reads as 0 (never); out of range is clamped, as Arthas does. */
  expiry(key: string): number {
    return this.looseInt(key, 0, this.limits.maxExpirySeconds);
  }

  roomId(key: string): string {
    return this.matching(key, L.ROOM_ID_PATTERN, 'a 21-character room id', 'bad_room_id');
  }

  /**
   * A password check value as CreateRoom carries it: missing reads as "" (no password); anything
   * else must be 64 characters, the length of a SHA-256 hex digest, as the Arthas server requires.
   */
  password(key: string): string {
    const value = this.looseString(key, L.MAX_PASSWORD_LENGTH);
    if (value !== '' && value.length !== L.PASSWORD_HASH_LENGTH) {
      throw new FieldError('bad_field', `"${key}" must be "" or a 64-character SHA-256 hex digest`);
    }
    return value;
  }

  transferId(): string {
    return this.string('transferId', L.MAX_TRANSFER_ID_LENGTH, 1);
  }

  stringArray(key: string, maxItems: number, maxLength: number): string[] {
    const value = this.get(key);
    if (!Array.isArray(value)) throw new FieldError('bad_field', `"${key}" must be an array`);
    if (value.length > maxItems) {
      throw new FieldError('oversized_field', `"${key}" has more than ${maxItems} items`);
    }
    return value.map((item: unknown) => {
      if (typeof item !== 'string') throw new FieldError('bad_field', `"${key}" must hold strings`);
      if (item.length > maxLength) {
        throw new FieldError('oversized_field', `"${key}" holds a string longer than ${maxLength}`);
      }
      return item;
    });
  }

  map(key: string): Fields {
    const value = this.get(key);
    if (!isMap(value)) throw new FieldError('bad_field', `"${key}" must be a map`);
    return new Fields(value);
  }

  members(key: string): Member[] {
    const value = this.get(key);
    if (!Array.isArray(value)) throw new FieldError('bad_field', `"${key}" must be an array`);
    return value.map((item: unknown) => {
      if (!isMap(item)) throw new FieldError('bad_field', `"${key}" must hold maps`);
      return member(new Fields(item));
    });
  }
}

const ID_MAX = 64;
const COLOR = /^#[0-9a-f]{6}$/;

function member(f: Fields): Member {
  return {
    id: f.string('id', ID_MAX, 1),
    name: f.string('name', 256, 1),
    color: f.matching('color', COLOR, 'a #rrggbb colour'),
  };
}

function sender(f: Fields) {
  return {
    senderId: f.string('senderId', ID_MAX, 1),
    senderName: f.string('senderName', 256, 1),
    t: f.timestamp('t'),
  };
}

/** Reads the `data` of one client message type. */
function clientData(type: ClientMessage['type'], f: Fields): ClientMessage {
  switch (type) {
    case ClientType.CreateRoom:
      return {
        type,
        data: {
          name: f.name('name'),
          password: f.password('password'),
          ephemeral: f.looseInt('ephemeral', 0, L.MAX_EPHEMERAL_SECONDS),
          expiry: f.expiry('expiry'),
        },
      };
    case ClientType.JoinRoom:
      return {
        type,
        data: {
          // Arthas checks the name first, then answers an unknown (or malformed) room id with E001.
          name: f.name('name'),
          roomId: f.looseString('roomId', L.MAX_ROOM_ID_LENGTH),
          // Compared, never parsed: a value of the wrong shape simply does not match (E006).
          password: f.looseString('password', L.MAX_PASSWORD_LENGTH),
        },
      };
    case ClientType.SendMessage:
      return { type, data: f.sealed(FRAME_BOUNDED) };
    case ClientType.LeaveRoom:
      return { type, data: {} };
    case ClientType.Typing: {
      // Arthas reads a missing `typing` as false; an encrypted state travels in iv + ciphertext.
      const typing = f.looseBool('typing');
      const sealed = f.looseSealed(L.MAX_TYPING_CIPHERTEXT_LENGTH);
      return { type, data: { ...(typing === undefined ? {} : { typing }), ...sealed } };
    }
    case ClientType.Pong: {
      // Liveness is the frame itself; Arthas ignores a missing or mistyped `t`.
      const t = f.looseTimestamp('t');
      return { type, data: t === undefined ? {} : { t } };
    }
    case ClientType.SendReaction:
      return { type, data: f.sealed(L.MAX_REACTION_CIPHERTEXT_LENGTH) };
    case ClientType.SendFileMeta:
      return {
        type,
        data: { transferId: f.transferId(), ...f.sealed(FRAME_BOUNDED) },
      };
    case ClientType.SendFileChunk:
      return {
        type,
        data: {
          transferId: f.transferId(),
          // Arthas reads a missing or mistyped index as 0.
          index: f.looseInt('index', 0, L.MAX_FILE_CHUNK_INDEX),
          iv: f.opaque('iv', L.MAX_IV_LENGTH),
          data: f.opaque('data', FRAME_BOUNDED),
        },
      };
    case ClientType.SendFileComplete:
    case ClientType.SendFileCancel:
    case ClientType.SendFileAck:
      return { type, data: { transferId: f.transferId() } };
    case ClientType.Hello: {
      const client = f.optionalString('client', L.MAX_CLIENT_NAME_LENGTH);
      return {
        type,
        data: {
          version: f.uint('version', 0xffff),
          features: f.stringArray('features', L.MAX_FEATURES, L.MAX_FEATURE_LENGTH),
          ...(client === undefined ? {} : { client }),
        },
      };
    }
    default:
      return assertNever(type);
  }
}

const features: ReadonlySet<string> = new Set(Object.values(Feature));
const noticeKinds: ReadonlySet<string> = new Set(Object.values(NoticeKind));
const isFeature = (value: string): value is Feature => features.has(value);
const isNoticeKind = (value: string): value is NoticeKind => noticeKinds.has(value);

const rateKinds: ReadonlySet<string> = new Set(L.RATE_KINDS);

/** Budgets by kind; kinds this library does not know are skipped (a newer relay may add some). */
function rates(f: Fields): Partial<Record<L.RateKind, L.RateLimit>> {
  const out: Partial<Record<L.RateKind, L.RateLimit>> = {};
  for (const kind of f.keys(L.MAX_FEATURES)) {
    if (!rateKinds.has(kind)) continue;
    const budget = f.map(kind);
    out[kind as L.RateKind] = { events: budget.uint('events'), windowMs: budget.uint('windowMs') };
  }
  return out;
}

/** Member id → sequence number, at most one entry per seat a room can have. */
function sequenceMap(f: Fields): Record<string, number> {
  const entries = f.keys(L.ROOM_MEMBERS_CEILING).map((id): [string, number] => {
    if (id.length === 0 || id.length > ID_MAX) {
      throw new FieldError('bad_field', '"sequences" has a key that is not a member id');
    }
    return [id, f.uint(id)];
  });
  // Own properties even for a key like "__proto__".
  return Object.fromEntries(entries);
}

function serverLimits(f: Fields): ServerLimits {
  const announced = f.has('rates') ? rates(f.map('rates')) : undefined;
  const pingIntervalMs = f.optionalUint('pingIntervalMs');
  const pongTimeoutMs = f.optionalUint('pongTimeoutMs');
  return {
    maxFrameBytes: f.uint('maxFrameBytes'),
    maxRoomMembers: f.uint('maxRoomMembers'),
    nameMaxCodePoints: f.uint('nameMaxCodePoints'),
    maxExpirySeconds: f.uint('maxExpirySeconds'),
    chatPerWindow: f.uint('chatPerWindow'),
    windowMs: f.uint('windowMs'),
    ...(announced === undefined ? {} : { rates: announced }),
    ...(pingIntervalMs === undefined ? {} : { pingIntervalMs }),
    ...(pongTimeoutMs === undefined ? {} : { pongTimeoutMs }),
  };
}

/** Reads the `data` of one server message type (for clients). */
function serverData(type: ServerMessage['type'], f: Fields): ServerMessage {
  switch (type) {
    case ServerType.RoomCreated:
      return { type, data: { roomId: f.roomId('roomId'), expiresAt: f.uint('expiresAt') } };
    case ServerType.RoomJoined: {
      const selfId = f.optionalString('selfId', ID_MAX);
      return {
        type,
        data: {
          roomId: f.roomId('roomId'),
          members: f.members('members'),
          hasPassword: f.bool('hasPassword'),
          ephemeral: f.uint('ephemeral'),
          expiresAt: f.uint('expiresAt'),
          ...(selfId === undefined ? {} : { selfId }),
        },
      };
    }
    case ServerType.MemberJoined:
      return { type, data: member(f) };
    case ServerType.MemberLeft:
      return { type, data: { id: f.string('id', ID_MAX, 1) } };
    case ServerType.RelayMessage:
    case ServerType.RelayReaction: {
      const seq = f.optionalUint('seq');
      return {
        type,
        data: { ...sender(f), ...f.sealed(FRAME_BOUNDED), ...(seq === undefined ? {} : { seq }) },
      };
    }
    case ServerType.MemberTyping:
      return {
        type,
        data: {
          id: f.string('id', ID_MAX, 1),
          typing: f.bool('typing'),
          ...f.optionalSealed(L.MAX_TYPING_CIPHERTEXT_LENGTH),
        },
      };
    case ServerType.RoomClosed:
      return { type, data: { reason: f.string('reason', 64) } };
    case ServerType.Error: {
      const code = f.string('code', 8);
      if (!isErrorCode(code)) throw new FieldError('bad_field', '"code" is not a known error code');
      return { type, data: { code, msg: f.string('msg', L.MAX_ERROR_MESSAGE_LENGTH) } };
    }
    case ServerType.Ping:
      return { type, data: { t: f.timestamp('t') } };
    case ServerType.RelayFileMeta:
      return {
        type,
        data: {
          ...sender(f),
          transferId: f.transferId(),
          ...f.sealed(FRAME_BOUNDED),
        },
      };
    case ServerType.RelayFileChunk:
      return {
        type,
        data: {
          senderId: f.string('senderId', ID_MAX, 1),
          transferId: f.transferId(),
          index: f.uint('index', L.MAX_FILE_CHUNK_INDEX),
          iv: f.opaque('iv', L.MAX_IV_LENGTH),
          data: f.opaque('data', FRAME_BOUNDED),
        },
      };
    case ServerType.RelayFileComplete:
    case ServerType.RelayFileCancel:
      return {
        type,
        data: { senderId: f.string('senderId', ID_MAX, 1), transferId: f.transferId() },
      };
    case ServerType.RelayFileAck:
      return {
        type,
        data: { receiverId: f.string('receiverId', ID_MAX, 1), transferId: f.transferId() },
      };
    case ServerType.Welcome: {
      const granted = f.stringArray('features', L.MAX_FEATURES, L.MAX_FEATURE_LENGTH);
      return {
        type,
        data: {
          version: f.uint('version', 0xffff),
          features: granted.filter(isFeature),
          limits: serverLimits(f.map('limits')),
        },
      };
    }
    case ServerType.Notice: {
      const kind = f.string('kind', 32);
      if (!isNoticeKind(kind)) throw new FieldError('bad_field', '"kind" is not a known notice');
      const retryAfterMs = f.optionalUint('retryAfterMs');
      const expiresAt = f.optionalUint('expiresAt');
      const sequences = f.has('sequences') ? sequenceMap(f.map('sequences')) : undefined;
      return {
        type,
        data: {
          kind,
          msg: f.string('msg', L.MAX_ERROR_MESSAGE_LENGTH),
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          ...(expiresAt === undefined ? {} : { expiresAt }),
          ...(sequences === undefined ? {} : { sequences }),
        },
      };
    }
    default:
      return assertNever(type);
  }
}

function assertNever(value: never): never {
  throw new FieldError('unknown_type', `unhandled message type ${String(value)}`);
}

const clientTypes: ReadonlySet<number> = new Set(Object.values(ClientType));

/** Messages whose `data` the Arthas server never reads: any value (or none) is accepted. */
const looseData = (type: ClientMessage['type']): boolean =>
  type === ClientType.LeaveRoom || type === ClientType.Pong;
const serverTypes: ReadonlySet<number> = new Set(Object.values(ServerType));
const isClientType = (t: number): t is ClientMessage['type'] => clientTypes.has(t);
const isServerType = (t: number): t is ServerMessage['type'] => serverTypes.has(t);

function parseEnvelope<T, K extends number>(
  value: unknown,
  isType: (t: number) => t is K,
  readData: (type: K, fields: Fields) => T,
  /** Types whose `data` may be anything (it is read as an empty map). */
  anyDataAllowed: (type: K) => boolean,
  limits?: ClientLimits,
): Result<T> {
  if (!isMap(value)) return fail('bad_envelope', 'a frame must be a map {type, data}');
  const type = value['type'];
  if (typeof type !== 'number' || !Number.isInteger(type)) {
    return fail('bad_envelope', '"type" must be an integer');
  }
  if (!isType(type)) return fail('unknown_type', `unknown message type ${type}`, type);
  let data = value['data'];
  if (!isMap(data) && anyDataAllowed(type)) data = {};
  if (!isMap(data)) return fail('bad_envelope', '"data" must be a map', type);
  try {
    return { ok: true, value: readData(type, new Fields(data, limits)) };
  } catch (error) {
    if (error instanceof FieldError) return fail(error.reason, error.message, type);
    throw error;
  }
}

function fail(
  reason: ProtocolErrorReason,
  message: string,
  type?: number,
): { ok: false; error: ProtocolError } {
  return { ok: false, error: protocolError(reason, message, type) };
}

/** Bounds a relay may configure differently from the protocol defaults. */
export interface ClientLimits {
  /** Longest nickname, in code points after trimming. */
  nameMaxCodePoints: number;
  /** Longest room expiry a client may ask for, in seconds. */
  maxExpirySeconds: number;
}

export const DEFAULT_CLIENT_LIMITS: Readonly<ClientLimits> = Object.freeze({
  nameMaxCodePoints: L.NAME_MAX_CODE_POINTS,
  maxExpirySeconds: L.MAX_EXPIRY_SECONDS,
});

/**
 * Turns a decoded value of unknown shape into a typed client message, or a typed error.
 * Never throws for any input.
 */
export function parseClientMessage(
  value: unknown,
  limits: ClientLimits = DEFAULT_CLIENT_LIMITS,
): Result<ClientMessage> {
  return parseEnvelope(value, isClientType, clientData, looseData, limits);
}

/** Turns a decoded value into a typed server message (for clients). Never throws for any input. */
export function parseServerMessage(value: unknown): Result<ServerMessage> {
  return parseEnvelope(value, isServerType, serverData, () => false);
}
