import { open, seal, type Sealed, type SealedInput } from './aead.js';
import {
  decodePayload,
  decodePayloadWithJson,
  encodePayload,
  type ChatPayload,
  type DecodedPayload,
} from './payload.js';
import type { RoomKey } from './room-key.js';

/**
 * Encodes a chat payload ({@link encodePayload}) and seals it ({@link seal}) into the wire form.
 * Sign the payload first ({@link signPayload}) to send it signed.
 *
 * @throws {HushCryptoError} `invalid_payload` for a payload that cannot be encoded.
 */
export async function sealMessage(key: RoomKey, payload: ChatPayload): Promise<Sealed> {
  return seal(key, encodePayload(payload));
}

/**
 * Opens a sealed chat message ({@link open}) and decodes its payload ({@link decodePayload}).
 *
 * @throws {HushCryptoError} `decrypt_failed` when it cannot be opened, `invalid_payload` when the
 * authenticated plaintext is not UTF-8.
 */
export async function openMessage(key: RoomKey, sealed: SealedInput): Promise<ChatPayload> {
  return decodePayload(await open(key, sealed));
}

/**
 * {@link openMessage}, also returning the JSON object as parsed, for signature checks
 * ({@link decodePayloadWithJson}).
 */
export async function openMessageWithJson(
  key: RoomKey,
  sealed: SealedInput,
): Promise<DecodedPayload> {
  return decodePayloadWithJson(await open(key, sealed));
}
