import { CANONICAL_DIALECTS, signableBytes } from './canonical-json.js';
import { HushCryptoError } from './errors.js';
import type { SigningKeyPair, VerifyingKey } from './signing.js';
import {
  decodePublicKey,
  encodePublicKey,
  importVerifyingKey,
  signBytes,
  verifyBytes,
} from './signing.js';

/** The `type` of a key announcement payload. */
export const KEY_ANNOUNCEMENT_TYPE = 'pubkey';

/**
 * Returns `payload` with a `sig` member, as Arthas clients sign: Ed25519 over the canonical JSON
 * of everything but `sig`. What is signed is the payload's JSON round trip (undefined members
 * dropped), which is exactly what a receiver parses back. Without a key pair the payload is
 * returned as it is (unsigned operation).
 *
 * @throws {HushCryptoError} `invalid_payload` when the payload cannot be written as JSON.
 */
export async function signPayload<T extends object>(
  payload: T,
  keyPair: SigningKeyPair | undefined,
): Promise<T & { sig?: string }> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;
  } catch (error) {
    throw new HushCryptoError('invalid_payload', 'the payload cannot be serialised as JSON', {
      cause: error,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new HushCryptoError('invalid_payload', 'a signed payload must be a JSON object');
  }
  delete json['sig'];
  if (keyPair === undefined) return json as T;
  return { ...json, sig: await signBytes(keyPair, signableBytes(json)) } as T & { sig: string };
}

/**
 * Whether `json.sig` is a valid signature of the rest of `json` under `key`. The web client's
 * canonical form is tried first, then the Go CLI's where it differs, so signatures from both
 * kinds of Arthas client verify. Never throws.
 */
export async function verifyPayload(
  json: Readonly<Record<string, unknown>>,
  key: VerifyingKey,
): Promise<boolean> {
  const sig = json['sig'];
  if (typeof sig !== 'string') return false;
  let previous: Uint8Array | undefined;
  for (const dialect of CANONICAL_DIALECTS) {
    let bytes: Uint8Array;
    try {
      bytes = signableBytes(json, dialect);
    } catch {
      return false;
    }
    if (previous !== undefined && sameBytes(previous, bytes)) continue;
    if (await verifyBytes(key, bytes, sig)) return true;
    previous = bytes;
  }
  return false;
}

/** A key announcement's payload. */
export interface KeyAnnouncement {
  text: '';
  type: typeof KEY_ANNOUNCEMENT_TYPE;
  pubkey: string;
  sig?: string;
  [extra: string]: unknown;
}

/** A key announcement: `{type: "pubkey", text: "", pubkey, sig}`, signed by the key it carries. */
export function makeKeyAnnouncement(keyPair: SigningKeyPair): Promise<KeyAnnouncement> {
  return signPayload<KeyAnnouncement>(
    { text: '', type: KEY_ANNOUNCEMENT_TYPE, pubkey: encodePublicKey(keyPair.publicKey) },
    keyPair,
  );
}

/** True when a payload is a key announcement (whether or not it is valid). */
export function isKeyAnnouncement(json: Readonly<Record<string, unknown>> | undefined): boolean {
  return json?.['type'] === KEY_ANNOUNCEMENT_TYPE;
}

/**
 * The key a key announcement carries, if the announcement is well formed (empty text, a 32-byte
 * key) and signed by that key; `undefined` otherwise. The self-signature proves the sender holds
 * the private key. It cannot prove who the sender is: that is what trust on first use and the
 * room safety code are for.
 */
export async function readKeyAnnouncement(
  json: Readonly<Record<string, unknown>>,
): Promise<VerifyingKey | undefined> {
  if (!isKeyAnnouncement(json) || json['text'] !== '' || typeof json['pubkey'] !== 'string') {
    return undefined;
  }
  let key: VerifyingKey;
  try {
    key = await importVerifyingKey(decodePublicKey(json['pubkey']));
  } catch {
    return undefined;
  }
  return (await verifyPayload(json, key)) ? key : undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
