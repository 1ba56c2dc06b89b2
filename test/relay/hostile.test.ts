/**
 * Hostile clients against an embedded relay: garbage, wrong shapes, oversized frames, clients
 * that never pong or never read, join guessing, connection floods and foreign origins. After
 * each, the relay must still serve an unrelated room (the bystanders).
 */
import { ClientType, ErrorCode, ServerType, encode } from '@hush/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { startTestRelay } from '../support/relay.js';
import type { TestClient } from '../support/test-client.js';
import type { Bystanders } from './helpers.js';
import {
  all,
  b64,
  bystanders,
  closedWithin,
  connect,
  connectAndCreate,
  connectAndJoin,
  create,
  joinRefused,
  metric,
  passwordHash,
  rawFrame,
  scrape,
  sleep,
  waitFor,
  waitForCount,
} from './helpers.js';
import { clientFrame, Opcode, RawClient } from './raw-client.js';

const HEARTBEAT = { pingIntervalMs: 200, pongTimeoutMs: 600 };
const INVALID_FRAME_LIMIT = 3;

const relays: RunningRelay[] = [];

async function relay(overrides: Parameters<typeof startTestRelay>[0] = {}): Promise<string> {
  const started = await startTestRelay({ heartbeat: HEARTBEAT, ...overrides });
  relays.push(started);
  return started.url;
}

afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
});

/** Sends one raw frame and returns the Error code it is answered with. */
async function answerTo(client: TestClient, frame: Uint8Array | string): Promise<string> {
  client.sendRaw(frame);
  return (await client.next(ServerType.Error)).data.code;
}

/** The client is still served: Hello is answered (and may only be sent once per connection). */
async function stillServed(client: TestClient): Promise<void> {
  client.send({ type: ClientType.Hello, data: { version: 1, features: [] } });
  await client.next(ServerType.Welcome);
}

