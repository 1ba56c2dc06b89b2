import type { RoomKey } from '@hush/crypto';
import {
  FILE_CHUNK_BYTES,
  MAX_THUMBNAIL_BYTES,
  chunkHash,
  encrypt,
  importVerifyingKey,
  openFileChunk,
  openFileMetadata,
  sealFileChunk,
  toBase64Url,
  verifyPayload,
} from '@hush/crypto';
import type { ServerMessage } from '@hush/protocol';
import { ClientType, ServerType } from '@hush/protocol';
import { describe, expect, it } from 'vitest';
import { ALICE, BOB, CAROL, LIMITS, harness } from './fixtures/session-harness.js';
import { DEFAULT_POLICY } from './policy.js';

const TRANSFER = 'Xb7f0aPq1cR2dS3eT4fU5';

/** What an Arthas web client sends for a file: JSON metadata (thumbnail as JSON writes bytes). */
async function arthasFile(
  key: RoomKey,
  data: Uint8Array,
  options: { chunkHashes?: string[]; fileSize?: number; name?: string } = {},
): Promise<ServerMessage[]> {
  const totalChunks = Math.ceil(data.length / FILE_CHUNK_BYTES);
  const metadata = {
    transferId: TRANSFER,
    fileName: options.name ?? 'photo.jpg',
    fileSize: options.fileSize ?? data.length,
    mimeType: 'image/jpeg',
    totalChunks,
    thumbnail: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]),
    ...(options.chunkHashes === undefined ? {} : { chunkHashes: options.chunkHashes }),
  };
  const sealed = await encrypt(key, new TextEncoder().encode(JSON.stringify(metadata)));
  const frames: ServerMessage[] = [
    {
      type: ServerType.RelayFileMeta,
      data: {
        senderId: BOB.id,
        senderName: BOB.name,
        transferId: TRANSFER,
        iv: toBase64Url(sealed.iv),
        ciphertext: sealed.ciphertext,
        t: 1_700_000_000_000,
      },
    },
  ];
  for (let index = 0; index < totalChunks; index++) {
    const chunk = data.subarray(index * FILE_CHUNK_BYTES, (index + 1) * FILE_CHUNK_BYTES);
    frames.push({
      type: ServerType.RelayFileChunk,
      data: { senderId: BOB.id, transferId: TRANSFER, index, ...(await sealFileChunk(key, chunk)) },
    });
  }
  frames.push({
    type: ServerType.RelayFileComplete,
    data: { senderId: BOB.id, transferId: TRANSFER },
  });
  return frames;
}

const bytes = (length: number) => {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (i * 31 + 7) % 251;
  return data;
};

describe('receiving files', () => {
  it('takes an Arthas file: offered with its thumbnail, progress, received whole, acked', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const data = bytes(FILE_CHUNK_BYTES * 2 + 100);
    for (const frame of await arthasFile(h.key, data)) connection.receive(frame);
    await h.settle();
    const offered = h.of('file-offered')[0]!.file;
    expect(offered).toMatchObject({
      transferId: TRANSFER,
      direction: 'incoming',
      from: BOB,
      fileName: 'photo.jpg',
      mimeType: 'image/jpeg',
      size: data.length,
      verification: 'unsigned',
      thumbnail: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]),
    });
    expect(h.of('file-progress').map((e) => e.bytes)).toEqual([65_536, 131_072, data.length]);
    const received = h.of('file-received')[0]!;
    expect(received.data).toEqual(data);
    expect(connection.sentOf(ClientType.SendFileAck)).toEqual([
      { type: ClientType.SendFileAck, data: { transferId: TRANSFER } },
    ]);
  });

  it('checks every chunk against the chunk hashes when the sender gave them', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const data = bytes(100);
    const frames = await arthasFile(h.key, data, { chunkHashes: [await chunkHash(bytes(99))] });
    for (const frame of frames) connection.receive(frame);
    await h.settle();
    expect(h.of('file-failed')).toEqual([
      expect.objectContaining({ reason: 'a chunk failed its integrity check' }),
    ]);
    expect(h.of('file-received')).toEqual([]);
    expect(connection.sentOf(ClientType.SendFileAck)).toEqual([]);
  });

  it('fails a file that is incomplete at the end, or larger than announced', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const frames = await arthasFile(h.key, bytes(FILE_CHUNK_BYTES + 1));
    for (const frame of frames.filter(
      (f) => f.type !== ServerType.RelayFileChunk || f.data.index !== 1,
    )) {
      connection.receive(frame);
    }
    await h.settle();
    expect(h.of('file-failed').map((e) => e.reason)).toEqual(['it is incomplete (1 of 2 chunks)']);
    const lying = await arthasFile(h.key, bytes(200), { fileSize: 150 });
    for (const frame of lying) connection.receive(frame);
    await h.settle();
    expect(
      h
        .of('file-failed')
        .map((e) => e.reason)
        .at(-1),
    ).toBe('it is larger than announced');
  });

  it('refuses a file over the size limit, says when the sender cancels or leaves, and times out', async () => {
    const h = await harness({ maxFileBytes: 1000 });
    h.session.start();
    const connection = await h.admit([ALICE, BOB, CAROL]);
    const [bigMeta] = await arthasFile(h.key, bytes(1001));
    connection.receive(bigMeta!);
    await h.settle();
    expect(h.of('file-failed').at(-1)?.reason).toBe(
      'it is larger than 1000 bytes, the most this client takes',
    );

    const [meta] = await arthasFile(h.key, bytes(10));
    connection.receive(meta!);
    connection.receive({
      type: ServerType.RelayFileCancel,
      data: { senderId: BOB.id, transferId: TRANSFER },
    });
    await h.settle();
    expect(h.of('file-cancelled')).toHaveLength(1);

    connection.receive(meta!);
    connection.receive({ type: ServerType.MemberLeft, data: { id: BOB.id } });
    await h.settle();
    expect(h.of('file-failed').at(-1)?.reason).toBe('the sender left');

    connection.receive({ type: ServerType.MemberJoined, data: BOB });
    connection.receive(meta!);
    await h.settle();
    h.clock.advance(DEFAULT_POLICY.fileReceiveTimeoutMs);
    expect(h.of('file-failed').at(-1)?.reason).toBe('nothing arrived for 60 s');
  });
});

