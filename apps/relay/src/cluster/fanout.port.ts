import type { BackendHealth } from './presence.port.js';

/**
 * What travels between replicas for one room. The frame is already encoded for clients, so a
 * receiving replica writes the same bytes to each of its local members.
 */
export type Envelope =
  /**
   * Deliver `frame` to every local member except `exclude`; `seq` is the sender's sequence
   * number, for members that negotiated `gaps` (the frame itself is the one everyone else gets).
   * `sequencesFor` names a member that just joined and negotiated `gaps`: a replica whose members
   * have sent anything tells it where their sequences stand.
   */
  | {
      kind: 'broadcast';
      origin: string;
      frame: Uint8Array;
      exclude?: string;
      seq?: number;
      sequencesFor?: string;
    }
  /** Deliver `frame` to the local member sending transfer `transferId`, if there is one. */
  | { kind: 'to-transfer-sender'; origin: string; frame: Uint8Array; transferId: string }
  /** Deliver `frame` to those of `memberIds` that are local members. */
  | { kind: 'to-members'; origin: string; frame: Uint8Array; memberIds: string[] };

/** Takes every envelope this replica receives, with the room it is for. */
export type EnvelopeHandler = (roomId: string, envelope: Envelope) => void;

/**
 * Per-room ciphertext fan-out between replicas. A replica subscribes to a room only while it
 * hosts a member of it; the sender's replica serves its own members directly, so a publish
 * reaches only the other replicas. What arrives goes to one handler for the whole replica, which
 * finds the room by its id.
 */
export interface FanoutPort {
  /** This replica's id, stamped on envelopes as `origin`. */
  readonly replicaId: string;
  /** Sets the replica's one handler of incoming envelopes (a later call replaces it). */
  onEnvelope(handler: EnvelopeHandler): void;
  /**
   * Starts receiving `roomId`'s envelopes. Subscriptions are counted: the room's envelopes arrive
   * until each subscribe has had its unsubscribe, so an actor winding a room down and its
   * successor taking it up may overlap.
   */
  subscribe(roomId: string): Promise<void>;
  unsubscribe(roomId: string): Promise<void>;
  publish(roomId: string, envelope: Envelope): Promise<void>;
  health(): BackendHealth;
  close(): Promise<void>;
}
