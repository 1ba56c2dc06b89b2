import type { ServerLimits, ServerMessage } from '@hush/protocol';
import { encode, ErrorCode } from '@hush/protocol';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Actor } from 'xstate';
import { createActor } from 'xstate';
import type {
  AddressKind,
  ConnectionIo,
  ConnectionObserver,
  RateKind,
  RoomRequest,
} from '../actors/connection.machine.js';
import { CloseCode, connectionMachine, LOCKED_OUT_MESSAGE } from '../actors/connection.machine.js';
import { LivenessSweep } from '../actors/liveness.sweep.js';
import type { RelayedMessage } from '../actors/room.machine.js';
import type { RelayConfig } from '../config/config.schema.js';
import type { Logger } from '../logging/logger.js';
import type { RelayMetrics } from '../metrics/relay-metrics.js';
import type { AdmissionReply, MemberLink } from '../rooms/member-link.js';
import type { RoomDirectory } from '../rooms/room-directory.js';
import type { AddressBudgets } from '../budgets/address-budgets.js';
import { addressKey } from '../budgets/address-key.js';
import type { RateLimit } from '../security/rate-limiter.js';

export type ConnectionActor = Actor<typeof connectionMachine>;

/** Batches in which a drain closes its connections (bounded concurrency of reconnects). */
export const DRAIN_STEPS = 50;

/** How long a join may wait on the presence store before the client is told to retry. */
const ADMISSION_TIMEOUT_MS = 10_000;

export interface SessionDeps {
  config: RelayConfig;
  directory: RoomDirectory;
  budgets: AddressBudgets;
  metrics: RelayMetrics;
  logger: Logger;
}

/** What every connection shares: limits derived from the configuration once, the collaborators. */
interface Shared extends SessionDeps {
  rate: Readonly<Record<RateKind, RateLimit>>;
  serverLimits: ServerLimits;
  /**
   * Holds a socket's writes until the end of this event-loop turn (see WriteCoalescer) and
   * returns the bytes it still had unsent before this turn.
   */
  coalesce(raw: Socket): number;
}

/**
 * The effects of one connection: writes to its socket, its address's lockout, its room requests.
 * One object per socket with its methods on the prototype, so an idle connection costs a few
 * fields rather than a closure per effect.
 */
class SocketSession implements ConnectionIo {
  readonly admissionTimeoutMs = ADMISSION_TIMEOUT_MS;
  actor: ConnectionActor | undefined;
  private closing = false;

  constructor(
    private readonly shared: Shared,
    private readonly socket: WebSocket,
    private readonly raw: Socket,
    private readonly budgetKey: string,
    private readonly id: string,
  ) {}

  get rate(): Readonly<Record<RateKind, RateLimit>> {
    return this.shared.rate;
  }
  get heartbeat(): RelayConfig['heartbeat'] {
    return this.shared.config.heartbeat;
  }
  get serverLimits(): ServerLimits {
    return this.shared.serverLimits;
  }
  get observer(): ConnectionObserver {
    return this.shared.metrics;
  }

  now(): number {
    return Date.now();
  }

  send(message: ServerMessage): void {
    this.deliver(encode(message));
  }

  deliver(frame: Uint8Array): void {
    const { socket } = this;
    if (this.closing || socket.readyState !== socket.OPEN) return;
    // What is held back this turn is not the client's fault; what it left unread before is.
    const backlog = this.shared.coalesce(this.raw);
    if (backlog > this.shared.config.limits.maxBufferedBytes) {
      this.closing = true;
      this.shared.metrics.slowConsumer();
      this.log().info({ backlog }, 'closing slow consumer');
      socket.close(CloseCode.SlowConsumer, 'client does not read fast enough');
      // The closing handshake waits behind everything unread; the room need not wait for it.
      this.actor?.send({ type: 'SLOW_CONSUMER' });
      return;
    }
    socket.send(frame);
  }

  ping(): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.ping();
  }

  close(code: number, reason: string): void {
    this.closing = true;
    this.socket.close(code, reason);
  }

  terminate(): void {
    this.log().info('terminating unresponsive connection');
    this.socket.terminate();
  }

  lockedOut(): boolean {
    return this.shared.budgets.isLocked(this.budgetKey);
  }

  recordFailedJoin(): void {
    const { budgets, metrics } = this.shared;
    const wasLocked = budgets.isLocked(this.budgetKey);
    budgets.recordFailedJoin(this.budgetKey);
    if (!wasLocked && budgets.isLocked(this.budgetKey)) {
      metrics.lockedOut();
      this.log().info('client address locked out after repeated failed joins');
    }
  }

  addressAllows(kind: AddressKind): boolean {
    return this.shared.budgets.allows(kind, this.budgetKey);
  }

  spendAddress(kind: AddressKind): void {
    this.shared.budgets.spend(kind, this.budgetKey);
  }

  /**
   * Asks the room for a seat, once the cluster has confirmed the address is not locked out (the
   * machine checked this replica's view; another replica may have locked it a moment ago).
   */
  join(request: RoomRequest, link: MemberLink, reply: AdmissionReply): void {
    const { budgets, directory } = this.shared;
    void budgets.confirmUnlocked(this.budgetKey).then((unlocked) => {
      if (unlocked) directory.join(request, link, reply);
      else reply.reject(ErrorCode.LockedOut, LOCKED_OUT_MESSAGE);
    });
  }

  relay(roomId: string, memberId: string, message: RelayedMessage): void {
    this.shared.directory.relay(roomId, memberId, message);
  }

  leave(roomId: string, memberId: string): void {
    this.shared.directory.leave(roomId, memberId);
  }

  /** A logger for this connection, made only when there is something to log. */
  log(): Logger {
    return this.shared.logger.child({ conn: this.id });
  }
}

