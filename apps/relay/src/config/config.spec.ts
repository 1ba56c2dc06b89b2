import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MAX_EXPIRY_SECONDS,
  MAX_FRAME_BYTES,
  PING_INTERVAL_MS,
  PONG_TIMEOUT_MS,
  RATE_LIMITS,
} from '@hush/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, ENV_BINDINGS, type RateLimit } from './config.schema.js';
import { ConfigError, ENV_VARS, loadConfig, type RelayConfig } from './load-config.js';

let dir: string;
let certFile: string;
let keyFile: string;
let fileCount = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hush-config-'));
  certFile = join(dir, 'cert.pem');
  keyFile = join(dir, 'key.pem');
  writeFileSync(certFile, '-----BEGIN CERTIFICATE-----\n');
  writeFileSync(keyFile, '-----BEGIN PRIVATE KEY-----\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function yamlFile(text: string): string {
  const path = join(dir, `config-${++fileCount}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** Loads with no YAML file and no argv, so the test runner's own arguments never leak in. */
const load = (env: NodeJS.ProcessEnv = {}, argv: string[] = []) => loadConfig({ env, argv });

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the configuration loaded');
}

/** The declared defaults: what loading with nothing set must give, untouched by validation. */
const DEFAULTS = CONFIG_DEFAULTS;

describe('defaults', () => {
  it('an empty environment yields the documented defaults and no optional settings', () => {
    const config = load();
    expect(config).toEqual(DEFAULTS);
    expect(config.server.tls).toBeUndefined();
    expect(config.server.webRoot).toBeUndefined();
    expect(config.redis.url).toBeUndefined();
  });

  it('empty and blank variables count as unset', () => {
    expect(load({ REDIS_URL: '', PORT: '', HOST: '  ', HUSH_RATE_CHAT: '' })).toEqual(DEFAULTS);
  });

  it('limit defaults come from @hush/protocol', () => {
    const { limits, heartbeat } = load();
    expect(limits.maxFrameBytes).toBe(MAX_FRAME_BYTES);
    expect(limits.rate.fileChunk).toEqual(RATE_LIMITS.fileChunk);
    expect(heartbeat.pongTimeoutMs).toBe(PONG_TIMEOUT_MS);
  });
});

describe('environment variables', () => {
  /** A value other than the default for every key. */
  const custom = (): RelayConfig => ({
    server: {
      host: '127.0.0.1',
      port: 9000,
      tls: { certFile, keyFile },
      tlsMode: 'files',
      publicUrl: 'https://192.168.1.20:8443/',
      allowedOrigins: ['https://chat.example.com', 'http://localhost:5173'],
      trustedProxies: ['10.0.0.0/8', '192.168.1.1', '::1', 'fd00::/8'],
      webRoot: '/srv/hush/web',
      shutdownTimeoutMs: 15_000,
      drainDelayMs: 5_000,
      drainWindowMs: 4_000,
      headerTimeoutMs: 2_000,
    },
    metrics: { port: 9100, host: '10.0.0.5' },
    redis: {
      url: 'redis://redis-0:6379,rediss://redis-1:6380',
      cluster: true,
      sharded: true,
      keyPrefix: 'test:',
      heartbeatMs: 1_000,
      leaseTtlMs: 3_000,
      selfCheckMs: 2_500,
    },
    limits: {
      maxFrameBytes: 65_536,
      maxRoomMembers: 20,
      nameMaxCodePoints: 32,
      maxExpirySeconds: 3_600,
      maxConnectionsPerIp: 0,
      maxConnections: 1_000,
      maxBufferedBytes: 2_097_152,
      invalidFrameLimit: 3,
      invalidFrameWindowMs: 5_000,
      rate: {
        chat: { events: 5, windowMs: 1_000 },
        typing: { events: 6, windowMs: 2_000 },
        reaction: { events: 7, windowMs: 3_000 },
        fileMeta: { events: 2, windowMs: 1_000 },
        fileChunk: { events: 8, windowMs: 4_000 },
        fileControl: { events: 3, windowMs: 1_000 },
        fileAck: { events: 4, windowMs: 1_000 },
        join: { events: 9, windowMs: 5_000 },
        lobby: { events: 11, windowMs: 1_000 },
      },
      addressRate: {
        chat: { events: 30, windowMs: 10_000 },
        join: { events: 12, windowMs: 10_000 },
        invalid: { events: 13, windowMs: 10_000 },
      },
    },
    heartbeat: { pingIntervalMs: 1_000, pongTimeoutMs: 3_000 },
    lockout: { maxFailures: 3, windowMs: 1_000, durationMs: 2_000 },
    rooms: { expiryWarningSeconds: 30 },
    log: { level: 'debug' },
  });

  /** `custom()` written as environment strings, the way an operator would, through ENV_BINDINGS. */
  const fullEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    const config = custom();
    for (const { path, env: name, kind } of ENV_BINDINGS) {
      const value = path
        .split('.')
        .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
      if (value === undefined) continue;
      env[name] =
        kind === 'list'
          ? (value as string[]).join(',')
          : kind === 'rate'
            ? `${(value as RateLimit).events}/${(value as RateLimit).windowMs}`
            : String(value as string | number | boolean);
    }
    // Spellings an operator may use besides the canonical ones above.
    return {
      ...env,
      HUSH_REDIS_SHARDED: 'yes',
      HUSH_RATE_JOIN: '9 / 5000',
      HUSH_ALLOWED_ORIGINS: 'https://chat.example.com, http://localhost:5173',
      HUSH_TRUSTED_PROXIES: '10.0.0.0/8,192.168.1.1, ::1, fd00::/8',
    };
  };

  it('every variable is read into its key', () => {
    expect(load(fullEnv())).toEqual(custom());
  });

  it('ENV_VARS names one variable per configurable key, including the fixed names of the spec', () => {
    const leaves: string[] = [];
    const walk = (value: unknown, path: string): void => {
      const isRate = /^limits\.(rate|addressRate)\.[^.]+$/.test(path);
      if (typeof value === 'object' && value !== null && !Array.isArray(value) && !isRate) {
        for (const [key, child] of Object.entries(value))
          walk(child, path ? `${path}.${key}` : key);
      } else {
        leaves.push(path);
      }
    };
    walk(load(fullEnv()), '');
    expect(Object.keys(ENV_VARS).sort()).toEqual(leaves.sort());
    expect(Object.keys(fullEnv()).sort()).toEqual(Object.values(ENV_VARS).sort());
    expect(ENV_VARS).toMatchObject({
      'server.host': 'HOST',
      'server.port': 'PORT',
      'redis.url': 'REDIS_URL',
      'limits.maxRoomMembers': 'HUSH_MAX_ROOM_MEMBERS',
    });
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('boolean %j reads as %s', (text, expected) => {
    expect(load({ REDIS_URL: 'redis://r:6379', HUSH_REDIS_CLUSTER: text }).redis.cluster).toBe(
      expected,
    );
  });

  it('port 0 is accepted for ephemeral ports', () => {
    expect(load({ PORT: '0' }).server.port).toBe(0);
  });

  it('origins may be exact non-URL tokens, such as the one the Arthas Go CLI sends', () => {
    const { allowedOrigins } = load({
      HUSH_ALLOWED_ORIGINS: 'https://chat.example.com,arthas-cli',
    }).server;
    expect(allowedOrigins).toEqual(['https://chat.example.com', 'arthas-cli']);
  });

  it('origins are normalised the way browsers send them and "*" is kept', () => {
    const { allowedOrigins } = load({
      HUSH_ALLOWED_ORIGINS: 'https://Chat.Example.COM/,https://chat.example.com:443,,*',
    }).server;
    expect(allowedOrigins).toEqual(['https://chat.example.com', 'https://chat.example.com', '*']);
  });

  it('a single Redis URL works without cluster mode', () => {
    const { redis } = load({ REDIS_URL: ' rediss://:secret@redis.internal:6380/0 ' });
    expect(redis).toMatchObject({ url: 'rediss://:secret@redis.internal:6380/0', cluster: false });
  });
});

describe('YAML file', () => {
  it('loads the nested shape and leaves other keys at their defaults', () => {
    const path = yamlFile(
      [
        'server:',
        '  port: 9000',
        '  allowedOrigins: [https://chat.example.com]',
        'redis:',
        '  url: redis://redis:6379',
        'limits:',
        '  maxRoomMembers: 20',
        '  rate:',
        '    chat: { events: 3, windowMs: 1000 }',
        'log:',
        '  level: warn',
      ].join('\n'),
    );
    const config = load({ HUSH_CONFIG: path });
    expect(config.server.port).toBe(9000);
    expect(config.server.allowedOrigins).toEqual(['https://chat.example.com']);
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(config.limits.maxRoomMembers).toBe(20);
    expect(config.limits.rate.chat).toEqual({ events: 3, windowMs: 1000 });
    expect(config.limits.rate.typing).toEqual(RATE_LIMITS.typing);
    expect(config.log.level).toBe('warn');
    expect(config.server.host).toBe(DEFAULTS.server?.host);
  });

  it('environment variables win over the file, and overrides win over both', () => {
    const path = yamlFile(
      'server: { port: 9000, host: 127.0.0.1 }\nlimits: { maxRoomMembers: 20 }\n',
    );
    const config = loadConfig({
      env: { HUSH_CONFIG: path, PORT: '9100', HUSH_MAX_ROOM_MEMBERS: '30' },
      argv: [],
      overrides: { limits: { maxRoomMembers: 40 } },
    });
    expect(config.server.port).toBe(9100);
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.limits.maxRoomMembers).toBe(40);
  });

  it('an environment rate replaces both halves of a rate set in the file', () => {
    const path = yamlFile('limits: { rate: { chat: { events: 3, windowMs: 1000 } } }\n');
    const config = load({ HUSH_CONFIG: path, HUSH_RATE_CHAT: '4/2000' });
    expect(config.limits.rate.chat).toEqual({ events: 4, windowMs: 2000 });
  });

  it('an empty file, or null values in it, leave the defaults', () => {
    expect(load({ HUSH_CONFIG: yamlFile('') })).toEqual(DEFAULTS);
    expect(load({ HUSH_CONFIG: yamlFile('redis:\n  url:\nserver: ~\n') })).toEqual(DEFAULTS);
  });

  it.each([
    ['--config <path>', (path: string) => ['--config', path]],
    ['--config=<path>', (path: string) => [`--config=${path}`]],
  ])('%s in argv names the file and wins over HUSH_CONFIG', (_form, argv) => {
    const chosen = yamlFile('server: { port: 9001 }\n');
    const ignored = yamlFile('server: { port: 9002 }\n');
    const config = load({ HUSH_CONFIG: ignored }, ['--verbose', ...argv(chosen)]);
    expect(config.server.port).toBe(9001);
  });

  it('--config without a path is an error', () => {
    expect(configError(() => load({}, ['--config'])).issues).toEqual([
      '--config: expected the path of a YAML file',
    ]);
    expect(configError(() => load({}, ['--config='])).issues).toHaveLength(1);
  });
});

interface BadCase {
  /** What the operator got wrong. */
  name: string;
  env?: NodeJS.ProcessEnv;
  yaml?: string;
  /** Expected start of the single reported issue: key path and variable. */
  key: string;
  /** A fragment the issue must contain. */
  says: string;
}

const badCases: BadCase[] = [
  { name: 'PORT=-1', env: { PORT: '-1' }, key: 'server.port (PORT)', says: 'got "-1"' },
  { name: 'PORT=70000', env: { PORT: '70000' }, key: 'server.port (PORT)', says: '0 and 65535' },
  { name: 'PORT=abc', env: { PORT: 'abc' }, key: 'server.port (PORT)', says: 'got "abc"' },
  { name: 'PORT=1e3', env: { PORT: '1e3' }, key: 'server.port (PORT)', says: 'got "1e3"' },
  { name: 'PORT=12abc', env: { PORT: '12abc' }, key: 'server.port (PORT)', says: 'an integer' },
  { name: 'PORT=80.5', env: { PORT: '80.5' }, key: 'server.port (PORT)', says: 'an integer' },
  {
    name: 'HUSH_MAX_ROOM_MEMBERS=0',
    env: { HUSH_MAX_ROOM_MEMBERS: '0' },
    key: 'limits.maxRoomMembers (HUSH_MAX_ROOM_MEMBERS)',
    says: 'expected an integer between 1 and 10000, got "0"',
  },
  {
    name: 'HUSH_MAX_ROOM_MEMBERS=abc',
    env: { HUSH_MAX_ROOM_MEMBERS: 'abc' },
    key: 'limits.maxRoomMembers (HUSH_MAX_ROOM_MEMBERS)',
    says: 'expected an integer between 1 and 10000, got "abc"',
  },
  {
    name: 'HUSH_NAME_MAX=65',
    env: { HUSH_NAME_MAX: '65' },
    key: 'limits.nameMaxCodePoints (HUSH_NAME_MAX)',
    says: '1 and 64',
  },
  {
    name: 'HUSH_MAX_EXPIRY_SECONDS beyond the protocol bound',
    env: { HUSH_MAX_EXPIRY_SECONDS: String(MAX_EXPIRY_SECONDS + 1) },
    key: 'limits.maxExpirySeconds (HUSH_MAX_EXPIRY_SECONDS)',
    says: `1 and ${MAX_EXPIRY_SECONDS}`,
  },
  {
    name: 'HUSH_MAX_FRAME_BYTES below 1 KiB',
    env: { HUSH_MAX_FRAME_BYTES: '1023' },
    key: 'limits.maxFrameBytes (HUSH_MAX_FRAME_BYTES)',
    says: '1024 and 16777216',
  },
  {
    name: 'outbound buffer smaller than one frame',
    env: { HUSH_MAX_FRAME_BYTES: '65536', HUSH_MAX_BUFFERED_BYTES: '4096' },
    key: 'limits.maxBufferedBytes (HUSH_MAX_BUFFERED_BYTES)',
    says: 'at least limits.maxFrameBytes',
  },
  {
    name: 'REDIS_URL with an http scheme',
    env: { REDIS_URL: 'http://redis:6379' },
    key: 'redis.url (REDIS_URL)',
    says: 'redis:// or rediss://',
  },
  {
    name: 'REDIS_URL that is not a URL',
    env: { REDIS_URL: 'redis' },
    key: 'redis.url (REDIS_URL)',
    says: 'got "redis"',
  },
  {
    name: 'REDIS_URL node list without cluster mode',
    env: { REDIS_URL: 'redis://a:6379,redis://b:6379' },
    key: 'redis.url (REDIS_URL)',
    says: 'requires redis.cluster (HUSH_REDIS_CLUSTER)',
  },
  {
    name: 'HUSH_REDIS_CLUSTER=maybe',
    env: { REDIS_URL: 'redis://r:6379', HUSH_REDIS_CLUSTER: 'maybe' },
    key: 'redis.cluster (HUSH_REDIS_CLUSTER)',
    says: 'true/false/1/0/yes/no',
  },
  {
    name: 'cluster mode without REDIS_URL',
    env: { HUSH_REDIS_CLUSTER: 'true' },
    key: 'redis.cluster (HUSH_REDIS_CLUSTER)',
    says: 'requires redis.url (REDIS_URL)',
  },
  {
    name: 'sharded pub/sub without cluster mode',
    env: { REDIS_URL: 'redis://r:6379', HUSH_REDIS_SHARDED: 'true' },
    key: 'redis.sharded (HUSH_REDIS_SHARDED)',
    says: 'requires redis.cluster (HUSH_REDIS_CLUSTER) to be true',
  },
  {
    name: 'lease not longer than two heartbeats',
    env: { HUSH_REDIS_HEARTBEAT_MS: '3000' },
    key: 'redis.leaseTtlMs (HUSH_REDIS_LEASE_TTL_MS)',
    says: 'more than 2 × redis.heartbeatMs',
  },
  {
    name: 'pong timeout equal to the ping interval',
    env: { HUSH_PING_INTERVAL_MS: '30000', HUSH_PONG_TIMEOUT_MS: '30000' },
    key: 'heartbeat.pongTimeoutMs (HUSH_PONG_TIMEOUT_MS)',
    says: 'greater than heartbeat.pingIntervalMs (HUSH_PING_INTERVAL_MS)',
  },
  {
    name: 'pong timeout below the default ping interval',
    env: { HUSH_PONG_TIMEOUT_MS: '1000' },
    key: 'heartbeat.pongTimeoutMs (HUSH_PONG_TIMEOUT_MS)',
    says: `= ${PING_INTERVAL_MS}, got 1000`,
  },
  {
    name: 'CIDR prefix too long for IPv4',
    env: { HUSH_TRUSTED_PROXIES: '10.0.0.1,10.0.0.0/33' },
    key: 'server.trustedProxies[1] (HUSH_TRUSTED_PROXIES)',
    says: 'got "10.0.0.0/33"',
  },
  {
    name: 'CIDR prefix too long for IPv6',
    env: { HUSH_TRUSTED_PROXIES: 'fd00::/129' },
    key: 'server.trustedProxies[0] (HUSH_TRUSTED_PROXIES)',
    says: 'CIDR',
  },
  {
    name: 'trusted proxy that is a host name',
    env: { HUSH_TRUSTED_PROXIES: 'proxy.local' },
    key: 'server.trustedProxies[0] (HUSH_TRUSTED_PROXIES)',
    says: 'got "proxy.local"',
  },
  {
    name: 'trusted proxy with two prefixes',
    env: { HUSH_TRUSTED_PROXIES: '10.0.0.0/8/8' },
    key: 'server.trustedProxies[0] (HUSH_TRUSTED_PROXIES)',
    says: 'CIDR',
  },
  {
    name: 'origin with a path',
    env: { HUSH_ALLOWED_ORIGINS: 'https://chat.example.com/app' },
    key: 'server.allowedOrigins[0] (HUSH_ALLOWED_ORIGINS)',
    says: 'got "https://chat.example.com/app"',
  },
  {
    name: 'origin without a scheme',
    env: { HUSH_ALLOWED_ORIGINS: 'chat.example.com' },
    key: 'server.allowedOrigins[0] (HUSH_ALLOWED_ORIGINS)',
    says: 'no path',
  },
  {
    name: 'origin with a non-web scheme',
    env: { HUSH_ALLOWED_ORIGINS: 'ftp://chat.example.com' },
    key: 'server.allowedOrigins[0] (HUSH_ALLOWED_ORIGINS)',
    says: 'https://chat.example.com',
  },
  {
    name: 'origin with a query',
    env: { HUSH_ALLOWED_ORIGINS: 'https://chat.example.com?x=1' },
    key: 'server.allowedOrigins[0] (HUSH_ALLOWED_ORIGINS)',
    says: 'no path',
  },
  {
    name: 'TLS certificate without a key',
    env: { HUSH_TLS_CERT: fileURLToPath(import.meta.url) },
    key: 'server.tls.keyFile (HUSH_TLS_KEY)',
    says: 'required when server.tls.certFile (HUSH_TLS_CERT) is set',
  },
  {
    name: 'unknown log level',
    env: { HUSH_LOG_LEVEL: 'loud' },
    key: 'log.level (HUSH_LOG_LEVEL)',
    says: 'expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
  },
  {
    name: 'rate with a zero window',
    env: { HUSH_RATE_CHAT: '10/0' },
    key: 'limits.rate.chat.windowMs (HUSH_RATE_CHAT)',
    says: 'got "10/0"',
  },
  {
    name: 'rate without a window',
    env: { HUSH_RATE_CHAT: '10' },
    key: 'limits.rate.chat (HUSH_RATE_CHAT)',
    says: 'expected "events/windowMs"',
  },
  {
    name: 'rate with zero events',
    env: { HUSH_RATE_FILE_CHUNK: '0/1000' },
    key: 'limits.rate.fileChunk.events (HUSH_RATE_FILE_CHUNK)',
    says: 'got "0/1000"',
  },
  {
    name: 'rate that is not numeric',
    env: { HUSH_RATE_JOIN: 'five/10s' },
    key: 'limits.rate.join (HUSH_RATE_JOIN)',
    says: 'got "five/10s"',
  },
  {
    name: 'negative drain delay',
    env: { HUSH_DRAIN_DELAY_MS: '-1' },
    key: 'server.drainDelayMs (HUSH_DRAIN_DELAY_MS)',
    says: 'between 0 and',
  },
  {
    name: 'YAML value of the wrong type',
    yaml: 'server:\n  port: "8080"\n',
    key: 'server.port (PORT)',
    says: 'got "8080" (in ',
  },
  {
    name: 'YAML rate with an unknown field',
    yaml: 'limits: { rate: { join: { events: 1, window: 10 } } }\n',
    key: 'limits.rate.join.window: unknown key',
    says: 'did you mean windowMs?',
  },
  {
    name: 'YAML section that is not a mapping',
    yaml: 'redis: redis://r:6379\n',
    key: 'redis',
    says: 'expected a mapping of settings',
  },
];

describe('invalid values', () => {
  it.each(badCases)('$name is reported with its key path and variable', (bad) => {
    const env =
      bad.yaml === undefined ? { ...bad.env } : { ...bad.env, HUSH_CONFIG: yamlFile(bad.yaml) };
    const error = configError(() => load(env));
    expect(error.issues).toHaveLength(1);
    const [issue] = error.issues;
    expect(issue?.startsWith(bad.key)).toBe(true);
    expect(issue).toContain(bad.says);
    expect(error.message).toContain(issue);
  });

  it('a TLS file that does not exist is reported with its path', () => {
    const missing = join(dir, 'missing.pem');
    const error = configError(() => load({ HUSH_TLS_CERT: missing, HUSH_TLS_KEY: keyFile }));
    expect(error.issues).toEqual([
      `server.tls.certFile (HUSH_TLS_CERT): certificate file "${missing}" cannot be read (ENOENT)`,
    ]);
  });

  it('a TLS path that is a directory is rejected', () => {
    const error = configError(() => load({ HUSH_TLS_CERT: certFile, HUSH_TLS_KEY: dir }));
    expect(error.issues).toEqual([
      `server.tls.keyFile (HUSH_TLS_KEY): key file "${dir}" is not a file`,
    ]);
  });

  it('an unknown YAML key is named with the file and a suggestion', () => {
    const path = yamlFile('server:\n  prot: 9000\nlimit:\n  maxRoomMembers: 20\n');
    const error = configError(() => load({ HUSH_CONFIG: path }));
    expect(error.issues).toEqual([
      `server.prot: unknown key, did you mean port? (in ${path})`,
      `limit: unknown key, did you mean limits? (in ${path})`,
    ]);
  });

  it('invalid YAML is reported with the path and position of the file', () => {
    const path = yamlFile('server:\n  port: [9000\nredis: {}\n');
    const error = configError(() => load({}, ['--config', path]));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatch(
      new RegExp(`^config file "${path}" \\(--config\\): invalid YAML at line \\d+, column \\d+: `),
    );
  });

  it('duplicate YAML keys are invalid YAML', () => {
    const path = yamlFile('server:\n  port: 1\n  port: 2\n');
    expect(configError(() => load({ HUSH_CONFIG: path })).issues[0]).toContain('invalid YAML');
  });

  it('a YAML file that is not a mapping is rejected', () => {
    const path = yamlFile('- port: 1\n');
    expect(configError(() => load({ HUSH_CONFIG: path })).issues).toEqual([
      `config file "${path}" (HUSH_CONFIG): expected a mapping of settings, got a list`,
    ]);
  });

  it('a missing config file is reported with its path', () => {
    const path = join(dir, 'absent.yaml');
    expect(configError(() => load({ HUSH_CONFIG: path })).issues).toEqual([
      `config file "${path}" (HUSH_CONFIG): cannot be read (ENOENT)`,
    ]);
  });

  it('overrides are validated like every other source', () => {
    const error = configError(() =>
      loadConfig({ env: {}, argv: [], overrides: { server: { port: -5 } } }),
    );
    expect(error.issues).toEqual([
      'server.port (PORT): expected an integer between 0 and 65535, got -5 (in overrides)',
    ]);
  });

  it('a __proto__ key in YAML is an unknown key, not a prototype', () => {
    const path = yamlFile('server:\n  "__proto__": { port: 1 }\n');
    const error = configError(() => load({ HUSH_CONFIG: path }));
    expect(error.issues).toEqual([`server.__proto__: unknown key (in ${path})`]);
    expect(({} as Record<string, unknown>)['port']).toBeUndefined();
  });

  it('every problem is reported together, one per line', () => {
    const error = configError(() =>
      load({
        PORT: 'abc',
        HUSH_MAX_ROOM_MEMBERS: '0',
        HUSH_LOG_LEVEL: 'loud',
        HUSH_RATE_CHAT: '10',
        HUSH_REDIS_SHARDED: 'true',
      }),
    );
    expect(error.issues.map((issue) => issue.split(':')[0])).toEqual([
      'server.port (PORT)',
      'redis.sharded (HUSH_REDIS_SHARDED)',
      'limits.maxRoomMembers (HUSH_MAX_ROOM_MEMBERS)',
      'limits.rate.chat (HUSH_RATE_CHAT)',
      'log.level (HUSH_LOG_LEVEL)',
    ]);
    expect(error.message.split('\n')).toHaveLength(error.issues.length + 1);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
  });
});

describe('secrets', () => {
  it.each([
    ['a wrong scheme', { REDIS_URL: 'http://admin:hunter2@redis:6379' }],
    ['no host', { REDIS_URL: 'redis://:hunter2@' }],
    ['a password containing @ and /', { REDIS_URL: 'ftp://:hun@ter/2@redis' }],
    [
      'a node list',
      { REDIS_URL: 'redis://:hunter2@a:1,http://:hunter2@b:2', HUSH_REDIS_CLUSTER: '1' },
    ],
    ['a list without cluster mode', { REDIS_URL: 'redis://:hunter2@a:1,redis://:hunter2@b:2' }],
    ['no scheme', { REDIS_URL: 'user:hunter2@redis:6379' }],
  ])('the Redis password never appears in errors for a URL with %s', (_case, env) => {
    const error = configError(() => load(env));
    expect(error.issues[0]).toMatch(/^redis\.url \(REDIS_URL\)/);
    expect(error.message).not.toMatch(/hunter|ter\/2/);
  });

  it('the password is masked in errors about a URL from the YAML file', () => {
    const path = yamlFile('redis:\n  url: https://:hunter2@redis:6379\n');
    const error = configError(() => load({ HUSH_CONFIG: path }));
    expect(error.message).not.toContain('hunter2');
    expect(error.issues[0]).toContain('"https://***@redis:6379"');
  });

  it('a YAML syntax error does not quote the line that holds the password', () => {
    const path = yamlFile('redis:\n  url: redis://:hunter2@redis: : x\n');
    const error = configError(() => load({ HUSH_CONFIG: path }));
    expect(error.issues[0]).toContain('invalid YAML');
    expect(error.message).not.toContain('hunter2');
  });
});

describe('the returned object', () => {
  it('is deeply frozen', () => {
    const config = load({ HUSH_ALLOWED_ORIGINS: 'https://chat.example.com' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(Object.isFrozen(config.server.allowedOrigins)).toBe(true);
    expect(Object.isFrozen(config.limits.rate.chat)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => config.server.allowedOrigins.push('*')).toThrow(TypeError);
  });

  it('shares nothing with the defaults or the overrides it was built from', () => {
    const origins = ['https://chat.example.com'];
    const config = loadConfig({
      env: {},
      argv: [],
      overrides: { server: { allowedOrigins: origins } },
    });
    expect(Object.isFrozen(origins)).toBe(false);
    expect(Object.isFrozen(CONFIG_DEFAULTS)).toBe(false);
    expect(config.limits.rate.chat).not.toBe(CONFIG_DEFAULTS.limits?.rate?.chat);
    expect(load()).toEqual(DEFAULTS);
  });
});

describe('TLS', () => {
  it('HUSH_TLS=self-signed asks for a certificate made at start, and excludes the PEM files', () => {
    expect(load({ HUSH_TLS: 'self-signed' }).server).toMatchObject({ tlsMode: 'self-signed' });
    expect(load({ HUSH_TLS: 'self-signed' }).server.tls).toBeUndefined();
    expect(
      configError(() =>
        load({ HUSH_TLS: 'self-signed', HUSH_TLS_CERT: certFile, HUSH_TLS_KEY: keyFile }),
      ).issues,
    ).toEqual([
      'server.tlsMode (HUSH_TLS): self-signed makes its own certificate: unset server.tls.certFile (HUSH_TLS_CERT) and server.tls.keyFile (HUSH_TLS_KEY), or set this to files',
    ]);
    expect(configError(() => load({ HUSH_TLS: 'yes' })).issues).toEqual([
      'server.tlsMode (HUSH_TLS): expected one of files, self-signed, got "yes"',
    ]);
  });

  it('HUSH_PUBLIC_URL is an http(s) address, kept with a trailing slash', () => {
    expect(load({ HUSH_PUBLIC_URL: 'https://hush.lan:8443/chat' }).server.publicUrl).toBe(
      'https://hush.lan:8443/chat/',
    );
    expect(load({ HUSH_PUBLIC_URL: 'http://[fd00::2]:8080/' }).server.publicUrl).toBe(
      'http://[fd00::2]:8080/',
    );
    for (const bad of [
      'hush.lan:8443',
      'ftp://hush.lan/',
      'https://u:p@hush.lan/',
      'https://hush.lan/?a=1',
      'https://hush.lan/#x',
    ]) {
      const [issue] = configError(() => load({ HUSH_PUBLIC_URL: bad })).issues;
      expect(issue).toMatch(
        /^server\.publicUrl \(HUSH_PUBLIC_URL\): expected the http:\/\/ or https:\/\/ address/,
      );
    }
  });

  it('both readable files enable TLS', () => {
    expect(load({ HUSH_TLS_CERT: certFile, HUSH_TLS_KEY: keyFile }).server.tls).toEqual({
      certFile,
      keyFile,
    });
  });

  it('a key without a certificate names the missing certificate', () => {
    const error = configError(() => load({ HUSH_TLS_KEY: keyFile }));
    expect(error.issues).toEqual([
      'server.tls.certFile (HUSH_TLS_CERT): required when server.tls.keyFile (HUSH_TLS_KEY) is set (TLS needs both files)',
    ]);
  });
});
