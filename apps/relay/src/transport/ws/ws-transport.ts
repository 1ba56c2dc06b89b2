import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { Transport } from '../../core/transport.js';

/** The core's {@link Transport} over one `ws` WebSocket and the TCP socket under it. */
export class WsTransport implements Transport {
  constructor(
    private readonly socket: WebSocket,
    private readonly raw: Socket,
    private readonly writes: WriteCoalescer,
  ) {}

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(frame: Uint8Array): void {
    this.writes.hold(this.raw);
    this.socket.send(frame);
  }

  /**
   * The ping frame waits for the turn's other writes too: the app-level Ping that follows it, and
   * the pings of a whole sweep chunk, leave one writev per socket instead of two.
   */
  ping(): void {
    this.writes.hold(this.raw);
    this.socket.ping();
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  terminate(): void {
    this.socket.terminate();
  }

  backlog(): number {
    return this.writes.backlogOf(this.raw);
  }
}

/**
 * Holds each socket's writes from the first one in an event-loop turn until the turn ends, so the
 * frames a socket receives in one turn (a room's fan-out often sends several) leave in one
 * syscall instead of one each. One per replica.
 */
export class WriteCoalescer {
  /** Corked sockets → bytes they had unsent when corked. */
  private readonly corked = new Map<Socket, number>();
  private scheduled = false;

  /** Corks `raw` for the rest of this turn, unless it already is. */
  hold(raw: Socket): void {
    if (this.corked.has(raw)) return;
    this.corked.set(raw, raw.writableLength);
    raw.cork();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** `raw`'s unsent bytes from before this turn. */
  backlogOf(raw: Socket): number {
    return this.corked.get(raw) ?? raw.writableLength;
  }

  private flush(): void {
    this.scheduled = false;
    for (const raw of this.corked.keys()) raw.uncork();
    this.corked.clear();
  }
}
