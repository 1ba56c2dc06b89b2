import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { browserTransport } from './browser.transport.js';
import type { TransportClose, TransportHandlers } from './transport.js';
import { wsTransport } from './ws.transport.js';

/** Handlers that record what a connection reports. */
function recorder() {
  const seen: {
    open: number;
    alive: number;
    messages: (Uint8Array | string)[];
    closed?: TransportClose;
  } = {
    open: 0,
    alive: 0,
    messages: [],
  };
  let onClose: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const handlers: TransportHandlers = {
    open: () => (seen.open += 1),
    alive: () => (seen.alive += 1),
    message: (data) => seen.messages.push(data),
    close: (info) => {
      seen.closed = info;
      onClose();
    },
  };
  return { seen, handlers, closed };
}

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function wsServer(
  onConnection: (socket: WebSocket) => void,
  options: ConstructorParameters<typeof WebSocketServer>[0] = {},
): Promise<string> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  servers.push(server);
  server.on('connection', onConnection);
  await new Promise((resolve) => server.once('listening', resolve));
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}/ws`;
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
};

describe('wsTransport', () => {
  it('delivers binary frames as bytes, text as strings, pings as liveness, and the close code', async () => {
    const url = await wsServer((socket) => {
      socket.send(new Uint8Array([1, 2, 3]));
      socket.send('text');
      socket.ping();
      socket.on('message', (data: Buffer) => {
        socket.send(data);
        socket.close(4001, 'bye');
      });
    });
    const { seen, handlers, closed } = recorder();
    const connection = wsTransport(WebSocket, { maxPayload: 1024 })(url, handlers);
    await until(() => seen.open === 1);
    expect(connection.isOpen).toBe(true);
    await until(() => seen.messages.length === 2 && seen.alive === 1);
    expect(connection.send(new Uint8Array([9]))).toBe(true);
    await closed;
    expect(seen.messages.map((data) => (typeof data === 'string' ? data : [...data]))).toEqual([
      [1, 2, 3],
      'text',
      [9],
    ]);
    expect(seen.closed).toEqual({ code: 4001, reason: 'bye' });
    expect(connection.isOpen).toBe(false);
    expect(connection.send(new Uint8Array([1]))).toBe(false);
  });

  it('describes an upgrade the relay refused, and a relay that is not there', async () => {
    const url = await wsServer(() => undefined, {
      verifyClient: (_info, callback) => callback(false, 403),
    });
    const refused = recorder();
    wsTransport(WebSocket, { maxPayload: 1024 })(url, refused.handlers);
    await refused.closed;
    expect(refused.seen.closed?.error).toBe('the relay refused the connection: origin not allowed');

    const gone = recorder();
    wsTransport(WebSocket, { maxPayload: 1024 })('ws://127.0.0.1:1/ws', gone.handlers);
    await gone.closed;
    expect(gone.seen.closed).toMatchObject({
      code: 1006,
      error: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('closes with a closing handshake', async () => {
    const url = await wsServer(() => undefined);
    const { seen, handlers, closed } = recorder();
    const connection = wsTransport(WebSocket, { maxPayload: 1024, closeTimeoutMs: 50 })(
      url,
      handlers,
    );
    await until(() => seen.open === 1);
    connection.close(1000, 'leaving');
    await closed;
    expect(seen.closed?.code).toBe(1000);
  });
});

describe('browserTransport', () => {
  /** The browser API, as far as the adapter uses it. */
  class FakeBrowserSocket extends EventTarget {
    static readonly OPEN = 1;
    static last: FakeBrowserSocket | undefined;
    readyState = 0;
    binaryType = 'blob';
    readonly sent: unknown[] = [];
    closedWith: [number, string] | undefined;
    constructor(readonly url: string) {
      super();
      FakeBrowserSocket.last = this;
    }
    send(data: unknown): void {
      this.sent.push(data);
    }
    close(code: number, reason: string): void {
      this.closedWith = [code, reason];
    }
  }

  it('asks for ArrayBuffers and hands over bytes, strings and the close event', () => {
    const { seen, handlers } = recorder();
    const connection = browserTransport(
      FakeBrowserSocket as unknown as typeof globalThis.WebSocket,
    )('wss://h/ws', handlers);
    const socket = FakeBrowserSocket.last!;
    expect(socket.binaryType).toBe('arraybuffer');
    expect(connection.send(new Uint8Array([1]))).toBe(false);
    socket.readyState = 1;
    socket.dispatchEvent(new Event('open'));
    expect(connection.isOpen).toBe(true);
    expect(connection.send(new Uint8Array([1]))).toBe(true);
    socket.dispatchEvent(new MessageEvent('message', { data: new Uint8Array([5, 6]).buffer }));
    socket.dispatchEvent(new MessageEvent('message', { data: 'text' }));
    connection.close(1000, 'bye');
    expect(socket.closedWith).toEqual([1000, 'bye']);
    const close = Object.assign(new Event('close'), { code: 1006, reason: '' });
    socket.dispatchEvent(close);
    expect(seen).toMatchObject({
      open: 1,
      messages: [new Uint8Array([5, 6]), 'text'],
      closed: { code: 1006, reason: '' },
    });
  });
});
