import type { Member } from '@hush/protocol';
import { ErrorCode, nameKey } from '@hush/protocol';
import type { RedisConnections } from './redis.backends.js';
import type { RedisKeys } from './redis-keys.js';
import type { Logger } from '../../logging/logger.js';
import {
  legacyPasswordMatches,
  PasswordChecker,
  whenNotBusy,
} from '../../core/room/password-check.js';
import type {
  BackendHealth,
  Eviction,
  PresencePort,
  RoomSettings,
  RoomSnapshot,
  SeatLoss,
} from '../presence.port.js';
import {
  AdmissionError,
  admissionRefused,
  EXPIRED_ROOM_MEMORY_MS,
  isAdmissionCode,
} from '../presence.port.js';
import {
  ASSERT_ROOM,
  CREATE_ROOM,
  EXPIRED_REPLICAS,
  JOIN_ROOM,
  REGISTER_REPLICA,
  REMOVE_MEMBERS,
  RENEW_LEASE,
  runScript,
  TOUCH_ROOM,
} from './redis-scripts.js';

/** How long a survivor holds the claim on a dead replica's cleanup before another may retry. */
const REAP_CLAIM_MS = 30_000;
/** How long the claim stays as a marker telling a replica wrongly declared dead what happened. */
const REAPED_MARKER_MS = 10 * 60_000;
/** Dead replicas examined per sweep. */
const REAP_BATCH = 16;
const CLOSE_BUDGET_MS = 3_000;
/** Room keys live at least this long without a refresh from a replica hosting members. */
const MIN_ROOM_TTL_MS = 60_000;

/**
 * Room settings as stored: the password only as a scrypt check value ("" = no password). `salt`
 * is set only on rooms made by relays from before scrypt (a salted SHA-256 in `check`).
 */
interface RoomMeta {
  ephemeral: number;
  expiresAt: number;
  salt: string;
  check: string;
}

/** A room with members on this replica, mirrored locally so Redis can be refilled. */
interface HostedRoom {
  meta: RoomMeta;
  /** The capacity admissions used, enforced again when the members are registered again. */
  maxMembers: number;
  /** In join order: when a recovery cannot seat everyone, the earlier joiners keep their seats. */
  members: Map<string, Member>;
}

export interface RedisPresenceOptions {
  replicaId: string;
  link: RedisConnections;
  keys: RedisKeys;
  heartbeatMs: number;
  leaseTtlMs: number;
  logger: Logger;
  /**
   * Tells a room that a member is registered again: everyone but the member (it was evicted and
   * everyone was told), or only the members in `to` (Redis lost the room; they joined meanwhile).
   */
  announce?: (roomId: string, member: Member, to?: string[]) => void;
  /** Makes and verifies password check values (a default one per replica). */
  passwords?: PasswordChecker;
}

/**
 * Presence in Redis. Admission rules run in Lua scripts over one room's keys, so they hold
 * cluster-wide. Crash safety: each replica renews a lease and indexes its members; survivors
 * find expired leases, one of them claims the cleanup, removes the dead replica's members and
 * reports them as evictions. A local mirror of what this replica hosts lets it refill Redis after
 * a restart, and pending leaves are replayed once Redis is reachable again.
 *
 * A replica's members are owned by its *incarnation* (`<replicaId>.<n>`). If survivors declare a
 * live replica dead (it was cut off for longer than the lease), it notices the claim at its next
 * heartbeat, starts a new incarnation and re-registers its members; the cleanup only removes
 * members still owned by the old incarnation, so both orders of the race end consistently.
 *
 * Every re-registration goes through the admission rules (ASSERT_ROOM): a member whose nickname
 * was taken or whose room filled up or expired while its registration was gone loses its seat
 * and is reported through `onSeatLost`.
 */
