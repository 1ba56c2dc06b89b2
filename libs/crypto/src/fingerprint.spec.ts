import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBase64Url } from './base64url.js';
import { keyFingerprint } from './fingerprint.js';
import { generateRoomKey, importRawRoomKey, importRoomKey } from './room-key.js';

const hex = (text: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));

const FORMAT = /^[0-9A-F]{4}( [0-9A-F]{4}){7}$/;

describe('keyFingerprint', () => {
  it.each([
    [
      'the GCM Test Case 15 key',
      'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
      '740F 1035 1373 750D 9F38 D1C9 5E8E 21B4',
    ],
    [
      'the bytes 0..31',
      '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
      '3793 7C8B 7134 93A2 1E5D 2936 D0CB 0CC7',
    ],
  ])(
    'fingerprints %s as SHA-256("hush-fingerprint-v1" || key), first 16 bytes',
    async (_label, raw, expected) => {
      expect(await keyFingerprint(await importRawRoomKey(hex(raw)))).toBe(expected);
    },
  );

  it('is 8 space-separated groups of 4 uppercase hex digits', async () => {
    expect(await keyFingerprint(await generateRoomKey())).toMatch(FORMAT);
  });

  it('is the same for the same key however it was imported', async () => {
    const key = await generateRoomKey();
    const again = await importRoomKey(toBase64Url(key.raw));
    expect(await keyFingerprint(again)).toBe(await keyFingerprint(key));
  });

  it('differs for different keys', async () => {
    const rawKey = fc.uint8Array({ minLength: 32, maxLength: 32 });
    await fc.assert(
      fc.asyncProperty(rawKey, rawKey, async (a, b) => {
        fc.pre(toBase64Url(a) !== toBase64Url(b));
        const [fa, fb] = await Promise.all([
          keyFingerprint(await importRawRoomKey(a)),
          keyFingerprint(await importRawRoomKey(b)),
        ]);
        expect(fa).not.toBe(fb);
      }),
    );
  });

  it('is domain-separated from a plain SHA-256 of the key', async () => {
    const key = await importRawRoomKey(new Uint8Array(32).fill(9));
    const plain = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(key.raw)));
    const plainHex = [...plain.subarray(0, 16)]
      .map((byte) => byte.toString(16).padStart(2, '0'))
      .join('')
      .toUpperCase();
    expect((await keyFingerprint(key)).replace(/ /g, '')).not.toBe(plainHex);
  });

  it('rejects a key object without 32 raw bytes', async () => {
    const key = await generateRoomKey();
    await expect(keyFingerprint({ ...key, raw: new Uint8Array(16) })).rejects.toMatchObject({
      code: 'invalid_key',
    });
  });
});
