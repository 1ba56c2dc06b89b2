import { fromBase64Url, toBase64Url } from './base64url.js';
import { copyBytes, isBytes, sha256, toHex } from './bytes.js';
import { HushCryptoError } from './errors.js';

/** Ed25519 public keys are 32 bytes; signatures 64. */
export const SIGNING_PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

const ED25519 = { name: 'Ed25519' } as const;

/**
 * A member's Ed25519 key pair, made per session and never stored. The private key is
 * non-extractable; `publicKey` holds the 32 raw bytes announced to the room.
 */
export interface SigningKeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: Uint8Array;
}

/** Another member's public key, ready to verify with. */
export interface VerifyingKey {
  /** The 32 raw bytes. */
  readonly raw: Uint8Array;
  readonly cryptoKey: CryptoKey;
}

/**
 * Makes a fresh key pair, or resolves `undefined` where WebCrypto has no Ed25519 (older
 * browsers). Arthas clients do the same and then send unsigned messages.
 */
export async function generateSigningKeyPair(): Promise<SigningKeyPair | undefined> {
  let pair: CryptoKeyPair;
  try {
    pair = (await globalThis.crypto.subtle.generateKey(ED25519, false, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
  } catch {
    // NotSupportedError (or a TypeError from engines that do not know the name): run unsigned.
    return undefined;
  }
  const publicKey = new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', pair.publicKey));
  return Object.freeze({ privateKey: pair.privateKey, publicKey });
}

/**
 * Imports a key pair from its 32-byte seed and public key, for fixed test vectors.
 *
 * @throws {HushCryptoError} `invalid_key` when the bytes are not an Ed25519 key pair.
 */
export async function importSigningKeyPair(
  seed: Uint8Array,
  publicKey: Uint8Array,
): Promise<SigningKeyPair> {
  if (!isBytes(seed) || seed.length !== 32 || !isBytes(publicKey) || publicKey.length !== 32) {
    throw new HushCryptoError('invalid_key', 'an Ed25519 seed and public key are 32 bytes each');
  }
  try {
    const privateKey = await globalThis.crypto.subtle.importKey(
      'jwk',
      { kty: 'OKP', crv: 'Ed25519', d: toBase64Url(seed), x: toBase64Url(publicKey) },
      ED25519,
      false,
      ['sign'],
    );
    return Object.freeze({ privateKey, publicKey: copyBytes(publicKey) });
  } catch (error) {
    throw new HushCryptoError('invalid_key', 'not an Ed25519 key pair', { cause: error });
  }
}

/** Signs `bytes`; the signature as unpadded base64url (86 characters), as Arthas clients send it. */
export async function signBytes(keyPair: SigningKeyPair, bytes: Uint8Array): Promise<string> {
  const signature = await globalThis.crypto.subtle.sign(
    ED25519,
    keyPair.privateKey,
    copyBytes(bytes),
  );
  return toBase64Url(new Uint8Array(signature));
}

/**
 * Imports a 32-byte Ed25519 public key.
 *
 * @throws {HushCryptoError} `invalid_key` for anything else.
 */
export async function importVerifyingKey(raw: Uint8Array): Promise<VerifyingKey> {
  if (!isBytes(raw) || raw.length !== SIGNING_PUBLIC_KEY_BYTES) {
    throw new HushCryptoError('invalid_key', 'an Ed25519 public key is 32 bytes');
  }
  const bytes = copyBytes(raw);
  try {
    const cryptoKey = await globalThis.crypto.subtle.importKey('raw', bytes, ED25519, true, [
      'verify',
    ]);
    return Object.freeze({ raw: bytes, cryptoKey });
  } catch (error) {
    throw new HushCryptoError('invalid_key', 'not an Ed25519 public key', { cause: error });
  }
}

/**
 * Checks an Ed25519 signature given as base64url. Never throws: a malformed signature is simply
 * not a valid one.
 */
export async function verifyBytes(
  key: VerifyingKey,
  bytes: Uint8Array,
  signature: string,
): Promise<boolean> {
  let decoded: Uint8Array<ArrayBuffer>;
  try {
    decoded = fromBase64Url(signature);
  } catch {
    return false;
  }
  if (decoded.length !== SIGNATURE_BYTES) return false;
  try {
    return await globalThis.crypto.subtle.verify(ED25519, key.cryptoKey, decoded, copyBytes(bytes));
  } catch {
    return false;
  }
}

/** Public keys travel as unpadded base64url (43 characters). */
export function encodePublicKey(raw: Uint8Array): string {
  return toBase64Url(raw);
}

/**
 * Reads a public key as announced.
 *
 * @throws {HushCryptoError} `invalid_key` unless it is base64url of 32 bytes.
 */
export function decodePublicKey(text: string): Uint8Array<ArrayBuffer> {
  let raw: Uint8Array<ArrayBuffer>;
  try {
    raw = fromBase64Url(text);
  } catch (error) {
    throw new HushCryptoError('invalid_key', 'a public key must be base64url', { cause: error });
  }
  if (raw.length !== SIGNING_PUBLIC_KEY_BYTES) {
    throw new HushCryptoError('invalid_key', 'an Ed25519 public key is 32 bytes');
  }
  return raw;
}

const SIGNING_FINGERPRINT_PREFIX = new TextEncoder().encode('hush-signing-key-v1');

/**
 * A short fingerprint of a member's signing key, for comparing out of band:
 * `SHA-256(ASCII "hush-signing-key-v1" || 32 key bytes)`, first 16 bytes, uppercase hex in 8
 * groups of 4.
 */
export async function signingKeyFingerprint(raw: Uint8Array): Promise<string> {
  const input = new Uint8Array(SIGNING_FINGERPRINT_PREFIX.length + raw.length);
  input.set(SIGNING_FINGERPRINT_PREFIX);
  input.set(raw, SIGNING_FINGERPRINT_PREFIX.length);
  const hex = toHex((await sha256(input)).subarray(0, 16)).toUpperCase();
  return hex.replace(/(.{4})(?!$)/g, '$1 ');
}
