import type { ErrorCode, Feature } from '@hush/protocol';
import type { RoomSettings, RoomSnapshot } from '../../cluster/presence.port.js';

/** How a room reaches one local member's connection. */
export interface MemberLink {
  /** Features the connection negotiated with Hello. */
  readonly features: ReadonlySet<Feature>;
  /** Writes an encoded server frame to the member's socket. */
  deliver(frame: Uint8Array): void;
  /** The room closed under the member (e.g. expiry): the connection returns to its lobby. */
  roomClosed(reason: string): void;
}

/** What a connection asks of a room. */
export type AdmissionRequest =
  | { kind: 'create'; name: string; settings: RoomSettings }
  | { kind: 'join'; name: string; passwordHash: string };

/** A successful admission, as the connection records it. */
export interface Admitted {
  roomId: string;
  memberId: string;
}

/**
 * The connection's side of an admission. `accept` returns false when the connection no longer
 * wants the seat (it closed or gave up waiting), so the room releases it at once.
 */
export interface AdmissionReply {
  accept(admitted: Admitted): boolean;
  reject(code: ErrorCode, message: string): void;
}

export type { RoomSnapshot };
