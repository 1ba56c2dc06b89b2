/**
 * One room, three kinds of client, a real relay: the Hush CLI as real processes (one in the line
 * format, one in --json) and a client speaking exactly what the Arthas web client sends. Each sees
 * the others' messages with the right signature state, replies, reactions, typing and files, and
 * nobody ever sees an empty message.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseShareCode } from '@hush/crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { ArthasFormatClient } from '../support/arthas-format-client.js';
import { startTestRelay } from '../support/relay.js';
import type { CliProcess } from './support/cli-process.js';
import { buildCli, cleanup, said, shareCodeOf, startCli, wsUrl } from './support/cli-process.js';

let relay: RunningRelay;
let workdir: string;
const running: CliProcess[] = [];
const arthas: ArthasFormatClient[] = [];

beforeAll(async () => {
  await buildCli();
  relay = await startTestRelay();
  workdir = mkdtempSync(join(tmpdir(), 'hush-arthas-room-'));
});

afterAll(async () => {
  cleanup(running);
  await Promise.all(arthas.map((client) => client.close()));
  await relay?.stop();
  rmSync(workdir, { recursive: true, force: true });
});

type Json = Record<string, unknown> & { type: string };

/** The next JSON event of `cli` of `type` whose fields match `fields` (waits for it). */
async function event(
  cli: CliProcess,
  type: string,
  fields: Record<string, unknown> = {},
): Promise<Json> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = cli.lines.stdout
      .map((line) => JSON.parse(line) as Json)
      .find((e) => e.type === type && matches(e, fields));
    if (found !== undefined) return found;
    if (Date.now() > deadline)
      throw new Error(`no ${type} event like ${JSON.stringify(fields)}\n${cli.transcript()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function matches(value: unknown, pattern: unknown): boolean {
  if (typeof pattern !== 'object' || pattern === null) return value === pattern;
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(pattern).every(([key, sub]) =>
    matches((value as Record<string, unknown>)[key], sub),
  );
}

const bytes = (length: number, seed: number) =>
  new Uint8Array(Array.from({ length }, (_, i) => (i * seed + 11) % 256));

it('an Arthas-format client and two Hush CLIs read everything each other says', async () => {
  const dirA = join(workdir, 'alice');
  const dirB = join(workdir, 'bob');
  const alice = startCli(running, [
    'create',
    '--name',
    'alice',
    '--server',
    wsUrl(relay.url),
    '--download-dir',
    dirA,
  ]);
  const code = await shareCodeOf(alice);
  const { roomId, key } = parseShareCode(code);
  // A file of that name is already there: it must never be overwritten.
  await alice.waitFor('stderr', /^Joined room/);
  mkdirSync(dirA, { recursive: true });
  writeFileSync(join(dirA, 'photo.jpg'), 'keep me');

  const bob = startCli(running, [
    'join',
    code,
    '--name',
    'bob',
    '--json',
    '--server',
    wsUrl(relay.url),
    '--download-dir',
    dirB,
  ]);
  await alice.waitFor('stdout', /^\* bob joined$/);
  // Alice says her key again for the late joiner.
  await event(bob, 'key-learned', { member: { name: 'alice' } });

  const ana = await ArthasFormatClient.join(relay.url, roomId, key, 'ana');
  arthas.push(ana);
  await alice.waitFor('stdout', /^\* ana joined$/);
  await event(bob, 'key-learned', { member: { name: 'ana' } });
  await alice.waitFor('stderr', /^ana's signing key: [0-9A-F]{4}( [0-9A-F]{4}){7}$/);
  // Both Hush CLIs re-announce for Arthas, which cannot ask.
  await ana.until(() => ana.publicKeys.size === 2);

  // Signed Arthas message → verified in both CLIs.
  await ana.say('hello from Arthas');
  const anaHello = await alice.waitFor('stdout', said('ana', 'hello from Arthas', '✓'));
  const anaHelloAtBob = await event(bob, 'message', {
    text: 'hello from Arthas',
    verification: 'verified',
  });

  // Hush → Arthas: signed in the Arthas format, verified by Arthas.
  alice.write('hello ana');
  await ana.until(() => ana.messages.some((m) => m.text === 'hello ana'));
  expect(ana.messages.find((m) => m.text === 'hello ana')?.verification).toBe('verified');
  const aliceHelloAtBob = await event(bob, 'message', {
    text: 'hello ana',
    verification: 'verified',
  });

  // A Hush reply, in the Arthas format: Arthas reads it; the other CLI shows the quote.
  bob.write(`/reply ${anaHelloAtBob['ref']} agreed with ana`);
  await ana.until(() => ana.messages.some((m) => m.text === 'agreed with ana'));
  const bobReply = ana.messages.find((m) => m.text === 'agreed with ana')!;
  expect(bobReply.verification).toBe('verified');
  expect(bobReply.payload['reply']).toEqual({
    stableId: expect.stringMatching(new RegExp(`^${ana.myId}:\\d+$`)),
    senderName: 'ana',
    preview: 'hello from Arthas',
  });
  const replyLine = await alice.waitFor('stdout', said('bob', 'agreed with ana', '✓'));
  const lines = alice.lines.stdout;
  expect(lines[lines.indexOf(replyLine) - 1]).toBe(
    `  > #${/#(\d+)/.exec(anaHello)![1]} <ana> hello from Arthas`,
  );

  // An Arthas reply to a Hush message: both CLIs find the quoted message.
  const aliceHelloAtAna = ana.messages.find((m) => m.text === 'hello ana')!;
  await ana.say('yes alice', aliceHelloAtAna);
  const anaReply = await event(bob, 'message', { text: 'yes alice' });
  expect(anaReply['reply']).toEqual({
    stableId: aliceHelloAtAna.stableId,
    senderName: 'alice',
    preview: 'hello ana',
    ref: aliceHelloAtBob['ref'],
  });
  const quoted = await alice.waitFor('stdout', said('ana', 'yes alice', '✓'));
  // Alice never learns the relay's stamp of her own message; she finds it by time.
  expect(lines[lines.indexOf(quoted) - 1]).toMatch(/^ {2}> #\d+ <alice> hello ana$/);

  // Reactions both ways.
  await ana.react(bobReply, '👍');
  await alice.waitFor('stdout', /^\* ana reacted 👍 to #\d+ <bob> "agreed with ana"$/);
  const bobSent = await event(bob, 'sent', { text: 'agreed with ana' });
  await event(bob, 'reaction', {
    from: { name: 'ana' },
    emoji: '👍',
    action: 'add',
    target: { ref: bobSent['ref'] },
  });
  alice.write(`/react ${/#(\d+)/.exec(anaHello)![1]} 🎉`);
  await ana.until(() => ana.reactions.length > 0);
  expect(ana.reactions).toEqual([
    { senderName: 'alice', stableId: anaHelloAtBob['stableId'], emoji: '🎉', action: 'add' },
  ]);

  // Encrypted typing.
  await ana.setTyping(true);
  await event(bob, 'typing', { member: { name: 'ana' }, typing: true });

  // A file from Arthas, with a thumbnail: saved by both CLIs, never overwriting; acked to Arthas.
  const photo = bytes(150_000, 7);
  const transferId = await ana.sendFile(
    'photo.jpg',
    'image/jpeg',
    photo,
    new Uint8Array([0xff, 0xd8, 0xff, 0xd9]),
  );
  await alice.waitFor(
    'stdout',
    /^\[\d\d:\d\d:\d\d\] #\d+ - <ana> file "photo\.jpg" \(146\.5 KB, image\/jpeg\)$/,
  );
  const saved = await alice.waitFor('stdout', /^\* saved "photo\.jpg" from ana to /);
  expect(saved.endsWith(join(dirA, 'photo (1).jpg'))).toBe(true);
  expect(readFileSync(join(dirA, 'photo (1).jpg'))).toEqual(Buffer.from(photo));
  expect(readFileSync(join(dirA, 'photo.jpg'), 'utf8')).toBe('keep me');
  const savedByBob = await event(bob, 'file-saved', { fileName: 'photo.jpg', thumbnailBytes: 4 });
  expect(readFileSync(String(savedByBob['path']))).toEqual(Buffer.from(photo));
  await ana.until(() => (ana.acks.get(transferId) ?? []).length === 2);

  // A file from Hush: Arthas assembles it from the binary chunks; the sender hears the acks.
  const notes = bytes(100_000, 13);
  const notesPath = join(workdir, 'notes.bin');
  writeFileSync(notesPath, notes);
  bob.write(`/send ${notesPath}`);
  await ana.until(() => ana.files.some((f) => f.fileName === 'notes.bin'));
  expect(ana.files.find((f) => f.fileName === 'notes.bin')!.data).toEqual(notes);
  await alice.waitFor('stdout', /^\* saved "notes\.bin" from bob to /);
  await event(bob, 'file-sent', { fileName: 'notes.bin' });
  await event(bob, 'file-acked', { by: { name: 'ana' } });
  await event(bob, 'file-acked', { by: { name: 'alice' } });
  await event(bob, 'file-acked', { acks: 2 });

  // A tampered message and an unsigned one.
  await ana.sayTampered('pay alice 1', 'pay alice 100');
  await alice.waitFor('stdout', said('ana', 'pay alice 100', '✗'));
  await alice.waitFor('stderr', /has an invalid signature: it was altered, or not written by ana/);
  await event(bob, 'message', { text: 'pay alice 100', verification: 'invalid' });
  await ana.sayUnsigned('no signature here');
  await alice.waitFor('stdout', said('ana', 'no signature here', '-'));
  await event(bob, 'message', { text: 'no signature here', verification: 'unsigned' });

  // A Hush late joiner: Arthas never says its key again, so Arthas messages stay "signer unknown";
  // the Hush CLIs do, so theirs verify.
  const carl = startCli(running, ['join', code, '--name', 'carl', '--server', wsUrl(relay.url)]);
  await alice.waitFor('stdout', /^\* carl joined$/);
  await ana.until(() => ana.members.some((m) => m.name === 'carl'));
  await ana.say('for carl');
  await carl.waitFor('stdout', said('ana', 'for carl', '?'));
  alice.write('welcome carl');
  await carl.waitFor('stdout', said('alice', 'welcome carl', '✓'));

  // /verify: everyone's fingerprint and the safety code.
  alice.write('/verify');
  await alice.waitFor('stdout', /^\* safety code \d{5}( \d{5}){5}$/);
  await alice.waitFor('stdout', /^\* key ana [0-9A-F]{4}( [0-9A-F]{4}){7}$/);
  await alice.waitFor('stdout', /^\* key alice \(you\) [0-9A-F]{4}/);

  // Nobody ever saw an empty message (key announcements included).
  for (const cli of [alice, carl]) {
    expect(
      cli.lines.stdout.filter((line) => /^\[\d\d:\d\d:\d\d\] .*<[^>]+> ?$/.test(line)),
    ).toEqual([]);
  }
  const bobEvents = bob.lines.stdout.map((line) => JSON.parse(line) as Json);
  expect(bobEvents.filter((e) => e.type === 'message' && e['text'] === '')).toEqual([]);
  expect(ana.messages.filter((m) => m.text === '')).toEqual([]);
  expect(ana.errors).toEqual([]);

  for (const cli of [alice, bob, carl]) cli.end();
  for (const cli of [alice, bob, carl]) expect(await cli.exit()).toBe(0);
});
