/**
 * The compose cluster for real: docker-compose.yml builds the relay image once, starts Redis,
 * three replicas and the nginx load balancer, and every check goes through the load balancer's
 * published port as a user's browser or terminal would. Then one replica is killed (SIGKILL),
 * another stopped (SIGTERM, graceful drain), and everything is torn down.
 *
 * Run by `npm run test:deploy` (scripts/test.sh --deploy), which provides Docker, compose and
 * the base images; not part of `npm test`.
 */
import { ClientType, ErrorCode, ServerType } from '@hush/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, create, join, joinRefused, type Seated } from '../relay/helpers.js';
import type { TestClient } from '../support/test-client.js';
import { ComposeProject, processStatus } from './support/compose.js';

const RELAYS = ['relay-1', 'relay-2', 'relay-3'] as const;
type Relay = (typeof RELAYS)[number];
const SERVICES = ['redis', ...RELAYS, 'lb'] as const;
/** SPEC §5: the survivors remove a killed replica's members within 10 s. */
const EVICTION_DEADLINE_MS = 10_000;
/** stop_grace_period of the relays in docker-compose.yml. */
const STOP_TIMEOUT_S = 20;

let project: ComposeProject;
const clients: TestClient[] = [];

beforeAll(async () => {
  project = await ComposeProject.create();
  // One build (relay-1's); the other replicas use the image it tags.
  await project.compose(['build'], 600_000);
  await project.compose(['up', '--detach'], 300_000);
}, 900_000);

afterEach(async ({ task }) => {
  // The load balancer's log tells which replica took (or refused) each handshake.
  if (task.result?.state === 'fail' && project !== undefined) {
    console.error(
      await project.compose(['logs', '--no-color', '--tail', '40', 'lb']).catch(String),
    );
  }
});

afterAll(async () => {
  for (const client of clients) client.socket.terminate();
  await project?.down();
}, 120_000);

/**
 * Connects through the load balancer (negotiating notices) and reports which of the running
 * replicas took the socket.
 */
async function connectVia(
  running: readonly Relay[] = RELAYS,
): Promise<{ client: TestClient; relay: Relay }> {
  const before = await project.openConnections(running);
  const client = await connect(project.url, { features: ['notices'] });
  clients.push(client);
  const after = await project.openConnections(running);
  const gained = running.filter((_, index) => (after[index] ?? 0) > (before[index] ?? 0));
  expect(gained, 'exactly one replica gained a connection').toHaveLength(1);
  return { client, relay: gained[0] as Relay };
}

function say(seat: Seated, text: string): void {
  seat.client.send({
    type: ClientType.SendMessage,
    data: { iv: 'aXYtb2YtdGVzdA', ciphertext: Buffer.from(text).toString('base64url') },
  });
}

