import type { RoomKey } from '@hush/crypto';
import { openMessage } from '@hush/crypto';
import type { Member, RelayMessage, RoomJoined } from '@hush/protocol';
import { nameKey } from '@hush/protocol';
import type { SetStoreFunction } from 'solid-js/store';
import { createStore, produce } from 'solid-js/store';
import type { TimerHandle, Timers } from './timers.js';

/**
 * Where a chat line stands. Others' messages: `decrypting` → `received` | `undecryptable`.
 * Own messages: `queued` (kept until the room is reachable) → `sent`, or `unsent` when the room
 * ended before they could go out.
 */
export type MessageStatus =
  'decrypting' | 'received' | 'undecryptable' | 'queued' | 'sent' | 'unsent';

export interface ChatEntry {
  kind: 'message';
  /** Unique within this view. */
  key: string;
  own: boolean;
  /** Server member id of the sender; for own messages the id we had when we sent it. */
  senderId: string | undefined;
  senderName: string;
  /** The sender's `#rrggbb` colour, when known. */
  color: string | undefined;
  /** Unix ms: server time for others' messages, local time for own ones. */
  t: number;
  /** The text, once decrypted (undefined while decrypting or when undecryptable). */
  text: string | undefined;
  /** The payload's client message id, when it had one. */
  id: string | undefined;
  status: MessageStatus;
}

/** A line about the room itself ("Ana joined"). */
export interface SystemEntry {
  kind: 'system';
  key: string;
  t: number;
  text: string;
}

export type Entry = ChatEntry | SystemEntry;

export interface RoomState {
  roomId: string | undefined;
  /** Our own member id in the current connection. */
  selfId: string | undefined;
  members: Member[];
  hasPassword: boolean;
  /** Seconds after which messages leave the view; 0 = they stay. */
  ephemeral: number;
  /** Unix seconds; 0 = never. */
  expiresAt: number;
  entries: Entry[];
  /** Ids of members currently typing (never our own). */
  typing: string[];
}

/** How long a "typing" state lasts without a refresh from its sender. */
export const TYPING_TIMEOUT_MS = 6_000;
/** Lines kept in the view; older ones are dropped (queued messages are never dropped). */
export const MAX_ENTRIES = 500;

const COLOR_PATTERN = /^#[0-9a-fA-F]{6}$/;

/** A fresh store; a factory so a class can keep the pair in its fields. */
function newStore(): [RoomState, SetStoreFunction<RoomState>] {
  const [state, setState] = createStore<RoomState>(initialState());
  return [state, setState];
}

function initialState(): RoomState {
  return {
    roomId: undefined,
    selfId: undefined,
    members: [],
    hasPassword: false,
    ephemeral: 0,
    expiresAt: 0,
    entries: [],
    typing: [],
  };
}

/** Accepts only server colours of the documented form; anything else gets the neutral colour. */
function safeColor(color: string | undefined): string | undefined {
  return color !== undefined && COLOR_PATTERN.test(color) ? color : undefined;
}

/**
 * A room as this client sees it: members, the message view, who is typing. Reactive (a Solid
 * store) but DOM-free; decryption happens here so a message that cannot be opened becomes an
 * "undecryptable" line instead of an exception.
 */
export class RoomStore {
  readonly state: RoomState;
  private readonly setState: SetStoreFunction<RoomState>;
  private counter = 0;
  private readonly typingTimers = new Map<string, TimerHandle>();
  private readonly expiryTimers = new Map<string, TimerHandle>();

  constructor(private readonly timers: Timers) {
    [this.state, this.setState] = newStore();
  }

  /** Forgets everything (leaving the room). */
  reset(): void {
    for (const handle of this.typingTimers.values()) this.timers.clearTimeout(handle);
    for (const handle of this.expiryTimers.values()) this.timers.clearTimeout(handle);
    this.typingTimers.clear();
    this.expiryTimers.clear();
    this.setState(initialState());
  }

  /** RoomJoined, first time or after a reconnect: the member list is replaced, the view kept. */
  joined(data: RoomJoined['data'], ownName: string): void {
    const self =
      data.selfId ?? data.members.find((m) => nameKey(m.name) === nameKey(ownName.trim()))?.id;
    this.clearTyping();
    this.setState({
      roomId: data.roomId,
      selfId: self,
      members: data.members.map((m) => ({ ...m })),
      hasPassword: data.hasPassword,
      ephemeral: data.ephemeral,
      expiresAt: data.expiresAt,
    });
  }

  member(id: string | undefined): Member | undefined {
    return id === undefined ? undefined : this.state.members.find((m) => m.id === id);
  }

  memberJoined(member: Member): void {
    if (this.member(member.id) !== undefined) return;
    this.setState('members', (members) => [...members, { ...member }]);
    this.system(`${member.name} joined`);
  }

