import type { RoomKey, SigningKeyPair } from '@hush/crypto';
import {
  FILE_CHUNK_BYTES,
  MAX_FILE_BYTES,
  MAX_THUMBNAIL_BYTES,
  chunkCount,
  chunkHash,
  isHushCryptoError,
  newMessageId,
  openFileChunk,
  openFileMetadata,
  sealFileChunk,
  sealFileMetadata,
} from '@hush/crypto';
import type {
  ClientMessage,
  Member,
  RateKind,
  RelayFileAck,
  RelayFileCancel,
  RelayFileChunk,
  RelayFileComplete,
  RelayFileMeta,
} from '@hush/protocol';
import { ClientType, MAX_TRANSFER_ID_LENGTH } from '@hush/protocol';
import type { Clock, TimerHandle } from './clock.js';
import type { FileInfo, SessionEvent, Verification } from './events.js';

/** Incoming files assembled at once; more are refused (each may hold up to the size limit). */
export const MAX_CONCURRENT_RECEIVES = 5;
/** Files waiting to be sent behind the one in flight. */
export const MAX_QUEUED_FILES = 3;
/** Room a chunk frame needs beyond the chunk itself (envelope, ids, IV, GCM tag). */
const CHUNK_FRAME_OVERHEAD = 512;
/** Chunk hashes are sent while they keep the metadata small (a 5 MiB file has 80 chunks). */
const MAX_HASHED_CHUNKS = 160;

/** What the file engine needs from its session. */
export interface FileHost {
  readonly clock: Clock;
  readonly receiveTimeoutMs: number;
  readonly maxReceiveBytes: number;
  roomKey(): RoomKey;
  keyPair(): SigningKeyPair | undefined;
  self(): Member;
  /** The sender as the relay names it, with the colour from the roster. */
  sender(id: string, name?: string): Member;
  /** The relay's largest frame, from Welcome. */
  maxFrameBytes(): number;
  verify(name: string, json: Record<string, unknown>, ref: number): Promise<Verification>;
  /** Numbers and names a file message, as chat messages are. */
  register(info: { senderId: string; senderName: string; t: number; fileName: string }): {
    ref: number;
    stableId: string;
    t: number;
  };
  emit(event: SessionEvent): void;
  /** There is something to send. */
  kick(): void;
}

/** One step of sending: what to write and which budget it spends. */
export interface FileStep {
  kind: RateKind;
  prepare(): Promise<ClientMessage>;
  commit(): void;
  /** The frame is larger than the relay takes: the transfer (or ack) cannot go. */
  drop(why: string): void;
}

export type SendFileResult =
  | { ok: true; transferId: string }
  | { ok: false; reason: 'empty' | 'too-large' | 'queue-full' | 'not-in-room' };

interface Outgoing {
  info: FileInfo;
  data: Uint8Array;
  chunkBytes: number;
  totalChunks: number;
  /** Meta sent, chunks up to `next` sent. */
  stage: 'queued' | 'meta' | 'chunks' | 'complete';
  next: number;
  acks: Set<string>;
  /** The frame of the current step, sealed once. */
  sealed: ClientMessage | undefined;
}

interface Incoming {
  info: FileInfo;
  senderId: string;
  totalChunks: number;
  hashes: string[] | undefined;
  chunks: (Uint8Array | undefined)[];
  received: number;
  bytes: number;
  timer: TimerHandle;
}

/**
 * File transfer in the Arthas chunk format: encrypted metadata, numbered encrypted chunks, then
 * complete (or cancel), and an ack from each receiver back to the sender. One outgoing transfer
 * at a time (the relay's rule), others queued; incoming ones checked chunk by chunk.
 */
export class FileTransfers {
  private readonly queue: Outgoing[] = [];
  /** Sent files, by transfer id, still counting acks. */
  private readonly sent = new Map<string, Outgoing>();
  private readonly incoming = new Map<string, Incoming>();
  private readonly acks: string[] = [];
  private cancelling: Outgoing | undefined;

  constructor(private readonly host: FileHost) {}

