import { encode, ServerType } from '@hush/protocol';
import type { ClusterNode, ClusterOptions, RedisOptions } from 'ioredis';
import { Cluster, Redis } from 'ioredis';
import type { RelayConfig } from '../../config/config.schema.js';
import type { Envelope } from '../fanout.port.js';
import { RedisFanout } from './redis.fanout.js';
import type { Logger } from '../../logging/logger.js';
import { RedisPresence } from './redis.presence.js';
import type { Backends } from '../backends.js';
import { RedisKeys } from './redis-keys.js';

/** A command that gets no reply within this time fails (the caller sees the backend as down). */
const COMMAND_TIMEOUT_MS = 3_000;
/** How long start-up waits for Redis before serving anyway, unready until it connects. */
const STARTUP_WAIT_MS = 3_000;
const QUIT_TIMEOUT_MS = 1_000;
const MAX_RECONNECT_DELAY_MS = 2_000;

/** A plain Redis or a Redis Cluster client; the adapters use only what both offer. */
export type RedisClient = Redis | Cluster;

export type Role = 'commands' | 'subscriber';

/** What the Redis ports need from their connections (a fake in unit specs). */
export interface RedisConnections {
  /** Commands, scripts and publishing. */
  readonly commands: RedisClient;
  /** Subscriber mode only. */
  readonly subscriber: RedisClient;
  commandsReady(): boolean;
  subscriberReady(): boolean;
  onReady(role: Role, listener: () => void): void;
  /** Drops and re-opens the subscriber connection; its channels are subscribed again. */
  resetSubscriber(): void;
  /** Each port releases the connections once when it closes; the last release quits them. */
  release(): Promise<void>;
}

/**
 * The two connections of a replica: one for commands (presence, publishing), one in subscriber
 * mode for fan-out. Both reconnect forever; commands never wait in an offline queue, so while
 * Redis is down every call fails at once instead of piling up.
 */
export class RedisLink implements RedisConnections {
  readonly commands: RedisClient;
  readonly subscriber: RedisClient;
  /** Presence and fan-out; the connections close when both have released them. */
  private users = 2;
  private closing: Promise<void> | undefined;

  constructor(
    config: RelayConfig['redis'],
    replicaId: string,
    private readonly logger: Logger,
  ) {
    const url = config.url;
    if (url === undefined) throw new Error('redis backends need redis.url');
    this.commands = connect(url, config, `hush-${replicaId}-cmd`, false);
    this.subscriber = connect(url, config, `hush-${replicaId}-sub`, config.sharded);
    this.watch(this.commands, 'commands');
    this.watch(this.subscriber, 'subscriber');
  }

  commandsReady(): boolean {
    return this.commands.status === 'ready';
  }

  subscriberReady(): boolean {
    return this.subscriber.status === 'ready';
  }

  onReady(role: Role, listener: () => void): void {
    this.client(role).on('ready', listener);
  }

  /** ioredis re-subscribes the channels of the new connection by itself. */
  resetSubscriber(): void {
    this.subscriber.disconnect(true);
  }

  /** Resolves with true once both connections are ready, or false after `ms`. */
  async waitUntilReady(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!(this.commandsReady() && this.subscriberReady())) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
  }

  release(): Promise<void> {
    this.users -= 1;
    if (this.users > 0) return Promise.resolve();
    return (this.closing ??= Promise.all([quit(this.commands), quit(this.subscriber)]).then(
      () => undefined,
    ));
  }

  private client(role: Role): RedisClient {
    return role === 'commands' ? this.commands : this.subscriber;
  }

  private watch(client: RedisClient, role: Role): void {
    let connected = false;
    let errorLogged = false;
    client.on('ready', () => {
      connected = true;
      errorLogged = false;
      this.logger.info({ connection: role }, 'redis connected');
    });
    client.on('close', () => {
      if (!connected) return;
      connected = false;
      if (this.closing === undefined) {
        this.logger.warn({ connection: role }, 'redis connection lost');
      }
    });
    // One line per outage: ioredis emits an error for every reconnection attempt.
    const onError = (error: Error) => {
      if (errorLogged || this.closing !== undefined) return;
      errorLogged = true;
      this.logger.warn({ connection: role, err: describeError(error) }, 'redis unreachable');
    };
    client.on('error', onError);
    client.on('node error', onError);
  }
}

