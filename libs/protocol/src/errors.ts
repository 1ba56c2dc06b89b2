import { ErrorCode } from './error-codes.js';

/** Why a frame was rejected. Stable strings, for logs, metrics and tests. */
export type ProtocolErrorReason =
  /** Not valid MessagePack, a length or count past the end, or trailing bytes after the value. */
  | 'undecodable'
  /** A MessagePack extension type, which clients may not send (refused before decoding). */
  | 'extension_type'
  /** Maps and arrays nested deeper than `MAX_DECODE_DEPTH` (refused before decoding). */
  | 'too_deep'
  /** The frame is larger than allowed. */
  | 'oversized_frame'
  /** The top level is not a `{type, data}` map, or `data` is not a map. */
  | 'bad_envelope'
  /** `type` is not a message id of this direction. */
  | 'unknown_type'
  /** A field is missing, has the wrong type, or is out of range. */
  | 'bad_field'
  /** A field is longer than its limit. */
  | 'oversized_field'
  /** A nickname is empty, too long, or contains control characters. */
  | 'bad_name'
  /** A room id is not a 21-character nanoid. */
  | 'bad_room_id';

/** A typed validation failure. Always answered on the wire as Error E005. */
export interface ProtocolError {
  readonly code: typeof ErrorCode.InvalidMessage;
  readonly reason: ProtocolErrorReason;
  /** Names the field and the rule; never echoes the offending value. */
  readonly message: string;
  /** The message type id, when the envelope was readable. */
  readonly type?: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

export function protocolError(
  reason: ProtocolErrorReason,
  message: string,
  type?: number,
): ProtocolError {
  return type === undefined
    ? { code: ErrorCode.InvalidMessage, reason, message }
    : { code: ErrorCode.InvalidMessage, reason, message, type };
}
