/**
 * How the CLI fails: malformed and wrong share codes, an unknown room, a taken nickname, a room
 * closed by expiry, an unreachable relay. Each has a clear message and its own exit code.
 */
import {
  exportRoomKey,
  formatShareCode,
  generateRoomKey,
  importRoomKey,
  parseShareCode,
  sealMessage,
} from '@hush/crypto';
import { DEFAULT_POLICY } from '@hush/client';
import {
  ClientType,
  decodeClientMessage,
  encode,
  ErrorCode,
  MAX_FRAME_BYTES,
  RATE_LIMITS,
  ServerType,
  type ServerLimits,
} from '@hush/protocol';
import { WebSocketServer } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { freePort } from '../support/ports.js';
import { startTestRelay } from '../support/relay.js';
import { createRoom, type TestClient } from '../support/test-client.js';
import type { CliProcess } from './support/cli-process.js';
import { buildCli, cleanup, shareCodeOf, startCli, wsUrl } from './support/cli-process.js';

const WELCOME_LIMITS: ServerLimits = {
  maxFrameBytes: MAX_FRAME_BYTES,
  maxRoomMembers: 50,
  nameMaxCodePoints: 20,
  maxExpirySeconds: 604_800,
  chatPerWindow: RATE_LIMITS.chat.events,
  windowMs: RATE_LIMITS.chat.windowMs,
};

let relay: RunningRelay;
let server: string;
const running: CliProcess[] = [];
const clients: TestClient[] = [];

function cli(...args: string[]): CliProcess {
  return startCli(running, [...args, '--server', server]);
}

beforeAll(async () => {
  await buildCli();
  relay = await startTestRelay();
  server = wsUrl(relay.url);
});

afterEach(async () => {
  cleanup(running);
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await relay?.stop();
});

describe('share codes', () => {
  it('a malformed share code is refused before connecting, with exit code 2', async () => {
    const secretish = 'V1StGXR8_Z5jdHi6B-myT:not-a-valid-key';
    const bob = cli('join', secretish, '--name', 'bob');
    expect(await bob.exit()).toBe(2);
    await bob.waitFor(
      'stderr',
      /^hush: Invalid share code: the key must be 43 base64url characters/,
    );
    expect(bob.lines.stderr.join('\n')).not.toContain('not-a-valid-key');
    expect(bob.lines.stdout).toEqual([]);
  });

  it('a code with the right shape but the wrong key joins, shows [could not decrypt] and warns', async () => {
    const { client, roomId } = await createRoom(relay.url, 'alice');
    clients.push(client);
    const realKey = await generateRoomKey();
    const wrongCode = formatShareCode({ roomId, key: exportRoomKey(await generateRoomKey()) });
    const bob = cli('join', wrongCode, '--name', 'bob');
    await bob.waitFor('stderr', /^Joined room/);
    for (const text of ['one', 'two']) {
      client.send({ type: ClientType.SendMessage, data: await sealMessage(realKey, { text }) });
    }
    await bob.waitFor('stdout', /^\[\d\d:\d\d:\d\d\] <alice> \[could not decrypt\]$/);
    await bob.waitFor(
      'stderr',
      /Could not decrypt a message from alice: the key in your share code is probably wrong/,
    );
    await expect
      .poll(() => bob.lines.stdout.filter((l) => l.endsWith('[could not decrypt]')).length)
      .toBe(2);
    // The warning is given once per sender, not per message.
    expect(bob.lines.stderr.filter((l) => l.startsWith('Could not decrypt'))).toHaveLength(1);
  });
});

describe('refused joins', () => {
  it('an unknown room: the E001 sentence and exit code 4', async () => {
    const code = formatShareCode({
      roomId: 'AAAAAAAAAAAAAAAAAAAAA',
      key: exportRoomKey(await generateRoomKey()),
    });
    const bob = cli('join', code, '--name', 'bob');
    expect(await bob.exit()).toBe(4);
    await bob.waitFor(
      'stderr',
      /^Room not found: it never existed, or everyone left and it is gone\. Check the share code\.$/,
    );
  });

  it('a nickname already in the room: the E020 sentence and exit code 4', async () => {
    const alice = cli('create', '--name', 'alice');
    const bob = cli('join', await shareCodeOf(alice), '--name', 'ALICE');
    expect(await bob.exit()).toBe(4);
    await bob.waitFor(
      'stderr',
      /nickname is already taken in this room; choose another with --name/,
    );
  });

  it('an unreachable relay: a connection error and exit code 5', async () => {
    const port = await freePort();
    const bob = startCli(running, [
      'create',
      '--name',
      'bob',
      '--server',
      `ws://127.0.0.1:${port}/ws`,
    ]);
    expect(await bob.exit()).toBe(5);
    await bob.waitFor('stderr', /^Could not connect to the relay \(.*ECONNREFUSED.*\)\.$/);
  });

  it('a relay that answers every join with E024 is tried a few times, then given up on with exit code 5', async () => {
    // A scripted relay: welcomes, then is always unavailable (draining, or its backend is down).
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    let connections = 0;
    server.on('connection', (socket) => {
      connections += 1;
      socket.on('message', (data: Buffer) => {
        const decoded = decodeClientMessage(new Uint8Array(data));
        if (!decoded.ok) return;
        if (decoded.value.type === ClientType.Hello) {
          socket.send(
            encode({
              type: ServerType.Welcome,
              data: { version: 1, features: [], limits: WELCOME_LIMITS },
            }),
          );
        } else if (
          decoded.value.type === ClientType.JoinRoom ||
          decoded.value.type === ClientType.CreateRoom
        ) {
          socket.send(
            encode({
              type: ServerType.Error,
              data: { code: ErrorCode.Unavailable, msg: 'shutting down' },
            }),
          );
        }
      });
    });
    try {
      const { port } = server.address() as { port: number };
      const bob = startCli(running, [
        'create',
        '--name',
        'bob',
        '--server',
        `ws://127.0.0.1:${port}/ws`,
      ]);
      expect(await bob.exit()).toBe(5);
      await bob.waitFor(
        'stderr',
        /^Could not connect to the relay \(the relay answered E024 \(shutting down\)\)\.$/,
      );
      expect(connections).toBe(DEFAULT_POLICY.firstConnectAttempts);
    } finally {
      server.close();
    }
  });

  it('a missing --name without a terminal is a usage error', async () => {
    const bob = cli('create');
    expect(await bob.exit()).toBe(2);
    await bob.waitFor('stderr', /--name is required when stdin is not a terminal/);
  });
});

describe('room expiry', () => {
  it('a room created with --expiry 1 is closed by the relay: a message and exit code 3', async () => {
    const alice = cli('create', '--name', 'alice', '--expiry', '1');
    const code = parseShareCode(await shareCodeOf(alice));
    // The share code carries the expiry, as the web client's codes do.
    expect(code.expiresAt).toBeGreaterThan(0);
    await importRoomKey(code.key);
    expect(await alice.exit(5000)).toBe(3);
    await alice.waitFor('stdout', /^\* room closed \(expired\)$/);
    await alice.waitFor('stderr', /^The room has expired and was closed by the relay\.$/);
  });
});
