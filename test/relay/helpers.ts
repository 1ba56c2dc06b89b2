/**
 * Shared helpers of the relay integration suites: connecting with headers or a negotiated Hello,
 * raw msgpack frames, waiting on received messages without consuming them, metrics scraping, and
 * a pair of bystanders whose room must keep working whatever another test does.
 */
import { encode as encodeRaw } from '@msgpack/msgpack';
import type { ServerMessage } from '@hush/protocol';
import { ClientType, ServerType } from '@hush/protocol';
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { CreateOptions, Seated } from '../support/test-client.js';
import { createIn, TestClient } from '../support/test-client.js';
import { metricsUrlOf } from '../support/relay.js';

export type ByType<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

export interface ConnectOptions {
  /** Features to negotiate with Hello before anything else; undefined sends no Hello. */
  features?: string[];
  autoPong?: boolean;
  /** `Origin` header. */
  origin?: string;
  /** `X-Forwarded-For` header (only trusted from configured proxies). */
  forwardedFor?: string;
}

/** Connects to a relay; with `features`, sends Hello and waits for Welcome. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
  const headers: Record<string, string> = {};
  if (options.origin !== undefined) headers['Origin'] = options.origin;
  if (options.forwardedFor !== undefined) headers['X-Forwarded-For'] = options.forwardedFor;
  const client = await TestClient.connect(url, {
    headers,
    ...(options.autoPong === undefined ? {} : { autoPong: options.autoPong }),
  });
  if (options.features !== undefined) {
    client.send({ type: ClientType.Hello, data: { version: 1, features: options.features } });
    await client.next(ServerType.Welcome);
  }
  return client;
}

export type { CreateOptions, Seated };

/** Sends CreateRoom on an open client and waits for RoomCreated and RoomJoined. */
export const create = createIn;

/** Sends JoinRoom on an open client and waits for RoomJoined. */
export async function join(
  client: TestClient,
  roomId: string,
  name: string,
  password = '',
): Promise<Seated> {
  client.send({ type: ClientType.JoinRoom, data: { roomId, name, password } });
  const joined = await client.next(ServerType.RoomJoined);
  const self = joined.data.members.find((m) => m.name === name.trim());
  if (self === undefined) throw new Error('joiner missing from RoomJoined');
  return { client, roomId, memberId: self.id, joined };
}

/** Connects (with `options`) and creates a room. */
export async function connectAndCreate(
  url: string,
  name: string,
  options: ConnectOptions & CreateOptions = {},
): Promise<Seated> {
  return create(await connect(url, options), name, options);
}

/** Connects (with `options`) and joins a room. */
export async function connectAndJoin(
  url: string,
  roomId: string,
  name: string,
  options: ConnectOptions & { password?: string } = {},
): Promise<Seated> {
  return join(await connect(url, options), roomId, name, options.password);
}

/** Sends JoinRoom and returns the Error it must be answered with. */
export async function joinRefused(
  client: TestClient,
  roomId: string,
  name: string,
  password = '',
): Promise<string> {
  client.send({ type: ClientType.JoinRoom, data: { roomId, name, password } });
  return (await client.next(ServerType.Error)).data.code;
}

/**
 * Waits until `find` returns something for the messages `client` received so far (without
 * consuming them, unlike `next`).
 */
