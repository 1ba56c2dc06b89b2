/**
 * A WebSocket client written against the TCP socket, for what a well-behaved library will not
 * do: several frames in one TCP write, never reading, answering only one kind of ping, frames
 * of any opcode and size. Server frames are parsed by hand (the server never masks nor
 * fragments, and the relay uses no extensions).
 */
import type { ServerMessage } from '@hush/protocol';
import { ClientType, decodeServerMessage, encode, ServerType } from '@hush/protocol';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { connect as tcpConnect } from 'node:net';
import type { ByType } from './helpers.js';
import { sleep } from './helpers.js';

export const Opcode = { Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

export interface RawClientOptions {
  path?: string;
  headers?: Record<string, string>;
  /** Answer WebSocket-level pings with a pong frame. */
  wsPong?: boolean;
  /** Answer app-level Ping (0x18) with Pong (0x06). */
  appPong?: boolean;
  /** Frames written in the same TCP write as the upgrade request. */
  early?: readonly Buffer[];
}

/** One client frame: masked, unfragmented. */
export function clientFrame(opcode: number, payload: Uint8Array | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
  const length = data.length;
  const header =
    length < 126 ? Buffer.alloc(2) : length < 0x10000 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (length < 126) {
    header[1] = 0x80 | length;
  } else if (length < 0x10000) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = (data[i] as number) ^ (mask[i & 3] as number);
  return Buffer.concat([header, mask, masked]);
}

export class RawClient {
  readonly received: ServerMessage[] = [];
  /** Close code the server sent (1006 when the connection dropped without a close frame). */
  readonly closed: Promise<{ code: number }>;
  wsPings = 0;
  private buffer = Buffer.alloc(0);
  private closeCode: number | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly options: RawClientOptions,
    rest: Buffer,
  ) {
    this.closed = new Promise((resolve) => {
      socket.once('close', () => resolve({ code: this.closeCode ?? 1006 }));
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    if (rest.length > 0) this.onData(rest);
  }

  /** Connects and completes the opening handshake; rejects with the HTTP status otherwise. */
  static async connect(url: string, options: RawClientOptions = {}): Promise<RawClient> {
    const { hostname, port } = new URL(url);
    const socket = tcpConnect({ host: hostname, port: Number(port) });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const headers = {
      Host: `${hostname}:${port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      'Sec-WebSocket-Version': '13',
      ...options.headers,
    };
    const request =
      `GET ${options.path ?? '/ws'} HTTP/1.1\r\n` +
      Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      '\r\n';
    socket.write(Buffer.concat([Buffer.from(request), ...(options.early ?? [])]));
    let head = Buffer.alloc(0);
    for (;;) {
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) continue;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head.subarray(0, end).toString())?.[1];
      if (status !== '101') {
        socket.destroy();
        throw new Error(`upgrade refused: ${status ?? 'no status'}`);
      }
      socket.pause();
      const client = new RawClient(socket, options, head.subarray(end + 4));
      socket.resume();
      return client;
    }
  }

  /** Writes the frames in one TCP write, so the relay reads them in one go. */
  burst(frames: readonly Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  sendFrame(opcode: number, payload: Uint8Array | string): void {
    this.socket.write(clientFrame(opcode, payload));
  }

  send(message: Parameters<typeof encode>[0]): void {
    this.sendFrame(Opcode.Binary, encode(message));
  }

  /** Stops reading from the socket: the kernel buffers fill, then the relay's. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  get open(): boolean {
    return !this.socket.destroyed && this.closeCode === undefined;
  }

  async next<T extends ServerMessage['type']>(type: T, timeoutMs = 5000): Promise<ByType<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((m): m is ByType<T> => m.type === type);
      if (found !== undefined) {
        this.received.splice(this.received.indexOf(found), 1);
        return found;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for 0x${type.toString(16)}`);
      await sleep(10);
    }
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const frame = this.parseFrame();
      if (frame === undefined) return;
      this.onFrame(frame.opcode, frame.payload);
    }
  }

  private parseFrame(): { opcode: number; payload: Buffer } | undefined {
    const b = this.buffer;
    if (b.length < 2) return undefined;
    const opcode = (b[0] as number) & 0x0f;
    let length = (b[1] as number) & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      length = Number(b.readBigUInt64BE(2));
      offset = 10;
    }
    if (b.length < offset + length) return undefined;
    const payload = b.subarray(offset, offset + length);
    this.buffer = b.subarray(offset + length);
    return { opcode, payload };
  }

  private onFrame(opcode: number, payload: Buffer): void {
    switch (opcode) {
      case Opcode.Binary: {
        const decoded = decodeServerMessage(payload);
        if (!decoded.ok) throw new Error(`undecodable server frame: ${decoded.error.message}`);
        const message = decoded.value;
        if (message.type === ServerType.Ping && this.options.appPong === true) {
          this.send({ type: ClientType.Pong, data: { t: message.data.t } });
        }
        this.received.push(message);
        return;
      }
      case Opcode.Ping:
        this.wsPings++;
        if (this.options.wsPong === true) this.sendFrame(Opcode.Pong, payload);
        return;
      case Opcode.Close:
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (!this.socket.destroyed) this.socket.end(clientFrame(Opcode.Close, payload));
        return;
      default:
        throw new Error(`unexpected server opcode ${opcode}`);
    }
  }
}
