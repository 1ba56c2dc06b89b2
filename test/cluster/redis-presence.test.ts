/**
 * The Redis presence adapter on its own, against a real Redis: the presence contract (the same
 * one the memory adapter passes), the same random sequences giving the same answers as the memory
 * adapter, and what only a shared store has to survive: a replica losing its lease, and Redis
 * losing everything (FLUSHALL).
 *
 * Here rather than next to the adapter: the `apps` project is the Docker-free unit run
 * (`npm run test:unit` provisions nothing), and this needs a Redis container.
 */
import { once } from 'node:events';
import type { Member } from '@hush/protocol';
import { ErrorCode } from '@hush/protocol';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MemoryPresence,
  MemoryPresenceStore,
} from '../../apps/relay/src/cluster/memory/memory.presence.js';
import type {
  Eviction,
  PresencePort,
  SeatLoss,
} from '../../apps/relay/src/cluster/presence.port.js';
import { AdmissionError } from '../../apps/relay/src/cluster/presence.port.js';
import { RedisLink } from '../../apps/relay/src/cluster/redis/redis.backends.js';
import { RedisKeys } from '../../apps/relay/src/cluster/redis/redis-keys.js';
import { RedisPresence } from '../../apps/relay/src/cluster/redis/redis.presence.js';
import { loadConfig } from '../../apps/relay/src/config/load-config.js';
import { eventually } from '../support/cluster.js';
import type { PresenceCluster } from '../support/presence-contract.js';
import {
  CAPACITY,
  describePresenceContract,
  ids,
  member,
  nowSeconds,
  OTHER_PASSWORD,
  outcome,
  PASSWORD,
  settings,
  testPasswords,
} from '../support/presence-contract.js';
import { startRedis, type TestRedis } from '../support/redis.js';

/** Short enough that a lost lease is noticed within a second, long enough for a loaded CI box. */
const HEARTBEAT_MS = 100;
const LEASE_TTL_MS = 600;

let redis: TestRedis;
let admin: Redis;
/** Each cluster gets its own key prefix, so tests sharing the server never see each other. */
let clusters = 0;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});

afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});

interface RedisReplica {
  presence: RedisPresence;
  link: RedisLink;
  announced: { roomId: string; member: Member; to: string[] | undefined }[];
  evictions: Eviction[];
  seatLosses: SeatLoss[];
}

/** Replicas of one cluster on the test Redis, made as the relay makes them (a RedisLink each). */
function redisCluster() {
  const keys = new RedisKeys(`hush-test-${(clusters += 1)}:`);
  const config = loadConfig({ env: {}, argv: [], overrides: { redis: { url: redis.url } } }).redis;
  const replicas: RedisReplica[] = [];
  const logger = pino({ level: 'silent' });

  async function replica(replicaId: string): Promise<RedisReplica> {
    const link = new RedisLink(config, replicaId, logger);
    const made: RedisReplica = {
      link,
      announced: [],
      evictions: [],
      seatLosses: [],
      presence: new RedisPresence({
        replicaId,
        link,
        keys,
        heartbeatMs: HEARTBEAT_MS,
        leaseTtlMs: LEASE_TTL_MS,
        logger,
        passwords: testPasswords(),
        announce: (roomId, joined, to) => made.announced.push({ roomId, member: joined, to }),
      }),
    };
    made.presence.onEviction((eviction) => made.evictions.push(eviction));
    made.presence.onSeatLost((loss) => made.seatLosses.push(loss));
    replicas.push(made);
    made.presence.start();
    await eventually(`replica ${replicaId} healthy`, () => made.presence.health().ok);
    return made;
  }

  async function dispose(): Promise<void> {
    // close() releases the link for presence; the second release stands for the fan-out's.
    await Promise.all(
      replicas.map(async ({ presence, link }) => {
        await presence.close();
        await link.release();
      }),
    );
  }

  return { replica, dispose };
}

function memoryCluster(): PresenceCluster {
  const store = new MemoryPresenceStore();
  return {
    replica: async (replicaId) => new MemoryPresence(replicaId, store, undefined, testPasswords()),
    dispose: async () => undefined,
  };
}

describePresenceContract('memory', memoryCluster);

describePresenceContract('redis', () => {
  const cluster = redisCluster();
  return {
    replica: async (replicaId) => (await cluster.replica(replicaId)).presence,
    dispose: cluster.dispose,
  };
});