  /** Queues a file for sending. */
  send(file: {
    name: string;
    type?: string;
    data: Uint8Array;
    thumbnail?: Uint8Array;
  }): SendFileResult {
    if (file.data.length === 0) return { ok: false, reason: 'empty' };
    if (file.data.length > MAX_FILE_BYTES) return { ok: false, reason: 'too-large' };
    // A preview larger than receivers accept is left out; the file itself still goes.
    const thumbnail =
      file.thumbnail !== undefined && file.thumbnail.length <= MAX_THUMBNAIL_BYTES
        ? file.thumbnail
        : undefined;
    if (this.queue.length > MAX_QUEUED_FILES) return { ok: false, reason: 'queue-full' };
    const transferId = newMessageId().slice(0, 21);
    const self = this.host.self();
    const { ref, stableId, t } = this.host.register({
      senderId: self.id,
      senderName: self.name,
      t: this.host.clock.now(),
      fileName: file.name,
    });
    const info: FileInfo = {
      transferId,
      direction: 'outgoing',
      from: self,
      fileName: file.name,
      mimeType:
        file.type === undefined || file.type === '' ? 'application/octet-stream' : file.type,
      size: file.data.length,
      ...(thumbnail === undefined ? {} : { thumbnail }),
      verification: this.host.keyPair() === undefined ? 'unsigned' : 'verified',
      ref,
      stableId,
      t,
    };
    const chunkBytes = Math.max(
      1024,
      Math.min(FILE_CHUNK_BYTES, this.host.maxFrameBytes() - CHUNK_FRAME_OVERHEAD),
    );
    this.queue.push({
      info,
      data: file.data,
      chunkBytes,
      totalChunks: chunkCount(file.data.length, chunkBytes),
      stage: 'queued',
      next: 0,
      acks: new Set(),
      sealed: undefined,
    });
    this.host.kick();
    return { ok: true, transferId };
  }

  /** Cancels one of our transfers, queued or in flight. */
  cancel(transferId: string): boolean {
    const index = this.queue.findIndex((item) => item.info.transferId === transferId);
    if (index < 0) return false;
    const [item] = this.queue.splice(index, 1);
    // A transfer the relay knows about is ended on the wire too.
    if (item!.stage !== 'queued') this.cancelling = item;
    this.host.emit({ type: 'file-cancelled', file: item!.info });
    this.host.kick();
    return true;
  }

  /** Outgoing work left (files queued or in flight, a cancel or acks to send). */
  get busy(): boolean {
    return this.queue.length > 0 || this.cancelling !== undefined || this.acks.length > 0;
  }

  /** The next frame to send, if any: a cancel, an ack, or the active transfer's next step. */
  nextStep(): FileStep | undefined {
    const cancelling = this.cancelling;
    if (cancelling !== undefined) {
      return {
        kind: 'fileControl',
        prepare: () =>
          Promise.resolve({
            type: ClientType.SendFileCancel,
            data: { transferId: cancelling.info.transferId },
          }),
        commit: () => (this.cancelling = undefined),
        drop: () => (this.cancelling = undefined),
      };
    }
    const ack = this.acks[0];
    if (ack !== undefined) {
      return {
        kind: 'fileAck',
        prepare: () => Promise.resolve({ type: ClientType.SendFileAck, data: { transferId: ack } }),
        commit: () => this.acks.shift(),
        drop: () => this.acks.shift(),
      };
    }
    const active = this.queue[0];
    return active === undefined ? undefined : this.stepOf(active);
  }

  private stepOf(item: Outgoing): FileStep {
    const { transferId } = item.info;
    const drop = (why: string): void => {
      if (this.queue[0] !== item) return;
      this.queue.shift();
      if (item.stage === 'chunks' || item.stage === 'complete') this.cancelling = item;
      this.host.emit({ type: 'file-failed', file: item.info, reason: why });
    };
    switch (item.stage) {
      case 'queued':
      case 'meta':
        return {
          kind: 'fileMeta',
          prepare: async () => {
            item.stage = 'meta';
            item.sealed ??= {
              type: ClientType.SendFileMeta,
              data: { transferId, ...(await this.sealMetadata(item)) },
            };
            return item.sealed;
          },
          commit: () => {
            if (this.queue[0] !== item) return;
            item.stage = 'chunks';
            item.sealed = undefined;
          },
          drop,
        };
      case 'chunks':
        return {
          kind: 'fileChunk',
          prepare: async () => {
            const index = item.next;
            item.sealed ??= {
              type: ClientType.SendFileChunk,
              data: {
                transferId,
                index,
                ...(await sealFileChunk(this.host.roomKey(), this.chunkOf(item, index))),
              },
            };
            return item.sealed;
          },
          commit: () => {
            if (this.queue[0] !== item) return;
            item.sealed = undefined;
            item.next += 1;
            const bytes = Math.min(item.data.length, item.next * item.chunkBytes);
            this.host.emit({ type: 'file-progress', file: item.info, bytes });
            if (item.next >= item.totalChunks) item.stage = 'complete';
          },
          drop,
        };
      case 'complete':
        return {
          kind: 'fileControl',
          prepare: () =>
            Promise.resolve({ type: ClientType.SendFileComplete, data: { transferId } }),
          commit: () => {
            if (this.queue[0] !== item) return;
            this.queue.shift();
            this.sent.set(transferId, item);
            item.data = new Uint8Array(0);
            this.host.emit({ type: 'file-sent', file: item.info });
          },
          drop,
        };
    }
  }

