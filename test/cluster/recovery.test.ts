/**
 * Room rules through every recovery path. A replica whose registration in Redis disappears (its
 * process was frozen past its lease and a survivor evicted its members; Redis was flushed or
 * restarted) registers its members again through the admission rules of a join: nicknames stay
 * unique and capacity bounded, the later claimant loses its seat with RoomClosed
 * {reason: "seat-lost"}, and a member never hears that it left and joined again itself.
 *
 * The frozen replica is a real process stopped with SIGSTOP; the others run in this process.
 */
import type { Member, ServerMessage } from '@hush/protocol';
import { ClientType, ErrorCode, nameKey, ServerType } from '@hush/protocol';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import {
  type ReplicaProcess,
  clusterConfig,
  eventually,
  readyStatus,
  spawnReplica,
} from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestRelay } from '../support/relay.js';
import { createRoom, joinRoom, TestClient } from '../support/test-client.js';

const CAPACITY = 3;
/** Survivors sweep every second; a frozen replica's 1 s lease is gone well within this. */
const EVICTION_DEADLINE_MS = 10_000;

let redis: TestRedis;
let admin: Redis;
/** Short lease, so a freeze of a second or two makes the others declare it dead. */
let frozen: ReplicaProcess;
let b: RunningRelay;
let c: RunningRelay;
let clients: TestClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  // Reconnects on its own after the restart test; the refused attempts meanwhile are expected.
  admin.on('error', () => undefined);
  const config = () => clusterConfig({ url: redis.url }, { limits: { maxRoomMembers: CAPACITY } });
  [frozen, b, c] = await Promise.all([
    spawnReplica({
      REDIS_URL: redis.url,
      HUSH_REDIS_HEARTBEAT_MS: '300',
      HUSH_REDIS_LEASE_TTL_MS: '1000',
      HUSH_MAX_ROOM_MEMBERS: String(CAPACITY),
      // Every test client shares one address: budgets as roomy as the in-process replicas'.
      HUSH_ADDRESS_RATE_JOIN: '100000/1000',
      HUSH_RATE_JOIN: '100000/1000',
      HUSH_MAX_CONNECTIONS_PER_IP: '0',
      HUSH_LOCKOUT_MAX_FAILURES: '1000000',
    }),
    startTestRelay(config()),
    startTestRelay(config()),
  ]);
});

afterEach(async () => {
  frozen?.thaw();
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
});

afterAll(async () => {
  await frozen?.stop();
  await Promise.all([b, c].map((relay) => relay?.stop()));
  admin?.disconnect();
  await redis?.stop();
});

interface Seat {
  client: TestClient;
  id: string;
  name: string;
}

async function host(url: string, name: string): Promise<Seat & { roomId: string }> {
  const seated = await createRoom(url, name);
  clients.push(seated.client);
  return { client: seated.client, id: seated.memberId, name, roomId: seated.roomId };
}

async function seat(url: string, roomId: string, name: string): Promise<Seat> {
  const { client, joined } = await joinRoom(url, roomId, name);
  clients.push(client);
  const self = joined.data.members.find((m) => m.name === name);
  if (self === undefined) throw new Error(`${name} missing from its RoomJoined`);
  return { client, id: self.id, name };
}

/**
 * Seats `name` through the replica that will be frozen, and waits until `watcher` has heard of
 * it: a freeze right after the join must not hold back the join's own announcement.
 */
async function seatOnFrozen(watcher: Seat, roomId: string, name: string): Promise<Seat> {
  const seated = await seat(frozen.url, roomId, name);
  await eventually(`${name}'s MemberJoined to reach ${watcher.name}`, () =>
    watcher.client
      .messages()
      .some((m) => m.type === ServerType.MemberJoined && m.data.id === seated.id),
  );
  return seated;
}

/** The room as a client sees it: RoomJoined's members, then every MemberJoined and MemberLeft. */
function roster(client: TestClient): string[] {
  const members = new Map<string, string>();
  for (const message of client.messages()) {
    if (message.type === ServerType.RoomJoined) {
      members.clear();
      for (const m of message.data.members) members.set(m.id, m.name);
    } else if (message.type === ServerType.MemberJoined) {
      members.set(message.data.id, message.data.name);
    } else if (message.type === ServerType.MemberLeft) {
      members.delete(message.data.id);
    } else if (message.type === ServerType.RoomClosed) {
      members.clear();
    }
  }
  return [...members].map(([id, name]) => `${name}:${id}`).sort();
}

