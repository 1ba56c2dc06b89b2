/**
 * A reconnect storm. Three replicas (real processes, Redis from testcontainers) behind a
 * round-robin TCP balancer hold 240 SDK sessions in 24 rooms; one replica is killed with
 * SIGKILL. While its clients are kept out, the members that stayed each send two messages; then
 * the balancer lets everyone back. Every client must return to its room, each returning client
 * must be told exactly how many messages it missed from each member who stayed (the `gaps`
 * feature), nobody else may be told of a gap, and the survivors must keep serving. Then a survivor
 * stalls past its lease: its members are evicted and written back under the same ids, and nobody
 * may be told of a gap that did not happen.
 */
import type { SessionEvent, SessionTarget } from '@hush/client';
import { MAX_INCOMING_FRAME_BYTES, Session, wsTransport } from '@hush/client';
import { generateRoomKey, type RoomKey } from '@hush/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { eventually, readyStatus, spawnReplica, type ReplicaProcess } from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { TcpBalancer } from '../support/tcp-balancer.js';

const ROOMS = 24;
const PER_ROOM = 10;
/** Messages each member who stayed sends while the killed replica's clients are away. */
const MISSED = 2;
/** Quick retries, so the test does not wait out the default 10 s backoff ceiling. */
const POLICY = { backoff: { baseMs: 200, maxMs: 2_000, factor: 2 } };

interface Client {
  name: string;
  room: number;
  session: Session;
  events: SessionEvent[];
}

/**
 * A replica's lease: a dead replica's members are evicted within it. Long enough that a survivor
 * slowed by a loaded machine (the full suite runs beside this test) keeps its own, short enough
 * that the test need not wait long.
 */
const LEASE_MS = 3_000;

let redis: TestRedis;
let replicas: ReplicaProcess[] = [];
let balancer: TcpBalancer;
const clients: Client[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const env = {
    REDIS_URL: redis.url,
    HUSH_REDIS_HEARTBEAT_MS: String(LEASE_MS / 6),
    HUSH_REDIS_LEASE_TTL_MS: String(LEASE_MS),
    // Every client reaches the replicas from the balancer's one address.
    HUSH_MAX_CONNECTIONS_PER_IP: '0',
  };
  replicas = await Promise.all([spawnReplica(env), spawnReplica(env), spawnReplica(env)]);
  balancer = await TcpBalancer.start(replicas.map((replica) => replica.url));
});

afterAll(async () => {
  await Promise.all(
    clients.map((client) =>
      Promise.race([client.session.leave(), new Promise((resolve) => setTimeout(resolve, 2_000))]),
    ),
  );
  await balancer?.stop();
  await Promise.all(replicas.map((replica) => replica.stop()));
  await redis?.stop();
});

function open(name: string, room: number, key: RoomKey, target: SessionTarget) {
  const session = new Session({
    url: `${balancer.url.replace(/^http/, 'ws')}/ws`,
    transport: wsTransport(WebSocket, { maxPayload: MAX_INCOMING_FRAME_BYTES }),
    name,
    key,
    client: 'hush-storm-test/1',
    target,
    // Unsigned: a signing client re-announces its key to every member who returns, and those
    // announcements would count among the messages a later returner missed.
    signing: 'none',
    policy: POLICY,
  });
  const client: Client = { name, room, session, events: [] };
  session.subscribe((event) => client.events.push(event));
  clients.push(client);
  session.start();
  return client;
}

const inRoom = (room: number) => clients.filter((client) => client.room === room);
const received = (client: Client) =>
  client.events.flatMap((e) =>
    e.type === 'message' ? [`${e.message.from.name}:${e.message.text}`] : [],
  );
const left = (client: Client) => client.events.filter((e) => e.type === 'member-left').length;
const gaps = (client: Client) =>
  client.events.flatMap((e) =>
    e.type === 'gap' ? [{ name: e.member.name, missed: e.missed }] : [],
  );

/** Fills the rooms: each creator first, then the other nine join through the balancer. */
async function fillRooms(): Promise<void> {
  await Promise.all(
    Array.from({ length: ROOMS }, async (_, room) => {
      const key = await generateRoomKey();
      const creator = open(`r${room}m0`, room, key, { kind: 'create', ephemeral: 0, expiry: 0 });
      const roomId = await eventually(
        'the room to be created',
        () => creator.events.flatMap((e) => (e.type === 'created' ? [e.roomId] : []))[0],
      );
      for (let i = 1; i < PER_ROOM; i++) open(`r${room}m${i}`, room, key, { kind: 'join', roomId });
    }),
  );
  await eventually(
    'every member to see a full room',
    () => clients.every((client) => client.session.members().length === PER_ROOM),
    60_000,
  );
}

