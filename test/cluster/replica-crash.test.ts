/**
 * Replicas as real processes: one is killed with SIGKILL and the survivors clean up after it
 * (MemberLeft for each of its members within 10 s, its rooms gone); one stops gracefully and
 * takes its state out of Redis at once. Default lease settings (heartbeat 2 s, lease 6 s).
 */
import { ClientType, ErrorCode, ServerType } from '@hush/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import {
  clusterConfig,
  eventually,
  spawnReplica,
  type ReplicaProcess,
} from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestRelay } from '../support/relay.js';
import { createRoom, joinRoom, TestClient } from '../support/test-client.js';

const EVICTION_DEADLINE_MS = 10_000;

let redis: TestRedis;
let admin: Redis;
let victim: ReplicaProcess;
let survivor: ReplicaProcess;
let leaver: ReplicaProcess;
/** Short lease, so that a stop of a few seconds makes the others declare it dead. */
let sleeper: ReplicaProcess;
let inProcess: RunningRelay;
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  const env = { REDIS_URL: redis.url };
  [victim, survivor, leaver, sleeper, inProcess] = await Promise.all([
    spawnReplica(env),
    spawnReplica(env),
    spawnReplica(env),
    spawnReplica({ ...env, HUSH_REDIS_HEARTBEAT_MS: '300', HUSH_REDIS_LEASE_TTL_MS: '1000' }),
    startTestRelay(clusterConfig({ url: redis.url })),
  ]);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  sleeper?.thaw();
  await Promise.all([victim, survivor, leaver, sleeper].map((replica) => replica?.stop()));
  await inProcess?.stop();
  admin?.disconnect();
  await redis?.stop();
});

function track<T extends { client: TestClient }>(value: T): T {
  clients.push(value.client);
  return value;
}

/** The error code a fresh JoinRoom gets, or 'joined'. */
async function joinOutcome(url: string, roomId: string, name: string): Promise<string> {
  const client = await TestClient.connect(url);
  clients.push(client);
  client.send({ type: ClientType.JoinRoom, data: { roomId, name, password: '' } });
  const answer = await eventually('RoomJoined or Error', () =>
    client.messages().find((m) => m.type === ServerType.RoomJoined || m.type === ServerType.Error),
  );
  await client.close();
  return answer.type === ServerType.Error ? answer.data.code : 'joined';
}

async function leases(): Promise<number> {
  return (await admin.keys('hush:{replica:*}:lease')).length;
}

describe('a replica that dies', () => {
  it('has its members removed by the survivors, who tell everyone left within 10 s', async () => {
    const alice = track(await createRoom(survivor.url, 'alice'));
    const tess = track(await joinRoom(inProcess.url, alice.roomId, 'tess'));
    track(await joinRoom(victim.url, alice.roomId, 'kim'));
    const kit = track(await joinRoom(victim.url, alice.roomId, 'kit'));
    expect(kit.joined.data.members.map((m) => m.name).sort()).toEqual([
      'alice',
      'kim',
      'kit',
      'tess',
    ]);
    const victimIds = kit.joined.data.members
      .filter((m) => m.name === 'kim' || m.name === 'kit')
      .map((m) => m.id)
      .sort();
    // A room that lives only on the victim.
    const kira = track(await createRoom(victim.url, 'kira'));
    track(await joinRoom(victim.url, kira.roomId, 'kora'));
    await eventually('every replica to hold a lease', async () => (await leases()) === 5);

    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    for (const watcher of [alice.client, tess.client]) {
      const left = new Set<string>();
      while (left.size < 2) {
        const remaining = EVICTION_DEADLINE_MS - (Date.now() - killedAt);
        left.add((await watcher.next(ServerType.MemberLeft, Math.max(remaining, 1))).data.id);
      }
      expect([...left].sort()).toEqual(victimIds);
    }
    expect(Date.now() - killedAt).toBeLessThan(EVICTION_DEADLINE_MS);

    // The room that lived only on the dead replica is gone, and so is its lease.
    expect(
      await eventually(
        'the orphaned room to disappear',
        async () => {
          const outcome = await joinOutcome(survivor.url, kira.roomId, 'late');
          return outcome === ErrorCode.RoomNotFound ? outcome : undefined;
        },
        5_000,
      ),
    ).toBe(ErrorCode.RoomNotFound);
    expect(await admin.keys(`hush:{${kira.roomId}}*`)).toEqual([]);
    expect(await leases()).toBe(4);

    // Each departure was announced once, and the room goes on.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(alice.client.messages().filter((m) => m.type === ServerType.MemberLeft)).toHaveLength(2);
    tess.client.send({
      type: ClientType.SendMessage,
      data: { iv: 'aXY', ciphertext: 'still-here' },
    });
    expect((await alice.client.next(ServerType.RelayMessage)).data.ciphertext).toBe('still-here');
    const late = track(await joinRoom(survivor.url, alice.roomId, 'kim'));
    expect(late.joined.data.members.map((m) => m.name).sort()).toEqual(['alice', 'kim', 'tess']);
  });
});