export class RedisPresence implements PresencePort {
  private readonly replicaId: string;
  private readonly link: RedisConnections;
  private readonly keys: RedisKeys;
  private readonly heartbeatMs: number;
  private readonly leaseTtlMs: number;
  private readonly roomTtlMs: number;
  private readonly logger: Logger;
  private readonly announce: RedisPresenceOptions['announce'];
  private readonly passwords: PasswordChecker;

  private incarnation: string;
  private generation = 0;
  private readonly hosted = new Map<string, HostedRoom>();
  /** Leaves Redis has not seen yet: room id → member ids. */
  private readonly pendingLeaves = new Map<string, Set<string>>();
  /** Leaves of this event-loop turn, room id → member ids, written together at its end. */
  private leaving = new Map<string, Set<string>>();
  private leavesWritten: Promise<void> | undefined;
  private listener: ((eviction: Eviction) => void) | undefined;
  private seatListener: ((loss: SeatLoss) => void) | undefined;

  /** False from a (re)connection until this replica's state is back in Redis. */
  private restored = false;
  private leaseHeld = false;
  private lastRenewal = 0;
  /** Set when Redis must be refilled from the mirror at the next heartbeat. */
  private reassertDue: 'silent' | 'announce' | undefined;
  /** Sweeps wait after a (re)connection so the other replicas can renew their leases first. */
  private sweepAfter = 0;
  private maintenance: Promise<void> = Promise.resolve();
  private readonly queued = new Set<string>();
  private sweeping = false;
  private touching = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(options: RedisPresenceOptions) {
    this.replicaId = options.replicaId;
    this.link = options.link;
    this.keys = options.keys;
    this.heartbeatMs = options.heartbeatMs;
    this.leaseTtlMs = options.leaseTtlMs;
    this.roomTtlMs = Math.max(MIN_ROOM_TTL_MS, 10 * options.leaseTtlMs);
    this.logger = options.logger;
    this.announce = options.announce;
    this.passwords = options.passwords ?? new PasswordChecker();
    this.incarnation = `${this.replicaId}.0`;
  }

  start(): void {
    this.link.onReady('commands', () => {
      this.restored = false;
      this.sweepAfter = Date.now() + this.leaseTtlMs;
      this.reassertDue ??= 'silent';
      void this.serially('restore', () => this.restore());
    });
    this.every(this.heartbeatMs, () => void this.serially('heartbeat', () => this.beat()));
    this.every(Math.max(100, Math.floor(this.heartbeatMs / 2)), () => void this.sweep());
    this.every(Math.floor(this.roomTtlMs / 3), () => void this.touchRooms());
  }

  async createRoom(
    roomId: string,
    settings: RoomSettings,
    creator: Member,
    maxMembers: number,
  ): Promise<RoomSnapshot> {
    this.assertAvailable();
    const meta: RoomMeta = {
      ephemeral: settings.ephemeral,
      expiresAt: settings.expiresAt,
      salt: '',
      check: await whenNotBusy(() => this.passwords.make(settings.passwordHash)),
    };
    this.assertAvailable();
    const owner = this.incarnation;
    await this.index(owner, creator.id, roomId);
    let created: unknown;
    try {
      created = await runScript(this.link.commands, CREATE_ROOM, this.keys.room(roomId), [
        meta.ephemeral,
        meta.expiresAt,
        meta.salt,
        meta.check,
        creator.id,
        this.record(creator, owner),
        nameKey(creator.name),
        this.ttl(meta),
      ]);
    } catch (error) {
      throw this.unknownOutcome(roomId, creator.id, error);
    }
    if (created !== 1) {
      this.unindex(owner, creator.id);
      throw new AdmissionError(ErrorCode.Unavailable, 'room id collision, try again');
    }
    this.host(roomId, meta, maxMembers, creator, owner);
    return snapshot(roomId, meta, [creator]);
  }

