import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import type { RateKind, RateLimit } from '@hush/protocol';
import {
  MAX_EXPIRY_SECONDS,
  MAX_FRAME_BYTES,
  MAX_ROOM_MEMBERS,
  ROOM_MEMBERS_CEILING,
  NAME_MAX_CODE_POINTS,
  PING_INTERVAL_MS,
  PONG_TIMEOUT_MS,
  RATE_KINDS,
  RATE_LIMITS,
} from '@hush/protocol';
import { z } from 'zod';
import { normalizeOrigin } from '../admission/origins.js';

export type { RateLimit };

/** Budgets per client address (all its connections, all replicas): see the README. */
export const ADDRESS_RATE_KINDS = ['chat', 'join', 'invalid'] as const;
export type AddressRateKind = (typeof ADDRESS_RATE_KINDS)[number];

/** `fileChunk` → `FILE_CHUNK`, for environment variable names. */
const envName = (kind: string): string => kind.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** How the relay gets its TLS certificate: see {@link RelayConfig}'s `server.tlsMode`. */
export const TLS_MODES = ['files', 'self-signed'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** Pino log levels the relay accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The relay's validated configuration. {@link ENV_VARS} names the variable behind each key. */
export interface RelayConfig {
  server: {
    /** Interface to listen on. */
    host: string;
    /** TCP port; 0 picks an ephemeral port (tests). */
    port: number;
    /** Serve HTTPS/WSS from these PEM files; both or neither, readable at load time. */
    tls?: { certFile: string; keyFile: string };
    /**
     * `files`: HTTPS exactly when `tls` is set. `self-signed`: HTTPS with a certificate made at
     * start (for phones on a LAN), never together with `tls`.
     */
    tlsMode: TlsMode;
    /**
     * Where other devices reach this relay's page (`http(s)://host[:port][/path/]`, ending in
     * `/`); join links and QR codes use it when the page was opened on this computer.
     */
    publicUrl?: string;
    /** Accepted `Origin` values: normalised origins, exact non-URL tokens, or `'*'`; empty accepts any. */
    allowedOrigins: string[];
    /** Proxies whose `X-Forwarded-For` is trusted: IPv4/IPv6 addresses or CIDR blocks. */
    trustedProxies: string[];
    /** Directory of the built web client; undefined lets the app look for apps/web/dist. */
    webRoot?: string;
    /** Upper bound on a graceful shutdown. */
    shutdownTimeoutMs: number;
    /** Time between readiness turning false and closing sockets, so load balancers catch up. */
    drainDelayMs: number;
    /**
     * Clients are closed over the first half of this window and told to come back at a random
     * moment within the second, so the other replicas take them back gradually. Cut short to fit
     * `shutdownTimeoutMs` after `drainDelayMs`.
     */
    drainWindowMs: number;
    /** A connection that has not sent complete request headers by then is closed. */
    headerTimeoutMs: number;
  };
  metrics: {
    /** Port of the Prometheus `/metrics` listener; the main port's own number serves it there. */
    port: number;
    /** Interface of the metrics listener; undefined = `server.host`. */
    host?: string;
  };
  redis: {
    /** redis:// or rediss:// URL (a comma-separated node list in cluster mode); undefined = in-memory. */
    url?: string;
    /** Connect as a Redis Cluster client. */
    cluster: boolean;
    /** Use sharded pub/sub (SPUBLISH/SSUBSCRIBE); needs `cluster`. */
    sharded: boolean;
    /** Prefix of every key and channel this relay touches. */
    keyPrefix: string;
    /** How often a replica renews its lease. */
    heartbeatMs: number;
    /** Lifetime of a replica lease; more than two heartbeats so one late renewal is survivable. */
    leaseTtlMs: number;
    /** How often a replica checks its own lease and subscriptions. */
    selfCheckMs: number;
  };
  limits: {
    maxFrameBytes: number;
    maxRoomMembers: number;
    nameMaxCodePoints: number;
    maxExpirySeconds: number;
    /** Concurrent connections per client address, cluster-wide; 0 = unlimited. */
    maxConnectionsPerIp: number;
    /** Open connections this replica accepts; past it new ones get 503. 0 = unlimited. */
    maxConnections: number;
    /** A socket whose outbound buffer grows past this is closed (backpressure). */
    maxBufferedBytes: number;
    /** Invalid frames tolerated within `invalidFrameWindowMs` before the socket is closed. */
    invalidFrameLimit: number;
    invalidFrameWindowMs: number;
    /** Budgets per connection, by kind of traffic (kinds and defaults: `RATE_LIMITS`). */
    rate: Record<RateKind, RateLimit>;
    /** Budgets per client address, shared by its connections across replicas. */
    addressRate: Record<AddressRateKind, RateLimit>;
  };
  heartbeat: { pingIntervalMs: number; pongTimeoutMs: number };
  /** Lockout after repeated failed joins or wrong passwords. */
  lockout: { maxFailures: number; windowMs: number; durationMs: number };
  rooms: { expiryWarningSeconds: number };
  log: { level: LogLevel };
}

/** Every key optional, recursively; arrays are replaced whole. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** How the environment mapping turns a variable's string into a value for the schema. */
export type EnvKind = 'string' | 'integer' | 'boolean' | 'list' | 'rate';

/** Key path → environment variable → how its string is read. One row per configurable leaf. */
export const ENV_BINDINGS: readonly { path: string; env: string; kind: EnvKind }[] = [
  { path: 'server.host', env: 'HOST', kind: 'string' },
  { path: 'server.port', env: 'PORT', kind: 'integer' },
  { path: 'server.tls.certFile', env: 'HUSH_TLS_CERT', kind: 'string' },
  { path: 'server.tls.keyFile', env: 'HUSH_TLS_KEY', kind: 'string' },
  { path: 'server.tlsMode', env: 'HUSH_TLS', kind: 'string' },
  { path: 'server.publicUrl', env: 'HUSH_PUBLIC_URL', kind: 'string' },
  { path: 'server.allowedOrigins', env: 'HUSH_ALLOWED_ORIGINS', kind: 'list' },
  { path: 'server.trustedProxies', env: 'HUSH_TRUSTED_PROXIES', kind: 'list' },
  { path: 'server.webRoot', env: 'HUSH_WEB_ROOT', kind: 'string' },
  { path: 'server.shutdownTimeoutMs', env: 'HUSH_SHUTDOWN_TIMEOUT_MS', kind: 'integer' },
  { path: 'server.drainDelayMs', env: 'HUSH_DRAIN_DELAY_MS', kind: 'integer' },
  { path: 'server.drainWindowMs', env: 'HUSH_DRAIN_WINDOW_MS', kind: 'integer' },
  { path: 'server.headerTimeoutMs', env: 'HUSH_HEADER_TIMEOUT_MS', kind: 'integer' },
  { path: 'metrics.port', env: 'HUSH_METRICS_PORT', kind: 'integer' },
  { path: 'metrics.host', env: 'HUSH_METRICS_HOST', kind: 'string' },
  { path: 'redis.url', env: 'REDIS_URL', kind: 'string' },
  { path: 'redis.cluster', env: 'HUSH_REDIS_CLUSTER', kind: 'boolean' },
  { path: 'redis.sharded', env: 'HUSH_REDIS_SHARDED', kind: 'boolean' },
  { path: 'redis.keyPrefix', env: 'HUSH_REDIS_PREFIX', kind: 'string' },
  { path: 'redis.heartbeatMs', env: 'HUSH_REDIS_HEARTBEAT_MS', kind: 'integer' },
  { path: 'redis.leaseTtlMs', env: 'HUSH_REDIS_LEASE_TTL_MS', kind: 'integer' },
  { path: 'redis.selfCheckMs', env: 'HUSH_REDIS_SELF_CHECK_MS', kind: 'integer' },
  { path: 'limits.maxFrameBytes', env: 'HUSH_MAX_FRAME_BYTES', kind: 'integer' },
  { path: 'limits.maxRoomMembers', env: 'HUSH_MAX_ROOM_MEMBERS', kind: 'integer' },
  { path: 'limits.nameMaxCodePoints', env: 'HUSH_NAME_MAX', kind: 'integer' },
  { path: 'limits.maxExpirySeconds', env: 'HUSH_MAX_EXPIRY_SECONDS', kind: 'integer' },
  { path: 'limits.maxConnectionsPerIp', env: 'HUSH_MAX_CONNECTIONS_PER_IP', kind: 'integer' },
  { path: 'limits.maxConnections', env: 'HUSH_MAX_CONNECTIONS', kind: 'integer' },
  { path: 'limits.maxBufferedBytes', env: 'HUSH_MAX_BUFFERED_BYTES', kind: 'integer' },
  { path: 'limits.invalidFrameLimit', env: 'HUSH_INVALID_FRAME_LIMIT', kind: 'integer' },
  { path: 'limits.invalidFrameWindowMs', env: 'HUSH_INVALID_FRAME_WINDOW_MS', kind: 'integer' },
  ...RATE_KINDS.map((kind) => ({
    path: `limits.rate.${kind}`,
    env: `HUSH_RATE_${envName(kind)}`,
    kind: 'rate' as const,
  })),
  ...ADDRESS_RATE_KINDS.map((kind) => ({
    path: `limits.addressRate.${kind}`,
    env: `HUSH_ADDRESS_RATE_${envName(kind)}`,
    kind: 'rate' as const,
  })),
  { path: 'heartbeat.pingIntervalMs', env: 'HUSH_PING_INTERVAL_MS', kind: 'integer' },
  { path: 'heartbeat.pongTimeoutMs', env: 'HUSH_PONG_TIMEOUT_MS', kind: 'integer' },
  { path: 'lockout.maxFailures', env: 'HUSH_LOCKOUT_MAX_FAILURES', kind: 'integer' },
  { path: 'lockout.windowMs', env: 'HUSH_LOCKOUT_WINDOW_MS', kind: 'integer' },
  { path: 'lockout.durationMs', env: 'HUSH_LOCKOUT_DURATION_MS', kind: 'integer' },
  { path: 'rooms.expiryWarningSeconds', env: 'HUSH_EXPIRY_WARNING_SECONDS', kind: 'integer' },
  { path: 'log.level', env: 'HUSH_LOG_LEVEL', kind: 'string' },
];

/** Key path (e.g. `limits.maxRoomMembers`) → environment variable (e.g. `HUSH_MAX_ROOM_MEMBERS`). */
export const ENV_VARS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(ENV_BINDINGS.map(({ path, env }) => [path, env])),
);

