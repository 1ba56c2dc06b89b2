import { hashRoomPassword } from '@hush/crypto';
import { ClientType, ErrorCode, NoticeKind, ServerType, encode } from '@hush/protocol';
import { describe, expect, it, vi } from 'vitest';
import { ALICE, BOB, CAROL, LIMITS, ROOM_ID, harness } from './fixtures/session-harness.js';
import { DEFAULT_POLICY, isSeatError, isTransientError } from './policy.js';
import { CLIENT_CLOSED } from './session.js';

describe('negotiation and joining', () => {
  it('says Hello, then asks for the room; adopts Welcome and reports the join', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB]);
    expect(connection.sent.slice(0, 2)).toEqual([
      {
        type: ClientType.Hello,
        data: { version: 1, features: ['notices', 'self-id', 'gaps'], client: 'hush-test/1' },
      },
      { type: ClientType.JoinRoom, data: { roomId: ROOM_ID, name: 'alice', password: '' } },
    ]);
    expect(h.of('welcome')[0]?.limits).toEqual(LIMITS);
    expect(h.of('joined')).toEqual([
      {
        type: 'joined',
        room: { roomId: ROOM_ID, hasPassword: false, ephemeral: 0, expiresAt: 0 },
        self: ALICE,
        members: [ALICE, BOB],
        rejoin: false,
      },
    ]);
    expect(h.session.inRoom).toBe(true);
  });

  it('creates a room, then rejoins that room (not a new one) after a drop', async () => {
    const h = await harness({ target: { kind: 'create', ephemeral: 60, expiry: 0 } });
    h.session.start();
    await h.settle();
    const first = h.fake.last;
    first.open();
    expect(first.sentOf(ClientType.CreateRoom)[0]?.data).toEqual({
      name: 'alice',
      password: '',
      ephemeral: 60,
      expiry: 0,
    });
    first.receive({ type: ServerType.RoomCreated, data: { roomId: ROOM_ID, expiresAt: 0 } });
    await h.admit([ALICE]);
    expect(h.of('created')).toEqual([{ type: 'created', roomId: ROOM_ID, expiresAt: 0 }]);
    first.drop();
    await h.settle();
    h.clock.advance(DEFAULT_POLICY.backoff.baseMs);
    await h.settle();
    h.fake.last.open();
    expect(h.fake.last.sentOf(ClientType.CreateRoom)).toHaveLength(0);
    expect(h.fake.last.sentOf(ClientType.JoinRoom)[0]?.data.roomId).toBe(ROOM_ID);
  });

  it('tolerates a relay that refuses Hello (E005 before any Welcome)', async () => {
    const h = await harness();
    h.session.start();
    await h.settle();
    const connection = h.fake.last;
    connection.open();
    connection.receive({
      type: ServerType.Error,
      data: { code: ErrorCode.InvalidMessage, msg: 'unknown type' },
    });
    connection.receive({
      type: ServerType.RoomJoined,
      data: { roomId: ROOM_ID, members: [ALICE], hasPassword: false, ephemeral: 0, expiresAt: 0 },
    });
    await h.settle();
    expect(h.session.inRoom).toBe(true);
    // Without self-id, we are the member with our name.
    expect(h.session.self()).toEqual(ALICE);
  });

  it('asks for a password after E006 and retries the join with its hash', async () => {
    const asked: number[] = [];
    const h = await harness({
      askPassword: async (attempt) => {
        asked.push(attempt);
        return 'sesame';
      },
    });
    h.session.start();
    await h.settle();
    const connection = h.fake.last;
    connection.open();
    connection.receive({
      type: ServerType.Error,
      data: { code: ErrorCode.WrongPassword, msg: 'wrong password' },
    });
    await h.settle();
    expect(asked).toEqual([1]);
    expect(connection.sentOf(ClientType.JoinRoom).map((m) => m.data.password)).toEqual([
      '',
      await hashRoomPassword('sesame'),
    ]);
    expect(h.session.passwordUsed).toBe(true);
  });

  it('keeps the connection while someone takes their time typing the password', async () => {
    let answer: (password: string) => void = () => undefined;
    let asking = false;
    const h = await harness({
      askPassword: () => {
        asking = true;
        return new Promise<string>((resolve) => (answer = resolve));
      },
    });
    h.session.start();
    await h.settle();
    const connection = h.fake.last;
    connection.open();
    connection.receive({
      type: ServerType.Error,
      data: { code: ErrorCode.WrongPassword, msg: '' },
    });
    // Not settle(): the prompt is work in flight until it is answered.
    await vi.waitFor(() => expect(asking).toBe(true));
    h.clock.advance(DEFAULT_POLICY.connectTimeoutMs * 3);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(connection.closedBy).toBeUndefined();
    answer('sesame');
    await h.settle();
    expect(connection.sentOf(ClientType.JoinRoom)).toHaveLength(2);
  });

  it('ends refused on a wrong password nobody can correct', async () => {
    const h = await harness({ passwordHash: await hashRoomPassword('nope') });
    h.session.start();
    await h.settle();
    h.fake.last.open();
    h.fake.last.receive({
      type: ServerType.Error,
      data: { code: ErrorCode.WrongPassword, msg: '' },
    });
    expect(await h.session.done).toEqual({
      kind: 'refused',
      code: ErrorCode.WrongPassword,
      rejoin: false,
    });
  });

  it.each([
    ErrorCode.RoomNotFound,
    ErrorCode.RoomFull,
    ErrorCode.NameTaken,
    ErrorCode.LockedOut,
    ErrorCode.RoomExpired,
  ])('ends refused on %s when first joining', async (code) => {
    const h = await harness();
    h.session.start();
    await h.settle();
    h.fake.last.open();
    h.fake.last.receive({ type: ServerType.Error, data: { code, msg: '' } });
    expect(await h.session.done).toEqual({ kind: 'refused', code, rejoin: false });
    expect(h.fake.connections).toHaveLength(1);
  });
});