  async joinRoom(
    roomId: string,
    passwordHash: string,
    member: Member,
    maxMembers: number,
  ): Promise<RoomSnapshot> {
    this.assertAvailable();
    let meta: RoomMeta | undefined;
    try {
      meta = parseMeta(await this.link.commands.hgetall(this.keys.roomMeta(roomId)));
    } catch (error) {
      throw this.unavailable(error);
    }
    if (meta === undefined) throw admissionRefused(ErrorCode.RoomNotFound);
    if (meta.expiresAt !== 0 && meta.expiresAt <= nowSeconds()) {
      throw admissionRefused(ErrorCode.RoomExpired);
    }
    // The password never changes, so checking it here, outside the script, is safe; the script
    // still makes sure the room is the one whose check value was verified.
    if (meta.check !== '' && !(await this.passwordMatches(meta, passwordHash))) {
      throw admissionRefused(ErrorCode.WrongPassword);
    }
    this.assertAvailable();
    const owner = this.incarnation;
    await this.index(owner, member.id, roomId);
    let reply: unknown;
    try {
      reply = await runScript(this.link.commands, JOIN_ROOM, this.keys.room(roomId), [
        nowSeconds(),
        maxMembers,
        meta.check,
        member.id,
        this.record(member, owner),
        nameKey(member.name),
        this.ttl(meta),
      ]);
    } catch (error) {
      throw this.unknownOutcome(roomId, member.id, error);
    }
    const [status, ...flat] = Array.isArray(reply) ? reply.map(String) : [];
    if (status !== 'OK') {
      this.unindex(owner, member.id);
      throw refusal(status ?? '');
    }
    this.host(roomId, meta, maxMembers, member, owner);
    return snapshot(roomId, meta, parseMembers(flat));
  }

  async leaveRoom(roomId: string, memberId: string): Promise<void> {
    const room = this.hosted.get(roomId);
    if (room !== undefined) {
      room.members.delete(memberId);
      if (room.members.size === 0) this.hosted.delete(roomId);
    }
    // Also after close() began: the leaves of a drain race the withdrawal of what is left.
    if (!this.link.commandsReady()) {
      this.pendLeave(roomId, [memberId]);
      return;
    }
    let members = this.leaving.get(roomId);
    if (members === undefined) this.leaving.set(roomId, (members = new Set()));
    members.add(memberId);
    this.leavesWritten ??= new Promise((resolve) => {
      setImmediate(() => resolve(this.writeLeaves()));
    });
    return this.leavesWritten;
  }

  /**
   * Writes the leaves of the turn that just ended: one script per room for all its members who
   * left. A mass disconnect (a load balancer restart, a network cut) closes thousands of a
   * replica's connections within seconds; one script per member queued that many commands
   * ahead of the lease renewal, which then came too late and got the replica declared dead.
   */
  private async writeLeaves(): Promise<void> {
    const leaving = this.leaving;
    this.leaving = new Map();
    this.leavesWritten = undefined;
    let failed = 0;
    let first: unknown;
    await Promise.all(
      [...leaving].map(async ([roomId, members]) => {
        const ids = [...members];
        try {
          await this.removeMembers(roomId, ids);
        } catch (error) {
          this.pendLeave(roomId, ids);
          failed += ids.length;
          first ??= error;
        }
      }),
    );
    if (failed > 0) {
      this.logger.warn(
        { err: describe(first), members: failed },
        'leaves not recorded in redis; will retry',
      );
    }
  }

  onEviction(listener: (eviction: Eviction) => void): void {
    this.listener = listener;
  }

  onSeatLost(listener: (loss: SeatLoss) => void): void {
    this.seatListener = listener;
  }

  health(): BackendHealth {
    if (!this.link.commandsReady()) return { ok: false, reason: 'redis unreachable' };
    if (!this.restored) return { ok: false, reason: 'redis presence not yet restored' };
    if (Date.now() - this.lastRenewal > this.leaseTtlMs) {
      return { ok: false, reason: 'redis lease not renewed' };
    }
    return { ok: true };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.forEach(clearInterval);
    try {
      await withTimeout(
        Promise.all([this.maintenance, this.leavesWritten]).then(() => this.withdraw()),
        CLOSE_BUDGET_MS,
      );
    } catch (error) {
      this.logger.warn({ err: describe(error) }, 'could not remove this replica from redis');
    }
    this.hosted.clear();
    await this.link.release();
  }

