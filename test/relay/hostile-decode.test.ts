/**
 * Hostile frames against real relays: the corpus of pathological MessagePack (reference chains,
 * impossible lengths, deep nesting, large integers, every extension type, trailing bytes) sent by
 * one client, before and after it joins a room. Each frame is answered with E005, the client is
 * closed with 1008 once its invalid-frame budget is spent, and everybody else is unaffected: the
 * room keeps chatting and the probes answer. In cluster mode the replica that decodes them never
 * stalls long enough to lose its lease, so nobody is evicted.
 */
import { ClientType, ErrorCode, ServerType } from '@hush/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileFrames } from '../../libs/protocol/src/hostile-frames.js';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { httpStatus, spawnReplica, type ReplicaProcess } from '../support/cluster.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestRelay } from '../support/relay.js';
import type { Seated } from './helpers.js';
import {
  all,
  b64,
  closedWithin,
  connect,
  connectAndCreate,
  connectAndJoin,
  join,
  sleep,
  waitFor,
  waitForCount,
} from './helpers.js';
import type { TestClient } from '../support/test-client.js';

const corpus = hostileFrames();
/**
 * The frames the relay answers: all but unknown message types, which it ignores as the Arthas
 * server does (the codec still refuses them as E005 `unknown_type`).
 */
const answered = corpus.filter((frame) => frame.reason !== 'unknown_type');

/** Room traffic between two seated members arrives, both ways, with the right sender. */
async function chatBothWays(a: Seated, b: Seated): Promise<void> {
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const ciphertext = `still-here-${b64(6)}`;
    from.client.send({ type: ClientType.SendMessage, data: { iv: b64(12), ciphertext } });
    const got = await waitFor(
      to.client,
      (received) =>
        received.find(
          (m) => m.type === ServerType.RelayMessage && m.data.ciphertext === ciphertext,
        ),
      'a chat message',
    );
    expect(got).toMatchObject({ data: { senderId: from.memberId } });
  }
}

/**
 * Sends the whole corpus and waits until each frame the relay answers has been answered with
 * E005. The corpus ends with answered frames, so by then the ignored ones were handled too.
 */
async function sendCorpus(client: TestClient): Promise<void> {
  expect(corpus.at(-1)?.reason).not.toBe('unknown_type');
  const before = all(client, ServerType.Error).length;
  for (const { bytes } of corpus) client.sendRaw(bytes);
  const errors = await waitForCount(client, ServerType.Error, before + answered.length, 20_000);
  expect(errors.slice(before).map((e) => e.data.code)).toEqual(
    answered.map(() => ErrorCode.InvalidMessage),
  );
}

describe('hostile frames against an embedded relay', () => {
  let relay: RunningRelay;

  beforeAll(async () => {
    relay = await startTestRelay({
      limits: {
        // Budget for the whole corpus twice; one frame more spends it. The window is so long
        // that the budget does not refill while the test runs.
        invalidFrameLimit: 2 * answered.length,
        invalidFrameWindowMs: 2_000_000_000,
        rate: { chat: { events: 1_000, windowMs: 1_000 } },
      },
    });
  });

  afterAll(async () => {
    await relay?.stop();
  });

  it('answers every frame with E005 before and after joining, then closes with 1008, while the room chats on', async () => {
    const alice = await connectAndCreate(relay.url, 'alice');
    const bob = await connectAndJoin(relay.url, alice.roomId, 'bob');
    const mallory = await connect(relay.url);

    await sendCorpus(mallory);
    await chatBothWays(alice, bob);
    expect(await httpStatus(relay.url, '/healthz')).toBe(200);

    const seated = await join(mallory, alice.roomId, 'mallory');
    await sendCorpus(mallory);
    await chatBothWays(alice, bob);
    expect(await httpStatus(relay.url, '/healthz')).toBe(200);

    // One invalid frame past the budget: answered, then the socket is closed.
    mallory.sendRaw(corpus[0]!.bytes);
    expect((await closedWithin(mallory, 5_000)).code).toBe(1008);
    expect(all(mallory, ServerType.Error)).toHaveLength(2 * answered.length + 1);

    // Nothing of the hostile frames reached the room; the hostile member left it.
    for (const member of [alice, bob]) {
      await waitFor(
        member.client,
        (received) =>
          received.find((m) => m.type === ServerType.MemberLeft && m.data.id === seated.memberId),
        'MemberLeft for the hostile member',
      );
      expect(
        member.client.received.filter(
          (m) => m.type === ServerType.RelayMessage && m.data.senderId === seated.memberId,
        ),
      ).toEqual([]);
    }
    await chatBothWays(alice, bob);
    await Promise.all([alice.client.close(), bob.client.close()]);
  });
});

describe('hostile frames against a cluster of two replicas', () => {
  /** A lease this short makes any stall longer than 1.5 s an eviction. */
  const LEASE_TTL_MS = 1_500;
  let redis: TestRedis;
  let target: ReplicaProcess;
  let other: ReplicaProcess;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const env = {
      REDIS_URL: redis.url,
      HUSH_REDIS_HEARTBEAT_MS: '250',
      HUSH_REDIS_LEASE_TTL_MS: String(LEASE_TTL_MS),
      HUSH_INVALID_FRAME_LIMIT: String(2 * answered.length),
      HUSH_INVALID_FRAME_WINDOW_MS: '2000000000',
    };
    [target, other] = await Promise.all([spawnReplica(env), spawnReplica(env)]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all([target, other].map((replica) => replica?.stop()));
    await redis?.stop();
  });

  it('never stalls the replica that decodes them: no member is evicted and the room chats on', async () => {
    const alice = await connectAndCreate(target.url, 'alice');
    const bob = await connectAndJoin(other.url, alice.roomId, 'bob');
    const mallory = await connect(target.url);
    clients.push(alice.client, bob.client, mallory);
    await join(mallory, alice.roomId, 'mallory');

    await sendCorpus(mallory);
    // Long enough for the other replica to notice a replica that had stopped renewing its lease.
    await sleep(3 * LEASE_TTL_MS);
    expect(all(bob.client, ServerType.MemberLeft)).toEqual([]);
    expect(all(alice.client, ServerType.MemberLeft)).toEqual([]);
    await chatBothWays(alice, bob);
    expect(await httpStatus(target.url, '/healthz')).toBe(200);
    expect(target.child.exitCode).toBeNull();
  });
});