describe('the compose cluster behind its load balancer', () => {
  it('serves the web client with its Content-Security-Policy and security headers', async () => {
    const response = await fetch(`${project.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('<title>Hush</title>');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    // nginx names itself without a version (server_tokens off).
    expect(response.headers.get('server')).toBe('nginx');
  });

  it('answers the probes, and does not serve Prometheus metrics on the public port', async () => {
    expect((await fetch(`${project.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${project.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
    const metrics = await fetch(`${project.url}/metrics`);
    expect(metrics.status).toBe(404);
    expect(await metrics.text()).not.toContain('hush_connections');
  });

  it('runs every container as a non-root user on a read-only root filesystem, without capabilities', async () => {
    for (const service of SERVICES) {
      const state = await project.inspect(service);
      expect(state.running, `${service} is running`).toBe(true);
      expect(state.readOnlyRootfs, `${service} root filesystem is read-only`).toBe(true);
      const status = processStatus(state.pid);
      expect(status.uids, `${service} uids`).not.toContain(0);
      expect(status.gids, `${service} gids`).not.toContain(0);
      expect(status.capEff, `${service} effective capabilities`).toBe(0n);
      expect(status.noNewPrivs, `${service} no_new_privs`).toBe(true);
    }
    // And the relay really cannot write where it runs.
    const attempt = await project.nodeIn(
      'relay-1',
      `try { require('node:fs').writeFileSync('/app/x', 'x'); console.log('written') }
       catch (e) { console.log(e.code) }`,
    );
    expect(attempt.trim()).toBe('EROFS');
  });
});

describe('a room spread over the replicas', () => {
  let alice: Seated & { relay: Relay };
  let bob: Seated & { relay: Relay };
  let carol: Seated & { relay: Relay };

  it('lets two clients that landed on different replicas chat', async () => {
    const a = await connectVia();
    alice = { ...(await create(a.client, 'alice')), relay: a.relay };
    const b = await connectVia();
    bob = { ...(await join(b.client, alice.roomId, 'bob')), relay: b.relay };
    expect(bob.relay).not.toBe(alice.relay);
    await alice.client.next(ServerType.MemberJoined);

    say(alice, 'hello bob');
    const toBob = await bob.client.next(ServerType.RelayMessage);
    expect(toBob.data).toMatchObject({ senderId: alice.memberId, senderName: 'alice' });
    expect(Buffer.from(String(toBob.data.ciphertext), 'base64url').toString()).toBe('hello bob');

    say(bob, 'hello alice');
    const toAlice = await alice.client.next(ServerType.RelayMessage);
    expect(toAlice.data).toMatchObject({ senderId: bob.memberId, senderName: 'bob' });
  });

  it('a third client lands on the third replica (least connections)', async () => {
    const c = await connectVia();
    carol = { ...(await join(c.client, alice.roomId, 'carol')), relay: c.relay };
    expect(new Set([alice.relay, bob.relay, carol.relay]).size).toBe(3);
    await bob.client.next(ServerType.MemberJoined);
  });

  it('docker kill of a replica: the others see its member leave within 10 s', async () => {
    const killed = Date.now();
    await project.compose(['kill', '-s', 'SIGKILL', alice.relay]);
    const [toBob, toCarol] = await Promise.all([
      bob.client.next(ServerType.MemberLeft, EVICTION_DEADLINE_MS - (Date.now() - killed)),
      carol.client.next(ServerType.MemberLeft, EVICTION_DEADLINE_MS - (Date.now() - killed)),
    ]);
    expect(toBob.data.id).toBe(alice.memberId);
    expect(toCarol.data.id).toBe(alice.memberId);
    // The load balancer cut the killed replica's socket.
    expect((await alice.client.closed).code).not.toBe(1000);
  });

  it('docker stop of another replica drains it: a drain notice, then 1001; it exits 0', async () => {
    await project.compose(['stop', '--timeout', String(STOP_TIMEOUT_S), bob.relay], 60_000);
    const closed = await bob.client.closed;
    expect(closed.code).toBe(1001);
    const notice = await bob.client.next(ServerType.Notice, 0);
    expect(notice.data).toMatchObject({ kind: 'drain', retryAfterMs: expect.any(Number) });
    expect(bob.client.messages().at(-1)).toEqual(notice);

    expect((await carol.client.next(ServerType.MemberLeft)).data.id).toBe(bob.memberId);
    const state = await project.inspect(bob.relay);
    expect(state.running).toBe(false);
    expect(state.exitCode).toBe(0);
  });

  it('the drained client reconnects through the load balancer to the surviving replica', async () => {
    const again = await connectVia([carol.relay]);
    expect(again.relay).toBe(carol.relay);
    const back = await join(again.client, alice.roomId, 'bob');
    await carol.client.next(ServerType.MemberJoined);
    say(carol, 'welcome back');
    const message = await back.client.next(ServerType.RelayMessage);
    expect(message.data).toMatchObject({ senderId: carol.memberId, senderName: 'carol' });
  });
});

describe('client addresses behind the load balancer', () => {
  // Last before the teardown: it locks this machine's address out of joining for a while.
  it('cannot be forged with X-Forwarded-For: failed joins from "different" addresses add up to a lockout', async () => {
    const codes: string[] = [];
    for (let attempt = 1; attempt <= 15 && !codes.includes(ErrorCode.LockedOut); attempt += 1) {
      const client = await connect(project.url, { forwardedFor: `203.0.113.${attempt}` });
      clients.push(client);
      codes.push(await joinRefused(client, 'V1StGXR8_Z5jdHi6B-myT', `mallory${attempt}`));
      client.socket.terminate();
    }
    // Unknown room until the lockout: the relays counted one address, the real one.
    expect(codes.at(-1)).toBe(ErrorCode.LockedOut);
    expect(new Set(codes.slice(0, -1))).toEqual(new Set([ErrorCode.RoomNotFound]));
  });
});

describe('teardown', () => {
  it('compose down removes every container and network of the project', async () => {
    for (const client of clients) client.socket.terminate();
    await project.down();
    expect(await project.containers()).toEqual([]);
    expect(await project.networks()).toEqual([]);
  });
});
