import type { ErrorCode as ErrorCodeType } from '@hush/protocol';
import { ErrorCode } from '@hush/protocol';

/** Why a room could not be entered, or why it ended. Stable kinds; the UI shows `text`. */
export type ProblemKind =
  | 'room-not-found'
  | 'room-gone'
  | 'room-gone-reload'
  | 'room-expired'
  | 'room-closed'
  | 'seat-lost'
  | 'wrong-password'
  | 'room-full'
  | 'name-taken'
  | 'invalid-name'
  | 'invalid-code'
  | 'locked-out'
  | 'rate-limited'
  | 'unavailable'
  | 'unreachable'
  | 'failed'
  | 'rejected';

/** The form field a problem is about, so the UI can show it there. */
export type ProblemField = 'name' | 'password' | 'code';

export interface Problem {
  kind: ProblemKind;
  /** One sentence for people. */
  text: string;
  field?: ProblemField;
}

const TEXT: Record<ProblemKind, string> = {
  'room-not-found': 'That room does not exist. It may have closed when its last member left.',
  'room-gone':
    'This room no longer exists: everyone was disconnected and an empty room is gone for good. Create a new room to keep talking.',
  'room-gone-reload':
    'The room closed while this page was reloading: you were its last member, and an empty room is gone for good.',
  'room-expired': 'This room has expired and is closed.',
  'room-closed': 'This room was closed.',
  'seat-lost':
    'You lost your place in the room while the relay recovered from a fault (someone took your nickname, or the last seat). Join again to continue.',
  'wrong-password': 'Wrong password. This room needs the password its creator chose.',
  'room-full': 'This room is full.',
  'name-taken': 'Someone in this room already uses that nickname. Pick another one.',
  'invalid-name':
    'Nicknames are 1 to 20 characters, with at least one visible character and no control or invisible characters.',
  'invalid-code': 'That share code or link is not valid.',
  'locked-out': 'Too many failed attempts from your network. Try again in a few minutes.',
  'rate-limited': 'Too many attempts in a short time. Wait a few seconds and try again.',
  unavailable: 'The relay cannot reach the room right now. Try again in a moment.',
  unreachable: 'Cannot reach the relay. Check your connection and try again.',
  failed: 'Something went wrong in this page.',
  rejected: 'The relay refused the request.',
};

const FIELD: Partial<Record<ProblemKind, ProblemField>> = {
  'name-taken': 'name',
  'invalid-name': 'name',
  'wrong-password': 'password',
  'invalid-code': 'code',
};

export function problem(kind: ProblemKind, text: string = TEXT[kind]): Problem {
  const field = FIELD[kind];
  return field === undefined ? { kind, text } : { kind, text, field };
}

/**
 * What a refusal of CreateRoom/JoinRoom means to the user. `rejoining` is true when the client
 * was already in the room and lost its connection: then "not found" means the room died while
 * we were away.
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

function assertNever(value: never): never {
  throw new Error(`unhandled error code ${String(value)}`);
}
