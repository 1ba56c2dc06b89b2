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
import { normalizeOrigin } from '../core/admission/origins.js';

export type { RateLimit };

/** Budgets per client address (all its connections, all replicas): see the README. */
export const ADDRESS_RATE_KINDS = ['chat', 'join', 'invalid'] as const;
export type AddressRateKind = (typeof ADDRESS_RATE_KINDS)[number];

/** `fileChunk` → `FILE_CHUNK`, for environment variable names. */
const envName = (kind: string): string => kind.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** How the relay gets its TLS certificate: see the `server.tlsMode` setting. */
export const TLS_MODES = ['files', 'self-signed'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** Pino log levels the relay accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every key optional, recursively; arrays are replaced whole. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** How the environment mapping turns a variable's string into a value for the schema. */
export type EnvKind = 'string' | 'integer' | 'boolean' | 'list' | 'rate';

/** Environment variable holding the YAML file path when argv has no `--config`. */
export const CONFIG_FILE_ENV = 'HUSH_CONFIG';

const KIB = 1024;
const MIB = 1024 * KIB;
/** Largest delay `setTimeout` honours; longer values fire immediately. */
const MAX_TIMER_MS = 2 ** 31 - 1;

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

/** One configurable leaf: everything the loader, the schema and the README say about it. */
export interface Setting<S extends z.ZodType = z.ZodType> {
  /** Environment variable that sets it. */
  readonly env: string;
  /** How that variable's string is read before validation. */
  readonly kind: EnvKind;
  /** Validates (and normalises) the value, whichever source gave it. */
  readonly schema: S;
  /** Used when no source sets it; absent for settings that may stay unset. */
  readonly default?: z.input<S>;
  /** The README's default column when the value alone would mislead (`[]` meaning "any"). */
  readonly shownDefault?: string;
  /** The README's meaning column (Markdown, one line). */
  readonly doc: string;
}

type Entries = Readonly<Record<string, Setting | Section>>;
type ShapeOf<T extends Entries> = { -readonly [K in keyof T]: T[K]['schema'] };
type SectionSchema<T extends Entries> = z.ZodObject<ShapeOf<T>, z.core.$strict>;

/** A nested mapping of settings; its schema is built from theirs. */
export interface Section<T extends Entries = Entries, S extends z.ZodType = z.ZodType> {
  readonly entries: T;
  readonly schema: S;
}

const setting = <S extends z.ZodType>(declared: Setting<S>): Setting<S> => declared;

/** Declares a mapping; `refine` adds the rules relating its keys to each other. */
function section<T extends Entries>(
  entries: T,
  refine?: (value: z.output<SectionSchema<T>>, ctx: z.RefinementCtx) => void,
): Section<T, SectionSchema<T>> {
  const shape = Object.fromEntries(
    Object.entries(entries).map(([key, entry]) => [key, entry.schema]),
  ) as ShapeOf<T>;
  const schema = z.strictObject(shape, { error: 'expected a mapping of settings' });
  return { entries, schema: refine === undefined ? schema : schema.superRefine(refine) };
}

/** The whole mapping may be left out (e.g. `server.tls`); its keys then have no defaults. */
function optional<T extends Entries, S extends z.ZodType>(
  declared: Section<T, S>,
): Section<T, z.ZodOptional<S>> {
  return { entries: declared.entries, schema: declared.schema.optional() };
}

/** Markdown inline code, for README text built from constants. */
const code = (text: string): string => `\`${text}\``;

const isSection = (entry: Setting | Section): entry is Section => 'entries' in entry;

const rate = (env: string, fallback: RateLimit, doc: string) =>
  setting({ env, kind: 'rate', schema: rateLimit, default: { ...fallback }, doc });

/** README text for each per-connection budget; a new kind in `RATE_KINDS` must be described. */
const RATE_DOCS: Record<RateKind, string> = {
  chat: 'chat messages per connection, as `events/windowMs`: at most that many accepted in any window (a sliding window, as on the Arthas server); the first message after each join is not counted',
  typing: 'typing notifications per connection',
  reaction: 'reactions per connection',
  fileMeta: 'file transfers started per connection',
  fileChunk: 'file chunks per connection',
  fileControl: 'file transfer completions and cancellations per connection',
  fileAck: 'file acknowledgements per connection',
  join: 'room creations and joins per connection',
  lobby: 'room traffic sent outside a room (answered E003) per connection',
};

/** Defaults and README text for each per-address budget. */
const ADDRESS_RATES: Record<AddressRateKind, { fallback: RateLimit; doc: string }> = {
  chat: {
    fallback: { events: 60, windowMs: 10_000 },
    doc: 'chat messages per client address, all its connections on all replicas together',
  },
  join: {
    fallback: { events: 20, windowMs: 10_000 },
    doc: 'room creations and joins per client address',
  },
  invalid: {
    fallback: { events: 20, windowMs: 10_000 },
    doc: 'invalid frames per client address; past it a connection is closed at its next invalid frame',
  },
};

const familyOf = <K extends string>(
  kinds: readonly K[],
  declare: (kind: K) => Setting<typeof rateLimit>,
): Record<K, Setting<typeof rateLimit>> =>
  Object.fromEntries(kinds.map((kind) => [kind, declare(kind)])) as Record<
    K,
    Setting<typeof rateLimit>
  >;

/**
 * Every setting of the relay, declared once: its key (the path in this tree), environment
 * variable, default, validation and documentation. The schema, {@link ENV_BINDINGS},
 * {@link CONFIG_DEFAULTS}, {@link RelayConfig} and the README's Configuration table
 * (`npm run docs:config`) are all derived from it.
 */
export const SETTINGS = section({
  server: section(
    {
      host: setting({
        env: 'HOST',
        kind: 'string',
        schema: nonEmptyString('a host name or IP address'),
        default: '0.0.0.0',
        doc: 'interface to listen on',
      }),
      port: setting({
        env: 'PORT',
        kind: 'integer',
        schema: integer(0, 65_535),
        default: 8080,
        doc: 'HTTP port for `/ws`, the probes and the web client',
      }),
      tls: optional(
        section({
          certFile: setting({
            env: 'HUSH_TLS_CERT',
            kind: 'string',
            schema: tlsFile('certificate file', 'server.tls.keyFile (HUSH_TLS_KEY)'),
            doc: 'serve HTTPS/WSS with this PEM certificate and the key of the next row (both or neither; readable at start)',
          }),
          keyFile: setting({
            env: 'HUSH_TLS_KEY',
            kind: 'string',
            schema: tlsFile('key file', 'server.tls.certFile (HUSH_TLS_CERT)'),
            doc: 'PEM private key of that certificate',
          }),
        }),
      ),
      tlsMode: setting({
        env: 'HUSH_TLS',
        kind: 'string',
        schema: z.enum(TLS_MODES, { error: `expected one of ${TLS_MODES.join(', ')}` }),
        default: 'files',
        doc: "`files`: HTTPS exactly when the PEM files above are set. `self-signed`: HTTPS with an ECDSA certificate made at every start, valid 30 days, for `localhost`, this computer's addresses and host name and the host of the public URL (next row); its SHA-256 fingerprint is logged at start (not together with the PEM files; no HSTS header)",
      }),
      publicUrl: setting({
        env: 'HUSH_PUBLIC_URL',
        kind: 'string',
        schema: publicUrl.optional(),
        doc: "the `http(s)://` address other devices use to open this relay's page (e.g. `https://192.168.1.20:8080`); join links and QR codes use it when the page was opened on `localhost`. Served to the page at `/hush-config.json`",
      }),
      allowedOrigins: setting({
        env: 'HUSH_ALLOWED_ORIGINS',
        kind: 'list',
        schema: z.array(
          z
            .string({ error: ORIGIN_EXPECTED })
            .trim()
            .refine(isOrigin, { error: ORIGIN_EXPECTED })
            .transform((value) => (value === '*' ? value : normalizeOrigin(value))),
          { error: 'expected a list of origins' },
        ),
        default: [],
        shownDefault: 'any',
        doc: 'comma-separated origins allowed to open WebSockets (`*` for any): URLs such as `https://chat.example.com`, or exact tokens of letters, digits, `-` and `_` such as `arthas-cli` (what the Arthas Go CLI sends). Browsers always send `Origin`; a request without one (terminal clients) is not refused',
      }),
      trustedProxies: setting({
        env: 'HUSH_TRUSTED_PROXIES',
        kind: 'list',
        schema: z.array(
          z.string({ error: 'expected an IP address or CIDR block' }).trim().refine(isIpOrCidr, {
            error: 'expected an IPv4/IPv6 address or CIDR block such as 10.0.0.0/8',
          }),
          { error: 'expected a list of IP addresses or CIDR blocks' },
        ),
        default: [],
        shownDefault: 'none',
        doc: 'comma-separated IPs/CIDRs whose `X-Forwarded-For` is believed',
      }),
      webRoot: setting({
        env: 'HUSH_WEB_ROOT',
        kind: 'string',
        schema: nonEmptyString('a directory path').optional(),
        // Unset lets the app look for the built client next to the sources.
        shownDefault: '`apps/web/dist`',
        doc: 'directory of the built web client served at `/`',
      }),
      shutdownTimeoutMs: setting({
        env: 'HUSH_SHUTDOWN_TIMEOUT_MS',
        kind: 'integer',
        schema: duration(1),
        default: 10_000,
        doc: 'upper bound of a graceful shutdown',
      }),
      drainDelayMs: setting({
        env: 'HUSH_DRAIN_DELAY_MS',
        kind: 'integer',
        schema: duration(0),
        default: 0,
        doc: 'time between readiness failing and clients being closed (let load balancers notice)',
      }),
      drainWindowMs: setting({
        env: 'HUSH_DRAIN_WINDOW_MS',
        kind: 'integer',
        schema: duration(0),
        default: 6_000,
        doc: 'on shutdown, clients are closed over the first half of this window and each told (with a drain notice) to come back at its own random moment within the second half, so the other replicas take them back gradually; cut short to fit `HUSH_SHUTDOWN_TIMEOUT_MS`',
      }),
      headerTimeoutMs: setting({
        env: 'HUSH_HEADER_TIMEOUT_MS',
        kind: 'integer',
        schema: integer(100, 60_000),
        default: 5_000,
        doc: 'a connection that has not sent a complete request by then is closed',
      }),
    },
    (server, ctx) => {
      if (server.tlsMode === 'self-signed' && server.tls !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['tlsMode'],
          message:
            'self-signed makes its own certificate: unset server.tls.certFile (HUSH_TLS_CERT) and server.tls.keyFile (HUSH_TLS_KEY), or set this to files',
          params: CROSS_FIELD,
        });
      }
    },
  ),
  metrics: section({
    port: setting({
      env: 'HUSH_METRICS_PORT',
      kind: 'integer',
      schema: integer(0, 65_535),
      default: 9464,
      doc: "port of the Prometheus `/metrics` listener (plain HTTP, for the cluster network). Set it to `PORT`'s value to serve `/metrics` on the main port instead",
    }),
    host: setting({
      env: 'HUSH_METRICS_HOST',
      kind: 'string',
      schema: nonEmptyString('a host name or IP address').optional(),
      shownDefault: '`HOST`',
      doc: 'interface of the metrics listener',
    }),
  }),
  redis: section(
    {
      url: setting({
        env: 'REDIS_URL',
        kind: 'string',
        schema: redisUrl.optional(),
        doc: 'unset: embedded in-memory mode (one replica). Set (`redis://` / `rediss://`, comma-separated nodes for a cluster): cluster mode',
      }),
      cluster: setting({
        env: 'HUSH_REDIS_CLUSTER',
        kind: 'boolean',
        schema: z.boolean({ error: 'expected a boolean (true/false/1/0/yes/no)' }),
        default: false,
        doc: 'connect as a Redis Cluster client',
      }),
      sharded: setting({
        env: 'HUSH_REDIS_SHARDED',
        kind: 'boolean',
        schema: z.boolean({ error: 'expected a boolean (true/false/1/0/yes/no)' }),
        default: false,
        doc: 'sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`); needs cluster mode',
      }),
      keyPrefix: setting({
        env: 'HUSH_REDIS_PREFIX',
        kind: 'string',
        schema: z
          .string({ error: 'expected a string' })
          .max(64, { error: 'expected at most 64 characters' }),
        default: 'hush:',
        doc: 'prefix of every key and channel',
      }),
      heartbeatMs: setting({
        env: 'HUSH_REDIS_HEARTBEAT_MS',
        kind: 'integer',
        schema: duration(1),
        default: 2_000,
        doc: 'replica lease renewal interval',
      }),
      leaseTtlMs: setting({
        env: 'HUSH_REDIS_LEASE_TTL_MS',
        kind: 'integer',
        schema: duration(1),
        default: 6_000,
        doc: 'replica lease lifetime, more than two heartbeats; a replica silent for longer is declared dead and its members removed',
      }),
      selfCheckMs: setting({
        env: 'HUSH_REDIS_SELF_CHECK_MS',
        kind: 'integer',
        schema: duration(1),
        default: 5_000,
        doc: 'interval of the publish-to-self delivery check',
      }),
    },
    (redis, ctx) => {
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
    },
  ),
  limits: section(
    {
      maxFrameBytes: setting({
        env: 'HUSH_MAX_FRAME_BYTES',
        kind: 'integer',
        schema: integer(KIB, 16 * MIB),
        default: MAX_FRAME_BYTES,
        doc: 'largest frame; larger ones close the socket with 1009',
      }),
      maxRoomMembers: setting({
        env: 'HUSH_MAX_ROOM_MEMBERS',
        kind: 'integer',
        schema: integer(1, ROOM_MEMBERS_CEILING),
        default: MAX_ROOM_MEMBERS,
        doc: 'room capacity (cluster-wide)',
      }),
      nameMaxCodePoints: setting({
        env: 'HUSH_NAME_MAX',
        kind: 'integer',
        schema: integer(1, 64),
        default: NAME_MAX_CODE_POINTS,
        doc: 'longest nickname, in code points, after trimming',
      }),
      maxExpirySeconds: setting({
        env: 'HUSH_MAX_EXPIRY_SECONDS',
        kind: 'integer',
        schema: integer(1, MAX_EXPIRY_SECONDS),
        default: MAX_EXPIRY_SECONDS,
        doc: 'longest room expiry a client may ask for',
      }),
      maxConnectionsPerIp: setting({
        env: 'HUSH_MAX_CONNECTIONS_PER_IP',
        kind: 'integer',
        schema: integer(0, 1_000_000),
        default: 50,
        doc: 'concurrent connections per client address, across all replicas (0 = no cap); see [Budgets](#budgets-per-connection-and-per-address)',
      }),
      maxConnections: setting({
        env: 'HUSH_MAX_CONNECTIONS',
        kind: 'integer',
        schema: integer(0, 10_000_000),
        default: 20_000,
        doc: 'WebSockets this replica accepts; past it upgrades get 503 while probes and the page keep answering (0 = no ceiling)',
      }),
      maxBufferedBytes: setting({
        env: 'HUSH_MAX_BUFFERED_BYTES',
        kind: 'integer',
        schema: integer(KIB, 1024 * MIB),
        default: MIB,
        doc: 'a client whose unread outbound data passes this is closed with 4008',
      }),
      invalidFrameLimit: setting({
        env: 'HUSH_INVALID_FRAME_LIMIT',
        kind: 'integer',
        schema: integer(1, 10_000),
        default: 5,
        doc: 'invalid frames tolerated per window before the socket is closed (1008, or 1003 for text)',
      }),
      invalidFrameWindowMs: setting({
        env: 'HUSH_INVALID_FRAME_WINDOW_MS',
        kind: 'integer',
        schema: duration(1),
        default: 10_000,
        doc: 'that window',
      }),
      rate: section(
        familyOf(RATE_KINDS, (kind) =>
          rate(`HUSH_RATE_${envName(kind)}`, RATE_LIMITS[kind], RATE_DOCS[kind]),
        ),
      ),
      addressRate: section(
        familyOf(ADDRESS_RATE_KINDS, (kind) =>
          rate(
            `HUSH_ADDRESS_RATE_${envName(kind)}`,
            ADDRESS_RATES[kind].fallback,
            ADDRESS_RATES[kind].doc,
          ),
        ),
      ),
    },
    (limits, ctx) => {
      // One frame of the largest allowed size must fit, or every big frame would close its reader.
      if (limits.maxBufferedBytes < limits.maxFrameBytes) {
        ctx.addIssue({
          code: 'custom',
          path: ['maxBufferedBytes'],
          message: `must be at least limits.maxFrameBytes (HUSH_MAX_FRAME_BYTES) = ${limits.maxFrameBytes}, got ${limits.maxBufferedBytes}`,
          params: CROSS_FIELD,
        });
      }
    },
  ),
  heartbeat: section(
    {
      pingIntervalMs: setting({
        env: 'HUSH_PING_INTERVAL_MS',
        kind: 'integer',
        schema: duration(1),
        default: PING_INTERVAL_MS,
        doc: 'server Ping interval (WebSocket ping and app-level Ping 0x18)',
      }),
      pongTimeoutMs: setting({
        env: 'HUSH_PONG_TIMEOUT_MS',
        kind: 'integer',
        schema: duration(1),
        default: PONG_TIMEOUT_MS,
        doc: 'a connection silent this long (no pong of either kind) is dropped',
      }),
    },
    (heartbeat, ctx) => {
      if (heartbeat.pongTimeoutMs <= heartbeat.pingIntervalMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['pongTimeoutMs'],
          message: `must be greater than heartbeat.pingIntervalMs (HUSH_PING_INTERVAL_MS) = ${heartbeat.pingIntervalMs}, got ${heartbeat.pongTimeoutMs}`,
          params: CROSS_FIELD,
        });
      }
    },
  ),
  lockout: section({
    maxFailures: setting({
      env: 'HUSH_LOCKOUT_MAX_FAILURES',
      kind: 'integer',
      schema: integer(1, 1_000_000),
      default: 10,
      doc: 'failed joins (unknown room, wrong password) per address, across all replicas, before lockout',
    }),
    windowMs: setting({
      env: 'HUSH_LOCKOUT_WINDOW_MS',
      kind: 'integer',
      schema: duration(1),
      default: 60_000,
      doc: 'window for counting them',
    }),
    durationMs: setting({
      env: 'HUSH_LOCKOUT_DURATION_MS',
      kind: 'integer',
      schema: duration(1),
      default: 300_000,
      doc: 'lockout length (joins get E022)',
    }),
  }),
  rooms: section({
    expiryWarningSeconds: setting({
      env: 'HUSH_EXPIRY_WARNING_SECONDS',
      kind: 'integer',
      schema: integer(0, MAX_EXPIRY_SECONDS),
      default: 60,
      doc: 'how long before expiry negotiated clients get a warning notice',
    }),
  }),
  log: section({
    level: setting({
      env: 'HUSH_LOG_LEVEL',
      kind: 'string',
      schema: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }),
      default: 'info',
      doc: `${LOG_LEVELS.slice(0, -1).map(code).join(', ')} or ${code(LOG_LEVELS.at(-1) ?? '')}`,
    }),
  }),
});

