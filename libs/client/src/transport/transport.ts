/** How a connection ended. */
export interface TransportClose {
  /** WebSocket close code; 1006 when the connection failed or dropped without one. */
  code: number;
  reason: string;
  /** Why it failed, for people (an unreachable host, an HTTP refusal), when known. */
  error?: string;
}

/** What a connection reports. `close` is called exactly once, also when opening failed. */
export interface TransportHandlers {
  open(): void;
  /** A frame: bytes for binary frames, a string for text frames (not part of the protocol). */
  message(data: Uint8Array | string): void;
  /** The peer proved alive without a message (a WebSocket-level ping). */
  alive(): void;
  close(info: TransportClose): void;
}

/** One connection to the relay. */
export interface Connection {
  /** True while frames can be written. */
  readonly isOpen: boolean;
  /** Writes one binary frame; false when the connection cannot take it. */
  send(frame: Uint8Array): boolean;
  /** Closes with a closing handshake (dropped if the peer does not answer in time). */
  close(code: number, reason: string): void;
}

/** Opens a connection to `url`; the one thing the session needs from a platform. */
export type Transport = (url: string, handlers: TransportHandlers) => Connection;
