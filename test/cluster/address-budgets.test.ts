/**
 * Budgets per client address across replicas sharing one Redis: a sender that reconnects to
 * another replica keeps its spent budget, a lockout earned on one replica holds on the others,
 * and the connection cap counts the address's connections on every replica.
 */
import { ClientType, ErrorCode, ServerType } from '@hush/protocol';
import { Redis } from 'ioredis';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unconfirmed } from '../../apps/relay/src/core/budgets/address-budgets.js';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { all, connect, join, metric, scrape, sleep, waitFor } from '../relay/helpers.js';
import { clusterConfig, eventually } from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestRelay } from '../support/relay.js';
import type { TestClient } from '../support/test-client.js';
import { createRoom } from '../support/test-client.js';

const CHAT_BUDGET = 30;
const JOIN_BUDGET = 15;
const MAX_FAILURES = 3;
const CONNECTION_CAP = 3;

let redis: TestRedis;
let a: RunningRelay;
let b: RunningRelay;
const clients: TestClient[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const config = clusterConfig(
    { url: redis.url },
    {
      limits: {
        maxConnectionsPerIp: CONNECTION_CAP,
        addressRate: {
          chat: { events: CHAT_BUDGET, windowMs: 60_000 },
          join: { events: JOIN_BUDGET, windowMs: 60_000 },
        },
      },
      lockout: { maxFailures: MAX_FAILURES, windowMs: 60_000, durationMs: 60_000 },
      // Test clients share 127.0.0.1; the budgets under test use their own addresses.
      server: { trustedProxies: ['127.0.0.1'], headerTimeoutMs: 60_000 },
    },
  );
  [a, b] = await Promise.all([startTestRelay(config), startTestRelay(config)]);
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([a, b].map((relay) => relay?.stop()));
  await redis?.stop();
});

/** A client that the relays see as `address` (through their trusted proxy, 127.0.0.1). */
async function from(address: string, relay: RunningRelay): Promise<TestClient> {
  const client = await connect(relay.url, { forwardedFor: address });
  clients.push(client);
  return client;
}

describe('address budgets across replicas', () => {
  it('hold a sender that reconnects to other replicas to one chat budget', async () => {
    const owner = await createRoom(a.url, 'owner');
    clients.push(owner.client);
    const sender = '198.51.100.20';
    for (let w = 0; w < 12; w++) {
      const worker = await from(sender, w % 2 === 0 ? a : b);
      await join(worker, owner.roomId, `worker${w}`);
      for (let i = 0; i < 10; i++) {
        worker.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext: `w${w}-${i}` } });
      }
      worker.send({ type: ClientType.LeaveRoom, data: {} });
      await sleep(20);
      await worker.close(); // the address's connection cap is 3
    }
    await sleep(500);
    const relayed = all(owner.client, ServerType.RelayMessage).length;
    // Per connection, 120 would pass; per replica, 60. Shared, the budget passes, plus at most
    // what the other replica may count before the cluster confirms it: a quarter budget.
    expect(relayed).toBeGreaterThanOrEqual(CHAT_BUDGET - 2);
    expect(relayed).toBeLessThanOrEqual(CHAT_BUDGET + unconfirmed(CHAT_BUDGET));
    const hits = await Promise.all(
      [a, b].map(async (relay) =>
        metric(await scrape(relay.url), 'hush_rate_limit_hits_total', { kind: 'address_chat' }),
      ),
    );
    expect(hits.every((count) => count > 0)).toBe(true);
  });

  it('hold room creations from one address, on any replica, to one budget', async () => {
    const maker = '198.51.100.21';
    let created = 0;
    for (let i = 0; i < 2 * JOIN_BUDGET; i++) {
      const client = await from(maker, i % 2 === 0 ? a : b);
      client.send({
        type: ClientType.CreateRoom,
        data: { name: `maker${i}`, password: '', ephemeral: 0, expiry: 0 },
      });
      const answer = await waitFor(
        client,
        (received) =>
          received.find((m) => m.type === ServerType.RoomJoined || m.type === ServerType.Error),
        'an answer',
      );
      if (answer.type === ServerType.RoomJoined) created++;
      else expect(answer.type === ServerType.Error && answer.data.code).toBe(ErrorCode.RateLimited);
      await client.close();
      await sleep(30);
    }
    expect(created).toBeGreaterThanOrEqual(JOIN_BUDGET - 1);
    expect(created).toBeLessThanOrEqual(JOIN_BUDGET + 2);
  });

  it('lock an address out on every replica once it failed too often on one', async () => {
    const guesser = '198.51.100.22';
    const owner = await createRoom(b.url, 'guarded');
    clients.push(owner.client);
    for (let i = 0; i < MAX_FAILURES; i++) {
      const client = await from(guesser, a);
      client.send({
        type: ClientType.JoinRoom,
        data: { roomId: 'y'.repeat(21), name: 'guess', password: '' },
      });
      expect((await client.next(ServerType.Error)).data.code).toBe(ErrorCode.RoomNotFound);
      await client.close();
    }
    // The lock goes out with a's next sync (within BUDGET_SYNC_MS); then replica b, which never
    // saw this address fail, must refuse its join to a room that exists.
    const admin = new Redis(redis.url);
    try {
      await eventually(
        'the lock in Redis',
        async () => (await admin.pttl(`hush:{a:${guesser}}:lock`)) > 0,
      );
    } finally {
      admin.disconnect();
    }
    const elsewhere = await from(guesser, b);
    elsewhere.send({
      type: ClientType.JoinRoom,
      data: { roomId: owner.roomId, name: 'late', password: '' },
    });
    expect((await elsewhere.next(ServerType.Error)).data.code).toBe(ErrorCode.LockedOut);
    expect(all(owner.client, ServerType.MemberJoined)).toEqual([]);
  });
});

/** An unfinished request from `from` to `relay`: counted at accept, held open. */
async function halfRequest(relay: RunningRelay, address: string): Promise<Socket> {
  const { hostname, port } = new URL(relay.url);
  const socket = tcpConnect({ host: hostname, port: Number(port), localAddress: address });
  socket.on('error', () => undefined);
  sockets.push(socket);
  await once(socket, 'connect');
  socket.write('GET /ws HTTP/1.1\r\nHost: relay\r\n');
  return socket;
}

function refusedWith429(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.once('close', () => resolve(text.startsWith('HTTP/1.1 429')));
    setTimeout(() => resolve(false), 2_000);
  });
}

describe('the connection cap across replicas', () => {
  it("counts an address's connections on every replica", async () => {
    const peer = '127.0.0.9';
    await halfRequest(a, peer);
    await halfRequest(a, peer);
    await halfRequest(b, peer);
    // Each replica publishes its open connections; once they have heard from each other the
    // address is at its cap everywhere.
    await sleep(800);
    expect(await refusedWith429(await halfRequest(b, peer))).toBe(true);
    expect(await refusedWith429(await halfRequest(a, peer))).toBe(true);
  });
});
