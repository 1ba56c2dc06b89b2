import type { Member } from '@hush/protocol';
import { ErrorCode, nameKey } from '@hush/protocol';
import { PasswordChecker, whenNotBusy } from '../../core/room/password-check.js';
import type {
  BackendHealth,
  Eviction,
  PresencePort,
  RoomSettings,
  RoomSnapshot,
  SeatLoss,
} from '../presence.port.js';
import { AdmissionError, admissionRefused, EXPIRED_ROOM_MEMORY_MS } from '../presence.port.js';

interface StoredRoom {
  ephemeral: number;
  expiresAt: number;
  /** Stored password check value; "" = no password. */
  password: string;
  members: Map<string, Member & { replicaId: string }>;
}

/** Room state shared by the replicas of one process: one store per process by default. */
export class MemoryPresenceStore {
  readonly rooms = new Map<string, StoredRoom>();
  /** Ids of expired rooms → when to forget them (unix s), so late joiners hear E007. */
  readonly expired = new Map<string, number>();
}

const EXPIRY_SLACK_SECONDS = 2;
/** Most expired ids remembered at once; the oldest are forgotten first. */
const MAX_EXPIRED_REMEMBERED = 100_000;

/** The embedded default: presence in this process's memory, no external dependency. */
export class MemoryPresence implements PresencePort {
  constructor(
    private readonly replicaId: string,
    private readonly store: MemoryPresenceStore = new MemoryPresenceStore(),
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
    private readonly passwords: PasswordChecker = new PasswordChecker(),
  ) {}

  /** A member as stored: fields written out, since a spread gives each object its own shape. */
  private stored(member: Member): Member & { replicaId: string } {
    return { id: member.id, name: member.name, color: member.color, replicaId: this.replicaId };
  }

  async createRoom(roomId: string, settings: RoomSettings, creator: Member): Promise<RoomSnapshot> {
    const password = await whenNotBusy(() => this.passwords.make(settings.passwordHash));
    if (this.store.rooms.has(roomId)) {
      throw new AdmissionError(ErrorCode.Unavailable, 'room id collision, try again');
    }
    const room: StoredRoom = {
      ephemeral: settings.ephemeral,
      expiresAt: settings.expiresAt,
      password,
      members: new Map([[creator.id, this.stored(creator)]]),
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
    const room = this.openRoom(roomId);
    if (room.password !== '') {
      const stored = room.password;
      if (!(await whenNotBusy(() => this.passwords.matches(stored, passwordHash)))) {
        throw admissionRefused(ErrorCode.WrongPassword);
      }
      // The KDF ran off the event loop: the room may have expired or emptied meanwhile.
      if (this.openRoom(roomId) !== room) throw admissionRefused(ErrorCode.RoomNotFound);
    }
    if (room.members.size >= maxMembers) throw admissionRefused(ErrorCode.RoomFull);
    const key = nameKey(member.name);
    for (const other of room.members.values()) {
      if (nameKey(other.name) === key) throw admissionRefused(ErrorCode.NameTaken);
    }
    room.members.set(member.id, this.stored(member));
    return snapshot(roomId, room);
  }

  /** The room, if it exists and has not expired. */
  private openRoom(roomId: string): StoredRoom {
    const room = this.store.rooms.get(roomId);
    if (room === undefined) {
      const expired = (this.store.expired.get(roomId) ?? 0) > this.nowSeconds();
      throw admissionRefused(expired ? ErrorCode.RoomExpired : ErrorCode.RoomNotFound);
    }
    if (room.expiresAt !== 0 && room.expiresAt <= this.nowSeconds()) {
      throw admissionRefused(ErrorCode.RoomExpired);
    }
    return room;
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
    expired.set(roomId, now + EXPIRED_ROOM_MEMORY_MS / 1000);
  }

  onEviction(_listener: (eviction: Eviction) => void): void {
    // Replicas sharing one process's memory die together: nothing is ever evicted.
  }

  onSeatLost(_listener: (loss: SeatLoss) => void): void {
    // Nothing here outlives a recovery it would have to survive: seats are never lost.
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
    hasPassword: room.password !== '',
    ephemeral: room.ephemeral,
    expiresAt: room.expiresAt,
    members: [...room.members.values()].map(({ id, name, color }) => ({ id, name, color })),
  };
}
