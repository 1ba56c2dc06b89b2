/**
 * The web client end to end: the built app served by a real relay, driven in real Chromium.
 * Needs `npm run build -w @hush/web` first (`npm test` builds everything).
 */
import { exportRoomKey, generateRoomKey, parseShareCode } from '@hush/crypto';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { launchChromium } from '../support/chromium.js';
import { startTestRelay } from '../support/relay.js';
import type { WebUser } from './web-harness.js';
import { OpenPages, PHONE, UI_TIMEOUT, WEB_ROOT, requireWebBuild } from './web-harness.js';

let browser: Browser;
let relay: RunningRelay;
const pages = new OpenPages();

function open(path = '/', viewport?: { width: number; height: number }): Promise<WebUser> {
  return pages.open(browser, `${relay.url}${path}`, viewport);
}

beforeAll(async () => {
  requireWebBuild();
  [browser, relay] = await Promise.all([
    launchChromium(),
    startTestRelay({ server: { webRoot: WEB_ROOT } }),
  ]);
});

// Every page of every test: no CSP violation, no uncaught error.
afterEach(() => pages.closeAll());

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
});

describe('the web client on a relay', () => {
  it('is served with the strict Content-Security-Policy the client is built for', async () => {
    const response = await fetch(relay.url);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
  });

  it('notices a CSP violation when there is one, so "no violations" means something', async () => {
    const page = await open();
    await page.page.evaluate(() => {
      const style = document.createElement('style');
      style.textContent = 'body { color: red }';
      document.head.append(style);
    });
    await expect.poll(() => page.cspViolations.length).toBeGreaterThan(0);
    expect(page.takeCspViolations().join('\n')).toMatch(/style-src/);
  });

  it('lets two people create and join a room and talk both ways, with members and typing', async () => {
    const ana = await open();
    const { link } = await ana.createRoom('Ana');
    expect(new URL(link).hash).toMatch(/^#\/join\/[A-Za-z0-9_-]{21}:[A-Za-z0-9_-]{43}(:\d+){0,2}$/);

    // Without HUSH_PUBLIC_URL, a page on this computer warns that its link works only here.
    await ana.page.getByTestId('local-link-warning').waitFor();

    const ben = await open(`/${new URL(link).hash}`, PHONE);
    // The key is taken out of the address bar once read.
    expect(new URL(ben.page.url()).hash).toBe('');
    await ben.joinInvited('Ben');
    await ana.expectMembers(['Ana', 'Ben']);
    await ben.expectMembers(['Ana', 'Ben']);
    expect(await ana.fingerprint()).toBe(await ben.fingerprint());

    // Typing shows up on the other side before the message does.
    await ana.page.getByLabel('Message', { exact: true }).pressSequentially('hello B');
    await ben.page.getByText('Ana is typing…').waitFor({ timeout: UI_TIMEOUT });
    await ana.page.getByLabel('Message', { exact: true }).press('End');
    await ana.page.getByLabel('Message', { exact: true }).pressSequentially('en');
    await ana.page.getByLabel('Message', { exact: true }).press('Enter');

    const received = await ben.waitForMessage('hello Ben');
    expect(await received.locator('.sender').innerText()).toBe('Ana');
    expect(await received.getAttribute('class')).not.toMatch(/\bown\b/);
    await expect.poll(() => ben.page.locator('.typing').innerText()).toBe('');
    const own = await ana.waitForMessage('hello Ben');
    expect(await own.getAttribute('class')).toMatch(/\bown\b/);
    expect(await own.locator('.sender').innerText()).toBe('You');

    // Ana's colour on Ben's screen is the one she has in the member list.
    const anaColour = await ben.page
      .locator('.member', { hasText: 'Ana' })
      .evaluate((el) => (el as HTMLElement).style.getPropertyValue('--member-light'));
    expect(anaColour).toMatch(/^#[0-9a-f]{6}$/);
    expect(
      await received.evaluate((el) => (el as HTMLElement).style.getPropertyValue('--member-light')),
    ).toBe(anaColour);

    await ben.send('hi Ana, from my phone');
    const reply = await ana.waitForMessage('hi Ana, from my phone');
    expect(await reply.locator('.sender').innerText()).toBe('Ben');

    await ben.page.screenshot({ path: '/tmp/hush-room-phone.png', animations: 'disabled' });
    await ana.page.screenshot({ path: '/tmp/hush-room-desktop.png', animations: 'disabled' });

    // Ben leaves: Ana sees it.
    await ben.page.getByRole('button', { name: 'Leave' }).click();
    await ana.expectMembers(['Ana']);
    await ana.page.getByText('Ben left').waitFor({ timeout: UI_TIMEOUT });
    await ben.page.getByRole('button', { name: 'Create room' }).waitFor();
    // Nothing about the room was written to storage.
    expect(await ben.page.evaluate(() => localStorage.length)).toBe(0);
    expect(ana.consoleErrors).toEqual([]);
    expect(ben.consoleErrors).toEqual([]);
  });

  it('tells a member whose share code has another key, shows it as unhealthy, and takes the right code', async () => {
    const ana = await open();
    const { code } = await ana.createRoom('Ana');
    const { roomId } = parseShareCode(code);
    const wrongKey = exportRoomKey(await generateRoomKey());

    const eve = await open();
    await eve.joinByCode('Eve', `${roomId}:${wrongKey}`);
    await ana.expectMembers(['Ana', 'Eve']);
    // Ana's client repeats its key announcement when Eve joins: Eve knows before anyone writes.
    const banner = eve.page.locator('.key-mismatch');
    await banner.waitFor({ timeout: UI_TIMEOUT });
    expect(await banner.innerText()).toMatch(/does not match this room/);
    expect(await eve.page.locator('.connection').getAttribute('data-status')).toBe('mismatch');
    expect(await eve.connectionText()).not.toBe('Connected');
    expect(await eve.fingerprint()).not.toBe(await ana.fingerprint());

    await ana.send('for key holders only');
    await expect
      .poll(() => eve.page.locator('.undecryptable').last().innerText(), { timeout: UI_TIMEOUT })
      .toMatch(/Could not decrypt \d+ messages from Ana/);
    expect(await eve.page.getByText('for key holders only').count()).toBe(0);
    // The creator's key is the room's by definition: Ana is told about Eve, not about herself.
    await ana.page.locator('.undecryptable', { hasText: 'Eve' }).waitFor({ timeout: UI_TIMEOUT });
    expect(await ana.page.locator('.key-mismatch').count()).toBe(0);
    expect(await ana.connectionText()).toBe('Connected');

    // The right code, pasted into the banner, rejoins with the room's key.
    await eve.page.getByLabel('Share code or join link', { exact: true }).fill(code);
    await eve.page.getByRole('button', { name: 'Rejoin with this code' }).click();
    await expect.poll(() => eve.connectionText(), { timeout: UI_TIMEOUT }).toBe('Connected');
    await ana.send('now you can read this');
    await eve.waitForMessage('now you can read this');
    expect(await eve.page.locator('.key-mismatch').count()).toBe(0);
    expect(await eve.fingerprint()).toBe(await ana.fingerprint());
  });

  it('can be used with the keyboard alone: create a room with Tab and Enter, then chat', async () => {
    const kim = await open();
    const { page } = kim;
    // The nickname field has the focus when the page opens.
    await page.keyboard.type('Kim');
    const focused = () =>
      page.evaluate(
        () => document.activeElement?.textContent?.trim() ?? document.activeElement?.id,
      );
    for (let tabs = 0; (await focused()) !== 'Create room'; tabs += 1) {
      if (tabs > 10) throw new Error('the Create room button is not reachable with Tab');
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    // In the room the composer has the focus.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.id), { timeout: UI_TIMEOUT })
      .toBe('composer-input');
    await page.keyboard.type('typed without a mouse');
    await page.keyboard.press('Enter');
    const line = await kim.waitForMessage('typed without a mouse');
    expect(await line.getAttribute('data-status')).toBe('sent');
  });

  it('explains a wrong password and a taken nickname, and lets the user try again', async () => {
    const ana = await open();
    const { link } = await ana.createRoom('Ana', { password: 'open sesame' });
    const ben = await open(`/${new URL(link).hash}`);

    await ben.joinInvited('Ben', 'wrong');
    await expect
      .poll(() => ben.page.locator('#join-password-error').innerText(), { timeout: UI_TIMEOUT })
      .toMatch(/Wrong password/);
    expect(await ben.page.evaluate(() => document.activeElement?.id)).toBe('join-password');
    // The error is at its field, which is marked invalid.
    const password = ben.page.getByLabel('Room password', { exact: true });
    expect(await password.getAttribute('aria-invalid')).toBe('true');
    expect(await ben.page.locator('#join-password-error').innerText()).toMatch(/Wrong password/);

    await ben.joinInvited('ana', 'open sesame');
    await expect
      .poll(() => ben.page.locator('#nickname-error').innerText(), { timeout: UI_TIMEOUT })
      .toMatch(/already uses that nickname/);
    expect(
      await ben.page.getByLabel('Nickname', { exact: true }).getAttribute('aria-invalid'),
    ).toBe('true');

    await ben.joinInvited('Ben', 'open sesame');
    await ben.expectMembers(['Ana', 'Ben']);
  });

  it('removes messages from view after the ephemeral time of the room', async () => {
    const ana = await open();
    await ana.createRoom('Ana', { ephemeral: '10 seconds' });
    await expect.poll(() => ana.page.locator('.room-meta').innerText()).toMatch(/10 s/);
    await ana.send('this will vanish');
    const line = await ana.waitForMessage('this will vanish');
    await line.waitFor({ state: 'detached', timeout: 15_000 });
  });
});
