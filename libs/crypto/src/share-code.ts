import { fromBase64Url } from './base64url.js';
import { HushCryptoError } from './errors.js';
import { ROOM_KEY_BASE64URL_LENGTH, ROOM_KEY_BYTES } from './room-key.js';

/** Room ids are 21-character nanoids made by the server. */
export const ROOM_ID_LENGTH = 21;

/** The fragment path in front of a share code in a join link. */
export const JOIN_FRAGMENT_PREFIX = '#/join/';

const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{21}$/;
const KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const CANONICAL_UINT_PATTERN = /^(?:0|[1-9][0-9]*)$/;
const URL_SCHEME_PATTERN = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * What a share code carries: everything a client needs to join a room and read it.
 * Text form: `roomId:key[:ephemeral[:expiresAt]]`.
 */
export interface ShareCode {
  /** 21-character nanoid room id. */
  roomId: string;
  /** The room key as 43 base64url characters (32 bytes). */
  key: string;
  /** The room's ephemeral setting in seconds, a non-negative integer. */
  ephemeral?: number;
  /** Room expiry in unix seconds (0 = never); only present together with `ephemeral`. */
  expiresAt?: number;
}

/**
 * Formats a share code as `roomId:key[:ephemeral[:expiresAt]]`.
 *
 * @throws {HushCryptoError} `invalid_share_code` when a field is invalid, or `expiresAt` is set
 * without `ephemeral`; whatever this returns, {@link parseShareCode} accepts.
 */
export function formatShareCode(code: ShareCode): string {
  checkRoomId(code.roomId);
  checkKey(code.key);
  const parts = [code.roomId, code.key];
  if (code.ephemeral !== undefined) {
    parts.push(formatUint(code.ephemeral, 'ephemeral'));
    if (code.expiresAt !== undefined) parts.push(formatUint(code.expiresAt, 'expiresAt'));
  } else if (code.expiresAt !== undefined) {
    throw invalidShareCode('expiresAt can only be given together with ephemeral');
  }
  return parts.join(':');
}

/**
 * Parses a share code strictly. Only surrounding whitespace is trimmed; the room id must be 21
 * nanoid characters, the key 43 base64url characters encoding 32 bytes, and the optional numbers
 * canonical non-negative safe integers (no sign, no leading zeros, no fraction or exponent).
 *
 * @throws {HushCryptoError} `invalid_share_code` naming what is wrong; never echoes the key.
 */
export function parseShareCode(text: string): ShareCode {
  if (typeof text !== 'string') throw invalidShareCode('a share code must be a string');
  return parseTrimmedShareCode(text.trim());
}

/**
 * Builds a join link `${origin}/#/join/${code}`. The share code, and so the key, lives only in the
 * fragment, which browsers never send to a server. Trailing slashes of `origin` are dropped.
 *
 * @throws {HushCryptoError} `invalid_join_link` when `origin` has a query or fragment,
 * `invalid_share_code` when the code is invalid.
 */
export function joinLink(origin: string, code: ShareCode | string): string {
  if (typeof origin !== 'string' || origin.includes('#') || origin.includes('?')) {
    throw new HushCryptoError(
      'invalid_join_link',
      'the origin of a join link cannot have a query or a fragment',
    );
  }
  const text = formatShareCode(typeof code === 'string' ? parseShareCode(code) : code);
  return `${origin.replace(/\/+$/, '')}/${JOIN_FRAGMENT_PREFIX}${text}`;
}

/**
 * Reads whatever a user pasted to join a room: a bare share code, a fragment `#/join/<code>`,
 * a path `/#/join/<code>`, or a full http(s) URL `https://host/#/join/<code>`. The code may be
 * percent-encoded. A link carrying the code anywhere but the fragment is refused.
 *
 * @throws {HushCryptoError} `invalid_join_link` when the input is not such a link,
 * `invalid_share_code` when the code inside it is invalid.
 */
export function parseJoinInput(text: string): ShareCode {
  if (typeof text !== 'string') throw invalidJoinLink('a join link must be a string');
  const input = text.trim();
  if (input.includes('#')) {
    if (/\s/.test(input)) {
      // Checked before URL parsing, which would silently drop tabs and newlines.
      throw invalidJoinLink('a join link cannot contain whitespace');
    }
    return parseTrimmedShareCode(percentDecode(joinFragmentCode(input)));
  }
  if (input.includes('/')) {
    throw invalidJoinLink('a join link must carry the share code in its #/join/ fragment');
  }
  return parseTrimmedShareCode(percentDecode(input));
}

/** The code after `#/join/` in a fragment, path or URL. */
function joinFragmentCode(input: string): string {
  let fragment: string;
  if (input.startsWith('#') || input.startsWith('/')) {
    fragment = input.slice(input.indexOf('#'));
  } else if (URL_SCHEME_PATTERN.test(input)) {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw invalidJoinLink('a join link must be a valid URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw invalidJoinLink('a join link must be an http or https URL');
    }
    fragment = url.hash;
  } else {
    throw invalidJoinLink('a join link must be a URL, a /#/join/ path or a #/join/ fragment');
  }
  if (!fragment.startsWith(JOIN_FRAGMENT_PREFIX)) {
    throw invalidJoinLink('a join link must have a #/join/<share code> fragment');
  }
  return fragment.slice(JOIN_FRAGMENT_PREFIX.length);
}

function parseTrimmedShareCode(text: string): ShareCode {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 4) {
    throw invalidShareCode(
      'a share code has 2 to 4 parts separated by ":" (roomId:key[:ephemeral[:expiresAt]])',
    );
  }
  const [roomId = '', key = '', ephemeral, expiresAt] = parts;
  checkRoomId(roomId);
  checkKey(key);
  const code: ShareCode = { roomId, key };
  if (ephemeral !== undefined) code.ephemeral = parseUint(ephemeral, 'ephemeral');
  if (expiresAt !== undefined) code.expiresAt = parseUint(expiresAt, 'expiresAt');
  return code;
}

function percentDecode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalidJoinLink('a join link has malformed percent-encoding');
  }
}

function checkRoomId(roomId: unknown): void {
  if (typeof roomId !== 'string' || !ROOM_ID_PATTERN.test(roomId)) {
    throw invalidShareCode(
      `the room id must be exactly ${ROOM_ID_LENGTH} characters of A-Z a-z 0-9 _ -`,
    );
  }
}

function checkKey(key: unknown): void {
  const message = `the key must be ${ROOM_KEY_BASE64URL_LENGTH} base64url characters encoding ${ROOM_KEY_BYTES} bytes`;
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) throw invalidShareCode(message);
  try {
    fromBase64Url(key);
  } catch {
    // Only non-zero trailing bits get here; the cause is left off so nothing of the key leaks.
    throw invalidShareCode(message);
  }
}

function formatUint(value: unknown, field: string): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidShareCode(`${field} must be a non-negative safe integer`);
  }
  return String(value);
}

function parseUint(text: string, field: string): number {
  if (!CANONICAL_UINT_PATTERN.test(text)) {
    throw invalidShareCode(
      `${field} must be a non-negative decimal integer without sign or leading zeros`,
    );
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw invalidShareCode(`${field} must be at most ${Number.MAX_SAFE_INTEGER}`);
  }
  return value;
}

function invalidShareCode(message: string): HushCryptoError {
  return new HushCryptoError('invalid_share_code', message);
}

function invalidJoinLink(message: string): HushCryptoError {
  return new HushCryptoError('invalid_join_link', message);
}
