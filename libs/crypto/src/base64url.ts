import { HushCryptoError } from './errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Maps an ASCII code to its 6-bit value, or -1 outside the base64url alphabet. */
const DECODE_TABLE: readonly number[] = Array.from({ length: 128 }, (_, code) =>
  ALPHABET.indexOf(String.fromCharCode(code)),
);

/** Encodes bytes as base64url (RFC 4648 §5) without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  const full = bytes.length - (bytes.length % 3);
  for (let i = 0; i < full; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - full;
  if (rest === 1) {
    const n = bytes[full]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[full]! << 16) | (bytes[full + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}

/**
 * Decodes canonical unpadded base64url. Rejects padding, `+`, `/`, whitespace, any other
 * character, impossible lengths (length % 4 === 1) and non-zero trailing bits, so every byte
 * string has exactly one accepted encoding.
 *
 * @throws {HushCryptoError} `invalid_base64url`; the message never echoes the input.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (typeof text !== 'string') {
    throw new HushCryptoError('invalid_base64url', 'base64url input must be a string');
  }
  if (text.length % 4 === 1) {
    throw new HushCryptoError('invalid_base64url', 'base64url input has an impossible length');
  }
  const values = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const value = DECODE_TABLE[text.charCodeAt(i)] ?? -1;
    if (value < 0) {
      throw new HushCryptoError(
        'invalid_base64url',
        `base64url input has a character outside A-Z a-z 0-9 - _ at position ${i}`,
      );
    }
    values[i] = value;
  }
  const rest = text.length % 4;
  // The last character of a partial group carries bits past the end of the data; they must be zero.
  const unusedBits = rest === 2 ? 0x0f : rest === 3 ? 0x03 : 0;
  if (unusedBits !== 0 && (values[text.length - 1]! & unusedBits) !== 0) {
    throw new HushCryptoError('invalid_base64url', 'base64url input has non-zero trailing bits');
  }

  const out = new Uint8Array((text.length * 3) >> 2);
  let o = 0;
  let i = 0;
  for (; i + 4 <= text.length; i += 4) {
    const n = (values[i]! << 18) | (values[i + 1]! << 12) | (values[i + 2]! << 6) | values[i + 3]!;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (rest >= 2) {
    const n = (values[i]! << 18) | (values[i + 1]! << 12) | ((values[i + 2] ?? 0) << 6);
    out[o++] = n >> 16;
    if (rest === 3) out[o++] = (n >> 8) & 0xff;
  }
  return out;
}