describe('hostile input against an embedded relay', () => {
  let url: string;
  let bystanding: Bystanders;

  beforeAll(async () => {
    url = await relay({
      limits: {
        invalidFrameLimit: INVALID_FRAME_LIMIT,
        invalidFrameWindowMs: 60_000,
        // The bystanders chat after every test; their budget is not what is under test here.
        rate: { chat: { events: 1000, windowMs: 1000 } },
      },
    });
    bystanding = await bystanders(url);
  });

  afterAll(async () => {
    await bystanding.close();
  });

  describe('frames that are not protocol messages', () => {
    it('answers a text frame with E005 and keeps the connection open', async () => {
      const client = await connect(url);
      expect(await answerTo(client, '{"type":1,"data":{}}')).toBe(ErrorCode.InvalidMessage);
      await stillServed(client);
      await client.close();
      await bystanding.stillChatting();
    });

    it('closes the connection with 1003 after repeated text frames', async () => {
      const client = await connect(url);
      for (let i = 0; i <= INVALID_FRAME_LIMIT; i++) client.sendRaw(`text ${i}`);
      const { code } = await closedWithin(client, 3000);
      expect(code).toBe(1003);
      const errors = all(client, ServerType.Error).map((e) => e.data.code);
      expect(errors).toEqual(Array(INVALID_FRAME_LIMIT + 1).fill(ErrorCode.InvalidMessage));
      await bystanding.stillChatting();
    });

    it('answers undecodable bytes with E005 and keeps the connection open', async () => {
      const client = await connect(url);
      expect(await answerTo(client, new Uint8Array([0x82, 0xa4, 0x74]))).toBe(
        ErrorCode.InvalidMessage,
      );
      await stillServed(client);
      await client.close();
      await bystanding.stillChatting();
    });

    it('closes the connection with 1008 after repeated garbage', async () => {
      const client = await connect(url);
      const garbage = [
        new Uint8Array([0xc1, 0xc1]),
        new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]),
        new Uint8Array(4096).fill(0x91),
        rawFrame({ type: ClientType.SendMessage, data: {} }).subarray(0, 5),
      ];
      for (const frame of garbage) client.sendRaw(frame);
      const { code } = await closedWithin(client, 3000);
      expect(code).toBe(1008);
      expect(all(client, ServerType.Error).map((e) => e.data.code)).toEqual(
        garbage.map(() => ErrorCode.InvalidMessage),
      );
      await bystanding.stillChatting();
    });

    it('answers valid msgpack of the wrong shape with E005, each time', async () => {
      const shapes: [string, unknown][] = [
        ['an array', [ClientType.SendMessage, { iv: 'a', ciphertext: 'b' }]],
        ['a string', 'hello'],
        ['nil', null],
        ['a map without data', { type: ClientType.SendMessage }],
        ['data as an array', { type: ClientType.SendMessage, data: ['a', 'b'] }],
        ['data as a string', { type: ClientType.CreateRoom, data: 'alice' }],
        ['type as a string', { type: '3', data: { iv: 'a', ciphertext: 'b' } }],
        ['type as a float', { type: 3.5, data: { iv: 'a', ciphertext: 'b' } }],
        ['a numeric iv', { type: ClientType.SendMessage, data: { iv: 5, ciphertext: 'b' } }],
        ['an empty iv', { type: ClientType.SendMessage, data: { iv: '', ciphertext: 'b' } }],
        [
          'an empty name',
          {
            type: ClientType.CreateRoom,
            data: { name: '  ', password: '', ephemeral: 0, expiry: 0 },
          },
        ],
        [
          'a name with a control character',
          {
            type: ClientType.CreateRoom,
            data: { name: 'a\u0007b', password: '', ephemeral: 0, expiry: 0 },
          },
        ],
        [
          'a 21-code-point name',
          {
            type: ClientType.CreateRoom,
            data: { name: 'ä'.repeat(21), password: '', ephemeral: 0, expiry: 0 },
          },
        ],
        [
          'a password that is not a hash',
          {
            type: ClientType.CreateRoom,
            data: { name: 'ok', password: 'hunter2', ephemeral: 0, expiry: 0 },
          },
        ],
        ['an empty transfer id', { type: ClientType.SendFileAck, data: { transferId: '' } }],
        [
          'Hello with features as a string',
          { type: ClientType.Hello, data: { version: 1, features: 'notices' } },
        ],
        [
          'fields hidden behind __proto__',
          {
            type: ClientType.SendMessage,
            data: JSON.parse('{"__proto__":{"iv":"a","ciphertext":"b"}}') as unknown,
          },
        ],
      ];
      const answers = await Promise.all(
        shapes.map(async ([what, value]) => {
          const client = await connect(url);
          const code = await answerTo(client, rawFrame(value));
          await stillServed(client);
          await client.close();
          return [what, code];
        }),
      );
      expect(Object.fromEntries(answers)).toEqual(
        Object.fromEntries(shapes.map(([what]) => [what, ErrorCode.InvalidMessage])),
      );
      await bystanding.stillChatting();
    });

    it('ignores unknown and server-only message type ids, as the Arthas server does, and goes on serving', async () => {
      const ids = [0x00, 0x0d, 0x10, 0x14, 0x17, 0x3f, 0x41, 0x42, 0x7f, 0x80, 0xff, 0x1234, -1];
      const client = await connect(url);
      for (const type of ids) client.sendRaw(rawFrame({ type, data: {} }));
      await stillServed(client);
      expect(client.received.filter((m) => m.type === ServerType.Error)).toEqual([]);
      await client.close();
      await bystanding.stillChatting();
    });

    it('reads what the Arthas server reads leniently the way it does, without E005', async () => {
      const create = async (data: Record<string, unknown>) => {
        const client = await connect(url);
        client.sendRaw(rawFrame({ type: ClientType.CreateRoom, data }));
        const created = await client.next(ServerType.RoomCreated);
        await client.close();
        return created.data;
      };
      const now = Math.floor(Date.now() / 1000);
      expect((await create({ name: 'nokeys' })).expiresAt).toBe(0);
      expect((await create({ name: 'neg', expiry: -1 })).expiresAt).toBe(0);
      const week = (await create({ name: 'long', expiry: 604_801 })).expiresAt;
      expect(week - now).toBeGreaterThanOrEqual(604_799);
      expect(week - now).toBeLessThanOrEqual(604_801);
      await create({ name: 'upper', password: 'A'.repeat(64) });

      const lobby = await connect(url);
      const answers = [];
      for (const frame of [
        { type: ClientType.JoinRoom, data: { roomId: 'short', name: 'ok', password: '' } },
        { type: ClientType.Typing, data: {} },
        {
          type: ClientType.SendFileChunk,
          data: { transferId: 't', index: -1, iv: 'a', data: 'b' },
        },
      ]) {
        answers.push(await answerTo(lobby, rawFrame(frame)));
      }
      expect(answers).toEqual([ErrorCode.RoomNotFound, ErrorCode.NotInRoom, ErrorCode.NotInRoom]);
      lobby.sendRaw(rawFrame({ type: ClientType.Pong, data: { t: 'now' } }));
      lobby.sendRaw(rawFrame({ type: ClientType.LeaveRoom, data: 'anything' }));
      await stillServed(lobby);
      expect(lobby.received.filter((m) => m.type === ServerType.Error)).toHaveLength(3);
      await lobby.close();
    });

    it('relays nothing of a malformed message sent by a room member', async () => {
      const alice = await connectAndCreate(url, 'alice');
      const bob = await connectAndJoin(url, alice.roomId, 'bob');
      const malformed = { type: ClientType.SendMessage, data: { iv: 'a', ciphertext: 7 } };
      expect(await answerTo(bob.client, rawFrame(malformed))).toBe(ErrorCode.InvalidMessage);
      bob.client.send({ type: ClientType.SendMessage, data: { iv: 'a', ciphertext: 'fine' } });
      const relayed = await alice.client.next(ServerType.RelayMessage);
      expect(relayed.data.ciphertext).toBe('fine');
      expect(all(alice.client, ServerType.RelayMessage)).toHaveLength(1);
      await Promise.all([alice.client.close(), bob.client.close()]);
      await bystanding.stillChatting();
    });
  });

  describe('oversized frames', () => {
    const maxFrameBytes = 100 * 1024;

    it('accepts a frame of exactly limits.maxFrameBytes (answering garbage with E005)', async () => {
      const client = await connect(url);
      expect(await answerTo(client, new Uint8Array(maxFrameBytes).fill(0xc1))).toBe(
        ErrorCode.InvalidMessage,
      );
      await stillServed(client);
      await client.close();
      await bystanding.stillChatting();
    });

    it('closes the connection with 1009 for a frame over limits.maxFrameBytes', async () => {
      const client = await connect(url);
      const big = rawFrame({
        type: ClientType.SendMessage,
        data: { iv: 'a', ciphertext: new Uint8Array(maxFrameBytes) },
      });
      client.sendRaw(big);
      expect((await closedWithin(client, 3000)).code).toBe(1009);
      await bystanding.stillChatting();
    });

    it('closes with 1009 on a header announcing an 8 EiB frame, before any payload', async () => {
      const client = await RawClient.connect(url);
      const header = Buffer.alloc(14);
      header[0] = 0x82;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(2n ** 63n - 1n, 2);
      client.burst([header]);
      expect((await client.closed).code).toBe(1009);
      await bystanding.stillChatting();
    });
  });

  // These wait out several pong timeouts each, so they run side by side.
  describe('clients that do not answer pings', () => {
    const alive = 3 * HEARTBEAT.pongTimeoutMs;

    it.concurrent(
      'terminates a client that answers neither kind of ping after pongTimeoutMs',
      async () => {
        const started = Date.now();
        const client = await RawClient.connect(url, { wsPong: false, appPong: false });
        const { code } = await client.closed;
        const elapsed = Date.now() - started;
        expect(code).toBe(1006);
        expect(elapsed).toBeGreaterThanOrEqual(HEARTBEAT.pongTimeoutMs - 20);
        expect(elapsed).toBeLessThan(HEARTBEAT.pongTimeoutMs + 2000);
        expect(client.wsPings).toBeGreaterThanOrEqual(1);
        expect(client.received.some((m) => m.type === ServerType.Ping)).toBe(true);
        await bystanding.stillChatting();
      },
    );

    it.concurrent(
      'terminates a room member that stops answering, and the room is told it left',
      async () => {
        const alice = await connectAndCreate(url, 'alice');
        const mute = await RawClient.connect(url, { wsPong: false, appPong: false });
        mute.send({
          type: ClientType.JoinRoom,
          data: { roomId: alice.roomId, name: 'mute', password: '' },
        });
        const joined = await alice.client.next(ServerType.MemberJoined);
        expect((await alice.client.next(ServerType.MemberLeft, 3000)).data.id).toBe(joined.data.id);
        expect((await mute.closed).code).toBe(1006);
        await alice.client.close();
        await bystanding.stillChatting();
      },
    );

    it.concurrent('keeps a client that answers only with the app-level Pong (0x06)', async () => {
      const client = await RawClient.connect(url, { wsPong: false, appPong: true });
      await sleep(alive);
      expect(client.open).toBe(true);
      client.send({ type: ClientType.Hello, data: { version: 1, features: [] } });
      await client.next(ServerType.Welcome);
      client.destroy();
      await bystanding.stillChatting();
    });

    it.concurrent('keeps a client that answers only with WebSocket-level pongs', async () => {
      const client = await RawClient.connect(url, { wsPong: true, appPong: false });
      await sleep(alive);
      expect(client.open).toBe(true);
      expect(client.wsPings).toBeGreaterThanOrEqual(2);
      client.send({ type: ClientType.Hello, data: { version: 1, features: [] } });
      await client.next(ServerType.Welcome);
      client.destroy();
      await bystanding.stillChatting();
    });
  });

  describe('clients in a hurry', () => {
    it('serves frames sent in the same TCP write as the upgrade request', async () => {
      const hello = encode({ type: ClientType.Hello, data: { version: 1, features: [] } });
      const client = await RawClient.connect(url, { early: [clientFrame(Opcode.Binary, hello)] });
      await client.next(ServerType.Welcome);
      client.destroy();
    });

    it('leaves no room and no connection behind when clients vanish right after CreateRoom', async () => {
      const create = encode({
        type: ClientType.CreateRoom,
        data: { name: 'ghost', password: '', ephemeral: 0, expiry: 0 },
      });
      const before = await scrape(url);
      const ghosts = await Promise.all(
        Array.from({ length: 20 }, () =>
          RawClient.connect(url, { early: [clientFrame(Opcode.Binary, create)] }),
        ),
      );
      for (const ghost of ghosts) ghost.destroy();
      const deadline = Date.now() + 3000;
      let text = await scrape(url);
      const gone = (t: string) =>
        metric(t, 'hush_disconnections_total') - metric(before, 'hush_disconnections_total');
      while (
        (gone(text) < ghosts.length ||
          metric(text, 'hush_rooms') !== metric(before, 'hush_rooms') ||
          metric(text, 'hush_connections') !== metric(before, 'hush_connections')) &&
        Date.now() < deadline
      ) {
        await sleep(20);
        text = await scrape(url);
      }
      expect(gone(text)).toBe(ghosts.length);
      expect(metric(text, 'hush_rooms')).toBe(metric(before, 'hush_rooms'));
      expect(metric(text, 'hush_connections')).toBe(metric(before, 'hush_connections'));
      await bystanding.stillChatting();
    });
  });

  describe('request floods', () => {
    it('rate-limits room requests per connection with E004', async () => {
      const client = await connect(url);
      for (let i = 0; i < 5; i++) {
        await create(client, `maker${i}`);
        client.send({ type: ClientType.LeaveRoom, data: {} });
      }
      client.send({
        type: ClientType.CreateRoom,
        data: { name: 'one too many', password: '', ephemeral: 0, expiry: 0 },
      });
      expect((await client.next(ServerType.Error)).data.code).toBe(ErrorCode.RateLimited);
      expect(all(client, ServerType.RoomCreated)).toHaveLength(5);
      await client.close();
      await bystanding.stillChatting();
    });
  });
});

