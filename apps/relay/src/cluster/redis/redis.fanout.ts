import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Cluster } from 'ioredis';
import { Packr, Unpackr } from 'msgpackr';
import type { RedisClient, RedisConnections } from './redis.backends.js';
import type { RedisKeys } from './redis-keys.js';
import type { Logger } from '../../logging/logger.js';
import type { BackendHealth } from '../presence.port.js';
import type { Envelope, EnvelopeHandler, FanoutPort } from '../fanout.port.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** Envelopes travel as plain msgpack maps with the frame as a bin: no base64, no copies. */
export function encodeEnvelope(envelope: Envelope): Buffer {
  return packr.pack(envelope);
}

/** Decodes an envelope from the wire; undefined for anything that is not one. */
export function decodeEnvelope(bytes: Uint8Array): Envelope | undefined {
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { kind, origin, frame, exclude, transferId, memberIds, seq, sequencesFor } =
    value as Record<string, unknown>;
  if (typeof origin !== 'string' || !(frame instanceof Uint8Array)) return undefined;
  if (
    kind === 'broadcast' &&
    (exclude === undefined || typeof exclude === 'string') &&
    (seq === undefined || (typeof seq === 'number' && Number.isSafeInteger(seq))) &&
    (sequencesFor === undefined || typeof sequencesFor === 'string')
  ) {
    return {
      kind,
      origin,
      frame,
      ...(exclude === undefined ? {} : { exclude }),
      ...(seq === undefined ? {} : { seq }),
      ...(sequencesFor === undefined ? {} : { sequencesFor }),
    };
  }
  if (kind === 'to-transfer-sender' && typeof transferId === 'string') {
    return { kind, origin, frame, transferId };
  }
  if (
    kind === 'to-members' &&
    Array.isArray(memberIds) &&
    memberIds.every((id) => typeof id === 'string')
  ) {
    return { kind, origin, frame, memberIds: memberIds as string[] };
  }
  return undefined;
}

/** Longest wait for a self-check message to come back. */
const PROBE_TIMEOUT_MS = 2_000;
const SUBSCRIBE_TIMEOUT_MS = 3_000;
/** One lost probe may be bad luck (e.g. right after a reconnection); two in a row are not. */
const PROBE_FAILURES_BEFORE_RESET = 2;

interface Channel {
  readonly name: string;
  /** The room whose envelopes travel on it. */
  readonly roomId: string;
  /** Subscriptions the replica holds on it (see {@link FanoutPort.subscribe}). */
  holders: number;
  /** True once SUBSCRIBE was sent and until UNSUBSCRIBE succeeded. */
  subscribed: boolean;
  /** Tail of this channel's subscribe/unsubscribe operations, which run one at a time. */
  queue: Promise<void>;
}

export interface RedisFanoutOptions {
  replicaId: string;
  link: RedisConnections;
  keys: RedisKeys;
  /** SSUBSCRIBE/SPUBLISH (Redis Cluster sharded pub/sub) instead of SUBSCRIBE/PUBLISH. */
  sharded: boolean;
  selfCheckMs: number;
  logger: Logger;
}

/**
 * Fan-out over Redis pub/sub, one channel per room. A channel is subscribed while the replica
 * holds at least one subscription to its room; subscribe and unsubscribe run one at a time per
 * channel and each converges on what the holders want at that moment, so an unsubscribe racing a
 * re-subscribe cannot leave a wanted channel unsubscribed. Every message received goes to the one
 * handler, with its channel's room.
 *
 * Health: the subscriber must be connected and a periodic self-check (a publish on a private
 * channel this replica subscribes to) must come back; a silent subscription forces a reconnect.
 */
