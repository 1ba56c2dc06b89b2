import type { RoomKey } from '@hush/crypto';
import { generateRoomKey, openMessage, sealMessage } from '@hush/crypto';
import type { ClientMessage, Member, ServerMessage } from '@hush/protocol';
import { ClientType, decodeClientMessage, encode, ErrorCode, ServerType } from '@hush/protocol';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import type { SessionEnd } from './errors.js';
import type { SessionEvent, SessionOptions } from './session.js';
import { Session } from './session.js';

type ClientOf<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

/** One client connection as the scripted relay sees it. */
class Peer {
  readonly received: ClientMessage[] = [];
  readonly closed: Promise<number>;
  private waiters: (() => void)[] = [];

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const decoded = decodeClientMessage(data);
      if (!decoded.ok) throw new Error(`client sent an invalid frame: ${decoded.error.message}`);
      this.received.push(decoded.value);
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', (code) => resolve(code)));
  }

  send(message: ServerMessage): void {
    this.socket.send(encode(message));
  }

  /** The first message of `type` received (now or later). */
  async next<T extends ClientMessage['type']>(type: T, skip = 0): Promise<ClientOf<T>> {
    return waitFor(() => this.received.filter((m) => m.type === type)[skip] as ClientOf<T>, this);
  }

  count(type: ClientMessage['type']): number {
    return this.received.filter((m) => m.type === type).length;
  }

  onChange(wake: () => void): void {
    this.waiters.push(wake);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** A relay that does only what each test scripts, over real sockets. */
class ScriptedRelay {
  readonly peers: Peer[] = [];
  private waiters: (() => void)[] = [];

  private constructor(private readonly server: WebSocketServer) {
    server.on('connection', (socket) => {
      this.peers.push(new Peer(socket));
      this.waiters.splice(0).forEach((wake) => wake());
    });
  }

  static async start(): Promise<ScriptedRelay> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new ScriptedRelay(server);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/ws`;
  }

  peer(index: number): Promise<Peer> {
    return waitFor(() => this.peers[index], { onChange: (wake) => this.waiters.push(wake) });
  }

  async stop(): Promise<void> {
    for (const peer of this.peers) peer.socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function waitFor<T>(
  probe: () => T | undefined,
  source: { onChange(wake: () => void): void },
  timeoutMs = 3000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('timed out');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(left, 50));
      source.onChange(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

const ROOM = 'V1StGXR8_Z5jdHi6B-myT';
const alice: Member = { id: 'm-alice', name: 'alice', color: '#ff0000' };
const bob: Member = { id: 'm-bob', name: 'bob', color: '#00ff00' };
const carol: Member = { id: 'm-carol', name: 'carol', color: '#0000ff' };

function roomJoined(members: Member[], selfId?: string): ServerMessage {
  return {
    type: ServerType.RoomJoined,
    data: {
      roomId: ROOM,
      members,
      hasPassword: false,
      ephemeral: 0,
      expiresAt: 0,
      ...(selfId === undefined ? {} : { selfId }),
    },
  };
}

let relay: ScriptedRelay;
let sessions: Session[] = [];

afterEach(async () => {
  await Promise.all(sessions.map((s) => s.leave()));
  sessions = [];
  await relay?.stop();
});

async function start(
  options: Partial<SessionOptions> = {},
): Promise<{ session: Session; events: SessionEvent[]; key: RoomKey }> {
  relay = await ScriptedRelay.start();
  const key = options.key ?? (await generateRoomKey());
  const events: SessionEvent[] = [];
  const session = new Session({
    url: relay.url,
    name: 'bob',
    key,
    target: { kind: 'join', roomId: ROOM },
    reconnect: { initialDelayMs: 20, maxDelayMs: 100, giveUpAfterMs: 2000 },
    ...options,
    onEvent: (event) => events.push(event),
  });
  sessions.push(session);
  session.start();
  return { session, events, key };
}

function eventually<T>(probe: () => T | undefined): Promise<T> {
  return waitFor(probe, { onChange: () => undefined });
}

function ofType<T extends SessionEvent['type']>(events: SessionEvent[], type: T) {
  return events.filter((e): e is Extract<SessionEvent, { type: T }> => e.type === type);
}

describe('Session: negotiation and joining', () => {
  it('opens with Hello asking for notices and self-id, then joins with name and no password', async () => {
    await start();
    const peer = await relay.peer(0);
    const hello = await peer.next(ClientType.Hello);
    expect(hello.data).toEqual({
      version: 1,
      features: ['notices', 'self-id'],
      client: 'hush-cli/0.1.0',
    });
    expect(peer.received[0]?.type).toBe(ClientType.Hello);
    const join = await peer.next(ClientType.JoinRoom);
    expect(join.data).toEqual({ roomId: ROOM, name: 'bob', password: '' });
  });

  it('creates a room with the given settings and reports created, then joined with our own member', async () => {
    const { events } = await start({ target: { kind: 'create', ephemeral: 30, expiry: 600 } });
    const peer = await relay.peer(0);
    const create = await peer.next(ClientType.CreateRoom);
    expect(create.data).toEqual({ name: 'bob', password: '', ephemeral: 30, expiry: 600 });
    peer.send({ type: ServerType.RoomCreated, data: { roomId: ROOM, expiresAt: 1234 } });
    peer.send(roomJoined([bob], bob.id));
    const joined = await eventually(() => ofType(events, 'joined')[0]);
    expect(ofType(events, 'created')).toEqual([{ type: 'created', roomId: ROOM, expiresAt: 1234 }]);
    expect(joined.self).toEqual(bob);
    expect(joined.rejoin).toBe(false);
  });

  it('finds itself by nickname when the relay does not send selfId', async () => {
    const { session } = await start();
    const peer = await relay.peer(0);
    peer.send(roomJoined([alice, { ...bob, name: 'BOB' }]));
    await eventually(() => (session.inRoom ? true : undefined));
    expect(session.self()?.id).toBe(bob.id);
  });

  it('answers Ping with a Pong carrying the same t', async () => {
    await start();
    const peer = await relay.peer(0);
    peer.send({ type: ServerType.Ping, data: { t: 1_700_000_000_123 } });
    const pong = await peer.next(ClientType.Pong);
    expect(pong.data).toEqual({ t: 1_700_000_000_123 });
  });

  it('asks for a password after E006 and retries the join with its SHA-256 on the same connection', async () => {
    const asked: number[] = [];
    await start({
      askPassword: async (attempt) => {
        asked.push(attempt);
        return 'abc';
      },
    });
    const peer = await relay.peer(0);
    await peer.next(ClientType.JoinRoom);
    peer.send({ type: ServerType.Error, data: { code: ErrorCode.WrongPassword, msg: 'wrong' } });
    const retry = await peer.next(ClientType.JoinRoom, 1);
    expect(retry.data.password).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(asked).toEqual([1]);
    expect(relay.peers).toHaveLength(1);
  });

  it('ends refused on E006 when nobody can be asked for a password', async () => {
    const { session } = await start();
    const peer = await relay.peer(0);
    await peer.next(ClientType.JoinRoom);
    peer.send({ type: ServerType.Error, data: { code: ErrorCode.WrongPassword, msg: 'wrong' } });
    expect(await session.done).toEqual<SessionEnd>({
      kind: 'refused',
      code: ErrorCode.WrongPassword,
      rejoin: false,
    });
    expect(await peer.closed).toBe(1000);
  });

  it('ends refused with E001 for an unknown room', async () => {
    const { session } = await start();
    const peer = await relay.peer(0);
    await peer.next(ClientType.JoinRoom);
    peer.send({ type: ServerType.Error, data: { code: ErrorCode.RoomNotFound, msg: 'nope' } });
    expect(await session.done).toEqual({
      kind: 'refused',
      code: ErrorCode.RoomNotFound,
      rejoin: false,
    });
  });

  it('ends unreachable when the first connection cannot be made', async () => {
    relay = await ScriptedRelay.start();
    const url = relay.url;
    await relay.stop();
    const session = new Session({
      url,
      name: 'bob',
      key: await generateRoomKey(),
      target: { kind: 'join', roomId: ROOM },
      onEvent: () => undefined,
    });
    session.start();
    const end = await session.done;
    expect(end.kind).toBe('unreachable');
    expect(end.kind === 'unreachable' && end.detail).toMatch(/ECONNREFUSED/);
  });
});

describe('Session: messages', () => {
  it('queues messages until joined, then sends them sealed as base64url that openMessage reads', async () => {
    const { session, key } = await start();
    const id = session.send('hello world');
    expect(session.pending).toBe(1);
    const peer = await relay.peer(0);
    await peer.next(ClientType.JoinRoom);
    expect(peer.count(ClientType.SendMessage)).toBe(0);
    peer.send(roomJoined([alice, bob], bob.id));
    const sent = await peer.next(ClientType.SendMessage);
    expect(typeof sent.data.iv).toBe('string');
    expect(typeof sent.data.ciphertext).toBe('string');
    expect(await openMessage(key, sent.data)).toEqual({ text: 'hello world', id });
    await session.drained();
    expect(session.pending).toBe(0);
  });

  it('decrypts relayed messages and names the sender as the relay does, coloured from the roster', async () => {
    const { events, key } = await start();
    const peer = await relay.peer(0);
    peer.send(roomJoined([alice, bob], bob.id));
    const sealed = await sealMessage(key, { text: 'hi bob', id: 'msg-1' });
    peer.send({
      type: ServerType.RelayMessage,
      data: { senderId: alice.id, senderName: 'alice', t: 99, ...sealed },
    });
    const message = await eventually(() => ofType(events, 'message')[0]);
    expect(message).toEqual({ type: 'message', from: alice, text: 'hi bob', id: 'msg-1', t: 99 });
  });

  it('reports messages under another key as undecryptable, flagging the first from each sender', async () => {
    const { events } = await start();
    const peer = await relay.peer(0);
    peer.send(roomJoined([alice, bob], bob.id));
    const other = await generateRoomKey();
    for (let i = 0; i < 2; i += 1) {
      const sealed = await sealMessage(other, { text: 'secret' });
      peer.send({
        type: ServerType.RelayMessage,
        data: { senderId: alice.id, senderName: 'alice', t: i, ...sealed },
      });
    }
    await eventually(() => (ofType(events, 'undecryptable').length === 2 ? true : undefined));
    expect(ofType(events, 'undecryptable').map((e) => e.firstFromSender)).toEqual([true, false]);
    expect(ofType(events, 'message')).toEqual([]);
  });

  it('keeps the order of events although decryption is asynchronous', async () => {
    const { events, key } = await start();
    const peer = await relay.peer(0);
    peer.send(roomJoined([alice, bob], bob.id));
    for (let i = 0; i < 20; i += 1) {
      const sealed = await sealMessage(key, { text: `m${i}` });
      peer.send({
        type: ServerType.RelayMessage,
        data: { senderId: alice.id, senderName: 'alice', t: i, ...sealed },
      });
      if (i === 10) peer.send({ type: ServerType.MemberJoined, data: carol });
    }
    await eventually(() => (ofType(events, 'message').length === 20 ? true : undefined));
    const order = events
      .filter((e) => e.type === 'message' || e.type === 'member-joined')
      .map((e) => (e.type === 'message' ? e.text : 'carol'));
    expect(order).toEqual([
      ...Array.from({ length: 11 }, (_, i) => `m${i}`),
      'carol',
      ...Array.from({ length: 9 }, (_, i) => `m${i + 11}`),
    ]);
  });

  it('paces a burst to the chat budget the relay announced in Welcome', async () => {
    const { session } = await start();
    const peer = await relay.peer(0);
    peer.send({
      type: ServerType.Welcome,
      data: {
        version: 1,
        features: ['notices', 'self-id'],
        limits: {
          maxFrameBytes: 102400,
          maxRoomMembers: 50,
          nameMaxCodePoints: 20,
          maxExpirySeconds: 604800,
          chatPerWindow: 2,
          windowMs: 300,
        },
      },
    });
    peer.send(roomJoined([bob], bob.id));
    const started = Date.now();
    for (let i = 0; i < 4; i += 1) session.send(`m${i}`);
    await session.drained();
    // One at once, then one every 300 / 2 / 0.9 ≈ 167 ms: at least 3 × 150 ms for the rest.
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    await peer.next(ClientType.SendMessage, 3);
    expect(peer.count(ClientType.SendMessage)).toBe(4);
  });

  it('reports a rate-limit error in the room without ending the session', async () => {
    const { session, events } = await start();
    const peer = await relay.peer(0);
    peer.send(roomJoined([bob], bob.id));
    peer.send({ type: ServerType.Error, data: { code: ErrorCode.RateLimited, msg: 'slow' } });
    await eventually(() => ofType(events, 'server-error')[0]);
    expect(ofType(events, 'server-error')).toEqual([
      { type: 'server-error', code: ErrorCode.RateLimited, retrying: false },
    ]);
    expect(session.inRoom).toBe(true);
  });

  it('leaves with LeaveRoom and a 1000 close', async () => {
    const { session } = await start();
    const peer = await relay.peer(0);
    peer.send(roomJoined([bob], bob.id));
    await eventually(() => (session.inRoom ? true : undefined));
    const end = await session.leave();
    expect(end).toEqual({ kind: 'left' });
    expect(await peer.closed).toBe(1000);
    expect(peer.received.at(-1)?.type).toBe(ClientType.LeaveRoom);
  });

  it('ends with room-closed on RoomClosed', async () => {
    const { session } = await start();
    const peer = await relay.peer(0);
    peer.send(roomJoined([bob], bob.id));
    peer.send({ type: ServerType.RoomClosed, data: { reason: 'expired' } });
    expect(await session.done).toEqual({ kind: 'room-closed', reason: 'expired' });
  });
});

describe('Session: reconnecting', () => {
  it('reconnects after the socket drops, rejoins the room, reports what changed, and sends what was queued', async () => {
    const { session, events, key } = await start();
    const first = await relay.peer(0);
    first.send(roomJoined([alice, bob, carol], bob.id));
    await eventually(() => (session.inRoom ? true : undefined));
    first.socket.terminate();
    await eventually(() => ofType(events, 'disconnected')[0]);
    session.send('while away');

    const second = await relay.peer(1);
    const hello = await second.next(ClientType.Hello);
    expect(hello.data.features).toEqual(['notices', 'self-id']);
    const rejoin = await second.next(ClientType.JoinRoom);
    expect(rejoin.data).toEqual({ roomId: ROOM, name: 'bob', password: '' });
    const newBob = { ...bob, id: 'm-bob-2' };
    const dave = { id: 'm-dave', name: 'dave', color: '#123456' };
    second.send(roomJoined([alice, newBob, dave], newBob.id));

    const sent = await second.next(ClientType.SendMessage);
    expect((await openMessage(key, sent.data)).text).toBe('while away');
    const joined = ofType(events, 'joined');
    expect(joined.map((e) => e.rejoin)).toEqual([false, true]);
    expect(ofType(events, 'member-left').map((e) => e.member.name)).toEqual(['carol']);
    expect(ofType(events, 'member-joined').map((e) => e.member.name)).toEqual(['dave']);
  });

  it('retries a rejoin refused with E020 while the relay still holds our old seat', async () => {
    const { session, events } = await start();
    const first = await relay.peer(0);
    first.send(roomJoined([bob], bob.id));
    await eventually(() => (session.inRoom ? true : undefined));
    first.socket.terminate();
    const second = await relay.peer(1);
    await second.next(ClientType.JoinRoom);
    second.send({ type: ServerType.Error, data: { code: ErrorCode.NameTaken, msg: 'taken' } });
    const third = await relay.peer(2);
    await third.next(ClientType.JoinRoom);
    third.send(roomJoined([{ ...bob, id: 'm-bob-3' }], 'm-bob-3'));
    await eventually(() => (ofType(events, 'joined').length === 2 ? true : undefined));
    expect(ofType(events, 'server-error')).toEqual([
      { type: 'server-error', code: ErrorCode.NameTaken, retrying: true },
    ]);
  });

  it('ends refused with rejoin set when the room is gone by the time it reconnects', async () => {
    const { session } = await start();
    const first = await relay.peer(0);
    first.send(roomJoined([bob], bob.id));
    await eventually(() => (session.inRoom ? true : undefined));
    first.socket.terminate();
    const second = await relay.peer(1);
    await second.next(ClientType.JoinRoom);
    second.send({ type: ServerType.Error, data: { code: ErrorCode.RoomNotFound, msg: 'gone' } });
    expect(await session.done).toEqual({
      kind: 'refused',
      code: ErrorCode.RoomNotFound,
      rejoin: true,
    });
  });

  it('waits as long as a drain notice asks before reconnecting', async () => {
    const { session, events } = await start();
    const first = await relay.peer(0);
    first.send(roomJoined([bob], bob.id));
    await eventually(() => (session.inRoom ? true : undefined));
    first.send({
      type: ServerType.Notice,
      data: { kind: 'drain', msg: 'restarting', retryAfterMs: 300 },
    });
    await eventually(() => ofType(events, 'notice')[0]);
    first.socket.close(1001, 'server shutting down');
    const disconnected = await eventually(() => ofType(events, 'disconnected')[0]);
    expect(disconnected).toEqual({
      type: 'disconnected',
      code: 1001,
      reason: 'server shutting down',
      retryInMs: 300,
    });
    await relay.peer(1);
  });

  it('gives up after the reconnect budget and ends unreachable', async () => {
    const { session } = await start({
      reconnect: { initialDelayMs: 20, maxDelayMs: 50, giveUpAfterMs: 300 },
    });
    const first = await relay.peer(0);
    first.send(roomJoined([bob], bob.id));
    await eventually(() => (session.inRoom ? true : undefined));
    await relay.stop();
    const end = await session.done;
    expect(end.kind).toBe('unreachable');
    expect(end.kind === 'unreachable' && end.rejoin).toBe(true);
  });
});
