/**
 * The web client's features end to end, in real Chromium on a real relay: replies, reactions,
 * files, signatures and the safety code (also with an Arthas-format client in the room), reload
 * survival, following new messages, typing that never alarms, countdowns and accessibility.
 * Needs `npm run build -w @hush/web` first (`npm test` builds everything).
 */
import { readFileSync } from 'node:fs';
import { parseShareCode } from '@hush/crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { ArthasFormatClient } from '../support/arthas-format-client.js';
import { launchChromium } from '../support/chromium.js';
import { startTestRelay } from '../support/relay.js';
import { expectNoAxeViolations } from './axe.js';
import type { WebUser } from './web-harness.js';
import { OpenPages, PHONE, UI_TIMEOUT, WEB_ROOT, requireWebBuild } from './web-harness.js';

let browser: Browser;
let relay: RunningRelay;
const pages = new OpenPages();
const arthas: ArthasFormatClient[] = [];

function open(path = '/', viewport?: { width: number; height: number }): Promise<WebUser> {
  return pages.open(browser, `${relay.url}${path}`, viewport);
}

/** A room of `names`: the first creates it on a desktop, the others join by its link. */
async function room(
  ...people: { name: string; viewport?: { width: number; height: number } }[]
): Promise<{ users: WebUser[]; code: string; link: string }> {
  const [first, ...others] = people;
  const creator = await open('/', first!.viewport);
  const { code, link } = await creator.createRoom(first!.name);
  const users = [creator];
  for (const person of others) {
    const user = await open(`/${new URL(link).hash}`, person.viewport);
    await user.joinInvited(person.name);
    users.push(user);
  }
  for (const user of users) await user.expectMembers(people.map((p) => p.name));
  return { users, code, link };
}

/** Opens the phone panel if the layout has one, runs `read`, and closes the panel again. */
async function inPanel<T>(user: WebUser, read: () => Promise<T>): Promise<T> {
  const toggle = user.page.getByRole('button', { name: /& invite/ });
  const narrow = await toggle.isVisible();
  if (narrow) await toggle.click();
  try {
    return await read();
  } finally {
    if (narrow) await user.page.keyboard.press('Escape');
  }
}

function safetyCode(user: WebUser): Promise<string> {
  return inPanel(
    user,
    async () => (await user.page.getByTestId('safety-code').textContent()) ?? '',
  );
}

/** Waits until every user shows the same safety code, and returns it. */
async function sameSafetyCode(users: WebUser[]): Promise<string> {
  let codes: string[] = [];
  await expect
    .poll(
      async () => {
        codes = await Promise.all(users.map(safetyCode));
        return codes.every((code) => /^(\d{5} ){5}\d{5}$/.test(code) && code === codes[0]);
      },
      { timeout: UI_TIMEOUT },
    )
    .toBe(true);
  return codes[0]!;
}

async function reactTo(user: WebUser, text: string, emoji: string): Promise<void> {
  const line = user.message(text).first();
  await line.getByRole('button', { name: 'Add a reaction' }).click();
  await line.getByRole('button', { name: `React with ${emoji}` }).click();
}

function reactionButton(user: WebUser, text: string, emoji: string) {
  return user.message(text).first().locator('.reaction', { hasText: emoji });
}

/** Distance between the bottom of the message list and the bottom of its view, px. */
function gapBelow(page: Page): Promise<number> {
  return page
    .locator('.messages')
    .evaluate((el) => Math.round(el.scrollHeight - el.scrollTop - el.clientHeight));
}

/** A picture made by the browser itself: `type` is image/png or image/jpeg. */
async function picture(page: Page, type: 'image/png' | 'image/jpeg', size = 64): Promise<Buffer> {
  const dataUrl = await page.evaluate(
    ([mime, side]) => {
      const canvas = document.createElement('canvas');
      canvas.width = side;
      canvas.height = side;
      const context = canvas.getContext('2d')!;
      context.fillStyle = '#2d7ad2';
      context.fillRect(0, 0, side, side);
      context.fillStyle = '#f5c518';
      context.fillRect(side / 4, side / 4, side / 2, side / 2);
      return canvas.toDataURL(mime);
    },
    [type, size] as const,
  );
  return Buffer.from(dataUrl.split(',')[1]!, 'base64');
}

