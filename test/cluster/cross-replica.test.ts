/**
 * Three replicas sharing one Redis: members on different replicas form one room, see each other
 * and each other's traffic, and the admission rules hold across the cluster.
 */
import type { ServerMessage } from '@hush/protocol';
import { ClientType, ErrorCode, ServerType } from '@hush/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisBackends } from '../../apps/relay/src/cluster/redis/redis.backends.js';
import type { FanoutPort } from '../../apps/relay/src/cluster/fanout.port.js';
import { createLogger } from '../../apps/relay/src/logging/logger.js';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { clusterConfig, eventually } from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestRelay, testConfig } from '../support/relay.js';
import { createRoom, joinRoom, TestClient } from '../support/test-client.js';

const MAX_MEMBERS = 5;

let redis: TestRedis;
let admin: Redis;
let a: RunningRelay;
let b: RunningRelay;
let c: RunningRelay;
/** A replica whose fan-out records which rooms' envelopes reach its room actors. */
let spy: RunningRelay;
const delivered: string[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  const config = clusterConfig({ url: redis.url }, { limits: { maxRoomMembers: MAX_MEMBERS } });
  const spyId = 'spy-replica';
  const backends = await redisBackends(
    testConfig(config).redis,
    spyId,
    createLogger('silent', spyId),
  );
  [a, b, c, spy] = await Promise.all([
    startTestRelay(config),
    startTestRelay(config),
    startTestRelay(config),
    startTestRelay(config, {
      replicaId: spyId,
      backends: { ...backends, fanout: recording(backends.fanout) },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([a, b, c, spy].map((relay) => relay?.stop()));
  admin?.disconnect();
  await redis?.stop();
});

function track<T extends { client: TestClient }>(value: T): T {
  clients.push(value.client);
  return value;
}

async function connect(relay: RunningRelay): Promise<TestClient> {
  const client = await TestClient.connect(relay.url);
  clients.push(client);
  return client;
}

type Refusal = { ok: false; code: string };
type Outcome = { ok: true; client: TestClient } | Refusal;

/** Sends JoinRoom and reports RoomJoined or the Error code, whichever comes first. */
async function tryJoin(relay: RunningRelay, roomId: string, name: string): Promise<Outcome> {
  const client = await connect(relay);
  client.send({ type: ClientType.JoinRoom, data: { roomId, name, password: '' } });
  const answer = await eventually('RoomJoined or Error', () =>
    client.messages().find((m) => m.type === ServerType.RoomJoined || m.type === ServerType.Error),
  );
  return answer.type === ServerType.Error
    ? { ok: false, code: answer.data.code }
    : { ok: true, client };
}

/** Wraps a fan-out port so that every envelope handed to the replica is noted by room id. */
function recording(fanout: FanoutPort): FanoutPort {
  return {
    replicaId: fanout.replicaId,
    onEnvelope: (handler) =>
      fanout.onEnvelope((roomId, envelope) => {
        delivered.push(roomId);
        handler(roomId, envelope);
      }),
    subscribe: (roomId) => fanout.subscribe(roomId),
    unsubscribe: (roomId) => fanout.unsubscribe(roomId),
    publish: (roomId, envelope) => fanout.publish(roomId, envelope),
    health: () => fanout.health(),
    close: () => fanout.close(),
  };
}

/** Subscribers of a room's channel, cluster-wide. */
async function subscribers(roomId: string): Promise<number> {
  const reply = (await admin.call('PUBSUB', 'NUMSUB', `hush:{${roomId}}:ch`)) as [string, number];
  return Number(reply[1]);
}

/** Channels the replica's subscriber connection is subscribed to (its own probe channel included). */
async function subscriptionsOf(replicaId: string): Promise<number> {
  const line = String(await admin.call('CLIENT', 'LIST'))
    .split('\n')
    .find((entry) => entry.includes(` name=hush-${replicaId}-sub `));
  const count = /\bsub=(\d+)/.exec(line ?? '')?.[1];
  if (count === undefined) throw new Error(`no subscriber connection for ${replicaId}`);
  return Number(count);
}

function names(members: { name: string }[]): string[] {
  return members.map((m) => m.name).sort();
}

describe('a room spread over three replicas', () => {
  it('shows every member to every other, relays traffic with server-set sender fields, and reports leaves', async () => {
    const alice = track(await createRoom(a.url, 'alice'));
    const bob = track(await joinRoom(b.url, alice.roomId, 'bob'));
    expect(names(bob.joined.data.members)).toEqual(['alice', 'bob']);
    const bobJoined = await alice.client.next(ServerType.MemberJoined);
    expect(bobJoined.data.name).toBe('bob');
    const bobId = bobJoined.data.id;

    const carol = track(await joinRoom(c.url, alice.roomId, 'carol'));
    expect(names(carol.joined.data.members)).toEqual(['alice', 'bob', 'carol']);
    const carolId = (await alice.client.next(ServerType.MemberJoined)).data.id;
    expect((await bob.client.next(ServerType.MemberJoined)).data.id).toBe(carolId);

    const before = Date.now();
    alice.client.send({
      type: ClientType.SendMessage,
      data: { iv: 'aXYtYWxpY2U', ciphertext: 'Y2lwaGVyLWFsaWNl' },
    });
    for (const receiver of [bob.client, carol.client]) {
      const relayed = await receiver.next(ServerType.RelayMessage);
      expect(relayed.data).toMatchObject({
        senderId: alice.memberId,
        senderName: 'alice',
        iv: 'aXYtYWxpY2U',
        ciphertext: 'Y2lwaGVyLWFsaWNl',
      });
      expect(relayed.data.t).toBeGreaterThanOrEqual(before);
      expect(relayed.data.t).toBeLessThanOrEqual(Date.now());
    }

    bob.client.send({ type: ClientType.Typing, data: { typing: true } });
    for (const receiver of [alice.client, carol.client]) {
      expect((await receiver.next(ServerType.MemberTyping)).data).toEqual({
        id: bobId,
        typing: true,
      });
    }

    const reaction = new Uint8Array([1, 2, 3, 250]);
    carol.client.send({
      type: ClientType.SendReaction,
      data: { iv: 'aXYtY2Fyb2w', ciphertext: reaction },
    });
    for (const receiver of [alice.client, bob.client]) {
      const relayed = await receiver.next(ServerType.RelayReaction);
      expect(relayed.data).toMatchObject({ senderId: carolId, senderName: 'carol' });
      expect(new Uint8Array(relayed.data.ciphertext as Uint8Array)).toEqual(reaction);
    }

    bob.client.send({ type: ClientType.LeaveRoom, data: {} });
    expect((await alice.client.next(ServerType.MemberLeft)).data.id).toBe(bobId);
    expect((await carol.client.next(ServerType.MemberLeft)).data.id).toBe(bobId);

    await carol.client.close();
    expect((await alice.client.next(ServerType.MemberLeft)).data.id).toBe(carolId);

    // Nothing a member sent came back to that member.
    const own = (client: TestClient, type: ServerMessage['type']) =>
      client.messages().filter((m) => m.type === type);
    expect(own(alice.client, ServerType.RelayMessage)).toHaveLength(0);
    expect(own(bob.client, ServerType.MemberTyping)).toHaveLength(0);
    expect(own(carol.client, ServerType.RelayReaction)).toHaveLength(0);

    const dave = track(await joinRoom(b.url, alice.roomId, 'dave'));
    expect(names(dave.joined.data.members)).toEqual(['alice', 'dave']);
  });

  it('keeps each sender’s order over 200 messages from two replicas at once', async () => {
    const alice = track(await createRoom(a.url, 'alice'));
    const bob = track(await joinRoom(b.url, alice.roomId, 'bob'));
    const carol = track(await joinRoom(c.url, alice.roomId, 'carol'));
    await alice.client.next(ServerType.MemberJoined);
    await alice.client.next(ServerType.MemberJoined);

    const count = 200;
    for (let i = 0; i < count; i += 1) {
      alice.client.send({
        type: ClientType.SendMessage,
        data: { iv: 'aXY', ciphertext: `alice-${i}` },
      });
      bob.client.send({
        type: ClientType.SendMessage,
        data: { iv: 'aXY', ciphertext: `bob-${i}` },
      });
    }
    const received: string[] = [];
    for (let i = 0; i < 2 * count; i += 1) {
      const message = await carol.client.next(ServerType.RelayMessage, 15_000);
      received.push(String(message.data.ciphertext));
    }
    const sequence = (sender: string) => received.filter((text) => text.startsWith(`${sender}-`));
    const expected = (sender: string) => Array.from({ length: count }, (_, i) => `${sender}-${i}`);
    expect(sequence('alice')).toEqual(expected('alice'));
    expect(sequence('bob')).toEqual(expected('bob'));
  });
});

describe('admission rules across replicas', () => {
  it('refuses a nickname taken on another replica, case-insensitively', async () => {
    const alice = track(await createRoom(a.url, 'Alice'));
    expect(await tryJoin(b, alice.roomId, 'ALICE')).toEqual({
      ok: false,
      code: ErrorCode.NameTaken,
    });
    expect(await tryJoin(c, alice.roomId, 'alice ')).toEqual({
      ok: false,
      code: ErrorCode.NameTaken,
    });
  });

  it('admits exactly one of two members racing for the same nickname on different replicas', async () => {
    const host = track(await createRoom(a.url, 'host'));
    const outcomes = await Promise.all([
      tryJoin(b, host.roomId, 'dave'),
      tryJoin(c, host.roomId, 'Dave'),
    ]);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    expect(outcomes.filter((o) => !o.ok)).toEqual([{ ok: false, code: ErrorCode.NameTaken }]);
  });

  it('fills a room to maxMembers and no further when joins race on three replicas', async () => {
    const host = track(await createRoom(a.url, 'host'));
    const relays = [a, b, c];
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        tryJoin(relays[i % 3] as RunningRelay, host.roomId, `m${i}`),
      ),
    );
    const admitted = outcomes.filter((o) => o.ok);
    expect(admitted).toHaveLength(MAX_MEMBERS - 1);
    expect(outcomes.filter((o) => !o.ok)).toEqual(
      Array.from({ length: 12 - (MAX_MEMBERS - 1) }, () => ({
        ok: false,
        code: ErrorCode.RoomFull,
      })),
    );
    // Redis agrees: the room holds exactly maxMembers members.
    const [membersKey] = await admin.keys(`hush:{${host.roomId}}:members`);
    expect(await admin.hlen(membersKey ?? 'missing')).toBe(MAX_MEMBERS);
  });

  it('answers E001 on every replica once the last member has left', async () => {
    const alice = track(await createRoom(a.url, 'alice'));
    await alice.client.close();
    for (const relay of [a, b, c]) {
      expect(
        await eventually('the room to be gone', async () => {
          const outcome = await tryJoin(relay, alice.roomId, 'late');
          return outcome.ok ? undefined : outcome;
        }),
      ).toEqual({ ok: false, code: ErrorCode.RoomNotFound });
    }
    expect(await admin.keys(`hush:{${alice.roomId}}*`)).toEqual([]);
  });

  it('answers E007 on every replica once an expired room has closed, keeping only its expiry', async () => {
    // The room lives until the end of the second `expiry` seconds from now (expiresAt is in whole
    // seconds): 2 to 3 s, time enough for bob to join on a busy machine; 1 could be 0.1 s.
    const alice = track(await createRoom(a.url, 'alice', { expiry: 3 }));
    const bob = track(await joinRoom(b.url, alice.roomId, 'bob'));
    await alice.client.next(ServerType.RoomClosed, 6000);
    await bob.client.next(ServerType.RoomClosed, 6000);
    for (const relay of [a, b, c]) {
      expect(
        await eventually('the room to be closed', async () => {
          const outcome = await tryJoin(relay, alice.roomId, 'late');
          return outcome.ok ? undefined : outcome;
        }),
      ).toEqual({ ok: false, code: ErrorCode.RoomExpired });
    }
    const keys = await admin.keys(`hush:{${alice.roomId}}*`);
    expect(keys).toEqual([`hush:{${alice.roomId}}:meta`]);
    const created = alice.client.received.find((m) => m.type === ServerType.RoomCreated);
    expect(await admin.hgetall(keys[0] as string)).toEqual({
      expiresAt: String(created?.type === ServerType.RoomCreated ? created.data.expiresAt : NaN),
    });
    expect(await admin.pttl(keys[0] as string)).toBeGreaterThan(0);
  });
});

describe('subscriptions follow local members', () => {
  it('keeps a replica that hosts no member of a room off its channel and its traffic', async () => {
    const yuri = track(await createRoom(spy.url, 'yuri'));
    const zoe = track(await joinRoom(a.url, yuri.roomId, 'zoe'));
    const alice = track(await createRoom(a.url, 'alice'));
    const bob = track(await joinRoom(b.url, alice.roomId, 'bob'));

    expect(await subscribers(alice.roomId)).toBe(2);
    expect(await subscribers(yuri.roomId)).toBe(2);
    expect(await subscriptionsOf(spy.core.replicaId)).toBe(2); // its probe channel and yuri's room

    for (let i = 0; i < 20; i += 1) {
      alice.client.send({
        type: ClientType.SendMessage,
        data: { iv: 'aXY', ciphertext: `x-${i}` },
      });
    }
    for (let i = 0; i < 20; i += 1) await bob.client.next(ServerType.RelayMessage);
    zoe.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'y-0' } });
    await yuri.client.next(ServerType.RelayMessage);
    expect(delivered).toContain(yuri.roomId);
    expect(delivered.filter((roomId) => roomId !== yuri.roomId)).toEqual([]);

    // Hosting a member subscribes the replica; losing its last member unsubscribes it.
    const xena = track(await joinRoom(spy.url, alice.roomId, 'xena'));
    expect(await subscribers(alice.roomId)).toBe(3);
    expect(await subscriptionsOf(spy.core.replicaId)).toBe(3);
    await alice.client.next(ServerType.MemberJoined);
    alice.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'x-seen' } });
    await xena.client.next(ServerType.RelayMessage);
    expect(delivered).toContain(alice.roomId);

    await xena.client.close();
    await bob.client.next(ServerType.MemberLeft);
    await eventually(
      'the spy to leave the channel',
      async () => (await subscribers(alice.roomId)) === 2,
    );
    expect(await subscriptionsOf(spy.core.replicaId)).toBe(2);
    delivered.length = 0;
    for (let i = 0; i < 10; i += 1) {
      bob.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: `z-${i}` } });
    }
    for (let i = 0; i < 10; i += 1) await alice.client.next(ServerType.RelayMessage);
    expect(delivered).toEqual([]);
  });
});
