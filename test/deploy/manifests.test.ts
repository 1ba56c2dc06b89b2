/**
 * Pins the compose file, its nginx configuration and the Dockerfile to the relay they deploy
 * (parsed, no engine needed; test/deploy/compose.deploy.ts runs them for real, and
 * kubernetes.test.ts covers k8s/).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CONFIG_FILE_ENV, ENV_VARS } from '../../apps/relay/src/config/load-config.js';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/** Variables the relay reads; NODE_ENV is Node's own, set by the Dockerfile. */
const RELAY_ENV = new Set([
  ...Object.values(ENV_VARS),
  CONFIG_FILE_ENV,
  'PORT',
  'HOST',
  'REDIS_URL',
  'NODE_ENV',
]);

// --- docker-compose.yml -----------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?:
    string | { context?: string; dockerfile?: string; args?: Record<string, string> | string[] };
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target: number; published: string | number })[];
  volumes?: (string | { source: string; target: string })[];
  healthcheck?: { test: string[] | string };
  depends_on?: string[] | Record<string, unknown>;
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  user?: string;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  networks?: Record<string, { ipam?: { config?: { subnet?: string }[] } } | null>;
}

/** Compose interpolation with an empty environment: `${VAR:-default}` gives the default. */
function interpolate(text: string): string {
  return text.replace(
    /\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g,
    (_match, _name, fallback?: string) => fallback ?? '',
  );
}

/** Compose files use YAML merge keys (`<<: *relay`). */
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;

function environment(service: ComposeService): Record<string, string> {
  const entries = Array.isArray(service.environment)
    ? service.environment.map((line) => {
        const at = line.indexOf('=');
        return at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 1)];
      })
    : Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value ?? '')]);
  return Object.fromEntries(entries.map(([key, value]) => [key, interpolate(value ?? '')]));
}

const namesOf = (list: string[] | Record<string, unknown> | undefined): string[] =>
  Array.isArray(list) ? list : Object.keys(list ?? {});

function buildArgs(service: ComposeService): Record<string, string> {
  const build = service.build;
  if (build === undefined || typeof build === 'string') return {};
  const args = build.args ?? {};
  const entries = Array.isArray(args)
    ? args.map((line) => line.split(/=(.*)/s).slice(0, 2))
    : Object.entries(args);
  return Object.fromEntries(entries.map(([key = '', value = '']) => [key, interpolate(value)]));
}

const services = Object.entries(compose.services);
const relayServices = services.filter(([, s]) => (s.image ?? '').includes('HUSH_RELAY_IMAGE'));
const [redisName, redis] =
  services.find(([, s]) => (s.image ?? '').includes('HUSH_REDIS_IMAGE')) ?? [];
const [lbName, lb] = services.find(([, s]) => (s.image ?? '').includes('HUSH_LB_IMAGE')) ?? [];

/** The fixed address of a service on a network. */
const addressOn = (service: ComposeService | undefined, network: string): string | undefined => {
  const networks = service?.networks;
  if (networks === undefined || Array.isArray(networks)) return undefined;
  const address = networks[network]?.ipv4_address;
  return address === undefined ? undefined : interpolate(address);
};

/** The IPv4 subnet of a network, as [first address, last address] numbers. */
function subnetRange(cidr: string): [number, number] {
  const [base = '', bits = '32'] = cidr.split('/');
  const value = base.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  return [value, value + 2 ** (32 - Number(bits)) - 1];
}
const ipv4 = (address: string): number =>
  address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);

