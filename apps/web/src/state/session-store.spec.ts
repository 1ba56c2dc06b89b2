import { exportRoomKey, generateRoomKey, hashRoomPassword, parseShareCode } from '@hush/crypto';
import type { Member, ServerMessage } from '@hush/protocol';
import { ClientType, ErrorCode, NoticeKind, PROTOCOL_VERSION, ServerType } from '@hush/protocol';
import { describe, expect, it, vi } from 'vitest';
import type { FakeSocket } from '../testing/fake-socket.js';
import { FakeSockets } from '../testing/fake-socket.js';
import { ManualTimers } from '../testing/manual-timers.js';
import type { ChatEntry } from './room-store.js';
import {
  CONNECT_TIMEOUT_MS,
  DEAD_AFTER_MS,
  REJOIN_GRACE_MS,
  Session,
  TYPING_IDLE_MS,
  TYPING_REFRESH_MS,
} from './session-store.js';

const roomId = 'V1StGXR8_Z5jdHi6B-myT';
const ana: Member = { id: 'm-ana', name: 'Ana', color: '#3b82f6' };
const ben: Member = { id: 'm-ben', name: 'Ben', color: '#e11d48' };

function setup(random = () => 0.5) {
  const timers = new ManualTimers();
  const sockets = new FakeSockets();
  const session = new Session({
    url: 'ws://relay.test/ws',
    linkBase: 'https://hush.test/',
    connect: sockets.connect,
    timers,
    random,
  });
  return { timers, sockets, session };
}

function welcome(limits: { chatPerWindow?: number; windowMs?: number } = {}): ServerMessage {
  return {
    type: ServerType.Welcome,
    data: {
      version: PROTOCOL_VERSION,
      features: ['notices', 'self-id'],
      limits: {
        maxFrameBytes: 102_400,
        maxRoomMembers: 50,
        nameMaxCodePoints: 20,
        maxExpirySeconds: 604_800,
        chatPerWindow: 10,
        windowMs: 10_000,
        ...limits,
      },
    },
  };
}

function roomJoined(selfId: string, members: Member[], ephemeral = 0): ServerMessage {
  return {
    type: ServerType.RoomJoined,
    data: { roomId, members, hasPassword: false, ephemeral, expiresAt: 0, selfId },
  };
}

const error = (code: ErrorCode): ServerMessage => ({
  type: ServerType.Error,
  data: { code, msg: 'refused' },
});

/** Ana creates a room; the fake relay admits her. */
async function anaInRoom(options: { random?: () => number; ephemeral?: number } = {}) {
  const context = setup(options.random);
  await context.session.create({
    name: 'Ana',
    password: '',
    ephemeral: options.ephemeral ?? 0,
    expiry: 3_600,
  });
  const socket = context.sockets.last;
  socket.accept();
  socket.deliver(welcome());
  socket.deliver({ type: ServerType.RoomCreated, data: { roomId, expiresAt: 0 } });
  socket.deliver(roomJoined(ana.id, [ana], options.ephemeral ?? 0));
  return { ...context, socket };
}

/** Ben joins with a share code; the fake relay admits him next to Ana. */
async function benJoins(code: string) {
  const context = setup();
  await context.session.join({ name: 'Ben', password: '', code: parseShareCode(code) });
  const socket = context.sockets.last;
  socket.accept();
  socket.deliver(welcome());
  socket.deliver(roomJoined(ben.id, [ana, ben]));
  return { ...context, socket };
}

const chat = (session: Session) =>
  session.room.state.entries.filter((e): e is ChatEntry => e.kind === 'message');

/** Passes a SendMessage of `from` on to `to` as the relay would. */
function relay(from: FakeSocket, to: FakeSocket, sender: Member, index = -1): void {
  const sent = from.sentOfType(ClientType.SendMessage).at(index);
  if (sent === undefined) throw new Error('nothing was sent');
  to.deliver({
    type: ServerType.RelayMessage,
    data: { senderId: sender.id, senderName: sender.name, t: 1_700_000_000_000, ...sent.data },
  });
}

