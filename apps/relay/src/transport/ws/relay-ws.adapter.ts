import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { IncomingMessage } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import type { RelayConfig } from '../../config/config.schema.js';
import type { Logger } from '../../logging/logger.js';
import { describeFault, ThrottledLog } from '../../logging/throttled-log.js';
import type { RelayGateway } from './relay.gateway.js';

type VerifyCallback = (result: boolean, code?: number, message?: string) => void;

/**
 * Nest's ws adapter, configured for the relay: the frame size limit closes oversized frames with
 * 1009, each upgrade is decided by the gateway (which asks the core), and the gateway binds each
 * socket's frames itself.
 */
export class RelayWsAdapter extends WsAdapter {
  private readonly socketErrors: ThrottledLog;

  constructor(
    app: INestApplicationContext,
    private readonly config: RelayConfig,
    logger: Logger,
    private readonly gateway: RelayGateway,
  ) {
    super(app);
    this.socketErrors = new ThrottledLog(logger.child({ component: 'ws' }));
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
   * cost more than relaying it and hold several objects per socket; the gateway binds each
   * socket's frames to its connection directly instead.
   */
  override bindMessageHandlers(): void {}

  override create(port: number, options: Record<string, unknown> = {}) {
    return super.create(port, {
      ...options,
      maxPayload: this.config.limits.maxFrameBytes,
      perMessageDeflate: false,
      verifyClient: (info: { origin?: string; req: IncomingMessage }, done: VerifyCallback) => {
        const decision = this.gateway.verify(info.req, info.origin);
        if (decision.ok) done(true);
        else done(false, decision.status, decision.message);
      },
    });
  }
}
