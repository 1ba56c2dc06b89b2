import type { ClientMessage, ServerMessage } from '@hush/protocol';
import { ClientType, decodeServerMessage, encode, ServerType } from '@hush/protocol';
import { WebSocket } from 'ws';

type ByType<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

export interface Closed {
  code: number;
  reason: string;
}

/**
 * A raw protocol client for tests: real WebSocket, real msgpack. It records every server message
 * in order and lets a test wait for the next one of a given type. It answers Ping with Pong
 * unless told not to (to test liveness).
 */
export class TestClient {
  readonly received: ServerMessage[] = [];
  readonly closed: Promise<Closed>;
  private cursor = 0;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly socket: WebSocket,
    private readonly autoPong: boolean,
  ) {
    socket.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) throw new Error('the relay sent a text frame');
      const decoded = decodeServerMessage(data);
      if (!decoded.ok) throw new Error(`undecodable server frame: ${decoded.error.message}`);
      const message = decoded.value;
      if (message.type === ServerType.Ping && this.autoPong) {
        this.send({ type: ClientType.Pong, data: { t: message.data.t } });
      }
      this.received.push(message);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      }),
    );
  }

  /** Opens a connection to `url` (http(s)://host:port of a relay, or a ws(s):// URL). */
  static async connect(
    url: string,
    options: { autoPong?: boolean; headers?: Record<string, string> } = {},
  ): Promise<TestClient> {
    const target = url.startsWith('ws') ? url : `${url.replace(/^http/, 'ws')}/ws`;
    const socket = new WebSocket(target, {
      headers: options.headers,
      // ws answers WebSocket-level pings itself; a client that "never pongs" must not.
      autoPong: options.autoPong ?? true,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) =>
        reject(new Error(`upgrade refused: ${response.statusCode}`)),
      );
    });
    return new TestClient(socket, options.autoPong ?? true);
  }

  send(message: ClientMessage): void {
    this.socket.send(encode(message));
  }

  /** Sends raw bytes or text, for hostile-input tests. */
  sendRaw(data: Uint8Array | string): void {
    this.socket.send(data);
  }

  /**
   * Resolves with the next message of `type` after the ones already consumed, skipping others
   * (Pings are always skipped unless asked for). Rejects after `timeoutMs`.
   */
  async next<T extends ServerMessage['type']>(type: T, timeoutMs = 5000): Promise<ByType<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.received.length) {
        const message = this.received[this.cursor++] as ServerMessage;
        if (message.type === type) return message as ByType<T>;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out waiting for type 0x${type.toString(16)}; got ${this.received
            .map((m) => `0x${m.type.toString(16)}`)
            .join(',')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Messages received so far that are not Pings, in order. */
  messages(): ServerMessage[] {
    return this.received.filter((m) => m.type !== ServerType.Ping);
  }

  /** Waits `ms`, then returns the non-Ping messages of `type` received so far. */
  async quietFor<T extends ServerMessage['type']>(ms: number, type: T): Promise<ByType<T>[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.received.filter((m): m is ByType<T> => m.type === type);
  }

  async close(): Promise<Closed> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000);
    return this.closed;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((wake) => wake());
  }
}

export interface CreateOptions {
  password?: string;
  ephemeral?: number;
  expiry?: number;
}

/** A member seated in a room: its client, the room id, its member id and its RoomJoined. */
export interface Seated {
  client: TestClient;
  roomId: string;
  memberId: string;
  joined: ByType<typeof ServerType.RoomJoined>;
}

/** Creates a room with an open client: sends CreateRoom, waits for RoomCreated and RoomJoined. */
export async function createIn(
  client: TestClient,
  name: string,
  options: CreateOptions = {},
): Promise<Seated> {
  client.send({
    type: ClientType.CreateRoom,
    data: {
      name,
      password: options.password ?? '',
      ephemeral: options.ephemeral ?? 0,
      expiry: options.expiry ?? 0,
    },
  });
  const created = await client.next(ServerType.RoomCreated);
  const joined = await client.next(ServerType.RoomJoined);
  const self = joined.data.members.find((m) => m.name === name.trim());
  if (self === undefined) throw new Error('creator missing from RoomJoined');
  return { client, roomId: created.data.roomId, memberId: self.id, joined };
}

/** Connects and creates a room. */
export async function createRoom(
  url: string,
  name: string,
  options: CreateOptions = {},
): Promise<Seated> {
  return createIn(await TestClient.connect(url), name, options);
}

/** Joins a room and returns the client and its RoomJoined message. */
export async function joinRoom(
  url: string,
  roomId: string,
  name: string,
  password = '',
): Promise<{ client: TestClient; joined: ByType<typeof ServerType.RoomJoined> }> {
  const client = await TestClient.connect(url);
  client.send({ type: ClientType.JoinRoom, data: { roomId, name, password } });
  const joined = await client.next(ServerType.RoomJoined);
  return { client, joined };
}