describe('Session: creating and joining', () => {
  it('negotiates with Hello first, then creates the room with the hashed password', async () => {
    const { session, sockets } = setup();
    await session.create({ name: ' Ana ', password: 'hunter2', ephemeral: 30, expiry: 86_400 });
    expect(session.state.status).toBe('connecting');
    const socket = sockets.last;
    expect(socket.url).toBe('ws://relay.test/ws');
    socket.accept();
    expect(session.state.status).toBe('joining');
    expect(socket.sent).toEqual([
      {
        type: ClientType.Hello,
        data: {
          version: PROTOCOL_VERSION,
          features: ['notices', 'self-id'],
          client: 'hush-web/0.1.0',
        },
      },
      {
        type: ClientType.CreateRoom,
        data: {
          name: 'Ana',
          password: await hashRoomPassword('hunter2'),
          ephemeral: 30,
          expiry: 86_400,
        },
      },
    ]);
  });

  it('enters the room with a share code, a join link and the key fingerprint', async () => {
    const { session } = await anaInRoom();
    expect(session.state).toMatchObject({ status: 'online', entered: true, name: 'Ana' });
    expect(session.room.state.selfId).toBe(ana.id);
    const share = session.state.share;
    expect(share).toBeDefined();
    const code = parseShareCode(share?.code ?? '');
    expect(code.roomId).toBe(roomId);
    expect(share?.link).toBe(`https://hush.test/#/join/${share?.code}`);
    await vi.waitFor(() =>
      expect(session.state.fingerprint).toMatch(/^([0-9A-F]{4} ){7}[0-9A-F]{4}$/),
    );
  });

  it('refuses a nickname the relay would refuse, without connecting', async () => {
    const { session, sockets } = setup();
    expect(await session.create({ name: '   ', password: '', ephemeral: 0, expiry: 0 })).toBe(
      false,
    );
    expect(session.state.joinError?.kind).toBe('invalid-name');
    expect(sockets.all).toHaveLength(0);
  });

  it.each([
    [ErrorCode.WrongPassword, 'wrong-password'],
    [ErrorCode.RoomFull, 'room-full'],
    [ErrorCode.NameTaken, 'name-taken'],
    [ErrorCode.RoomNotFound, 'room-not-found'],
    [ErrorCode.RoomExpired, 'room-expired'],
    [ErrorCode.LockedOut, 'locked-out'],
  ] as const)('gives up joining on %s and says why (%s)', async (code, kind) => {
    const { session, sockets } = setup();
    const key = exportRoomKey(await generateRoomKey());
    await session.join({ name: 'Ben', password: 'nope', code: { roomId, key } });
    const socket = sockets.last;
    socket.accept();
    expect(socket.sentOfType(ClientType.JoinRoom)[0]?.data).toEqual({
      roomId,
      name: 'Ben',
      password: await hashRoomPassword('nope'),
    });
    socket.deliver(error(code));
    expect(session.state).toMatchObject({ status: 'idle', entered: false });
    expect(session.state.joinError?.kind).toBe(kind);
    expect(socket.closedWith).toBe(1000);
  });

  it('retries a join the relay could not serve right now', async () => {
    const { session, sockets, timers } = setup();
    await session.join({
      name: 'Ben',
      password: '',
      code: { roomId, key: exportRoomKey(await generateRoomKey()) },
    });
    sockets.last.accept();
    sockets.last.deliver(error(ErrorCode.Unavailable));
    expect(session.state.status).toBe('waiting');
    timers.advance(timers.nextDelay() ?? 0);
    expect(sockets.all).toHaveLength(2);
  });

  it('leaves: says so to the relay, closes the socket and forgets the key', async () => {
    const { session, socket } = await anaInRoom();
    session.leave();
    expect(socket.sent.at(-1)).toEqual({ type: ClientType.LeaveRoom, data: {} });
    expect(socket.closedWith).toBe(1000);
    expect(session.state).toMatchObject({ status: 'idle', entered: false });
    expect(session.state.share).toBeUndefined();
    expect(session.state.fingerprint).toBeUndefined();
    expect(session.room.state.entries).toEqual([]);
  });
});

