import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { describeFault, ThrottledLog } from '../../logging/throttled-log.js';
import type { RelayCore } from '../../core/relay-core.js';

/** Receives every frame of every socket: binary frames as bytes, text frames as a string. */
export type FrameHandler = (socket: WebSocket, frame: Uint8Array | string) => void;

type VerifyCallback = (result: boolean, code?: number, message?: string) => void;

/**
 * Nest's ws adapter, configured for the relay: every frame goes to one handler undecoded (binary
 * as bytes, text as a string), the frame size limit closes oversized frames with 1009, and each
 * upgrade is decided by the core's connection admission (origin, drain, ceilings, address caps).
 */
export class RelayWsAdapter extends WsAdapter {
  private readonly socketErrors: ThrottledLog;

  constructor(
    app: INestApplicationContext,
    private readonly core: RelayCore,
    private readonly onFrame: FrameHandler,
  ) {
    super(app);
    this.socketErrors = new ThrottledLog(core.logger.child({ component: 'ws' }));
  }

  /**
   * A client's protocol error (an oversized frame, a bad opcode) closes that client; ws reports it
   * as an error on its socket. Nest logs each one at error level; a client sending oversized frames
   * in a loop would write a line per frame. One line per kind of error per interval instead.
   */
  override bindErrorHandler(server: WebSocketServer): WebSocketServer {
    server.on('connection', (socket: WebSocket) =>
      socket.on('error', (error: Error & { code?: string }) =>
        this.socketErrors.write(
          'warn',
          `socket:${error.code ?? 'error'}`,
          { err: describeFault(error) },
          'client connection error',
        ),
      ),
    );
    server.on('error', (error: Error) =>
      this.socketErrors.write(
        'error',
        'server',
        { err: describeFault(error) },
        'websocket server error',
      ),
    );
    return server;
  }

  /**
   * Nest's default runs each frame through an rxjs pipeline and an async interceptor chain, which
   * cost more than relaying it and hold several objects per socket; the relay's one frame handler
   * needs neither.
   */
  override bindMessageHandlers(client: WebSocket): void {
    client.on('message', (data: RawData, isBinary: boolean) =>
      this.onFrame(client, isBinary ? toBytes(data) : data.toString()),
    );
  }

  override create(port: number, options: Record<string, unknown> = {}) {
    return super.create(port, {
      ...options,
      maxPayload: this.core.config.limits.maxFrameBytes,
      perMessageDeflate: false,
      verifyClient: (info: { origin?: string; req: IncomingMessage }, done: VerifyCallback) =>
        this.verify(info, done),
    });
  }

  private verify(info: { origin?: string; req: IncomingMessage }, done: VerifyCallback): void {
    const decision = this.core.admission.upgrade(info.req, info.origin);
    if (decision.ok) done(true);
    else done(false, decision.status, decision.message);
  }
}

/** ws hands binary frames over as a Buffer (the default binaryType); fragments as a list. */
function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
