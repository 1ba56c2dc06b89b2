import type { SealedInput } from './aead.js';
import { decrypt, encrypt, open } from './aead.js';
import { toBase64Url } from './base64url.js';
import { isBytes, sha256, toHex } from './bytes.js';
import { HushCryptoError } from './errors.js';
import type { RoomKey } from './room-key.js';
import { signPayload } from './signed-payload.js';
import type { SigningKeyPair } from './signing.js';

/** Plaintext bytes per chunk, as Arthas web clients send them (the last chunk may be shorter). */
export const FILE_CHUNK_BYTES = 65_536;

/** Largest file Arthas web clients send or accept: 5 MiB. */
export const MAX_FILE_BYTES = 5_242_880;

/** Largest thumbnail accepted in file metadata (Arthas makes JPEGs of at most 50 KiB). */
export const MAX_THUMBNAIL_BYTES = 65_536;

/** Longest file name and MIME type accepted in metadata, in UTF-16 code units. */
export const MAX_FILE_NAME_LENGTH = 1_024;
export const MAX_MIME_TYPE_LENGTH = 255;

const HASH_PATTERN = /^[0-9a-f]{64}$/;

/**
 * What SendFileMeta carries, encrypted, in the Arthas format. `chunkHashes` (SHA-256 of each
 * plaintext chunk, lowercase hex) is optional in Arthas and always sent by us, so receivers can
 * check every chunk; `thumbnail` is a small JPEG preview; `sig` signs the rest, as in messages.
 */
export interface FileMetadata {
  transferId: string;
  fileName: string;
  fileSize: number;
  mimeType: string;
  totalChunks: number;
  chunkHashes?: string[];
  thumbnail?: Uint8Array;
  sig?: string;
  [extra: string]: unknown;
}

/** File metadata as sent: the IV as base64url, the ciphertext binary (what Arthas receivers read). */
export interface SealedFileMetadata {
  readonly iv: string;
  readonly ciphertext: Uint8Array<ArrayBuffer>;
}

/** An opened file metadata: checked fields, and the JSON object as parsed (what `sig` covers). */
export interface OpenedFileMetadata {
  metadata: FileMetadata;
  json: Record<string, unknown>;
}

/**
 * Signs (when a key pair is given) and seals file metadata. A `thumbnail` is written as JSON
 * writes a Uint8Array, an object of index → byte, which is how Arthas web clients send it.
 *
 * @throws {HushCryptoError} `invalid_payload` when the metadata breaks the rules of
 * {@link openFileMetadata}.
 */
export async function sealFileMetadata(
  key: RoomKey,
  metadata: FileMetadata,
  keyPair?: SigningKeyPair,
): Promise<SealedFileMetadata> {
  checkMetadata(metadata);
  const signed = await signPayload(metadata, keyPair);
  const { iv, ciphertext } = await encrypt(key, new TextEncoder().encode(JSON.stringify(signed)));
  return { iv: toBase64Url(iv), ciphertext };
}

/**
 * Opens and checks file metadata: a non-empty `transferId` and `fileName`, a `fileSize` of at
 * least one byte, a `mimeType` (`application/octet-stream` when missing), `totalChunks` between 1
 * and `fileSize`, `chunkHashes` (when present) one SHA-256 hex per chunk, and a `thumbnail` (when
 * present) of at most {@link MAX_THUMBNAIL_BYTES}, given as bytes, an array or an index → byte
 * object. Size limits of the receiver are the caller's to apply.
 *
 * @throws {HushCryptoError} `decrypt_failed` when it cannot be opened, `invalid_payload` otherwise.
 */