describe('Session: encryption', () => {
  it('a message sealed by one session opens in another that holds the same key', async () => {
    const a = await anaInRoom();
    const b = await benJoins(a.session.state.share?.code ?? '');
    expect(a.session.send('hello Ben')).toBe('queued');
    await vi.waitFor(() => expect(a.socket.sentOfType(ClientType.SendMessage)).toHaveLength(1));
    const sent = a.socket.sentOfType(ClientType.SendMessage)[0];
    // Arthas mode: base64url strings on the wire, never the plaintext.
    expect(typeof sent?.data.iv).toBe('string');
    expect(typeof sent?.data.ciphertext).toBe('string');
    expect(JSON.stringify(sent)).not.toContain('hello Ben');

    relay(a.socket, b.socket, ana);
    await vi.waitFor(() =>
      expect(chat(b.session)).toEqual([
        expect.objectContaining({
          own: false,
          senderName: 'Ana',
          text: 'hello Ben',
          status: 'received',
        }),
      ]),
    );
    expect(chat(b.session)[0]?.id).toBe(chat(a.session)[0]?.id);
    await vi.waitFor(() => expect(b.session.state.fingerprint).toBe(a.session.state.fingerprint));
  });

  it('a member holding a different key for the same room sees "undecryptable"', async () => {
    const a = await anaInRoom();
    const wrongKey = exportRoomKey(await generateRoomKey());
    const c = await benJoins(`${roomId}:${wrongKey}`);
    a.session.send('not for you');
    await vi.waitFor(() => expect(a.socket.sentOfType(ClientType.SendMessage)).toHaveLength(1));
    relay(a.socket, c.socket, ana);
    await vi.waitFor(() =>
      expect(chat(c.session).map((m) => [m.status, m.text])).toEqual([
        ['undecryptable', undefined],
      ]),
    );
    expect(c.session.state.status).toBe('online');
    await vi.waitFor(() => expect(c.session.state.fingerprint).toBeDefined());
    expect(c.session.state.fingerprint).not.toBe(a.session.state.fingerprint);
  });
});