beforeAll(async () => {
  requireWebBuild();
  [browser, relay] = await Promise.all([
    launchChromium(),
    // A roomy chat budget keeps the 25-message test short; typing keeps the default budget.
    startTestRelay({
      server: { webRoot: WEB_ROOT },
      limits: { rate: { chat: { events: 100, windowMs: 10_000 } } },
    }),
  ]);
});

afterEach(async () => {
  try {
    await pages.closeAll();
  } finally {
    await Promise.all(arthas.splice(0).map((client) => client.close()));
  }
});

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
});

describe('three people in one room', () => {
  it('reply with a way back to the original, react with counts, see links and right-to-left text, and share one safety code', async () => {
    const { users } = await room(
      { name: 'Ana' },
      { name: 'Ben' },
      { name: 'Cara', viewport: PHONE },
    );
    const [ana, ben, cara] = users as [WebUser, WebUser, WebUser];

    const code = await sameSafetyCode(users);
    // Each member's signing key fingerprint is listed, the same on every screen.
    const anaKeyOnBen = await ben.page
      .locator('.member', { hasText: 'Ana' })
      .getByTestId('member-fingerprint')
      .innerText();
    expect(anaKeyOnBen).toMatch(/^([0-9A-F]{4} )+[0-9A-F]{4}$/);
    expect(
      await ana.page
        .locator('.member', { hasText: 'Ana' })
        .getByTestId('member-fingerprint')
        .innerText(),
    ).toBe(anaKeyOnBen);

    await ana.send('plans at https://example.com/plan?day=1');
    const link = (await ben.waitForMessage('plans at')).getByRole('link');
    expect(await link.getAttribute('href')).toBe('https://example.com/plan?day=1');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await link.getAttribute('target')).toBe('_blank');

    await ben.send('مرحبا بالجميع');
    const arabic = (await ana.waitForMessage('مرحبا')).locator('.message-text');
    expect(await arabic.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    expect(
      await (
        await ana.waitForMessage('plans at')
      )
        .locator('.message-text')
        .evaluate((el) => getComputedStyle(el).direction),
    ).toBe('ltr');

    // Cara, on her phone, replies to Ana's message.
    await (
      await cara.waitForMessage('plans at')
    )
      .getByRole('button', { name: 'Reply to Ana' })
      .click();
    await cara.send('count me in');
    const reply = await ana.waitForMessage('count me in');
    const quote = reply.getByRole('button', { name: /^Replying to Ana: plans at/ });
    await quote.click();
    const original = await ana.waitForMessage('plans at');
    await expect
      .poll(() => ana.page.evaluate(() => document.activeElement?.id))
      .toBe(await original.getAttribute('id'));

    // Reactions: one per member and message, counted, ours marked.
    await reactTo(ben, 'plans at', '👍');
    await reactTo(cara, 'plans at', '👍');
    await expect
      .poll(() => reactionButton(ana, 'plans at', '👍').innerText(), { timeout: UI_TIMEOUT })
      .toMatch(/2$/);
    await reactionButton(ana, 'plans at', '👍').click();
    await expect
      .poll(() => reactionButton(ben, 'plans at', '👍').innerText(), { timeout: UI_TIMEOUT })
      .toMatch(/3$/);
    expect(await reactionButton(ana, 'plans at', '👍').getAttribute('aria-pressed')).toBe('true');
    await reactTo(ben, 'plans at', '❤️');
    await expect
      .poll(() => reactionButton(cara, 'plans at', '❤️').innerText(), { timeout: UI_TIMEOUT })
      .toMatch(/1$/);
    await expect.poll(() => reactionButton(cara, 'plans at', '👍').innerText()).toMatch(/2$/);

    // On the phone, everything one taps is at least 44 px tall (links inside text excepted).
    const small = await cara.page.evaluate(() =>
      [...document.querySelectorAll('button, a, input, select, textarea')]
        .filter((el) => !el.closest('.message-text') && !el.classList.contains('visually-hidden'))
        .map((el) => ({ el, box: el.getBoundingClientRect() }))
        .filter(({ box }) => box.width > 0 && box.height > 0 && box.height < 44)
        .map(({ el, box }) => `${el.tagName} "${el.textContent?.trim() ?? ''}" ${box.height}px`),
    );
    expect(small).toEqual([]);

    // A file dropped on the conversation is sent.
    const dropped = await ben.page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
      return transfer;
    });
    await ben.page.dispatchEvent('.chat', 'dragover', { dataTransfer: dropped });
    await ben.page.dispatchEvent('.chat', 'drop', { dataTransfer: dropped });
    const droppedLine = ana.messages().filter({ hasText: 'dropped.txt' }).first();
    await droppedLine.getByText('Received').waitFor({ timeout: UI_TIMEOUT });
    expect(await droppedLine.getByRole('link', { name: /Download/ }).getAttribute('download')).toBe(
      'dropped.txt',
    );

    // The phone's panel (share, members, safety code) passes axe in both themes.
    await cara.page.getByRole('button', { name: /& invite/ }).click();
    await expectNoAxeViolations(cara.page, 'room panel, phone, light');
    await cara.page.emulateMedia({ colorScheme: 'dark' });
    await expectNoAxeViolations(cara.page, 'room panel, phone, dark');
    // Escape closes it.
    await cara.page.keyboard.press('Escape');
    expect(
      await cara.page.getByRole('button', { name: /& invite/ }).getAttribute('aria-expanded'),
    ).toBe('false');

    // Someone leaves: the code changes, alike for those who stay.
    await cara.page.getByRole('button', { name: 'Leave' }).click();
    await ana.expectMembers(['Ana', 'Ben']);
    const after = await sameSafetyCode([ana, ben]);
    expect(after).not.toBe(code);
  });
});

