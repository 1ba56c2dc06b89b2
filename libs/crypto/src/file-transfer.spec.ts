import { describe, expect, it } from 'vitest';
import { encrypt } from './aead.js';
import { fromBase64Url, toBase64Url } from './base64url.js';
import {
  FILE_CHUNK_BYTES,
  chunkCount,
  chunkHash,
  openFileChunk,
  openFileMetadata,
  sealFileChunk,
  sealFileMetadata,
  type FileMetadata,
} from './file-transfer.js';
import { generateRoomKey } from './room-key.js';
import { verifyPayload } from './signed-payload.js';
import { generateSigningKeyPair, importVerifyingKey } from './signing.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

const metadata = (overrides: Partial<FileMetadata> = {}): FileMetadata => ({
  transferId: 'V1StGXR8_Z5jdHi6B-myT',
  fileName: 'notes.txt',
  fileSize: 5,
  mimeType: 'text/plain',
  totalChunks: 1,
  ...overrides,
});

/** Seals metadata JSON the way the Arthas web client does: base64url IV, binary ciphertext. */
async function arthasSeal(key: Awaited<ReturnType<typeof generateRoomKey>>, json: string) {
  const { iv, ciphertext } = await encrypt(key, utf8(json));
  return { iv: toBase64Url(iv), ciphertext };
}

describe('file metadata', () => {
  it('opens Arthas metadata with a thumbnail written as JSON writes a Uint8Array', async () => {
    const key = await generateRoomKey();
    const thumbnail = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 7]);
    const json = JSON.stringify({ ...metadata(), thumbnail });
    expect(json).toContain('"thumbnail":{"0":255,"1":216,"2":255,"3":224,"4":7}');
    const opened = await openFileMetadata(key, await arthasSeal(key, json));
    expect(opened.metadata.thumbnail).toEqual(thumbnail);
    expect(opened.metadata.fileName).toBe('notes.txt');
  });

  it('seals ours in the Arthas wire form, signed, with chunk hashes', async () => {
    const key = await generateRoomKey();
    const pair = (await generateSigningKeyPair())!;
    const hashes = [await chunkHash(utf8('hello'))];
    const sealed = await sealFileMetadata(key, metadata({ chunkHashes: hashes }), pair);
    expect(typeof sealed.iv).toBe('string');
    expect(sealed.ciphertext).toBeInstanceOf(Uint8Array);
    const { metadata: opened, json } = await openFileMetadata(key, sealed);
    expect(opened.chunkHashes).toEqual(hashes);
    expect(await verifyPayload(json, await importVerifyingKey(pair.publicKey))).toBe(true);
    expect(
      await verifyPayload({ ...json, fileSize: 6 }, await importVerifyingKey(pair.publicKey)),
    ).toBe(false);
  });

  it('fills in a missing MIME type', async () => {
    const key = await generateRoomKey();
    const { mimeType: _omit, ...rest } = metadata();
    const opened = await openFileMetadata(key, await arthasSeal(key, JSON.stringify(rest)));
    expect(opened.metadata.mimeType).toBe('application/octet-stream');
  });

  it.each([
    ['no file name', { fileName: '' }],
    ['a zero size', { fileSize: 0 }],
    ['a fractional size', { fileSize: 1.5 }],
    ['more chunks than bytes', { fileSize: 2, totalChunks: 3 }],
    ['no chunks', { totalChunks: 0 }],
    ['too few chunk hashes', { totalChunks: 2, fileSize: 10, chunkHashes: ['0'.repeat(64)] }],
    ['a malformed chunk hash', { chunkHashes: ['xyz'] }],
    ['a thumbnail with a gap', { thumbnail: { 0: 1, 2: 3 } }],
    ['a thumbnail with a non-byte', { thumbnail: [1, 256] }],
  ])('refuses metadata with %s', async (_label, overrides) => {
    const key = await generateRoomKey();
    const json = JSON.stringify({ ...metadata(), ...overrides });
    await expect(openFileMetadata(key, await arthasSeal(key, json))).rejects.toThrow(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });
});

describe('file chunks', () => {
  it('seal with binary IV and data, and open binary or base64url fields', async () => {
    const key = await generateRoomKey();
    const chunk = crypto.getRandomValues(new Uint8Array(1000));
    const sealed = await sealFileChunk(key, chunk);
    expect(sealed.iv).toHaveLength(12);
    expect(sealed.data).toHaveLength(1016);
    expect(await openFileChunk(key, sealed)).toEqual(chunk);
    expect(
      await openFileChunk(key, { iv: toBase64Url(sealed.iv), data: toBase64Url(sealed.data) }),
    ).toEqual(chunk);
    const flipped = new Uint8Array(sealed.data);
    flipped[0]! ^= 1;
    await expect(openFileChunk(key, { iv: sealed.iv, data: flipped })).rejects.toThrow(
      expect.objectContaining({ code: 'decrypt_failed' }),
    );
  });

  it('hashes chunks as lowercase SHA-256 hex and counts 64 KiB chunks', async () => {
    expect(await chunkHash(new Uint8Array(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(chunkCount(1)).toBe(1);
    expect(chunkCount(FILE_CHUNK_BYTES)).toBe(1);
    expect(chunkCount(FILE_CHUNK_BYTES + 1)).toBe(2);
    expect(fromBase64Url(toBase64Url(new Uint8Array([1])))).toEqual(new Uint8Array([1]));
  });
});