describe('Session: reconnecting', () => {
  it('reconnects with growing, jittered, capped delays while the relay is unreachable', async () => {
    const { session, socket, sockets, timers } = await anaInRoom({ random: () => 0 });
    socket.drop();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 7; attempt += 1) {
      expect(session.state.status).toBe('waiting');
      const delay = (session.state.retryAt ?? 0) - timers.now();
      delays.push(delay);
      timers.advance(delay);
      expect(session.state.status).toBe('connecting');
      sockets.last.drop();
    }
    // random() = 0 gives the lower bound: half of 0.5 s, 1 s, 2 s … capped at 10 s.
    expect(delays).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000, 5_000]);
    expect(sockets.all).toHaveLength(8);
  });

  it('rejoins the same room after a drop and resets the backoff', async () => {
    const { session, socket, sockets, timers } = await anaInRoom();
    socket.drop();
    expect(session.state).toMatchObject({ status: 'waiting', dropReason: 'lost', entered: true });
    timers.advance(session.state.retryAt! - timers.now());
    const second = sockets.last;
    second.accept();
    expect(second.sent.map((m) => m.type)).toEqual([ClientType.Hello, ClientType.JoinRoom]);
    expect(second.sentOfType(ClientType.JoinRoom)[0]?.data).toMatchObject({ roomId, name: 'Ana' });
    second.deliver(roomJoined('m-ana-2', [{ ...ana, id: 'm-ana-2' }]));
    expect(session.state.status).toBe('online');
    expect(session.room.state.selfId).toBe('m-ana-2');
    second.drop();
    expect(session.state.retryAt! - timers.now()).toBeLessThanOrEqual(500);
  });

  it('keeps messages typed offline and sends them, in order, after the rejoin', async () => {
    const { session, socket, sockets, timers } = await anaInRoom();
    socket.drop();
    expect(session.send('first while offline')).toBe('queued');
    expect(session.send('second while offline')).toBe('queued');
    expect(chat(session).map((m) => [m.text, m.status])).toEqual([
      ['first while offline', 'queued'],
      ['second while offline', 'queued'],
    ]);
    expect(session.state.queued).toBe(2);

    timers.advance(session.state.retryAt! - timers.now());
    const second = sockets.last;
    second.accept();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(second.sentOfType(ClientType.SendMessage)).toHaveLength(0);
    second.deliver(roomJoined('m-ana-2', [{ ...ana, id: 'm-ana-2' }, ben]));

    await vi.waitFor(() => expect(second.sentOfType(ClientType.SendMessage)).toHaveLength(2));
    expect(chat(session).map((m) => m.status)).toEqual(['sent', 'sent']);
    expect(session.state.queued).toBe(0);
    const b = await benJoins(session.state.share!.code);
    relay(second, b.socket, ana, 0);
    relay(second, b.socket, ana, 1);
    await vi.waitFor(() =>
      expect(chat(b.session).map((m) => m.text)).toEqual([
        'first while offline',
        'second while offline',
      ]),
    );
  });

  it('marks queued messages as not sent when the room is gone after a reconnect', async () => {
    const { session, socket, sockets, timers } = await anaInRoom();
    socket.drop();
    session.send('typed while the relay restarted');
    timers.advance(session.state.retryAt! - timers.now());
    sockets.last.accept();
    sockets.last.deliver(error(ErrorCode.RoomNotFound));
    expect(session.state.status).toBe('closed');
    expect(session.state.ended?.kind).toBe('room-gone');
    expect(session.state.ended?.text).toMatch(/no longer exists/);
    expect(chat(session).map((m) => m.status)).toEqual(['unsent']);
    // No more attempts: the room id is dead.
    expect(timers.nextDelay()).toBeUndefined();
    expect(sockets.all).toHaveLength(2);
  });

  it('retries a rejoin while the relay still holds our old seat, then gives up', async () => {
    const { session, socket, sockets, timers } = await anaInRoom();
    socket.drop();
    let attempts = 0;
    while (session.state.status === 'waiting') {
      timers.advance(session.state.retryAt! - timers.now());
      sockets.last.accept();
      sockets.last.deliver(error(ErrorCode.NameTaken));
      attempts += 1;
    }
    expect(attempts).toBeGreaterThan(3);
    expect(session.state.ended?.kind).toBe('name-taken');
    expect(timers.now()).toBeGreaterThan(1_735_732_800_000 + REJOIN_GRACE_MS);
  });

  it('follows a drain notice: waits retryAfterMs plus jitter, then rejoins', async () => {
    const { session, socket, sockets, timers } = await anaInRoom({ random: () => 0.25 });
    socket.deliver({
      type: ServerType.Notice,
      data: { kind: NoticeKind.Drain, msg: 'restarting', retryAfterMs: 2_000 },
    });
    socket.drop(1001);
    expect(session.state).toMatchObject({ status: 'waiting', dropReason: 'drain' });
    expect(session.state.retryAt! - timers.now()).toBe(2_250);
    timers.advance(2_249);
    expect(sockets.all).toHaveLength(1);
    timers.advance(1);
    expect(sockets.all).toHaveLength(2);
  });

  it('gives up on a connection that stays silent, and one that never opens', async () => {
    const { session, socket, sockets, timers } = await anaInRoom();
    timers.advance(DEAD_AFTER_MS - 1);
    socket.deliver({ type: ServerType.Ping, data: { t: 1_700_000_000_000 } });
    expect(socket.sent.at(-1)).toEqual({ type: ClientType.Pong, data: { t: 1_700_000_000_000 } });
    timers.advance(DEAD_AFTER_MS - 1);
    expect(session.state.status).toBe('online');
    timers.advance(1);
    expect(socket.closedWith).toBe(4000);
    expect(session.state.status).toBe('waiting');
    timers.advance(session.state.retryAt! - timers.now());
    expect(sockets.all).toHaveLength(2);
    timers.advance(CONNECT_TIMEOUT_MS);
    expect(sockets.all[1]?.closedWith).toBe(4000);
    expect(session.state.status).toBe('waiting');
  });

  it('retries at once when asked to', async () => {
    const { session, socket, sockets } = await anaInRoom();
    socket.drop();
    session.retryNow();
    expect(sockets.all).toHaveLength(2);
    expect(session.state.status).toBe('connecting');
  });

  it('ends the room on RoomClosed(expired) and stops reconnecting', async () => {
    const { session, socket, timers } = await anaInRoom();
    socket.deliver({ type: ServerType.RoomClosed, data: { reason: 'expired' } });
    expect(session.state.status).toBe('closed');
    expect(session.state.ended?.kind).toBe('room-expired');
    expect(session.send('too late')).toBe('not-in-room');
    expect(timers.nextDelay()).toBeUndefined();
  });
});