describe('docker-compose.yml', () => {
  it('runs Redis from a configurable image (HUSH_REDIS_IMAGE) with a health check', () => {
    expect(redisName, 'a service with image ${HUSH_REDIS_IMAGE:-…}').toBeDefined();
    expect(interpolate(redis?.image ?? '')).toMatch(/^redis:7/);
    expect(redis?.healthcheck).toBeDefined();
  });

  it('runs 3 relay replicas of one image, built once from ./Dockerfile, each pointed at that Redis', () => {
    expect(relayServices.length).toBeGreaterThanOrEqual(3);
    expect(new Set(relayServices.map(([, s]) => s.image)).size).toBe(1);
    const builders = relayServices.filter(([, s]) => s.build !== undefined);
    expect(builders.map(([name]) => name)).toHaveLength(1);
    const build = builders[0]?.[1].build;
    const context = typeof build === 'string' ? build : (build?.context ?? '.');
    expect(['.', './']).toContain(context);
    for (const [name, relay] of relayServices) {
      const url = new URL(environment(relay)['REDIS_URL'] ?? '');
      expect(url.hostname, name).toBe(redisName);
      expect(namesOf(relay.depends_on)).toContain(redisName);
    }
  });

  it("uses the image's own health check for the relays (one definition, TLS included)", () => {
    for (const [name, relay] of relayServices) expect(relay.healthcheck, name).toBeUndefined();
    expect(finalStage.map((i) => i.keyword)).toContain('HEALTHCHECK');
  });

  it("builds on the Dockerfile's default base image unless HUSH_NODE_IMAGE names another", () => {
    const arg = dockerfile.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    const [, builder] = relayServices.find(([, s]) => s.build !== undefined) ?? [];
    expect(buildArgs(builder ?? {})['NODE_IMAGE']).toBe(arg?.args.split('=')[1]);
  });

  it("lets the relays trust X-Forwarded-For from the load balancer's fixed address only", () => {
    expect(lbName).toBeDefined();
    const shared = namesOf(lb?.networks).filter((network) =>
      relayServices.every(([, relay]) => namesOf(relay.networks).includes(network)),
    );
    expect(shared, 'one network shared by the load balancer and every relay').toHaveLength(1);
    const edge = shared[0] ?? '';
    const lbAddress = addressOn(lb, edge) ?? '';
    expect(isIP(lbAddress), 'the load balancer has a fixed IPv4 address').toBe(4);
    const [subnet] = compose.networks?.[edge]?.ipam?.config ?? [];
    const [first, last] = subnetRange(interpolate(subnet?.subnet ?? ''));
    expect(ipv4(lbAddress)).toBeGreaterThan(first + 1); // not the network or its gateway
    expect(ipv4(lbAddress)).toBeLessThan(last);
    for (const [name, relay] of relayServices) {
      expect(environment(relay)['HUSH_TRUSTED_PROXIES'], name).toBe(lbAddress);
      // Fixed relay addresses: nginx resolves the upstream names once, at start.
      expect(isIP(addressOn(relay, edge) ?? ''), `${name} address`).toBe(4);
    }
  });

  it('runs every service read-only, as non-root, without capabilities or privilege gains', () => {
    const relayUser = finalStage.filter((i) => i.keyword === 'USER').at(-1)?.args;
    for (const [name, service] of services) {
      expect(service.read_only, `${name} read_only`).toBe(true);
      const user = service.user ?? (relayServices.some(([n]) => n === name) ? relayUser : 'root');
      expect(user?.split(':')[0], `${name} user`).not.toMatch(/^(root|0)?$/);
      expect(service.cap_drop, `${name} cap_drop`).toContain('ALL');
      expect(service.security_opt, `${name} security_opt`).toContain('no-new-privileges:true');
    }
  });

  it('publishes an nginx load balancer on host port 8080 that upgrades WebSockets to every relay', () => {
    expect(
      lb?.ports?.map((p) =>
        typeof p === 'string' ? interpolate(p) : `${p.published}:${p.target}`,
      ),
    ).toEqual(['0.0.0.0:8080:8080']);
    for (const [name] of relayServices) expect(namesOf(lb?.depends_on)).toContain(name);
    const mount = (lb?.volumes ?? [])
      .map((v) => (typeof v === 'string' ? v.split(':').slice(0, 2) : [v.source, v.target]))
      .find(([source]) => source?.endsWith('.conf'));
    expect(mount).toEqual(['./deploy/nginx/nginx.conf', '/etc/nginx/nginx.conf']);
    const nginx = read('deploy/nginx/nginx.conf').replace(/#.*$/gm, '');
    expect(nginx).toMatch(/proxy_http_version\s+1\.1;/);
    expect(nginx).toMatch(/proxy_set_header\s+Upgrade\s+\$http_upgrade;/);
    expect(nginx).toMatch(/proxy_set_header\s+Connection\s+\$connection_upgrade;/);
    expect(nginx).toMatch(/map\s+\$http_upgrade\s+\$connection_upgrade\s*\{[^}]*\bupgrade;/);
    // The edge replaces a client's X-Forwarded-For instead of extending it.
    expect(nginx).toMatch(/proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;/);
    expect(nginx).toMatch(/listen\s+8080;/);
    // Unprivileged on a read-only root: pid and temp files in /tmp (a tmpfs in compose).
    expect(nginx).toMatch(/^\s*pid\s+\/tmp\//m);
    for (const temp of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
      expect(nginx).toMatch(new RegExp(`${temp}_temp_path\\s+/tmp/`));
    }
    expect(lb?.tmpfs).toContain('/tmp');
    const wsLocation = /location\s+=?\s*\/ws\s*\{([^}]*)\}/.exec(nginx)?.[1] ?? '';
    expect(Number(/proxy_read_timeout\s+(\d+)s?;/.exec(wsLocation)?.[1])).toBeGreaterThanOrEqual(
      3600,
    );
    const upstream = /upstream\s+(\S+)\s*\{([^}]*)\}/.exec(nginx);
    const servers = [...(upstream?.[2] ?? '').matchAll(/server\s+([^\s;]+)/g)].map((m) => m[1]);
    expect(servers.sort()).toEqual(relayServices.map(([name]) => `${name}:8080`).sort());
    expect(nginx).toMatch(
      new RegExp(`location\\s+/\\s*\\{[^}]*proxy_pass\\s+http://${upstream?.[1]};`),
    );
  });
});

