import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionAdmission } from '../../core/admission/connection-admission.js';

/**
 * Applies the core's admission to an HTTP server's TCP connections from the moment they are
 * accepted, before any byte is read: refuses with a bare HTTP answer what admission refuses,
 * releases what it accepted when the socket closes, and closes connections that do not finish
 * their request headers in time.
 */
export class AcceptGuard {
  /**
   * Accepted connections that count against their peer address's connection budget, and the
   * header timers of connections without a complete request yet, by {@link connectionKey} (under
   * TLS the request's socket is not the accepted one; both share the peer's address and port).
   */
  private readonly counted = new Set<string>();
  private readonly headerTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly admission: ConnectionAdmission,
    private readonly headerTimeoutMs: number,
  ) {}

  attach(server: Server): void {
    server.headersTimeout = this.headerTimeoutMs;
    server.requestTimeout = Math.max(this.headerTimeoutMs, 30_000);
    server.on('connection', (socket: Socket) => this.accept(socket));
    const done = (request: IncomingMessage) => this.requestArrived(request.socket);
    server.on('request', done);
    server.prependListener('upgrade', done);
  }

  /** Whether the TCP connection under `request` counts against its address already. */
  isCounted(request: IncomingMessage): boolean {
    return this.counted.has(connectionKey(request.socket));
  }

  private accept(socket: Socket): void {
    const key = connectionKey(socket);
    const peer = socket.remoteAddress;
    const decision = this.admission.accept(peer);
    const counted = decision.ok && decision.counted;
    socket.once('close', () => {
      clearTimeout(this.headerTimers.get(key));
      this.headerTimers.delete(key);
      this.counted.delete(key);
      this.admission.released(peer, counted);
    });
    if (!decision.ok) {
      const response = `HTTP/1.1 ${decision.status} ${decision.message}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
      socket.end(response, () => socket.destroy());
      return;
    }
    if (counted) this.counted.add(key);
    const timer = setTimeout(() => {
      this.headerTimers.delete(key);
      this.admission.headerTimedOut();
      socket.destroy();
    }, this.headerTimeoutMs);
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
}

/** One TCP connection, the same whether seen as the accepted socket or the TLS socket over it. */
function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