/**
 * The one schema every source goes through. Its input is the nested shape of {@link RelayConfig}
 * with every default filled in; environment strings are converted before they reach it.
 */
export const relayConfigSchema = SETTINGS.schema;

/** The relay's validated configuration; {@link SETTINGS} documents each key. */
export type RelayConfig = z.output<typeof relayConfigSchema>;

/** A declared setting with its key path (e.g. `limits.maxRoomMembers`), in declaration order. */
export interface DeclaredSetting extends Setting {
  readonly path: string;
}

function flatten(declared: Section, prefix: string): DeclaredSetting[] {
  return Object.entries(declared.entries).flatMap(([key, entry]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return isSection(entry) ? flatten(entry, path) : [{ ...entry, path }];
  });
}

/** Every setting, flattened: one per environment variable. */
export const DECLARED_SETTINGS: readonly DeclaredSetting[] = flatten(SETTINGS, '');

/** Key path → environment variable → how its string is read. One row per configurable leaf. */
export const ENV_BINDINGS: readonly { path: string; env: string; kind: EnvKind }[] =
  DECLARED_SETTINGS.map(({ path, env, kind }) => ({ path, env, kind }));

/** Key path (e.g. `limits.maxRoomMembers`) → environment variable (e.g. `HUSH_MAX_ROOM_MEMBERS`). */
export const ENV_VARS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(ENV_BINDINGS.map(({ path, env }) => [path, env])),
);

function defaultsOf(declared: Section): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(declared.entries)) {
    const value = isSection(entry) ? defaultsOf(entry) : structuredClone(entry.default);
    const empty = isSection(entry) && Object.keys(value as object).length === 0;
    if (value !== undefined && !empty) tree[key] = value;
  }
  return tree;
}

/** Values used for every key neither the YAML file, the environment nor overrides set. */
export const CONFIG_DEFAULTS: DeepPartial<RelayConfig> = defaultsOf(SETTINGS);
