import { describe, expect, it } from 'vitest';
import { open, seal } from './aead.js';
import { HushCryptoError } from './errors.js';
import {
  ROOM_KEY_BASE64URL_LENGTH,
  exportRoomKey,
  generateRoomKey,
  importRawRoomKey,
  importRoomKey,
} from './room-key.js';

const SEQUENCE = Uint8Array.from({ length: 32 }, (_, i) => i);
const SEQUENCE_ENCODED = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('generateRoomKey', () => {
  it('makes a 32-byte, non-extractable AES-256-GCM key for encrypt and decrypt only', async () => {
    const key = await generateRoomKey();
    expect(key.raw).toHaveLength(32);
    expect(key.cryptoKey.algorithm).toMatchObject({ name: 'AES-GCM', length: 256 });
    expect(key.cryptoKey.extractable).toBe(false);
    expect([...key.cryptoKey.usages].sort()).toEqual(['decrypt', 'encrypt']);
    await expect(crypto.subtle.exportKey('raw', key.cryptoKey)).rejects.toThrow();
  });

  it('makes a different key every time', async () => {
    const keys = await Promise.all(Array.from({ length: 20 }, () => generateRoomKey()));
    expect(new Set(keys.map(exportRoomKey)).size).toBe(20);
  });
});

describe('exportRoomKey and importRoomKey', () => {
  it('export a known key as its 43-character base64url form', async () => {
    const key = await importRawRoomKey(SEQUENCE);
    expect(exportRoomKey(key)).toBe(SEQUENCE_ENCODED);
    expect(SEQUENCE_ENCODED).toHaveLength(ROOM_KEY_BASE64URL_LENGTH);
  });

  it('round-trip a key that still opens what the original sealed', async () => {
    const original = await generateRoomKey();
    const imported = await importRoomKey(exportRoomKey(original));
    expect(imported.raw).toEqual(original.raw);
    const sealed = await seal(original, new Uint8Array([1, 2, 3]));
    expect(await open(imported, sealed)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it.each([
    ['42 characters', SEQUENCE_ENCODED.slice(0, 42)],
    ['44 characters', `${SEQUENCE_ENCODED}A`],
    ['padding', `${SEQUENCE_ENCODED.slice(0, 42)}=`],
    ['a plus sign', `+${SEQUENCE_ENCODED.slice(1)}`],
    ['a slash', `/${SEQUENCE_ENCODED.slice(1)}`],
    ['a space', ` ${SEQUENCE_ENCODED.slice(1)}`],
    ['non-zero trailing bits', `${SEQUENCE_ENCODED.slice(0, 42)}9`],
    ['nothing', ''],
  ])('importRoomKey rejects a key with %s, without echoing it', async (_label, encoded) => {
    const error = await rejection(importRoomKey(encoded));
    expect(error).toBeInstanceOf(HushCryptoError);
    expect(error).toMatchObject({ code: 'invalid_key' });
    if (encoded.length > 0) expect((error as Error).message).not.toContain(encoded.trim());
  });

  it('importRoomKey rejects a value that is not a string', async () => {
    await expect(importRoomKey(undefined as unknown as string)).rejects.toMatchObject({
      code: 'invalid_key',
    });
  });
});

describe('importRawRoomKey', () => {
  it.each([0, 16, 31, 33, 64])('rejects %i bytes', async (length) => {
    await expect(importRawRoomKey(new Uint8Array(length))).rejects.toMatchObject({
      code: 'invalid_key',
    });
  });

  it('copies the bytes, so changing the input later does not change the key', async () => {
    const raw = SEQUENCE.slice();
    const key = await importRawRoomKey(raw);
    raw.fill(0);
    expect(exportRoomKey(key)).toBe(SEQUENCE_ENCODED);
  });

  it('returns a frozen key object', async () => {
    const key = await importRawRoomKey(SEQUENCE);
    expect(Object.isFrozen(key)).toBe(true);
  });
});
