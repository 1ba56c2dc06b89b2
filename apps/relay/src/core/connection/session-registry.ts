import type { ServerLimits, ServerMessage } from '@hush/protocol';
import { encode, ErrorCode } from '@hush/protocol';
import type { Actor } from 'xstate';
import { createActor } from 'xstate';
import type {
  AddressKind,
  ConnectionIo,
  ConnectionObserver,
  RateKind,
  RoomRequest,
} from './connection.machine.js';
import { CloseCode, connectionMachine, LOCKED_OUT_MESSAGE } from './connection.machine.js';
import { frameEvent } from './frame-event.js';
import { LivenessSweep } from './liveness.sweep.js';
import type { Admitted, Transport, TransportEvents } from '../transport.js';
import type { RelayedMessage } from '../room/room.machine.js';
import type { RelayConfig } from '../../config/config.schema.js';
import type { Logger } from '../../logging/logger.js';
import type { RelayMetrics } from '../relay-metrics.js';
import type { AdmissionReply, MemberLink } from '../room/member-link.js';
import type { RoomDirectory } from '../room/room-directory.js';
import type { AddressBudgets } from '../budgets/address-budgets.js';
import { addressKey } from '../budgets/address-key.js';
import type { RateLimit } from '../budgets/rate-limiter.js';

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
}

/**
 * One connection: the effects its actor asks for (writes to its transport, its address's lockout,
 * its room requests) and what its transport reports. One object per connection with its methods
 * on the prototype, so an idle connection costs a few fields rather than a closure per effect.
 */
class Session implements ConnectionIo, TransportEvents {
  readonly admissionTimeoutMs = ADMISSION_TIMEOUT_MS;
  readonly actor: ConnectionActor;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly shared: Shared,
    readonly transport: Transport,
    private readonly budgetKey: string,
    /** Whether this connection counts against its address's budget here (not at accept). */
    private readonly countedHere: boolean,
    private readonly id: string,
  ) {
    this.actor = createActor(connectionMachine, { input: { io: this } });
    this.actor.subscribe({ error: (error) => this.failed(error) });
  }

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

  // What the transport reports. A slow consumer's actor ends before its transport closes: what
  // the client still sends, and a late pong, go nowhere.

  frame(data: Uint8Array | string): void {
    if (!this.active()) return;
    const event = frameEvent(data, this.shared.config.limits);
    if (event !== undefined) this.actor.send(event);
  }

  pong(): void {
    if (this.active()) this.actor.send({ type: 'PONG' });
  }

  closed(): void {
    this.registry.remove(this);
    if (this.countedHere) this.shared.budgets.connectionClosed(this.budgetKey);
    this.shared.metrics.connectionClosed();
    if (this.active()) this.actor.send({ type: 'SOCKET_CLOSED' });
  }

  // What the actor asks for.

  now(): number {
    return Date.now();
  }

  send(message: ServerMessage): void {
    this.deliver(encode(message));
  }

  deliver(frame: Uint8Array): void {
    const { transport } = this;
    if (!transport.open) return;
    const backlog = transport.backlog();
    if (backlog > this.shared.config.limits.maxBufferedBytes) {
      this.shared.metrics.slowConsumer();
      this.log().info({ backlog }, 'closing slow consumer');
      transport.close(CloseCode.SlowConsumer, 'client does not read fast enough');
      // The closing handshake waits behind everything unread; the room need not wait for it.
      this.actor.send({ type: 'SLOW_CONSUMER' });
      return;
    }
    transport.send(frame);
  }

  ping(): void {
    if (this.transport.open) this.transport.ping();
  }

  close(code: number, reason: string): void {
    this.transport.close(code, reason);
  }

  terminate(): void {
    this.log().info('terminating unresponsive connection');
    this.transport.terminate();
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

  private active(): boolean {
    return this.actor.getSnapshot().status === 'active';
  }

  private failed(error: unknown): void {
    this.log().error({ err: error }, 'connection actor failed; closing its connection');
    this.transport.terminate();
  }

  /** A logger for this connection, made only when there is something to log. */
  private log(): Logger {
    return this.shared.logger.child({ conn: this.id });
  }
}

/**
 * One connection actor per open connection, whatever its transport. Per-connection state lives in
 * the actor and its session object; the transport holds only what it needs to carry frames. One
 * liveness sweep pings and times out all of them; it runs while any connection is open.
 */
export class SessionRegistry {
  private readonly sessions = new Set<Session>();
  private readonly shared: Shared;
  private readonly liveness: LivenessSweep;
  private counter = 0;

  constructor(deps: SessionDeps) {
    const { limits } = deps.config;
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
    };
    this.liveness = new LivenessSweep(
      { ...deps.config.heartbeat, admissionTimeoutMs: ADMISSION_TIMEOUT_MS },
      () => this.actors(),
    );
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Starts the connection actor for a freshly admitted connection and returns where its transport
   * reports frames, pongs and the close. A connection that did not count against its address's
   * connection budget at accept (a client behind a trusted proxy, known by its forwarded address
   * only now) is counted here.
   */
  open(transport: Transport, admitted: Admitted): TransportEvents {
    const { budgets, metrics } = this.shared;
    const key = addressKey(admitted.address);
    const id = (++this.counter).toString(36);
    const session = new Session(this, this.shared, transport, key, !admitted.counted, id);
    this.sessions.add(session);
    if (!admitted.counted) budgets.connectionOpened(key);
    metrics.connectionOpened();
    session.actor.start();
    this.liveness.start();
    return session;
  }

  /** Called by a session whose transport closed. */
  remove(session: Session): void {
    this.sessions.delete(session);
    if (this.sessions.size === 0) this.liveness.stop();
  }

  /**
   * Asks every connection to leave (1001, plus a reconnect hint where negotiated) without sending
   * them all to the other replicas at once: closes are spread evenly over the first half of
   * `windowMs`, in at most {@link DRAIN_STEPS} batches, and each connection is told to come back
   * after its own random delay within the second half. Resolves once every close was asked for.
   */
  async drain(windowMs: number, random: () => number = Math.random): Promise<void> {
    const actors = [...this.actors()];
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

  /** Resolves once every connection has closed, or after `timeoutMs`; returns how many remain. */
  async waitUntilEmpty(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.sessions.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return this.sessions.size;
  }

  /** Drops whatever is still open. */
  terminateAll(): void {
    for (const session of this.sessions) session.transport.terminate();
  }

  /** Stops the liveness sweep; the connections still open are left to their transport. */
  close(): void {
    this.liveness.stop();
  }

  private *actors(): Generator<ConnectionActor> {
    for (const session of this.sessions) yield session.actor;
  }
}
