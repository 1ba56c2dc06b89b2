/** What a connection store needs from a WebSocket. */
export interface SocketLike {
  /** True while frames can be written. */
  readonly isOpen: boolean;
  send(frame: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** Why a socket closed. */
export interface SocketClose {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** Callbacks a socket reports to; `close` is called exactly once, also when opening failed. */
export interface SocketHandlers {
  open(): void;
  /** A frame: `ArrayBuffer` for binary frames, `string` for text frames. */
  message(data: unknown): void;
  close(info: SocketClose): void;
}

/** Opens a socket to `url`. */
export type SocketFactory = (url: string, handlers: SocketHandlers) => SocketLike;

/** Close code the client uses when it abandons a connection it considers dead. */
export const CLIENT_GAVE_UP = 4000;

/** The browser's WebSocket, binary frames as ArrayBuffers. */
export const browserSocket: SocketFactory = (url, handlers) => {
  let socket: WebSocket;
  try {
    socket = new WebSocket(url);
  } catch (error) {
    // A malformed URL throws synchronously; report it like any failed connection.
    queueMicrotask(() => handlers.close({ code: 1006, reason: String(error), wasClean: false }));
    return { isOpen: false, send: () => undefined, close: () => undefined };
  }
  socket.binaryType = 'arraybuffer';
  socket.addEventListener('open', () => handlers.open());
  socket.addEventListener('message', (event: MessageEvent<unknown>) =>
    handlers.message(event.data),
  );
  // An 'error' event is always followed by 'close', which is where failures are handled.
  socket.addEventListener('close', (event) =>
    handlers.close({ code: event.code, reason: event.reason, wasClean: event.wasClean }),
  );
  return {
    get isOpen() {
      return socket.readyState === WebSocket.OPEN;
    },
    send: (frame) => socket.send(frame),
    close: (code, reason) => socket.close(code, reason),
  };
};

/** The relay's WebSocket endpoint next to the page: `/ws` at the root, `<base>/ws` elsewhere. */
export function relaySocketUrl(pageUrl: string): string {
  const url = new URL('ws', pageUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** The base a join link is built on: the page's origin and directory, no query or fragment. */
export function linkBase(pageUrl: string): string {
  const url = new URL('.', pageUrl);
  return `${url.origin}${url.pathname}`;
}