export class RedisFanout implements FanoutPort {
  readonly replicaId: string;
  private readonly link: RedisConnections;
  private readonly keys: RedisKeys;
  private readonly sharded: boolean;
  private readonly logger: Logger;
  private readonly selfCheckMs: number;
  private readonly channels = new Map<string, Channel>();
  private readonly selfChannel: string;
  private readonly probes = new Map<string, () => void>();
  private handler: EnvelopeHandler = () => undefined;
  /** False until a self-check came back since the subscriber last (re)connected. */
  private verified = false;
  /** Probes lost in a row; the subscriber is reconnected at {@link PROBE_FAILURES_BEFORE_RESET}. */
  private failures = 0;
  private probing = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: RedisFanoutOptions) {
    this.replicaId = options.replicaId;
    this.link = options.link;
    this.keys = options.keys;
    this.sharded = options.sharded;
    this.logger = options.logger;
    this.selfCheckMs = options.selfCheckMs;
    this.selfChannel = this.keys.selfCheckChannel(this.replicaId);
  }

  start(): void {
    const event = this.sharded ? 'smessageBuffer' : 'messageBuffer';
    this.link.subscriber.on(event, (channel: Buffer, message: Buffer) =>
      this.receive(channel.toString(), message),
    );
    // The probe channel is a channel like the rooms' whose subscription never goes away.
    this.channel(this.selfChannel, '').holders += 1;
    this.link.onReady('subscriber', () => void this.resume());
    this.timer = setInterval(() => void this.selfCheck(), this.selfCheckMs);
    this.timer.unref();
  }

  /** After every (re)connection: settle each channel, then prove the subscription works. */
  private async resume(): Promise<void> {
    this.verified = false;
    // Channels whose (un)subscribe could not be sent while disconnected, or never was.
    for (const channel of this.channels.values()) {
      this.reconcile(channel).catch((error: unknown) =>
        this.logger.warn({ err: describe(error) }, 'redis resubscribe failed'),
      );
    }
    try {
      // ioredis re-subscribes on its own right after 'ready'; waiting for this (idempotent)
      // subscription's reply keeps the first probe from overtaking it.
      await withTimeout(this.subscribeCommand(this.selfChannel), SUBSCRIBE_TIMEOUT_MS);
    } catch (error) {
      this.logger.debug({ err: describe(error) }, 'probe channel subscription failed');
    }
    await this.selfCheck();
  }

  onEnvelope(handler: EnvelopeHandler): void {
    this.handler = handler;
  }

  async subscribe(roomId: string): Promise<void> {
    const channel = this.channel(this.keys.roomChannel(roomId), roomId);
    channel.holders += 1;
    try {
      await this.reconcile(channel);
    } catch (error) {
      channel.holders -= 1;
      this.reconcile(channel).catch(() => undefined);
      throw error;
    }
  }

  /** Never fails for want of a connection: the channel is dropped once Redis is back. */
  async unsubscribe(roomId: string): Promise<void> {
    const channel = this.channels.get(this.keys.roomChannel(roomId));
    if (channel === undefined || channel.holders === 0) return;
    channel.holders -= 1;
    if (!this.link.subscriberReady()) return;
    await this.reconcile(channel);
  }

  async publish(roomId: string, envelope: Envelope): Promise<void> {
    await this.send(this.keys.roomChannel(roomId), encodeEnvelope(envelope));
  }

  health(): BackendHealth {
    if (!this.link.commandsReady()) return { ok: false, reason: 'redis unreachable' };
    if (!this.link.subscriberReady()) return { ok: false, reason: 'redis subscriber disconnected' };
    if (this.failures > 0) return { ok: false, reason: 'redis subscription silent' };
    if (!this.verified) return { ok: false, reason: 'redis subscription not yet verified' };
    return { ok: true };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const resolve of this.probes.values()) resolve();
    this.channels.clear();
    await this.link.release();
  }

  private channel(name: string, roomId: string): Channel {
    let channel = this.channels.get(name);
    if (channel === undefined) {
      channel = { name, roomId, holders: 0, subscribed: false, queue: Promise.resolve() };
      this.channels.set(name, channel);
    }
    return channel;
  }

  /** Queues a step that brings the channel's subscription in line with its holders. */
  private reconcile(channel: Channel): Promise<void> {
    const step = channel.queue.then(async () => {
      const wanted = channel.holders > 0;
      if (wanted && !channel.subscribed) {
        if (!this.link.subscriberReady()) throw new Error('redis subscriber is not connected');
        // Counted as subscribed once sent: if the reply is lost, a later step unsubscribes.
        channel.subscribed = true;
        await withTimeout(this.subscribeCommand(channel.name), SUBSCRIBE_TIMEOUT_MS);
      } else if (!wanted && channel.subscribed && this.link.subscriberReady()) {
        await withTimeout(this.unsubscribeCommand(channel.name), SUBSCRIBE_TIMEOUT_MS);
        channel.subscribed = false;
      }
      if (channel.holders === 0 && !channel.subscribed) {
        if (this.channels.get(channel.name) === channel) this.channels.delete(channel.name);
      }
    });
    channel.queue = step.catch(() => undefined);
    return step;
  }

  private subscribeCommand(name: string): Promise<unknown> {
    const sub = this.link.subscriber;
    return this.sharded ? sub.ssubscribe(name) : sub.subscribe(name);
  }

  private unsubscribeCommand(name: string): Promise<unknown> {
    const sub = this.link.subscriber;
    return this.sharded ? sub.sunsubscribe(name) : sub.unsubscribe(name);
  }

  private async send(channel: string, payload: Buffer): Promise<void> {
    if (!this.link.commandsReady()) throw new Error('redis is unreachable');
    if (this.sharded) {
      await this.link.commands.spublish(channel, payload);
    } else {
      await publisher(this.link.commands).publish(channel, payload);
    }
  }

  private receive(channelName: string, message: Buffer): void {
    if (channelName === this.selfChannel) {
      this.probes.get(message.toString('latin1'))?.();
      return;
    }
    const channel = this.channels.get(channelName);
    if (channel === undefined || channel.holders === 0) return;
    const envelope = decodeEnvelope(message);
    if (envelope === undefined) {
      this.logger.warn('dropped an undecodable fan-out envelope');
      return;
    }
    if (envelope.origin === this.replicaId) return;
    try {
      this.handler(channel.roomId, envelope);
    } catch (error) {
      this.logger.error({ err: describe(error) }, 'fan-out handler failed');
    }
  }

  /** Publishes a nonce on the probe channel and expects it back within a bound. */
  private async selfCheck(): Promise<void> {
    if (this.probing || this.closed) return;
    if (!this.link.subscriberReady() || !this.link.commandsReady()) return;
    this.probing = true;
    const nonce = randomBytes(12).toString('base64url');
    try {
      const back = new Promise<boolean>((resolve) => {
        const timer = setTimeout(
          () => resolve(false),
          Math.min(PROBE_TIMEOUT_MS, this.selfCheckMs),
        );
        this.probes.set(nonce, () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      await this.send(this.selfChannel, Buffer.from(nonce, 'latin1'));
      const ok = await back;
      if (this.closed) return;
      if (ok) {
        if (this.failures > 0) this.logger.info('redis subscription works again');
        this.failures = 0;
        this.verified = true;
      } else if (this.link.subscriberReady()) {
        this.failures += 1;
        if (this.failures >= PROBE_FAILURES_BEFORE_RESET) {
          this.logger.warn('redis subscription is silent; reconnecting the subscriber');
          this.failures = 0;
          this.verified = false;
          this.link.resetSubscriber();
        }
      }
    } catch (error) {
      this.logger.debug({ err: describe(error) }, 'redis self-check could not publish');
    } finally {
      this.probes.delete(nonce);
      this.probing = false;
    }
  }
}

/**
 * Classic PUBLISH has no key, so a Cluster client would send each one to a random node and two
 * messages of one sender could overtake each other; one fixed node keeps them in order.
 */
function publisher(client: RedisClient): RedisClient {
  if (!(client instanceof Cluster)) return client;
  const nodes = client
    .nodes('master')
    .filter((node) => node.status === 'ready')
    .sort((a, b) => nodeKey(a).localeCompare(nodeKey(b)));
  return nodes[0] ?? client;
}

function nodeKey(node: Redis): string {
  return `${node.options.host ?? ''}:${node.options.port ?? ''}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
