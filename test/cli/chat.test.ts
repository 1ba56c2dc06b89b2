/**
 * The CLI as a real process (stdin/stdout pipes) against a real in-process relay: two CLIs
 * chatting, the scripting formats, end of input, the message length limit, passwords.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importRoomKey, openMessage, parseShareCode, sealMessage } from '@hush/crypto';
import { ClientType, ServerType } from '@hush/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { startTestRelay } from '../support/relay.js';
import { joinRoom, type TestClient } from '../support/test-client.js';
import type { CliProcess } from './support/cli-process.js';
import { buildCli, cleanup, said, shareCodeOf, startCli, wsUrl } from './support/cli-process.js';

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

describe('hush create / hush join', () => {
  it('chat both ways between two CLIs; EOF leaves cleanly and exits 0', async () => {
    const alice = cli('create', '--name', 'alice');
    const code = await shareCodeOf(alice);
    const link = await alice.waitFor('stdout', /^\* link /);
    expect(link).toBe(`* link ${relay.url}/#/join/${code}`);
    await alice.waitFor('stderr', /^Joined room .* as alice\. Members \(1\): alice \(you\)\.$/);

    const bob = cli('join', code, '--name', 'bob');
    await bob.waitFor('stderr', /^Joined room .* as bob\. Members \(2\): alice, bob \(you\)\.$/);
    await alice.waitFor('stdout', /^\* bob joined$/);

    alice.write('hello from alice');
    await bob.waitFor('stdout', said('alice', 'hello from alice', '✓'));
    bob.write('hi alice, bob here');
    await alice.waitFor('stdout', said('bob', 'hi alice, bob here', '✓'));

    bob.end();
    expect(await bob.exit()).toBe(0);
    await alice.waitFor('stdout', /^\* bob left$/);
    alice.end();
    expect(await alice.exit()).toBe(0);
    // Nobody echoes their own messages on stdout in the line format.
    expect(alice.lines.stdout.some((l) => l.includes('hello from alice'))).toBe(false);
  });

  it('accepts the join link as well as the bare code', async () => {
    const alice = cli('create', '--name', 'alice');
    const link = (await alice.waitFor('stdout', /^\* link /)).slice('* link '.length);
    const bob = cli('join', link, '--name', 'bob');
    await alice.waitFor('stdout', /^\* bob joined$/);
    bob.write('via the link');
    await alice.waitFor('stdout', /<bob> via the link$/);
  });

  it('sends everything piped in before EOF, paced under the rate limit, in order', async () => {
    const alice = cli('create', '--name', 'alice');
    const code = parseShareCode(await shareCodeOf(alice));
    const { client } = await joinRoom(relay.url, code.roomId, 'watcher');
    clients.push(client);
    const key = await importRoomKey(code.key);

    // 12 lines at once: more than the relay's 10-message burst, so some must wait.
    for (let i = 1; i <= 12; i += 1) alice.write(`line ${i}`);
    alice.end();
    expect(await alice.exit(15_000)).toBe(0);

    const texts: string[] = [];
    while (texts.length < 12) {
      const relayed = await client.next(ServerType.RelayMessage);
      const payload = await openMessage(key, relayed.data);
      // The CLI's key announcement comes first; it is not a message.
      if (payload.type !== 'pubkey') texts.push(payload.text);
    }
    expect(texts).toEqual(Array.from({ length: 12 }, (_, i) => `line ${i + 1}`));
    expect(client.messages().filter((m) => m.type === ServerType.Error)).toEqual([]);
    await client.next(ServerType.MemberLeft);
  });

  it('--linger keeps receiving after EOF, then leaves', async () => {
    const alice = cli('create', '--name', 'alice');
    const code = await shareCodeOf(alice);
    const bob = cli('join', code, '--name', 'bob', '--linger', '2000');
    bob.end();
    await alice.waitFor('stdout', /^\* bob joined$/);
    alice.write('still there?');
    await bob.waitFor('stdout', /<alice> still there\?$/);
    expect(await bob.exit()).toBe(0);
    await alice.waitFor('stdout', /^\* bob left$/);
  });

  it('refuses a message over 4000 characters with a message, and sends the next one', async () => {
    const alice = cli('create', '--name', 'alice');
    const bob = cli('join', await shareCodeOf(alice), '--name', 'bob');
    await alice.waitFor('stdout', /^\* bob joined$/);
    bob.write('x'.repeat(4001));
    bob.write('x'.repeat(4000));
    await bob.waitFor('stderr', /^Message too long: 4001 characters, the limit is 4000\./);
    const received = await alice.waitFor('stdout', /<bob> x+$/);
    expect(received.endsWith(` ${'x'.repeat(4000)}`)).toBe(true);
    expect(alice.lines.stdout.filter((l) => l.includes('<bob>'))).toHaveLength(1);
  });

  it('sends a file piped as /send before the end of input, and the other CLI saves it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hush-chat-files-'));
    try {
      const alice = cli('create', '--name', 'alice', '--download-dir', join(dir, 'in'));
      const bob = cli('join', await shareCodeOf(alice), '--name', 'bob');
      await alice.waitFor('stdout', /^\* bob joined$/);
      const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
      writeFileSync(join(dir, 'report.pdf'), data);
      bob.write(`/send ${join(dir, 'report.pdf')}`);
      bob.end();
      expect(await bob.exit()).toBe(0);
      await alice.waitFor(
        'stdout',
        /^\[\d\d:\d\d:\d\d\] #\d+ ✓ <bob> file "report\.pdf" \(68\.4 KB, application\/pdf\)$/,
      );
      await alice.waitFor('stdout', /^\* saved "report\.pdf" from bob to /);
      expect(readFileSync(join(dir, 'in', 'report.pdf'))).toEqual(data);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers /members on stdout', async () => {
    const alice = cli('create', '--name', 'alice');
    const bob = cli('join', await shareCodeOf(alice), '--name', 'bob');
    await alice.waitFor('stdout', /^\* bob joined$/);
    bob.write('/members');
    await bob.waitFor('stdout', /^\* members alice, bob$/);
  });

  it('leaves cleanly on SIGTERM and exits 143', async () => {
    const alice = cli('create', '--name', 'alice');
    const bob = cli('join', await shareCodeOf(alice), '--name', 'bob');
    await alice.waitFor('stdout', /^\* bob joined$/);
    bob.signal('SIGTERM');
    expect(await bob.exit()).toBe(143);
    await alice.waitFor('stdout', /^\* bob left$/);
  });
});

describe('--json', () => {
  it('emits one JSON object per event on stdout', async () => {
    const alice = cli('create', '--name', 'alice', '--json');
    const created = JSON.parse(await alice.waitFor('stdout', /"type":"created"/)) as {
      code: string;
      link: string;
      fingerprint: string;
      roomId: string;
    };
    expect(created.link).toBe(`${relay.url}/#/join/${created.code}`);
    expect(created.fingerprint).toMatch(/^([0-9A-F]{4} ){7}[0-9A-F]{4}$/);
    const { client } = await joinRoom(relay.url, created.roomId, 'web');
    clients.push(client);
    const key = await importRoomKey(parseShareCode(created.code).key);
    client.send({
      type: ClientType.SendMessage,
      data: await sealMessage(key, { text: 'hi\nthere', id: 'web-1' }),
    });
    const message = JSON.parse(await alice.waitFor('stdout', /"type":"message"/));
    expect(message).toMatchObject({
      type: 'message',
      ref: expect.any(Number),
      from: { name: 'web', color: expect.stringMatching(/^#[0-9a-f]{6}$/) },
      text: 'hi\nthere',
      id: 'web-1',
      verification: 'unsigned',
    });
    alice.write('hello web');
    const sent = JSON.parse(await alice.waitFor('stdout', /"type":"sent"/));
    expect(sent).toMatchObject({
      type: 'sent',
      text: 'hello web',
      id: expect.any(String),
      verification: 'verified',
    });
    await client.close();
    await alice.waitFor('stdout', /"type":"member-left"/);
    alice.end();
    expect(await alice.exit()).toBe(0);
    const events = alice.lines.stdout.map((line) => (JSON.parse(line) as { type: string }).type);
    expect(events).toEqual(
      expect.arrayContaining(['connecting', 'welcome', 'created', 'joined', 'member-joined']),
    );
    expect(events.at(-1)).toBe('end');
  });
});

describe('passwords', () => {
  it('a non-TTY join of a protected room without a password fails and says how to give one', async () => {
    const alice = cli('create', '--name', 'alice', '--password', 's3cret');
    const code = await shareCodeOf(alice);
    const bob = cli('join', code, '--name', 'bob');
    expect(await bob.exit()).toBe(4);
    await bob.waitFor(
      'stderr',
      /password-protected: pass --password <password> or set HUSH_PASSWORD/,
    );

    const wrong = cli('join', code, '--name', 'bob', '--password', 'nope');
    expect(await wrong.exit()).toBe(4);
    await wrong.waitFor('stderr', /^Wrong room password\.$/);

    const right = startCli(running, ['join', code, '--name', 'bob', '--server', server], {
      HUSH_PASSWORD: 's3cret',
    });
    await right.waitFor('stderr', /The room is password-protected\./);
    await alice.waitFor('stdout', /^\* bob joined$/);
  });
});
