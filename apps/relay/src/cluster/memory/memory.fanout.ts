import type { BackendHealth } from '../presence.port.js';
import type { Envelope, EnvelopeListener, FanoutPort } from '../fanout.port.js';

interface Subscription {
  replicaId: string;
  listener: EnvelopeListener;
}

/** The channels of one process: replicas sharing a bus see each other's publishes. */
export class MemoryBus {
  private readonly channels = new Map<string, Set<Subscription>>();

  add(roomId: string, subscription: Subscription): void {
    let set = this.channels.get(roomId);
    if (set === undefined) this.channels.set(roomId, (set = new Set()));
    set.add(subscription);
  }

  remove(roomId: string, replicaId: string, listener: EnvelopeListener): void {
    const set = this.channels.get(roomId);
    if (set === undefined) return;
    for (const s of set) if (s.replicaId === replicaId && s.listener === listener) set.delete(s);
    if (set.size === 0) this.channels.delete(roomId);
  }

  /** Delivers asynchronously, as a network would, to every other replica's listeners. */
  emit(roomId: string, envelope: Envelope): void {
    const targets = [...(this.channels.get(roomId) ?? [])].filter(
      (s) => s.replicaId !== envelope.origin,
    );
    if (targets.length > 0) queueMicrotask(() => targets.forEach((s) => s.listener(envelope)));
  }

  /** Number of rooms with at least one subscriber, for tests. */
  get channelCount(): number {
    return this.channels.size;
  }
}

/** The embedded default: with one replica a publish has nobody to reach. */
export class MemoryFanout implements FanoutPort {
  constructor(
    readonly replicaId: string,
    private readonly bus: MemoryBus = new MemoryBus(),
  ) {}

  async subscribe(roomId: string, listener: EnvelopeListener): Promise<void> {
    this.bus.add(roomId, { replicaId: this.replicaId, listener });
  }

  async unsubscribe(roomId: string, listener: EnvelopeListener): Promise<void> {
    this.bus.remove(roomId, this.replicaId, listener);
  }

  async publish(roomId: string, envelope: Envelope): Promise<void> {
    this.bus.emit(roomId, envelope);
  }

  health(): BackendHealth {
    return { ok: true };
  }

  async close(): Promise<void> {}
}
