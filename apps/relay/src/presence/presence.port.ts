import type { ErrorCode, Member } from '@hush/protocol';

/** Room settings fixed at creation. */
export interface RoomSettings {
  /** Seconds after which clients hide messages; 0 = not ephemeral. */
  ephemeral: number;
  /** Unix seconds; 0 = never. */
  expiresAt: number;
  /** "" or the client's SHA-256 hex of the password. Stored only as a salted check value. */
  passwordHash: string;
}

/** What a successful admission returns: the room as the joiner will see it. */
export interface RoomSnapshot {
  roomId: string;
  hasPassword: boolean;
  ephemeral: number;
  expiresAt: number;
  /** Everyone in the room, the new member included. */
  members: Member[];
}

/** Admission failures a client is told about. */
export type AdmissionCode =
  | typeof ErrorCode.RoomNotFound
  | typeof ErrorCode.RoomFull
  | typeof ErrorCode.WrongPassword
  | typeof ErrorCode.RoomExpired
  | typeof ErrorCode.NameTaken
  | typeof ErrorCode.Unavailable;

/** An expected refusal, not a fault: the caller answers the client with `code`. */
export class AdmissionError extends Error {
  constructor(
    readonly code: AdmissionCode,
    message: string,
  ) {
    super(message);
    this.name = 'AdmissionError';
  }
}

/** Members removed by the cluster itself, e.g. because their replica died. */
export interface Eviction {
  roomId: string;
  memberIds: string[];
}

export type BackendHealth = { ok: true } | { ok: false; reason: string };

/**
 * Room metadata and membership, cluster-wide. Admission rules that must hold across replicas
 * (unique room ids, capacity, unique nicknames, password, expiry) are enforced here atomically.
 */
export interface PresencePort {
  /** Creates a room with its first member. Rejects with AdmissionError (E024) on an id collision. */
  createRoom(roomId: string, settings: RoomSettings, creator: Member): Promise<RoomSnapshot>;
  /** Adds a member to an existing room, or rejects with an AdmissionError. */
  joinRoom(
    roomId: string,
    passwordHash: string,
    member: Member,
    maxMembers: number,
  ): Promise<RoomSnapshot>;
  /**
   * Removes a member; the room disappears with its last member. Never rejects: an adapter that
   * cannot reach its backend reconciles later.
   */
  leaveRoom(roomId: string, memberId: string): Promise<void>;
  /** Registers the listener for members the cluster removed on its own. */
  onEviction(listener: (eviction: Eviction) => void): void;
  health(): BackendHealth;
  /** Removes everything this replica holds and releases connections. */
  close(): Promise<void>;
}
