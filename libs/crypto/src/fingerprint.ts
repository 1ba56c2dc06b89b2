import { sha256, toHex } from './bytes.js';
import { rawRoomKey, type RoomKey } from './room-key.js';

/** Domain-separation prefix, so the fingerprint is never a hash the key is used for elsewhere. */
const FINGERPRINT_PREFIX = new TextEncoder().encode('hush-fingerprint-v1');

/** Fingerprints show the first 128 bits of the digest: 8 groups of 4 hex digits. */
const FINGERPRINT_BYTES = 16;

/**
 * A short fingerprint people can compare out of band to confirm they hold the same room key.
 *
 * Derivation: `SHA-256(ASCII "hush-fingerprint-v1" || raw 32 key bytes)`, first 16 bytes, as
 * uppercase hex in 8 space-separated groups of 4, e.g. `740F 1035 1373 750D 9F38 D1C9 5E8E 21B4`.
 *
 * @throws {HushCryptoError} `invalid_key` when the key does not hold 32 raw bytes.
 */
export async function keyFingerprint(key: RoomKey): Promise<string> {
  const raw = rawRoomKey(key);
  const input = new Uint8Array(FINGERPRINT_PREFIX.length + raw.length);
  input.set(FINGERPRINT_PREFIX);
  input.set(raw, FINGERPRINT_PREFIX.length);
  const hex = toHex((await sha256(input)).subarray(0, FINGERPRINT_BYTES)).toUpperCase();
  return Array.from({ length: hex.length / 4 }, (_, i) => hex.slice(i * 4, i * 4 + 4)).join(' ');
}
