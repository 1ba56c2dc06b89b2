import { toBase64Url } from './base64url.js';
import { isBytes } from './bytes.js';
import { HushCryptoError } from './errors.js';

/** Random bytes in a client message id (22 base64url characters). */
export const MESSAGE_ID_BYTES = 16;

/**
 * What a chat message decrypts to. Arthas web clients send `{ text, ...optional fields }`; fields
 * this library does not know (Arthas reply or signature fields, say) are kept as they came.
 */
export interface ChatPayload {
  /** The message text. */
  text: string;
  /** Client message id, made with {@link newMessageId}. */
  id?: string;
  /** The client message id this message replies to. */
  replyTo?: string;
  [extra: string]: unknown;
}

/**
 * Encodes a payload as UTF-8 JSON, `text` first, other fields as given (undefined ones dropped).
 *
 * @throws {HushCryptoError} `invalid_payload` when `text` is not a string, `id` or `replyTo` is
 * present but not a string, or the payload cannot be serialised (a cycle, a bigint).
 */
export function encodePayload(payload: ChatPayload): Uint8Array<ArrayBuffer> {
  if (typeof payload !== 'object' || payload === null || typeof payload.text !== 'string') {
    throw new HushCryptoError('invalid_payload', 'a payload must be an object with a string text');
  }
  for (const field of ['id', 'replyTo'] as const) {
    if (payload[field] !== undefined && typeof payload[field] !== 'string') {
      throw new HushCryptoError('invalid_payload', `payload field ${field} must be a string`);
    }
  }
  const { text, ...rest } = payload;
  let json: string;
  try {
    json = JSON.stringify({ text, ...rest });
  } catch (error) {
    throw new HushCryptoError('invalid_payload', 'the payload cannot be serialised as JSON', {
      cause: error,
    });
  }
  return new TextEncoder().encode(json);
}

/**
 * Encodes bare UTF-8 text, the plain mode Arthas's Go CLI sends and reads. Clients reading our
 * JSON payloads should prefer {@link encodePayload}.
 */
export function encodePlainText(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

/**
 * Decodes decrypted bytes in either form clients send:
 * - a UTF-8 JSON object whose `text` is a string (Arthas web clients, and ours) becomes that
 *   object with every field kept, except that `id` and `replyTo` are dropped unless strings;
 * - anything else that is valid UTF-8 (Arthas CLI plain text, but also JSON that is not such an
 *   object, like `"42"`, `[1]` or `{"x":1}`) becomes `{ text }` with the whole decoded string, so a
 *   user who types JSON still sees exactly what they typed.
 *
 * @throws {HushCryptoError} `invalid_payload` when the bytes are not valid UTF-8.
 */
export function decodePayload(bytes: Uint8Array): ChatPayload {
  if (!isBytes(bytes)) throw new HushCryptoError('invalid_payload', 'a payload must be bytes');
  let text: string;
  try {
    // ignoreBOM keeps a leading U+FEFF as text instead of silently dropping what was sent.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw new HushCryptoError('invalid_payload', 'the payload is not valid UTF-8', {
      cause: error,
    });
  }
  return parseJsonPayload(text) ?? { text };
}

/** A fresh random client message id: 16 random bytes as 22 base64url characters. */
export function newMessageId(): string {
  return toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(MESSAGE_ID_BYTES)));
}

function parseJsonPayload(text: string): ChatPayload | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Text that merely starts with "{" is a plain-text message.
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const payload: Record<string, unknown> = { ...value };
  if (typeof payload['text'] !== 'string') return undefined;
  for (const field of ['id', 'replyTo']) {
    if (payload[field] !== undefined && typeof payload[field] !== 'string') delete payload[field];
  }
  return { ...payload, text: payload['text'] };
}
