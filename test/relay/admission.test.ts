/**
 * Connection admission before the WebSocket upgrade, against a real relay over real TCP: sockets
 * that never finish their request headers, per-address caps counted at accept, the header
 * timeout, the replica-wide ceiling, and clients behind a trusted proxy.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { connect as tcpConnect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { startTestRelay } from '../support/relay.js';
import type { TestClient } from '../support/test-client.js';
import { connect, connectAndCreate, get, metric, scrape } from './helpers.js';

const relays: RunningRelay[] = [];
const sockets: Socket[] = [];
const clients: TestClient[] = [];

async function relay(overrides: Parameters<typeof startTestRelay>[0] = {}): Promise<RunningRelay> {
  const started = await startTestRelay(overrides);
  relays.push(started);
  return started;
}

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(relays.map((r) => r.stop()));
});

/**
 * A TCP connection from `from` (a loopback address of its own, so the test's other clients keep
 * their budget) that sends the start of a request and never finishes it.
 */
async function halfRequest(url: string, from: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = tcpConnect({ host: hostname, port: Number(port), localAddress: from });
  socket.on('error', () => undefined);
  sockets.push(socket);
  await once(socket, 'connect');
  socket.write('GET /ws HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\n');
  return socket;
}

/** Resolves with what the server wrote before closing the socket. */
function closing(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    if (socket.destroyed) resolve(text);
    else socket.once('close', () => resolve(text));
  });
}

function isClosed(socket: Socket): boolean {
  return socket.destroyed || socket.readableEnded;
}

describe('connection admission', () => {
  it('caps unfinished-header connections per address at accept, while /healthz, the page and other clients are served', async () => {
    const cap = 20;
    const { url } = await relay({
      limits: { maxConnectionsPerIp: cap },
      server: { headerTimeoutMs: 60_000 },
    });
    const held = await Promise.all(
      Array.from({ length: cap }, () => halfRequest(url, '127.0.0.2')),
    );
    const refused = await Promise.all(
      Array.from({ length: 30 }, () => halfRequest(url, '127.0.0.2').then(closing)),
    );
    expect(refused.every((text) => text.startsWith('HTTP/1.1 429'))).toBe(true);
    expect(held.some(isClosed)).toBe(false);
    expect((await get(url, '/healthz')).status).toBe(200);
    expect((await get(url, '/readyz')).status).toBe(200);
    const alice = await connectAndCreate(url, 'alice');
    clients.push(alice.client);
    const text = await scrape(url);
    expect(metric(text, 'hush_admission_refusals_total', { reason: 'address_cap' })).toBe(30);
  });

  it('closes a connection that does not finish its request headers within the header timeout', async () => {
    const { url } = await relay({ server: { headerTimeoutMs: 300 } });
    const slow = await halfRequest(url, '127.0.0.3');
    await closing(slow);
    expect(isClosed(slow)).toBe(true);
    // A client that finishes its request in time is not affected by the timer.
    const client = await connect(url);
    clients.push(client);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    const text = await scrape(url);
    expect(metric(text, 'hush_admission_refusals_total', { reason: 'header_timeout' })).toBe(1);
  });

  it('frees an address slot when its connection closes', async () => {
    const { url } = await relay({ limits: { maxConnectionsPerIp: 2 } });
    const first = await halfRequest(url, '127.0.0.4');
    await halfRequest(url, '127.0.0.4');
    expect(await closing(await halfRequest(url, '127.0.0.4'))).toMatch(/^HTTP\/1.1 429/);
    first.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await halfRequest(url, '127.0.0.4');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isClosed(again)).toBe(false);
  });

  it('answers upgrades with 503 past the replica ceiling while /healthz and the page keep answering', async () => {
    const { url } = await relay({ limits: { maxConnections: 3 } });
    for (let i = 0; i < 3; i++) clients.push(await connect(url));
    await expect(connect(url)).rejects.toThrow('upgrade refused: 503');
    expect((await get(url, '/healthz')).status).toBe(200);
    expect((await get(url, '/')).status).toBeLessThan(500);
    const text = await scrape(url);
    expect(metric(text, 'hush_admission_refusals_total', { reason: 'replica_full' })).toBe(1);
  });

  it('counts clients behind a trusted proxy by their forwarded address, not the proxy', async () => {
    const { url } = await relay({
      server: { trustedProxies: ['127.0.0.1'] },
      limits: { maxConnectionsPerIp: 2 },
    });
    // Many clients arrive through the proxy (127.0.0.1): the proxy itself is not capped.
    for (let i = 0; i < 4; i++) {
      clients.push(await connect(url, { forwardedFor: `198.51.100.${i + 1}` }));
    }
    // One forwarded address is held to the cap.
    clients.push(await connect(url, { forwardedFor: '203.0.113.9' }));
    clients.push(await connect(url, { forwardedFor: '203.0.113.9' }));
    await expect(connect(url, { forwardedFor: '203.0.113.9' })).rejects.toThrow(
      'upgrade refused: 429',
    );
  });
});
