import type { Transport } from './transport.js';

/**
 * The browser's WebSocket. Browsers answer WebSocket-level pings themselves and do not report
 * them, nor why a connection failed; the relay's app-level Ping keeps the session's watchdog fed.
 */
export function browserTransport(
  WebSocketClass: typeof WebSocket = globalThis.WebSocket,
): Transport {
  return (url, handlers) => {
    let socket: WebSocket;
    try {
      socket = new WebSocketClass(url);
    } catch (error) {
      // A malformed URL throws synchronously; report it like any failed connection.
      queueMicrotask(() => handlers.close({ code: 1006, reason: '', error: describe(error) }));
      return { isOpen: false, send: () => false, close: () => undefined };
    }
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('open', () => handlers.open());
    socket.addEventListener('message', (event: MessageEvent<unknown>) => {
      const { data } = event;
      if (data instanceof ArrayBuffer) handlers.message(new Uint8Array(data));
      else if (typeof data === 'string') handlers.message(data);
    });
    // An 'error' event is always followed by 'close', which is where failures are handled.
    socket.addEventListener('close', (event) =>
      handlers.close({ code: event.code, reason: event.reason }),
    );
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
        socket.close(code, reason);
      },
    };
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
