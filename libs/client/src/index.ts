export { Backoff, type BackoffOptions } from './backoff.js';
export { systemClock, type Clock, type TimerHandle } from './clock.js';
export type {
  ChatMessage,
  FileDirection,
  FileInfo,
  ReactionTarget,
  ReplyInfo,
  RoomInfo,
  SessionEnd,
  SessionEvent,
  SessionEventType,
  Verification,
} from './events.js';
export { MAX_SAFE_FILE_NAME_BYTES, alternativeFileName, sanitizeFileName } from './file-name.js';
export {
  MAX_CONCURRENT_RECEIVES,
  MAX_QUEUED_FILES,
  type SendFileResult,
} from './file-transfers.js';
export { GapTracker, type Gap, type RosterEntry } from './gap-tracker.js';
export { MAX_DEFERRED_PER_SENDER } from './key-store.js';
export { MESSAGE_LOG_SIZE, OWN_MESSAGE_MATCH_MS } from './message-log.js';
export { DEFAULT_POLICY, isSeatError, isTransientError, type SessionPolicy } from './policy.js';
export {
  CLIENT_CLOSED,
  DEFAULT_ROOM_EXPIRY_SECONDS,
  MAX_INCOMING_FRAME_BYTES,
  MAX_MESSAGE_CODE_POINTS,
  Session,
  type MemberKey,
  type SendResult,
  type SessionOptions,
  type SessionTarget,
  type VerificationReport,
} from './session.js';
export { browserTransport } from './transport/browser.transport.js';
export type {
  Connection,
  Transport,
  TransportClose,
  TransportHandlers,
} from './transport/transport.js';
export {
  wsTransport,
  type WsClass,
  type WsSocket,
  type WsTransportOptions,
} from './transport/ws.transport.js';