describe('the first connection', () => {
  it('is retried a bounded number of times when the relay cannot be reached, then gives up', async () => {
    const h = await harness();
    h.session.start();
    await h.settle();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= DEFAULT_POLICY.firstConnectAttempts; attempt++) {
      h.fake.last.drop({ code: 1006, reason: '', error: 'connect ECONNREFUSED 127.0.0.1:1' });
      await h.settle();
      const wait = h.clock.nextTimerIn();
      if (attempt < DEFAULT_POLICY.firstConnectAttempts) {
        delays.push(h.of('disconnected').at(-1)!.retryInMs);
        h.clock.advance(wait!);
        await h.settle();
      }
    }
    expect(await h.session.done).toEqual({
      kind: 'unreachable',
      detail: 'connect ECONNREFUSED 127.0.0.1:1',
      rejoin: false,
    });
    expect(h.fake.connections).toHaveLength(DEFAULT_POLICY.firstConnectAttempts);
    // Equal jitter with random() = 0: half of each ceiling.
    expect(delays).toEqual([250, 500]);
  });

  it('retries E024 (unavailable) a bounded number of times instead of forever', async () => {
    const h = await harness();
    h.session.start();
    for (let attempt = 1; attempt <= DEFAULT_POLICY.firstConnectAttempts; attempt++) {
      await h.settle();
      h.fake.last.open();
      h.fake.last.receive({
        type: ServerType.Error,
        data: { code: ErrorCode.Unavailable, msg: 'draining' },
      });
      await h.settle();
      h.clock.advance(h.clock.nextTimerIn() ?? 0);
    }
    const end = await h.session.done;
    expect(end).toEqual({
      kind: 'unreachable',
      detail: 'the relay answered E024 (draining)',
      rejoin: false,
    });
    expect(h.of('server-error').every((e) => e.retrying)).toBe(true);
  });

  it('is abandoned when the relay does not admit us in time', async () => {
    const h = await harness();
    h.session.start();
    await h.settle();
    h.fake.last.open();
    h.clock.advance(DEFAULT_POLICY.connectTimeoutMs);
    await h.settle();
    expect(h.fake.connections[0]!.closedBy?.code).toBe(1000);
    expect(h.of('disconnected')).toHaveLength(1);
  });
});