  private chunkOf(item: Outgoing, index: number): Uint8Array {
    return item.data.subarray(index * item.chunkBytes, (index + 1) * item.chunkBytes);
  }

  private async sealMetadata(item: Outgoing) {
    const hashes =
      item.totalChunks <= MAX_HASHED_CHUNKS
        ? await Promise.all(
            Array.from({ length: item.totalChunks }, (_, i) => chunkHash(this.chunkOf(item, i))),
          )
        : undefined;
    return sealFileMetadata(
      this.host.roomKey(),
      {
        transferId: item.info.transferId,
        fileName: item.info.fileName,
        fileSize: item.info.size,
        mimeType: item.info.mimeType,
        totalChunks: item.totalChunks,
        ...(hashes === undefined ? {} : { chunkHashes: hashes }),
        ...(item.info.thumbnail === undefined ? {} : { thumbnail: item.info.thumbnail }),
      },
      this.host.keyPair(),
    );
  }

  /** The connection dropped: the relay cancelled our transfer in flight for its receivers. */
  connectionLost(): void {
    this.acks.length = 0;
    this.cancelling = undefined;
    const active = this.queue[0];
    if (active !== undefined && active.stage !== 'queued') {
      this.queue.shift();
      this.host.emit({
        type: 'file-failed',
        file: active.info,
        reason: 'the connection was lost during the transfer',
      });
    }
    for (const incoming of [...this.incoming.values()])
      this.fail(incoming, 'the connection was lost');
  }

  /** The relay refused our transfer (E023). */
  rejected(): void {
    const active = this.queue[0];
    if (active === undefined || active.stage === 'queued') return;
    this.queue.shift();
    this.host.emit({
      type: 'file-failed',
      file: active.info,
      reason: 'the relay refused the transfer',
    });
    this.host.kick();
  }

