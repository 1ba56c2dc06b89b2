/**
 * Redis Cluster: replicas connect as cluster clients, keep each room in one slot, and fan out
 * with sharded pub/sub (SSUBSCRIBE/SPUBLISH) or classic pub/sub.
 */
import { ClientType, ServerType } from '@hush/protocol';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { clusterConfig, eventually, readyStatus } from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestRelay } from '../support/relay.js';
import { createRoom, joinRoom, type TestClient } from '../support/test-client.js';

let redis: TestRedis;
let admin: Cluster;
const relays: RunningRelay[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis({ cluster: true });
  admin = new Cluster([{ host: redis.host, port: redis.port }]);
  // The restart below makes this client report errors while it reconnects.
  admin.on('error', () => undefined);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(relays.map((relay) => relay.stop()));
  admin?.disconnect();
  await redis?.stop();
});

async function pair(sharded: boolean, keyPrefix: string): Promise<[RunningRelay, RunningRelay]> {
  const config = clusterConfig({ url: redis.url, cluster: true, sharded, keyPrefix });
  const started = await Promise.all([startTestRelay(config), startTestRelay(config)]);
  relays.push(...started);
  await eventually('both replicas ready', async () =>
    (await Promise.all(started.map((relay) => readyStatus(relay.url)))).every(
      (status) => status === 'ready',
    ),
  );
  return started;
}

function track<T extends { client: TestClient }>(value: T): T {
  clients.push(value.client);
  return value;
}

async function exchange(alice: TestClient, bob: TestClient, count: number, tag: string) {
  for (let i = 0; i < count; i += 1) {
    alice.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: `${tag}-a-${i}` } });
    bob.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: `${tag}-b-${i}` } });
  }
  for (let i = 0; i < count; i += 1) {
    expect((await bob.next(ServerType.RelayMessage)).data.ciphertext).toBe(`${tag}-a-${i}`);
    expect((await alice.next(ServerType.RelayMessage)).data.ciphertext).toBe(`${tag}-b-${i}`);
  }
}

describe('Redis Cluster with sharded pub/sub', () => {
  it('lets members on two replicas see each other and exchange messages in order, also after a restart', async () => {
    const [a, b] = await pair(true, 'hush:');
    const alice = track(await createRoom(a.url, 'alice'));
    const bob = track(await joinRoom(b.url, alice.roomId, 'bob'));
    expect(bob.joined.data.members.map((m) => m.name).sort()).toEqual(['alice', 'bob']);
    expect((await alice.client.next(ServerType.MemberJoined)).data.name).toBe('bob');

    const channel = `hush:{${alice.roomId}}:ch`;
    const node = admin.nodes('master')[0];
    expect(await node?.call('PUBSUB', 'SHARDCHANNELS', channel)).toEqual([channel]);
    expect(await node?.call('PUBSUB', 'CHANNELS', channel)).toEqual([]);
    // A room's keys share its channel's hash tag, hence its slot.
    const slots = await Promise.all(
      [`hush:{${alice.roomId}}:meta`, `hush:{${alice.roomId}}:members`, channel].map((key) =>
        node?.call('CLUSTER', 'KEYSLOT', key),
      ),
    );
    expect(new Set(slots).size).toBe(1);

    await exchange(alice.client, bob.client, 50, 'before');

    await redis.pause();
    await redis.resume();
    await eventually(
      'both replicas ready again',
      async () =>
        (await Promise.all([a, b].map((relay) => readyStatus(relay.url)))).every(
          (status) => status === 'ready',
        ),
      30_000,
    );
    await exchange(alice.client, bob.client, 10, 'after');
    const carol = track(await joinRoom(a.url, alice.roomId, 'carol'));
    expect(carol.joined.data.members.map((m) => m.name).sort()).toEqual(['alice', 'bob', 'carol']);

    bob.client.send({ type: ClientType.LeaveRoom, data: {} });
    expect((await alice.client.next(ServerType.MemberLeft)).data.id).toBe(
      bob.joined.data.members.find((m) => m.name === 'bob')?.id,
    );
  });
});

describe('Redis Cluster with classic pub/sub', () => {
  it('relays between replicas in order', async () => {
    const [a, b] = await pair(false, 'classic:');
    const alice = track(await createRoom(a.url, 'alice'));
    const bob = track(await joinRoom(b.url, alice.roomId, 'bob'));
    await alice.client.next(ServerType.MemberJoined);
    const node = admin.nodes('master')[0];
    expect(await node?.call('PUBSUB', 'CHANNELS', `classic:{${alice.roomId}}:ch`)).toEqual([
      `classic:{${alice.roomId}}:ch`,
    ]);
    await exchange(alice.client, bob.client, 50, 'classic');
  });
});