/** The room as Redis holds it. */
async function stored(roomId: string): Promise<{ members: string[]; names: string[] }> {
  const records = await admin.hgetall(`hush:{${roomId}}:members`);
  const members = Object.entries(records).map(([id, record]) => {
    const { name } = JSON.parse(record) as Member;
    return `${name}:${id}`;
  });
  const names = Object.keys(await admin.hgetall(`hush:{${roomId}}:names`));
  return { members: members.sort(), names: names.sort() };
}

/** Messages about `id` itself that a member must never get about itself. */
function aboutSelf(client: TestClient, id: string): ServerMessage[] {
  return client
    .messages()
    .filter(
      (m) =>
        (m.type === ServerType.MemberLeft || m.type === ServerType.MemberJoined) &&
        m.data.id === id,
    );
}

/** Freezes the replica until `watcher` has heard that every one of `ids` left. */
async function freezeUntilEvicted(watcher: TestClient, ids: string[]): Promise<void> {
  frozen.freeze();
  const left = new Set<string>();
  while (![...ids].every((id) => left.has(id))) {
    left.add((await watcher.next(ServerType.MemberLeft, EVICTION_DEADLINE_MS)).data.id);
  }
}

async function seatLost(client: TestClient): Promise<string> {
  return (await client.next(ServerType.RoomClosed, 10_000)).data.reason;
}

describe('a replica frozen past its lease, then thawed', () => {
  it('loses the seat of a member whose nickname an impostor took meanwhile', async () => {
    const bob = await host(b.url, 'bob');
    const alice = await seatOnFrozen(bob, bob.roomId, 'alice');

    await freezeUntilEvicted(bob.client, [alice.id]);
    const impostor = await seat(c.url, bob.roomId, 'Alice');
    frozen.thaw();

    expect(await seatLost(alice.client)).toBe('seat-lost');
    // The impostor keeps the name it took while alice was gone, and the room agrees on who is in.
    expect(await stored(bob.roomId)).toEqual({
      members: [`Alice:${impostor.id}`, `bob:${bob.id}`],
      names: ['alice', 'bob'],
    });
    expect(aboutSelf(alice.client, alice.id)).toEqual([]);

    // Back in the lobby, alice can join again under another name, as a new member.
    alice.client.send({
      type: ClientType.JoinRoom,
      data: { roomId: bob.roomId, name: 'alice (2)', password: '' },
    });
    const rejoined = await alice.client.next(ServerType.RoomJoined);
    const again = rejoined.data.members.find((m) => m.name === 'alice (2)');
    expect(again?.id).not.toBe(alice.id);
    const everyone = [`Alice:${impostor.id}`, `alice (2):${again?.id}`, `bob:${bob.id}`];
    expect((await stored(bob.roomId)).members).toEqual(everyone);
    await eventually('every member to see the same room as Redis', () =>
      [bob, impostor, alice].every(
        (m) => JSON.stringify(roster(m.client)) === JSON.stringify(everyone),
      ),
    );
  });

  it('loses the seat of a member whose room filled up meanwhile, keeping the room within capacity', async () => {
    const bob = await host(b.url, 'bob');
    const alice = await seatOnFrozen(bob, bob.roomId, 'alice');
    const carol = await seat(b.url, bob.roomId, 'carol');

    await freezeUntilEvicted(bob.client, [alice.id]);
    const dave = await seat(c.url, bob.roomId, 'dave');
    frozen.thaw();

    expect(await seatLost(alice.client)).toBe('seat-lost');
    const { members } = await stored(bob.roomId);
    expect(members).toEqual([`bob:${bob.id}`, `carol:${carol.id}`, `dave:${dave.id}`]);
    await eventually('every member to see the same room as Redis', () =>
      [bob, carol, dave].every((m) => JSON.stringify(roster(m.client)) === JSON.stringify(members)),
    );
    expect(aboutSelf(alice.client, alice.id)).toEqual([]);
  });

  it('gives members their seats back when nobody took them, without telling them they left', async () => {
    const bob = await host(b.url, 'bob');
    const alice = await seatOnFrozen(bob, bob.roomId, 'alice');
    const al = await seatOnFrozen(bob, bob.roomId, 'al');

    await freezeUntilEvicted(bob.client, [alice.id, al.id]);
    frozen.thaw();

    // The rest of the room saw them leave, so it sees them come back...
    const back = new Set<string>();
    while (back.size < 2) {
      back.add((await bob.client.next(ServerType.MemberJoined, EVICTION_DEADLINE_MS)).data.id);
    }
    expect([...back].sort()).toEqual([alice.id, al.id].sort());
    const everyone = [`al:${al.id}`, `alice:${alice.id}`, `bob:${bob.id}`];
    expect((await stored(bob.roomId)).members).toEqual(everyone);
    // ...while the two never hear of their own departure or return, and agree with everyone.
    await eventually('every member to see the same room as Redis', () =>
      [bob, alice, al].every((m) => JSON.stringify(roster(m.client)) === JSON.stringify(everyone)),
    );
    expect(await alice.client.quietFor(500, ServerType.RoomClosed)).toEqual([]);
    expect(aboutSelf(alice.client, alice.id)).toEqual([]);
    expect(aboutSelf(al.client, al.id)).toEqual([]);

    alice.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'awake' } });
    expect((await bob.client.next(ServerType.RelayMessage)).data.ciphertext).toBe('awake');
    bob.client.send({ type: ClientType.SendMessage, data: { iv: 'aXY', ciphertext: 'hello' } });
    expect((await alice.client.next(ServerType.RelayMessage)).data.ciphertext).toBe('hello');
  });
});

