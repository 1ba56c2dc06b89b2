/**
 * Log lines cannot be amplified by clients or by an outage: a fault that repeats is written once
 * per cause per interval, not once per occurrence. Checked on real relay processes, reading what
 * they write to stdout.
 */
import { ClientType, ServerType } from '@hush/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closedWithin,
  connect,
  connectAndCreate,
  connectAndJoin,
  sleep,
} from '../relay/helpers.js';
import type { ReplicaProcess } from '../support/cluster.js';
import { spawnReplica } from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import type { TestClient } from '../support/test-client.js';

let redis: TestRedis;
const replicas: ReplicaProcess[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await Promise.all(replicas.map((replica) => replica.stop()));
  await redis?.stop();
});

/** Log lines of `replica` whose message is `message`. */
function lines(replica: ReplicaProcess, message: string): Record<string, unknown>[] {
  return replica
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry['msg'] === message);
}

describe('log volume', () => {
  it('writes one line, not one per client, for a flood of oversized frames', async () => {
    const replica = await spawnReplica({ HUSH_LOG_LEVEL: 'info', HUSH_MAX_FRAME_BYTES: '2048' });
    replicas.push(replica);
    const oversized = new Uint8Array(4096);
    for (let i = 0; i < 60; i++) {
      const client = await connect(replica.url);
      client.sendRaw(oversized);
      expect((await closedWithin(client, 3000)).code).toBe(1009);
    }
    const written = lines(replica, 'client connection error');
    expect(written.length).toBeGreaterThanOrEqual(1);
    expect(written.length).toBeLessThanOrEqual(2);
    expect(JSON.stringify(written)).not.toContain('"stack"');
  });

  it('writes one line, not one per message, while Redis is unreachable', async () => {
    const replica = await spawnReplica({ HUSH_LOG_LEVEL: 'info', REDIS_URL: redis.url });
    replicas.push(replica);
    const alice = await connectAndCreate(replica.url, 'alice');
    const bob = await connectAndJoin(replica.url, alice.roomId, 'bob');
    clients.push(alice.client, bob.client);
    await redis.pause();
    try {
      for (let i = 0; i < 8; i++) {
        alice.client.send({
          type: ClientType.SendMessage,
          data: { iv: 'iv', ciphertext: `m${i}` },
        });
      }
      // Local members are still served; each publish to the other replicas fails.
      for (let i = 0; i < 8; i++) await bob.client.next(ServerType.RelayMessage);
      await sleep(3500); // the command timeout of the failing publishes
    } finally {
      await redis.resume();
    }
    const faults = lines(replica, 'relay fault');
    expect(faults.length).toBeGreaterThanOrEqual(1);
    expect(faults.length).toBeLessThanOrEqual(2);
    expect(JSON.stringify(faults)).not.toContain('"stack"');
  });
});
