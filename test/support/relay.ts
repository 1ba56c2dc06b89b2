import type { DeepPartial, RelayConfig } from '../../apps/relay/src/config/load-config.js';
import { loadConfig } from '../../apps/relay/src/config/load-config.js';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { startRelay } from '../../apps/relay/src/relay.js';

/** Address budgets no test reaches unless it sets them: every test client shares 127.0.0.1. */
const ROOMY = { events: 1_000_000, windowMs: 1_000 };

/**
 * Config for an in-process test relay: loopback, ephemeral ports (the relay's and its metrics
 * listener's), quiet logs, no env or YAML, and per-address budgets out of reach unless a test
 * sets them.
 */
export function testConfig(overrides: DeepPartial<RelayConfig> = {}): RelayConfig {
  return loadConfig({
    env: {},
    argv: [],
    overrides: {
      ...overrides,
      limits: {
        ...overrides.limits,
        addressRate: { chat: ROOMY, join: ROOMY, invalid: ROOMY, ...overrides.limits?.addressRate },
      },
      server: { host: '127.0.0.1', port: 0, ...overrides.server },
      metrics: { port: 0, ...overrides.metrics },
      log: { level: 'silent', ...overrides.log },
    },
  });
}

/** Each test relay's metrics endpoint (its own port), by the relay's base URL. */
const metricsUrls = new Map<string, string>();

/** Starts a relay replica in this process. Stop it with `relay.stop()`. */
export async function startTestRelay(
  overrides: DeepPartial<RelayConfig> = {},
  options: Parameters<typeof startRelay>[1] = {},
): Promise<RunningRelay> {
  const relay = await startRelay(testConfig(overrides), options);
  metricsUrls.set(relay.url, relay.metricsUrl);
  return relay;
}

/** The metrics URL of the test relay serving `url` (metrics have a listener of their own). */
export function metricsUrlOf(url: string): string {
  const found = metricsUrls.get(url.replace(/\/$/, ''));
  if (found === undefined) throw new Error(`no test relay at ${url}`);
  return found;
}