describe('Session: sending', () => {
  it('stays within the relay chat limit by holding messages back, not by losing them', async () => {
    const { session, socket, timers } = await anaInRoom();
    socket.deliver(welcome({ chatPerWindow: 2, windowMs: 1_000 }));
    for (const text of ['one', 'two', 'three']) session.send(text);
    await vi.waitFor(() => expect(socket.sentOfType(ClientType.SendMessage)).toHaveLength(2));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(socket.sentOfType(ClientType.SendMessage)).toHaveLength(2);
    expect(chat(session).map((m) => m.status)).toEqual(['sent', 'sent', 'queued']);
    timers.advance(1_250);
    await vi.waitFor(() => expect(socket.sentOfType(ClientType.SendMessage)).toHaveLength(3));
  });

  it('refuses empty and over-long messages', async () => {
    const { session } = await anaInRoom();
    expect(session.send('   ')).toBe('empty');
    expect(session.send('x'.repeat(4_001))).toBe('too-long');
    expect(session.send('😀'.repeat(4_000))).toBe('queued');
  });

  it('shows a rate-limit refusal as a notice that goes away by itself', async () => {
    const { session, socket, timers } = await anaInRoom();
    socket.deliver(error(ErrorCode.RateLimited));
    expect(session.state.notices).toEqual([
      expect.objectContaining({ tone: 'warning', text: expect.stringMatching(/too fast/) }),
    ]);
    timers.advance(10_000);
    expect(session.state.notices).toEqual([]);
  });
});

describe('Session: typing', () => {
  it('announces typing at most every few seconds and its end after a pause', async () => {
    const { session, socket, timers } = await anaInRoom();
    const typing = () => socket.sentOfType(ClientType.Typing).map((m) => m.data.typing);
    // A keystroke every second for four seconds.
    for (let second = 0; second <= 4; second += 1) {
      session.inputChanged('hello'.slice(0, second + 1));
      if (second < 4) timers.advance(1_000);
    }
    expect(TYPING_REFRESH_MS).toBe(3_000);
    expect(typing()).toEqual([true, true]);
    timers.advance(TYPING_IDLE_MS - 1);
    expect(typing()).toEqual([true, true]);
    timers.advance(1);
    expect(typing()).toEqual([true, true, false]);
    timers.advance(60_000);
    expect(typing()).toEqual([true, true, false]);
  });

  it('stops typing when the message is sent or the input is cleared', async () => {
    const { session, socket } = await anaInRoom();
    const typing = () => socket.sentOfType(ClientType.Typing).map((m) => m.data.typing);
    session.inputChanged('hi');
    session.send('hi');
    expect(typing()).toEqual([true, false]);
    session.inputChanged('x');
    session.inputChanged('');
    expect(typing()).toEqual([true, false, true, false]);
  });

  it('shows who else is typing, and forgets it when the connection drops', async () => {
    const { session, socket } = await anaInRoom();
    socket.deliver({ type: ServerType.MemberJoined, data: ben });
    socket.deliver({ type: ServerType.MemberTyping, data: { id: ben.id, typing: true } });
    expect(session.room.state.typing).toEqual([ben.id]);
    socket.drop();
    expect(session.room.state.typing).toEqual([]);
  });
});

describe('Session: notices', () => {
  it('warns that the room is about to close, until dismissed', async () => {
    const { session, socket, timers } = await anaInRoom();
    socket.deliver({
      type: ServerType.Notice,
      data: {
        kind: NoticeKind.Expiring,
        msg: 'room expires in 60 s',
        expiresAt: Math.floor(timers.now() / 1000) + 60,
      },
    });
    expect(session.state.notices).toEqual([
      expect.objectContaining({ tone: 'warning', text: 'This room closes in 60 s.' }),
    ]);
    timers.advance(30_000);
    expect(session.state.notices).toHaveLength(1);
    session.dismissNotice(session.state.notices[0]!.id);
    expect(session.state.notices).toEqual([]);
  });

  it('ignores frames it cannot read instead of failing', async () => {
    const { session, socket } = await anaInRoom();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    socket.deliverRaw(new Uint8Array([0xc1]).buffer);
    socket.deliverRaw('a text frame');
    expect(session.state.status).toBe('online');
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });
});