/** Environment variable holding the YAML file path when argv has no `--config`. */
export const CONFIG_FILE_ENV = 'HUSH_CONFIG';

const KIB = 1024;
const MIB = 1024 * KIB;
/** Largest delay `setTimeout` honours; longer values fire immediately. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Values used for every key neither the YAML file, the environment nor overrides set. */
export const CONFIG_DEFAULTS: DeepPartial<RelayConfig> = {
  server: {
    host: '0.0.0.0',
    port: 8080,
    tlsMode: 'files',
    allowedOrigins: [],
    trustedProxies: [],
    shutdownTimeoutMs: 10_000,
    drainDelayMs: 0,
    drainWindowMs: 6_000,
    headerTimeoutMs: 5_000,
  },
  metrics: { port: 9464 },
  redis: {
    cluster: false,
    sharded: false,
    keyPrefix: 'hush:',
    heartbeatMs: 2_000,
    leaseTtlMs: 6_000,
    selfCheckMs: 5_000,
  },
  limits: {
    maxFrameBytes: MAX_FRAME_BYTES,
    maxRoomMembers: MAX_ROOM_MEMBERS,
    nameMaxCodePoints: NAME_MAX_CODE_POINTS,
    maxExpirySeconds: MAX_EXPIRY_SECONDS,
    maxConnectionsPerIp: 50,
    maxConnections: 20_000,
    maxBufferedBytes: MIB,
    invalidFrameLimit: 5,
    invalidFrameWindowMs: 10_000,
    rate: Object.fromEntries(RATE_KINDS.map((kind) => [kind, { ...RATE_LIMITS[kind] }])),
    addressRate: {
      chat: { events: 60, windowMs: 10_000 },
      join: { events: 20, windowMs: 10_000 },
      invalid: { events: 20, windowMs: 10_000 },
    },
  },
  heartbeat: { pingIntervalMs: PING_INTERVAL_MS, pongTimeoutMs: PONG_TIMEOUT_MS },
  lockout: { maxFailures: 10, windowMs: 60_000, durationMs: 300_000 },
  rooms: { expiryWarningSeconds: 60 },
  log: { level: 'info' },
};

