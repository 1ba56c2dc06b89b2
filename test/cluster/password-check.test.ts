/**
 * Room passwords in cluster mode: Redis holds only a scrypt of the client's SHA-256 hex, under a
 * per-room salt and with its parameters, so a stolen copy of Redis costs a slow KDF per guess.
 * The wire format is unchanged, and a flood of password joins neither stalls the relay nor
 * queues KDF work without bound.
 */
import { createHash, scryptSync } from 'node:crypto';
import { ClientType, ErrorCode, ServerType } from '@hush/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { clusterConfig, eventually } from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestRelay } from '../support/relay.js';
import { createRoom, joinRoom, TestClient } from '../support/test-client.js';

/** What Arthas clients send as `password`: the SHA-256 hex of what the user typed. */
const clientHash = (password: string) => createHash('sha256').update(password).digest('hex');
const PASSWORD = clientHash('correct horse battery staple');
const FLOOD = 60;

let redis: TestRedis;
let admin: Redis;
let a: RunningRelay;
let b: RunningRelay;
const clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  // The flood opens more sockets from one address than the default per-address cap.
  const config = clusterConfig({ url: redis.url }, { limits: { maxConnectionsPerIp: 0 } });
  [a, b] = await Promise.all([startTestRelay(config), startTestRelay(config)]);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all([a, b].map((relay) => relay?.stop()));
  admin?.disconnect();
  await redis?.stop();
});

/** The error code a JoinRoom gets, or 'joined'. */
async function joinAnswer(url: string, roomId: string, password: string): Promise<string> {
  const client = await TestClient.connect(url);
  clients.push(client);
  client.send({
    type: ClientType.JoinRoom,
    data: { roomId, name: `guest-${clients.length}`, password },
  });
  const answer = await eventually(
    'RoomJoined or Error',
    () =>
      client
        .messages()
        .find((m) => m.type === ServerType.RoomJoined || m.type === ServerType.Error),
    30_000,
    20,
  );
  return answer.type === ServerType.Error ? answer.data.code : 'joined';
}

describe('room passwords in Redis', () => {
  it('are stored as scrypt of the client hash under the stored salt and parameters', async () => {
    const owner = await TestClient.connect(a.url);
    clients.push(owner);
    owner.send({
      type: ClientType.CreateRoom,
      data: { name: 'olga', password: PASSWORD, ephemeral: 0, expiry: 0 },
    });
    const { roomId } = (await owner.next(ServerType.RoomCreated)).data;
    expect((await owner.next(ServerType.RoomJoined)).data.hasPassword).toBe(true);

    const meta = await admin.hgetall(`hush:{${roomId}}:meta`);
    const match = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([\w-]+)\$([\w-]+)$/.exec(meta.check ?? '');
    expect(match, `check value ${meta.check}`).not.toBeNull();
    const [, ln, r, p, salt, key] = match as unknown as string[];
    const recomputed = scryptSync(PASSWORD, Buffer.from(salt as string, 'base64url'), 32, {
      N: 2 ** Number(ln),
      r: Number(r),
      p: Number(p),
    });
    expect(recomputed.toString('base64url')).toBe(key);
    expect(Number(ln)).toBeGreaterThanOrEqual(14);
    // Nothing else in the room's metadata helps a guesser: no fast hash, no client hash.
    expect(meta.salt ?? '').toBe('');
    expect(JSON.stringify(meta)).not.toContain(PASSWORD);

    // A room without a password stores no check value at all.
    const open = await createRoom(a.url, 'alice');
    clients.push(open.client);
    expect(await admin.hget(`hush:{${open.roomId}}:meta`, 'check')).toBe('');
  });

  it('refuse a wrong password with E006 and admit the right one, on any replica', async () => {
    const owner = await createRoom(a.url, 'olga', { password: PASSWORD });
    clients.push(owner.client);
    expect(await joinAnswer(b.url, owner.roomId, clientHash('Correct horse battery staple'))).toBe(
      ErrorCode.WrongPassword,
    );
    expect(await joinAnswer(b.url, owner.roomId, '')).toBe(ErrorCode.WrongPassword);
    const guest = await joinRoom(b.url, owner.roomId, 'guest', PASSWORD);
    clients.push(guest.client);
    expect(guest.joined.data.hasPassword).toBe(true);
    expect(guest.joined.data.members.map((m) => m.name).sort()).toEqual(['guest', 'olga']);
  });

  it('keep the relay serving while a flood of password joins runs its KDFs, answering every one', async () => {
    const owner = await createRoom(a.url, 'olga', { password: PASSWORD });
    clients.push(owner.client);
    const bob = await joinRoom(b.url, owner.roomId, 'bob', PASSWORD);
    clients.push(bob.client);

    const flood = Array.from({ length: FLOOD }, (_, i) =>
      joinAnswer(b.url, owner.roomId, clientHash(`guess ${i}`)),
    );
    // While the KDFs run on b, b still relays, answers probes and admits nobody by mistake.
    owner.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'still' } });
    expect((await bob.client.next(ServerType.RelayMessage, 10_000)).data.ciphertext).toBe('still');
    // No deadline: on a loaded machine a probe may be slow, but it is answered, not starved.
    const probe = await fetch(`${b.url}/healthz`, { signal: AbortSignal.timeout(30_000) });
    expect(probe.status).toBe(200);
    const answers = await Promise.all(flood);
    // Each guess is refused as wrong, or as busy when more were waiting than the bounded queue.
    expect(
      answers.filter((code) => code !== ErrorCode.WrongPassword && code !== ErrorCode.Unavailable),
    ).toEqual([]);
    expect(answers).toContain(ErrorCode.WrongPassword);

    // Once the flood has passed, the right password gets in again.
    const late = await joinRoom(b.url, owner.roomId, 'late', PASSWORD);
    clients.push(late.client);
    expect(late.joined.data.members.map((m) => m.name).sort()).toEqual(['bob', 'late', 'olga']);
  });
});