describe('redis presence, compared with the memory adapter', () => {
  type Op =
    | { kind: 'create'; replica: 0 | 1; name: string; expired: boolean; password: boolean }
    | { kind: 'join'; replica: 0 | 1; room: number; name: string; password: 0 | 1 | 2; max: number }
    | { kind: 'leave'; pick: number };

  const NAMES = ['Alice', 'alice', 'A1ice', 'Bob', 'B0b', 'Carol'];
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('create' as const),
      replica: fc.constantFrom(0 as const, 1 as const),
      name: fc.constantFrom(...NAMES),
      expired: fc.boolean(),
      password: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('join' as const),
      replica: fc.constantFrom(0 as const, 1 as const),
      room: fc.nat(4),
      name: fc.constantFrom(...NAMES),
      password: fc.constantFrom(0 as const, 1 as const, 2 as const),
      max: fc.integer({ min: 1, max: 4 }),
    }),
    fc.record({ kind: fc.constant('leave' as const), pick: fc.nat() }),
  );

  /**
   * Plays `ops` on two replicas and records every answer: the refusal code, or who was in the
   * room. Created room ids are never reused (a remembered expired id is a collision in Redis but
   * not in memory; real ids are random, and collisions of live rooms are in the contract).
   */
  async function play(replicas: PresencePort[], ops: Op[]): Promise<string[]> {
    const answers: string[] = [];
    const rooms: string[] = [];
    const seated: { replica: PresencePort; roomId: string; memberId: string }[] = [];
    const passwords = ['', PASSWORD, OTHER_PASSWORD];
    for (const [index, step] of ops.entries()) {
      const id = `m${index}`;
      if (step.kind === 'create') {
        const roomId = `r${rooms.length}`;
        rooms.push(roomId);
        const replica = replicas[step.replica] as PresencePort;
        const room = settings({
          expiresAt: step.expired ? nowSeconds() - 5 : 0,
          passwordHash: step.password ? PASSWORD : '',
        });
        const snapshot = await replica.createRoom(roomId, room, member(id, step.name), CAPACITY);
        seated.push({ replica, roomId, memberId: id });
        answers.push(`create ${roomId}: ${ids(snapshot).join(',')} ${snapshot.hasPassword}`);
      } else if (step.kind === 'join') {
        const roomId = rooms[step.room % Math.max(1, rooms.length)] ?? 'r-none';
        const replica = replicas[step.replica] as PresencePort;
        const password = passwords[step.password] as string;
        try {
          const snapshot = await replica.joinRoom(
            roomId,
            password,
            member(id, step.name),
            step.max,
          );
          seated.push({ replica, roomId, memberId: id });
          answers.push(`join ${roomId}: ${ids(snapshot).join(',')}`);
        } catch (error) {
          if (!(error instanceof AdmissionError)) throw error;
          answers.push(`join ${roomId}: ${error.code}`);
        }
      } else if (seated.length > 0) {
        const [left] = seated.splice(step.pick % seated.length, 1);
        if (left !== undefined) {
          await left.replica.leaveRoom(left.roomId, left.memberId);
          answers.push(`leave ${left.roomId} ${left.memberId}`);
        }
      }
    }
    return answers;
  }

  it('gives the same answers for the same sequence of creates, joins and leaves', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const memory = memoryCluster();
        const inRedis = redisCluster();
        try {
          const fromMemory = await play(
            await Promise.all([memory.replica('a'), memory.replica('b')]),
            ops,
          );
          const replicas = await Promise.all([inRedis.replica('a'), inRedis.replica('b')]);
          const fromRedis = await play(
            replicas.map((replica) => replica.presence),
            ops,
          );
          expect(fromRedis).toEqual(fromMemory);
        } finally {
          await Promise.all([memory.dispose(), inRedis.dispose()]);
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('redis presence recovery', () => {
  let cluster: ReturnType<typeof redisCluster>;
  let a: RedisReplica;
  let b: RedisReplica;

  beforeEach(async () => {
    cluster = redisCluster();
    [a, b] = await Promise.all([cluster.replica('a'), cluster.replica('b')]);
  });

  afterEach(async () => {
    await cluster.dispose();
  });

  /** Cuts a replica off Redis without it closing: it stops renewing its lease. */
  async function cutOff(replica: RedisReplica): Promise<void> {
    const ended = once(replica.link.commands, 'end');
    replica.link.commands.disconnect();
    await ended;
  }

  async function reconnect(replica: RedisReplica): Promise<void> {
    await replica.link.commands.connect();
  }

  /** Who is in the room, as a probe joining it from replica b sees it (the probe leaves again). */
  async function membersOf(roomId: string, password = ''): Promise<string[]> {
    const probe = member(`probe-${Math.random().toString(36).slice(2)}`);
    const snapshot = await b.presence.joinRoom(roomId, password, probe, 100);
    await b.presence.leaveRoom(roomId, probe.id);
    return ids(snapshot).filter((id) => id !== probe.id);
  }

  it('reports a replica unhealthy while it cannot reach Redis, and healthy once it can', async () => {
    await cutOff(a);
    expect(a.presence.health()).toEqual({ ok: false, reason: 'redis unreachable' });
    expect(await outcome(a.presence.joinRoom('r1', '', member('m1'), CAPACITY))).toBe(
      ErrorCode.Unavailable,
    );
    await reconnect(a);
    await eventually('a healthy again', () => a.presence.health().ok);
  });

  it('evicts the members of a replica whose lease expired, and only those, once', async () => {
    await a.presence.createRoom('r1', settings(), member('m1', 'Alice'), CAPACITY);
    await a.presence.joinRoom('r1', '', member('m2', 'Bob'), CAPACITY);
    await b.presence.joinRoom('r1', '', member('m3', 'Carol'), CAPACITY);
    await a.presence.createRoom('r2', settings(), member('m4', 'Dan'), CAPACITY);
    await cutOff(a);

    const evicted = await eventually('b evicts a', () =>
      b.evictions.length >= 2 ? b.evictions : undefined,
    );
    const byRoom = Object.fromEntries(evicted.map((e) => [e.roomId, [...e.memberIds].sort()]));
    expect(byRoom).toEqual({ r1: ['m1', 'm2'], r2: ['m4'] });
    expect(evicted).toHaveLength(2);
    expect(await membersOf('r1')).toEqual(['m3']);
    expect(await outcome(b.presence.joinRoom('r2', '', member('m5'), CAPACITY))).toBe(
      ErrorCode.RoomNotFound,
    );
  });

  it('registers an evicted replica’s members again when it returns, unless their seat was taken', async () => {
    await a.presence.createRoom('r1', settings(), member('m1', 'Alice'), CAPACITY);
    await a.presence.joinRoom('r1', '', member('m2', 'Bob'), CAPACITY);
    await b.presence.joinRoom('r1', '', member('m3', 'Carol'), CAPACITY);
    await cutOff(a);
    await eventually('b evicts a', () => b.evictions.length > 0);
    // While Alice was gone, someone else took her nickname.
    await b.presence.joinRoom('r1', '', member('m4', 'alice'), CAPACITY);

    await reconnect(a);
    await eventually('a re-registers its members', () => a.announced.length > 0);
    await eventually('a healthy again', () => a.presence.health().ok);
    // Everyone heard that Bob left: everyone hears that he is back.
    expect(a.announced).toEqual([{ roomId: 'r1', member: member('m2', 'Bob'), to: undefined }]);
    expect(a.seatLosses).toEqual([
      { roomId: 'r1', memberId: 'm1', reason: 'seat-lost', announced: true },
    ]);
    expect(await membersOf('r1')).toEqual(['m2', 'm3', 'm4']);
    // Bob is a member again in every sense: his leave removes him.
    await a.presence.leaveRoom('r1', 'm2');
    expect(await membersOf('r1')).toEqual(['m3', 'm4']);
  });

  it('writes rooms and members back after FLUSHALL, password included, without evicting anyone', async () => {
    await a.presence.createRoom('r1', settings({ passwordHash: PASSWORD }), member('m1'), 3);
    await b.presence.joinRoom('r1', PASSWORD, member('m2'), CAPACITY);
    await a.presence.createRoom('r2', settings({ ephemeral: 60 }), member('m3'), CAPACITY);
    await admin.flushall();

    await eventually('r1 written back', async () =>
      (await membersOf('r1', PASSWORD)).join() === 'm1,m2' ? true : undefined,
    );
    expect(await outcome(b.presence.joinRoom('r1', OTHER_PASSWORD, member('m4'), 3))).toBe(
      ErrorCode.WrongPassword,
    );
    const r2 = await eventually('r2 written back', () =>
      b.presence.joinRoom('r2', '', member('m5'), CAPACITY),
    );
    expect(r2).toMatchObject({ ephemeral: 60, hasPassword: false });
    expect(ids(r2)).toEqual(['m3', 'm5']);
    expect([...a.evictions, ...b.evictions, ...a.seatLosses, ...b.seatLosses]).toEqual([]);
  });

  it('after FLUSHALL, refuses a returning member whose nickname a newcomer took, and tells the newcomer of the others', async () => {
    await a.presence.createRoom('r1', settings(), member('m1', 'Alice'), CAPACITY);
    await a.presence.joinRoom('r1', '', member('m2', 'Bob'), CAPACITY);
    await b.presence.joinRoom('r1', '', member('m3', 'Carol'), CAPACITY);
    await cutOff(a);
    await admin.flushall();
    await eventually('b writes its member back', async () =>
      (await membersOf('r1')).join() === 'm3' ? true : undefined,
    );
    await b.presence.joinRoom('r1', '', member('m4', 'ALICE'), CAPACITY);

    await reconnect(a);
    await eventually('a writes its members back', () => a.seatLosses.length > 0);
    expect(a.seatLosses).toEqual([
      { roomId: 'r1', memberId: 'm1', reason: 'seat-lost', announced: false },
    ]);
    // Nobody was told Bob left; only the newcomer, who joined after Redis lost him, needs telling.
    expect(a.announced).toEqual([{ roomId: 'r1', member: member('m2', 'Bob'), to: ['m4'] }]);
    expect(await membersOf('r1')).toEqual(['m2', 'm3', 'm4']);
    expect(b.evictions).toEqual([]);
  });

  it('after FLUSHALL, refuses returning members of a room that expired meanwhile', async () => {
    const expiresAt = nowSeconds() - 5;
    await a.presence.createRoom('r1', settings({ expiresAt }), member('m1'), CAPACITY);
    await admin.flushall();
    await eventually('a tries to write m1 back', () => a.seatLosses.length > 0);
    expect(a.seatLosses).toEqual([
      { roomId: 'r1', memberId: 'm1', reason: 'expired', announced: false },
    ]);
    expect(await outcome(b.presence.joinRoom('r1', '', member('m2'), CAPACITY))).toBe(
      ErrorCode.RoomNotFound,
    );
  });

  it('writes a mass disconnect as one script per room, not one per member', async () => {
    // A load balancer restart closes a replica's connections within seconds. One script per
    // member queued thousands of commands ahead of the lease renewal (measured: 75,000 members
    // over four replicas got every replica declared dead while its members were leaving).
    const rooms = 40;
    const size = 50;
    await Promise.all(
      Array.from({ length: rooms }, async (_, r) => {
        await a.presence.createRoom(`r${r}`, settings(), member(`r${r}-m0`), size);
        for (let m = 1; m < size; m++) {
          await a.presence.joinRoom(`r${r}`, '', member(`r${r}-m${m}`), size);
        }
      }),
    );
    const scripts = async () => {
      const stats = await admin.info('commandstats');
      return Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
    };
    const before = await scripts();
    await Promise.all(
      Array.from({ length: rooms * size }, (_, i) =>
        a.presence.leaveRoom(`r${Math.floor(i / size)}`, `r${Math.floor(i / size)}-m${i % size}`),
      ),
    );
    const ran = (await scripts()) - before;
    // One per room, plus the heartbeats and sweeps of both replicas meanwhile (a few dozen).
    expect(ran).toBeGreaterThanOrEqual(rooms);
    expect(ran).toBeLessThan(rooms * 3);
    for (let r = 0; r < rooms; r += 5) {
      expect(await outcome(b.presence.joinRoom(`r${r}`, '', member('late'), size))).toBe(
        ErrorCode.RoomNotFound,
      );
    }
    expect(b.evictions).toEqual([]);
  });

  it('keeps the leaves made while Redis was unreachable and records them once it is back', async () => {
    await a.presence.createRoom('r1', settings(), member('m1'), CAPACITY);
    await a.presence.joinRoom('r1', '', member('m2'), CAPACITY);
    await cutOff(a);
    await a.presence.leaveRoom('r1', 'm2');
    await reconnect(a);
    await eventually('the leave reaches redis', async () =>
      (await membersOf('r1')).join() === 'm1' ? true : undefined,
    );
    expect(a.seatLosses).toEqual([]);
  });
});
