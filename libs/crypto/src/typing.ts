import type { Sealed, SealedInput } from './aead.js';
import { open, seal } from './aead.js';
import { HushCryptoError } from './errors.js';
import type { RoomKey } from './room-key.js';

/**
 * Seals a typing state as Arthas web clients do: the UTF-8 JSON `{"typing":true}` or
 * `{"typing":false}` under the room key, both fields base64url. The relay then sees neither who
 * starts nor who stops typing.
 */
export function sealTyping(key: RoomKey, typing: boolean): Promise<Sealed> {
  return seal(key, new TextEncoder().encode(JSON.stringify({ typing })));
}

/**
 * Opens a sealed typing state.
 *
 * @throws {HushCryptoError} `decrypt_failed` when it cannot be opened, `invalid_payload` when the
 * plaintext is not `{"typing": <boolean>}`.
 */
export async function openTyping(key: RoomKey, sealed: SealedInput): Promise<boolean> {
  const plaintext = await open(key, sealed);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch (error) {
    throw new HushCryptoError('invalid_payload', 'a typing state must be JSON', { cause: error });
  }
  const typing = (value as { typing?: unknown } | null)?.typing;
  if (typeof typing !== 'boolean') {
    throw new HushCryptoError('invalid_payload', 'a typing state must have a boolean typing');
  }
  return typing;
}