describe('Redis losing everything while new joins race in', () => {
  /**
   * The frozen replica re-registers last, so the newcomers certainly arrive first in Redis:
   * alice's name and carol's seat are taken by then.
   */
  async function loseRedisState(wipe: () => Promise<void>) {
    const bob = await host(b.url, 'bob');
    const alice = await seatOnFrozen(bob, bob.roomId, 'alice');
    const carol = await seatOnFrozen(bob, bob.roomId, 'carol');
    frozen.freeze();
    await wipe();
    // Replica b writes its member and the room's settings back from its mirror.
    await eventually(
      'b to register bob again',
      async () => (await admin.hexists(`hush:{${bob.roomId}}:members`, bob.id)) === 1,
      15_000,
    );
    const impostor = await seat(c.url, bob.roomId, 'ALICE');
    const dave = await seat(c.url, bob.roomId, 'dave');
    frozen.thaw();

    expect(await seatLost(alice.client)).toBe('seat-lost');
    expect(await seatLost(carol.client)).toBe('seat-lost');
    const everyone = [`ALICE:${impostor.id}`, `bob:${bob.id}`, `dave:${dave.id}`];
    expect(await stored(bob.roomId)).toEqual({
      members: everyone,
      names: ['alice', 'bob', 'dave'],
    });
    // Nobody had been told alice and carol left: now everyone is, once.
    await eventually('every member to see the same room as Redis', () =>
      [bob, impostor, dave].every(
        (m) => JSON.stringify(roster(m.client)) === JSON.stringify(everyone),
      ),
    );
    const leftAtBob = bob.client
      .messages()
      .filter((m) => m.type === ServerType.MemberLeft)
      .map((m) => (m.type === ServerType.MemberLeft ? m.data.id : ''));
    expect(leftAtBob.sort()).toEqual([alice.id, carol.id].sort());
    expect(aboutSelf(alice.client, alice.id)).toEqual([]);
    expect(aboutSelf(carol.client, carol.id)).toEqual([]);
  }

  it('after a FLUSHALL, keeps nicknames unique and the room within capacity', async () => {
    await loseRedisState(async () => {
      await admin.flushall();
    });
  });

  it('after a Redis restart, keeps nicknames unique and the room within capacity', async () => {
    await loseRedisState(async () => {
      await redis.pause();
      await redis.resume();
      await eventually(
        'b and c to be ready again',
        async () =>
          (await Promise.all([b, c].map((relay) => readyStatus(relay.url)))).every(
            (status) => status === 'ready',
          ),
        20_000,
      );
    });
  });

  it('after a FLUSHALL, announces a member written back late to those who joined meanwhile, only', async () => {
    const bob = await host(b.url, 'bob');
    const alice = await seatOnFrozen(bob, bob.roomId, 'alice');
    frozen.freeze();
    await admin.flushall();
    await eventually(
      'b to register bob again',
      async () => (await admin.hexists(`hush:{${bob.roomId}}:members`, bob.id)) === 1,
      15_000,
    );
    // Erin joins while alice is missing from Redis: her RoomJoined cannot list alice.
    const erin = await seat(c.url, bob.roomId, 'erin');
    frozen.thaw();

    expect((await erin.client.next(ServerType.MemberJoined, 10_000)).data).toMatchObject({
      id: alice.id,
      name: 'alice',
    });
    const everyone = [`alice:${alice.id}`, `bob:${bob.id}`, `erin:${erin.id}`];
    expect((await stored(bob.roomId)).members).toEqual(everyone);
    await eventually('every member to see the same room as Redis', () =>
      [bob, alice, erin].every(
        (m) => JSON.stringify(roster(m.client)) === JSON.stringify(everyone),
      ),
    );
    // Bob never stopped knowing alice: no second MemberJoined for her (Arthas would list her twice).
    await bob.client.quietFor(500, ServerType.MemberJoined);
    const aboutAlice = bob.client
      .messages()
      .filter((m) => m.type === ServerType.MemberJoined && m.data.id === alice.id);
    expect(aboutAlice).toHaveLength(1);
    expect(await alice.client.quietFor(0, ServerType.RoomClosed)).toEqual([]);
    expect(aboutSelf(alice.client, alice.id)).toEqual([]);
  });

  it('after a FLUSHALL raced by newcomers on every replica, ends with one room everyone agrees on', async () => {
    const bob = await host(b.url, 'bob');
    const alice = await seatOnFrozen(bob, bob.roomId, 'alice');
    const carol = await seat(b.url, bob.roomId, 'carol');
    const seats = [bob, alice, carol];
    await admin.flushall();
    // Newcomers want alice's nickname and the last seat, on every replica, as soon as the room is
    // back in Redis; the replicas write their members back at their own pace meanwhile.
    const racers = ['ALICE', 'dave', 'erin'].map(async (name, i) => {
      const url = [c.url, frozen.url, b.url][i] as string;
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const client = await TestClient.connect(url);
        clients.push(client);
        client.send({
          type: ClientType.JoinRoom,
          data: { roomId: bob.roomId, name, password: '' },
        });
        const answer = await eventually('an answer', () =>
          client
            .messages()
            .find((m) => m.type === ServerType.RoomJoined || m.type === ServerType.Error),
        );
        if (answer.type === ServerType.RoomJoined) {
          const self = answer.data.members.find((m) => m.name === name);
          seats.push({ client, id: self?.id ?? '', name });
          return;
        }
        await client.close();
        if (answer.data.code !== ErrorCode.RoomNotFound) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    await Promise.all(racers);

    // Once every replica has written its members back, Redis holds a valid room...
    const settled = await eventually(
      'the room to settle',
      async () => {
        const room = await stored(bob.roomId);
        const inRoom = seats.filter(
          (m) => !m.client.messages().some((x) => x.type === ServerType.RoomClosed),
        );
        const expected = inRoom.map((m) => `${m.name}:${m.id}`).sort();
        return JSON.stringify(room.members) === JSON.stringify(expected) ? { room, inRoom } : false;
      },
      15_000,
    );
    const { room, inRoom } = settled;
    expect(room.members.length).toBeLessThanOrEqual(CAPACITY);
    expect(room.names).toEqual([...new Set(inRoom.map((m) => nameKey(m.name)))].sort());
    expect(room.names).toHaveLength(inRoom.length);
    // ...every member still in it sees exactly that room, and nobody heard about itself.
    await eventually('every member to see the same room as Redis', () =>
      inRoom.every((m) => JSON.stringify(roster(m.client)) === JSON.stringify(room.members)),
    ).catch((error: unknown) => {
      const views = seats.map((m) => ({
        who: `${m.name}:${m.id}`,
        roster: roster(m.client),
        seen: m.client.messages().map((x) => `${x.type}:${JSON.stringify(x.data).slice(0, 60)}`),
      }));
      throw new Error(JSON.stringify({ room, views }, null, 1), { cause: error });
    });
    for (const m of seats) expect(aboutSelf(m.client, m.id)).toEqual([]);
    // A member that lost its seat was told why.
    for (const m of seats.filter((x) => !inRoom.includes(x))) {
      expect(await seatLost(m.client)).toBe('seat-lost');
    }
  });
});
