import { Inject } from '@nestjs/common';
import type { OnGatewayConnection } from '@nestjs/websockets';
import { WebSocketGateway } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import type { UpgradeDecision } from '../../core/admission/connection-admission.js';
import { RelayCore } from '../../core/relay-core.js';
import type { Admitted } from '../../core/transport.js';
import type { AcceptGuard } from './accept-guard.js';
import { WriteCoalescer, WsTransport } from './ws-transport.js';

/**
 * The WebSocket endpoint, thin on purpose: it asks the core to admit each upgrade, then carries
 * each admitted socket's frames, pongs and close to the core as a {@link WsTransport}. Everything
 * else (decoding, rules, rooms) is the core's.
 */
@WebSocketGateway({ path: '/ws' })
export class RelayGateway implements OnGatewayConnection {
  private readonly writes = new WriteCoalescer();
  private readonly admitted = new WeakMap<IncomingMessage, Admitted>();
  private guard: AcceptGuard | undefined;

  constructor(@Inject(RelayCore) private readonly core: RelayCore) {}

  /** The guard that watches this endpoint's TCP connections (see `RelayWsAdapter`). */
  useGuard(guard: AcceptGuard): void {
    this.guard = guard;
  }

  /** Decides an upgrade request; called once per request, before the upgrade. */
  verify(request: IncomingMessage, origin: string | undefined): UpgradeDecision {
    const decision = this.core.admission.upgrade({
      origin,
      peer: request.socket.remoteAddress,
      forwardedFor: request.headers['x-forwarded-for'],
      counted: this.guard?.isCounted(request) ?? false,
    });
    if (decision.ok) this.admitted.set(request, decision);
    return decision;
  }

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    const admitted = this.admitted.get(request);
    if (admitted === undefined) {
      socket.terminate(); // not upgraded through `verify`: never happens
      return;
    }
    const transport = new WsTransport(socket, request.socket, this.writes);
    const connection = this.core.sessions.open(transport, admitted);
    socket.on('message', (data: RawData, isBinary: boolean) =>
      connection.frame(isBinary ? toBytes(data) : data.toString()),
    );
    socket.on('pong', () => connection.pong());
    // ws emits 'close' once; `on` spares the wrapper `once` would keep for every idle socket.
    socket.on('close', () => connection.closed());
  }
}

/** ws hands binary frames over as a Buffer (the default binaryType); fragments as a list. */
function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
