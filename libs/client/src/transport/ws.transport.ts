import type { Transport } from './transport.js';

/**
 * The parts of the `ws` package's WebSocket this adapter uses, so this library needs no import
 * of `ws` (nor of Node): the CLI passes the class in.
 */
export interface WsSocket {
  readonly readyState: number;
  on(event: string, listener: (...args: never[]) => void): unknown;
  send(data: Uint8Array, callback?: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

export interface WsClass {
  new (url: string, options: Record<string, unknown>): WsSocket;
  readonly OPEN: number;
}

export interface WsTransportOptions {
  /** Largest frame accepted from the relay, bytes. */
  maxPayload: number;
  /** Time the opening handshake may take, ms. */
  handshakeTimeoutMs?: number;
  /** Time a closing handshake may take before the socket is dropped, ms. */
  closeTimeoutMs?: number;
  /** Extra request headers (an `Origin`, say). */
  headers?: Record<string, string>;
}

/** HTTP answers to the upgrade request, in words. */
const UPGRADE_REFUSALS: Readonly<Record<string, string>> = {
  '403': 'the relay refused the connection: origin not allowed',
  '429': 'the relay refused the connection: too many connections from this address',
  '503': 'the relay is shutting down',
};

/**
 * A `ws` WebSocket: binary frames as bytes, WebSocket-level pings reported as liveness, failures
 * described, a closing handshake bounded in time.
 */
export function wsTransport(WebSocketClass: WsClass, options: WsTransportOptions): Transport {
  const closeTimeoutMs = options.closeTimeoutMs ?? 2_000;
  return (url, handlers) => {
    let socket: WsSocket;
    try {
      socket = new WebSocketClass(url, {
        maxPayload: options.maxPayload,
        handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
        perMessageDeflate: false,
        ...(options.headers === undefined ? {} : { headers: options.headers }),
      });
    } catch (error) {
      queueMicrotask(() => handlers.close({ code: 1006, reason: '', error: describe(error) }));
      return { isOpen: false, send: () => false, close: () => undefined };
    }
    let failure: string | undefined;
    let closeTimer: ReturnType<typeof setTimeout> | undefined;
    socket.on('open', () => handlers.open());
    socket.on('message', (data: unknown, isBinary: boolean) => {
      const bytes = toBytes(data);
      handlers.message(isBinary ? bytes : new TextDecoder().decode(bytes));
    });
    socket.on('ping', () => handlers.alive());
    socket.on('error', (error: Error) => (failure ??= describe(error)));
    socket.on('close', (code: number, reason: Uint8Array) => {
      clearTimeout(closeTimer);
      handlers.close({
        code,
        reason: new TextDecoder().decode(reason),
        ...(failure === undefined ? {} : { error: failure }),
      });
    });
    return {
      get isOpen() {
        return socket.readyState === WebSocketClass.OPEN;
      },
      send(frame) {
        if (socket.readyState !== WebSocketClass.OPEN) return false;
        socket.send(frame);
        return true;
      },
      close(code, reason) {
        if (socket.readyState !== WebSocketClass.OPEN) {
          socket.terminate();
          return;
        }
        socket.close(code, reason);
        closeTimer = setTimeout(() => socket.terminate(), closeTimeoutMs);
      },
    };
  };
}

/** ws hands over a Buffer, an ArrayBuffer or a list of Buffers (fragments). */
function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data)) {
    const parts = data as Uint8Array[];
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
  return new Uint8Array(0);
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const status = /Unexpected server response: (\d+)/.exec(message)?.[1];
  if (status === undefined) return message;
  return UPGRADE_REFUSALS[status] ?? `the relay answered HTTP ${status} instead of a WebSocket`;
}
