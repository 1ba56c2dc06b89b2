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
