/**
 * Reconnecting: the relay drops the CLI's socket (`sessions.terminateAll()`), the CLI reconnects
 * with backoff, rejoins the room and the chat goes on. A room lives while it has a member
 * anywhere in the cluster, so a member on a second replica keeps it alive while every socket of
 * the first is dropped; when nobody is left the room is gone, and the CLI says so.
 */
import { importRoomKey, openMessage, parseShareCode, sealMessage } from '@hush/crypto';
import { ClientType, ServerType } from '@hush/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryBackends } from '../../apps/relay/src/cluster/backends.js';
import { MemoryBus } from '../../apps/relay/src/cluster/memory/memory.fanout.js';
import { MemoryPresenceStore } from '../../apps/relay/src/cluster/memory/memory.presence.js';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { startTestRelay } from '../support/relay.js';
import { joinRoom, type TestClient } from '../support/test-client.js';
import type { CliProcess } from './support/cli-process.js';
import { EOF_RECONNECT_WAIT_MS } from '../../apps/cli/src/chat.js';
import { buildCli, cleanup, shareCodeOf, startCli, wsUrl } from './support/cli-process.js';

const relays: RunningRelay[] = [];
const running: CliProcess[] = [];
const clients: TestClient[] = [];

function cli(relay: RunningRelay, ...args: string[]): CliProcess {
  return startCli(running, [...args, '--server', wsUrl(relay.url)]);
}

/** Two replicas of one in-process cluster: shared presence store and fan-out bus. */
async function startCluster(): Promise<[RunningRelay, RunningRelay]> {
  const shared = { bus: new MemoryBus(), store: new MemoryPresenceStore() };
  const [a, b] = await Promise.all(
    ['replica-a', 'replica-b'].map((replicaId) =>
      startTestRelay({}, { backends: memoryBackends(replicaId, shared), replicaId }),
    ),
  );
  relays.push(a!, b!);
  return [a!, b!];
}

beforeAll(async () => {
  await buildCli();
});

afterEach(async () => {
  cleanup(running);
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
});

afterAll(async () => {
  await Promise.all(relays.map((relay) => relay.stop()));
});

