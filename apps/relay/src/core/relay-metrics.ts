import type { ErrorCode } from '@hush/protocol';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AddressKind, ConnectionObserver, RateKind } from './connection/connection.machine.js';
import type { RelayKind, RoomObserver } from './room/room.machine.js';
import { HotHistogram } from './hot-histogram.js';
import type { Logger } from '../logging/logger.js';
import { describeFault, ThrottledLog } from '../logging/throttled-log.js';

/** Why a connection was refused before it became a WebSocket. */
export type AdmissionRefusal = 'address_cap' | 'replica_full' | 'header_timeout' | 'draining';

/**
 * The relay's Prometheus metrics. Labels are bounded enums (message kind, error code): never
 * room ids, names, addresses or payload bytes.
 */
export class RelayMetrics implements ConnectionObserver, RoomObserver {
  readonly registry = new Registry();
  private readonly connectionsOpened: Counter;
  private readonly connectionsClosed: Counter;
  private readonly relayedTotal: Counter<'kind'>;
  private readonly errorsTotal: Counter<'code'>;
  private readonly rateLimitedTotal: Counter<'kind'>;
  private readonly fanoutFailures: Counter;
  private readonly slowConsumers: Counter;
  /** The relayed messages, timed: one observation per message, counted from it too. */
  private readonly fanoutSeconds: HotHistogram;
  private readonly lockouts: Counter;
  private readonly admissionRefusals: Counter<'reason'>;
  /** Fault lines, one per cause per interval: a Redis outage must not write a line per message. */
  readonly faults: ThrottledLog;

  constructor(
    logger: Logger,
    gauges: { connections: () => number; rooms: () => number; backendUp: () => boolean },
  ) {
    const registers = [this.registry];
    this.faults = new ThrottledLog(logger);
    collectDefaultMetrics({ register: this.registry });
    this.connectionsOpened = new Counter({
      name: 'hush_connections_total',
      help: 'WebSocket connections accepted',
      registers,
    });
    this.connectionsClosed = new Counter({
      name: 'hush_disconnections_total',
      help: 'WebSocket connections closed',
      registers,
    });
    const relayed = new HotHistogram({
      name: 'hush_fanout_duration_seconds',
      help: 'Time to deliver one relayed message to local members and hand it to the cluster',
      labelName: 'kind',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers,
    });
    this.fanoutSeconds = relayed;
    const reported = new Map<string, number>();
    this.relayedTotal = new Counter({
      name: 'hush_messages_relayed_total',
      help: 'Client messages relayed to a room, by kind',
      labelNames: ['kind'],
      registers,
      // Counted by the fan-out histogram on the hot path; brought up to date when scraped.
      collect() {
        for (const kind of relayed.labelValues()) {
          const count = relayed.countOf(kind);
          const added = count - (reported.get(kind) ?? 0);
          if (added > 0) this.inc({ kind }, added);
          reported.set(kind, count);
        }
      },
    });
    this.errorsTotal = new Counter({
      name: 'hush_errors_total',
      help: 'Error messages sent to clients, by protocol error code',
      labelNames: ['code'],
      registers,
    });
    this.rateLimitedTotal = new Counter({
      name: 'hush_rate_limit_hits_total',
      help: 'Messages refused by a rate limit, by kind (address_* for per-address budgets)',
      labelNames: ['kind'],
      registers,
    });
    this.fanoutFailures = new Counter({
      name: 'hush_fanout_failures_total',
      help: 'Publishes to other replicas that failed',
      registers,
    });
    this.slowConsumers = new Counter({
      name: 'hush_slow_consumer_disconnections_total',
      help: 'Connections closed because their outbound buffer passed the bound',
      registers,
    });
    this.lockouts = new Counter({
      name: 'hush_lockouts_total',
      help: 'Client addresses locked out after repeated failed joins',
      registers,
    });
    this.admissionRefusals = new Counter({
      name: 'hush_admission_refusals_total',
      help: 'Connections refused or closed before becoming WebSockets, by reason',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: 'hush_connections',
      help: 'Open WebSocket connections',
      registers,
      collect() {
        this.set(gauges.connections());
      },
    });
    new Gauge({
      name: 'hush_rooms',
      help: 'Rooms with at least one member on this replica',
      registers,
      collect() {
        this.set(gauges.rooms());
      },
    });
    new Gauge({
      name: 'hush_backend_up',
      help: '1 when the cluster backend (Redis) is reachable, or in embedded mode',
      registers,
      collect() {
        this.set(gauges.backendUp() ? 1 : 0);
      },
    });
  }

  connectionOpened(): void {
    this.connectionsOpened.inc();
  }
  connectionClosed(): void {
    this.connectionsClosed.inc();
  }
  slowConsumer(): void {
    this.slowConsumers.inc();
  }
  rateLimited(kind: RateKind | `address_${AddressKind}`): void {
    this.rateLimitedTotal.inc({ kind });
  }
  lockedOut(): void {
    this.lockouts.inc();
  }
  admissionRefused(reason: AdmissionRefusal): void {
    this.admissionRefusals.inc({ reason });
  }
  error(code: ErrorCode): void {
    this.errorsTotal.inc({ code });
  }
  relayed(kind: RelayKind, seconds: number): void {
    this.fanoutSeconds.observe(kind, seconds);
  }
  fanoutFailed(): void {
    this.fanoutFailures.inc();
  }
  fault(what: string, error: unknown): void {
    this.faults.write('error', what, { what, err: describeFault(error) }, 'relay fault');
  }
}
