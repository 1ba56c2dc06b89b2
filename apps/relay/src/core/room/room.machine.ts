import type {
  Member,
  RelayedMessage,
  SendFileCancel,
  SendFileComplete,
  SendFileMeta,
  ServerMessage,
} from '@hush/protocol';
import {
  ClientType,
  encode,
  ErrorCode,
  Feature,
  NoticeKind,
  ServerType,
  decodeServerMessage,
  withSequence,
} from '@hush/protocol';
import { assertEvent, enqueueActions, fromPromise, setup } from 'xstate';
import type { Envelope, FanoutPort } from '../../cluster/fanout.port.js';
import type { PresencePort, RoomSnapshot, SeatLoss } from '../../cluster/presence.port.js';
import { AdmissionError } from '../../cluster/presence.port.js';
import type { AdmissionReply, AdmissionRequest, MemberLink } from './member-link.js';

export type { RelayedMessage };

/** Kinds of relayed traffic, for metrics. */
export type RelayKind = 'message' | 'typing' | 'reaction' | 'file';

/** What the room reports about itself; implemented by the metrics layer. */
export interface RoomObserver {
  relayed(kind: RelayKind, seconds: number): void;
  /** An Error message the room sent to a member. */
  error(code: ErrorCode): void;
  fanoutFailed(): void;
  /** An effect failed in a way nobody is waiting for (logged, never thrown). */
  fault(what: string, error: unknown): void;
}

/** Everything a room does to the outside world. Tests pass spies. */
export interface RoomIo {
  readonly presence: PresencePort;
  readonly fanout: FanoutPort;
  readonly maxMembers: number;
  readonly expiryWarningSeconds: number;
  readonly observer: RoomObserver;
  /** Unix milliseconds. */
  now(): number;
  newMemberId(): string;
  memberColor(memberId: string): string;
}

export interface LocalMember extends Member {
  link: MemberLink;
  /**
   * Chat messages and reactions this member sent since it joined: the `seq` of the last one
   * (feature `gaps`). Counted here, on its replica, where every one of them passes first.
   */
  sent: number;
}

export interface JoinEvent {
  type: 'JOIN';
  request: AdmissionRequest;
  link: MemberLink;
  reply: AdmissionReply;
}

export type RoomEvent =
  | JoinEvent
  /** The presence store admitted the member and its connection took the seat. */
  | { type: 'ADMITTED'; join: JoinEvent; member: Member; snapshot: RoomSnapshot }
  /** The presence store admitted the member, but its connection no longer wanted the seat. */
  | { type: 'ABANDONED'; member: Member }
  | { type: 'ADMIT_FAILED'; join: JoinEvent; code: ErrorCode; message: string }
  | { type: 'RELAY'; memberId: string; message: RelayedMessage }
  | { type: 'LEAVE'; memberId: string }
  | { type: 'REMOTE'; envelope: Envelope }
  /** A recovery could not give a local member its seat back: it must leave the room. */
  | ({ type: 'SEAT_LOST' } & Omit<SeatLoss, 'roomId'>)
  | { type: 'EXPIRE' }
  | { type: 'EXPIRY_WARNING' };

export interface RoomInput {
  roomId: string;
  io: RoomIo;
}

/** A member who joined, or the id of one who left. */
export type Churn = { joined: Member } | { left: string };

/**
 * The room on this replica. The machine's own actions change it in place, so a join, a leave or a
 * relay copies nothing and a transition that changes no state makes no new snapshot. A snapshot is
 * therefore a view of the live room, not a value: copy what must outlive the next event.
 */
