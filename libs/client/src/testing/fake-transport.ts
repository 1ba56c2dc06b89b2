import type { ClientMessage, ServerMessage } from '@hush/protocol';
import { decodeClientMessage, encode } from '@hush/protocol';
import type {
  Connection,
  Transport,
  TransportClose,
  TransportHandlers,
} from '../transport/transport.js';

type ByType<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

/** One connection of a {@link FakeTransport}: the test plays the relay. */
export class FakeConnection implements Connection {
  /** Every frame the client wrote, decoded (and checked) as the relay would. */
  readonly sent: ClientMessage[] = [];
  /** How the client closed it, if it did. */
  closedBy: { code: number; reason: string } | undefined;
  /** While true, writes fail as on a socket that is going away. */
  failWrites = false;
  /** Frames the client tried to write while writes failed, decoded. */
  readonly rejected: ClientMessage[] = [];
  private opened = false;
  private finished = false;

  constructor(
    readonly url: string,
    private readonly handlers: TransportHandlers,
  ) {}

  get isOpen(): boolean {
    return this.opened && !this.finished;
  }

  send(frame: Uint8Array): boolean {
    if (!this.isOpen) return false;
    const decoded = decodeClientMessage(frame);
    if (!decoded.ok) throw new Error(`the client wrote an invalid frame: ${decoded.error.message}`);
    (this.failWrites ? this.rejected : this.sent).push(decoded.value);
    return !this.failWrites;
  }

  close(code: number, reason: string): void {
    if (this.finished) return;
    this.closedBy = { code, reason };
    this.finish({ code, reason });
  }

  /** The handshake succeeded. */
  open(): void {
    this.opened = true;
    this.handlers.open();
  }

  /** The relay sends a message. */
  receive(message: ServerMessage): void {
    this.handlers.message(encode(message));
  }

  /** The relay sends raw bytes or a text frame. */
  receiveRaw(data: Uint8Array | string): void {
    this.handlers.message(data);
  }

  /** A WebSocket-level ping arrives. */
  ping(): void {
    this.handlers.alive();
  }

  /** The connection drops, or fails to open, from the relay's side. */
  drop(info: TransportClose = { code: 1006, reason: '' }): void {
    this.finish(info);
  }

  /** The messages of one type the client wrote. */
  sentOf<T extends ClientMessage['type']>(type: T): ByType<T>[] {
    return this.sent.filter((message): message is ByType<T> => message.type === type);
  }

  private finish(info: TransportClose): void {
    if (this.finished) return;
    this.finished = true;
    // Real sockets report closing asynchronously.
    queueMicrotask(() => this.handlers.close(info));
  }
}

/** A transport whose connections a test drives by hand. */
export class FakeTransport {
  readonly connections: FakeConnection[] = [];

  readonly transport: Transport = (url, handlers) => {
    const connection = new FakeConnection(url, handlers);
    this.connections.push(connection);
    return connection;
  };

  /** The newest connection. */
  get last(): FakeConnection {
    const connection = this.connections.at(-1);
    if (connection === undefined) throw new Error('no connection was opened');
    return connection;
  }
}