/**
 * Issues raised by a rule relating several keys carry this marker; the formatter then prints the
 * message as is instead of appending the offending value.
 */
export const CROSS_FIELD = { crossField: true } as const;

function integer(min: number, max: number) {
  const error = `expected an integer between ${min} and ${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

const duration = (min: number) => integer(min, MAX_TIMER_MS);

function section<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject(shape, { error: 'expected a mapping of settings' });
}

const nonEmptyString = (what: string) => {
  const error = `expected ${what}`;
  return z.string({ error }).trim().min(1, { error });
};

const ORIGIN_EXPECTED =
  "expected '*', an origin such as https://chat.example.com (scheme, host and optional port, no path), or an exact token such as arthas-cli";

/**
 * Accepts `'*'`, scheme://host[:port] with at most a trailing slash (no credentials, path or
 * query), or an exact non-URL token made of letters, digits, `-` and `_` (the Arthas Go CLI sends
 * `Origin: arthas-cli`). Something with dots or colons but no scheme is a host missing its
 * scheme, not a token, and is refused.
 */
function isOrigin(value: string): boolean {
  if (value === '*') return true;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return /^[A-Za-z0-9_-]+$/.test(value);
  if (!/^https?:\/\/[^/?#@\s]+\/?$/i.test(value)) return false;
  try {
    return new URL(value).host !== '';
  } catch {
    return false;
  }
}

function isIpOrCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

const redisUrlParts = (value: string): string[] => value.split(',').map((part) => part.trim());

function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

const REDIS_URL_EXPECTED =
  'expected a redis:// or rediss:// URL (a comma-separated list of them with redis.cluster)';

const redisUrl = z
  .string({ error: REDIS_URL_EXPECTED })
  .trim()
  .refine((value) => value === '' || redisUrlParts(value).every(isRedisUrl), {
    error: REDIS_URL_EXPECTED,
  })
  .transform((value) => (value === '' ? undefined : redisUrlParts(value).join(',')));

const rateLimit = z.strictObject(
  { events: integer(1, 1_000_000), windowMs: duration(1) },
  { error: 'expected "events/windowMs" such as "10/10000", or a mapping { events, windowMs }' },
);

const tlsFile = (self: string, other: string) =>
  z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? `required when ${other} is set (TLS needs both files)`
          : `expected a path to a PEM file`,
    })
    .trim()
    .min(1, { error: `required when ${other} is set (TLS needs both files)` })
    .superRefine((path, ctx) => {
      const problem = path === '' ? undefined : unreadableFile(path);
      if (problem !== undefined) {
        ctx.addIssue({ code: 'custom', message: `${self} ${problem}`, params: CROSS_FIELD });
      }
    });

function unreadableFile(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return `"${path}" is not a file`;
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    return `"${path}" cannot be read (${code})`;
  }
}

const PUBLIC_URL_EXPECTED =
  'expected the http:// or https:// address other devices open, such as https://192.168.1.20:8080 (no query, fragment or credentials)';

/** An http(s) URL without credentials, query or fragment, normalised to end in `/`. */
const publicUrl = z
  .string({ error: PUBLIC_URL_EXPECTED })
  .trim()
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (
          (url.protocol === 'http:' || url.protocol === 'https:') &&
          url.hostname !== '' &&
          url.username === '' &&
          url.password === '' &&
          url.search === '' &&
          url.hash === '' &&
          !value.includes('?') &&
          !value.includes('#')
        );
      } catch {
        return false;
      }
    },
    { error: PUBLIC_URL_EXPECTED },
  )
  .transform((value) => {
    const url = new URL(value);
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    return url.toString();
  });

const serverSchema = section({
  host: nonEmptyString('a host name or IP address'),
  port: integer(0, 65_535),
  tls: section({
    certFile: tlsFile('certificate file', 'server.tls.keyFile (HUSH_TLS_KEY)'),
    keyFile: tlsFile('key file', 'server.tls.certFile (HUSH_TLS_CERT)'),
  }).optional(),
  tlsMode: z.enum(TLS_MODES, { error: `expected one of ${TLS_MODES.join(', ')}` }),
  publicUrl: publicUrl.optional(),
  allowedOrigins: z.array(
    z
      .string({ error: ORIGIN_EXPECTED })
      .trim()
      .refine(isOrigin, { error: ORIGIN_EXPECTED })
      .transform((value) => (value === '*' ? value : normalizeOrigin(value))),
    { error: 'expected a list of origins' },
  ),
  trustedProxies: z.array(
    z.string({ error: 'expected an IP address or CIDR block' }).trim().refine(isIpOrCidr, {
      error: 'expected an IPv4/IPv6 address or CIDR block such as 10.0.0.0/8',
    }),
    { error: 'expected a list of IP addresses or CIDR blocks' },
  ),
  webRoot: nonEmptyString('a directory path').optional(),
  shutdownTimeoutMs: duration(1),
  drainDelayMs: duration(0),
  drainWindowMs: duration(0),
  headerTimeoutMs: integer(100, 60_000),
}).superRefine((server, ctx) => {
  if (server.tlsMode === 'self-signed' && server.tls !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['tlsMode'],
      message:
        'self-signed makes its own certificate: unset server.tls.certFile (HUSH_TLS_CERT) and server.tls.keyFile (HUSH_TLS_KEY), or set this to files',
      params: CROSS_FIELD,
    });
  }
});

const metricsSchema = section({
  port: integer(0, 65_535),
  host: nonEmptyString('a host name or IP address').optional(),
});

const redisSchema = section({
  url: redisUrl.optional(),
  cluster: z.boolean({ error: 'expected a boolean (true/false/1/0/yes/no)' }),
  sharded: z.boolean({ error: 'expected a boolean (true/false/1/0/yes/no)' }),
  keyPrefix: z
    .string({ error: 'expected a string' })
    .max(64, { error: 'expected at most 64 characters' }),
  heartbeatMs: duration(1),
  leaseTtlMs: duration(1),
  selfCheckMs: duration(1),
}).superRefine((redis, ctx) => {
  if (redis.sharded && !redis.cluster) {
    ctx.addIssue({
      code: 'custom',
      path: ['sharded'],
      message: 'sharded pub/sub requires redis.cluster (HUSH_REDIS_CLUSTER) to be true',
      params: CROSS_FIELD,
    });
  }
  if (redis.cluster && redis.url === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['cluster'],
      message: 'cluster mode requires redis.url (REDIS_URL)',
      params: CROSS_FIELD,
    });
  }
  if (!redis.cluster && redis.url?.includes(',')) {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: 'a list of node URLs requires redis.cluster (HUSH_REDIS_CLUSTER) to be true',
      params: CROSS_FIELD,
    });
  }
  if (redis.leaseTtlMs <= redis.heartbeatMs * 2) {
    ctx.addIssue({
      code: 'custom',
      path: ['leaseTtlMs'],
      message: `must be more than 2 × redis.heartbeatMs (HUSH_REDIS_HEARTBEAT_MS) = ${redis.heartbeatMs * 2}, got ${redis.leaseTtlMs}`,
      params: CROSS_FIELD,
    });
  }
});

const limitsSchema = section({
  maxFrameBytes: integer(KIB, 16 * MIB),
  maxRoomMembers: integer(1, ROOM_MEMBERS_CEILING),
  nameMaxCodePoints: integer(1, 64),
  maxExpirySeconds: integer(1, MAX_EXPIRY_SECONDS),
  maxConnectionsPerIp: integer(0, 1_000_000),
  maxConnections: integer(0, 10_000_000),
  maxBufferedBytes: integer(KIB, 1024 * MIB),
  invalidFrameLimit: integer(1, 10_000),
  invalidFrameWindowMs: duration(1),
  rate: section(
    Object.fromEntries(RATE_KINDS.map((kind) => [kind, rateLimit])) as Record<
      RateKind,
      typeof rateLimit
    >,
  ),
  addressRate: section(
    Object.fromEntries(ADDRESS_RATE_KINDS.map((kind) => [kind, rateLimit])) as Record<
      AddressRateKind,
      typeof rateLimit
    >,
  ),
}).superRefine((limits, ctx) => {
  // One frame of the largest allowed size must fit, or every big frame would close its reader.
  if (limits.maxBufferedBytes < limits.maxFrameBytes) {
    ctx.addIssue({
      code: 'custom',
      path: ['maxBufferedBytes'],
      message: `must be at least limits.maxFrameBytes (HUSH_MAX_FRAME_BYTES) = ${limits.maxFrameBytes}, got ${limits.maxBufferedBytes}`,
      params: CROSS_FIELD,
    });
  }
});

const heartbeatSchema = section({
  pingIntervalMs: duration(1),
  pongTimeoutMs: duration(1),
}).superRefine((heartbeat, ctx) => {
  if (heartbeat.pongTimeoutMs <= heartbeat.pingIntervalMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['pongTimeoutMs'],
      message: `must be greater than heartbeat.pingIntervalMs (HUSH_PING_INTERVAL_MS) = ${heartbeat.pingIntervalMs}, got ${heartbeat.pongTimeoutMs}`,
      params: CROSS_FIELD,
    });
  }
});

/**
 * The one schema every source goes through. Its input is the nested shape of {@link RelayConfig}
 * with every default filled in; environment strings are converted before they reach it.
 */
export const relayConfigSchema = z.strictObject({
  server: serverSchema,
  metrics: metricsSchema,
  redis: redisSchema,
  limits: limitsSchema,
  heartbeat: heartbeatSchema,
  lockout: section({
    maxFailures: integer(1, 1_000_000),
    windowMs: duration(1),
    durationMs: duration(1),
  }),
  rooms: section({ expiryWarningSeconds: integer(0, MAX_EXPIRY_SECONDS) }),
  log: section({
    level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }),
  }),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compile-time guard: the schema's output is exactly the documented interface. */
const _schemaMatchesInterface: Same<z.output<typeof relayConfigSchema>, RelayConfig> = true;
