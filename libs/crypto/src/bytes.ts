/**
 * True for a Uint8Array from any realm (Node's Buffer included). `ArrayBuffer.isView` checks an
 * internal slot, so a plain object faking `Symbol.toStringTag` is not accepted.
 */
export function isBytes(value: unknown): value is Uint8Array {
  return (
    value instanceof Uint8Array ||
    (ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]')
  );
}

/**
 * Copies bytes into a fresh ArrayBuffer. WebCrypto wants ArrayBuffer-backed views, and a copy
 * keeps callers' later mutations (or a SharedArrayBuffer) away from what we hold.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** Lowercase hexadecimal, two digits per byte. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', copyBytes(bytes)));
}
