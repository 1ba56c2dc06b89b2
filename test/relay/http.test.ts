/**
 * The relay's HTTP side on its one port: probes, Prometheus metrics, security headers, and the
 * WebSocket endpoint living at /ws only.
 */
import { ClientType, ServerType } from '@hush/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { startTestRelay } from '../support/relay.js';
import { TestClient } from '../support/test-client.js';
import {
  b64,
  closedWithin,
  connect,
  connectAndCreate,
  connectAndJoin,
  get,
  metric,
  scrape,
  sleep,
  waitFor,
} from './helpers.js';

const relays: RunningRelay[] = [];

async function relay(overrides: Parameters<typeof startTestRelay>[0] = {}): Promise<RunningRelay> {
  const started = await startTestRelay(overrides);
  relays.push(started);
  return started;
}

afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
});

describe('probes', () => {
  let url: string;
  beforeAll(async () => {
    url = (await relay()).url;
  });

  it('answers /healthz with 200', async () => {
    const response = await get(url, '/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 200 and no reasons when ready', async () => {
    const response = await get(url, '/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', reasons: [] });
  });
});

describe('draining', () => {
  it('fails /readyz with 503 and reason "draining" first, refuses new sockets, keeps /healthz, then closes clients with 1001', async () => {
    const running = await relay({ server: { drainDelayMs: 600, shutdownTimeoutMs: 5000 } });
    const { url } = running;
    const client = await connect(url);
    const stopping = running.stop();

    const response = await get(url, '/readyz');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'unavailable', reasons: ['draining'] });
    expect((await get(url, '/healthz')).status).toBe(200);
    await expect(connect(url)).rejects.toThrow('upgrade refused: 503');
    // Readiness fails before any client is asked to leave, so load balancers can catch up.
    expect(client.socket.readyState).toBe(client.socket.OPEN);

    expect((await closedWithin(client, 3000)).code).toBe(1001);
    await stopping;
  });
});

describe('metrics', () => {
  it('counts connections, disconnections, relayed messages, errors by code and rate-limit hits, with gauges and a fan-out histogram', async () => {
    const { url } = await relay({ limits: { rate: { chat: { events: 1, windowMs: 60_000 } } } });
    const alice = await connectAndCreate(url, 'zebranick');
    const bob = await connectAndJoin(url, alice.roomId, 'quokkanick');
    const ciphertext = `payload-${b64(12)}`;
    // The first message after joining is the key announcement the chat budget lets through.
    for (let i = 0; i < 3; i++) {
      bob.client.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext } });
    }
    bob.client.send({ type: ClientType.Typing, data: { typing: true } });
    bob.client.send({ type: ClientType.SendReaction, data: { iv: 'iv', ciphertext } });
    bob.client.send({
      type: ClientType.SendFileMeta,
      data: { transferId: 'secret-transfer', iv: 'iv', ciphertext },
    });
    await alice.client.next(ServerType.RelayFileMeta);
    const outsider = await connect(url);
    outsider.send({ type: ClientType.SendMessage, data: { iv: 'iv', ciphertext } });
    await outsider.next(ServerType.Error);
    await outsider.close();

    const text = await waitForMetrics(url, (t) => metric(t, 'hush_disconnections_total') === 1);
    expect(metric(text, 'hush_connections_total')).toBe(3);
    expect(metric(text, 'hush_disconnections_total')).toBe(1);
    expect(metric(text, 'hush_connections')).toBe(2);
    expect(metric(text, 'hush_rooms')).toBe(1);
    const relayed = { message: 2, typing: 1, reaction: 1, file: 1 };
    for (const [kind, count] of Object.entries(relayed)) {
      expect(metric(text, 'hush_messages_relayed_total', { kind })).toBe(count);
      expect(metric(text, 'hush_fanout_duration_seconds_count', { kind })).toBe(count);
    }
    expect(metric(text, 'hush_errors_total', { code: 'E003' })).toBe(1);
    expect(metric(text, 'hush_errors_total', { code: 'E004' })).toBe(1);
    expect(metric(text, 'hush_rate_limit_hits_total', { kind: 'chat' })).toBe(1);
    expect(text).toContain('# TYPE hush_fanout_duration_seconds histogram');
    expect(text).toMatch(/^hush_fanout_duration_seconds_bucket\{le="[^"]+",kind="message"\} 2$/m);
    expect(text).toContain('# TYPE hush_connections_total counter');
    expect(text).toContain('# TYPE hush_connections gauge');

    // Nothing that identifies a room, a member or a payload.
    for (const secret of [
      alice.roomId,
      alice.memberId,
      bob.memberId,
      'zebranick',
      'quokkanick',
      ciphertext,
      'secret-transfer',
    ]) {
      expect(text).not.toContain(secret);
    }
    await Promise.all([alice.client.close(), bob.client.close()]);
  });

  it('is served as Prometheus text, on its own port and not on the public one', async () => {
    const { url, metricsUrl } = await relay();
    expect(new URL(metricsUrl).port).not.toBe(new URL(url).port);
    expect((await get(url, '/metrics')).status).toBe(404);
    const response = await fetch(metricsUrl);
    const type = response.headers.get('content-type') ?? '';
    expect(type).toMatch(/^text\/plain;/);
    expect(type).toContain('version=0.0.4');
    expect(await response.text()).toMatch(/^hush_connections 0$/m);
  });
});

async function waitForMetrics(url: string, ready: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const text = await scrape(url);
    if (ready(text) || Date.now() > deadline) return text;
    await sleep(20);
  }
}

describe('HTTP responses', () => {
  let url: string;
  beforeAll(async () => {
    url = (await relay()).url;
  });

  it.each(['/healthz', '/readyz', '/', '/no-such-page'])(
    'carry a strict Content-Security-Policy and security headers on %s',
    async (path) => {
      const response = await get(url, path);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-powered-by')).toBeNull();
    },
  );

  it('refuses a WebSocket upgrade on any path but /ws', async () => {
    const base = url.replace(/^http/, 'ws');
    for (const path of ['/', '/other', '/wsx', '/ws/extra', '/healthz']) {
      await expect(TestClient.connect(`${base}${path}`)).rejects.toThrow();
    }
    const client = await TestClient.connect(`${base}/ws`);
    client.send({ type: ClientType.Hello, data: { version: 1, features: [] } });
    await client.next(ServerType.Welcome);
    await client.close();
  });

  it('keeps serving WebSockets after refused upgrades', async () => {
    await expect(TestClient.connect(`${url.replace(/^http/, 'ws')}/elsewhere`)).rejects.toThrow();
    const alice = await connectAndCreate(url, 'alice');
    const bob = await connectAndJoin(url, alice.roomId, 'bob');
    bob.client.send({ type: ClientType.SendMessage, data: { iv: 'a', ciphertext: 'b' } });
    await waitFor(
      alice.client,
      (r) => r.find((m) => m.type === ServerType.RelayMessage),
      'a message',
    );
    await Promise.all([alice.client.close(), bob.client.close()]);
  });
});
