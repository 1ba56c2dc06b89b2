/**
 * The web client when the connection or the relay goes away: reconnecting, rejoining, the outbox,
 * and what the user is told when the room did not survive. Real relays, real Chromium.
 * Needs `npm run build -w @hush/web` first (`npm test` builds everything).
 */
import type { RoomKey } from '@hush/crypto';
import {
  importRoomKey,
  isKeyAnnouncement,
  openMessageWithJson,
  parseShareCode,
} from '@hush/crypto';
import { ServerType } from '@hush/protocol';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryBackends } from '../../apps/relay/src/cluster/backends.js';
import { MemoryBus } from '../../apps/relay/src/cluster/memory/memory.fanout.js';
import { MemoryPresenceStore } from '../../apps/relay/src/cluster/memory/memory.presence.js';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { launchChromium } from '../support/chromium.js';
import { freePort } from '../support/ports.js';
import { startTestRelay } from '../support/relay.js';
import type { TestClient } from '../support/test-client.js';
import { joinRoom } from '../support/test-client.js';
import type { WebUser } from './web-harness.js';
import { OpenPages, UI_TIMEOUT, WEB_ROOT, requireWebBuild } from './web-harness.js';

/** Long enough for a drain notice's retry hint plus a couple of backoff steps. */
const RECONNECT_TIMEOUT = 20_000;

let browser: Browser;
const pages = new OpenPages();
const relays: RunningRelay[] = [];
const clients: TestClient[] = [];

function open(relay: RunningRelay): Promise<WebUser> {
  return pages.open(browser, relay.url);
}