describe('reconnecting', () => {
  it('backs off with equal jitter, doubling up to the ceiling, and resets once back in', async () => {
    const h = await harness({ random: () => 1 });
    h.session.start();
    await h.admit();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      h.fake.last.drop();
      await h.settle();
      delays.push(h.of('disconnected').at(-1)!.retryInMs);
      // Not a millisecond early.
      h.clock.advance(delays.at(-1)! - 1);
      const before = h.fake.connections.length;
      expect(h.fake.connections).toHaveLength(before);
      h.clock.advance(1);
      await h.settle();
      expect(h.fake.connections).toHaveLength(before + 1);
      h.fake.last.open();
    }
    // random() = 1: the whole ceiling. 0.5 s, 1 s, 2 s, 4 s, 8 s, 10 s, 10 s.
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    await h.admit();
    h.fake.last.drop();
    await h.settle();
    expect(h.of('disconnected').at(-1)!.retryInMs).toBe(500);
  });

  it('follows a drain notice: its retry hint plus jitter, not the backoff', async () => {
    const h = await harness({ random: () => 0.5 });
    h.session.start();
    const connection = await h.admit();
    connection.receive({
      type: ServerType.Notice,
      data: { kind: NoticeKind.Drain, msg: 'replica shutting down', retryAfterMs: 2000 },
    });
    await h.settle();
    connection.drop({ code: 1001, reason: 'going away' });
    await h.settle();
    expect(h.of('notice')).toEqual([
      { type: 'notice', kind: 'drain', message: 'replica shutting down' },
    ]);
    expect(h.of('disconnected')).toEqual([
      {
        type: 'disconnected',
        code: 1001,
        reason: 'going away',
        retryInMs: 2000 + 0.5 * DEFAULT_POLICY.drainJitterMs,
      },
    ]);
  });

  it('rejoins and reports what changed while it was away as joins and leaves', async () => {
    const h = await harness();
    h.session.start();
    await h.admit([ALICE, BOB]);
    h.fake.last.drop();
    await h.settle();
    h.clock.advance(h.clock.nextTimerIn()!);
    const alice2 = { ...ALICE, id: 'm-alice-2' };
    h.events.length = 0;
    await h.admit([BOB, CAROL, { ...alice2 }]);
    // selfId in the harness is m-alice; the new seat is found by name.
    expect(h.of('joined')[0]?.rejoin).toBe(true);
    expect(h.events.filter((e) => e.type === 'member-joined' || e.type === 'member-left')).toEqual([
      { type: 'member-joined', member: CAROL },
    ]);
  });

  it('retries a rejoin refused with E020 while our old seat is still held, within the grace period', async () => {
    const h = await harness();
    h.session.start();
    await h.admit();
    h.fake.last.drop();
    await h.settle();
    h.clock.advance(h.clock.nextTimerIn()!);
    await h.settle();
    h.fake.last.open();
    h.fake.last.receive({ type: ServerType.Error, data: { code: ErrorCode.NameTaken, msg: '' } });
    await h.settle();
    expect(h.of('server-error').at(-1)).toMatchObject({ code: 'E020', retrying: true });
    h.clock.advance(DEFAULT_POLICY.rejoinSeatGraceMs);
    await h.settle();
    h.clock.advance(h.clock.nextTimerIn()!);
    await h.settle();
    h.fake.last.open();
    h.fake.last.receive({ type: ServerType.Error, data: { code: ErrorCode.NameTaken, msg: '' } });
    expect(await h.session.done).toEqual({
      kind: 'refused',
      code: ErrorCode.NameTaken,
      rejoin: true,
    });
  });

  it('retries E020 on the first join of a resumed membership (a reloaded page), as on a rejoin', async () => {
    const h = await harness({ resumed: true });
    h.session.start();
    await h.settle();
    h.fake.last.open();
    h.fake.last.receive({ type: ServerType.Error, data: { code: ErrorCode.NameTaken, msg: '' } });
    await h.settle();
    expect(h.of('server-error').at(-1)).toMatchObject({ code: 'E020', retrying: true });
    h.clock.advance(h.clock.nextTimerIn()!);
    await h.admit();
    expect(h.session.inRoom).toBe(true);
    expect(h.of('joined')[0]?.rejoin).toBe(false);
  });

  it('skips the rest of the reconnect delay on retryNow(), and does nothing when not waiting', async () => {
    const h = await harness();
    h.session.start();
    await h.admit();
    h.session.retryNow();
    expect(h.fake.connections).toHaveLength(1);
    h.fake.last.drop();
    await h.settle();
    expect(h.of('disconnected')[0]?.retryInMs).toBeGreaterThan(0);
    h.session.retryNow();
    expect(h.fake.connections).toHaveLength(2);
    await h.admit();
    expect(h.of('joined').at(-1)?.rejoin).toBe(true);
    // The cancelled timer does not open a third connection later.
    h.clock.advance(DEFAULT_POLICY.backoff.maxMs);
    await h.settle();
    expect(h.fake.connections).toHaveLength(2);
  });

  it('gives up when no rejoin succeeded within the outage limit', async () => {
    const h = await harness({ policy: { giveUpAfterMs: 5_000 } });
    h.session.start();
    await h.admit();
    for (let i = 0; i < 10 && h.fake.connections.length < 20; i++) {
      h.fake.last.drop({ code: 1006, reason: '', error: 'ECONNREFUSED' });
      await h.settle();
      h.clock.advance(h.clock.nextTimerIn() ?? 0);
      await h.settle();
    }
    expect(await h.session.done).toEqual({
      kind: 'unreachable',
      detail: 'gave up after 5 s; last: ECONNREFUSED',
      rejoin: true,
    });
  });

  it('derives its silence limit from the liveness the relay announced in Welcome', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit(undefined, {
      limits: { ...LIMITS, pingIntervalMs: 70_000, pongTimeoutMs: 90_000 },
    });
    // Past the default limit (25 s + 40 s), well inside the announced one (70 s + 90 s).
    h.clock.advance(DEFAULT_POLICY.silenceLimitMs + 10_000);
    await h.settle();
    expect(connection.closedBy).toBeUndefined();
    h.clock.advance(160_000 - DEFAULT_POLICY.silenceLimitMs - 10_000 - 1);
    await h.settle();
    expect(connection.closedBy).toBeUndefined();
    h.clock.advance(1);
    await h.settle();
    expect(connection.closedBy).toEqual({ code: 1000, reason: 'the relay went silent' });
  });

  it('treats a relay silent for a ping interval plus the pong timeout as gone', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    h.clock.advance(DEFAULT_POLICY.silenceLimitMs - 1000);
    connection.ping();
    h.clock.advance(DEFAULT_POLICY.silenceLimitMs - 1000);
    await h.settle();
    expect(connection.closedBy).toBeUndefined();
    h.clock.advance(1000);
    await h.settle();
    expect(connection.closedBy).toEqual({ code: 1000, reason: 'the relay went silent' });
    // Not waiting for the dead connection to confirm its close.
    expect(h.of('disconnected')[0]).toMatchObject({
      code: CLIENT_CLOSED,
      reason: 'the relay went silent',
    });
    expect(h.of('warning').at(-1)?.detail).toBe('no word from the relay for 65 s');
    expect(h.of('disconnected')).toHaveLength(1);
  });

  it('rejoins when the relay says we are no longer in the room (E003)', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    connection.receive({ type: ServerType.Error, data: { code: ErrorCode.NotInRoom, msg: '' } });
    await h.settle();
    expect(connection.closedBy?.reason).toBe('rejoining');
    expect(h.of('disconnected')).toHaveLength(1);
  });
});

