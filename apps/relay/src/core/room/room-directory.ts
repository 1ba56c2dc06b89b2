import { encode, ServerType } from '@hush/protocol';
import { nanoid } from 'nanoid';
import type { Actor } from 'xstate';
import { createActor } from 'xstate';
import type { RoomRequest } from '../connection/connection.machine.js';
import type { RelayedMessage, RoomIo } from './room.machine.js';
import { acceptsJoins, roomMachine } from './room.machine.js';
import type { Envelope } from '../../cluster/fanout.port.js';
import type { Eviction, SeatLoss } from '../../cluster/presence.port.js';
import type { AdmissionReply, MemberLink } from './member-link.js';

type RoomActor = Actor<typeof roomMachine>;

/**
 * The rooms that have members on this replica, one actor each. It starts a room actor on the
 * first join, forgets it when the actor winds down, and routes connection requests to it. It
 * holds no room rules of its own.
 */
export class RoomDirectory {
  private readonly rooms = new Map<string, RoomActor>();

  constructor(
    private readonly io: RoomIo,
    private readonly newRoomId: () => string = () => nanoid(),
  ) {
    io.presence.onEviction((eviction) => this.evict(eviction));
    io.presence.onSeatLost((loss) => this.loseSeat(loss));
    io.fanout.onEnvelope((roomId, envelope) =>
      this.rooms.get(roomId)?.send({ type: 'REMOTE', envelope }),
    );
  }

  /** Rooms with at least one local member or admission in flight. */
  get size(): number {
    return this.rooms.size;
  }

  // Connections call in from their own actions, so a room steps inside a connection's step. That
  // is safe without a hop: an actor busy with an event queues whatever is sent to it meanwhile
  // (xstate's mailbox). A room writing to a slow consumer whose connection leaves at once gets
  // that LEAVE after the relay it is in, never while it walks its members; a connection hearing
  // from its room while it relays hears it after its own step.

  join(request: RoomRequest, link: MemberLink, reply: AdmissionReply): void {
    const roomId = request.kind === 'create' ? this.newRoomId() : request.roomId;
    this.room(roomId).send({ type: 'JOIN', request, link, reply });
  }

  relay(roomId: string, memberId: string, message: RelayedMessage): void {
    this.rooms.get(roomId)?.send({ type: 'RELAY', memberId, message });
  }

  leave(roomId: string, memberId: string): void {
    this.rooms.get(roomId)?.send({ type: 'LEAVE', memberId });
  }

  private room(roomId: string): RoomActor {
    const existing = this.rooms.get(roomId);
    if (existing !== undefined && acceptsJoins(existing.getSnapshot())) return existing;
    const actor = createActor(roomMachine, { input: { roomId, io: this.io } });
    const forget = () => {
      if (this.rooms.get(roomId) === actor) this.rooms.delete(roomId);
    };
    actor.subscribe({
      next: (snapshot) => {
        if (!acceptsJoins(snapshot)) forget();
      },
      error: (error) => {
        forget();
        this.io.observer.fault('room actor', error);
      },
    });
    this.rooms.set(roomId, actor);
    actor.start();
    return actor;
  }

  /**
   * Members removed by the cluster (their replica died): everyone else is told they left. The
   * member itself never hears it: if its replica was only paused, it is still connected there and
   * is registered again (or told its seat was lost) when the replica wakes up.
   */
  private evict({ roomId, memberIds }: Eviction): void {
    for (const id of memberIds) {
      const envelope: Envelope = {
        kind: 'broadcast',
        origin: this.io.fanout.replicaId,
        frame: encode({ type: ServerType.MemberLeft, data: { id } }),
        exclude: id,
      };
      this.rooms.get(roomId)?.send({ type: 'REMOTE', envelope });
      this.io.fanout.publish(roomId, envelope).catch((error: unknown) => {
        this.io.observer.fanoutFailed();
        this.io.observer.fault('eviction publish', error);
      });
    }
  }

  private loseSeat({ roomId, ...loss }: SeatLoss): void {
    this.rooms.get(roomId)?.send({ type: 'SEAT_LOST', ...loss });
  }
}
