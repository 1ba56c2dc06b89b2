import type { ErrorCode as ErrorCodeType } from '@hush/protocol';
import { ErrorCode } from '@hush/protocol';

/** Why a room could not be entered, or why it ended. Stable kinds; the UI shows `text`. */
export type ProblemKind =
  | 'room-not-found'
  | 'room-gone'
  | 'room-expired'
  | 'room-closed'
  | 'wrong-password'
  | 'room-full'
  | 'name-taken'
  | 'invalid-name'
  | 'invalid-code'
  | 'locked-out'
  | 'rate-limited'
  | 'unavailable'
  | 'rejected';

export interface Problem {
  kind: ProblemKind;
  /** One sentence for people. */
  text: string;
}

const TEXT: Record<ProblemKind, string> = {
  'room-not-found': 'That room does not exist. It may have closed when its last member left.',
  'room-gone':
    'This room no longer exists: everyone was disconnected and an empty room is gone for good. Create a new room to keep talking.',
  'room-expired': 'This room has expired and is closed.',
  'room-closed': 'This room was closed.',
  'wrong-password': 'Wrong password. This room needs the password its creator chose.',
  'room-full': 'This room is full.',
  'name-taken': 'Someone in this room already uses that nickname. Pick another one.',
  'invalid-name':
    'Nicknames are 1 to 20 characters, with at least one visible character and no control or invisible characters.',
  'invalid-code': 'That share code or link is not valid.',
  'locked-out': 'Too many failed attempts from your network. Try again in a few minutes.',
  'rate-limited': 'Too many attempts in a short time. Wait a few seconds and try again.',
  unavailable: 'The relay cannot reach the room right now. Try again in a moment.',
  rejected: 'The relay refused the request.',
};

export function problem(kind: ProblemKind, text: string = TEXT[kind]): Problem {
  return { kind, text };
}

/**
 * What an Error answering CreateRoom/JoinRoom means to the user. `rejoining` is true when the
 * client was already in the room and lost its connection: then "not found" means the room died
 * while we were away.
 */
export function joinProblem(code: ErrorCodeType, rejoining: boolean): Problem {
  switch (code) {
    case ErrorCode.RoomNotFound:
      return problem(rejoining ? 'room-gone' : 'room-not-found');
    case ErrorCode.RoomFull:
      return problem('room-full');
    case ErrorCode.RateLimited:
      return problem('rate-limited');
    case ErrorCode.WrongPassword:
      return problem('wrong-password');
    case ErrorCode.RoomExpired:
      return problem('room-expired');
    case ErrorCode.NameTaken:
      return problem('name-taken');
    case ErrorCode.LockedOut:
      return problem('locked-out');
    case ErrorCode.Unavailable:
      return problem('unavailable');
    case ErrorCode.InvalidMessage:
    case ErrorCode.NotInRoom:
    case ErrorCode.AlreadyInRoom:
    case ErrorCode.TransferRejected:
      return problem('rejected');
    default:
      return assertNever(code);
  }
}

/**
 * Join answers worth retrying by themselves. When rejoining, the relay may still hold our old
 * seat (a replica that died keeps its members for a few seconds), which looks like "name taken"
 * or "room full" until it is evicted.
 */
export function isTransientJoinError(code: ErrorCodeType, rejoining: boolean): boolean {
  switch (code) {
    case ErrorCode.Unavailable:
    case ErrorCode.RateLimited:
      return true;
    case ErrorCode.NameTaken:
    case ErrorCode.RoomFull:
      return rejoining;
    default:
      return false;
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled error code ${String(value)}`);
}