  // --- maintenance ----------------------------------------------------------------------------

  private every(ms: number, task: () => void): void {
    const timer = setInterval(task, ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** Runs lease and restore work one task at a time, dropping a task already waiting its turn. */
  private serially(name: string, task: () => Promise<void>): Promise<void> {
    if (this.queued.has(name)) return this.maintenance;
    this.queued.add(name);
    this.maintenance = this.maintenance.then(async () => {
      this.queued.delete(name);
      if (this.closed || !this.link.commandsReady()) return;
      try {
        await task();
      } catch (error) {
        this.logger.warn({ err: describe(error), task: name }, 'redis presence upkeep failed');
      }
    });
    return this.maintenance;
  }

  /** After a (re)connection: replay leaves, renew the lease, refill Redis from the mirror. */
  private async restore(): Promise<void> {
    await this.flushPendingLeaves();
    await this.heartbeat();
    this.restored = true;
  }

  private async beat(): Promise<void> {
    if (!this.restored) return this.restore();
    if (this.pendingLeaves.size > 0) await this.flushPendingLeaves();
    await this.heartbeat();
  }

  private async heartbeat(): Promise<void> {
    const started = Date.now();
    const owner = this.incarnation;
    const commands = this.link.commands;
    const status = Number(
      await runScript(
        commands,
        RENEW_LEASE,
        [
          this.keys.replicaLease(owner),
          this.keys.replicaMembers(owner),
          this.keys.replicaReaped(owner),
        ],
        [this.leaseTtlMs, this.roomTtlMs, this.replicaId],
      ),
    );
    if (status === -1) {
      this.generation += 1;
      this.incarnation = `${this.replicaId}.${this.generation}`;
      this.leaseHeld = false;
      this.reassertDue = 'announce';
      this.logger.warn(
        { incarnation: this.incarnation },
        'this replica was declared dead and its members evicted; registering them again',
      );
      return this.heartbeat();
    }
    await runScript(
      commands,
      REGISTER_REPLICA,
      [this.keys.registry()],
      [this.incarnation, this.leaseTtlMs],
    );
    this.lastRenewal = started;
    if (status === 0 && this.leaseHeld) {
      this.logger.warn('redis lost this replica lease; registering its members again');
      this.reassertDue ??= 'silent';
    }
    this.leaseHeld = true;
    const due = this.reassertDue;
    if (due === undefined) return;
    const { added, lost, failure } = await this.reassert();
    // After an eviction everyone was told these members left; after a silent loss nobody was,
    // but those who joined the room since Redis lost it have never heard of them.
    const announced = due === 'announce';
    for (const { roomId, member, unaware } of added) {
      if (announced) this.announce?.(roomId, member);
      else if (unaware.length > 0) this.announce?.(roomId, member, unaware);
    }
    for (const loss of lost) this.notifySeatLost({ ...loss, announced });
    // Rooms that could not be written stay due; the next heartbeat tries again.
    if (failure !== undefined) throw failure;
    this.reassertDue = undefined;
  }

  /**
   * Writes every hosted room and member back through the admission rules. Returns the members
   * Redis did not have and took back (with the members who joined since Redis lost the room, so
   * never heard of them), those refused (dropped from the mirror, so they must be told whatever
   * else failed), and the first failure, if a room could not be written.
   */
  private async reassert(): Promise<{
    added: { roomId: string; member: Member; unaware: string[] }[];
    lost: Omit<SeatLoss, 'announced'>[];
    failure?: unknown;
  }> {
    const owner = this.incarnation;
    const commands = this.link.commands;
    const added: { roomId: string; member: Member; unaware: string[] }[] = [];
    const lost: Omit<SeatLoss, 'announced'>[] = [];
    const departed: [string, string][] = [];
    const index: string[] = [];
    for (const [roomId, room] of this.hosted) {
      for (const memberId of room.members.keys()) index.push(memberId, roomId);
    }
    if (index.length === 0) return { added, lost };
    // Indexed first: if this replica dies between the two steps, a reaper still finds them.
    await commands.hset(this.keys.replicaMembers(owner), ...index);
    await commands.pexpire(this.keys.replicaMembers(owner), this.roomTtlMs);
    const outcomes = await Promise.allSettled(
      [...this.hosted].map(async ([roomId, room]) => {
        if (room.members.size === 0) return;
        const { meta } = room;
        const members: string[] = [];
        for (const member of room.members.values()) {
          members.push(member.id, this.record(member, owner), nameKey(member.name));
        }
        const reply = await runScript(commands, ASSERT_ROOM, this.keys.room(roomId), [
          nowSeconds(),
          room.maxMembers,
          meta.ephemeral,
          meta.expiresAt,
          meta.salt,
          meta.check,
          this.ttl(meta),
          ...members,
        ]);
        const [statuses, fresh] = Array.isArray(reply) ? reply : [];
        const flat = Array.isArray(statuses) ? statuses.map(String) : [];
        const unaware = Array.isArray(fresh) ? fresh.map(String) : [];
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const [id, status] = [flat[i] as string, flat[i + 1] as string];
          const seated = status === 'kept' || status === 'added';
          const hosted = this.hosted.get(roomId);
          const member = hosted?.members.get(id);
          if (hosted === undefined || member === undefined) {
            // It left while the script ran: its leave may have reached Redis first.
            if (seated) departed.push([roomId, id]);
            continue;
          }
          if (status === 'kept') continue;
          if (status === 'added') {
            added.push({ roomId, member, unaware });
            continue;
          }
          hosted.members.delete(id);
          if (hosted.members.size === 0) this.hosted.delete(roomId);
          const reason = status === ErrorCode.RoomExpired ? 'expired' : 'seat-lost';
          lost.push({ roomId, memberId: id, reason });
        }
      }),
    );
    if (added.length > 0 || lost.length > 0) {
      this.logger.warn(
        { registered: added.length, refused: lost.length },
        'registered members missing from redis; those whose seat was taken leave their room',
      );
    }
    // Flushed with the next heartbeat, and retried until Redis has seen them.
    for (const [roomId, id] of departed) this.pendLeave(roomId, [id]);
    let failure = outcomes.find((outcome) => outcome.status === 'rejected')?.reason as unknown;
    try {
      if (lost.length > 0) {
        await commands.hdel(this.keys.replicaMembers(owner), ...lost.map((loss) => loss.memberId));
      }
    } catch (error) {
      failure ??= error;
    }
    return { added, lost, failure };
  }

  private async flushPendingLeaves(): Promise<void> {
    for (const [roomId, members] of [...this.pendingLeaves]) {
      const ids = [...members];
      await this.removeMembers(roomId, ids);
      ids.forEach((id) => members.delete(id));
      if (members.size === 0) this.pendingLeaves.delete(roomId);
    }
  }

  /** Keeps the keys of hosted rooms alive. */
  private async touchRooms(): Promise<void> {
    if (this.touching || this.closed || !this.link.commandsReady()) return;
    this.touching = true;
    try {
      await Promise.all(
        [...this.hosted].map(([roomId, room]) =>
          runScript(this.link.commands, TOUCH_ROOM, this.keys.room(roomId), [this.ttl(room.meta)]),
        ),
      );
    } catch (error) {
      this.logger.warn({ err: describe(error) }, 'could not refresh room keys');
    } finally {
      this.touching = false;
    }
  }

  /** Looks for replicas whose lease expired and cleans up after them. */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.closed || !this.restored || !this.link.commandsReady()) return;
    if (Date.now() < this.sweepAfter) return;
    this.sweeping = true;
    try {
      const expired = await runScript(
        this.link.commands,
        EXPIRED_REPLICAS,
        [this.keys.registry()],
        [REAP_BATCH],
      );
      for (const incarnation of Array.isArray(expired) ? expired.map(String) : []) {
        if (incarnation !== this.incarnation && !this.closed) await this.reap(incarnation);
      }
    } catch (error) {
      this.logger.warn({ err: describe(error) }, 'dead replica sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  private async reap(incarnation: string): Promise<void> {
    const commands = this.link.commands;
    const claim = this.keys.replicaReaped(incarnation);
    if ((await commands.set(claim, this.incarnation, 'PX', REAP_CLAIM_MS, 'NX')) !== 'OK') return;
    if ((await commands.exists(this.keys.replicaLease(incarnation))) === 1) {
      // Renewed since the registry was read: alive after all.
      await commands.del(claim);
      return;
    }
    const rooms = new Map<string, string[]>();
    for (const [memberId, roomId] of Object.entries(
      await commands.hgetall(this.keys.replicaMembers(incarnation)),
    )) {
      rooms.set(roomId, [...(rooms.get(roomId) ?? []), memberId]);
    }
    let evicted = 0;
    for (const [roomId, memberIds] of rooms) {
      const ids = await this.removeFromRoom(roomId, incarnation, memberIds);
      evicted += ids.length;
      if (ids.length > 0) this.notify({ roomId, memberIds: ids });
    }
    await commands.del(this.keys.replicaMembers(incarnation), this.keys.replicaLease(incarnation));
    await commands.pexpire(claim, REAPED_MARKER_MS);
    await commands.zrem(this.keys.registry(), incarnation);
    this.logger.info(
      { replica: incarnation, rooms: rooms.size, members: evicted },
      'removed the members of a dead replica',
    );
  }

  private notify(eviction: Eviction): void {
    try {
      this.listener?.(eviction);
    } catch (error) {
      this.logger.error({ err: describe(error) }, 'eviction listener failed');
    }
  }

  private notifySeatLost(loss: SeatLoss): void {
    try {
      this.seatListener?.(loss);
    } catch (error) {
      this.logger.error({ err: describe(error) }, 'seat loss listener failed');
    }
  }

  /** On close: this replica's members, index, lease and registry entry leave Redis. */
  private async withdraw(): Promise<void> {
    if (!this.link.commandsReady()) return;
    const commands = this.link.commands;
    const owner = this.incarnation;
    await this.flushPendingLeaves();
    await Promise.all(
      [...this.hosted].map(([roomId, room]) =>
        this.removeFromRoom(roomId, owner, [...room.members.keys()]),
      ),
    );
    await commands.del(this.keys.replicaMembers(owner), this.keys.replicaLease(owner));
    await commands.zrem(this.keys.registry(), owner);
  }

  // --- helpers --------------------------------------------------------------------------------

  private assertAvailable(): void {
    if (this.closed || !this.link.commandsReady()) {
      throw new AdmissionError(ErrorCode.Unavailable, 'the cluster backend is unreachable');
    }
  }

  /** Verifies a joiner's password hash; an unreadable stored value is a fault, not a refusal. */
  private async passwordMatches(meta: RoomMeta, passwordHash: string): Promise<boolean> {
    if (meta.salt !== '') return legacyPasswordMatches(meta.salt, meta.check, passwordHash);
    try {
      return await whenNotBusy(() => this.passwords.matches(meta.check, passwordHash));
    } catch (error) {
      if (error instanceof AdmissionError) throw error;
      throw this.unavailable(error);
    }
  }

  private unavailable(error: unknown): AdmissionError {
    this.logger.warn({ err: describe(error) }, 'redis admission failed');
    return new AdmissionError(ErrorCode.Unavailable, 'the cluster backend is unreachable');
  }

  /** The script may have run before the connection failed: undo it once Redis answers. */
  private unknownOutcome(roomId: string, memberId: string, error: unknown): AdmissionError {
    this.pendLeave(roomId, [memberId]);
    return this.unavailable(error);
  }

  private async index(owner: string, memberId: string, roomId: string): Promise<void> {
    try {
      await this.link.commands.hset(this.keys.replicaMembers(owner), memberId, roomId);
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  private unindex(owner: string, memberId: string): void {
    this.link.commands.hdel(this.keys.replicaMembers(owner), memberId).catch((error: unknown) => {
      this.logger.debug({ err: describe(error) }, 'could not unindex a refused member');
    });
  }

  private async removeMembers(roomId: string, memberIds: string[]): Promise<void> {
    await this.removeFromRoom(roomId, '', memberIds);
    await this.link.commands.hdel(this.keys.replicaMembers(this.incarnation), ...memberIds);
  }

  /** Removes members owned by `owner` ("" = any) from a room; resolves with the ids removed. */
  private async removeFromRoom(
    roomId: string,
    owner: string,
    memberIds: readonly string[],
  ): Promise<string[]> {
    const removed = await runScript(this.link.commands, REMOVE_MEMBERS, this.keys.room(roomId), [
      owner,
      EXPIRED_ROOM_MEMORY_MS,
      ...memberIds,
    ]);
    return Array.isArray(removed) ? removed.map(String) : [];
  }

  private pendLeave(roomId: string, memberIds: string[]): void {
    let pending = this.pendingLeaves.get(roomId);
    if (pending === undefined) this.pendingLeaves.set(roomId, (pending = new Set()));
    memberIds.forEach((id) => pending.add(id));
  }

  private host(
    roomId: string,
    meta: RoomMeta,
    maxMembers: number,
    member: Member,
    owner: string,
  ): void {
    // Admitted under an incarnation that was declared dead meanwhile: the cleanup may remove it.
    if (owner !== this.incarnation) this.reassertDue = 'announce';
    let room = this.hosted.get(roomId);
    if (room === undefined) {
      this.hosted.set(roomId, (room = { meta, maxMembers, members: new Map() }));
    }
    room.maxMembers = maxMembers;
    room.members.set(member.id, { id: member.id, name: member.name, color: member.color });
  }

  private record(member: Member, owner: string): string {
    return JSON.stringify({
      name: member.name,
      color: member.color,
      owner,
      key: nameKey(member.name),
    });
  }

  /** Keys of a room with an expiry outlive it by at most one room TTL, refreshed or not. */
  private ttl(meta: RoomMeta): number {
    if (meta.expiresAt === 0) return this.roomTtlMs;
    const afterExpiry = meta.expiresAt * 1000 + this.roomTtlMs - Date.now();
    return Math.max(1_000, Math.min(this.roomTtlMs, afterExpiry));
  }
}

function refusal(status: string): AdmissionError {
  return admissionRefused(isAdmissionCode(status) ? status : ErrorCode.Unavailable);
}

function parseMeta(fields: Record<string, string>): RoomMeta | undefined {
  const { ephemeral, expiresAt, salt, check } = fields;
  if (expiresAt === undefined) return undefined;
  return {
    ephemeral: Number(ephemeral ?? 0),
    expiresAt: Number(expiresAt),
    salt: salt ?? '',
    check: check ?? '',
  };
}

function parseMembers(flat: string[]): Member[] {
  const members: Member[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const id = flat[i] as string;
    let record: unknown;
    try {
      record = JSON.parse(flat[i + 1] as string);
    } catch {
      continue;
    }
    if (typeof record !== 'object' || record === null) continue;
    const { name, color } = record as Record<string, unknown>;
    if (typeof name === 'string' && typeof color === 'string') members.push({ id, name, color });
  }
  return members;
}

function snapshot(roomId: string, meta: RoomMeta, members: Member[]): RoomSnapshot {
  return {
    roomId,
    hasPassword: meta.check !== '',
    ephemeral: meta.ephemeral,
    expiresAt: meta.expiresAt,
    members,
  };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
