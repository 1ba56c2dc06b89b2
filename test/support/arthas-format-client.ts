/**
 * A test client that speaks exactly what the Arthas web client sends and reads, written apart
 * from Hush's own libraries (only the wire codec is shared: that is the relay's protocol), so it
 * checks Hush against the Arthas formats rather than against itself:
 *
 * - no Hello; JoinRoom, and "the last member of RoomJoined is us";
 * - payloads `JSON.stringify({text, reply?, type?, pubkey?, sig?})`, AES-256-GCM, IV and
 *   ciphertext as base64url strings;
 * - Ed25519 signatures over the canonical JSON (keys sorted at every depth, `JSON.stringify`
 *   escaping) of the payload without `sig`; the key announcement `{text: '', type: 'pubkey',
 *   pubkey, sig}` right after joining, and never again;
 * - replies `{stableId: senderId:t, senderName, preview}`; reactions `{stableId, emoji, action}`;
 *   typing `{"typing": bool}` encrypted;
 * - files: metadata JSON (a thumbnail as JSON writes a Uint8Array) with a base64url IV and a
 *   binary ciphertext, chunks of 64 KiB with binary IV and data, complete, an ack from receivers.
 */
import type { ClientMessage, Member, ServerMessage } from '@hush/protocol';
import { ClientType, decodeServerMessage, encode, ServerType } from '@hush/protocol';
import { WebSocket } from 'ws';

/** What Arthas shows beside a message. */
export type ArthasVerification = 'verified' | 'failed' | 'unknown' | 'no-sig';

export interface ArthasMessage {
  stableId: string;
  senderId: string;
  senderName: string;
  t: number;
  text: string;
  payload: Record<string, unknown>;
  verification: ArthasVerification;
}

export interface ArthasReaction {
  senderName: string;
  stableId: string;
  emoji: string;
  action: string;
}

export interface ArthasFile {
  senderName: string;
  fileName: string;
  mimeType: string;
  data: Uint8Array;
  /** The preview as Arthas reads it (JSON of a Uint8Array: index → byte), when there was one. */
  thumbnail?: Uint8Array;
}

const CHUNK_SIZE = 65_536;

const b64 = (bytes: Uint8Array | ArrayBuffer): string =>
  Buffer.from(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes).toString('base64url');
const unb64 = (text: string): Uint8Array<ArrayBuffer> =>
  new Uint8Array(Buffer.from(text, 'base64url'));
const asBytes = (field: string | Uint8Array): Uint8Array<ArrayBuffer> =>
  typeof field === 'string' ? unb64(field) : new Uint8Array(field);

