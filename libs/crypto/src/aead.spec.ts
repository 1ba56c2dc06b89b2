import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IV_BYTES, TAG_BYTES, decrypt, encrypt, open, seal } from './aead.js';
import { fromBase64Url, toBase64Url } from './base64url.js';
import { DECRYPT_FAILED_MESSAGE, HushCryptoError } from './errors.js';
import { generateRoomKey, importRawRoomKey, type RoomKey } from './room-key.js';

const hex = (text: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));

/** McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", AES-256 test cases without AAD. */
const VECTORS = [
  {
    name: 'Test Case 14',
    key: '0000000000000000000000000000000000000000000000000000000000000000',
    iv: '000000000000000000000000',
    plaintext: '00000000000000000000000000000000',
    ciphertext: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  {
    name: 'Test Case 15',
    key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
    iv: 'cafebabefacedbaddecaf888',
    plaintext:
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
      '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255',
    ciphertext:
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
      '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad',
    tag: 'b094dac5d93471bdec1a502270e3cc6c',
  },
];

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Asserts the one shape every decryption failure has, so no failure can be told apart. */
function expectDecryptFailed(error: unknown): void {
  expect(error).toBeInstanceOf(HushCryptoError);
  const { name, code, message, cause } = error as HushCryptoError;
  expect({ name, code, message, cause }).toEqual({
    name: 'HushCryptoError',
    code: 'decrypt_failed',
    message: DECRYPT_FAILED_MESSAGE,
    cause: undefined,
  });
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe.each(VECTORS)('AES-256-GCM known answer: $name', (vector) => {
  const sealedBytes = hex(vector.ciphertext + vector.tag);

  it('decrypt turns the published ciphertext and tag into the plaintext', async () => {
    const key = await importRawRoomKey(hex(vector.key));
    expect(await decrypt(key, hex(vector.iv), sealedBytes)).toEqual(hex(vector.plaintext));
  });

  it('open reads the same vector in wire form (base64url iv, tag appended to ciphertext)', async () => {
    const key = await importRawRoomKey(hex(vector.key));
    const wire = { iv: toBase64Url(hex(vector.iv)), ciphertext: toBase64Url(sealedBytes) };
    expect(await open(key, wire)).toEqual(hex(vector.plaintext));
  });

  it('our key, encrypting with the fixed IV, produces the published ciphertext and tag', async () => {
    const key = await importRawRoomKey(hex(vector.key));
    // Test-only deterministic path: the same WebCrypto call encrypt makes, with the IV pinned.
    const output = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: hex(vector.iv) },
      key.cryptoKey,
      hex(vector.plaintext),
    );
    expect(new Uint8Array(output)).toEqual(sealedBytes);
    expect(output.byteLength).toBe(hex(vector.plaintext).length + TAG_BYTES);
  });
});

describe('encrypt', () => {
  it('returns a 12-byte IV and the ciphertext with a 16-byte tag appended', async () => {
    const key = await generateRoomKey();
    const { iv, ciphertext } = await encrypt(key, new Uint8Array(100));
    expect(iv).toHaveLength(IV_BYTES);
    expect(ciphertext).toHaveLength(100 + TAG_BYTES);
    expect(await decrypt(key, iv, ciphertext)).toEqual(new Uint8Array(100));
  });

  it('uses a fresh IV every call, so equal plaintexts never give equal ciphertexts', async () => {
    const key = await generateRoomKey();
    const plaintext = new TextEncoder().encode('same message every time');
    const sealed = await Promise.all(Array.from({ length: 500 }, () => seal(key, plaintext)));
    expect(new Set(sealed.map((s) => s.iv)).size).toBe(500);
    expect(new Set(sealed.map((s) => s.ciphertext)).size).toBe(500);
  });

  it('rejects plaintext that is not bytes', async () => {
    const key = await generateRoomKey();
    await expect(encrypt(key, 'text' as unknown as Uint8Array)).rejects.toMatchObject({
      code: 'invalid_payload',
    });
  });

  it('reports a key that cannot encrypt as invalid_key', async () => {
    const broken = { cryptoKey: {} as CryptoKey, raw: new Uint8Array(32) };
    await expect(encrypt(broken, new Uint8Array(1))).rejects.toMatchObject({
      code: 'invalid_key',
    });
  });
});

describe('seal and open', () => {
  it('round-trip any bytes, with fields as strings, bytes or a mix', async () => {
    const key = await generateRoomKey();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (plaintext) => {
        const sealed = await seal(key, plaintext);
        expect(sealed.iv).toMatch(/^[A-Za-z0-9_-]{16}$/);
        const iv = fromBase64Url(sealed.iv);
        const ciphertext = fromBase64Url(sealed.ciphertext);
        expect(await open(key, sealed)).toEqual(plaintext);
        expect(await open(key, { iv, ciphertext })).toEqual(plaintext);
        expect(await open(key, { iv, ciphertext: sealed.ciphertext })).toEqual(plaintext);
        expect(await open(key, { iv: sealed.iv, ciphertext })).toEqual(plaintext);
      }),
      { numRuns: 50 },
    );
  });
});