/** Starts a relay, retrying while the port of a relay that just stopped is still being released. */
async function relayOn(
  port: number,
  options: Parameters<typeof startTestRelay>[1] = {},
): Promise<RunningRelay> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const relay = await startTestRelay({ server: { webRoot: WEB_ROOT, port } }, options);
      relays.push(relay);
      return relay;
    } catch (error) {
      if (attempt >= 20 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * The next chat message the witness receives, decrypted: the web client's signing-key
 * announcements (sent after each join, never shown as messages) are skipped.
 */
async function nextChat(
  witness: TestClient,
  key: RoomKey,
): Promise<{ senderName: string; text: string }> {
  for (;;) {
    const relayed = await witness.next(ServerType.RelayMessage, UI_TIMEOUT);
    const { payload, json } = await openMessageWithJson(key, relayed.data);
    if (!isKeyAnnouncement(json))
      return { senderName: relayed.data.senderName, text: payload.text };
  }
}

async function expectConnected(user: WebUser): Promise<void> {
  await expect
    .poll(() => user.connectionText(), { timeout: RECONNECT_TIMEOUT })
    .toMatch(/^Connected/);
}

beforeAll(async () => {
  requireWebBuild();
  browser = await launchChromium();
});

afterEach(async () => {
  try {
    await pages.closeAll();
  } finally {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  }
});

afterAll(async () => {
  await browser?.close();
});

describe('a single relay restarts', () => {
  it('tells both members the room no longer exists and marks what could not be sent', async () => {
    const port = await freePort();
    const first = await relayOn(port);
    const ana = await open(first);
    const { link } = await ana.createRoom('Ana');
    const ben = await open(first);
    await ben.page.goto(link);
    await ben.joinInvited('Ben');
    await ana.expectMembers(['Ana', 'Ben']);

    await first.stop();
    await expect
      .poll(() => ana.connectionText(), { timeout: UI_TIMEOUT })
      .toMatch(/restarting|Reconnecting|Connection lost/);
    // Typed while the relay is down: kept, and shown as waiting.
    await ana.send('anyone still here?');
    const pending = await ana.waitForMessage('anyone still here?');
    expect(await pending.innerText()).toContain('Waiting to send');
    expect(await ana.page.locator('#composer-hint').innerText()).toMatch(/kept/);

    // A fresh replica on the same address knows nothing of the room: rooms live in memory only.
    await relayOn(port);
    for (const user of [ana, ben]) {
      const banner = user.page.locator('.banner[role="alert"]');
      await banner.waitFor({ timeout: RECONNECT_TIMEOUT });
      expect(await banner.innerText()).toMatch(/This room no longer exists/);
      expect(await user.connectionText()).toBe('Disconnected');
      // The composer is off, and the view stays readable.
      expect(await user.page.getByLabel('Message', { exact: true }).isDisabled()).toBe(true);
    }
    expect(await pending.innerText()).toContain('Not sent');
    expect(await pending.innerText()).not.toContain('Waiting to send');

    // Back to the start, where a new room can be made on the new relay.
    await ana.page.getByRole('button', { name: 'Back to start' }).click();
    await ana.createRoom('Ana');
    await expectConnected(ana);
  });
});

describe('the connection drops while the room lives on elsewhere in the cluster', () => {
  /**
   * Two replicas sharing one in-process cluster backend. The browsers use replica A; a terminal
   * client on replica B keeps the room alive while A drops its sockets or restarts.
   */
  async function cluster() {
    const bus = new MemoryBus();
    const store = new MemoryPresenceStore();
    const portA = await freePort();
    const replica = (id: string, port: number) =>
      relayOn(port, { backends: memoryBackends(id, { bus, store }), replicaId: id });
    const [a, b] = await Promise.all([replica('a', portA), replica('b', await freePort())]);
    return { a, b, restartA: () => replica('a2', portA) };
  }

  /** Ana and Ben in browsers (Ben on `benOn`), plus a raw protocol client on replica B. */
  async function roomWithWitness(a: RunningRelay, b: RunningRelay, benOn: RunningRelay = a) {
    const ana = await open(a);
    const { code, link } = await ana.createRoom('Ana');
    const ben = await open(benOn);
    await ben.page.goto(`${benOn.url}/${new URL(link).hash}`);
    await ben.joinInvited('Ben');
    const { roomId, key } = parseShareCode(code);
    const { client: witness } = await joinRoom(b.url, roomId, 'witness');
    clients.push(witness);
    await ana.expectMembers(['Ana', 'Ben', 'witness']);
    await ben.expectMembers(['Ana', 'Ben', 'witness']);
    return { ana, ben, witness, roomKey: await importRoomKey(key) };
  }

  it('rejoins after the relay drops every socket, and the chat goes on', async () => {
    const { a, b } = await cluster();
    const { ana, ben, witness, roomKey } = await roomWithWitness(a, b);

    a.core.sessions.terminateAll();
    await witness.next(ServerType.MemberLeft, UI_TIMEOUT);
    for (const user of [ana, ben]) {
      await user.page
        .getByText('You are back in the room.')
        .waitFor({ timeout: RECONNECT_TIMEOUT });
      await expectConnected(user);
      await user.expectMembers(['Ana', 'Ben', 'witness']);
    }

    await ana.send('still here after the drop');
    await ben.waitForMessage('still here after the drop');
    await ben.send('me too');
    await ana.waitForMessage('me too');
    // A client that is not a browser reads the same ciphertext with the key from the share code.
    expect(await nextChat(witness, roomKey)).toEqual({
      senderName: 'Ana',
      text: 'still here after the drop',
    });
  });

  it('delivers a message typed while its relay was down once the relay is back', async () => {
    const { a, b, restartA } = await cluster();
    // Ben stays connected through replica B: the relay keeps no history, so only members who
    // are connected when a message goes out can receive it.
    const { ana, ben, witness, roomKey } = await roomWithWitness(a, b, b);

    await a.stop();
    await expect
      .poll(() => ana.connectionText(), { timeout: UI_TIMEOUT })
      .toMatch(/restarting|Reconnecting|Connection lost/);
    await ana.send('typed while the relay was down');
    const line = await ana.waitForMessage('typed while the relay was down');
    expect(await line.getAttribute('data-status')).toBe('queued');
    expect(await ana.connectionText()).toContain('1 waiting to send');

    expect(await ben.connectionText()).toMatch(/^Connected/);
    await restartA();
    await expectConnected(ana);
    await expect.poll(() => line.getAttribute('data-status'), { timeout: UI_TIMEOUT }).toBe('sent');
    await ben.waitForMessage('typed while the relay was down');
    expect((await nextChat(witness, roomKey)).text).toBe('typed while the relay was down');
    // Exactly once.
    expect(await ben.message('typed while the relay was down').count()).toBe(1);
  });
});
