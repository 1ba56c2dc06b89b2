import { fromBase64Url, toBase64Url } from './base64url.js';
import { copyBytes, isBytes } from './bytes.js';
import { HushCryptoError, decryptFailed } from './errors.js';
import type { RoomKey } from './room-key.js';

/** AES-GCM IV length; other lengths are legal in WebCrypto but never produced nor accepted here. */
export const IV_BYTES = 12;

/** AES-GCM authentication tag length, appended to the ciphertext (WebCrypto's default). */
export const TAG_BYTES = 16;

/** Output of {@link encrypt}: the IV and the ciphertext with its 16-byte tag appended. */
export interface Encrypted {
  readonly iv: Uint8Array<ArrayBuffer>;
  readonly ciphertext: Uint8Array<ArrayBuffer>;
}

/** Output of {@link seal}: the Arthas wire form, both fields unpadded base64url. */
export interface Sealed {
  readonly iv: string;
  readonly ciphertext: string;
}

/** Input of {@link open}: each field as a base64url string or as bytes, as received. */
export interface SealedInput {
  readonly iv: string | Uint8Array;
  readonly ciphertext: string | Uint8Array;
}

/**
 * Encrypts with AES-256-GCM under a fresh random 12-byte IV.
 *
 * @throws {HushCryptoError} `invalid_payload` when `plaintext` is not bytes, `invalid_key` when the
 * key cannot encrypt.
 */
export async function encrypt(key: RoomKey, plaintext: Uint8Array): Promise<Encrypted> {
  if (!isBytes(plaintext)) {
    throw new HushCryptoError('invalid_payload', 'plaintext must be a Uint8Array');
  }
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  let sealed: ArrayBuffer;
  try {
    sealed = await globalThis.crypto.subtle.encrypt(
      { name: 'AES-GCM', iv },
      key.cryptoKey,
      copyBytes(plaintext),
    );
  } catch (error) {
    throw new HushCryptoError('invalid_key', 'the room key cannot encrypt', { cause: error });
  }
  return { iv, ciphertext: new Uint8Array(sealed) };
}

/**
 * Decrypts and authenticates AES-256-GCM output (`ciphertext` ends with the 16-byte tag).
 *
 * @throws {HushCryptoError} `decrypt_failed` for every failure, whatever the cause.
 */
export async function decrypt(
  key: RoomKey,
  iv: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!isBytes(iv) || iv.length !== IV_BYTES || !isBytes(ciphertext)) throw decryptFailed();
  if (ciphertext.length < TAG_BYTES) throw decryptFailed();
  try {
    const plaintext = await globalThis.crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: copyBytes(iv) },
      key.cryptoKey,
      copyBytes(ciphertext),
    );
    return new Uint8Array(plaintext);
  } catch {
    throw decryptFailed();
  }
}

/** Encrypts like {@link encrypt} and returns both fields as base64url strings (Arthas wire form). */
export async function seal(key: RoomKey, plaintext: Uint8Array): Promise<Sealed> {
  const { iv, ciphertext } = await encrypt(key, plaintext);
  return { iv: toBase64Url(iv), ciphertext: toBase64Url(ciphertext) };
}

/**
 * Opens a sealed message whose fields are base64url strings or bytes, in any mix.
 *
 * @throws {HushCryptoError} `decrypt_failed` for every failure, malformed fields included.
 */
export async function open(key: RoomKey, sealed: SealedInput): Promise<Uint8Array<ArrayBuffer>> {
  // Wire input is untrusted even when typed: a missing or mistyped field is just another failure.
  const fields: Partial<Record<keyof SealedInput, unknown>> =
    typeof sealed === 'object' && sealed !== null ? sealed : {};
  return decrypt(key, toFieldBytes(fields.iv), toFieldBytes(fields.ciphertext));
}

function toFieldBytes(field: unknown): Uint8Array {
  if (isBytes(field)) return field;
  if (typeof field !== 'string') throw decryptFailed();
  try {
    return fromBase64Url(field);
  } catch {
    // A malformed field must look like any other failure to open.
    throw decryptFailed();
  }
}