export interface RoomContext {
  readonly roomId: string;
  readonly io: RoomIo;
  /** The room's settings, known from the first admission on this replica. */
  settings: { hasPassword: boolean; ephemeral: number; expiresAt: number } | undefined;
  /** Members connected to this replica; members on other replicas are reached by fan-out. */
  readonly members: Map<string, LocalMember>;
  /** Joins that arrived before the fan-out subscription was in place. */
  readonly queued: JoinEvent[];
  /** Admissions in flight at the presence store. */
  admitting: number;
  /**
   * Who joined and left the room, oldest first, while admissions were in flight (emptied when
   * none is). A joiner's snapshot is read at the presence store somewhere in that window, and
   * what happened around that read reached the room before the joiner was a member here: it is
   * replayed to it as it is seated, against its snapshot (see {@link catchUp}).
   */
  readonly churn: Churn[];
  /**
   * Transfers sent by local members: transfer id → sender member ids. Transfer ids are chosen by
   * clients, so two members may use the same one; neither may take the other's transfer over.
   */
  readonly transfers: Map<string, Set<string>>;
  /**
   * Transfers local members completed, oldest first (at most {@link MAX_DELIVERED} per room):
   * receivers acknowledge a file after its SendFileComplete, so acks must still find the sender.
   */
  readonly delivered: { transferId: string; sender: string }[];
}

const RELAY_KIND = {
  [ClientType.SendMessage]: 'message',
  [ClientType.Typing]: 'typing',
  [ClientType.SendReaction]: 'reaction',
  [ClientType.SendFileMeta]: 'file',
  [ClientType.SendFileChunk]: 'file',
  [ClientType.SendFileComplete]: 'file',
  [ClientType.SendFileCancel]: 'file',
  [ClientType.SendFileAck]: 'file',
} as const satisfies Record<RelayedMessage['type'], RelayKind>;

/**
 * Writes `frame` to every local member but `exclude`. Members that negotiated `gaps` get the
 * sequenced variant instead, when there is one; it is encoded once, for the first who needs it.
 */
function deliverLocal(
  context: RoomContext,
  frame: Uint8Array,
  exclude?: string,
  seq?: number,
): void {
  let sequenced: Uint8Array | undefined;
  for (const member of context.members.values()) {
    if (member.id === exclude) continue;
    if (seq !== undefined && member.link.features.has(Feature.Gaps)) {
      sequenced ??= withSequence(frame, seq);
      member.link.deliver(sequenced);
    } else {
      member.link.deliver(frame);
    }
  }
}

/** Relayed messages that count in their sender's sequence (feature `gaps`). */
function sequenced(message: RelayedMessage): boolean {
  return message.type === ClientType.SendMessage || message.type === ClientType.SendReaction;
}

/**
 * Where this replica's members' sequences stand, zeros included (a baseline for later), as a
 * notice for a member that joined with `gaps`; undefined when the joiner is the only one here.
 */
function sequencesNotice(context: RoomContext, joiner: string): Uint8Array | undefined {
  const sequences: Record<string, number> = {};
  let any = false;
  for (const member of context.members.values()) {
    if (member.id === joiner) continue;
    sequences[member.id] = member.sent;
    any = true;
  }
  if (!any) return undefined;
  return encode({
    type: ServerType.Notice,
    data: { kind: NoticeKind.Sequences, msg: 'where members’ message counts stand', sequences },
  });
}

/**
 * Tells a member just seated with `snapshot` of the joins and leaves it did not see: those of
 * `churn` its snapshot does not already reflect. Applied in order to the snapshot's members, a
 * join of someone absent and a leave of someone present are news; anything else is not, and
 * neither is someone absent who joined and left again.
 */
function catchUp(churn: readonly Churn[], snapshot: RoomSnapshot, member: LocalMember): void {
  if (churn.length === 0) return;
  const present = new Set(snapshot.members.map((m) => m.id));
  for (const [i, change] of churn.entries()) {
    if ('joined' in change) {
      const { id } = change.joined;
      if (id === member.id || present.has(id)) continue;
      // Came and went around the snapshot: either way it is gone now, and no news.
      if (churn.some((later, j) => j > i && 'left' in later && later.left === id)) continue;
      present.add(id);
      member.link.deliver(encode({ type: ServerType.MemberJoined, data: change.joined }));
    } else if (present.delete(change.left)) {
      member.link.deliver(encode({ type: ServerType.MemberLeft, data: { id: change.left } }));
    }
  }
}

