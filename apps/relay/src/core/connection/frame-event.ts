import type { ClientLimits, ClientMessage } from '@hush/protocol';
import { ClientType, decodeClientMessage, isRelayed } from '@hush/protocol';
import type { ConnectionEvent } from './connection.machine.js';

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
  if (isRelayed(message)) return { type: 'RELAY', message };
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
    default: {
      const unreachable: never = message;
      return unreachable;
    }
  }
}