describe('a client that never reads', () => {
  it('is closed with 4008 once its buffer passes limits.maxBufferedBytes, while the room and the relay carry on', async () => {
    const maxBufferedBytes = 64 * 1024;
    const url = await relay({
      heartbeat: { pingIntervalMs: 500, pongTimeoutMs: 10_000 },
      limits: {
        maxFrameBytes: 16 * 1024,
        maxBufferedBytes,
        rate: { chat: { events: 1_000_000, windowMs: 1000 } },
      },
    });
    const bystanding = await bystanders(url);
    const flooder = await connectAndCreate(url, 'flooder');
    const reader = await connectAndJoin(url, flooder.roomId, 'reader');
    const slow = await RawClient.connect(url, { wsPong: true, appPong: true });
    slow.send({
      type: ClientType.JoinRoom,
      data: { roomId: flooder.roomId, name: 'slow', password: '' },
    });
    const slowJoined = await slow.next(ServerType.RoomJoined);
    const slowId = slowJoined.data.members.find((m) => m.name === 'slow')?.id;
    await waitForCount(flooder.client, ServerType.MemberJoined, 2);
    slow.pause();

    const rssBefore = process.memoryUsage().rss;
    const ciphertext = b64(9 * 1024);
    let sent = 0;
    const slowConsumers = async () =>
      metric(await scrape(url), 'hush_slow_consumer_disconnections_total');
    while ((await slowConsumers()) < 1) {
      expect(sent).toBeLessThan(10_000);
      for (let i = 0; i < 100; i++, sent++) {
        flooder.client.send({ type: ClientType.SendMessage, data: { iv: `${sent}`, ciphertext } });
      }
      await waitForCount(reader.client, ServerType.RelayMessage, sent, 10_000);
    }
    // Keep flooding: nothing more is queued for the slow consumer once it is being closed.
    const sentBeforeClose = sent;
    for (let i = 0; i < 1000; i++, sent++) {
      flooder.client.send({ type: ClientType.SendMessage, data: { iv: `${sent}`, ciphertext } });
    }
    const got = await waitForCount(reader.client, ServerType.RelayMessage, sent, 10_000);
    expect(got.map((m) => m.data.iv)).toEqual(Array.from({ length: sent }, (_, i) => `${i}`));
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    expect(rssGrowth).toBeLessThan(200 * 1024 * 1024);

    slow.resume();
    expect((await slow.closed).code).toBe(4008);
    const delivered = slow.received.flatMap((m) =>
      m.type === ServerType.RelayMessage ? [Number(m.data.iv)] : [],
    );
    expect(delivered.length).toBeGreaterThan(0);
    expect(Math.max(...delivered)).toBeLessThan(sentBeforeClose);
    expect((await reader.client.next(ServerType.MemberLeft)).data.id).toBe(slowId);

    flooder.client.send({ type: ClientType.SendMessage, data: { iv: 'after', ciphertext: 'x' } });
    await waitFor(
      reader.client,
      (r) => r.find((m) => m.type === ServerType.RelayMessage && m.data.iv === 'after'),
      'a message after the slow consumer left',
    );
    await bystanding.stillChatting();
    await Promise.all([flooder.client.close(), reader.client.close(), bystanding.close()]);
  });
});

