import type { SessionEnd } from '@hush/client';
import type { ErrorCode } from '@hush/protocol';
import { ErrorCode as Codes } from '@hush/protocol';
import { isHushCryptoError } from '@hush/crypto';

/**
 * Process exit codes. Stable: scripts branch on them.
 *
 * - `Ok` (0): left the room normally (`/quit`, Ctrl+C or Ctrl+D on a terminal, end of piped input).
 * - `Failure` (1): an unexpected failure (a bug, or a relay breaking the protocol).
 * - `Usage` (2): bad arguments: a malformed share code or link, a missing `--name` without a
 *   terminal, an invalid option value.
 * - `RoomClosed` (3): the room closed under us because it expired (RoomClosed, or E007 on join).
 * - `Refused` (4): the relay refused to let us in: unknown room (E001), full, wrong password,
 *   nickname taken, locked out; also a room that vanished while we were reconnecting.
 * - `Unreachable` (5): the relay could not be reached, or reconnecting gave up.
 * - `Interrupted` (130) / `Terminated` (143): SIGINT / SIGTERM received as a signal (not the
 *   Ctrl+C key of the interactive client); the room is still left cleanly.
 */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  RoomClosed: 3,
  Refused: 4,
  Unreachable: 5,
  Interrupted: 130,
  Terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** One sentence per protocol error code, for people. The compiler keeps the table complete. */
export const ERROR_TEXT: Readonly<Record<ErrorCode, string>> = {
  [Codes.RoomNotFound]:
    'Room not found: it never existed, or everyone left and it is gone. Check the share code.',
  [Codes.RoomFull]: 'The room is full.',
  [Codes.NotInRoom]: 'The relay says we are not in a room; that message was not delivered.',
  [Codes.RateLimited]: 'Slow down: the relay is rate-limiting us and dropped a message.',
  [Codes.InvalidMessage]:
    'The relay rejected a message as invalid (a client bug or a protocol version mismatch).',
  [Codes.WrongPassword]: 'Wrong room password.',
  [Codes.RoomExpired]: 'The room has expired.',
  [Codes.NameTaken]: 'That nickname is already taken in this room; choose another with --name.',
  [Codes.AlreadyInRoom]: 'This connection is already in a room.',
  [Codes.LockedOut]:
    'Too many failed join attempts from this address; wait a few minutes and try again.',
  [Codes.TransferRejected]: 'The relay rejected a file transfer.',
  [Codes.Unavailable]:
    'The relay cannot serve us right now (restarting, or its cluster backend is down); try again shortly.',
};

/** The human sentence for a protocol error code. */
export function describeError(code: ErrorCode): string {
  return ERROR_TEXT[code];
}

/** A problem with what the user typed on the command line; exits with {@link ExitCode.Usage}. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Explains why a share code or join link could not be read. Messages from `@hush/crypto` name
 * the offending part and never echo the key, so they are safe to print.
 */
export function describeJoinInputError(error: unknown): string {
  if (isHushCryptoError(error, 'invalid_share_code'))
    return `Invalid share code: ${error.message}.`;
  if (isHushCryptoError(error, 'invalid_join_link')) return `Invalid join link: ${error.message}.`;
  if (isHushCryptoError(error, 'invalid_key')) return `Invalid room key: ${error.message}.`;
  return 'The share code or link could not be read.';
}

/** How a chat session ended (the SDK's account, which the CLI maps to exit codes). */
export type { SessionEnd };

/** Context the end message needs beyond the end itself. */
export interface EndContext {
  /** Whether the user supplied a password (flag, environment or prompt). */
  passwordGiven: boolean;
  /** Whether a password prompt was possible (stdin is a terminal). */
  canPrompt: boolean;
}

/** RoomClosed's reason when the relay gave our seat away during a cluster recovery. */
const SEAT_LOST = 'seat-lost';

/** The final words printed on stderr, or undefined for a normal exit. */
export function describeEnd(end: SessionEnd, context: EndContext): string | undefined {
  switch (end.kind) {
    case 'left':
      return undefined;
    case 'room-closed':
      if (end.reason === 'expired') return 'The room has expired and was closed by the relay.';
      if (end.reason === SEAT_LOST) {
        return 'The relay gave our place in the room away while it was cut off from its cluster (someone else took the nickname, or the last seat). Join again, under another name if need be.';
      }
      return `The relay closed the room (${end.reason}).`;
    case 'refused':
      if (end.code === Codes.WrongPassword && !context.passwordGiven) {
        return context.canPrompt
          ? 'This room is password-protected and no password was entered.'
          : 'This room is password-protected: pass --password <password> or set HUSH_PASSWORD.';
      }
      if (end.rejoin && end.code === Codes.RoomNotFound) {
        return 'The room no longer exists: every member was disconnected while we were away, and empty rooms vanish.';
      }
      if (end.rejoin) return `Could not rejoin the room. ${describeError(end.code)}`;
      return describeError(end.code);
    case 'unreachable':
      return end.rejoin
        ? `Lost the connection to the relay and could not reconnect (${end.detail}).`
        : `Could not connect to the relay (${end.detail}).`;
    case 'failed':
      return `Unexpected failure: ${end.detail}`;
    default:
      return assertNever(end);
  }
}

/** The exit code a session end maps to. */
export function exitCodeFor(end: SessionEnd): ExitCode {
  switch (end.kind) {
    case 'left':
      return ExitCode.Ok;
    case 'room-closed':
      return end.reason === SEAT_LOST ? ExitCode.Refused : ExitCode.RoomClosed;
    case 'refused':
      return end.code === Codes.RoomExpired ? ExitCode.RoomClosed : ExitCode.Refused;
    case 'unreachable':
      return ExitCode.Unreachable;
    case 'failed':
      return ExitCode.Failure;
    default:
      return assertNever(end);
  }
}

export function assertNever(value: never): never {
  throw new Error(`unhandled value ${JSON.stringify(value)}`);
}