/** The membership change a room-wide frame from another replica carries, if any. */
function churnOf(envelope: Envelope): Churn | undefined {
  if (envelope.kind !== 'broadcast') return undefined;
  const decoded = decodeServerMessage(envelope.frame);
  if (!decoded.ok) return undefined;
  const { value } = decoded;
  if (value.type === ServerType.MemberJoined) return { joined: value.data };
  if (value.type === ServerType.MemberLeft) return { left: value.data.id };
  return undefined;
}

/**
 * Records a membership change for the admissions in flight, or, with `settling`, one admission
 * fewer: with none left, the churn around them is history.
 */
function noteChurn(context: RoomContext, change: Churn | undefined, settling = false): void {
  if (settling) context.admitting -= 1;
  if (context.admitting === 0) context.churn.length = 0;
  else if (change !== undefined) context.churn.push(change);
}

/** Delivers what another replica sent this room to the local members it is for. */
function deliverRemote(context: RoomContext, envelope: Envelope): void {
  if (envelope.kind === 'broadcast') {
    deliverLocal(context, envelope.frame, envelope.exclude, envelope.seq);
    if (envelope.sequencesFor !== undefined) {
      // Published after every frame of ours it counts, on the same channel: it arrives last.
      const frame = sequencesNotice(context, envelope.sequencesFor);
      if (frame !== undefined) {
        const origin = context.io.fanout.replicaId;
        publish(context, {
          kind: 'to-members',
          origin,
          frame,
          memberIds: [envelope.sequencesFor],
        });
      }
    }
  } else if (envelope.kind === 'to-members') {
    for (const id of envelope.memberIds) context.members.get(id)?.link.deliver(envelope.frame);
  } else {
    for (const owner of transferSenders(context, envelope.transferId)) {
      owner.link.deliver(envelope.frame);
    }
  }
}

/**
 * Sends `message` to every member of the room except `exclude`, here and on other replicas.
 * With `sequencesFor`, other replicas answer that member with their members' sequences.
 */
function broadcast(
  context: RoomContext,
  message: ServerMessage,
  exclude?: string,
  sequencesFor?: string,
): void {
  const frame = encode(message);
  deliverLocal(context, frame, exclude);
  publish(context, {
    kind: 'broadcast',
    origin: context.io.fanout.replicaId,
    frame,
    ...(exclude === undefined ? {} : { exclude }),
    ...(sequencesFor === undefined ? {} : { sequencesFor }),
  });
}

/** Publishes to other replicas; a failure is reported to `sender`, never thrown. */
function publish(context: RoomContext, envelope: Envelope, sender?: LocalMember): void {
  const { io, roomId } = context;
  io.fanout.publish(roomId, envelope).catch((error: unknown) => {
    io.observer.fanoutFailed();
    io.observer.fault('fanout publish', error);
    if (sender !== undefined) io.observer.error(ErrorCode.Unavailable);
    sender?.link.deliver(
      encode({
        type: ServerType.Error,
        data: {
          code: ErrorCode.Unavailable,
          msg: 'the cluster backend is unreachable; members on other replicas may have missed this',
        },
      }),
    );
  });
}

