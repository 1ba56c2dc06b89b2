import type {
  Member,
  SendFileAck,
  SendFileCancel,
  SendFileChunk,
  SendFileComplete,
  SendFileMeta,
  SendMessage,
  SendReaction,
  ServerMessage,
  Typing,
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
import { assertEvent, assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { Envelope, EnvelopeListener, FanoutPort } from '../../cluster/fanout.port.js';
import type { PresencePort, RoomSnapshot, SeatLoss } from '../../cluster/presence.port.js';
import { AdmissionError } from '../../cluster/presence.port.js';
import type { AdmissionReply, AdmissionRequest, MemberLink } from './member-link.js';

/** Client messages a room member relays to the others. */
export type RelayedMessage =
  | SendMessage
  | Typing
  | SendReaction
  | SendFileMeta
  | SendFileChunk
  | SendFileComplete
  | SendFileCancel
  | SendFileAck;

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

export interface RoomContext {
  roomId: string;
  io: RoomIo;
  /** The room's settings, known from the first admission on this replica. */
  settings: { hasPassword: boolean; ephemeral: number; expiresAt: number } | undefined;
  /** Members connected to this replica; members on other replicas are reached by fan-out. */
  members: ReadonlyMap<string, LocalMember>;
  /** Joins that arrived before the fan-out subscription was in place. */
  queued: readonly JoinEvent[];
  /** Admissions in flight at the presence store. */
  admitting: number;
  /**
   * Who joined and left the room, oldest first, while admissions were in flight (emptied when
   * none is). A joiner's snapshot is read at the presence store somewhere in that window, and
   * what happened around that read reached the room before the joiner was a member here: it is
   * replayed to it as it is seated, against its snapshot (see {@link catchUp}).
   */
  churn: readonly Churn[];
  /**
   * Transfers sent by local members: transfer id → sender member ids. Transfer ids are chosen by
   * clients, so two members may use the same one; neither may take the other's transfer over.
   */
  transfers: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Transfers local members completed, oldest first (at most {@link MAX_DELIVERED} per room):
   * receivers acknowledge a file after its SendFileComplete, so acks must still find the sender.
   */
  delivered: readonly { transferId: string; sender: string }[];
  /** Receives this room's envelopes from other replicas. */
  listener: EnvelopeListener;
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

/** One admission fewer in flight; with none left, the churn around them is history. */
function settled(context: RoomContext): Pick<RoomContext, 'admitting' | 'churn'> {
  const admitting = context.admitting - 1;
  return { admitting, churn: admitting === 0 ? [] : context.churn };
}

/** The churn with a leave added, while admissions are in flight to need it. */
function withLeave(context: RoomContext, id: string): readonly Churn[] {
  return context.admitting === 0 ? context.churn : [...context.churn, { left: id }];
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
  publish(
    context,
    {
      kind: 'broadcast',
      origin: context.io.fanout.replicaId,
      frame,
      ...(exclude === undefined ? {} : { exclude }),
      ...(sequencesFor === undefined ? {} : { sequencesFor }),
    },
    exclude,
  );
}

/** Publishes to other replicas; a failure is reported to `notify` (the sender), never thrown. */
function publish(context: RoomContext, envelope: Envelope, notify?: string): void {
  const { io, roomId, members } = context;
  io.fanout.publish(roomId, envelope).catch((error: unknown) => {
    io.observer.fanoutFailed();
    io.observer.fault('fanout publish', error);
    const sender = notify === undefined ? undefined : members.get(notify);
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
    case ClientType.SendMessage:
      return { type: ServerType.RelayMessage, data: { ...from, ...message.data } };
    case ClientType.SendReaction:
      return { type: ServerType.RelayReaction, data: { ...from, ...message.data } };
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

type Transfers = RoomContext['transfers'];

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

/** `delivered` with `sender`'s transfer added (when it completed) or dropped (cancelled). */
function withDelivered(
  delivered: RoomContext['delivered'],
  message: SendFileMeta | SendFileComplete | SendFileCancel,
  sender: string,
): RoomContext['delivered'] {
  const { transferId } = message.data;
  const rest = delivered.filter((d) => d.transferId !== transferId || d.sender !== sender);
  if (message.type !== ClientType.SendFileComplete) return rest;
  return [...rest, { transferId, sender }].slice(-MAX_DELIVERED);
}

/** `transfers` with `sender`'s transfer `transferId` started (`sending`) or ended. */
function withTransfer(transfers: Transfers, transferId: string, sender: string, sending: boolean) {
  const next = new Map(transfers);
  const senders = new Set(next.get(transferId));
  if (sending) senders.add(sender);
  else senders.delete(sender);
  if (senders.size === 0) next.delete(transferId);
  else next.set(transferId, senders);
  return next;
}

function transfersWithout(transfers: Transfers, memberId: string): Transfers {
  let next = transfers;
  for (const [transferId, senders] of transfers) {
    if (senders.has(memberId)) next = withTransfer(next, transferId, memberId, false);
  }
  return next;
}

function changesTransfers(
  message: RelayedMessage,
): message is SendFileMeta | SendFileComplete | SendFileCancel {
  return (
    message.type === ClientType.SendFileMeta ||
    message.type === ClientType.SendFileComplete ||
    message.type === ClientType.SendFileCancel
  );
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
 */
export const roomMachine = setup({
  types: {
    context: {} as RoomContext,
    events: {} as RoomEvent,
    input: {} as RoomInput,
  },
  actors: {
    subscribe: fromPromise<void, { context: RoomContext }>(({ input: { context } }) =>
      context.io.fanout.subscribe(context.roomId, context.listener),
    ),
    unsubscribe: fromPromise<void, { context: RoomContext }>(({ input: { context } }) =>
      context.io.fanout.unsubscribe(context.roomId, context.listener),
    ),
  },
  guards: {
    changesTransfers: ({ event }) => event.type === 'RELAY' && changesTransfers(event.message),
    idle: ({ context }) =>
      context.members.size === 0 && context.admitting === 0 && context.queued.length === 0,
  },
  actions: {
    queue: assign({
      queued: ({ context, event }) => {
        assertEvent(event, 'JOIN');
        return [...context.queued, event];
      },
    }),
    /**
     * Starts the presence-store admissions. Each outcome comes back as an event: ADMITTED once the
     * connection has taken the seat (asked outside any transition, so both sides agree), ABANDONED
     * when the connection went away meanwhile, ADMIT_FAILED when the store refused.
     */
    admit: enqueueActions(({ context, event, enqueue, self }) => {
      const joins = event.type === 'JOIN' ? [event] : context.queued;
      enqueue.assign({ queued: [], admitting: context.admitting + joins.length });
      const { io, roomId } = context;
      for (const join of joins) {
        enqueue(() => {
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
        });
      }
    }),
    seat: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'ADMITTED');
      const { join, member, snapshot } = event;
      const local: LocalMember = { ...member, link: join.link, sent: 0 };
      const settings = context.settings ?? {
        hasPassword: snapshot.hasPassword,
        ephemeral: snapshot.ephemeral,
        expiresAt: snapshot.expiresAt,
      };
      const admitting = context.admitting - 1;
      enqueue.assign({
        admitting,
        settings,
        members: new Map([...context.members, [member.id, local]]),
        churn: admitting === 0 ? [] : [...context.churn, { joined: member }],
      });
      if (context.settings === undefined && settings.expiresAt !== 0) {
        const untilExpiry = settings.expiresAt * 1000 - context.io.now();
        enqueue.raise({ type: 'EXPIRE' }, { id: 'expire', delay: Math.max(0, untilExpiry) });
        const untilWarning = untilExpiry - context.io.expiryWarningSeconds * 1000;
        if (untilWarning > 0) {
          enqueue.raise({ type: 'EXPIRY_WARNING' }, { id: 'warn', delay: untilWarning });
        }
      }
      enqueue(() => {
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
        broadcast(
          context,
          { type: ServerType.MemberJoined, data: member },
          member.id,
          gaps ? member.id : undefined,
        );
      });
    }),
    /** Gives back a seat whose connection went away while the presence store admitted it. */
    release: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'ABANDONED');
      enqueue.assign(settled(context));
      const { io, roomId } = context;
      enqueue(() => void io.presence.leaveRoom(roomId, event.member.id));
    }),
    refuse: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'ADMIT_FAILED');
      enqueue.assign(settled(context));
      enqueue(() => event.join.reply.reject(event.code, event.message));
    }),
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
          publish(context, { kind: 'to-transfer-sender', origin, frame, transferId }, sender.id);
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
          sender.id,
        );
      }
      context.io.observer.relayed(RELAY_KIND[message.type], (performance.now() - started) / 1000);
    },
    /** Records a local member starting (meta) or ending (complete, cancel) a file transfer. */
    trackTransfer: assign(({ context, event }) => {
      assertEvent(event, 'RELAY');
      const { message, memberId } = event;
      if (!context.members.has(memberId) || !changesTransfers(message)) return {};
      const sending = message.type === ClientType.SendFileMeta;
      return {
        transfers: withTransfer(context.transfers, message.data.transferId, memberId, sending),
        delivered: withDelivered(context.delivered, message, memberId),
      };
    }),
    remote: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'REMOTE');
      const { envelope } = event;
      if (context.admitting > 0) {
        const change = churnOf(envelope);
        if (change !== undefined) enqueue.assign({ churn: [...context.churn, change] });
      }
      enqueue(() => deliverRemote(context, envelope));
    }),
    leave: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'LEAVE');
      const member = context.members.get(event.memberId);
      if (member === undefined) return;
      const members = new Map(context.members);
      members.delete(member.id);
      enqueue.assign({
        members,
        transfers: transfersWithout(context.transfers, member.id),
        delivered: context.delivered.filter((d) => d.sender !== member.id),
        churn: withLeave(context, member.id),
      });
      enqueue(() => {
        const rest = { ...context, members };
        for (const [transferId, senders] of context.transfers) {
          if (senders.has(member.id)) {
            broadcast(rest, {
              type: ServerType.RelayFileCancel,
              data: { senderId: member.id, transferId },
            });
          }
        }
        broadcast(rest, { type: ServerType.MemberLeft, data: { id: member.id } });
        void context.io.presence.leaveRoom(context.roomId, member.id);
      });
    }),
    /**
     * The member is told its room is closed and returns to its lobby; the rest of the room hears
     * it left, unless the cluster already told them when its replica was declared dead. The
     * presence store has already dropped it.
     */
    loseSeat: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'SEAT_LOST');
      const member = context.members.get(event.memberId);
      if (member === undefined) return;
      const members = new Map(context.members);
      members.delete(member.id);
      enqueue.assign({
        members,
        transfers: transfersWithout(context.transfers, member.id),
        ...(event.announced ? {} : { churn: withLeave(context, member.id) }),
      });
      enqueue(() => {
        member.link.deliver(
          encode({ type: ServerType.RoomClosed, data: { reason: event.reason } }),
        );
        member.link.roomClosed(event.reason);
        const rest = { ...context, members };
        for (const [transferId, senders] of context.transfers) {
          if (senders.has(member.id)) {
            broadcast(rest, {
              type: ServerType.RelayFileCancel,
              data: { senderId: member.id, transferId },
            });
          }
        }
        if (!event.announced) {
          broadcast(rest, { type: ServerType.MemberLeft, data: { id: member.id } });
        }
      });
    }),
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
    expire: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ members: new Map(), transfers: new Map(), delivered: [] });
      enqueue(() => {
        const frame = encode({ type: ServerType.RoomClosed, data: { reason: 'expired' } });
        for (const member of context.members.values()) {
          member.link.deliver(frame);
          member.link.roomClosed('expired');
          void context.io.presence.leaveRoom(context.roomId, member.id);
        }
      });
    }),
    reportUnsubscribeFailure: ({ context, event }) => {
      context.io.observer.fault('fanout unsubscribe', 'error' in event ? event.error : event);
    },
  },
}).createMachine({
  id: 'room',
  context: ({ input, self }) => ({
    roomId: input.roomId,
    io: input.io,
    settings: undefined,
    members: new Map(),
    queued: [],
    admitting: 0,
    churn: [],
    transfers: new Map(),
    delivered: [],
    listener: (envelope) => self.send({ type: 'REMOTE', envelope }),
  }),
  initial: 'subscribing',
  states: {
    subscribing: {
      invoke: {
        src: 'subscribe',
        input: ({ context }) => ({ context }),
        onDone: 'open',
        onError: 'failed',
      },
      on: { JOIN: { actions: 'queue' } },
    },
    open: {
      entry: 'admit',
      always: { guard: 'idle', target: 'unsubscribing' },
      on: {
        JOIN: { actions: 'admit' },
        ADMITTED: { actions: 'seat' },
        ABANDONED: { actions: 'release' },
        ADMIT_FAILED: { actions: 'refuse' },
        RELAY: [
          { guard: 'changesTransfers', actions: ['relay', 'trackTransfer'] },
          { actions: 'relay' },
        ],
        LEAVE: { actions: 'leave' },
        SEAT_LOST: { actions: 'loseSeat' },
        REMOTE: { actions: 'remote' },
        EXPIRY_WARNING: { actions: 'warnExpiry' },
        EXPIRE: { actions: 'expire' },
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