describe('failed-join lockout', () => {
  it('locks an address out after lockout.maxFailures failed joins, even for a correct join or a new room', async () => {
    const url = await relay({ lockout: { maxFailures: 3, windowMs: 60_000, durationMs: 60_000 } });
    const bystanding = await bystanders(url);
    const secret = passwordHash('right');
    const owner = await connectAndCreate(url, 'owner', { password: secret });

    const guesser = await connect(url);
    expect(await joinRefused(guesser, 'A'.repeat(21), 'guess')).toBe(ErrorCode.RoomNotFound);
    // Refusals that reveal nothing secret do not count.
    expect(await joinRefused(guesser, owner.roomId, 'OWNER', secret)).toBe(ErrorCode.NameTaken);
    expect(await joinRefused(guesser, 'B'.repeat(21), 'guess')).toBe(ErrorCode.RoomNotFound);
    expect(await joinRefused(guesser, owner.roomId, 'guess', passwordHash('wrong'))).toBe(
      ErrorCode.WrongPassword,
    );
    expect(await joinRefused(guesser, owner.roomId, 'guess', secret)).toBe(ErrorCode.LockedOut);

    const again = await connect(url);
    expect(await joinRefused(again, owner.roomId, 'guess', secret)).toBe(ErrorCode.LockedOut);
    again.send({
      type: ClientType.CreateRoom,
      data: { name: 'guess', password: '', ephemeral: 0, expiry: 0 },
    });
    expect((await again.next(ServerType.Error)).data.code).toBe(ErrorCode.LockedOut);
    expect(all(owner.client, ServerType.MemberJoined)).toEqual([]);

    await bystanding.stillChatting();
    await Promise.all([guesser.close(), again.close(), owner.client.close(), bystanding.close()]);
  });
});

