import { toBase64Url } from './base64url.js';
import { isBytes } from './bytes.js';
import { HushCryptoError } from './errors.js';

/** Random bytes in a client message id (22 base64url characters). */
export const MESSAGE_ID_BYTES = 16;

/** Longest reply preview, in code points, before the ellipsis (Arthas clients use 50). */
export const REPLY_PREVIEW_CHARS = 50;

/**
 * An Arthas reply reference: which message is quoted. `stableId` is the quoted message's
 * `senderId:t` (the relay's member id and time), `preview` the start of its text.
 */
export interface ReplyReference {
  stableId: string;
  senderName: string;
  preview: string;
}

/**
 * What a chat message decrypts to. Arthas web clients send `{ text, ...optional fields }`; fields
 * this library does not know are kept as they came.
 */
export interface ChatPayload {
  /** The message text ('' in a key announcement). */
  text: string;
  /** Client message id, made with {@link newMessageId} (ours; Arthas clients have none). */
  id?: string;
  /** The client message id this message replies to (ours, beside the Arthas `reply`). */
  replyTo?: string;
  /** The quoted message, in the Arthas format. */
  reply?: ReplyReference;
  /** `"pubkey"` for a key announcement; absent for a chat message. */
  type?: string;
  /** A key announcement's Ed25519 public key, base64url. */
  pubkey?: string;
  /** Ed25519 signature over the canonical JSON of the rest of the payload, base64url. */
  sig?: string;
  [extra: string]: unknown;
}

/** A decoded payload and, when it was JSON, the object exactly as parsed (what `sig` covers). */
export interface DecodedPayload {
  payload: ChatPayload;
  json: Record<string, unknown> | undefined;
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
  return decodePayloadWithJson(bytes).payload;
}

/**
 * {@link decodePayload}, also returning the parsed JSON object untouched, which signature checks
 * need: the cleaned payload may lack fields the signature covers.
 *
 * @throws {HushCryptoError} `invalid_payload` when the bytes are not valid UTF-8.
 */
export function decodePayloadWithJson(bytes: Uint8Array): DecodedPayload {
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
  const json = parseJsonObject(text);
  return json === undefined ? { payload: { text }, json } : { payload: cleanPayload(json), json };
}

/** The preview of a quoted message: its first {@link REPLY_PREVIEW_CHARS} code points, then "…". */
export function replyPreview(text: string): string {
  const chars = [...text];
  return chars.length > REPLY_PREVIEW_CHARS
    ? `${chars.slice(0, REPLY_PREVIEW_CHARS).join('')}\u2026`
    : text;
}

/** A fresh random client message id: 16 random bytes as 22 base64url characters. */
export function newMessageId(): string {
  return toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(MESSAGE_ID_BYTES)));
}

/** A JSON object with a string `text`, as parsed; anything else is plain text. */
function parseJsonObject(text: string): Record<string, unknown> | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Text that merely starts with "{" is a plain-text message.
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const object = value as Record<string, unknown>;
  return typeof object['text'] === 'string' ? object : undefined;
}

const STRING_FIELDS = ['id', 'replyTo', 'type', 'pubkey', 'sig'] as const;

/** A copy with known fields of the wrong type dropped, so the {@link ChatPayload} type holds. */
function cleanPayload(json: Record<string, unknown>): ChatPayload {
  const payload: Record<string, unknown> = { ...json };
  for (const field of STRING_FIELDS) {
    if (payload[field] !== undefined && typeof payload[field] !== 'string') delete payload[field];
  }
  if (payload['reply'] !== undefined && !isReplyReference(payload['reply'])) {
    delete payload['reply'];
  }
  return { ...payload, text: json['text'] as string };
}

function isReplyReference(value: unknown): value is ReplyReference {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const reply = value as Record<string, unknown>;
  return (
    typeof reply['stableId'] === 'string' &&
    typeof reply['senderName'] === 'string' &&
    typeof reply['preview'] === 'string'
  );
}