export async function openFileMetadata(
  key: RoomKey,
  sealed: SealedInput,
): Promise<OpenedFileMetadata> {
  const plaintext = await open(key, sealed);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch (error) {
    throw invalid('file metadata must be JSON', error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('file metadata must be a JSON object');
  }
  const json = value as Record<string, unknown>;
  const metadata = { ...json } as FileMetadata;
  if (metadata.mimeType === undefined || metadata.mimeType === '') {
    metadata.mimeType = 'application/octet-stream';
  }
  if (json['thumbnail'] === undefined || json['thumbnail'] === null) {
    delete metadata.thumbnail;
  } else {
    metadata.thumbnail = thumbnailBytes(json['thumbnail']);
  }
  if (typeof metadata.sig !== 'string') delete metadata.sig;
  checkMetadata(metadata);
  return { metadata, json };
}

/** A file chunk as sent: IV and data both binary (what Arthas receivers read). */
export interface SealedFileChunk {
  readonly iv: Uint8Array<ArrayBuffer>;
  readonly data: Uint8Array<ArrayBuffer>;
}

/** Encrypts one chunk of a file under a fresh IV. */
export async function sealFileChunk(key: RoomKey, chunk: Uint8Array): Promise<SealedFileChunk> {
  const { iv, ciphertext } = await encrypt(key, chunk);
  return { iv, data: ciphertext };
}

/**
 * Decrypts one chunk; `iv` and `data` may be bytes or base64url strings.
 *
 * @throws {HushCryptoError} `decrypt_failed` for every failure.
 */
export function openFileChunk(
  key: RoomKey,
  sealed: { iv: string | Uint8Array; data: string | Uint8Array },
): Promise<Uint8Array<ArrayBuffer>> {
  if (isBytes(sealed.iv) && isBytes(sealed.data)) return decrypt(key, sealed.iv, sealed.data);
  return open(key, { iv: sealed.iv, ciphertext: sealed.data });
}

/** SHA-256 of a plaintext chunk as lowercase hex, the form `chunkHashes` holds. */
export async function chunkHash(chunk: Uint8Array): Promise<string> {
  return toHex(await sha256(chunk));
}

/** Number of chunks of {@link FILE_CHUNK_BYTES} (or `chunkBytes`) a file of `size` bytes takes. */
export function chunkCount(size: number, chunkBytes: number = FILE_CHUNK_BYTES): number {
  return Math.max(1, Math.ceil(size / chunkBytes));
}

function checkMetadata(metadata: FileMetadata): void {
  const { transferId, fileName, fileSize, mimeType, totalChunks, chunkHashes } = metadata;
  if (typeof transferId !== 'string' || transferId === '') throw invalid('transferId is missing');
  if (typeof fileName !== 'string' || fileName === '' || fileName.length > MAX_FILE_NAME_LENGTH) {
    throw invalid(`fileName must be 1 to ${MAX_FILE_NAME_LENGTH} characters`);
  }
  if (!Number.isSafeInteger(fileSize) || fileSize < 1) {
    throw invalid('fileSize must be a positive integer');
  }
  if (typeof mimeType !== 'string' || mimeType.length > MAX_MIME_TYPE_LENGTH) {
    throw invalid(`mimeType must be a string of at most ${MAX_MIME_TYPE_LENGTH} characters`);
  }
  if (!Number.isSafeInteger(totalChunks) || totalChunks < 1 || totalChunks > fileSize) {
    throw invalid('totalChunks must be between 1 and fileSize');
  }
  if (
    chunkHashes !== undefined &&
    (!Array.isArray(chunkHashes) ||
      chunkHashes.length !== totalChunks ||
      !chunkHashes.every((hash) => typeof hash === 'string' && HASH_PATTERN.test(hash)))
  ) {
    throw invalid('chunkHashes must hold one SHA-256 hex digest per chunk');
  }
  const { thumbnail } = metadata;
  if (thumbnail !== undefined && (!isBytes(thumbnail) || thumbnail.length > MAX_THUMBNAIL_BYTES)) {
    throw invalid(`a thumbnail is at most ${MAX_THUMBNAIL_BYTES} bytes`);
  }
}

/** Thumbnail bytes from the forms JSON gives them: an index → byte object or an array. */
function thumbnailBytes(value: unknown): Uint8Array {
  let values: unknown[];
  if (Array.isArray(value)) {
    values = value;
  } else if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    values = new Array<unknown>(entries.length);
    for (const [index, byte] of entries) {
      const position = Number(index);
      if (!/^(?:0|[1-9]\d*)$/.test(index) || position >= entries.length) {
        throw invalid('a thumbnail object must be indexed 0 … n-1');
      }
      values[position] = byte;
    }
  } else {
    throw invalid('a thumbnail must be bytes');
  }
  if (values.length > MAX_THUMBNAIL_BYTES) {
    throw invalid(`a thumbnail is at most ${MAX_THUMBNAIL_BYTES} bytes`);
  }
  const bytes = new Uint8Array(values.length);
  values.forEach((byte, i) => {
    if (!Number.isInteger(byte) || (byte as number) < 0 || (byte as number) > 255) {
      throw invalid('a thumbnail holds bytes 0 … 255');
    }
    bytes[i] = byte as number;
  });
  return bytes;
}

function invalid(message: string, cause?: unknown): HushCryptoError {
  return new HushCryptoError(
    'invalid_payload',
    message,
    cause === undefined ? undefined : { cause },
  );
}