describe('reconnect', () => {
  it('after the relay drops every socket, both CLIs reconnect, rejoin, and the chat continues', async () => {
    const [a, b] = await startCluster();
    const alice = cli(a, 'create', '--name', 'alice');
    const code = parseShareCode(await shareCodeOf(alice));
    const key = await importRoomKey(code.key);
    const bob = cli(a, 'join', formatCode(code), '--name', 'bob');
    await alice.waitFor('stdout', /^\* bob joined$/);
    // A browser on the other replica keeps the room alive while replica A drops everyone.
    const { client: web } = await joinRoom(b.url, code.roomId, 'web');
    clients.push(web);
    await bob.waitFor('stdout', /^\* web joined$/);

    a.core.sessions.terminateAll();
    await alice.waitFor('stderr', /^Connection lost \(connection dropped\); reconnecting in /);
    await alice.waitFor('stderr', /^Reconnected: back in the room\.$/);
    await bob.waitFor('stderr', /^Reconnected: back in the room\.$/);

    alice.write('after the drop');
    await bob.waitFor('stdout', /<alice> after the drop$/);
    const relayed = await nextText(web, key);
    expect(relayed).toEqual({ sender: 'alice', text: 'after the drop' });
    bob.write('still here');
    await alice.waitFor('stdout', /<bob> still here$/);
    web.send({
      type: ClientType.SendMessage,
      data: await sealMessage(key, { text: 'web says hi' }),
    });
    await alice.waitFor('stdout', /<web> web says hi$/);
    await bob.waitFor('stdout', /<web> web says hi$/);

    alice.end();
    bob.end();
    expect(await alice.exit()).toBe(0);
    expect(await bob.exit()).toBe(0);
  });

  it('survives a relay restart: lines typed while it is down go out after the rejoin', async () => {
    const shared = { bus: new MemoryBus(), store: new MemoryPresenceStore() };
    const replica = (replicaId: string, port = 0) =>
      startTestRelay(
        { server: { port } },
        { backends: memoryBackends(replicaId, shared), replicaId },
      );
    const [a, b] = await Promise.all([replica('replica-a'), replica('replica-b')]);
    relays.push(a, b);
    const alice = cli(a, 'create', '--name', 'alice');
    const code = parseShareCode(await shareCodeOf(alice));
    const key = await importRoomKey(code.key);
    const { client: web } = await joinRoom(b.url, code.roomId, 'web');
    clients.push(web);
    await alice.waitFor('stdout', /^\* web joined$/);

    // Graceful drain: a notice with a reconnect hint, then a 1001 close.
    await a.stop();
    await alice.waitFor('stderr', /^Relay: this relay is restarting; reconnect$/);
    await alice.waitFor('stderr', /^Connection lost \(the relay is going away/);
    alice.write('typed while the relay restarts');
    await alice.waitFor('stderr', /^Not connected: message queued \(1 waiting\)/);
    expect(await textsSoFar(web, key)).toEqual([]);

    relays.push(await replica('replica-a2', a.port));
    await alice.waitFor('stderr', /^Reconnected: back in the room\.$/, 15_000);
    expect(await nextText(web, key)).toEqual({
      sender: 'alice',
      text: 'typed while the relay restarts',
    });
    alice.end();
    expect(await alice.exit()).toBe(0);
  });

  it('at the end of input a lost relay gets a bounded wait, then the CLI exits, reporting what it could not send', async () => {
    const [a] = await startCluster();
    const alice = cli(a, 'create', '--name', 'alice');
    await shareCodeOf(alice);
    await a.stop();
    await alice.waitFor('stderr', /^Connection lost/);
    alice.write('never delivered');
    alice.end();
    // Well before the SDK's own two-minute limit.
    expect(await alice.exit(EOF_RECONNECT_WAIT_MS + 10_000)).toBe(5);
    await alice.waitFor(
      'stderr',
      /^Lost the connection to the relay and could not reconnect \(not back within 15 s of the end of input; 1 queued message was not sent\)\.$/,
    );
  });

  it('at the end of input with nothing queued, a lost relay is not waited for', async () => {
    const [a] = await startCluster();
    const alice = cli(a, 'create', '--name', 'alice');
    await shareCodeOf(alice);
    await a.stop();
    await alice.waitFor('stderr', /^Connection lost/);
    alice.end();
    expect(await alice.exit(5_000)).toBe(0);
  });

  it('when every member dropped at once the room is gone: the CLI says so and exits 4', async () => {
    const [a] = await startCluster();
    const alice = cli(a, 'create', '--name', 'alice');
    const bob = cli(a, 'join', await shareCodeOf(alice), '--name', 'bob');
    await alice.waitFor('stdout', /^\* bob joined$/);

    a.core.sessions.terminateAll();
    expect(await alice.exit()).toBe(4);
    expect(await bob.exit()).toBe(4);
    await alice.waitFor('stderr', /^The room no longer exists: every member was disconnected/);
  });
});

function formatCode(code: { roomId: string; key: string }): string {
  return `${code.roomId}:${code.key}`;
}

/** The texts of the chat messages `client` received so far (key announcements left out). */
async function textsSoFar(
  client: TestClient,
  key: Awaited<ReturnType<typeof importRoomKey>>,
): Promise<string[]> {
  const texts: string[] = [];
  for (const message of client.messages()) {
    if (message.type !== ServerType.RelayMessage) continue;
    const payload = await openMessage(key, message.data);
    if (payload.type !== 'pubkey') texts.push(payload.text);
  }
  return texts;
}

async function nextText(
  client: TestClient,
  key: Awaited<ReturnType<typeof importRoomKey>>,
): Promise<{ sender: string; text: string }> {
  for (;;) {
    const message = await client.next(ServerType.RelayMessage);
    const payload = await openMessage(key, message.data);
    // Key announcements (after every join) are not messages.
    if (payload.type !== 'pubkey') return { sender: message.data.senderName, text: payload.text };
  }
}