describe('per-address connection cap', () => {
  it('holds the cap under a burst of concurrent upgrades from one address', async () => {
    const url = await relay({ limits: { maxConnectionsPerIp: 2 } });
    const burst = await Promise.allSettled(
      Array.from({ length: 10 }, () => RawClient.connect(url)),
    );
    const accepted = burst.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const refused = burst.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(accepted).toHaveLength(2);
    expect(refused).toEqual(Array(8).fill('Error: upgrade refused: 429'));
    for (const client of accepted) client.destroy();
  });

  it('refuses the upgrade past limits.maxConnectionsPerIp with 429, per client address, until one closes', async () => {
    const url = await relay({
      limits: { maxConnectionsPerIp: 2 },
      server: { trustedProxies: ['127.0.0.1'] },
    });
    const bystanding = await bystanders(url, { forwardedFor: '192.0.2.10' });
    const from = { forwardedFor: '198.51.100.7' };
    const first = await connect(url, from);
    const second = await connect(url, from);
    await expect(connect(url, from)).rejects.toThrow('upgrade refused: 429');
    // Another address is not affected.
    const other = await connect(url, { forwardedFor: '198.51.100.8' });
    await stillServed(other);

    await first.close();
    const deadline = Date.now() + 3000;
    let third: TestClient | undefined;
    while (third === undefined) {
      third = await connect(url, from).catch(async (error: unknown) => {
        if (Date.now() > deadline) throw error;
        await sleep(20);
        return undefined;
      });
    }
    await stillServed(third);
    await stillServed(second);
    await bystanding.stillChatting();
    await Promise.all([second.close(), third.close(), other.close(), bystanding.close()]);
  });
});

