import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import type { RelayCore } from '../relay-core.js';

/** Receives every frame of every socket: binary frames as bytes, text frames as a string. */
export type FrameHandler = (socket: WebSocket, frame: Uint8Array | string) => void;

type VerifyCallback = (result: boolean, code?: number, message?: string) => void;

/**
 * Nest's ws adapter, configured for the relay: every frame goes to one handler undecoded (binary
 * as bytes, text as a string), the frame size limit closes oversized frames with 1009, and the
 * upgrade is refused for disallowed browser origins, addresses over their connection cap, and while
 * draining.
 */
export class RelayWsAdapter extends WsAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly core: RelayCore,
    private readonly onFrame: FrameHandler,
  ) {
    super(app);
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
    const { allowedOrigins } = this.core.config.server;
    // Browsers always send Origin; the allowlist keeps other sites' pages out. Terminal clients
    // (the Arthas Go CLI, ours) send none and could forge any, so a missing Origin is not refused.
    const { origin } = info;
    if (
      origin !== undefined &&
      allowedOrigins.length > 0 &&
      !allowedOrigins.includes('*') &&
      !allowedOrigins.includes(origin)
    ) {
      done(false, 403, 'origin not allowed');
      return;
    }
    if (this.core.isDraining) {
      done(false, 503, 'relay is shutting down');
      return;
    }
    const address = this.core.ips.resolve(
      info.req.socket.remoteAddress,
      info.req.headers['x-forwarded-for'],
    );
    if (!this.core.cap.allows(address)) {
      done(false, 429, 'too many connections from this address');
      return;
    }
    done(true);
  }
}

/** ws hands binary frames over as a Buffer (the default binaryType); fragments as a list. */
function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
