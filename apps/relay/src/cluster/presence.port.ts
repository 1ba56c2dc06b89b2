import type { Member } from '@hush/protocol';
import { ErrorCode } from '@hush/protocol';

/** Room settings fixed at creation. */

/**
 * How long every presence adapter remembers the id of an expired room, to answer E007 (expired)
 * instead of E001 (no such room) to late joiners.
 */
export const EXPIRED_ROOM_MEMORY_MS = 3_600_000;

export interface RoomSettings {
  /** Seconds after which clients hide messages; 0 = not ephemeral. */
  ephemeral: number;
  /** Unix seconds; 0 = never. */
  expiresAt: number;
  /** "" or the client's SHA-256 hex of the password. Stored only as a scrypt check value. */
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

const REFUSALS: Readonly<Record<AdmissionCode, string>> = {
  [ErrorCode.RoomNotFound]: 'room not found',
  [ErrorCode.RoomFull]: 'room full',
  [ErrorCode.WrongPassword]: 'wrong password',
  [ErrorCode.RoomExpired]: 'room expired',
  [ErrorCode.NameTaken]: 'name already taken in this room',
  [ErrorCode.Unavailable]: 'the relay cannot admit members right now',
};

/** True when `value` is a code an admission may be refused with. */
export function isAdmissionCode(value: unknown): value is AdmissionCode {
  return typeof value === 'string' && Object.hasOwn(REFUSALS, value);
}

/** The refusal for `code`, with its usual message. */
export function admissionRefused(code: AdmissionCode): AdmissionError {
  return new AdmissionError(code, REFUSALS[code]);
}

/** Members removed by the cluster itself, e.g. because their replica died. */
export interface Eviction {
  roomId: string;
  memberIds: string[];
}

/** The RoomClosed `reason` a member gets when its seat is lost in a recovery. */
export type SeatLossReason = 'seat-lost' | 'expired';

/**
 * A local member that could not be registered again after a recovery (lease loss, replica
 * pause, Redis restart or FLUSHALL): while its registration was gone, someone else took its
 * nickname or the room filled up (`seat-lost`), or the room expired (`expired`). It must leave
 * the room; the admission rules decided against it because it came back later.
 */
export interface SeatLoss {
  roomId: string;
  memberId: string;
  reason: SeatLossReason;
  /**
   * True when the rest of the cluster was already told the member left (its replica was declared
   * dead and a survivor evicted it); false when the registration vanished silently (Redis lost
   * it), so nobody else has heard of the departure yet.
   */
  announced: boolean;
}

export type BackendHealth = { ok: true } | { ok: false; reason: string };

/**
 * Room metadata and membership, cluster-wide. Admission rules that must hold across replicas
 * (unique room ids, capacity, unique nicknames, password, expiry) are enforced here atomically.
 */
export interface PresencePort {
  /**
   * Creates a room with its first member. Rejects with AdmissionError (E024) on an id collision.
   * `maxMembers` is the capacity later admissions and recoveries enforce.
   */
  createRoom(
    roomId: string,
    settings: RoomSettings,
    creator: Member,
    maxMembers: number,
  ): Promise<RoomSnapshot>;
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
  /** Registers the listener for local members whose seat a recovery could not give back. */
  onSeatLost(listener: (loss: SeatLoss) => void): void;
  health(): BackendHealth;
  /** Removes everything this replica holds and releases connections. */
  close(): Promise<void>;
}
