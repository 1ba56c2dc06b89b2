/**
 * Checks the test infrastructure itself (Docker, the Redis image, Chromium). When this file
 * fails, fix the machine or `.ci/run` before looking at any other integration test.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { Cluster, Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/chromium.js';
import { freePort } from './support/ports.js';
import { startRedis, type TestRedis } from './support/redis.js';

const started: TestRedis[] = [];
const clients: (Redis | Cluster)[] = [];
/** Errors ioredis emitted (outages make clients emit ECONNREFUSED while they retry). */
const clientErrors = new Map<Redis | Cluster, Error[]>();

async function redis(options?: { cluster?: boolean }): Promise<TestRedis> {
  const server = await startRedis(options);
  started.push(server);
  return server;
}

function track<T extends Redis | Cluster>(client: T): T {
  clients.push(client);
  const errors: Error[] = [];
  clientErrors.set(client, errors);
  client.on('error', (error: Error) => errors.push(error));
  return client;
}

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all(started.map((server) => server.stop()));
});

describe('freePort', () => {
  it('returns distinct bindable ports', async () => {
    const [a, b] = await Promise.all([freePort(), freePort()]);
    expect(a).toBeGreaterThan(0);
    expect(a).not.toBe(b);
  });
});

describe('Redis container', () => {
  it('answers PING and SET/GET', async () => {
    const server = await redis();
    expect(server.url).toBe(`redis://${server.host}:${server.port}`);
    const client = track(new Redis(server.url));
    expect(await client.ping()).toBe('PONG');
    await client.set('hush:infra', 'ok');
    expect(await client.get('hush:infra')).toBe('ok');
  });

  it('pause() makes the server unreachable and resume() brings it back on the same port', async () => {
    const server = await redis();
    const { port } = server;
    // Default retry strategy: ioredis reconnects by itself once the server is back.
    const client = track(new Redis(server.url));
    expect(await client.ping()).toBe('PONG');
    const reconnecting = new Promise<void>((resolve) => client.once('reconnecting', resolve));

    await server.pause();
    expect(server.port).toBe(port);
    // A fresh client without retries fails: the port refuses connections.
    const probe = track(
      new Redis(server.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      }),
    );
    await expect(probe.connect()).rejects.toThrow();
    expect(clientErrors.get(probe)).toContainEqual(
      expect.objectContaining({ code: 'ECONNREFUSED' }),
    );
    await reconnecting; // the long-lived client noticed the outage

    await server.resume();
    expect(server.port).toBe(port);
    expect(await client.ping()).toBe('PONG');
    await client.set('hush:after-outage', '1');
    expect(await client.get('hush:after-outage')).toBe('1');
  });

  it('runs a single-node cluster usable by ioredis Cluster with sharded pub/sub', async () => {
    const server = await redis({ cluster: true });
    const nodes = [{ host: server.host, port: server.port }];
    // ioredis only forwards `smessage` from Cluster clients created with shardedSubscribers.
    const subscriber = track(new Cluster(nodes, { shardedSubscribers: true }));
    const publisher = track(new Cluster(nodes, { shardedSubscribers: true }));

    await publisher.set('{hush}:key', 'v');
    expect(await publisher.get('{hush}:key')).toBe('v');

    const received = new Promise<[string, string]>((resolve) => {
      subscriber.on('smessage', (channel: string, message: string) => resolve([channel, message]));
    });
    await subscriber.ssubscribe('hush:room:1');
    expect(await publisher.spublish('hush:room:1', 'hello')).toBe(1);
    expect(await received).toEqual(['hush:room:1', 'hello']);
  });

  it('keeps the cluster usable across pause() and resume()', async () => {
    const server = await redis({ cluster: true });
    const client = track(new Cluster([{ host: server.host, port: server.port }]));
    await client.set('{hush}:before', '1');

    await server.pause();
    await server.resume();

    // The Cluster client recovers on its own; slots survive the restart.
    await expect(waitFor(() => client.set('{hush}:after', '2'))).resolves.toBe('OK');
    expect(await client.get('{hush}:after')).toBe('2');
  });
});

describe('Chromium', () => {
  let browser: Browser | undefined;
  let http: Server | undefined;
  let url = '';

  beforeAll(async () => {
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end('<!doctype html><title>hush</title><p id="greeting">Hello from Hush</p>');
    });
    http = server;
    const port = await freePort();
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${port}/`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => http?.close(resolve));
  });

  it('loads a local page and reads its text', async () => {
    if (browser === undefined) throw new Error('Chromium did not launch');
    const page = await browser.newPage();
    await page.goto(url);
    expect(await page.title()).toBe('hush');
    expect(await page.textContent('#greeting')).toBe('Hello from Hush');
    await page.close();
  });
});

async function waitFor<T>(attempt: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
