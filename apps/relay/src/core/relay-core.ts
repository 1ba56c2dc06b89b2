import { nanoid } from 'nanoid';
import { ConnectionAdmission } from './admission/connection-admission.js';
import type { Backends } from '../cluster/backends.js';
import { AddressBudgets } from './budgets/address-budgets.js';
import type { AddressPolicy } from './budgets/address-budgets.js';
import type { RelayConfig } from '../config/config.schema.js';
import { SessionRegistry } from './connection/session-registry.js';
import type { Logger } from '../logging/logger.js';
import { RelayMetrics } from './relay-metrics.js';
import { RoomDirectory } from './room/room-directory.js';
import { memberColor } from './room/member-color.js';
import { ClientIpResolver } from './admission/client-ip.js';

/**
 * Readiness. A replica is ready once its cluster backend has answered, and stays ready through a
 * later outage of it (`degraded`): every replica shares that outage, and failing all of them would
 * take the page and the WebSocket endpoint down, while the relay can still answer and tell clients
 * to retry (E024). It is not ready while draining, or before the backend first answered.
 */
export interface Readiness {
  ready: boolean;
  status: 'ready' | 'degraded' | 'unavailable';
  reasons: string[];
}

/**
 * The relay without its framework: everything a replica is, wired from plain classes. Nest only
 * hosts it (gateway, probes, metrics endpoint); tests can drive it directly.
 */
export class RelayCore {
  readonly directory: RoomDirectory;
  readonly sessions: SessionRegistry;
  readonly metrics: RelayMetrics;
  readonly ips: ClientIpResolver;
  readonly budgets: AddressBudgets;
  readonly admission: ConnectionAdmission;
  private draining = false;
  /** Set once the cluster backend was first seen healthy (always, in embedded mode). */
  private backendAnswered = false;

  constructor(
    readonly config: RelayConfig,
    readonly replicaId: string,
    readonly logger: Logger,
    readonly backends: Backends,
    budgets?: AddressBudgets,
  ) {
    this.metrics = new RelayMetrics(logger, {
      connections: () => this.sessions.size,
      rooms: () => this.directory.size,
      backendUp: () => this.backendHealth().every((h) => h.ok),
    });
    this.directory = new RoomDirectory({
      presence: backends.presence,
      fanout: backends.fanout,
      maxMembers: config.limits.maxRoomMembers,
      expiryWarningSeconds: config.rooms.expiryWarningSeconds,
      observer: this.metrics,
      now: Date.now,
      newMemberId: () => nanoid(16),
      memberColor,
    });
    this.ips = new ClientIpResolver(config.server.trustedProxies);
    this.budgets = budgets ?? new AddressBudgets(addressPolicy(config));
    this.sessions = new SessionRegistry({
      config,
      directory: this.directory,
      budgets: this.budgets,
      metrics: this.metrics,
      logger,
    });
    this.admission = new ConnectionAdmission({
      config,
      budgets: this.budgets,
      ips: this.ips,
      metrics: this.metrics,
      logger,
      connections: () => this.sessions.size,
      draining: () => this.draining,
    });
  }

  /** True from the start of a drain on: new connections are refused. */
  get isDraining(): boolean {
    return this.draining;
  }

  readiness(): Readiness {
    const reasons = this.backendHealth().flatMap((h) => (h.ok ? [] : [h.reason]));
    if (reasons.length === 0) this.backendAnswered = true;
    if (this.draining) reasons.unshift('draining');
    const ready = !this.draining && this.backendAnswered;
    const status = !ready ? 'unavailable' : reasons.length === 0 ? 'ready' : 'degraded';
    return { ready, status, reasons };
  }

  /**
   * Graceful drain: readiness fails first, then (after `drainDelayMs`, for load balancers to
   * notice) every client is closed with 1001, spread over `drainWindowMs` with a reconnect hint of
   * its own, then this replica's cluster state is removed. Bounded by `shutdownTimeoutMs` overall.
   */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const { drainDelayMs, drainWindowMs, shutdownTimeoutMs } = this.config.server;
    const deadline = Date.now() + shutdownTimeoutMs;
    this.logger.info({ connections: this.sessions.size }, 'draining');
    await sleep(Math.min(drainDelayMs, shutdownTimeoutMs / 2));
    // The window never outlasts the shutdown bound: what is left of it, less a margin for closes.
    const window = Math.min(drainWindowMs, Math.max(0, deadline - Date.now() - 2000));
    await this.sessions.drain(window);
    const left = await this.sessions.waitUntilEmpty(Math.max(0, deadline - Date.now() - 1000));
    if (left > 0) {
      this.logger.warn({ left }, 'terminating connections that did not close in time');
      this.sessions.terminateAll();
    }
    await Promise.race([this.close(), sleep(Math.max(0, deadline - Date.now()))]);
    this.logger.info('drained');
  }

  /** Releases the cluster backends (removing this replica's presence). */
  async close(): Promise<void> {
    this.sessions.close();
    await Promise.allSettled([
      this.backends.presence.close(),
      this.backends.fanout.close(),
      this.budgets.close(),
    ]);
  }

  private backendHealth() {
    return [this.backends.presence.health(), this.backends.fanout.health()];
  }
}

export function createReplicaId(): string {
  return nanoid(10);
}

/** The address budgets the configuration asks for. */
export function addressPolicy(config: RelayConfig): AddressPolicy {
  return {
    rates: config.limits.addressRate,
    lockout: config.lockout,
    maxConnections: config.limits.maxConnectionsPerIp,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
