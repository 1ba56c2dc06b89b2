import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressBudgets } from '../budgets/address-budgets.js';
import { addressKey } from '../budgets/address-key.js';
import type { RelayConfig } from '../../config/config.schema.js';
import type { Logger } from '../../logging/logger.js';
import { ThrottledLog } from '../../logging/throttled-log.js';
import type { AdmissionRefusal } from '../relay-metrics.js';
import type { ClientIpResolver } from './client-ip.js';
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
  /** Open WebSocket connections on this replica. */
  connections(): number;
  draining(): boolean;
}

/** Whether an upgrade may become a WebSocket, and as whom. */
export type UpgradeDecision =
  | {
      ok: true;
      /** The client's address (the forwarded one behind a trusted proxy). */
      address: string;
      /** Whether the connection already counts against its address (counted at accept). */
      counted: boolean;
    }
  | { ok: false; status: number; message: string };

/**
 * Connection admission before the WebSocket upgrade. At TCP accept, before any byte is read: a
 * ceiling on open sockets per replica, a cap on connections per client address (shared with the
 * other replicas through {@link AddressBudgets}; trusted proxies are exempt, their clients are
 * counted by forwarded address at the upgrade), and a header timeout that closes connections
 * that do not finish their request in time. At the upgrade: the origin allowlist, drain, the
 * WebSocket ceiling, and the per-address cap for clients behind a proxy.
 */
export class ConnectionAdmission {
  /** Sockets accepted and not yet closed. */
  private sockets = 0;
  /**
   * Accepted connections that count against their peer address's connection budget, and the
   * header timers of connections without a complete request yet, by {@link connectionKey} (under
   * TLS the request's socket is not the accepted one; both share the peer's address and port).
   */
  private readonly counted = new Set<string>();
  private readonly headerTimers = new Map<string, NodeJS.Timeout>();
  private readonly decisions = new WeakMap<IncomingMessage, UpgradeDecision & { ok: true }>();
  private readonly log: ThrottledLog;

  constructor(private readonly deps: AdmissionDeps) {
    this.log = new ThrottledLog(deps.logger.child({ component: 'admission' }));
  }

  /** Sockets accepted and still open (WebSockets, page requests, probes, unfinished requests). */
  get openSockets(): number {
    return this.sockets;
  }

  /** Watches `server`'s connections from the moment they are accepted. */
  attach(server: Server): void {
    const { headerTimeoutMs } = this.deps.config.server;
    server.headersTimeout = headerTimeoutMs;
    server.requestTimeout = Math.max(headerTimeoutMs, 30_000);
    server.on('connection', (socket: Socket) => this.accept(socket));
    const done = (request: IncomingMessage) => this.requestArrived(request.socket);
    server.on('request', done);
    server.prependListener('upgrade', done);
  }

  /** Decides an upgrade request (call once per request; see {@link decisionFor}). */
  upgrade(request: IncomingMessage, origin: string | undefined): UpgradeDecision {
    const { config, budgets, ips } = this.deps;
    if (!originAllowed(config.server.allowedOrigins, origin)) {
      return { ok: false, status: 403, message: 'origin not allowed' };
    }
    if (this.deps.draining()) {
      this.refused('draining');
      return { ok: false, status: 503, message: 'relay is shutting down' };
    }
    const { maxConnections } = config.limits;
    if (maxConnections > 0 && this.deps.connections() >= maxConnections) {
      this.refused('replica_full');
      return { ok: false, status: 503, message: 'relay is full; try again later' };
    }
    const { socket } = request;
    const address = ips.resolve(socket.remoteAddress, request.headers['x-forwarded-for']);
    const counted = this.counted.has(connectionKey(socket));
    if (!counted && !budgets.connectionAllowed(addressKey(address))) {
      this.refused('address_cap');
      return { ok: false, status: 429, message: 'too many connections from this address' };
    }
    const decision = { ok: true, address, counted } as const;
    this.decisions.set(request, decision);
    return decision;
  }

  /** The decision {@link upgrade} made for an accepted request. */
  decisionFor(request: IncomingMessage): (UpgradeDecision & { ok: true }) | undefined {
    return this.decisions.get(request);
  }

  private accept(socket: Socket): void {
    const { config, budgets, ips } = this.deps;
    const key = connectionKey(socket);
    this.sockets += 1;
    socket.once('close', () => {
      this.sockets -= 1;
      clearTimeout(this.headerTimers.get(key));
      this.headerTimers.delete(key);
      if (this.counted.delete(key)) budgets.connectionClosed(addressKey(peerOf(socket)));
    });
    const { maxConnections } = config.limits;
    if (maxConnections > 0 && this.sockets > maxConnections + HTTP_HEADROOM) {
      this.refuse(socket, 'replica_full', 503, 'Service Unavailable');
      return;
    }
    const peer = peerOf(socket);
    if (!ips.isTrustedProxy(peer)) {
      const budgetKey = addressKey(peer);
      if (!budgets.connectionAllowed(budgetKey)) {
        this.refuse(socket, 'address_cap', 429, 'Too Many Requests');
        return;
      }
      budgets.connectionOpened(budgetKey);
      this.counted.add(key);
    }
    const timer = setTimeout(() => {
      this.headerTimers.delete(key);
      this.refused('header_timeout');
      socket.destroy();
    }, config.server.headerTimeoutMs);
    timer.unref();
    this.headerTimers.set(key, timer);
  }

  /** A complete request arrived on `socket`: it is no longer a half-finished connection. */
  private requestArrived(socket: Socket): void {
    const key = connectionKey(socket);
    const timer = this.headerTimers.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.headerTimers.delete(key);
  }

  private refuse(socket: Socket, reason: AdmissionRefusal, status: number, text: string): void {
    this.refused(reason);
    const response = `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
    socket.end(response, () => socket.destroy());
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

/** One TCP connection, the same whether seen as the accepted socket or the TLS socket over it. */
function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** The socket's peer address, IPv4-mapped IPv6 read as IPv4. */
function peerOf(socket: Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
