import type { ClientMessage, ServerMessage } from '@hush/protocol';
import { decodeClientMessage, encode } from '@hush/protocol';
import type { SocketFactory, SocketHandlers, SocketLike } from '../state/socket.js';

type ByType<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

/**
 * One client connection as a test sees it: what the client wrote (decoded and validated, so a
 * malformed frame fails the test), and the relay's side of the lifecycle.
 */
export class FakeSocket implements SocketLike {
  isOpen = false;
  readonly sent: ClientMessage[] = [];
  closedWith: number | undefined;

  constructor(
    readonly url: string,
    private readonly handlers: SocketHandlers,
  ) {}

  send(frame: Uint8Array): void {
    if (!this.isOpen) throw new Error('the client wrote to a socket that is not open');
    const decoded = decodeClientMessage(frame);
    if (!decoded.ok) throw new Error(`the client sent an invalid frame: ${decoded.error.message}`);
    this.sent.push(decoded.value);
  }

  close(code?: number): void {
    this.closedWith = code ?? 1000;
    const wasOpen = this.isOpen;
    this.isOpen = false;
    // Browsers report a client-initiated close later, as an event.
    queueMicrotask(() =>
      this.handlers.close({ code: code ?? 1000, reason: '', wasClean: wasOpen }),
    );
  }

  /** The relay accepts the connection. */
  accept(): void {
    this.isOpen = true;
    this.handlers.open();
  }

  /** The relay sends a message. */
  deliver(message: ServerMessage): void {
    // A copy: msgpackr may hand out a view of a shared (Node Buffer) pool.
    this.handlers.message(new Uint8Array(encode(message)).buffer);
  }

  /** The relay sends raw bytes or a text frame, for hostile-input tests. */
  deliverRaw(data: ArrayBuffer | string): void {
    this.handlers.message(data);
  }

  /** The connection breaks (or could not be made). */
  drop(code = 1006): void {
    this.isOpen = false;
    this.handlers.close({ code, reason: '', wasClean: false });
  }

  sentOfType<T extends ClientMessage['type']>(type: T): ByType<T>[] {
    return this.sent.filter((m): m is ByType<T> => m.type === type);
  }
}

/** A socket factory that records every connection the client opens. */
export class FakeSockets {
  readonly all: FakeSocket[] = [];

  readonly connect: SocketFactory = (url, handlers) => {
    const socket = new FakeSocket(url, handlers);
    this.all.push(socket);
    return socket;
  };

  get last(): FakeSocket {
    const socket = this.all.at(-1);
    if (socket === undefined) throw new Error('no socket was opened');
    return socket;
  }
}
