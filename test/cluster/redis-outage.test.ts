/**
 * Redis goes away and comes back empty (the test server keeps no data across a restart): the
 * replicas stay up, report the degradation on /readyz only, and restore subscriptions and
 * presence on their own.
 */
import { ClientType, ErrorCode, Feature, ServerType } from '@hush/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { clusterConfig, eventually, httpStatus, readyStatus } from '../support/cluster.js';
import { command, startRedis, type TestRedis } from '../support/redis.js';
import { startTestRelay } from '../support/relay.js';
import { connect, join } from '../relay/helpers.js';
import { createRoom, joinRoom, TestClient } from '../support/test-client.js';

let redis: TestRedis;
let a: RunningRelay;
let b: RunningRelay;
let late: RunningRelay | undefined;
const clients: TestClient[] = [];
const config = () => clusterConfig({ url: redis.url, selfCheckMs: 1_000 });

beforeAll(async () => {
  redis = await startRedis();
  [a, b] = await Promise.all([startTestRelay(config()), startTestRelay(config())]);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([a, b, late].map((relay) => relay?.stop()));
  await redis?.stop();
});

function track<T extends { client: TestClient }>(value: T): T {
  clients.push(value.client);
  return value;
}

const statuses = (path: string) => Promise.all([a, b].map((relay) => httpStatus(relay.url, path)));

describe('a Redis outage', () => {
  it('reports itself degraded but stays ready, then restores delivery and presence without restarting replicas', async () => {
    const readiness = () => Promise.all([a, b].map((relay) => readyStatus(relay.url)));
    await eventually('both replicas ready', async () =>
      (await readiness()).every((status) => status === 'ready'),
    );
    const alice = track(await createRoom(a.url, 'alice'));
    // Bob negotiates `gaps`: what the outage loses shows as a jump in alice's numbers.
    const bobClient = await connect(b.url, { features: [Feature.Gaps] });
    clients.push(bobClient);
    const bob = await join(bobClient, alice.roomId, 'bob');
    await alice.client.next(ServerType.MemberJoined);
    alice.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'first' } });
    const first = await bob.client.next(ServerType.RelayMessage);
    expect(first.data).toMatchObject({ ciphertext: 'first', seq: 1 });

    // Liveness is sampled all along the outage.
    const liveness: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        liveness.push(...(await statuses('/healthz')));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();

    const runId = async () =>
      /run_id:(\w+)/.exec(String(await command(redis.host, redis.port, ['INFO', 'server'])))?.[1];
    const before = await runId();
    try {
      await redis.pause();
      // Every replica shares the outage: readiness stays 200 (the page and the WebSocket
      // endpoint stay reachable), reporting the degradation, while clients are told to retry.
      await eventually('both replicas degraded', async () =>
        (await readiness()).every((status) => status === 'degraded'),
      );
      expect(await statuses('/readyz')).toEqual([200, 200]);
      const body = (await (await fetch(`${a.url}/readyz`)).json()) as { reasons: string[] };
      expect(body.reasons.join(' ')).toMatch(/redis/);
      // At least one liveness sample certainly falls inside the outage, however short it is.
      const duringOutage = await statuses('/healthz');
      expect(duringOutage).toEqual([200, 200]);
      liveness.push(...duringOutage);

      // While Redis is down a sender learns that the others may have missed the message, and a
      // join is refused as unavailable rather than left hanging.
      alice.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'lost' } });
      expect((await alice.client.next(ServerType.Error)).data.code).toBe(ErrorCode.Unavailable);
      const refused = await TestClient.connect(a.url);
      clients.push(refused);
      refused.send({
        type: ClientType.JoinRoom,
        data: { roomId: alice.roomId, name: 'eve', password: '' },
      });
      expect((await refused.next(ServerType.Error)).data.code).toBe(ErrorCode.Unavailable);

      await redis.resume();
      // A new server process without persistence: everything the replicas had written is gone.
      expect(await runId()).not.toBe(before);
      await eventually(
        'both replicas ready again',
        async () => (await readiness()).every((status) => status === 'ready'),
        20_000,
      );
    } finally {
      sampling = false;
      await sampler;
    }
    expect(liveness.every((status) => status === 200)).toBe(true);

    // Delivery resumes both ways on the same connections. The message lost in the outage left a
    // hole in alice's numbers that bob can count: 2 never came.
    alice.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'back-a' } });
    expect((await bob.client.next(ServerType.RelayMessage)).data).toMatchObject({
      ciphertext: 'back-a',
      seq: 3,
    });
    bob.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'back-b' } });
    expect((await alice.client.next(ServerType.RelayMessage)).data.ciphertext).toBe('back-b');
    expect(
      bob.client
        .messages()
        .some((m) => m.type === ServerType.RelayMessage && m.data.ciphertext === 'lost'),
    ).toBe(false);

    // Presence came back: newcomers on either replica see the members from before the outage.
    const carol = track(await joinRoom(a.url, alice.roomId, 'carol'));
    expect(carol.joined.data.members.map((m) => m.name).sort()).toEqual(['alice', 'bob', 'carol']);
    const dave = track(await joinRoom(b.url, alice.roomId, 'dave'));
    expect(dave.joined.data.members.map((m) => m.name).sort()).toEqual([
      'alice',
      'bob',
      'carol',
      'dave',
    ]);
    // ...and the rules with it: bob's nickname is still taken.
    const clash = await TestClient.connect(a.url);
    clients.push(clash);
    clash.send({
      type: ClientType.JoinRoom,
      data: { roomId: alice.roomId, name: 'BOB', password: '' },
    });
    expect((await clash.next(ServerType.Error)).data.code).toBe(ErrorCode.NameTaken);
  });
});

describe('a replica started while Redis is down', () => {
  it('serves probes unready, then connects and becomes ready when Redis appears', async () => {
    await redis.pause();
    try {
      late = await startTestRelay(config());
      expect(await httpStatus(late.url, '/readyz')).toBe(503);
      expect(await httpStatus(late.url, '/healthz')).toBe(200);
    } finally {
      await redis.resume();
    }
    const replica = late;
    await eventually(
      'the late replica to become ready',
      async () => (await httpStatus(replica.url, '/readyz')) === 200,
      20_000,
    );
    await eventually(
      'the others to be ready again',
      async () => (await statuses('/readyz')).every((status) => status === 200),
      20_000,
    );
    const host = track(await createRoom(replica.url, 'host'));
    const guest = track(await joinRoom(a.url, host.roomId, 'guest'));
    expect(guest.joined.data.members.map((m) => m.name).sort()).toEqual(['guest', 'host']);
    guest.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'hello' } });
    expect((await host.client.next(ServerType.RelayMessage)).data.ciphertext).toBe('hello');
  });
});