describe('a replica that stops gracefully', () => {
  it('tells the room its members left and removes its lease without waiting for a sweep', async () => {
    const alice = track(await createRoom(survivor.url, 'alice'));
    const gina = track(await joinRoom(leaver.url, alice.roomId, 'gina'));
    const ginaId = (await alice.client.next(ServerType.MemberJoined)).data.id;
    const before = await leases();

    const stoppedAt = Date.now();
    await leaver.stop();
    expect((await gina.client.closed).code).toBe(1001);
    expect((await alice.client.next(ServerType.MemberLeft, 3_000)).data.id).toBe(ginaId);
    expect(await leases()).toBe(before - 1);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    expect(await admin.hlen(`hush:{${alice.roomId}}:members`)).toBe(1);
  });
});

describe('a replica declared dead while it was only frozen', () => {
  it('is evicted, then comes back, registers its members again and announces them', async () => {
    const alice = track(await createRoom(survivor.url, 'alice'));
    const sam = track(await joinRoom(sleeper.url, alice.roomId, 'sam'));
    const samId = (await alice.client.next(ServerType.MemberJoined)).data.id;
    const sid = track(await joinRoom(sleeper.url, alice.roomId, 'sid'));
    const sidId = (await alice.client.next(ServerType.MemberJoined)).data.id;

    const two = async (client: TestClient, type: typeof ServerType.MemberLeft) => {
      const first = await client.next(type, EVICTION_DEADLINE_MS);
      const second = await client.next(type, 5_000);
      return [first.data.id, second.data.id].sort();
    };
    const twoJoined = async (client: TestClient) => {
      const first = await client.next(ServerType.MemberJoined, 5_000);
      const second = await client.next(ServerType.MemberJoined, 5_000);
      return [first.data.id, second.data.id].sort();
    };
    sleeper.freeze();
    try {
      expect(await two(alice.client, ServerType.MemberLeft)).toEqual([samId, sidId].sort());
    } finally {
      sleeper.thaw();
    }
    // Everyone hears of the eviction and the return, the frozen replica's own members included,
    // except about themselves: sid still sat in the room all along as far as sid can tell.
    expect(await twoJoined(alice.client)).toEqual([samId, sidId].sort());
    expect((await sid.client.next(ServerType.MemberLeft, 5_000)).data.id).toBe(samId);
    expect((await sid.client.next(ServerType.MemberJoined, 5_000)).data.id).toBe(samId);
    const aboutSelf = (client: TestClient, id: string) =>
      client
        .messages()
        .some(
          (m) =>
            (m.type === ServerType.MemberLeft || m.type === ServerType.MemberJoined) &&
            m.data.id === id,
        );
    expect(aboutSelf(sid.client, sidId)).toBe(false);
    expect(aboutSelf(sam.client, samId)).toBe(false);
    const newcomer = track(await joinRoom(survivor.url, alice.roomId, 'nina'));
    expect(newcomer.joined.data.members.map((m) => m.name).sort()).toEqual([
      'alice',
      'nina',
      'sam',
      'sid',
    ]);
    sam.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'awake' } });
    expect((await alice.client.next(ServerType.RelayMessage)).data.ciphertext).toBe('awake');
    alice.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'welcome' } });
    expect((await sam.client.next(ServerType.RelayMessage)).data.ciphertext).toBe('welcome');
  });
});
