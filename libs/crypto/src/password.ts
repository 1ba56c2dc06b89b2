import { sha256, toHex } from './bytes.js';

/**
 * Hashes a room password into the form CreateRoom and JoinRoom carry: `''` for the empty password
 * (no password), otherwise 64 lowercase hex digits of SHA-256 over the UTF-8 bytes of `password`.
 * The password is not trimmed or Unicode-normalised: any transformation would make the hash differ
 * from other clients' plain SHA-256 of the same password.
 */
export async function hashRoomPassword(password: string): Promise<string> {
  if (password === '') return '';
  return toHex(await sha256(new TextEncoder().encode(password)));
}
