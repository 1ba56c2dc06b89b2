import type { ErrorCode as ErrorCodeType } from '@hush/protocol';
import { ErrorCode, PING_INTERVAL_MS, PONG_TIMEOUT_MS } from '@hush/protocol';
import type { BackoffOptions } from './backoff.js';

/**
 * How a session connects, waits and gives up. Every timing of the client protocol is here, so
 * the web client, the CLI and tests behave alike; clients override fields, never the rules.
 */
export interface SessionPolicy {
  /** Reconnect delays: equal jitter, 0.5 s doubling to 10 s. */
  backoff: BackoffOptions;
  /**
   * Attempts at the very first connection (socket failures, E004, E024) before giving up. A
   * relay that never admits us ends the session instead of being retried forever.
   */
  firstConnectAttempts: number;
  /** Once in the room: give up when no rejoin succeeded for this long (`Infinity`: never). */
  giveUpAfterMs: number;
  /** A connection that is not open and admitted within this time is abandoned and retried. */
  connectTimeoutMs: number;
  /**
   * A connection that received nothing (not even a ping) for this long is dead. The relay pings
   * every {@link PING_INTERVAL_MS} and drops a client silent for {@link PONG_TIMEOUT_MS}; a ping
   * interval plus that timeout means the relay has given up on us too.
   */
  silenceLimitMs: number;
  /** Random spread added to a drain notice's `retryAfterMs`, so drained clients do not return at once. */
  drainJitterMs: number;
  /**
   * After a reconnect the relay may still hold our previous seat until its liveness check drops
   * it, which looks like E020 (name taken) or E002 (room full). Rejoins retry those for this long.
   */
  rejoinSeatGraceMs: number;
  /**
   * Slack added to every rate-limit window the client keeps, so messages the network delivers
   * closer together than they were sent still fit the relay's window.
   */
  pacingMarginMs: number;
  /** Password prompts after E006 before giving up. */
  maxPasswordPrompts: number;
  /** While typing, the typing state is repeated this often (Arthas receivers forget it after 2 s). */
  typingRefreshMs: number;
  /** "Stopped typing" goes out after this long without input. */
  typingIdleMs: number;
  /** Someone else's typing state is forgotten after this long without a refresh. */
  typingTimeoutMs: number;
  /** An incoming file that receives nothing for this long has failed. */
  fileReceiveTimeoutMs: number;
  /** Signed messages from a member whose key is unknown wait this long for the key. */
  deferredVerificationMs: number;
}

export const DEFAULT_POLICY: Readonly<SessionPolicy> = Object.freeze({
  backoff: Object.freeze({ baseMs: 500, maxMs: 10_000, factor: 2 }),
  firstConnectAttempts: 3,
  giveUpAfterMs: 120_000,
  connectTimeoutMs: 10_000,
  silenceLimitMs: PING_INTERVAL_MS + PONG_TIMEOUT_MS,
  drainJitterMs: 1_000,
  rejoinSeatGraceMs: PONG_TIMEOUT_MS + 10_000,
  pacingMarginMs: 500,
  maxPasswordPrompts: 3,
  typingRefreshMs: 1_500,
  typingIdleMs: 3_000,
  typingTimeoutMs: 6_000,
  fileReceiveTimeoutMs: 60_000,
  deferredVerificationMs: 60_000,
});

/**
 * The one rule for relay errors that may go away by themselves: E004 (rate limited) and E024
 * (unavailable: draining, or the cluster backend is down). Everything else is an answer: E001
 * (no such room), E002 (full), E006 (wrong password), E007 (expired), E020 (name taken), E022
 * (locked out) and the rest end a create or join.
 */
export function isTransientError(code: ErrorCodeType): boolean {
  return code === ErrorCode.RateLimited || code === ErrorCode.Unavailable;
}

/**
 * Errors a rejoin retries within {@link SessionPolicy.rejoinSeatGraceMs}: our own previous seat,
 * not yet released, still holds the nickname (E020) or the last place (E002).
 */
export function isSeatError(code: ErrorCodeType): boolean {
  return code === ErrorCode.NameTaken || code === ErrorCode.RoomFull;
}
