import type { ChatMessage } from './events.js';

/** How many messages a session remembers for replies and reactions; older ones are forgotten. */
export const MESSAGE_LOG_SIZE = 1_000;

/**
 * How far a reaction's or reply's time may be from our estimate of when the relay stamped one of
 * our own messages. We never learn that stamp (the relay does not echo our messages), so our own
 * messages are found by time: our send time moved by the measured clock offset to the relay.
 */
export const OWN_MESSAGE_MATCH_MS = 3_000;

/** What the log keeps of a message. */
export interface LoggedMessage {
  ref: number;
  stableId: string;
  id: string | undefined;
  own: boolean;
  senderId: string;
  senderName: string;
  text: string;
  /** Relay time (received) or our estimate of it (own). */
  t: number;
}

/**
 * The messages of this session, by number, by Arthas `stableId` and by client message id, so
 * replies and reactions can find what they refer to.
 */
export class MessageLog {
  private nextRef = 1;
  private readonly byRef = new Map<number, LoggedMessage>();
  private readonly byStableId = new Map<string, LoggedMessage>();
  private readonly byId = new Map<string, LoggedMessage>();
  /** Every member id we had in this session: our own messages are `<one of them>:t`. */
  private readonly selfIds = new Set<string>();
  /** Relay clock minus ours, ms, as well as we can tell (see {@link observeRelayTime}). */
  private offset: number | undefined;

  /** A fresh message number. */
  allocate(): number {
    return this.nextRef++;
  }

  addSelfId(id: string): void {
    this.selfIds.add(id);
  }

  /**
   * Records a relay timestamp seen at local time `now`. The relay stamped it before we saw it, so
   * `t - now` underestimates the offset by the delivery time; the largest value seen is the best.
   */
  observeRelayTime(t: number, now: number): void {
    const sample = t - now;
    if (this.offset === undefined || sample > this.offset) this.offset = sample;
  }

  /** Our estimate of the relay's clock at local time `now`. */
  relayTime(now: number): number {
    return now + (this.offset ?? 0);
  }

  add(message: LoggedMessage): void {
    this.byRef.set(message.ref, message);
    this.byStableId.set(message.stableId, message);
    if (message.id !== undefined) this.byId.set(message.id, message);
    for (const ref of this.byRef.keys()) {
      if (this.byRef.size <= MESSAGE_LOG_SIZE) break;
      this.forget(ref);
    }
  }

  get(ref: number): LoggedMessage | undefined {
    return this.byRef.get(ref);
  }

  /** The message with this Arthas `stableId` and/or client `id`, if we have it. */
  find(stableId: string, id?: string): LoggedMessage | undefined {
    const byId = id === undefined ? undefined : this.byId.get(id);
    if (byId !== undefined) return byId;
    const exact = this.byStableId.get(stableId);
    if (exact !== undefined) return exact;
    return this.findOwn(stableId);
  }

  /** Forgets everything (the room ended). */
  clear(): void {
    this.byRef.clear();
    this.byStableId.clear();
    this.byId.clear();
  }

  private findOwn(stableId: string): LoggedMessage | undefined {
    const split = stableId.lastIndexOf(':');
    const t = Number(stableId.slice(split + 1));
    if (split <= 0 || !Number.isFinite(t) || !this.selfIds.has(stableId.slice(0, split))) {
      return undefined;
    }
    let best: LoggedMessage | undefined;
    for (const message of this.byRef.values()) {
      if (!message.own) continue;
      const distance = Math.abs(message.t - t);
      if (
        distance <= OWN_MESSAGE_MATCH_MS &&
        (best === undefined || distance < Math.abs(best.t - t))
      ) {
        best = message;
      }
    }
    return best;
  }

  private forget(ref: number): void {
    const message = this.byRef.get(ref);
    if (message === undefined) return;
    this.byRef.delete(ref);
    if (this.byStableId.get(message.stableId) === message) this.byStableId.delete(message.stableId);
    if (message.id !== undefined && this.byId.get(message.id) === message)
      this.byId.delete(message.id);
  }
}

/** `senderId:t`, the Arthas name of a message. */
export function stableIdOf(senderId: string, t: number): string {
  return `${senderId}:${t}`;
}

/** What the log keeps of a chat message. */
export function logged(message: ChatMessage): LoggedMessage {
  return {
    ref: message.ref,
    stableId: message.stableId,
    id: message.id,
    own: message.own,
    senderId: message.from.id,
    senderName: message.from.name,
    text: message.text,
    t: message.t,
  };
}