describe('with an Arthas-format client in the room', () => {
  it('verifies signatures both ways, marks tampering and a changed key, replies, reacts and swaps pictures with thumbnails', async () => {
    const ana = await open();
    const { code } = await ana.createRoom('Ana');
    const { roomId, key } = parseShareCode(code);
    const arthur = await ArthasFormatClient.join(relay.url, roomId, key, 'arthur');
    arthas.push(arthur);
    await ana.expectMembers(['Ana', 'arthur']);

    await arthur.say('hello from Arthas');
    const hello = await ana.waitForMessage('hello from Arthas');
    await expect
      .poll(() => hello.locator('.mark').innerText(), { timeout: UI_TIMEOUT })
      .toMatch(/Verified/);

    await ana.send('hi arthur');
    await arthur.until(() => arthur.messages.some((m) => m.text === 'hi arthur'));
    expect(arthur.messages.find((m) => m.text === 'hi arthur')?.verification).toBe('verified');

    await arthur.sayTampered('what was signed', 'what arrives');
    const tampered = await ana.waitForMessage('what arrives');
    expect(await tampered.locator('.mark').innerText()).toMatch(/Signature invalid/);
    expect(await tampered.getAttribute('data-verification')).toBe('invalid');
    await arthur.sayUnsigned('no signature here');
    expect(await (await ana.waitForMessage('no signature here')).locator('.mark').innerText()).toBe(
      'Unsigned',
    );

    // Replies both ways.
    const anasMessage = arthur.messages.find((m) => m.text === 'hi arthur')!;
    await arthur.say('answering you', anasMessage);
    const answer = await ana.waitForMessage('answering you');
    await answer.getByRole('button', { name: /^Replying to Ana: hi arthur/ }).waitFor();
    await hello.getByRole('button', { name: 'Reply to arthur' }).click();
    await ana.send('answering back');
    await arthur.until(() => arthur.messages.some((m) => m.text === 'answering back'));
    const back = arthur.messages.find((m) => m.text === 'answering back')!;
    expect(back.payload['reply']).toMatchObject({
      senderName: 'arthur',
      preview: 'hello from Arthas',
    });
    // Arthas names the quoted message by its sender's id and the relay's time.
    expect((back.payload['reply'] as { stableId: string }).stableId).toMatch(
      new RegExp(`^${arthur.myId}:\\d+$`),
    );

    // Reactions both ways.
    await arthur.react(anasMessage, '🎉');
    await expect
      .poll(() => reactionButton(ana, 'hi arthur', '🎉').innerText(), { timeout: UI_TIMEOUT })
      .toMatch(/1$/);
    await reactTo(ana, 'hello from Arthas', '👍');
    await arthur.until(() =>
      arthur.reactions.some((r) => r.emoji === '👍' && r.senderName === 'Ana'),
    );

    // A picture from Arthas, with its thumbnail, received whole and offered for download.
    const jpeg = await picture(ana.page, 'image/jpeg', 320);
    const thumb = await picture(ana.page, 'image/jpeg', 32);
    // As a browser's Uint8Array (JSON of a Node Buffer has another shape).
    await arthur.sendFile(
      'holiday photo.jpg',
      'image/jpeg',
      new Uint8Array(jpeg),
      new Uint8Array(thumb),
    );
    const photo = ana.messages().filter({ hasText: 'holiday photo.jpg' }).first();
    await photo.getByText('Received').waitFor({ timeout: UI_TIMEOUT });
    expect(await photo.locator('img').getAttribute('data-preview')).toBe('full');
    expect(await photo.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(
      320,
    );
    const download = photo.getByRole('link', { name: /Download/ });
    expect(await download.getAttribute('download')).toBe('holiday photo.jpg');
    const [saved] = await Promise.all([ana.page.waitForEvent('download'), download.click()]);
    expect(saved.suggestedFilename()).toBe('holiday photo.jpg');
    expect(readFileSync((await saved.path())!).equals(jpeg)).toBe(true);

    // A picture to Arthas, by the attach button, with a thumbnail made in the browser.
    const png = await picture(ana.page, 'image/png', 400);
    await ana.page
      .locator('#composer-file')
      .setInputFiles({ name: 'cat.png', mimeType: 'image/png', buffer: png });
    await arthur.until(() => arthur.files.some((f) => f.fileName === 'cat.png'));
    const cat = arthur.files.find((f) => f.fileName === 'cat.png')!;
    expect(Buffer.from(cat.data).equals(png)).toBe(true);
    expect(cat.mimeType).toBe('image/png');
    expect([...cat.thumbnail!.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    await ana
      .messages()
      .filter({ hasText: 'cat.png' })
      .getByText('Sent · received by 1')
      .waitFor({ timeout: UI_TIMEOUT });

    // The room with all of this passes axe on a desktop, in both themes.
    await expectNoAxeViolations(ana.page, 'room, desktop, light');
    await ana.page.emulateMedia({ colorScheme: 'dark' });
    await expectNoAxeViolations(ana.page, 'room, desktop, dark');

    // Another key under the same name: a warning line, and its messages marked.
    await arthur.close();
    arthas.splice(0);
    const impostor = await ArthasFormatClient.join(relay.url, roomId, key, 'arthur');
    arthas.push(impostor);
    await ana.page.getByText("arthur's signing key changed").waitFor({ timeout: UI_TIMEOUT });
    await impostor.say('trust me');
    expect(await (await ana.waitForMessage('trust me')).locator('.mark').innerText()).toMatch(
      /Key changed/,
    );
    expect(arthur.errors).toEqual([]);
    expect(impostor.errors).toEqual([]);
  });
});

describe('a reload', () => {
  it('asks first, then rejoins the same room with the same name and key; Leave forgets the room', async () => {
    const { users } = await room({ name: 'Ana' }, { name: 'Ben', viewport: PHONE });
    const [ana, ben] = users as [WebUser, WebUser];
    await ana.send('before the reload');
    await ben.waitForMessage('before the reload');
    const keyBefore = await inPanel(ben, () => ben.page.getByTestId('fingerprint').innerText());

    const dialogs: string[] = [];
    ben.page.on('dialog', (dialog) => {
      dialogs.push(dialog.type());
      void dialog.accept();
    });
    await ben.page.reload();
    expect(dialogs).toEqual(['beforeunload']);
    await ben.page.getByLabel('Message', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await expect.poll(() => ben.connectionText(), { timeout: UI_TIMEOUT }).toBe('Connected');
    await ben.expectMembers(['Ana', 'Ben']);
    expect(await inPanel(ben, () => ben.page.getByTestId('fingerprint').innerText())).toBe(
      keyBefore,
    );
    await ana.send('after the reload');
    await ben.waitForMessage('after the reload');
    await ben.send('I am back');
    const back = await ana.waitForMessage('I am back');
    // The same signing key as before: nobody is warned.
    await expect
      .poll(() => back.locator('.mark').innerText(), { timeout: UI_TIMEOUT })
      .toMatch(/Verified/);
    expect(await ana.page.getByText('signing key changed').count()).toBe(0);
    // Notifications stay off unless asked for.
    await inPanel(ben, async () => {
      expect(await ben.page.getByLabel(/Desktop notifications/).isChecked()).toBe(false);
    });

    await ben.page.getByRole('button', { name: 'Leave' }).click();
    await ben.page.getByRole('button', { name: 'Create room' }).waitFor();
    expect(await ben.page.evaluate(() => sessionStorage.length)).toBe(0);
    await ben.page.reload();
    await ben.page.getByRole('button', { name: 'Create room' }).waitFor();
    expect(dialogs).toEqual(['beforeunload']);
  });
});

describe('the message list', () => {
  it('follows new messages after tall ones; scrolled up, it offers a jump to the latest with an unread count, also in the title', async () => {
    const { users } = await room({ name: 'Ana' }, { name: 'Ben', viewport: PHONE });
    const [ana, ben] = users as [WebUser, WebUser];
    const tall = (n: number) => `tall ${n}\n${'a line of a long message\n'.repeat(25)}end ${n}`;
    for (let n = 1; n <= 3; n++) {
      await ana.send(tall(n));
      await ben.waitForMessage(`end ${n}`);
      await expect.poll(() => gapBelow(ben.page), { timeout: UI_TIMEOUT }).toBeLessThanOrEqual(2);
    }

    await ben.page.locator('.messages').evaluate((el) => el.scrollTo({ top: 0 }));
    await ben.page.getByRole('button', { name: /Jump to latest/ }).waitFor();
    await ana.send('new one');
    await ana.send('and another');
    const jump = ben.page.getByRole('button', { name: 'Jump to latest (2 new)' });
    await jump.waitFor({ timeout: UI_TIMEOUT });
    expect(await ben.page.title()).toBe('(2) Hush');
    expect(await gapBelow(ben.page)).toBeGreaterThan(100);
    await jump.click();
    await expect.poll(() => gapBelow(ben.page)).toBeLessThanOrEqual(2);
    await expect.poll(() => ben.page.title()).toBe('Hush');
  });

  it('never shows "sending too fast" for typing: 25 quick messages, typed key by key, all arrive', async () => {
    const { users } = await room({ name: 'Ana' }, { name: 'Ben' });
    const [ana, ben] = users as [WebUser, WebUser];
    const input = ana.page.getByLabel('Message', { exact: true });
    for (let n = 1; n <= 25; n++) {
      await input.pressSequentially(`quick ${n}`);
      await input.press('Enter');
    }
    await ben.waitForMessage('quick 25');
    await expect
      .poll(
        () =>
          ben
            .messages()
            .filter({ hasText: /^.*quick \d+/ })
            .count(),
        { timeout: UI_TIMEOUT },
      )
      .toBe(25);
    await ana.page.waitForTimeout(1_000);
    expect(await ana.page.locator('.notice').count()).toBe(0);
    expect(await ben.page.locator('.notice').count()).toBe(0);
  });
});

describe('countdowns', () => {
  it("counts the room's last hour to the second, and an ephemeral message's time", async () => {
    const ana = await open();
    await ana.page.getByLabel('Nickname', { exact: true }).fill('Ana');
    await ana.page
      .getByLabel('Room closes after', { exact: true })
      .selectOption({ label: '10 minutes' });
    await ana.page
      .getByLabel('Messages disappear after', { exact: true })
      .selectOption({ label: '30 seconds' });
    await ana.page.getByRole('button', { name: 'Create room' }).click();
    const expiry = ana.page.getByTestId('room-expiry');
    await expect
      .poll(() => expiry.innerText(), { timeout: UI_TIMEOUT })
      .toMatch(/^Closes in (9:5\d|10:00)$/);
    const first = await expiry.innerText();
    await expect.poll(() => expiry.innerText(), { timeout: 5_000 }).not.toBe(first);

    await ana.send('short-lived');
    const countdown = (await ana.waitForMessage('short-lived')).locator('.countdown');
    await expect.poll(() => countdown.innerText()).toMatch(/0:(30|2\d)$/);
    const before = await countdown.innerText();
    await expect.poll(() => countdown.innerText(), { timeout: 5_000 }).not.toBe(before);
  });
});

describe('accessibility', () => {
  it('the home page passes axe on a desktop and a phone, in light and dark themes', async () => {
    const desktop = await open();
    await expectNoAxeViolations(desktop.page, 'home, desktop, light');
    await desktop.page.emulateMedia({ colorScheme: 'dark' });
    await expectNoAxeViolations(desktop.page, 'home, desktop, dark');
    const phone = await open('/', PHONE);
    await phone.page.emulateMedia({ colorScheme: 'dark' });
    await expectNoAxeViolations(phone.page, 'home, phone, dark');
    // With an error shown at its field.
    await phone.page.getByLabel('Nickname', { exact: true }).fill('   ');
    await phone.page.getByRole('button', { name: 'Create room' }).click();
    await phone.page
      .locator('#nickname-error')
      .getByText(/Nicknames are/)
      .waitFor();
    await expectNoAxeViolations(phone.page, 'home with a nickname error, phone, dark');
  });
});