describe('one of three replicas killed under a few hundred clients', () => {
  it('brings everyone back, tells returners exactly what they missed, and keeps serving', async () => {
    await fillRooms();
    const [victim, ...survivors] = replicas as [ReplicaProcess, ...ReplicaProcess[]];
    const held = balancer.connectionsTo(victim.url);
    // Round-robin spreads 240 connections evenly: about 80 on each replica.
    expect(held).toBeGreaterThan(40);

    balancer.refuseNew(true);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const away = await eventually(
      'the killed replica’s clients to notice',
      () => {
        const out = clients.filter((client) => !client.session.inRoom);
        return out.length === held ? out : undefined;
      },
      20_000,
    );
    const returners = new Set(away);
    const stayed = clients.filter((client) => !returners.has(client));
    const stayedIn = (room: number) => inRoom(room).filter((client) => !returners.has(client));

    // The survivors evict the dead replica's members: the rooms shrink to those who stayed.
    await eventually(
      'the survivors to evict the dead replica’s members',
      () =>
        stayed.every((client) => client.session.members().length === stayedIn(client.room).length),
      20_000,
    );

    for (const client of stayed) {
      for (let k = 1; k <= MISSED; k++) client.session.send(`while-away-${k}`);
    }
    await Promise.all(stayed.map((client) => client.session.drained()));
    await eventually(
      'everyone who stayed to receive what the others who stayed sent',
      () =>
        stayed.every(
          (client) =>
            received(client).filter((text) => text.includes(':while-away-')).length ===
            (stayedIn(client.room).length - 1) * MISSED,
        ),
      20_000,
    );

    balancer.refuseNew(false);
    await eventually(
      'every client to be back in a full room',
      () =>
        clients.every(
          (client) => client.session.inRoom && client.session.members().length === PER_ROOM,
        ),
      60_000,
    );
    await eventually(
      'every returner to hear where the others’ sequences stand',
      () => {
        for (const client of away) {
          const counted = gaps(client).filter((gap) => gap.missed !== undefined);
          const stayers = stayedIn(client.room).map((other) => other.name);
          // Thrown, not returned: on a timeout the last mismatch is the error's cause.
          if (counted.length !== stayers.length) {
            throw new Error(
              `${client.name} has gaps ${JSON.stringify(gaps(client))}; stayed: ${stayers.join(' ')}`,
            );
          }
        }
        return true;
      },
      20_000,
    );

    const returnerNames = new Set(away.map((client) => client.name));
    for (const client of away) {
      const counted = gaps(client).filter((gap) => gap.missed !== undefined);
      expect(Object.fromEntries(counted.map((gap) => [gap.name, gap.missed]))).toEqual(
        Object.fromEntries(stayedIn(client.room).map((other) => [other.name, MISSED])),
      );
      // Someone else who came back under a new id: what it sent under the old one is unknowable.
      for (const gap of gaps(client).filter((g) => g.missed === undefined)) {
        expect(returnerNames.has(gap.name)).toBe(true);
      }
      // And what it missed it did not receive twice, or at all.
      expect(received(client).filter((text) => text.includes(':while-away-'))).toEqual([]);
    }
    for (const client of stayed) expect(gaps(client)).toEqual([]);

    // A survivor stalls past its lease (as a loaded machine can make it): the other evicts its
    // members, then it writes them back under the same ids, whose counts carry on.
    const gapsBefore = clients.map((client) => gaps(client).length);
    const leftBefore = clients.reduce((sum, client) => sum + left(client), 0);
    const [stalled] = survivors as [ReplicaProcess];
    const stalledHeld = balancer.connectionsTo(stalled.url);
    stalled.freeze();
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 1_500));
    stalled.thaw();
    await eventually(
      'the stalled replica’s members to be seen leaving and written back',
      () =>
        clients.reduce((sum, client) => sum + left(client), 0) - leftBefore >= stalledHeld &&
        clients.every(
          (client) => client.session.inRoom && client.session.members().length === PER_ROOM,
        ),
      30_000,
    );

    // Back to normal: every message reaches every other member, and no gap is reported.
    for (const client of clients) client.session.send('after');
    await Promise.all(clients.map((client) => client.session.drained()));
    await eventually(
      'every member to receive everyone else’s message',
      () =>
        clients.every(
          (client) =>
            received(client).filter((text) => text.endsWith(':after')).length === PER_ROOM - 1,
        ),
      30_000,
    );
    expect(clients.map((client) => gaps(client).length)).toEqual(gapsBefore);

    for (const survivor of survivors) {
      expect(survivor.child.exitCode).toBeNull();
      expect(await readyStatus(survivor.url)).toBe('ready');
    }
  }, 180_000);
});
