/**
 * Where a browser is allowed to encrypt: a page opened over plain HTTP from an address other than
 * this computer explains what to do, and `HUSH_TLS=self-signed` serves the page and WebSocket
 * over HTTPS with a certificate made at start, so phones on the LAN can use it. Invitations
 * from a page on localhost point at `HUSH_PUBLIC_URL`. Real relays, real Chromium.
 */
import type { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { CHROMIUM_ARGS } from '../support/chromium.js';
import { freePort } from '../support/ports.js';
import { startTestRelay } from '../support/relay.js';
import { expectNoAxeViolations } from './axe.js';
import { OpenPages, PHONE, UI_TIMEOUT, WEB_ROOT, requireWebBuild } from './web-harness.js';

/** A name Chromium resolves to this computer but does not treat as local (so not secure). */
const LAN_NAME = 'hush.test';

const pages = new OpenPages();
let browser: Browser | undefined;
let relay: RunningRelay | undefined;

function launch(extraArgs: string[]): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.HUSH_CHROMIUM ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${LAN_NAME} 127.0.0.1`, ...extraArgs],
  });
}

afterEach(async () => {
  try {
    await pages.closeAll();
  } finally {
    await browser?.close();
    await relay?.stop();
    browser = undefined;
    relay = undefined;
  }
});

describe('a page opened over plain HTTP at a LAN address', () => {
  it('explains how to reach Hush securely instead of hanging', async () => {
    requireWebBuild();
    relay = await startTestRelay({ server: { webRoot: WEB_ROOT } });
    browser = await launch([]);
    const url = `http://${LAN_NAME}:${relay.port}/`;
    const user = await pages.open(browser, url, PHONE);
    expect(await user.page.evaluate(() => window.isSecureContext)).toBe(false);
    const heading = user.page.getByRole('heading', { name: 'This page cannot encrypt here' });
    await heading.waitFor({ timeout: UI_TIMEOUT });
    const text = await user.page.locator('main').innerText();
    expect(text).toContain(`http://localhost:${relay.port}/`);
    expect(text).toContain(`https://${LAN_NAME}:${relay.port}/`);
    expect(text).toContain('HUSH_TLS=self-signed');
    expect(await user.page.getByRole('button').count()).toBe(0);
    expect(user.pageErrors).toEqual([]);
    await expectNoAxeViolations(user.page, 'insecure-context page, phone');
  });
});

describe('HUSH_TLS=self-signed', () => {
  it('serves page and WebSocket over HTTPS with the certificate it announced; invitations use HUSH_PUBLIC_URL', async () => {
    requireWebBuild();
    const port = await freePort();
    relay = await startTestRelay({
      server: {
        webRoot: WEB_ROOT,
        port,
        tlsMode: 'self-signed',
        publicUrl: `https://${LAN_NAME}:${port}`,
      },
    });
    const certificate = relay.selfSigned!;
    expect(relay.url).toBe(`https://127.0.0.1:${port}`);
    expect(certificate.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    // What a client is served is the certificate the relay announced, for every name used here.
    const served = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = connect(
        { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false },
        () => {
          resolve(socket.getPeerX509Certificate()!);
          socket.end();
        },
      );
      socket.once('error', reject);
    });
    expect(served.fingerprint256).toBe(certificate.fingerprint256);
    for (const name of ['DNS:localhost', `DNS:${LAN_NAME}`, 'IP Address:127.0.0.1']) {
      expect(served.subjectAltName).toContain(name);
    }

    // A browser told to trust exactly this key (as a person does after comparing fingerprints).
    browser = await launch([`--ignore-certificate-errors-spki-list=${certificate.spkiSha256}`]);
    const ana = await pages.open(browser, `https://localhost:${port}/`);
    const { link } = await ana.createRoom('Ana');
    // Opened on this computer, the page invites others to the public address.
    expect(link.startsWith(`https://${LAN_NAME}:${port}/#/join/`)).toBe(true);

    const ben = await pages.open(browser, link, PHONE);
    expect(await ben.page.evaluate(() => window.isSecureContext)).toBe(true);
    await ben.joinInvited('Ben');
    await ana.expectMembers(['Ana', 'Ben']);
    await ben.send('over wss from the LAN address');
    await ana.waitForMessage('over wss from the LAN address');
    // Opened at the public address, the page's own address is the invitation.
    const benLink = await ben.invitation();
    expect(benLink.link.startsWith(`https://${LAN_NAME}:${port}/#/join/`)).toBe(true);
    expect(await ana.page.getByTestId('local-link-warning').count()).toBe(0);
  });
});
