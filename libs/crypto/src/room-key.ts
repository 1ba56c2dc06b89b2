import { fromBase64Url, toBase64Url } from './base64url.js';
import { copyBytes, isBytes } from './bytes.js';
import { HushCryptoError } from './errors.js';

/** Room keys are raw AES-256 keys. */
export const ROOM_KEY_BYTES = 32;

/** Length of a room key as unpadded base64url. */
export const ROOM_KEY_BASE64URL_LENGTH = 43;

/**
 * A room's AES-256-GCM key. `cryptoKey` is non-extractable and limited to encrypt/decrypt; `raw`
 * is kept beside it so the key can be put into a share code. Never send either to a server.
 */
export interface RoomKey {
  /** Non-extractable AES-GCM key used for every encryption and decryption. */
  readonly cryptoKey: CryptoKey;
  /** The 32 raw key bytes. */
  readonly raw: Uint8Array;
}

/** Makes a fresh random room key (on the creating client). */
export async function generateRoomKey(): Promise<RoomKey> {
  return importRawRoomKey(globalThis.crypto.getRandomValues(new Uint8Array(ROOM_KEY_BYTES)));
}

/**
 * Imports 32 raw key bytes. The bytes are copied, so later changes to `raw` do not affect the key.
 *
 * @throws {HushCryptoError} `invalid_key` unless `raw` is exactly 32 bytes.
 */
export async function importRawRoomKey(raw: Uint8Array): Promise<RoomKey> {
  if (!isBytes(raw) || raw.length !== ROOM_KEY_BYTES) {
    throw new HushCryptoError('invalid_key', `a room key must be exactly ${ROOM_KEY_BYTES} bytes`);
  }
  const bytes = copyBytes(raw);
  const cryptoKey = await globalThis.crypto.subtle.importKey(
    'raw',
    bytes,
    { name: 'AES-GCM' },
    false,
    ['encrypt', 'decrypt'],
  );
  return Object.freeze({ cryptoKey, raw: bytes });
}

/**
 * Imports a room key from its share-code form: 43 base64url characters encoding 32 bytes.
 *
 * @throws {HushCryptoError} `invalid_key`; the message never echoes the input.
 */
export async function importRoomKey(encoded: string): Promise<RoomKey> {
  if (typeof encoded !== 'string' || encoded.length !== ROOM_KEY_BASE64URL_LENGTH) {
    throw new HushCryptoError(
      'invalid_key',
      `a room key must be ${ROOM_KEY_BASE64URL_LENGTH} base64url characters`,
    );
  }
  let raw: Uint8Array;
  try {
    raw = fromBase64Url(encoded);
  } catch (error) {
    throw new HushCryptoError('invalid_key', 'a room key must be canonical base64url', {
      cause: error,
    });
  }
  return importRawRoomKey(raw);
}

/** Exports a room key as 43 base64url characters, the form share codes carry. */
export function exportRoomKey(key: RoomKey): string {
  return toBase64Url(rawRoomKey(key));
}

/** The raw bytes of a well-formed room key, for modules that derive values from it. */
export function rawRoomKey(key: RoomKey): Uint8Array {
  const raw: unknown = key?.raw;
  if (!isBytes(raw) || raw.length !== ROOM_KEY_BYTES) {
    throw new HushCryptoError(
      'invalid_key',
      `a room key must hold exactly ${ROOM_KEY_BYTES} bytes`,
    );
  }
  return raw;
}
