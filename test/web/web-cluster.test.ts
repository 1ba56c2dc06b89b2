/**
 * The web client against a real cluster: two relay replicas sharing one Redis (testcontainers),
 * each browser on a different replica, as a load balancer would spread them.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { launchChromium } from '../support/chromium.js';
import { clusterConfig } from '../support/cluster.js';
import type { TestRedis } from '../support/redis.js';
import { startRedis } from '../support/redis.js';
import { startTestRelay } from '../support/relay.js';
import { OpenPages, PHONE, UI_TIMEOUT, WEB_ROOT, requireWebBuild } from './web-harness.js';

let browser: Browser;
let redis: TestRedis;
let replicas: RunningRelay[] = [];
const pages = new OpenPages();

beforeAll(async () => {
  requireWebBuild();
  [browser, redis] = await Promise.all([launchChromium(), startRedis()]);
  const config = clusterConfig({ url: redis.url }, { server: { webRoot: WEB_ROOT } });
  replicas = await Promise.all([startTestRelay(config), startTestRelay(config)]);
});

afterEach(() => pages.closeAll());

afterAll(async () => {
  await browser?.close();
  await Promise.all(replicas.map((replica) => replica.stop()));
  await redis?.stop();
});

describe('the web client on two replicas sharing Redis', () => {
  it('lets people on different replicas join one room and talk both ways', async () => {
    const [a, b] = replicas as [RunningRelay, RunningRelay];
    const ana = await pages.open(browser, a.url);
    const { link } = await ana.createRoom('Ana');

    const ben = await pages.open(browser, `${b.url}/${new URL(link).hash}`, PHONE);
    await ben.joinInvited('Ben');
    await ana.expectMembers(['Ana', 'Ben']);
    await ben.expectMembers(['Ana', 'Ben']);
    expect(await ben.fingerprint()).toBe(await ana.fingerprint());

    await ana.send('hello from replica A');
    await ben.waitForMessage('hello from replica A');
    await ben.send('and back from replica B');
    const reply = await ana.waitForMessage('and back from replica B');
    await expect.poll(() => reply.innerText(), { timeout: UI_TIMEOUT }).toContain('Ben');

    // Each replica hosts exactly one of the two members.
    expect(a.core.sessions.size).toBe(1);
    expect(b.core.sessions.size).toBe(1);
  });
});
