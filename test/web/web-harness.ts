import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';

/** The built web client the relay serves at `/`. */
export const WEB_ROOT = fileURLToPath(new URL('../../apps/web/dist', import.meta.url));

/** Fails early, with the fix, when the web client has not been built. */
export function requireWebBuild(): void {
  if (!existsSync(join(WEB_ROOT, 'index.html'))) {
    throw new Error(`${WEB_ROOT}/index.html is missing: run \`npm run build -w @hush/web\` first`);
  }
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

/** How long the UI may take to reflect something that crossed the relay. */
export const UI_TIMEOUT = 10_000;

/**
 * One browser tab with its own context (separate storage, like another person's browser), that
 * records what should never happen: CSP violations, uncaught errors, console errors.
 */
export class WebUser {
  /** `securitypolicyviolation` events and console messages about the CSP. */
  readonly cspViolations: string[] = [];
  /** Uncaught exceptions and unhandled rejections in the page. */
  readonly pageErrors: string[] = [];
  /** Every console error (a relay going down legitimately logs failed WebSocket connections). */
  readonly consoleErrors: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('console', (message) => {
      const text = message.text();
      if (/Content[- ]Security[- ]Policy|CSP violation/i.test(text)) this.cspViolations.push(text);
      if (message.type() === 'error') this.consoleErrors.push(text);
    });
    page.on('pageerror', (error) => this.pageErrors.push(String(error)));
  }

  static async open(
    browser: Browser,
    url: string,
    viewport: { width: number; height: number } = DESKTOP,
  ): Promise<WebUser> {
    const context = await browser.newContext({ viewport });
    // Runs through the DevTools protocol, outside the page's CSP: it only listens.
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        console.error(
          `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`,
        );
      });
    });
    const page = await context.newPage();
    const user = new WebUser(context, page);
    await page.goto(url);
    return user;
  }

  async close(): Promise<void> {
    await this.context.close();
  }

  /** Returns the CSP violations seen so far and forgets them. */
  takeCspViolations(): string[] {
    return this.cspViolations.splice(0);
  }

  /** Fails the test on any CSP violation or uncaught error seen so far. */
  expectClean(): void {
    expect(this.cspViolations).toEqual([]);
    expect(this.pageErrors).toEqual([]);
  }

  /** Creates a room from the home page; resolves with its share code and join link. */
  async createRoom(
    name: string,
    options: { password?: string; ephemeral?: string } = {},
  ): Promise<{ code: string; link: string }> {
    const { page } = this;
    await page.getByLabel('Nickname', { exact: true }).fill(name);
    if (options.password !== undefined) {
      await page.getByLabel('Password (optional)', { exact: true }).fill(options.password);
    }
    if (options.ephemeral !== undefined) {
      await page
        .getByLabel('Messages disappear after', { exact: true })
        .selectOption({ label: options.ephemeral });
    }
    await page.getByRole('button', { name: 'Create room' }).click();
    return this.invitation();
  }

  /** Joins from a page opened on a join link. */
  async joinInvited(name: string, password?: string): Promise<void> {
    const { page } = this;
    await page.getByLabel('Nickname', { exact: true }).fill(name);
    if (password !== undefined)
      await page.getByLabel('Room password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Join room' }).click();
  }

  /** Joins by pasting a share code or link on the home page. */
  async joinByCode(name: string, code: string): Promise<void> {
    const { page } = this;
    await page.getByLabel('Nickname', { exact: true }).fill(name);
    await page.getByLabel('Share code or join link', { exact: true }).fill(code);
    await page.getByRole('button', { name: 'Join room' }).click();
  }

  /** The share code and join link shown in the room's invitation panel. */
  async invitation(): Promise<{ code: string; link: string }> {
    await this.openPanelIfNarrow();
    const codeField = this.page.getByLabel('Share code', { exact: true });
    await expect.poll(() => codeField.inputValue(), { timeout: UI_TIMEOUT }).toMatch(/:/);
    const code = await codeField.inputValue();
    const link = await this.page.getByLabel('Join link', { exact: true }).inputValue();
    await this.closePanelIfNarrow();
    return { code, link };
  }

  async send(text: string): Promise<void> {
    const input = this.page.getByLabel('Message', { exact: true });
    await input.fill(text);
    await input.press('Enter');
  }

  /** Chat lines (not room events) in the message list. */
  messages(): Locator {
    return this.page.locator('.message-list li.message');
  }

  message(text: string): Locator {
    return this.messages().filter({ hasText: text });
  }

  async waitForMessage(text: string): Promise<Locator> {
    const line = this.message(text);
    await line.first().waitFor({ timeout: UI_TIMEOUT });
    return line.first();
  }

  /** Member names in the member list (shown beside the chat, or behind a button on phones). */
  async memberNames(): Promise<string[]> {
    return this.page.locator('.member-list .member-name').allTextContents();
  }

  async expectMembers(names: string[]): Promise<void> {
    await expect
      .poll(async () => (await this.memberNames()).sort(), { timeout: UI_TIMEOUT })
      .toEqual([...names].sort());
  }

  connectionText(): Promise<string> {
    return this.page.locator('.connection-label').innerText();
  }

  async fingerprint(): Promise<string> {
    const fingerprint = this.page.getByTestId('fingerprint');
    await expect
      .poll(() => fingerprint.textContent(), { timeout: UI_TIMEOUT })
      .toMatch(/^([0-9A-F]{4} ){7}[0-9A-F]{4}$/);
    return (await fingerprint.textContent()) ?? '';
  }

  private async openPanelIfNarrow(): Promise<void> {
    const toggle = this.page.getByRole('button', { name: /& invite/ });
    if (await toggle.isVisible()) await toggle.click();
  }

  private async closePanelIfNarrow(): Promise<void> {
    const back = this.page.getByRole('button', { name: 'Back to chat' });
    if (await back.isVisible()) await back.click();
  }
}

/**
 * The pages a test file opens. After each test, `closeAll()` fails it on any CSP violation or
 * uncaught page error seen on any of them, then closes them all.
 */
export class OpenPages {
  private readonly users: WebUser[] = [];

  async open(
    browser: Browser,
    url: string,
    viewport?: { width: number; height: number },
  ): Promise<WebUser> {
    const user = await WebUser.open(browser, url, viewport);
    this.users.push(user);
    return user;
  }

  async closeAll(): Promise<void> {
    const done = this.users.splice(0);
    try {
      for (const user of done) user.expectClean();
    } finally {
      await Promise.all(done.map((user) => user.close()));
    }
  }
}