  memberLeft(id: string): void {
    const member = this.member(id);
    this.stopTyping(id);
    if (member === undefined) return;
    this.setState('members', (members) => members.filter((m) => m.id !== id));
    this.system(`${member.name} left`);
  }

  memberTyping(id: string, typing: boolean): void {
    if (id === this.state.selfId || this.member(id) === undefined) return;
    if (!typing) {
      this.stopTyping(id);
      return;
    }
    const previous = this.typingTimers.get(id);
    if (previous !== undefined) this.timers.clearTimeout(previous);
    this.typingTimers.set(
      id,
      this.timers.setTimeout(() => this.stopTyping(id), TYPING_TIMEOUT_MS),
    );
    if (!this.state.typing.includes(id)) this.setState('typing', (ids) => [...ids, id]);
  }

  /**
   * A RelayMessage: the line appears at once (in arrival order) and is filled in when decrypted,
   * or marked undecryptable. Never throws.
   */
  async receive(data: RelayMessage['data'], key: RoomKey): Promise<void> {
    const sender = this.member(data.senderId);
    const entryKey = this.nextKey();
    this.stopTyping(data.senderId);
    this.append({
      kind: 'message',
      key: entryKey,
      own: false,
      senderId: data.senderId,
      senderName: data.senderName,
      color: safeColor(sender?.color),
      t: data.t,
      text: undefined,
      id: undefined,
      status: 'decrypting',
    });
    let update: Partial<ChatEntry>;
    try {
      const payload = await openMessage(key, { iv: data.iv, ciphertext: data.ciphertext });
      update = { text: payload.text, id: payload.id, status: 'received' };
    } catch {
      // Wrong key, tampering, or bytes that are not UTF-8: all look the same to the reader.
      update = { status: 'undecryptable' };
    }
    this.update(entryKey, update);
    this.startExpiry(entryKey);
  }

  /** Adds an own message as `queued`; returns its entry key. */
  addOwn(text: string, id: string, ownName: string): string {
    const entryKey = this.nextKey();
    const self = this.member(this.state.selfId);
    this.append({
      kind: 'message',
      key: entryKey,
      own: true,
      senderId: this.state.selfId,
      senderName: self?.name ?? ownName,
      color: safeColor(self?.color),
      t: this.timers.now(),
      text,
      id,
      status: 'queued',
    });
    return entryKey;
  }

  /** Moves an own message along; a `sent` message starts its ephemeral countdown. */
  setStatus(entryKey: string, status: MessageStatus): void {
    this.update(entryKey, status === 'sent' ? { status, t: this.timers.now() } : { status });
    if (status === 'sent') this.startExpiry(entryKey);
  }

  /** Adds a line about the room. */
  system(text: string): void {
    this.append({ kind: 'system', key: this.nextKey(), t: this.timers.now(), text });
  }

  private nextKey(): string {
    this.counter += 1;
    return `e${this.counter}`;
  }

  private append(entry: Entry): void {
    this.setState(
      'entries',
      produce((entries) => {
        entries.push(entry);
        let excess = entries.length - MAX_ENTRIES;
        for (let i = 0; excess > 0 && i < entries.length;) {
          const candidate = entries[i];
          if (candidate?.kind === 'message' && candidate.status === 'queued') {
            i += 1;
            continue;
          }
          if (candidate !== undefined) this.cancelExpiry(candidate.key);
          entries.splice(i, 1);
          excess -= 1;
        }
      }),
    );
  }

  private update(entryKey: string, update: Partial<ChatEntry>): void {
    this.setState(
      'entries',
      (entry) => entry.key === entryKey && entry.kind === 'message',
      (entry) => ({ ...entry, ...update }) as Entry,
    );
  }

  private startExpiry(entryKey: string): void {
    const { ephemeral } = this.state;
    if (ephemeral <= 0 || this.expiryTimers.has(entryKey)) return;
    this.expiryTimers.set(
      entryKey,
      this.timers.setTimeout(() => {
        this.expiryTimers.delete(entryKey);
        this.setState('entries', (entries) => entries.filter((e) => e.key !== entryKey));
      }, ephemeral * 1000),
    );
  }

  private cancelExpiry(entryKey: string): void {
    const handle = this.expiryTimers.get(entryKey);
    if (handle === undefined) return;
    this.timers.clearTimeout(handle);
    this.expiryTimers.delete(entryKey);
  }

  private stopTyping(id: string): void {
    const handle = this.typingTimers.get(id);
    if (handle !== undefined) this.timers.clearTimeout(handle);
    this.typingTimers.delete(id);
    if (this.state.typing.includes(id)) {
      this.setState('typing', (ids) => ids.filter((other) => other !== id));
    }
  }

  /** Nobody is typing as far as we know (after a disconnect, no "stopped" will arrive). */
  clearTyping(): void {
    for (const id of [...this.typingTimers.keys()]) this.stopTyping(id);
    this.setState('typing', []);
  }
}
