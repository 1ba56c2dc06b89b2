import type { AddressBudgets } from '../budgets/address-budgets.js';
import { addressKey } from '../budgets/address-key.js';
import type { RelayConfig } from '../../config/config.schema.js';
import type { Logger } from '../../logging/logger.js';
import { ThrottledLog } from '../../logging/throttled-log.js';
import type { AdmissionRefusal } from '../relay-metrics.js';
import type { Admitted } from '../transport.js';
import type { ClientIpResolver } from './client-ip.js';
import { normalizeAddress } from './client-ip.js';
import { originAllowed } from './origins.js';

/**
 * Sockets beyond the WebSocket ceiling that are still accepted, so probes, the web page and the
 * 503 answers to refused upgrades keep working on a full replica.
 */
export const HTTP_HEADROOM = 256;

export interface AdmissionDeps {
  config: RelayConfig;
  budgets: AddressBudgets;
  ips: ClientIpResolver;
  metrics: { admissionRefused(reason: AdmissionRefusal): void };
  logger: Logger;
  /** Open client connections on this replica. */
  connections(): number;
  draining(): boolean;
}

/** A refusal, as the transport answers it (an HTTP status before or at the upgrade). */
export interface Refusal {
  ok: false;
  status: number;
  message: string;
}

/** Whether an accepted TCP connection may stay, and whether it counts against its address. */
export type AcceptDecision = { ok: true; counted: boolean } | Refusal;

/** Whether an upgrade may become a client connection, and as whom. */
export type UpgradeDecision = ({ ok: true } & Admitted) | Refusal;

/** What the transport knows of an upgrade request. */
export interface UpgradeRequest {
  /** The `Origin` header, if any. */
  origin: string | undefined;
  /** The TCP peer's address. */
  peer: string | undefined;
  /** The `X-Forwarded-For` header, if any (trusted only from a trusted proxy). */
  forwardedFor: string | string[] | undefined;
  /** What {@link ConnectionAdmission.accept} said of this request's TCP connection. */
  counted: boolean;
}

/**
 * Connection admission, decided from addresses and headers alone; the transport reports and
 * enforces it. At TCP accept, before any byte is read: a ceiling on open sockets per replica and
 * a cap on connections per client address (shared with the other replicas through
 * {@link AddressBudgets}; trusted proxies are exempt, their clients are counted by forwarded
 * address at the upgrade). At the upgrade: the origin allowlist, drain, the connection ceiling,
 * and the per-address cap for clients behind a proxy. The transport also closes connections that
 * do not finish their request in time, and reports them through {@link headerTimedOut}.
 */
export class ConnectionAdmission {
  /** Sockets accepted and not yet released. */
  private sockets = 0;
  private readonly log: ThrottledLog;

  constructor(private readonly deps: AdmissionDeps) {
    this.log = new ThrottledLog(deps.logger.child({ component: 'admission' }));
  }

  /** Sockets accepted and still open (client connections, page requests, probes, unfinished). */
  get openSockets(): number {
    return this.sockets;
  }

  /**
   * A TCP connection from `peer` was accepted. Every accept, refused or not, is matched by one
   * {@link released} when the socket closes, with the `counted` this returned (false if refused).
   */
  accept(peer: string | undefined): AcceptDecision {
    const { config, budgets, ips } = this.deps;
    this.sockets += 1;
    const { maxConnections } = config.limits;
    if (maxConnections > 0 && this.sockets > maxConnections + HTTP_HEADROOM) {
      return this.refuse('replica_full', 503, 'Service Unavailable');
    }
    const address = normalizeAddress(peer ?? 'unknown');
    if (ips.isTrustedProxy(address)) return { ok: true, counted: false };
    const key = addressKey(address);
    if (!budgets.connectionAllowed(key)) {
      return this.refuse('address_cap', 429, 'Too Many Requests');
    }
    budgets.connectionOpened(key);
    return { ok: true, counted: true };
  }

  /** The socket of an earlier {@link accept} closed. */
  released(peer: string | undefined, counted: boolean): void {
    this.sockets -= 1;
    if (counted)
      this.deps.budgets.connectionClosed(addressKey(normalizeAddress(peer ?? 'unknown')));
  }

  /** The transport closed a connection that did not finish its request headers in time. */
  headerTimedOut(): void {
    this.refused('header_timeout');
  }

  /** Decides an upgrade request. */
  upgrade(request: UpgradeRequest): UpgradeDecision {
    const { config, budgets, ips } = this.deps;
    if (!originAllowed(config.server.allowedOrigins, request.origin)) {
      return { ok: false, status: 403, message: 'origin not allowed' };
    }
    if (this.deps.draining()) {
      return this.refuse('draining', 503, 'relay is shutting down');
    }
    const { maxConnections } = config.limits;
    if (maxConnections > 0 && this.deps.connections() >= maxConnections) {
      return this.refuse('replica_full', 503, 'relay is full; try again later');
    }
    const address = ips.resolve(request.peer, request.forwardedFor);
    const { counted } = request;
    if (!counted && !budgets.connectionAllowed(addressKey(address))) {
      return this.refuse('address_cap', 429, 'too many connections from this address');
    }
    return { ok: true, address, counted };
  }

  private refuse(reason: AdmissionRefusal, status: number, message: string): Refusal {
    this.refused(reason);
    return { ok: false, status, message };
  }

  private refused(reason: AdmissionRefusal): void {
    this.deps.metrics.admissionRefused(reason);
    this.log.write('warn', reason, { reason }, messages[reason]);
  }
}

const messages: Record<AdmissionRefusal, string> = {
  address_cap: 'refusing connections: a client address is at its connection cap',
  replica_full: 'refusing connections: this replica is at its connection ceiling',
  header_timeout: 'closing connections that did not finish their request headers in time',
  draining: 'refusing connections while draining',
};