describe('origin allowlist', () => {
  let url: string;
  let bystanding: Bystanders;
  beforeAll(async () => {
    url = await relay({ server: { allowedOrigins: ['https://ok.example'] } });
    bystanding = await bystanders(url, { origin: 'https://ok.example' });
  });
  afterAll(async () => {
    await bystanding.close();
  });

  it('refuses an upgrade from another origin with 403', async () => {
    for (const origin of [
      'https://evil.example',
      'http://ok.example',
      'https://ok.example.evil',
      'null',
    ]) {
      await expect(connect(url, { origin })).rejects.toThrow('upgrade refused: 403');
    }
    await bystanding.stillChatting();
  });

  it('accepts an upgrade from an allowed origin', async () => {
    const alice = await connectAndCreate(url, 'alice', { origin: 'https://ok.example' });
    const bob = await connectAndJoin(url, alice.roomId, 'bob', { origin: 'https://ok.example' });
    bob.client.send({ type: ClientType.SendMessage, data: { iv: 'a', ciphertext: 'b' } });
    await alice.client.next(ServerType.RelayMessage);
    await Promise.all([alice.client.close(), bob.client.close()]);
  });

  it('accepts a client that sends no Origin at all: terminal clients are not browsers', async () => {
    const cli = await RawClient.connect(url);
    cli.send({
      type: ClientType.CreateRoom,
      data: { name: 'terminal', password: '', ephemeral: 0, expiry: 0 },
    });
    const { data } = await cli.next(ServerType.RoomCreated);
    const browser = await connectAndJoin(url, data.roomId, 'browser', {
      origin: 'https://ok.example',
    });
    expect(browser.joined.data.members).toHaveLength(2);
    cli.destroy();
    await browser.client.close();
  });
});
