/**
 * Error codes carried by the Error message (0x17). E001–E007 are the Arthas protocol's; codes of
 * our own start at E020. Codes are stable: clients switch on them, never on the text.
 */
export const ErrorCode = {
  /** No room with that id exists (never did, or its last member left). */
  RoomNotFound: 'E001',
  /** The room has reached its member limit. */
  RoomFull: 'E002',
  /** The message needs room membership and the connection is not in a room. */
  NotInRoom: 'E003',
  /** Too many messages of one kind in the current window. */
  RateLimited: 'E004',
  /** The frame could not be decoded or failed validation. */
  InvalidMessage: 'E005',
  /** The room password check failed. */
  WrongPassword: 'E006',
  /** The room has expired. */
  RoomExpired: 'E007',
  /** Another member of the room already uses this nickname (compared case-insensitively). */
  NameTaken: 'E020',
  /** The connection is already in a room; leave it first (one room per connection). */
  AlreadyInRoom: 'E021',
  /** Too many failed joins from this address; try again later. */
  LockedOut: 'E022',
  /** A file transfer is already in progress on this connection, or the transfer id is unknown. */
  TransferRejected: 'E023',
  /**
   * The relay cannot serve the request right now: it is shutting down, its cluster backend is
   * unreachable, or too many password checks are in progress. Retry later.
   */
  Unavailable: 'E024',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const codes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** True when `value` is one of the documented error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && codes.has(value);
}
