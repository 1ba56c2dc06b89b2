/**
 * Hostile nicknames against real relays: blank and invisible names are refused (E005), and names
 * that only look alike (UTS #39 confusables, case, width, default-ignorable code points) collide
 * within a room (E020), in memory and, across replicas, in Redis.
 */
import { ClientType, ErrorCode, ServerType } from '@hush/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { clusterConfig } from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestRelay } from '../support/relay.js';
import type { TestClient } from '../support/test-client.js';
import { connect, connectAndCreate, connectAndJoin, joinRefused } from './helpers.js';

const clients: TestClient[] = [];

async function fresh(url: string): Promise<TestClient> {
  const client = await connect(url);
  clients.push(client);
  return client;
}

/** Sends CreateRoom with `name` and returns the Error code it is answered with. */
async function createRefused(client: TestClient, name: string): Promise<string> {
  client.send({
    type: ClientType.CreateRoom,
    data: { name, password: '', ephemeral: 0, expiry: 0 },
  });
  return (await client.next(ServerType.Error)).data.code;
}

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

describe('nicknames on an embedded relay', () => {
  let relay: RunningRelay;

  beforeAll(async () => {
    relay = await startTestRelay({
      limits: {
        invalidFrameLimit: 1_000,
        maxConnectionsPerIp: 0,
        rate: { join: { events: 1_000, windowMs: 1_000 } },
      },
      lockout: { maxFailures: 1_000 },
    });
  });

  afterAll(async () => {
    await relay?.stop();
  });

  it.each([
    ['Alice followed by a Braille pattern blank (U+2800)', 'Alice\u2800'],
    ['a Braille pattern blank alone', '\u2800'],
    ['Braille pattern blanks around a space', '\u2800 \u2800'],
    ['a Hangul filler alone (U+3164)', '\u3164'],
    ['a halfwidth Hangul filler alone (U+FFA0)', '\uffa0'],
    ['Alice with a zero-width space inside', 'Ali\u200bce'],
    ['Alice with a right-to-left override', '\u202eAlice'],
    ['Alice with a soft hyphen', 'Al\u00adice'],
  ])('refuses %s as a nickname with E005, to create or to join', async (_, name) => {
    const creator = await fresh(relay.url);
    expect(await createRefused(creator, name)).toBe(ErrorCode.InvalidMessage);
    const alice = await connectAndCreate(relay.url, 'Alice');
    clients.push(alice.client);
    expect(await joinRefused(await fresh(relay.url), alice.roomId, name)).toBe(
      ErrorCode.InvalidMessage,
    );
  });

  it.each([
    ['bob', 'b\u043eb', 'a Cyrillic о'],
    ['bob', 'ｂｏｂ', 'fullwidth letters'],
    ['bob', 'BOB', 'capitals'],
    ['paypal', 'p\u0430yp\u0430l', 'Cyrillic а'],
    ['modern', 'rnodern', 'r + n for m'],
    ['❤ ann', '❤\ufe0f ann', 'an emoji variation selector (default-ignorable) added'],
    ['👩‍💻', '👩💻', 'a zero-width joiner (default-ignorable) removed'],
  ])(
    'with %j in a room, refuses %j with E020, and the other way round (%s)',
    async (first, second) => {
      const seated = await connectAndCreate(relay.url, first);
      clients.push(seated.client);
      expect(await joinRefused(await fresh(relay.url), seated.roomId, second)).toBe(
        ErrorCode.NameTaken,
      );
      const other = await connectAndCreate(relay.url, second);
      clients.push(other.client);
      expect(await joinRefused(await fresh(relay.url), other.roomId, first)).toBe(
        ErrorCode.NameTaken,
      );
    },
  );

  it('still seats names that only share letters: bob, bób and bo b', async () => {
    const bob = await connectAndCreate(relay.url, 'bob');
    const accented = await connectAndJoin(relay.url, bob.roomId, 'bób');
    const spaced = await connectAndJoin(relay.url, bob.roomId, 'bo b');
    clients.push(bob.client, accented.client, spaced.client);
    expect(spaced.joined.data.members.map((m) => m.name).sort()).toEqual(['bo b', 'bob', 'bób']);
  });
});

describe('nicknames across two replicas sharing Redis', () => {
  let redis: TestRedis;
  let a: RunningRelay;
  let b: RunningRelay;

  beforeAll(async () => {
    redis = await startRedis();
    const config = clusterConfig({ url: redis.url });
    [a, b] = await Promise.all([startTestRelay(config), startTestRelay(config)]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all([a, b].map((relay) => relay?.stop()));
    await redis?.stop();
  });

  it('refuses bоb (Cyrillic о) on one replica while bob is in the room on the other, with E020', async () => {
    const bob = await connectAndCreate(a.url, 'bob');
    clients.push(bob.client);
    expect(await joinRefused(await fresh(b.url), bob.roomId, 'b\u043eb')).toBe(ErrorCode.NameTaken);
    expect(await joinRefused(await fresh(b.url), bob.roomId, 'ｂｏｂ')).toBe(ErrorCode.NameTaken);
    const carol = await connectAndJoin(b.url, bob.roomId, 'carol');
    clients.push(carol.client);
    expect(carol.joined.data.members.map((m) => m.name).sort()).toEqual(['bob', 'carol']);
  });
});
