import type { ClientLimits, ClientMessage } from '@hush/protocol';
import { ClientType, decodeClientMessage } from '@hush/protocol';
import { Inject } from '@nestjs/common';
import type { OnGatewayConnection } from '@nestjs/websockets';
import { WebSocketGateway } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { ConnectionEvent } from '../../core/connection/connection.machine.js';
import { RelayCore } from '../../core/relay-core.js';

/**
 * The WebSocket endpoint. Thin on purpose: decode, validate, hand the event to the connection's
 * actor. Room rules live in the actors.
 */
@WebSocketGateway({ path: '/ws' })
export class RelayGateway implements OnGatewayConnection {
  constructor(@Inject(RelayCore) private readonly core: RelayCore) {}

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    const admitted = this.core.admission.decisionFor(request);
    if (admitted === undefined) {
      socket.terminate(); // not upgraded through the adapter's admission: never happens
      return;
    }
    this.core.sessions.open(socket, admitted.address, request.socket, admitted.counted);
  }

  /** Every frame of every socket, routed here by the adapter. */
  onFrame(socket: WebSocket, data: Uint8Array | string): void {
    const actor = this.core.sessions.get(socket);
    // A slow consumer's actor ends before its socket closes: what it still sends goes nowhere.
    if (actor === undefined || actor.getSnapshot().status !== 'active') return;
    const event = frameEvent(data, this.core.config.limits);
    if (event !== undefined) actor.send(event);
  }
}

/**
 * Turns one raw frame into the connection event it means, or nothing for a message type this
 * relay does not know (ignored, as the Arthas server ignores unknown types). Never throws.
 */
export function frameEvent(
  data: unknown,
  limits: ClientLimits & { maxFrameBytes: number },
): ConnectionEvent | undefined {
  if (!(data instanceof Uint8Array)) return { type: 'TEXT_FRAME' };
  const decoded = decodeClientMessage(data, limits.maxFrameBytes, limits);
  if (decoded.ok) return toEvent(decoded.value);
  return decoded.error.reason === 'unknown_type'
    ? undefined
    : { type: 'INVALID', error: decoded.error };
}

function toEvent(message: ClientMessage): ConnectionEvent {
  switch (message.type) {
    case ClientType.CreateRoom:
      return { type: 'CREATE_ROOM', data: message.data };
    case ClientType.JoinRoom:
      return { type: 'JOIN_ROOM', data: message.data };
    case ClientType.LeaveRoom:
      return { type: 'LEAVE_ROOM' };
    case ClientType.Pong:
      return { type: 'PONG' };
    case ClientType.Hello:
      return { type: 'HELLO', data: message.data };
    case ClientType.SendMessage:
    case ClientType.Typing:
    case ClientType.SendReaction:
    case ClientType.SendFileMeta:
    case ClientType.SendFileChunk:
    case ClientType.SendFileComplete:
    case ClientType.SendFileCancel:
    case ClientType.SendFileAck:
      return { type: 'RELAY', message };
    default: {
      const unreachable: never = message;
      return unreachable;
    }
  }
}
