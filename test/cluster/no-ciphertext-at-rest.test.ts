/**
 * Ciphertext is only ever published, never stored: after heavy traffic with distinctive payloads
 * across replicas, no Redis key or value contains any of them (nor a client's password hash).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ClientMessage } from '@hush/protocol';
import { ClientType, ServerType } from '@hush/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { clusterConfig, eventually } from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestRelay } from '../support/relay.js';
import { createRoom, joinRoom, type TestClient } from '../support/test-client.js';

let redis: TestRedis;
let admin: Redis;
let a: RunningRelay;
let b: RunningRelay;
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  const config = clusterConfig({ url: redis.url });
  [a, b] = await Promise.all([startTestRelay(config), startTestRelay(config)]);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([a, b].map((relay) => relay?.stop()));
  admin?.disconnect();
  await redis?.stop();
});

/** Every key name with everything stored under it, as raw bytes. */
async function dumpRedis(): Promise<Map<string, Buffer>> {
  const dump = new Map<string, Buffer>();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scanBuffer(cursor, 'COUNT', 1000);
    cursor = next.toString();
    for (const key of keys) {
      const type = await admin.type(key);
      let parts: Buffer[];
      switch (type) {
        case 'string':
          parts = [(await admin.getBuffer(key)) ?? Buffer.alloc(0)];
          break;
        case 'hash':
          parts = Object.entries(await admin.hgetallBuffer(key)).flatMap(([field, value]) => [
            Buffer.from(field),
            value,
          ]);
          break;
        case 'set':
          parts = await admin.smembersBuffer(key);
          break;
        case 'zset':
          parts = await admin.zrangeBuffer(key, 0, -1, 'WITHSCORES');
          break;
        case 'list':
          parts = await admin.lrangeBuffer(key, 0, -1);
          break;
        case 'none':
          continue;
        default:
          throw new Error(`unexpected key type ${type}`);
      }
      dump.set(key.toString(), Buffer.concat([key, ...parts]));
    }
  } while (cursor !== '0');
  return dump;
}

describe('what Redis holds after heavy traffic', () => {
  it('contains no ciphertext, in any encoding, and no client password hash', async () => {
    const secrets: { label: string; bytes: Buffer }[] = [];
    const binary = () => {
      const bytes = randomBytes(64);
      secrets.push(
        { label: 'binary', bytes },
        { label: 'binary as base64', bytes: Buffer.from(bytes.toString('base64')) },
        { label: 'binary as base64url', bytes: Buffer.from(bytes.toString('base64url')) },
        { label: 'binary as hex', bytes: Buffer.from(bytes.toString('hex')) },
      );
      return new Uint8Array(bytes);
    };
    const text = () => {
      const value = randomBytes(48).toString('base64url');
      secrets.push({ label: 'base64url string', bytes: Buffer.from(value) });
      return value;
    };
    const passwordHash = createHash('sha256').update('correct horse battery staple').digest('hex');
    secrets.push({ label: 'password hash', bytes: Buffer.from(passwordHash) });

    const rooms = [];
    for (let r = 0; r < 3; r += 1) {
      const owner = await createRoom(r % 2 === 0 ? a.url : b.url, `owner${r}`, {
        password: passwordHash,
      });
      const guest = await joinRoom(
        r % 2 === 0 ? b.url : a.url,
        owner.roomId,
        `guest${r}`,
        passwordHash,
      );
      clients.push(owner.client, guest.client);
      rooms.push({ owner, guest });
    }

    for (let round = 0; round < 40; round += 1) {
      for (const { owner, guest } of rooms) {
        const messages: ClientMessage[] = [
          { type: ClientType.SendMessage, data: { iv: binary(), ciphertext: binary() } },
          { type: ClientType.SendMessage, data: { iv: text(), ciphertext: text() } },
          { type: ClientType.SendReaction, data: { iv: text(), ciphertext: binary() } },
          { type: ClientType.Typing, data: { iv: text(), ciphertext: text() } },
          {
            type: ClientType.SendFileMeta,
            data: { transferId: `t-${round}`, iv: binary(), ciphertext: text() },
          },
          {
            type: ClientType.SendFileChunk,
            data: { transferId: `t-${round}`, index: 0, iv: text(), data: binary() },
          },
          { type: ClientType.SendFileComplete, data: { transferId: `t-${round}` } },
        ];
        for (const message of messages) (round % 2 === 0 ? owner : guest).client.send(message);
      }
    }
    // A last message each way; per-sender order means everything before it went through too.
    for (const { owner, guest } of rooms) {
      const last = text();
      owner.client.send({ type: ClientType.SendMessage, data: { iv: text(), ciphertext: last } });
      guest.client.send({ type: ClientType.SendMessage, data: { iv: text(), ciphertext: last } });
      for (const receiver of [owner.client, guest.client]) {
        await eventually('the last message', () =>
          receiver
            .messages()
            .some((m) => m.type === ServerType.RelayMessage && m.data.ciphertext === last),
        );
      }
      expect(
        owner.client.messages().filter((m) => m.type === ServerType.RelayFileComplete),
      ).toHaveLength(20);
    }

    const dump = await dumpRedis();
    // The scan sees the presence keys (and thus could see a leak): rooms, members, a nickname.
    const everything = Buffer.concat([...dump.values()]);
    expect([...dump.keys()].filter((key) => key.endsWith(':meta'))).toHaveLength(3);
    expect(everything.includes('guest1')).toBe(true);
    for (const { label, bytes } of secrets) {
      const leaks = [...dump].filter(([, value]) => value.includes(bytes)).map(([key]) => key);
      expect(leaks, `${label} found in Redis`).toEqual([]);
    }
  });
});
