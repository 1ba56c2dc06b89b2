import { AddressBudgets } from '../core/budgets/address-budgets.js';
import { addressPolicy } from '../core/relay-core.js';
import type { RelayConfig } from '../config/config.schema.js';
import type { Logger } from '../logging/logger.js';
import type { FanoutPort } from './fanout.port.js';
import { MemoryBus, MemoryFanout } from './memory/memory.fanout.js';
import { MemoryPresence, MemoryPresenceStore } from './memory/memory.presence.js';
import type { PresencePort } from './presence.port.js';

/** The two cluster-facing ports of a replica. */
export interface Backends {
  presence: PresencePort;
  fanout: FanoutPort;
}

/**
 * In-process backends. Replicas given the same bus and store behave as one cluster inside one
 * process (used by tests); by default each replica gets its own, the embedded single-replica mode.
 */
export function memoryBackends(
  replicaId: string,
  shared: { bus?: MemoryBus; store?: MemoryPresenceStore } = {},
): Backends {
  return {
    presence: new MemoryPresence(replicaId, shared.store ?? new MemoryPresenceStore()),
    fanout: new MemoryFanout(replicaId, shared.bus ?? new MemoryBus()),
  };
}

/**
 * Address budgets for a replica: local only without Redis; with Redis, reconciled with the other
 * replicas through their own connection.
 */
export async function createBudgets(
  config: RelayConfig,
  replicaId: string,
  logger: Logger,
): Promise<AddressBudgets> {
  const budgets = new AddressBudgets(addressPolicy(config));
  const { url } = config.redis;
  if (url === undefined) return budgets;
  const { connect } = await import('./redis/redis.backends.js');
  const { RedisBudgetSync } = await import('./redis/redis.address-budgets.js');
  const client = connect(url, config.redis, `hush-${replicaId}-budgets`, false);
  client.on('error', () => undefined); // the sync reports its own failures, throttled
  new RedisBudgetSync(budgets, client, {
    prefix: config.redis.keyPrefix,
    replicaId,
    logger: logger.child({ component: 'budgets' }),
    release: () => client.disconnect(),
  });
  return budgets;
}

/** The backends the configuration asks for: in-memory without a Redis URL. */
export async function createBackends(
  config: RelayConfig,
  replicaId: string,
  logger: Logger,
): Promise<Backends> {
  if (config.redis.url === undefined) return memoryBackends(replicaId);
  const { redisBackends } = await import('./redis/redis.backends.js');
  return redisBackends(config.redis, replicaId, logger);
}
