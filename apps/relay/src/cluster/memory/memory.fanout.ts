import type { BackendHealth } from '../presence.port.js';
import type { Envelope, EnvelopeHandler, FanoutPort } from '../fanout.port.js';

/** One replica as the bus sees it. */
interface BusNode {
  readonly replicaId: string;
  receive(roomId: string, envelope: Envelope): void;
}

/** The channels of one process: replicas sharing a bus see each other's publishes. */
export class MemoryBus {
  /** Room id → the replicas subscribed to it → how many subscriptions each holds. */
  private readonly channels = new Map<string, Map<BusNode, number>>();

  add(roomId: string, node: BusNode): void {
    let nodes = this.channels.get(roomId);
    if (nodes === undefined) this.channels.set(roomId, (nodes = new Map()));
    nodes.set(node, (nodes.get(node) ?? 0) + 1);
  }

  remove(roomId: string, node: BusNode): void {
    const nodes = this.channels.get(roomId);
    const count = nodes?.get(node);
    if (nodes === undefined || count === undefined) return;
    if (count > 1) nodes.set(node, count - 1);
    else nodes.delete(node);
    if (nodes.size === 0) this.channels.delete(roomId);
  }

  /** Delivers asynchronously, as a network would, to every other replica subscribed. */
  emit(roomId: string, envelope: Envelope): void {
    let targets: BusNode[] | undefined;
    for (const node of this.channels.get(roomId)?.keys() ?? []) {
      if (node.replicaId !== envelope.origin) (targets ??= []).push(node);
    }
    if (targets === undefined) return;
    const reached = targets;
    queueMicrotask(() => {
      for (const node of reached) node.receive(roomId, envelope);
    });
  }

  /** Number of rooms with at least one subscriber, for tests. */
  get channelCount(): number {
    return this.channels.size;
  }
}

/** The embedded default: with one replica a publish has nobody to reach. */
export class MemoryFanout implements FanoutPort {
  private handler: EnvelopeHandler = () => undefined;
  private readonly node: BusNode;

  constructor(
    readonly replicaId: string,
    private readonly bus: MemoryBus = new MemoryBus(),
  ) {
    this.node = { replicaId, receive: (roomId, envelope) => this.handler(roomId, envelope) };
  }

  onEnvelope(handler: EnvelopeHandler): void {
    this.handler = handler;
  }

  async subscribe(roomId: string): Promise<void> {
    this.bus.add(roomId, this.node);
  }

  async unsubscribe(roomId: string): Promise<void> {
    this.bus.remove(roomId, this.node);
  }

  async publish(roomId: string, envelope: Envelope): Promise<void> {
    this.bus.emit(roomId, envelope);
  }

  health(): BackendHealth {
    return { ok: true };
  }

  async close(): Promise<void> {}
}
