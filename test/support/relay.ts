import type { Backends } from '../../apps/relay/src/backends/backends.js';
import type { DeepPartial, RelayConfig } from '../../apps/relay/src/config/load-config.js';
import { loadConfig } from '../../apps/relay/src/config/load-config.js';
import type { RunningRelay } from '../../apps/relay/src/relay.js';
import { startRelay } from '../../apps/relay/src/relay.js';

/** Config for an in-process test relay: loopback, an ephemeral port, quiet logs, no env or YAML. */
export function testConfig(overrides: DeepPartial<RelayConfig> = {}): RelayConfig {
  return loadConfig({
    env: {},
    argv: [],
    overrides: {
      ...overrides,
      server: { host: '127.0.0.1', port: 0, ...overrides.server },
      log: { level: 'silent', ...overrides.log },
    },
  });
}

/** Starts a relay replica in this process. Stop it with `relay.stop()`. */
export function startTestRelay(
  overrides: DeepPartial<RelayConfig> = {},
  options: { backends?: Backends; replicaId?: string } = {},
): Promise<RunningRelay> {
  return startRelay(testConfig(overrides), options);
}