export function connect(url: string, config: RelayConfig['redis'], name: string, sharded: boolean) {
  const resilient = {
    connectionName: name,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    // The publishes of one event-loop turn (a busy room's fan-out) go out in one write, in order.
    enableAutoPipelining: true,
  } satisfies RedisOptions;
  if (!config.cluster) {
    return new Redis(url, {
      ...resilient,
      retryStrategy: (attempt: number) => Math.min(100 * attempt, MAX_RECONNECT_DELAY_MS),
    });
  }
  const urls = url.split(',').map((part) => new URL(part));
  const first = urls[0] as URL;
  const nodes: ClusterNode[] = urls.map((node) => ({
    host: node.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: node.port === '' ? 6379 : Number(node.port),
  }));
  const options: ClusterOptions = {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    shardedSubscribers: sharded,
    clusterRetryStrategy: (attempt: number) => Math.min(100 * attempt, MAX_RECONNECT_DELAY_MS),
    redisOptions: {
      ...resilient,
      ...(first.username === '' ? {} : { username: decodeURIComponent(first.username) }),
      ...(first.password === '' ? {} : { password: decodeURIComponent(first.password) }),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  };
  return new Cluster(nodes, options);
}

export async function quit(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS)));
  const quitting = client.status === 'ready' ? client.quit().then(() => undefined) : undefined;
  await Promise.race([quitting?.catch(() => undefined) ?? Promise.resolve(), timeout]);
  clearTimeout(timer);
  client.disconnect();
}

function describeError(error: Error): string {
  return 'code' in error && typeof error.code === 'string' ? error.code : error.message;
}

/**
 * Cluster-mode backends: presence and fan-out in Redis (or Redis Cluster). Start-up does not fail
 * when Redis is down: it waits up to {@link STARTUP_WAIT_MS}, then returns anyway; the ports
 * report unhealthy (readiness false) and everything is restored once Redis answers.
 */
export async function redisBackends(
  config: RelayConfig['redis'],
  replicaId: string,
  logger: Logger,
): Promise<Backends> {
  const log = logger.child({ component: 'redis' });
  const keys = new RedisKeys(config.keyPrefix);
  const link = new RedisLink(config, replicaId, log);
  const fanout = new RedisFanout({
    replicaId,
    link,
    keys,
    sharded: config.sharded,
    selfCheckMs: config.selfCheckMs,
    logger: log,
  });
  const presence = new RedisPresence({
    replicaId,
    link,
    keys,
    heartbeatMs: config.heartbeatMs,
    leaseTtlMs: config.leaseTtlMs,
    logger: log,
    // Members registered again after Redis or the reaper dropped them. After an eviction
    // everyone but the member itself was told it left (this replica's other members too, through
    // the channel), so they are told it is back; after Redis lost the room, only `to` (members who
    // joined meanwhile and never heard of it) are. The origin differs from this replica's id so
    // that its own members get it too; the member itself is never told.
    announce: (roomId, member, to) => {
      const frame = encode({ type: ServerType.MemberJoined, data: member });
      const origin = `${replicaId}:rejoin`;
      const envelope: Envelope =
        to === undefined
          ? { kind: 'broadcast', origin, frame, exclude: member.id }
          : { kind: 'to-members', origin, frame, memberIds: to };
      fanout.publish(roomId, envelope).catch(() => {
        log.warn('could not announce a re-registered member');
      });
    },
  });
  fanout.start();
  presence.start();
  if (!(await link.waitUntilReady(STARTUP_WAIT_MS))) {
    log.warn(
      { waitedMs: STARTUP_WAIT_MS },
      'redis is unreachable at start-up; serving unready and connecting in the background',
    );
  }
  return { presence, fanout };
}