describe('sending files', () => {
  it('sends signed metadata with chunk hashes, chunks and complete, in the Arthas wire form', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB, CAROL]);
    const data = bytes(FILE_CHUNK_BYTES + 10);
    const result = h.session.sendFile({ name: 'notes.bin', data });
    expect(result).toEqual({ ok: true, transferId: expect.any(String) });
    await h.settle();
    const transferId = (result as { transferId: string }).transferId;
    const [meta] = connection.sentOf(ClientType.SendFileMeta);
    expect(typeof meta!.data.iv).toBe('string');
    expect(meta!.data.ciphertext).toBeInstanceOf(Uint8Array);
    const { metadata, json } = await openFileMetadata(h.key, meta!.data);
    expect(metadata).toMatchObject({
      transferId,
      fileName: 'notes.bin',
      fileSize: data.length,
      mimeType: 'application/octet-stream',
      totalChunks: 2,
      chunkHashes: [
        await chunkHash(data.subarray(0, FILE_CHUNK_BYTES)),
        await chunkHash(data.subarray(FILE_CHUNK_BYTES)),
      ],
    });
    expect(await verifyPayload(json, await importVerifyingKey(h.signing.publicKey))).toBe(true);
    const chunks = connection.sentOf(ClientType.SendFileChunk);
    expect(chunks.map((c) => c.data.index)).toEqual([0, 1]);
    expect(chunks[0]!.data.iv).toBeInstanceOf(Uint8Array);
    const rebuilt = [];
    for (const chunk of chunks) rebuilt.push(...(await openFileChunk(h.key, chunk.data)));
    expect(new Uint8Array(rebuilt)).toEqual(data);
    expect(connection.sentOf(ClientType.SendFileComplete)).toEqual([
      { type: ClientType.SendFileComplete, data: { transferId } },
    ]);
    expect(h.of('file-sent')).toHaveLength(1);

    for (const receiverId of [BOB.id, CAROL.id, BOB.id]) {
      connection.receive({ type: ServerType.RelayFileAck, data: { receiverId, transferId } });
    }
    await h.settle();
    expect(h.of('file-acked').map((e) => [e.by.name, e.acks])).toEqual([
      ['bob', 1],
      ['carol', 2],
    ]);
  });

  it('sends a thumbnail in the metadata as Arthas writes it, and leaves out one too large', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB]);
    const thumbnail = new Uint8Array([0xff, 0xd8, 1, 2, 0xff, 0xd9]);
    h.session.sendFile({ name: 'cat.jpg', type: 'image/jpeg', data: bytes(100), thumbnail });
    await h.settle();
    h.session.sendFile({
      name: 'big.jpg',
      type: 'image/jpeg',
      data: bytes(100),
      thumbnail: new Uint8Array(MAX_THUMBNAIL_BYTES + 1),
    });
    await h.settle();
    const metas = connection.sentOf(ClientType.SendFileMeta);
    expect(metas).toHaveLength(2);
    const first = await openFileMetadata(h.key, metas[0]!.data);
    expect(first.metadata.thumbnail).toEqual(thumbnail);
    // As JSON writes a Uint8Array: an object of index → byte.
    expect(first.json['thumbnail']).toEqual({ 0: 0xff, 1: 0xd8, 2: 1, 3: 2, 4: 0xff, 5: 0xd9 });
    expect(h.of('file-sent')[0]?.file.thumbnail).toEqual(thumbnail);
    const second = await openFileMetadata(h.key, metas[1]!.data);
    expect(second.metadata.thumbnail).toBeUndefined();
    expect(h.of('file-sent')).toHaveLength(2);
  });

  it('paces chunks by the announced chunk budget and makes chunks fit the frame limit', async () => {
    const h = await harness();
    h.session.start();
    const limits = {
      ...LIMITS,
      maxFrameBytes: 20_000,
      rates: { ...LIMITS.rates, fileChunk: { events: 2, windowMs: 1000 } },
    };
    const connection = await h.admit([ALICE, BOB], { limits });
    h.session.sendFile({ name: 'a.bin', type: 'application/x-test', data: bytes(80_000) });
    await h.settle();
    const chunks = () => connection.sentOf(ClientType.SendFileChunk);
    expect(chunks()).toHaveLength(2);
    expect((chunks()[0]!.data.data as Uint8Array).length).toBeLessThanOrEqual(20_000);
    h.clock.advance(1000 + DEFAULT_POLICY.pacingMarginMs);
    await h.settle();
    expect(chunks()).toHaveLength(4);
    expect(connection.sentOf(ClientType.SendFileComplete)).toHaveLength(0);
    h.clock.advance(1000 + DEFAULT_POLICY.pacingMarginMs);
    await h.settle();
    expect(chunks()).toHaveLength(5);
    expect(connection.sentOf(ClientType.SendFileComplete)).toHaveLength(1);
  });

  it('refuses empty and oversized files, sends one at a time, and cancels on the wire', async () => {
    const h = await harness();
    h.session.start();
    const limits = {
      ...LIMITS,
      rates: { ...LIMITS.rates, fileChunk: { events: 1, windowMs: 1000 } },
    };
    const connection = await h.admit([ALICE, BOB], { limits });
    expect(h.session.sendFile({ name: 'e', data: new Uint8Array(0) })).toEqual({
      ok: false,
      reason: 'empty',
    });
    expect(h.session.sendFile({ name: 'big', data: new Uint8Array(5 * 1024 * 1024 + 1) })).toEqual({
      ok: false,
      reason: 'too-large',
    });
    const first = h.session.sendFile({ name: 'one', data: bytes(FILE_CHUNK_BYTES * 3) });
    const second = h.session.sendFile({ name: 'two', data: bytes(10) });
    await h.settle();
    expect(connection.sentOf(ClientType.SendFileMeta)).toHaveLength(1);
    h.session.cancelFile((first as { transferId: string }).transferId);
    await h.settle();
    expect(connection.sentOf(ClientType.SendFileCancel)).toEqual([
      {
        type: ClientType.SendFileCancel,
        data: { transferId: (first as { transferId: string }).transferId },
      },
    ]);
    h.clock.advance(1000 + DEFAULT_POLICY.pacingMarginMs);
    await h.settle();
    const metas = connection.sentOf(ClientType.SendFileMeta);
    expect(metas.map((m) => m.data.transferId)).toEqual([
      (first as { transferId: string }).transferId,
      (second as { transferId: string }).transferId,
    ]);
  });

  it('fails the transfer in flight when the connection drops', async () => {
    const h = await harness();
    h.session.start();
    const limits = {
      ...LIMITS,
      rates: { ...LIMITS.rates, fileChunk: { events: 1, windowMs: 1000 } },
    };
    const connection = await h.admit([ALICE, BOB], { limits });
    h.session.sendFile({ name: 'one', data: bytes(FILE_CHUNK_BYTES * 3) });
    await h.settle();
    connection.drop();
    await h.settle();
    expect(h.of('file-failed').map((e) => e.reason)).toEqual([
      'the connection was lost during the transfer',
    ]);
  });
});
