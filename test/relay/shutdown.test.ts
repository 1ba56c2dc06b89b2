/**
 * The built relay as operators run it: `node apps/relay/dist/main.js`, configured by the
 * environment. Graceful drain on SIGTERM/SIGINT, refusal of bad configuration, and logs that
 * never carry room ids, nicknames or payloads. Needs `npm run build` (done by `npm test`).
 */
import { ClientType, ServerType } from '@hush/protocol';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { PROCESS_TEST_ENV } from '../support/cluster.js';
import { closedWithin, connect, connectAndCreate, connectAndJoin, create } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../apps/relay/dist/main.js', import.meta.url));
const SHUTDOWN_TIMEOUT_MS = 4000;

interface Spawned {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

/** The environment of the test process without any relay setting that could leak in. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('HUSH_') && key !== 'REDIS_URL' && key !== 'PORT',
    ),
  );
}

function run(env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { ...cleanEnv(), HOST: '127.0.0.1', ...PROCESS_TEST_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    url: `http://127.0.0.1:${env['PORT'] ?? ''}`,
    stdout: () => out,
    stderr: () => err,
    exited,
  };
}

/** Starts the relay on a free port; retries if another process took the port meanwhile. */
async function start(env: Record<string, string> = {}): Promise<Spawned> {
  for (let attempt = 0; ; attempt++) {
    const relay = run({ PORT: String(await freePort()), HUSH_LOG_LEVEL: 'warn', ...env });
    const outcome = await Promise.race([
      waitUntilReady(relay).then(() => 'up' as const),
      relay.exited.then(() => 'exited' as const),
    ]);
    if (outcome === 'up') return relay;
    if (attempt < 2 && /EADDRINUSE/.test(relay.stdout() + relay.stderr())) continue;
    throw new Error(`relay did not start:\n${relay.stdout()}\n${relay.stderr()}`);
  }
}

/** Polls /readyz until the relay answers 200 (its logs are quiet at level warn). */
async function waitUntilReady(relay: Spawned, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${relay.url}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline || relay.child.exitCode !== null) {
      throw new Error(`relay not ready:\n${relay.stdout()}\n${relay.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
});

describe('graceful shutdown of the built relay', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s closes every client with 1001, sends a drain Notice to clients that negotiated notices, and exits 0 in time',
    async (signal) => {
      const relay = await start({ HUSH_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
      const negotiated = await connect(relay.url, { features: ['notices'] });
      const alice = await create(negotiated, 'alice');
      const plain = await connectAndJoin(relay.url, alice.roomId, 'bob');
      const lobby = await connect(relay.url);

      const signalled = Date.now();
      relay.child.kill(signal);
      const closes = await Promise.all(
        [negotiated, plain.client, lobby].map((c) => closedWithin(c, SHUTDOWN_TIMEOUT_MS)),
      );
      expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001]);

      const notice = await negotiated.next(ServerType.Notice, 0);
      expect(notice.data).toMatchObject({ kind: 'drain', retryAfterMs: expect.any(Number) });
      expect(plain.client.received.some((m) => m.type === ServerType.Notice)).toBe(false);
      expect(lobby.received.some((m) => m.type === ServerType.Notice)).toBe(false);
      // The drain notice is the last thing the negotiated client hears.
      expect(negotiated.messages().at(-1)).toEqual(notice);

      expect(await relay.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalled).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    },
  );

  it('spreads its closes over the drain window and gives each client a reconnect hint of its own', async () => {
    const window = 2000;
    const relay = await start({
      HUSH_SHUTDOWN_TIMEOUT_MS: '6000',
      HUSH_DRAIN_WINDOW_MS: String(window),
    });
    const clients = await Promise.all(
      Array.from({ length: 30 }, () => connect(relay.url, { features: ['notices'] })),
    );
    relay.child.kill('SIGTERM');
    const closedAt = await Promise.all(
      clients.map(async (client) => {
        expect((await closedWithin(client, 6000)).code).toBe(1001);
        return Date.now();
      }),
    );
    const hints = await Promise.all(
      clients.map(async (client) => (await client.next(ServerType.Notice, 0)).data.retryAfterMs),
    );
    // Closes come in batches across the first half of the window, not all at once.
    expect(Math.max(...closedAt) - Math.min(...closedAt)).toBeGreaterThanOrEqual(window / 4);
    // Each client comes back at its own moment within the second half.
    expect(new Set(hints).size).toBeGreaterThan(20);
    for (const hint of hints) {
      expect(hint).toBeGreaterThanOrEqual(0);
      expect(hint).toBeLessThanOrEqual(window / 2);
    }
    expect(await relay.exited).toEqual({ code: 0, signal: null });
  });

  it('exits within the shutdown timeout even when a client never completes the closing handshake', async () => {
    const relay = await start({ HUSH_SHUTDOWN_TIMEOUT_MS: '1500' });
    const stubborn = await connect(relay.url);
    // Stop reading: the close frame is never answered.
    stubborn.socket.pause();
    const signalled = Date.now();
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(1500 + 1000);
    stubborn.socket.terminate();
  });
});

describe('configuration errors', () => {
  it.each([
    ['PORT', 'abc'],
    ['HUSH_MAX_ROOM_MEMBERS', '0'],
    ['REDIS_URL', 'http://not-redis'],
  ])(
    'a bad %s (%s) stops the process with a non-zero code and a message naming it',
    async (key, value) => {
      const relay = run({ PORT: String(await freePort()), [key]: value });
      const { code } = await relay.exited;
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      expect(relay.stderr()).toContain(key);
      expect(relay.stdout()).not.toContain('relay listening');
    },
  );
});

describe('logs', () => {
  it('never contain a room id, a member id, a nickname or a payload, even at debug level', async () => {
    const relay = await start({ HUSH_LOG_LEVEL: 'debug' });
    const alice = await connectAndCreate(relay.url, 'zebranick');
    const bob = await connectAndJoin(relay.url, alice.roomId, 'quokkanick');
    const ciphertext = 'payloadmarker0123456789';
    bob.client.send({ type: ClientType.SendMessage, data: { iv: 'ivmarker', ciphertext } });
    await alice.client.next(ServerType.RelayMessage);
    bob.client.send({
      type: ClientType.JoinRoom,
      data: { roomId: alice.roomId, name: 'x', password: '' },
    });
    await bob.client.next(ServerType.Error);
    await bob.client.close();
    relay.child.kill('SIGTERM');
    await relay.exited;

    const logs = relay.stdout();
    const lines = logs.split('\n').filter((line) => line.startsWith('{'));
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    for (const secret of [
      alice.roomId,
      alice.memberId,
      bob.memberId,
      'zebranick',
      'quokkanick',
      ciphertext,
      'ivmarker',
    ]) {
      expect(logs).not.toContain(secret);
      expect(relay.stderr()).not.toContain(secret);
    }
  });
});
