import { encode } from '@hush/protocol';
import type { WebSocket } from 'ws';
import type { Actor } from 'xstate';
import { createActor } from 'xstate';
import type { ConnectionIo } from '../actors/connection.machine.js';
import { CloseCode, connectionMachine } from '../actors/connection.machine.js';
import type { RelayConfig } from '../config/config.schema.js';
import type { Logger } from '../logging/logger.js';
import type { RelayMetrics } from '../metrics/relay-metrics.js';
import type { RoomDirectory } from '../rooms/room-directory.js';
import type { ConnectionCap } from '../security/connection-cap.js';
import type { Lockout } from '../security/lockout.js';

export type ConnectionActor = Actor<typeof connectionMachine>;

/** How long a join may wait on the presence store before the client is told to retry. */
const ADMISSION_TIMEOUT_MS = 10_000;

export interface SessionDeps {
  config: RelayConfig;
  directory: RoomDirectory;
  lockout: Lockout;
  cap: ConnectionCap;
  metrics: RelayMetrics;
  logger: Logger;
}

/**
 * One connection actor per open socket. Per-connection state lives in the actor, found through a
 * map keyed by the socket, never on the socket object itself.
 */
export class SessionRegistry {
  private readonly sessions = new Map<WebSocket, ConnectionActor>();
  private counter = 0;

  constructor(private readonly deps: SessionDeps) {}

  get size(): number {
    return this.sessions.size;
  }

  get(socket: WebSocket): ConnectionActor | undefined {
    return this.sessions.get(socket);
  }

  /** Starts the connection actor for a freshly accepted socket. */
  open(socket: WebSocket, address: string): ConnectionActor {
    const { config, directory, lockout, cap, metrics } = this.deps;
    const log = this.deps.logger.child({ conn: (++this.counter).toString(36) });
    let closing = false;
    const write = (frame: Uint8Array): void => {
      if (closing || socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > config.limits.maxBufferedBytes) {
        closing = true;
        metrics.slowConsumer();
        log.info({ buffered: socket.bufferedAmount }, 'closing slow consumer');
        socket.close(CloseCode.SlowConsumer, 'client does not read fast enough');
        // The closing handshake waits behind everything unread; the room need not wait for it.
        actor.send({ type: 'SLOW_CONSUMER' });
        return;
      }
      socket.send(frame);
    };
    const io: ConnectionIo = {
      rate: {
        ...config.limits.rate,
        invalid: {
          events: config.limits.invalidFrameLimit,
          windowMs: config.limits.invalidFrameWindowMs,
        },
      },
      heartbeat: config.heartbeat,
      admissionTimeoutMs: ADMISSION_TIMEOUT_MS,
      serverLimits: {
        maxFrameBytes: config.limits.maxFrameBytes,
        maxRoomMembers: config.limits.maxRoomMembers,
        nameMaxCodePoints: config.limits.nameMaxCodePoints,
        maxExpirySeconds: config.limits.maxExpirySeconds,
        chatPerWindow: config.limits.rate.chat.events,
        windowMs: config.limits.rate.chat.windowMs,
      },
      observer: metrics,
      now: Date.now,
      send: (message) => write(encode(message)),
      deliver: write,
      ping: () => {
        if (socket.readyState === socket.OPEN) socket.ping();
      },
      close: (code, reason) => {
        closing = true;
        socket.close(code, reason);
      },
      terminate: () => {
        log.info('terminating unresponsive connection');
        socket.terminate();
      },
      lockedOut: () => lockout.isLocked(address),
      recordFailedJoin: () => lockout.recordFailure(address),
      join: (request, link, reply) => directory.join(request, link, reply),
      relay: (roomId, memberId, message) => directory.relay(roomId, memberId, message),
      leave: (roomId, memberId) => directory.leave(roomId, memberId),
    };
    const actor = createActor(connectionMachine, { input: { io } });
    actor.subscribe({
      error: (error) => {
        log.error({ err: error }, 'connection actor failed; closing its socket');
        socket.terminate();
      },
    });
    this.sessions.set(socket, actor);
    cap.opened(address);
    metrics.connectionOpened();
    socket.on('pong', () => actor.send({ type: 'PONG' }));
    socket.once('close', (code) => {
      this.sessions.delete(socket);
      cap.closed(address);
      metrics.connectionClosed();
      log.debug({ code }, 'connection closed');
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'SOCKET_CLOSED' });
    });
    actor.start();
    log.debug('connection opened');
    return actor;
  }

  /** Asks every connection to leave (1001, plus a reconnect hint where negotiated). */
  drain(retryAfterMs: number): void {
    for (const actor of this.sessions.values()) actor.send({ type: 'DRAIN', retryAfterMs });
  }

  /** Resolves once every socket has closed, or after `timeoutMs`; returns how many remain. */
  async waitUntilEmpty(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.sessions.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return this.sessions.size;
  }

  /** Drops whatever is still open. */
  terminateAll(): void {
    for (const socket of this.sessions.keys()) socket.terminate();
  }
}