// --- Dockerfile -------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions with line continuations joined and comments dropped. */
const dockerfile: Instruction[] = read('Dockerfile')
  .replace(/\\\r?\n(\s*#.*\r?\n)*/g, ' ')
  .split(/\r?\n/)
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'))
  .map((line) => {
    const [keyword = '', ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });
const stageStarts = dockerfile.flatMap((instruction, index) =>
  instruction.keyword === 'FROM' ? [index] : [],
);
const finalStage = dockerfile.slice(stageStarts.at(-1) ?? 0);

describe('Dockerfile', () => {
  it('takes its base image from ARG NODE_IMAGE, declared before the first of several stages', () => {
    expect(stageStarts.length).toBeGreaterThanOrEqual(2);
    const arg = dockerfile.findIndex((i) => i.keyword === 'ARG' && /^NODE_IMAGE=/.test(i.args));
    expect(arg).toBeGreaterThanOrEqual(0);
    expect(arg).toBeLessThan(stageStarts[0] ?? -1);
    for (const start of stageStarts)
      expect(dockerfile[start]?.args).toMatch(/^\$\{?NODE_IMAGE\}?\s/);
  });

  it('installs with npm ci from every workspace manifest, and builds the relay', () => {
    const rootManifest = JSON.parse(read('package.json')) as { workspaces: string[] };
    const copied = dockerfile.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    for (const workspace of rootManifest.workspaces) {
      expect(copied, workspace).toContainEqual(
        expect.stringContaining(`${workspace}/package.json`),
      );
    }
    const runs = dockerfile.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs).toContainEqual(expect.stringMatching(/npm ci\b/));
    expect(runs).toContainEqual(expect.stringMatching(/npm run build\b/));
  });

  it('runs the built relay as a non-root user in production mode, with a /healthz check', () => {
    const last = (keyword: string) => finalStage.filter((i) => i.keyword === keyword).at(-1)?.args;
    const user = last('USER') ?? 'root';
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(last('HEALTHCHECK')).toContain('/healthz');
    expect(last('EXPOSE')?.split(/\s+/)).toContain('8080');
    expect(last('STOPSIGNAL')).toBe('SIGTERM');
    expect(
      finalStage
        .filter((i) => i.keyword === 'ENV')
        .map((i) => i.args)
        .join(' '),
    ).toMatch(/NODE_ENV=production/);
    expect(last('CMD')).toContain('apps/relay/dist/main.js');
    expect(finalStage.map((i) => i.args).join('\n')).toContain('apps/web/dist');
  });

  it('keeps local installs and builds out of the build context', () => {
    const ignored = read('.dockerignore').split(/\r?\n/);
    expect(ignored).toContain('**/node_modules');
    expect(ignored).toContain('**/dist');
  });
});

// --- Environment variables --------------------------------------------------------------------

describe('environment variables in the compose file and the Dockerfile', () => {
  const named: { where: string; name: string }[] = [
    ...relayServices.flatMap(([service, s]) =>
      Object.keys(environment(s)).map((name) => ({ where: `docker-compose.yml ${service}`, name })),
    ),
    ...dockerfile
      .filter((i) => i.keyword === 'ENV')
      .flatMap((i) =>
        [...i.args.matchAll(/(\w+)=/g)].map((m) => ({ where: 'Dockerfile', name: m[1] ?? '' })),
      ),
  ];

  it('are found in both', () => {
    expect(new Set(named.map((n) => n.where.split(' ')[0]))).toEqual(
      new Set(['docker-compose.yml', 'Dockerfile']),
    );
  });

  it.each(named.map(({ where, name }) => [name, where]))('%s (%s) is read by the relay', (name) => {
    expect(RELAY_ENV).toContain(name);
  });
});