describe('liveness and leaving', () => {
  it('answers Ping with Pong carrying the same t', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    connection.receive({ type: ServerType.Ping, data: { t: 1_700_000_000_123 } });
    await h.settle();
    expect(connection.sentOf(ClientType.Pong)).toEqual([
      { type: ClientType.Pong, data: { t: 1_700_000_000_123 } },
    ]);
  });

  it('leaves with LeaveRoom and a 1000 close, and ends left', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const end = h.session.leave();
    expect(connection.sent.at(-1)).toEqual({ type: ClientType.LeaveRoom, data: {} });
    expect(connection.closedBy).toEqual({ code: 1000, reason: 'leaving' });
    expect(await end).toEqual({ kind: 'left' });
    expect(h.clock.pending).toBe(0);
  });

  it('ends when the room is closed under it', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    connection.receive({ type: ServerType.RoomClosed, data: { reason: 'expired' } });
    expect(await h.session.done).toEqual({ kind: 'room-closed', reason: 'expired' });
  });

  it('reports a frame it cannot read and an Error code it does not know, without ending', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    connection.receiveRaw(new Uint8Array([0xc1]));
    connection.receiveRaw(
      encode({ type: ServerType.Error, data: { code: 'E099' as never, msg: 'new' } }),
    );
    connection.receiveRaw('text');
    await h.settle();
    expect(h.of('warning').map((w) => w.detail)).toEqual([
      // The decoder's own words follow; they are the protocol library's to choose.
      expect.stringMatching(/^ignored a frame the relay sent \(.+\)$/),
      'the relay reported error E099: new',
      'the relay sent a text frame; ignored it',
    ]);
    expect(h.session.inRoom).toBe(true);
  });
});

describe('the transient-error policy', () => {
  it('is one rule: E004 and E024 are transient; room answers and lockouts are not', () => {
    expect(Object.values(ErrorCode).filter(isTransientError)).toEqual([
      ErrorCode.RateLimited,
      ErrorCode.Unavailable,
    ]);
    for (const code of [
      ErrorCode.RoomNotFound,
      ErrorCode.RoomFull,
      ErrorCode.WrongPassword,
      ErrorCode.RoomExpired,
      ErrorCode.NameTaken,
      ErrorCode.LockedOut,
    ]) {
      expect(isTransientError(code)).toBe(false);
    }
    expect(Object.values(ErrorCode).filter(isSeatError)).toEqual([
      ErrorCode.RoomFull,
      ErrorCode.NameTaken,
    ]);
  });
});
