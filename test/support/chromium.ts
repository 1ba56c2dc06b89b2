import { chromium, type Browser } from 'playwright-core';

/** Chromium flags for headless runs in CI sandboxes (root, no GPU, no outbound network). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Debian's Chromium (or `HUSH_CHROMIUM`) through playwright-core. The caller closes
 * the browser, normally in `afterAll`.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.HUSH_CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}
