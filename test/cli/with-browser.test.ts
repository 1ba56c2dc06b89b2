/**
 * Two terminals and one browser in one room: the CLI as real processes, the web client in real
 * Chromium, one real relay. Everyone reads everyone.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { launchChromium } from '../support/chromium.js';
import { startTestRelay } from '../support/relay.js';
import { OpenPages, WEB_ROOT, requireWebBuild } from '../web/web-harness.js';
import type { CliProcess } from './support/cli-process.js';
import { buildCli, cleanup, startCli, wsUrl } from './support/cli-process.js';

let relay: RunningRelay;
let browser: Browser;
const running: CliProcess[] = [];
const pages = new OpenPages();

beforeAll(async () => {
  requireWebBuild();
  await buildCli();
  [browser, relay] = await Promise.all([
    launchChromium(),
    startTestRelay({ server: { webRoot: WEB_ROOT } }),
  ]);
});

afterEach(async () => {
  cleanup(running);
  await pages.closeAll();
});

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
});

it('two terminals and one browser share a room and read each other', async () => {
  const web = await pages.open(browser, relay.url);
  const { code } = await web.createRoom('Wendy');

  const terminal = (name: string) =>
    startCli(running, ['join', code, '--name', name, '--server', wsUrl(relay.url)]);
  const tom = terminal('tom');
  await tom.waitFor('stderr', /^Joined room .* as tom\./);
  const tess = terminal('tess');
  await tess.waitFor('stderr', /^Joined room .* as tess\./);
  await web.expectMembers(['Wendy', 'tom', 'tess']);

  await web.send('hello terminals');
  await tom.waitFor('stdout', /<Wendy> hello terminals$/);
  await tess.waitFor('stdout', /<Wendy> hello terminals$/);

  tom.write('hello from tom');
  await web.waitForMessage('hello from tom');
  await tess.waitFor('stdout', /<tom> hello from tom$/);

  tess.write('and tess');
  await web.waitForMessage('and tess');
  await tom.waitFor('stdout', /<tess> and tess$/);

  tom.end();
  expect(await tom.exit()).toBe(0);
  await tess.waitFor('stdout', /^\* tom left$/);
  await web.expectMembers(['Wendy', 'tess']);
});