/** Builds the frame other members receive for a relayed client message. */
function relayedFrame(sender: LocalMember, message: RelayedMessage, t: number): ServerMessage {
  const from = { senderId: sender.id, senderName: sender.name, t };
  switch (message.type) {
    // The two kinds on the hot path are written out: spreading the sender fields and the data
    // into a fresh object costs more than the rest of building the frame.
    case ClientType.SendMessage:
    case ClientType.SendReaction: {
      const { iv, ciphertext } = message.data;
      const data = { senderId: sender.id, senderName: sender.name, t, iv, ciphertext };
      return message.type === ClientType.SendMessage
        ? { type: ServerType.RelayMessage, data }
        : { type: ServerType.RelayReaction, data };
    }
    case ClientType.Typing: {
      const { typing, iv, ciphertext } = message.data;
      return {
        type: ServerType.MemberTyping,
        // An encrypted state hides its value from the relay: members decrypt it. The flag is then
        // false, the Arthas server's reading of a missing `typing`.
        data: {
          id: sender.id,
          typing: typing ?? false,
          ...(iv && ciphertext ? { iv, ciphertext } : {}),
        },
      };
    }
    case ClientType.SendFileMeta:
      return { type: ServerType.RelayFileMeta, data: { ...from, ...message.data } };
    case ClientType.SendFileChunk:
      return { type: ServerType.RelayFileChunk, data: { senderId: sender.id, ...message.data } };
    case ClientType.SendFileComplete:
      return { type: ServerType.RelayFileComplete, data: { senderId: sender.id, ...message.data } };
    case ClientType.SendFileCancel:
      return { type: ServerType.RelayFileCancel, data: { senderId: sender.id, ...message.data } };
    case ClientType.SendFileAck:
      return {
        type: ServerType.RelayFileAck,
        data: { receiverId: sender.id, transferId: message.data.transferId },
      };
    default:
      return assertNever(message);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled relayed message ${JSON.stringify(value)}`);
}

/** Completed transfers remembered per room for their acks. */
export const MAX_DELIVERED = 64;

/** The local members sending, or having sent, transfer `transferId`: who its acks are for. */
function transferSenders(context: RoomContext, transferId: string): LocalMember[] {
  const senders = new Set(context.transfers.get(transferId));
  for (const done of context.delivered)
    if (done.transferId === transferId) senders.add(done.sender);
  return [...senders].flatMap((id) => {
    const member = context.members.get(id);
    return member === undefined ? [] : [member];
  });
}

/** Whether relaying `message` starts or ends its sender's transfer. */
export function changesTransfer(
  message: RelayedMessage,
): message is SendFileMeta | SendFileComplete | SendFileCancel {
  return (
    message.type === ClientType.SendFileMeta ||
    message.type === ClientType.SendFileComplete ||
    message.type === ClientType.SendFileCancel
  );
}

/**
 * Records `sender` starting (meta) or ending (complete, cancel) transfer `transferId`; a
 * completed one is remembered among the delivered, for the acks that follow it.
 */
function trackTransfer(
  context: RoomContext,
  message: SendFileMeta | SendFileComplete | SendFileCancel,
  sender: string,
): void {
  const { transfers, delivered } = context;
  const { transferId } = message.data;
  const senders = transfers.get(transferId);
  if (message.type === ClientType.SendFileMeta) {
    if (senders === undefined) transfers.set(transferId, new Set([sender]));
    else senders.add(sender);
  } else if (senders?.delete(sender) && senders.size === 0) {
    transfers.delete(transferId);
  }
  removeWhere(delivered, (d) => d.transferId === transferId && d.sender === sender);
  if (message.type === ClientType.SendFileComplete) {
    delivered.push({ transferId, sender });
    if (delivered.length > MAX_DELIVERED) delivered.splice(0, delivered.length - MAX_DELIVERED);
  }
}

/** Forgets every transfer of `memberId`; returns the ids of those it was still sending. */
function dropTransfers(context: RoomContext, memberId: string): string[] {
  const sending: string[] = [];
  for (const [transferId, senders] of context.transfers) {
    if (!senders.delete(memberId)) continue;
    sending.push(transferId);
    if (senders.size === 0) context.transfers.delete(transferId);
  }
  removeWhere(context.delivered, (d) => d.sender === memberId);
  return sending;
}

/** Removes the items of `items` that match, in place, keeping the others' order. */
function removeWhere<T>(items: T[], matches: (item: T) => boolean): void {
  let kept = 0;
  for (const item of items) if (!matches(item)) items[kept++] = item;
  items.length = kept;
}

/**
 * Takes `member` out of the room here: its transfers are cancelled for the others and, unless
 * `announced` already (by the cluster, for an evicted member), they hear it left.
 */
function removeMember(context: RoomContext, member: LocalMember, announced: boolean): void {
  context.members.delete(member.id);
  const sending = dropTransfers(context, member.id);
  if (!announced) noteChurn(context, { left: member.id });
  for (const transferId of sending) {
    broadcast(context, {
      type: ServerType.RelayFileCancel,
      data: { senderId: member.id, transferId },
    });
  }
  if (!announced) broadcast(context, { type: ServerType.MemberLeft, data: { id: member.id } });
}

/**
 * True when `event` leaves the room with no member here, no admission in flight and no join
 * waiting: its actor then winds down. Asked before the event's actions run, so it says what they
 * will leave behind.
 */
function emptiedBy(context: RoomContext, event: RoomEvent | { type: string }): boolean {
  const { members, admitting, queued } = context;
  if (queued.length > 0) return false;
  switch (event.type) {
    case 'LEAVE':
    case 'SEAT_LOST': {
      const { memberId } = event as { memberId: string };
      return admitting === 0 && members.size === 1 && members.has(memberId);
    }
    case 'ABANDONED':
    case 'ADMIT_FAILED':
      return admitting === 1 && members.size === 0;
    case 'EXPIRE':
      return admitting === 0;
    default:
      return admitting === 0 && members.size === 0;
  }
}

function admissionCode(error: unknown): { code: ErrorCode; message: string } {
  return error instanceof AdmissionError
    ? { code: error.code, message: error.message }
    : { code: ErrorCode.Unavailable, message: 'the relay cannot admit members right now' };
}

/**
 * One room as seen from one replica: the members connected here, the fan-out subscription that
 * brings the members elsewhere, admission through the cluster-wide presence store, relaying,
 * leaving, and expiry. The actor ends when its last local member is gone.
 *
 * Actions change the context in place (see {@link RoomContext}): relaying, the hot path, is a
 * targetless transition with plain actions, which xstate answers with the same snapshot. No
 * transition is eventless: the events that can empty the room say so with the `empties` guard.
 */
export const roomMachine = setup({
  types: {
    context: {} as RoomContext,
    events: {} as RoomEvent,
    input: {} as RoomInput,
  },
  actors: {
    subscribe: fromPromise<void, { context: RoomContext }>(({ input: { context } }) =>
      context.io.fanout.subscribe(context.roomId),
    ),
    unsubscribe: fromPromise<void, { context: RoomContext }>(({ input: { context } }) =>
      context.io.fanout.unsubscribe(context.roomId),
    ),
  },
  guards: {
    empties: ({ context, event }) => emptiedBy(context, event),
  },
  actions: {
    queue: ({ context, event }) => {
      assertEvent(event, 'JOIN');
      context.queued.push(event);
    },
    /**
     * Starts the presence-store admissions. Each outcome comes back as an event: ADMITTED once the
     * connection has taken the seat (asked outside any transition, so both sides agree), ABANDONED
     * when the connection went away meanwhile, ADMIT_FAILED when the store refused.
     */
    admit: ({ context, event, self }) => {
      const joins = event.type === 'JOIN' ? [event] : context.queued.splice(0);
      context.admitting += joins.length;
      const { io, roomId } = context;
      for (const join of joins) {
        const id = io.newMemberId();
        const member: Member = { id, name: join.request.name, color: io.memberColor(id) };
        const admission =
          join.request.kind === 'create'
            ? io.presence.createRoom(roomId, join.request.settings, member, io.maxMembers)
            : io.presence.joinRoom(roomId, join.request.passwordHash, member, io.maxMembers);
        admission.then(
          (snapshot) =>
            self.send(
              join.reply.accept({ roomId, memberId: member.id })
                ? { type: 'ADMITTED', join, member, snapshot }
                : { type: 'ABANDONED', member },
            ),
          (error: unknown) => self.send({ type: 'ADMIT_FAILED', join, ...admissionCode(error) }),
        );
      }
    },
    /** With the first member seated here, the room's expiry is known: its timers start. */
    scheduleExpiry: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'ADMITTED');
      const { expiresAt } = event.snapshot;
      if (context.settings !== undefined || expiresAt === 0) return;
      const untilExpiry = expiresAt * 1000 - context.io.now();
      enqueue.raise({ type: 'EXPIRE' }, { id: 'expire', delay: Math.max(0, untilExpiry) });
      const untilWarning = untilExpiry - context.io.expiryWarningSeconds * 1000;
      if (untilWarning > 0) {
        enqueue.raise({ type: 'EXPIRY_WARNING' }, { id: 'warn', delay: untilWarning });
      }
    }),
    seat: ({ context, event }) => {
      assertEvent(event, 'ADMITTED');
      const { join, member, snapshot } = event;
      // Fields written out rather than spread: every object built by a spread gets a hidden class
      // of its own on this V8, about 100 bytes per member for nothing.
      const local: LocalMember = {
        id: member.id,
        name: member.name,
        color: member.color,
        link: join.link,
        sent: 0,
      };
      context.settings ??= {
        hasPassword: snapshot.hasPassword,
        ephemeral: snapshot.ephemeral,
        expiresAt: snapshot.expiresAt,
      };
      const { settings } = context;
      if (join.request.kind === 'create') {
        local.link.deliver(
          encode({
            type: ServerType.RoomCreated,
            data: { roomId: context.roomId, expiresAt: settings.expiresAt },
          }),
        );
      }
      local.link.deliver(
        encode({
          type: ServerType.RoomJoined,
          data: {
            roomId: context.roomId,
            members: snapshot.members,
            ...settings,
            ...(local.link.features.has(Feature.SelfId) ? { selfId: member.id } : {}),
          },
        }),
      );
      catchUp(context.churn, snapshot, local);
      const gaps = local.link.features.has(Feature.Gaps);
      if (gaps) {
        const notice = sequencesNotice(context, member.id);
        if (notice !== undefined) local.link.deliver(notice);
      }
      // Before the joiner is a member here, so the others hear of it and it does not.
      broadcast(
        context,
        { type: ServerType.MemberJoined, data: member },
        member.id,
        gaps ? member.id : undefined,
      );
      context.members.set(member.id, local);
      noteChurn(context, { joined: member }, true);
    },
    /** Gives back a seat whose connection went away while the presence store admitted it. */
    release: ({ context, event }) => {
      assertEvent(event, 'ABANDONED');
      noteChurn(context, undefined, true);
      void context.io.presence.leaveRoom(context.roomId, event.member.id);
    },
    refuse: ({ context, event }) => {
      assertEvent(event, 'ADMIT_FAILED');
      noteChurn(context, undefined, true);
      event.join.reply.reject(event.code, event.message);
    },
    rejectQueued: ({ context }) => {
      for (const join of context.queued) {
        join.reply.reject(ErrorCode.Unavailable, 'the relay cannot reach its cluster backend');
      }
    },
    relay: ({ context, event }) => {
      assertEvent(event, 'RELAY');
      const sender = context.members.get(event.memberId);
      if (sender === undefined) return;
      const { message } = event;
      const started = performance.now();
      const frame = encode(relayedFrame(sender, message, context.io.now()));
      const origin = context.io.fanout.replicaId;
      if (message.type === ClientType.SendFileAck) {
        const { transferId } = message.data;
        const owners = transferSenders(context, transferId);
        for (const owner of owners) owner.link.deliver(frame);
        if (owners.length === 0) {
          publish(context, { kind: 'to-transfer-sender', origin, frame, transferId }, sender);
        }
      } else {
        const seq = sequenced(message) ? ++sender.sent : undefined;
        deliverLocal(context, frame, sender.id, seq);
        publish(
          context,
          {
            kind: 'broadcast',
            origin,
            frame,
            exclude: sender.id,
            ...(seq === undefined ? {} : { seq }),
          },
          sender,
        );
      }
      if (changesTransfer(message)) trackTransfer(context, message, sender.id);
      context.io.observer.relayed(RELAY_KIND[message.type], (performance.now() - started) / 1000);
    },
    remote: ({ context, event }) => {
      assertEvent(event, 'REMOTE');
      const { envelope } = event;
      if (context.admitting > 0) {
        const change = churnOf(envelope);
        if (change !== undefined) context.churn.push(change);
      }
      deliverRemote(context, envelope);
    },
    leave: ({ context, event }) => {
      assertEvent(event, 'LEAVE');
      const member = context.members.get(event.memberId);
      if (member === undefined) return;
      removeMember(context, member, false);
      void context.io.presence.leaveRoom(context.roomId, member.id);
    },
    /**
     * The member is told its room is closed and returns to its lobby; the rest of the room hears
     * it left, unless the cluster already told them when its replica was declared dead. The
     * presence store has already dropped it.
     */
    loseSeat: ({ context, event }) => {
      assertEvent(event, 'SEAT_LOST');
      const member = context.members.get(event.memberId);
      if (member === undefined) return;
      member.link.deliver(encode({ type: ServerType.RoomClosed, data: { reason: event.reason } }));
      member.link.roomClosed(event.reason);
      removeMember(context, member, event.announced);
    },
    warnExpiry: ({ context }) => {
      const expiresAt = context.settings?.expiresAt ?? 0;
      const seconds = Math.max(0, Math.round(expiresAt - context.io.now() / 1000));
      const frame = encode({
        type: ServerType.Notice,
        data: { kind: NoticeKind.Expiring, msg: `room expires in ${seconds} s`, expiresAt },
      });
      for (const member of context.members.values()) {
        if (member.link.features.has(Feature.Notices)) member.link.deliver(frame);
      }
    },
    expire: ({ context }) => {
      const members = [...context.members.values()];
      context.members.clear();
      context.transfers.clear();
      context.delivered.length = 0;
      const frame = encode({ type: ServerType.RoomClosed, data: { reason: 'expired' } });
      for (const member of members) {
        member.link.deliver(frame);
        member.link.roomClosed('expired');
        void context.io.presence.leaveRoom(context.roomId, member.id);
      }
    },
    reportUnsubscribeFailure: ({ context, event }) => {
      context.io.observer.fault('fanout unsubscribe', 'error' in event ? event.error : event);
    },
  },
}).createMachine({
  id: 'room',
  context: ({ input }) => ({
    roomId: input.roomId,
    io: input.io,
    settings: undefined,
    members: new Map(),
    queued: [],
    admitting: 0,
    churn: [],
    transfers: new Map(),
    delivered: [],
  }),
  initial: 'subscribing',
  states: {
    subscribing: {
      invoke: {
        src: 'subscribe',
        input: ({ context }) => ({ context }),
        onDone: [{ guard: 'empties', target: 'unsubscribing' }, { target: 'open' }],
        onError: 'failed',
      },
      on: { JOIN: { actions: 'queue' } },
    },
    open: {
      entry: 'admit',
      on: {
        JOIN: { actions: 'admit' },
        ADMITTED: { actions: ['scheduleExpiry', 'seat'] },
        ABANDONED: [
          { guard: 'empties', target: 'unsubscribing', actions: 'release' },
          { actions: 'release' },
        ],
        ADMIT_FAILED: [
          { guard: 'empties', target: 'unsubscribing', actions: 'refuse' },
          { actions: 'refuse' },
        ],
        RELAY: { actions: 'relay' },
        LEAVE: [
          { guard: 'empties', target: 'unsubscribing', actions: 'leave' },
          { actions: 'leave' },
        ],
        SEAT_LOST: [
          { guard: 'empties', target: 'unsubscribing', actions: 'loseSeat' },
          { actions: 'loseSeat' },
        ],
        REMOTE: { actions: 'remote' },
        EXPIRY_WARNING: { actions: 'warnExpiry' },
        EXPIRE: [
          { guard: 'empties', target: 'unsubscribing', actions: 'expire' },
          { actions: 'expire' },
        ],
      },
    },
    unsubscribing: {
      invoke: {
        src: 'unsubscribe',
        input: ({ context }) => ({ context }),
        onDone: 'closed',
        onError: { target: 'closed', actions: 'reportUnsubscribeFailure' },
      },
    },
    failed: { type: 'final', entry: 'rejectQueued' },
    closed: { type: 'final' },
  },
});

/** True while the room actor takes new joins; otherwise a fresh actor must be started. */
export function acceptsJoins(state: { value: unknown }): boolean {
  return state.value === 'subscribing' || state.value === 'open';
}
