import type { Member } from '@hush/protocol';
import { ErrorCode, nameKey } from '@hush/protocol';
import type { PasswordCheck } from './password-check.js';
import { makePasswordCheck, passwordMatches } from './password-check.js';
import type {
  BackendHealth,
  Eviction,
  PresencePort,
  RoomSettings,
  RoomSnapshot,
} from './presence.port.js';
import { AdmissionError } from './presence.port.js';

interface StoredRoom {
  ephemeral: number;
  expiresAt: number;
  password: PasswordCheck | undefined;
  members: Map<string, Member & { replicaId: string }>;
}

/** Room state shared by the replicas of one process: one store per process by default. */
export class MemoryPresenceStore {
  readonly rooms = new Map<string, StoredRoom>();
  /** Ids of expired rooms → when to forget them (unix s), so late joiners hear E007. */
  readonly expired = new Map<string, number>();
}

/** How long the id of an expired room is remembered, to answer E007 instead of E001. */
export const EXPIRED_ROOM_MEMORY_SECONDS = 3600;
const EXPIRY_SLACK_SECONDS = 2;
/** Most expired ids remembered at once; the oldest are forgotten first. */
const MAX_EXPIRED_REMEMBERED = 100_000;

/** The embedded default: presence in this process's memory, no external dependency. */
export class MemoryPresence implements PresencePort {
  constructor(
    private readonly replicaId: string,
    private readonly store: MemoryPresenceStore = new MemoryPresenceStore(),
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  async createRoom(roomId: string, settings: RoomSettings, creator: Member): Promise<RoomSnapshot> {
    if (this.store.rooms.has(roomId)) {
      throw new AdmissionError(ErrorCode.Unavailable, 'room id collision, try again');
    }
    const room: StoredRoom = {
      ephemeral: settings.ephemeral,
      expiresAt: settings.expiresAt,
      password: makePasswordCheck(settings.passwordHash),
      members: new Map([[creator.id, { ...creator, replicaId: this.replicaId }]]),
    };
    this.store.rooms.set(roomId, room);
    return snapshot(roomId, room);
  }

  async joinRoom(
    roomId: string,
    passwordHash: string,
    member: Member,
    maxMembers: number,
  ): Promise<RoomSnapshot> {
    const room = this.store.rooms.get(roomId);
    if (room === undefined) {
      if ((this.store.expired.get(roomId) ?? 0) > this.nowSeconds()) {
        throw new AdmissionError(ErrorCode.RoomExpired, 'room expired');
      }
      throw new AdmissionError(ErrorCode.RoomNotFound, 'room not found');
    }
    if (room.expiresAt !== 0 && room.expiresAt <= this.nowSeconds()) {
      throw new AdmissionError(ErrorCode.RoomExpired, 'room expired');
    }
    if (room.password !== undefined && !passwordMatches(room.password, passwordHash)) {
      throw new AdmissionError(ErrorCode.WrongPassword, 'wrong password');
    }
    if (room.members.size >= maxMembers) throw new AdmissionError(ErrorCode.RoomFull, 'room full');
    const key = nameKey(member.name);
    for (const other of room.members.values()) {
      if (nameKey(other.name) === key) {
        throw new AdmissionError(ErrorCode.NameTaken, 'name already taken in this room');
      }
    }
    room.members.set(member.id, { ...member, replicaId: this.replicaId });
    return snapshot(roomId, room);
  }

  async leaveRoom(roomId: string, memberId: string): Promise<void> {
    const room = this.store.rooms.get(roomId);
    if (room === undefined) return;
    room.members.delete(memberId);
    if (room.members.size === 0) this.forget(roomId, room);
  }

  /** Deletes an empty room, remembering its id for a while if it expired. */
  private forget(roomId: string, room: StoredRoom): void {
    this.store.rooms.delete(roomId);
    const now = this.nowSeconds();
    // Timers may fire a little early: a room emptied within seconds of its expiry has expired.
    if (room.expiresAt === 0 || room.expiresAt > now + EXPIRY_SLACK_SECONDS) return;
    const { expired } = this.store;
    for (const [id, until] of expired) {
      if (until > now && expired.size < MAX_EXPIRED_REMEMBERED) break;
      expired.delete(id);
    }
    expired.set(roomId, now + EXPIRED_ROOM_MEMORY_SECONDS);
  }

  onEviction(_listener: (eviction: Eviction) => void): void {
    // Replicas sharing one process's memory die together: nothing is ever evicted.
  }

  health(): BackendHealth {
    return { ok: true };
  }

  async close(): Promise<void> {
    for (const [roomId, room] of this.store.rooms) {
      for (const [memberId, member] of room.members) {
        if (member.replicaId === this.replicaId) room.members.delete(memberId);
      }
      if (room.members.size === 0) this.forget(roomId, room);
    }
  }
}

function snapshot(roomId: string, room: StoredRoom): RoomSnapshot {
  return {
    roomId,
    hasPassword: room.password !== undefined,
    ephemeral: room.ephemeral,
    expiresAt: room.expiresAt,
    members: [...room.members.values()].map(({ id, name, color }) => ({ id, name, color })),
  };
}
