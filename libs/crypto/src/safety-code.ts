import { isBytes, sha256, toHex } from './bytes.js';
import { HushCryptoError } from './errors.js';
import { rawRoomKey, type RoomKey } from './room-key.js';
import { SIGNING_PUBLIC_KEY_BYTES } from './signing.js';

const SAFETY_CODE_PREFIX = new TextEncoder().encode('hush-safety-code-v1');

/** A safety code is 30 decimal digits, in 6 groups of 5. */
export const SAFETY_CODE_GROUPS = 6;

/**
 * The room safety code: a short code every member computes from the room key and the signing
 * keys of the members present, so people can compare it out of band (read it aloud) and notice a
 * member they cannot see, or a key someone swapped.
 *
 * Derivation: `SHA-256(ASCII "hush-safety-code-v1" || raw room key || the distinct 32-byte
 * signing keys in ascending byte order)`; digest bytes 0–29 taken 5 at a time as big-endian
 * integers, each modulo 100000, written as 5 digits, groups separated by spaces. The order in
 * which keys are given does not matter.
 *
 * @throws {HushCryptoError} `invalid_key` when the room key is malformed or a signing key is not
 * 32 bytes.
 */
export async function roomSafetyCode(
  roomKey: RoomKey,
  signingKeys: readonly Uint8Array[],
): Promise<string> {
  const raw = rawRoomKey(roomKey);
  for (const key of signingKeys) {
    if (!isBytes(key) || key.length !== SIGNING_PUBLIC_KEY_BYTES) {
      throw new HushCryptoError('invalid_key', 'a signing key is 32 bytes');
    }
  }
  const distinct = [...new Map(signingKeys.map((key) => [toHex(key), key])).entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, key]) => key);
  const input = new Uint8Array(
    SAFETY_CODE_PREFIX.length + raw.length + distinct.length * SIGNING_PUBLIC_KEY_BYTES,
  );
  input.set(SAFETY_CODE_PREFIX);
  input.set(raw, SAFETY_CODE_PREFIX.length);
  distinct.forEach((key, i) =>
    input.set(key, SAFETY_CODE_PREFIX.length + raw.length + i * SIGNING_PUBLIC_KEY_BYTES),
  );
  const digest = await sha256(input);
  const groups: string[] = [];
  for (let group = 0; group < SAFETY_CODE_GROUPS; group++) {
    let value = 0;
    for (const byte of digest.subarray(group * 5, group * 5 + 5)) value = value * 256 + byte;
    groups.push(String(value % 100_000).padStart(5, '0'));
  }
  return groups.join(' ');
}