/**
 * Holds each socket's writes from the first one in an event-loop turn until the turn ends, so the
 * frames a socket receives in one turn (a room's fan-out often sends several) leave in one
 * syscall instead of one each.
 */
class WriteCoalescer {
  /** Corked sockets → bytes they had unsent when corked. */
  private readonly corked = new Map<Socket, number>();
  private scheduled = false;

  /** Corks `raw` for the rest of this turn; returns its unsent bytes from before the turn. */
  add(raw: Socket): number {
    const backlog = this.corked.get(raw);
    if (backlog !== undefined) return backlog;
    const pending = raw.writableLength;
    raw.cork();
    this.corked.set(raw, pending);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return pending;
  }

  private flush(): void {
    this.scheduled = false;
    for (const raw of this.corked.keys()) raw.uncork();
    this.corked.clear();
  }
}

/**
 * One connection actor per open socket. Per-connection state lives in the actor and its session
 * object, found through a map keyed by the socket, never on the socket object itself. One
 * liveness sweep pings and times out all of them; it runs while any connection is open.
 */
export class SessionRegistry {
  private readonly sessions = new Map<WebSocket, ConnectionActor>();
  private readonly shared: Shared;
  private readonly liveness: LivenessSweep;
  private counter = 0;

  constructor(deps: SessionDeps) {
    const { limits } = deps.config;
    const coalescer = new WriteCoalescer();
    this.shared = {
      ...deps,
      rate: {
        ...limits.rate,
        invalid: { events: limits.invalidFrameLimit, windowMs: limits.invalidFrameWindowMs },
      },
      serverLimits: {
        maxFrameBytes: limits.maxFrameBytes,
        maxRoomMembers: limits.maxRoomMembers,
        nameMaxCodePoints: limits.nameMaxCodePoints,
        maxExpirySeconds: limits.maxExpirySeconds,
        chatPerWindow: limits.rate.chat.events,
        windowMs: limits.rate.chat.windowMs,
        rates: { ...limits.rate },
        pingIntervalMs: deps.config.heartbeat.pingIntervalMs,
        pongTimeoutMs: deps.config.heartbeat.pongTimeoutMs,
      },
      coalesce: (raw) => coalescer.add(raw),
    };
    this.liveness = new LivenessSweep(
      { ...deps.config.heartbeat, admissionTimeoutMs: ADMISSION_TIMEOUT_MS },
      () => this.sessions.values(),
    );
  }

  get size(): number {
    return this.sessions.size;
  }

  get(socket: WebSocket): ConnectionActor | undefined {
    return this.sessions.get(socket);
  }

  /**
   * Starts the connection actor for a freshly accepted socket; `raw` is the TCP socket under it
   * (the upgrade request's socket). `counted` says whether the connection already counts against
   * its address's connection budget (it was counted when the TCP connection was accepted); if not
   * (a client behind a trusted proxy, known by its forwarded address only now), it is counted here.
   */
  open(socket: WebSocket, address: string, raw: Socket, counted: boolean): ConnectionActor {
    const { budgets, metrics } = this.shared;
    const key = addressKey(address);
    const session = new SocketSession(this.shared, socket, raw, key, (++this.counter).toString(36));
    const actor = createActor(connectionMachine, { input: { io: session } });
    session.actor = actor;
    actor.subscribe({
      error: (error) => {
        session.log().error({ err: error }, 'connection actor failed; closing its socket');
        socket.terminate();
      },
    });
    this.sessions.set(socket, actor);
    if (!counted) budgets.connectionOpened(key);
    metrics.connectionOpened();
    // A pong can still arrive after the actor ended (a slow consumer's close is under way).
    socket.on('pong', () => {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'PONG' });
    });
    // ws emits 'close' once; `on` spares the wrapper `once` would keep for every idle socket.
    socket.on('close', () => {
      this.sessions.delete(socket);
      if (this.sessions.size === 0) this.liveness.stop();
      if (!counted) budgets.connectionClosed(key);
      metrics.connectionClosed();
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'SOCKET_CLOSED' });
    });
    actor.start();
    this.liveness.start();
    return actor;
  }

  /**
   * Asks every connection to leave (1001, plus a reconnect hint where negotiated) without sending
   * them all to the other replicas at once: closes are spread evenly over the first half of
   * `windowMs`, in at most {@link DRAIN_STEPS} batches, and each connection is told to come back
   * after its own random delay within the second half. Resolves once every close was asked for.
   */
  async drain(windowMs: number, random: () => number = Math.random): Promise<void> {
    const actors = [...this.sessions.values()];
    const closeSpan = windowMs / 2;
    const steps = Math.max(1, Math.min(DRAIN_STEPS, actors.length));
    const batch = Math.ceil(actors.length / steps);
    const start = Date.now();
    for (let step = 0; step < steps; step++) {
      // Each batch has its own moment in the span: a busy event loop that runs a timer late
      // delays that batch, not every batch after it, so the span holds under load.
      const wait = start + (step * closeSpan) / steps - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      for (const actor of actors.slice(step * batch, (step + 1) * batch)) {
        const retryAfterMs = Math.round(random() * closeSpan);
        if (actor.getSnapshot().status === 'active') actor.send({ type: 'DRAIN', retryAfterMs });
      }
    }
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

  /** Stops the liveness sweep; the sockets still open are left to their owner. */
  close(): void {
    this.liveness.stop();
  }
}
