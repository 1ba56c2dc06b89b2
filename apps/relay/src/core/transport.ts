/**
 * What the core needs of one client connection, whatever carries it. The `ws` adapter
 * (`transport/ws/`) implements it over a WebSocket; the core's tests implement it in memory.
 */
export interface Transport {
  /** Whether frames can still be written (false once closing or closed). */
  readonly open: boolean;
  /** Queues one binary frame. */
  send(frame: Uint8Array): void;
  /** Sends a transport-level ping; the client's answer arrives as {@link TransportEvents.pong}. */
  ping(): void;
  /** Closes with a closing handshake. */
  close(code: number, reason: string): void;
  /** Drops the connection without a closing handshake. */
  terminate(): void;
  /**
   * Bytes the client left unread from before this event-loop turn. What this turn queued is not
   * counted: a room's fan-out may queue several frames at once, and that is not the client's fault.
   */
  backlog(): number;
}

/** What a transport reports to the core about its connection, in order, until `closed`. */
export interface TransportEvents {
  /** One client frame: binary frames as bytes, text frames as a string. */
  frame(data: Uint8Array | string): void;
  /** The client answered a transport-level ping. */
  pong(): void;
  /** The connection is gone; nothing more is reported. */
  closed(): void;
}

/** Who a connection is, as admission decided it (see `ConnectionAdmission.upgrade`). */
export interface Admitted {
  /** The client's address (the forwarded one behind a trusted proxy). */
  address: string;
  /** Whether it already counts against its address's connection budget (counted at accept). */
  counted: boolean;
}