export async function waitFor<T>(
  client: TestClient,
  find: (received: readonly ServerMessage[]) => T | undefined,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find(client.received);
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; got ${describeTypes(client.received)}`);
    }
    await sleep(10);
  }
}

/** Every received message of `type`, in order. */
export function all<T extends ServerMessage['type']>(client: TestClient, type: T): ByType<T>[] {
  return client.received.filter((m): m is ByType<T> => m.type === type);
}

/** Waits until `client` has received `count` messages of `type`, and returns them. */
export function waitForCount<T extends ServerMessage['type']>(
  client: TestClient,
  type: T,
  count: number,
  timeoutMs = 5000,
): Promise<ByType<T>[]> {
  return waitFor(
    client,
    () => {
      const found = all(client, type);
      return found.length >= count ? found : undefined;
    },
    `${count} × 0x${type.toString(16)}`,
    timeoutMs,
  );
}

export function describeTypes(messages: readonly ServerMessage[]): string {
  return messages.map((m) => `0x${m.type.toString(16)}`).join(',') || '(nothing)';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Encodes any value as a msgpack frame, bypassing the typed encoder (hostile input). */
export function rawFrame(value: unknown): Uint8Array {
  return encodeRaw(value);
}

/** The hex SHA-256 of a password, as clients send it. */
export function passwordHash(password: string): string {
  return createHash('sha256').update(password).digest('hex');
}

/** A base64url string of `bytes` random bytes, as Arthas clients send opaque fields. */
export function b64(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export function bin(bytes: number): Uint8Array {
  return new Uint8Array(randomBytes(bytes));
}

/** Compares two opaque fields by form and bytes. */
export function expectSameOpaque(actual: unknown, expected: string | Uint8Array): void {
  if (typeof expected === 'string') {
    expect(actual).toBe(expected);
  } else {
    expect(actual).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(actual as Uint8Array).equals(Buffer.from(expected))).toBe(true);
  }
}

/** GETs `path` on a relay. */
export async function get(baseUrl: string, path: string): Promise<Response> {
  return fetch(new URL(path, baseUrl));
}

/** One sample of a Prometheus text exposition, e.g. `hush_errors_total{code="E003"}`. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (wanted.every((pair) => labelText.includes(pair))) return Number(match[3]);
  }
  return Number.NaN;
}

/** Scrapes the metrics of the test relay serving `baseUrl`. */
export async function scrape(baseUrl: string): Promise<string> {
  const response = await fetch(metricsUrlOf(baseUrl));
  expect(response.status).toBe(200);
  return response.text();
}

/**
 * Two members of a room nobody else touches. `stillChatting()` proves the relay keeps serving
 * them: a fresh message each way arrives with the right sender.
 */
export interface Bystanders {
  stillChatting(): Promise<void>;
  close(): Promise<void>;
}

export async function bystanders(url: string, options: ConnectOptions = {}): Promise<Bystanders> {
  const a = await connectAndCreate(url, 'bystander-a', options);
  const b = await connectAndJoin(url, a.roomId, 'bystander-b', options);
  await a.client.next(ServerType.MemberJoined);
  let round = 0;
  const oneWay = async (from: Seated, to: Seated) => {
    const ciphertext = `round-${++round}-${b64(8)}`;
    from.client.send({ type: ClientType.SendMessage, data: { iv: b64(12), ciphertext } });
    const errorsBefore = from.client.received.filter((m) => m.type === ServerType.Error).length;
    const got = await waitFor(
      to.client,
      (received) => {
        const refused = from.client.received.filter((m) => m.type === ServerType.Error);
        if (refused.length > errorsBefore) {
          throw new Error(`a bystander was refused: ${JSON.stringify(refused.at(-1))}`);
        }
        return received.find(
          (m) => m.type === ServerType.RelayMessage && m.data.ciphertext === ciphertext,
        );
      },
      'a bystander message',
    );
    expect(got).toMatchObject({ data: { senderId: from.memberId } });
  };
  return {
    async stillChatting() {
      await oneWay(a, b);
      await oneWay(b, a);
    },
    async close() {
      await Promise.all([a.client.close(), b.client.close()]);
    },
  };
}

/** Resolves with the close code, or rejects after `timeoutMs`. */
export async function closedWithin(
  client: TestClient,
  timeoutMs: number,
): Promise<{ code: number; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      client.closed,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** True while the socket is open. */
export function isOpen(client: TestClient): boolean {
  return client.socket.readyState === client.socket.OPEN;
}