  /** The room ended: everything stops. */
  clear(): void {
    for (const incoming of this.incoming.values()) this.host.clock.clearTimeout(incoming.timer);
    this.incoming.clear();
    this.queue.length = 0;
    this.sent.clear();
    this.acks.length = 0;
    this.cancelling = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Incoming
  // -------------------------------------------------------------------------------------------

  async meta(data: RelayFileMeta['data']): Promise<void> {
    const id = incomingId(data.senderId, data.transferId);
    const from = this.host.sender(data.senderId, data.senderName);
    if (this.incoming.has(id)) return;
    if (this.incoming.size >= MAX_CONCURRENT_RECEIVES) {
      this.host.emit({
        type: 'warning',
        detail: `${from.name} sent a file while ${MAX_CONCURRENT_RECEIVES} others were arriving; it was not received`,
      });
      return;
    }
    let opened;
    try {
      opened = await openFileMetadata(this.host.roomKey(), data);
    } catch (error) {
      if (!isHushCryptoError(error)) throw error;
      this.host.emit({
        type: 'warning',
        detail: `could not read a file ${from.name} sent (${error.code === 'decrypt_failed' ? 'it did not decrypt' : 'its description is malformed'})`,
      });
      return;
    }
    const { metadata, json } = opened;
    if (
      metadata.transferId !== data.transferId ||
      data.transferId.length > MAX_TRANSFER_ID_LENGTH
    ) {
      this.host.emit({
        type: 'warning',
        detail: `${from.name} sent a file whose description names another transfer; ignored`,
      });
      return;
    }
    const { ref, stableId } = this.host.register({
      senderId: data.senderId,
      senderName: data.senderName,
      t: data.t,
      fileName: metadata.fileName,
    });
    const info: FileInfo = {
      transferId: data.transferId,
      direction: 'incoming',
      from,
      fileName: metadata.fileName,
      mimeType: metadata.mimeType,
      size: metadata.fileSize,
      ...(metadata.thumbnail === undefined ? {} : { thumbnail: metadata.thumbnail }),
      verification: await this.host.verify(from.name, json, ref),
      ref,
      stableId,
      t: data.t,
    };
    this.host.emit({ type: 'file-offered', file: info });
    if (metadata.fileSize > this.host.maxReceiveBytes) {
      this.host.emit({
        type: 'file-failed',
        file: info,
        reason: `it is larger than ${this.host.maxReceiveBytes} bytes, the most this client takes`,
      });
      return;
    }
    const incoming: Incoming = {
      info,
      senderId: data.senderId,
      totalChunks: metadata.totalChunks,
      hashes: metadata.chunkHashes,
      chunks: new Array<Uint8Array | undefined>(metadata.totalChunks),
      received: 0,
      bytes: 0,
      timer: undefined,
    };
    this.incoming.set(id, incoming);
    this.arm(incoming);
  }

  async chunk(data: RelayFileChunk['data']): Promise<void> {
    const incoming = this.incoming.get(incomingId(data.senderId, data.transferId));
    if (incoming === undefined) return;
    const { index } = data;
    if (index >= incoming.totalChunks || incoming.chunks[index] !== undefined) return;
    let chunk: Uint8Array;
    try {
      chunk = await openFileChunk(this.host.roomKey(), data);
    } catch (error) {
      if (!isHushCryptoError(error)) throw error;
      this.fail(incoming, 'a chunk did not decrypt');
      return;
    }
    if (!this.incoming.has(incomingId(data.senderId, data.transferId))) return;
    if (incoming.bytes + chunk.length > incoming.info.size) {
      this.fail(incoming, 'it is larger than announced');
      return;
    }
    const expected = incoming.hashes?.[index];
    if (expected !== undefined && (await chunkHash(chunk)) !== expected) {
      this.fail(incoming, 'a chunk failed its integrity check');
      return;
    }
    incoming.chunks[index] = chunk;
    incoming.received += 1;
    incoming.bytes += chunk.length;
    this.arm(incoming);
    this.host.emit({ type: 'file-progress', file: incoming.info, bytes: incoming.bytes });
  }

  complete(data: RelayFileComplete['data']): void {
    const incoming = this.incoming.get(incomingId(data.senderId, data.transferId));
    if (incoming === undefined) return;
    if (incoming.received !== incoming.totalChunks || incoming.bytes !== incoming.info.size) {
      this.fail(
        incoming,
        `it is incomplete (${incoming.received} of ${incoming.totalChunks} chunks)`,
      );
      return;
    }
    this.forget(incoming);
    const file = new Uint8Array(incoming.bytes);
    let offset = 0;
    for (const chunk of incoming.chunks) {
      file.set(chunk!, offset);
      offset += chunk!.length;
    }
    this.host.emit({ type: 'file-received', file: incoming.info, data: file });
    this.acks.push(data.transferId);
    this.host.kick();
  }

  cancelled(data: RelayFileCancel['data']): void {
    const incoming = this.incoming.get(incomingId(data.senderId, data.transferId));
    if (incoming === undefined) return;
    this.forget(incoming);
    this.host.emit({ type: 'file-cancelled', file: incoming.info });
  }

  acked(data: RelayFileAck['data']): void {
    const item =
      this.sent.get(data.transferId) ??
      this.queue.find((candidate) => candidate.info.transferId === data.transferId);
    if (item === undefined || item.acks.has(data.receiverId)) return;
    item.acks.add(data.receiverId);
    this.host.emit({
      type: 'file-acked',
      file: item.info,
      by: this.host.sender(data.receiverId),
      acks: item.acks.size,
    });
  }

  /** A member left: what it was sending will not arrive. */
  memberLeft(memberId: string): void {
    for (const incoming of [...this.incoming.values()]) {
      if (incoming.senderId === memberId) this.fail(incoming, 'the sender left');
    }
  }

  private arm(incoming: Incoming): void {
    this.host.clock.clearTimeout(incoming.timer);
    incoming.timer = this.host.clock.setTimeout(
      () =>
        this.fail(
          incoming,
          `nothing arrived for ${Math.round(this.host.receiveTimeoutMs / 1000)} s`,
        ),
      this.host.receiveTimeoutMs,
    );
  }

  private fail(incoming: Incoming, reason: string): void {
    if (!this.forget(incoming)) return;
    this.host.emit({ type: 'file-failed', file: incoming.info, reason });
  }

  private forget(incoming: Incoming): boolean {
    this.host.clock.clearTimeout(incoming.timer);
    return this.incoming.delete(incomingId(incoming.senderId, incoming.info.transferId));
  }
}

/** Transfer ids are chosen by senders: two members may pick the same one. */
function incomingId(senderId: string, transferId: string): string {
  return `${senderId}\u0000${transferId}`;
}