/** The Arthas web client's canonical JSON. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const object = value as Record<string, unknown>;
  return `{${Object.keys(object)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical(object[key])}`)
    .join(',')}}`;
}

function signable(payload: Record<string, unknown>): Uint8Array<ArrayBuffer> {
  const { sig: _sig, ...rest } = payload;
  return new TextEncoder().encode(canonical(rest));
}

export class ArthasFormatClient {
  readonly messages: ArthasMessage[] = [];
  readonly reactions: ArthasReaction[] = [];
  readonly typing: { id: string; typing: boolean }[] = [];
  readonly files: ArthasFile[] = [];
  /** Receivers who acked our files, by transfer id. */
  readonly acks = new Map<string, string[]>();
  /** Anything this client could not handle (a test asserts it stays empty). */
  readonly errors: unknown[] = [];
  /** memberId → public key, as Arthas keeps them. */
  readonly publicKeys = new Map<string, CryptoKey>();
  members: Member[] = [];
  myId = '';
  private keyPair: CryptoKeyPair | undefined;
  private incoming = new Map<
    string,
    { meta: Record<string, unknown>; chunks: Uint8Array[]; senderName: string }
  >();
  private waiters: (() => void)[] = [];
  private work: Promise<void> = Promise.resolve();

  private constructor(
    private readonly socket: WebSocket,
    private readonly roomKey: CryptoKey,
    readonly name: string,
  ) {
    socket.on('message', (data: Buffer) => {
      const decoded = decodeServerMessage(new Uint8Array(data));
      if (!decoded.ok) throw new Error(`undecodable frame: ${decoded.error.message}`);
      // One at a time, in order, as the browser's event loop would.
      this.work = this.work
        .then(() => this.handle(decoded.value))
        .catch((error: unknown) => {
          this.errors.push(error);
        })
        .then(() => this.wake());
    });
  }

  /** Joins `roomId` with the raw room key (base64url) from a share code, and announces its key. */
  static async join(
    url: string,
    roomId: string,
    keyText: string,
    name: string,
  ): Promise<ArthasFormatClient> {
    const socket = new WebSocket(url.replace(/^http/, 'ws') + (url.endsWith('/ws') ? '' : '/ws'), {
      headers: { Origin: 'https://arthas.example' },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const roomKey = await crypto.subtle.importKey('raw', unb64(keyText), 'AES-GCM', false, [
      'encrypt',
      'decrypt',
    ]);
    const client = new ArthasFormatClient(socket, roomKey, name);
    client.keyPair = (await crypto.subtle.generateKey('Ed25519', true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    client.send({ type: ClientType.JoinRoom, data: { roomId, name, password: '' } });
    await client.until(() => client.myId !== '');
    return client;
  }

  /** Sends a signed chat message, optionally replying to `reply`. */
  async say(text: string, reply?: ArthasMessage): Promise<void> {
    const payload: Record<string, unknown> = { text };
    if (reply !== undefined) {
      const preview = reply.text.length > 50 ? `${reply.text.slice(0, 50)}…` : reply.text;
      payload['reply'] = { stableId: reply.stableId, senderName: reply.senderName, preview };
    }
    await this.sendPayload(await this.signed(payload));
  }

  /** Sends a message whose signature covers another text: a tampered message. */
  async sayTampered(signedText: string, shownText: string): Promise<void> {
    const payload = await this.signed({ text: signedText });
    await this.sendPayload({ ...payload, text: shownText });
  }

  /** Sends a message without a signature (an Arthas browser without Ed25519). */
  async sayUnsigned(text: string): Promise<void> {
    await this.sendPayload({ text });
  }

  async react(
    target: ArthasMessage,
    emoji: string,
    action: 'add' | 'remove' = 'add',
  ): Promise<void> {
    this.send({
      type: ClientType.SendReaction,
      data: await this.encrypt(JSON.stringify({ stableId: target.stableId, emoji, action })),
    });
  }

  async setTyping(typing: boolean): Promise<void> {
    this.send({ type: ClientType.Typing, data: await this.encrypt(JSON.stringify({ typing })) });
  }

  /** Sends a file as the Arthas web client does, thumbnail included. */
  async sendFile(
    fileName: string,
    mimeType: string,
    data: Uint8Array,
    thumbnail?: Uint8Array,
  ): Promise<string> {
    const transferId = b64(crypto.getRandomValues(new Uint8Array(16))).slice(0, 21);
    const totalChunks = Math.ceil(data.length / CHUNK_SIZE);
    const metadata = {
      transferId,
      fileName,
      fileSize: data.length,
      mimeType,
      totalChunks,
      thumbnail,
    };
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ciphertext = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv },
        this.roomKey,
        new TextEncoder().encode(JSON.stringify(metadata)),
      ),
    );
    this.send({ type: ClientType.SendFileMeta, data: { transferId, iv: b64(iv), ciphertext } });
    for (let index = 0; index < totalChunks; index++) {
      const chunkIv = crypto.getRandomValues(new Uint8Array(12));
      const chunk = data.slice(index * CHUNK_SIZE, (index + 1) * CHUNK_SIZE);
      const sealed = new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv: chunkIv }, this.roomKey, chunk),
      );
      this.send({
        type: ClientType.SendFileChunk,
        data: { transferId, index, iv: chunkIv, data: sealed },
      });
    }
    this.send({ type: ClientType.SendFileComplete, data: { transferId } });
    return transferId;
  }

  /** Waits until `condition` holds, checking after every message handled. */
  async until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `${this.name}: timed out waiting; messages: ${JSON.stringify(this.messages.map((m) => [m.senderName, m.text, m.verification]))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.send({ type: ClientType.LeaveRoom, data: {} });
    this.socket.close(1000);
    await new Promise((resolve) => this.socket.once('close', resolve));
  }

  // -------------------------------------------------------------------------------------------

  private async signed(payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const sig = await crypto.subtle.sign('Ed25519', this.keyPair!.privateKey, signable(payload));
    return { ...payload, sig: b64(sig) };
  }

  private async sendPayload(payload: Record<string, unknown>): Promise<void> {
    this.send({ type: ClientType.SendMessage, data: await this.encrypt(JSON.stringify(payload)) });
  }

  private async encrypt(text: string): Promise<{ iv: string; ciphertext: string }> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ciphertext = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv },
      this.roomKey,
      new TextEncoder().encode(text),
    );
    return { iv: b64(iv), ciphertext: b64(ciphertext) };
  }

  private async decrypt(
    iv: string | Uint8Array,
    ciphertext: string | Uint8Array,
  ): Promise<Uint8Array> {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: asBytes(iv) },
        this.roomKey,
        asBytes(ciphertext),
      ),
    );
  }

  private send(message: ClientMessage): void {
    this.socket.send(encode(message));
  }

  private async handle(message: ServerMessage): Promise<void> {
    switch (message.type) {
      case ServerType.Ping:
        this.send({ type: ClientType.Pong, data: { t: message.data.t } });
        return;
      case ServerType.RoomJoined: {
        this.members = message.data.members;
        this.myId = this.members.at(-1)?.id ?? '';
        const pubkey = b64(await crypto.subtle.exportKey('raw', this.keyPair!.publicKey));
        await this.sendPayload(await this.signed({ text: '', type: 'pubkey', pubkey }));
        return;
      }
      case ServerType.MemberJoined:
        this.members.push(message.data);
        return;
      case ServerType.MemberLeft:
        this.members = this.members.filter((m) => m.id !== message.data.id);
        return;
      case ServerType.RelayMessage:
        await this.receiveMessage(message.data);
        return;
      case ServerType.RelayReaction: {
        const { stableId, emoji, action } = JSON.parse(
          new TextDecoder().decode(await this.decrypt(message.data.iv, message.data.ciphertext)),
        ) as Record<string, string>;
        this.reactions.push({
          senderName: message.data.senderName,
          stableId: stableId!,
          emoji: emoji!,
          action: action!,
        });
        return;
      }
      case ServerType.MemberTyping:
        if (message.data.iv !== undefined && message.data.ciphertext !== undefined) {
          const { typing } = JSON.parse(
            new TextDecoder().decode(await this.decrypt(message.data.iv, message.data.ciphertext)),
          ) as { typing: boolean };
          this.typing.push({ id: message.data.id, typing });
        } else {
          this.typing.push({ id: message.data.id, typing: message.data.typing });
        }
        return;
      case ServerType.RelayFileMeta: {
        const meta = JSON.parse(
          new TextDecoder().decode(await this.decrypt(message.data.iv, message.data.ciphertext)),
        ) as Record<string, unknown>;
        this.incoming.set(message.data.transferId, {
          meta,
          chunks: [],
          senderName: message.data.senderName,
        });
        return;
      }
      case ServerType.RelayFileChunk: {
        const transfer = this.incoming.get(message.data.transferId);
        if (transfer === undefined) return;
        // Arthas reads the chunk IV and data as binary.
        if (typeof message.data.iv === 'string' || typeof message.data.data === 'string') {
          throw new Error('Arthas web clients expect binary chunk fields');
        }
        transfer.chunks[message.data.index] = await this.decrypt(
          message.data.iv,
          message.data.data,
        );
        return;
      }
      case ServerType.RelayFileComplete: {
        const transfer = this.incoming.get(message.data.transferId);
        if (transfer === undefined) return;
        this.incoming.delete(message.data.transferId);
        if (transfer.chunks.filter(Boolean).length !== transfer.meta['totalChunks']) {
          throw new Error('incomplete file');
        }
        const thumbnail = transfer.meta['thumbnail'];
        this.files.push({
          senderName: transfer.senderName,
          fileName: String(transfer.meta['fileName']),
          mimeType: String(transfer.meta['mimeType']),
          data: new Uint8Array(Buffer.concat(transfer.chunks)),
          ...(typeof thumbnail === 'object' && thumbnail !== null
            ? { thumbnail: new Uint8Array(Object.values(thumbnail as Record<string, number>)) }
            : {}),
        });
        this.send({ type: ClientType.SendFileAck, data: { transferId: message.data.transferId } });
        return;
      }
      case ServerType.RelayFileAck:
        this.acks.set(message.data.transferId, [
          ...(this.acks.get(message.data.transferId) ?? []),
          message.data.receiverId,
        ]);
        return;
      default:
        return;
    }
  }

  private async receiveMessage(
    data: Extract<ServerMessage, { type: typeof ServerType.RelayMessage }>['data'],
  ): Promise<void> {
    const plaintext = new TextDecoder().decode(await this.decrypt(data.iv, data.ciphertext));
    let payload: Record<string, unknown>;
    try {
      const parsed = JSON.parse(plaintext) as unknown;
      payload =
        typeof parsed === 'object' &&
        parsed !== null &&
        typeof (parsed as Record<string, unknown>)['text'] === 'string'
          ? (parsed as Record<string, unknown>)
          : { text: plaintext };
    } catch {
      payload = { text: plaintext };
    }
    if (
      payload['type'] === 'pubkey' &&
      typeof payload['pubkey'] === 'string' &&
      typeof payload['sig'] === 'string'
    ) {
      const key = await crypto.subtle.importKey('raw', unb64(payload['pubkey']), 'Ed25519', true, [
        'verify',
      ]);
      // Self-verification over exactly the fields Arthas rebuilds.
      const rebuilt = signable({ type: 'pubkey', text: '', pubkey: payload['pubkey'] });
      if (await crypto.subtle.verify('Ed25519', key, unb64(payload['sig']), rebuilt)) {
        this.publicKeys.set(data.senderId, key);
      }
      // Never shown as a message.
      return;
    }
    let verification: ArthasVerification = 'no-sig';
    if (typeof payload['sig'] === 'string') {
      const key = this.publicKeys.get(data.senderId);
      verification =
        key === undefined
          ? 'unknown'
          : (await crypto.subtle.verify('Ed25519', key, unb64(payload['sig']), signable(payload)))
            ? 'verified'
            : 'failed';
    }
    this.messages.push({
      stableId: `${data.senderId}:${data.t}`,
      senderId: data.senderId,
      senderName: data.senderName,
      t: data.t,
      text: String(payload['text']),
      payload,
      verification,
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