describe('every decryption failure looks the same', () => {
  /** A message sealed under a fresh key, checked to open before anything is tampered with. */
  const sealedFixture = async (): Promise<{
    key: RoomKey;
    iv: Uint8Array;
    ciphertext: Uint8Array;
  }> => {
    const key = await generateRoomKey();
    const plaintext = new TextEncoder().encode('meet at the usual place, 9pm');
    const sealed = await seal(key, plaintext);
    expect(await open(key, sealed)).toEqual(plaintext);
    return { key, iv: fromBase64Url(sealed.iv), ciphertext: fromBase64Url(sealed.ciphertext) };
  };

  it('flipping any single bit of the ciphertext or tag fails', async () => {
    const { key, iv, ciphertext } = await sealedFixture();
    const bits = ciphertext.length * 8;
    for (let bit = 0; bit < bits; bit++) {
      const tampered = toBase64Url(flipBit(ciphertext, bit));
      expectDecryptFailed(
        await rejection(open(key, { iv: toBase64Url(iv), ciphertext: tampered })),
      );
    }
  });

  it('flipping any single bit of the IV fails', async () => {
    const { key, iv, ciphertext } = await sealedFixture();
    for (let bit = 0; bit < IV_BYTES * 8; bit++) {
      const tampered = flipBit(iv, bit);
      expectDecryptFailed(await rejection(open(key, { iv: tampered, ciphertext })));
      expectDecryptFailed(await rejection(decrypt(key, tampered, ciphertext)));
    }
  });

  it('a different key fails', async () => {
    const { iv, ciphertext } = await sealedFixture();
    for (let i = 0; i < 10; i++) {
      expectDecryptFailed(await rejection(open(await generateRoomKey(), { iv, ciphertext })));
    }
  });

  it('every truncation of the ciphertext fails, down to nothing', async () => {
    const { key, iv, ciphertext } = await sealedFixture();
    for (let length = 0; length < ciphertext.length; length++) {
      const truncated = ciphertext.subarray(0, length);
      expectDecryptFailed(await rejection(open(key, { iv, ciphertext: truncated })));
      expectDecryptFailed(
        await rejection(open(key, { iv: toBase64Url(iv), ciphertext: toBase64Url(truncated) })),
      );
    }
  });

  it('an IV of any length but 12 fails, even one that authenticates', async () => {
    const key = await generateRoomKey();
    const plaintext = new Uint8Array([1, 2, 3]);
    // WebCrypto accepts GCM IVs of other lengths; ours must not, even for authentic input.
    const longIv = new Uint8Array(16).fill(7);
    const authentic = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv: longIv }, key.cryptoKey, plaintext),
    );
    expect(
      new Uint8Array(
        await crypto.subtle.decrypt({ name: 'AES-GCM', iv: longIv }, key.cryptoKey, authentic),
      ),
    ).toEqual(plaintext);
    expectDecryptFailed(await rejection(decrypt(key, longIv, authentic)));
    for (const length of [0, 1, 8, 11, 13, 16, 32]) {
      expectDecryptFailed(await rejection(decrypt(key, new Uint8Array(length), authentic)));
    }
  });

  it('malformed wire fields fail the same way as tampering', async () => {
    const { key, iv, ciphertext } = await sealedFixture();
    const ivText = toBase64Url(iv);
    const ctText = toBase64Url(ciphertext);
    const malformed: unknown[] = [
      { iv: `${ivText}==`, ciphertext: ctText },
      { iv: ivText.replace(/./, '+'), ciphertext: ctText },
      { iv: ivText, ciphertext: `${ctText} ` },
      { iv: ivText, ciphertext: `${ctText}A` },
      { iv: ivText.slice(0, -1), ciphertext: ctText },
      { iv: ivText },
      { ciphertext: ctText },
      { iv: 12, ciphertext: ctText },
      { iv: ivText, ciphertext: [...ciphertext] },
      null,
      'not an object',
    ];
    for (const sealed of malformed) {
      expectDecryptFailed(await rejection(open(key, sealed as never)));
    }
  });

  it('all failures carry an identical message and code', async () => {
    const { key, iv, ciphertext } = await sealedFixture();
    const errors = [
      await rejection(open(key, { iv, ciphertext: flipBit(ciphertext, 0) })),
      await rejection(open(key, { iv: flipBit(iv, 95), ciphertext })),
      await rejection(open(await generateRoomKey(), { iv, ciphertext })),
      await rejection(open(key, { iv, ciphertext: ciphertext.subarray(0, 5) })),
      await rejection(open(key, { iv: 'Zg==', ciphertext })),
    ];
    const summaries = errors.map((error) => {
      const { name, code, message } = error as HushCryptoError;
      return JSON.stringify({ name, code, message, keys: Object.keys(error as object) });
    });
    expect(new Set(summaries).size).toBe(1);
  });
});
