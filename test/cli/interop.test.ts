/**
 * The CLI in the same room as other clients, over a real relay: a raw protocol client encrypting
 * exactly as the web client does (`sealMessage`), Arthas payload variants (plain UTF-8 text, a
 * reply, binary fields), and the CLI's own messages read back with `openMessage`. The full Arthas
 * web client format (signatures, key announcements, reactions, files) is `arthas-room.test.ts`.
 */
import type { RoomKey } from '@hush/crypto';
import {
  encodePayload,
  encodePlainText,
  encrypt,
  importRoomKey,
  newMessageId,
  openMessage,
  parseShareCode,
  seal,
  sealMessage,
} from '@hush/crypto';
import { ClientType, ServerType } from '@hush/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { startTestRelay } from '../support/relay.js';
import { joinRoom, type TestClient } from '../support/test-client.js';
import { buildCli, CliProcess, said, shareCodeOf, wsUrl } from './support/cli-process.js';

let relay: RunningRelay;
let cli: CliProcess;
let web: TestClient;
let key: RoomKey;

beforeAll(async () => {
  await buildCli();
  relay = await startTestRelay();
  cli = new CliProcess(['create', '--name', 'terminal', '--server', wsUrl(relay.url)]);
  const code = parseShareCode(await shareCodeOf(cli));
  key = await importRoomKey(code.key);
  ({ client: web } = await joinRoom(relay.url, code.roomId, 'browser'));
  await cli.waitFor('stdout', /^\* browser joined$/);
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(cli.transcript()));
});

/** The next chat message the raw client received, skipping key announcements. */
async function nextMessage() {
  for (;;) {
    const relayed = await web.next(ServerType.RelayMessage);
    if ((await openMessage(key, relayed.data)).type !== 'pubkey') return relayed;
  }
}

afterAll(async () => {
  cli?.kill();
  await web?.close();
  await relay?.stop();
});

describe('CLI ↔ web client format', () => {
  it('reads a message the web client seals with sealMessage({ text, id })', async () => {
    web.send({
      type: ClientType.SendMessage,
      data: await sealMessage(key, { text: 'hello from the browser', id: newMessageId() }),
    });
    await cli.waitFor('stdout', said('browser', 'hello from the browser', '-'));
  });

  it('writes messages the web client opens with openMessage, as base64url strings with a message id and a signature', async () => {
    cli.write('hello from the terminal');
    const relayed = await nextMessage();
    expect(relayed.data.senderName).toBe('terminal');
    expect(relayed.data.iv).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(relayed.data.ciphertext).toMatch(/^[A-Za-z0-9_-]+$/);
    const payload = await openMessage(key, relayed.data);
    expect(payload).toEqual({
      text: 'hello from the terminal',
      id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      sig: expect.stringMatching(/^[A-Za-z0-9_-]{86}$/),
    });
  });

  it('keeps what the user typed even when it looks like JSON', async () => {
    cli.write('{"text":"not a payload"');
    const relayed = await nextMessage();
    expect((await openMessage(key, relayed.data)).text).toBe('{"text":"not a payload"');
  });
});

describe('CLI ↔ Arthas clients', () => {
  it('reads plain UTF-8 text, as the Arthas Go CLI sends it', async () => {
    web.send({
      type: ClientType.SendMessage,
      data: await seal(key, encodePlainText('plain arthas text, ünïcødé ✓')),
    });
    await cli.waitFor('stdout', /<browser> plain arthas text, ünïcødé ✓$/);
  });

  it('reads an Arthas web payload with a reply and a signature it cannot check yet', async () => {
    const payload = {
      text: 'agreed',
      reply: { stableId: 'm-x:1700000000000', senderName: 'ana', preview: '9pm?' },
      sig: 'not-checked-without-a-key',
    };
    web.send({ type: ClientType.SendMessage, data: await seal(key, encodePayload(payload)) });
    await cli.waitFor('stdout', said('browser', 'agreed', '?'));
    await cli.waitFor('stdout', /^ {2}> <ana> 9pm\?$/);
  });

  it('reads iv and ciphertext sent as binary instead of base64url strings', async () => {
    const { iv, ciphertext } = await encrypt(key, encodePayload({ text: 'binary fields' }));
    web.send({ type: ClientType.SendMessage, data: { iv, ciphertext } });
    await cli.waitFor('stdout', /<browser> binary fields$/);
  });

  it('never lets a peer drive the terminal: control characters are neutralised', async () => {
    web.send({
      type: ClientType.SendMessage,
      data: await seal(key, encodePlainText('before\u001b[2Jafter\u0007')),
    });
    const line = await cli.waitFor('stdout', /<browser> before/);
    expect(line).toMatch(/<browser> before\uFFFD\[2Jafter\uFFFD$/);
  });
});
