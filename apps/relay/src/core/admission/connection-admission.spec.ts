import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load-config.js';
import { createLogger } from '../../logging/logger.js';
import type { RelayConfig } from '../../config/config.schema.js';
import { AddressBudgets } from '../budgets/address-budgets.js';
import { addressPolicy } from '../relay-core.js';
import { ClientIpResolver } from './client-ip.js';
import type { UpgradeRequest } from './connection-admission.js';
import { ConnectionAdmission, HTTP_HEADROOM } from './connection-admission.js';

function admissionFor(overrides: Record<string, unknown>) {
  const config: RelayConfig = loadConfig({ env: {}, argv: [], overrides });
  const refusals: string[] = [];
  const state = { connections: 0, draining: false };
  const admission = new ConnectionAdmission({
    config,
    budgets: new AddressBudgets(addressPolicy(config)),
    ips: new ClientIpResolver(config.server.trustedProxies),
    metrics: { admissionRefused: (reason) => refusals.push(reason) },
    logger: createLogger('silent', 'r1'),
    connections: () => state.connections,
    draining: () => state.draining,
  });
  return { admission, refusals, state };
}

const upgrade = (request: Partial<UpgradeRequest>): UpgradeRequest => ({
  origin: undefined,
  peer: '198.51.100.4',
  forwardedFor: undefined,
  counted: true,
  ...request,
});

describe('connection admission, decided from addresses and headers alone', () => {
  it('caps connections per address at accept, and frees a place when one is released', () => {
    const { admission, refusals } = admissionFor({ limits: { maxConnectionsPerIp: 2 } });
    expect(admission.accept('198.51.100.4')).toEqual({ ok: true, counted: true });
    expect(admission.accept('::ffff:198.51.100.4')).toEqual({ ok: true, counted: true });
    expect(admission.accept('198.51.100.4')).toMatchObject({ ok: false, status: 429 });
    expect(admission.accept('198.51.100.5')).toEqual({ ok: true, counted: true });
    expect(refusals).toEqual(['address_cap']);
    admission.released('198.51.100.4', true);
    admission.released('198.51.100.4', false); // the refused one
    expect(admission.accept('198.51.100.4')).toEqual({ ok: true, counted: true });
    expect(admission.openSockets).toBe(3);
  });

  it('counts a trusted proxy at accept by nobody, and its client by forwarded address at the upgrade', () => {
    const { admission } = admissionFor({
      server: { trustedProxies: ['10.0.0.1'] },
      limits: { maxConnectionsPerIp: 1 },
    });
    expect(admission.accept('10.0.0.1')).toEqual({ ok: true, counted: false });
    expect(admission.accept('10.0.0.1')).toEqual({ ok: true, counted: false });
    const behindProxy = upgrade({ peer: '10.0.0.1', forwardedFor: '203.0.113.8', counted: false });
    expect(admission.upgrade(behindProxy)).toEqual({
      ok: true,
      address: '203.0.113.8',
      counted: false,
    });
  });

  it('refuses an origin outside the allowlist, a draining replica and a full one', () => {
    const { admission, refusals, state } = admissionFor({
      server: { allowedOrigins: ['https://chat.example'] },
      limits: { maxConnections: 2 },
    });
    const from = (origin: string) => admission.upgrade(upgrade({ origin }));
    expect(from('https://evil.example')).toMatchObject({ ok: false, status: 403 });
    expect(from('https://chat.example')).toEqual({
      ok: true,
      address: '198.51.100.4',
      counted: true,
    });
    state.connections = 2;
    expect(from('https://chat.example')).toMatchObject({ ok: false, status: 503 });
    state.connections = 0;
    state.draining = true;
    expect(from('https://chat.example')).toMatchObject({ ok: false, status: 503 });
    expect(refusals).toEqual(['replica_full', 'draining']);
  });

  it('keeps answering page and probe sockets past the connection ceiling, up to a headroom', () => {
    const { admission } = admissionFor({ limits: { maxConnections: 2, maxConnectionsPerIp: 0 } });
    const answers = Array.from({ length: 2 + HTTP_HEADROOM + 1 }, () =>
      admission.accept('192.0.2.1'),
    );
    expect(answers.filter((answer) => answer.ok)).toHaveLength(2 + HTTP_HEADROOM);
    expect(answers.at(-1)).toMatchObject({ ok: false, status: 503 });
  });
});
