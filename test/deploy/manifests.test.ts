/**
 * Pins the deployment artefacts to the relay they deploy: Kubernetes manifests, the compose
 * file, its nginx config and the Dockerfile are parsed (no cluster or engine needed) and checked
 * against each other and against the relay's real configuration variables.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { parse, parseAllDocuments } from 'yaml';
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

// --- Kubernetes -------------------------------------------------------------------------------

interface Metadata {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  file: string;
}
interface HttpGet {
  path: string;
  port: number | string;
}
interface Probe {
  httpGet?: HttpGet;
}
interface ResourceList {
  cpu?: string;
  memory?: string;
}
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: {
    preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } };
  };
  resources?: { requests?: ResourceList; limits?: ResourceList };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}
interface Deployment extends Manifest {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: Metadata; spec: PodSpec };
  };
}
interface Service extends Manifest {
  spec: {
    selector: Record<string, string>;
    ports: { name?: string; port: number; targetPort: number | string }[];
  };
}
interface ConfigMap extends Manifest {
  data: Record<string, string>;
}
interface Hpa extends Manifest {
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    minReplicas: number;
    maxReplicas: number;
    metrics: { type: string; resource?: { name: string } }[];
  };
}
interface Pdb extends Manifest {
  spec: {
    selector: { matchLabels: Record<string, string> };
    minAvailable?: number | string;
    maxUnavailable?: number | string;
  };
}
interface IngressBackend {
  service: { name: string; port: { name?: string; number?: number } };
}
interface Ingress extends Manifest {
  spec: {
    rules: { http: { paths: { path: string; pathType: string; backend: IngressBackend }[] } }[];
  };
}

const k8sFiles = readdirSync(new URL('k8s/', root))
  .filter((file) => file.endsWith('.yaml') || file.endsWith('.yml'))
  .sort();

/** Throws at load time, so a malformed file fails the suite with a message naming it. */
function must<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new Error(message);
  return value;
}

function isManifest(value: unknown): value is Omit<Manifest, 'file'> {
  if (typeof value !== 'object' || value === null) return false;
  const { apiVersion, kind } = value as Record<string, unknown>;
  return typeof apiVersion === 'string' && typeof kind === 'string';
}

function loadManifests(): Manifest[] {
  return k8sFiles.flatMap((file) =>
    parseAllDocuments(read(`k8s/${file}`)).map((document) => {
      if (document.errors.length > 0) {
        throw new Error(`k8s/${file}: ${document.errors.map((e) => e.message).join('; ')}`);
      }
      const value: unknown = document.toJS();
      if (!isManifest(value)) throw new Error(`k8s/${file}: a document without apiVersion/kind`);
      return { ...value, file };
    }),
  );
}

const manifests = loadManifests();
const kubernetesObjects = manifests.filter((manifest) => manifest.kind !== 'Kustomization');

/** The one object of `kind` (matching `predicate`); throws when there are none or several. */
function only<T extends Manifest>(kind: string, predicate: (m: T) => boolean = () => true): T {
  const matching = manifests
    .filter((m) => m.kind === kind)
    .map((m) => m as T)
    .filter(predicate);
  if (matching.length !== 1) {
    throw new Error(`expected one matching ${kind}, found ${matching.length}`);
  }
  return must(matching[0], kind);
}

const RELAY_IMAGE = /(^|\/)hush-relay(:|@|$)/;
const isRelayDeployment = (d: Deployment) =>
  d.spec.template.spec.containers.some((c) => RELAY_IMAGE.test(c.image));

const deployment = only<Deployment>('Deployment', isRelayDeployment);
const podSpec = deployment.spec.template.spec;
const relayContainer = must(
  podSpec.containers.find((c) => RELAY_IMAGE.test(c.image)),
  `k8s/${deployment.file}: no hush-relay container`,
);
const podLabels = deployment.spec.template.metadata.labels ?? {};
const relayConfigMaps = (relayContainer.envFrom ?? []).flatMap((source) =>
  source.configMapRef
    ? [only<ConfigMap>('ConfigMap', (c) => c.metadata.name === source.configMapRef?.name)]
    : [],
);

/** The container port a probe, Service or Ingress names, by number or by port name. */
function containerPort(port: number | string): number | undefined {
  const ports = relayContainer.ports ?? [];
  const found = ports.find((p) =>
    typeof port === 'number' ? p.containerPort === port : p.name === port,
  );
  return found?.containerPort;
}

/** The relay's effective environment: ConfigMaps first, then `env`, which wins. */
function relayEnv(name: string): string | undefined {
  const direct = relayContainer.env?.find((variable) => variable.name === name);
  if (direct) return direct.value;
  return relayConfigMaps.map((c) => c.data[name]).find((value) => value !== undefined);
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

/** Kubernetes quantities: `500m` CPU, `128Mi` memory. */
function quantity(value: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(value));
  expect(match, `quantity ${String(value)}`).not.toBeNull();
  const factors: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match?.[1]) * (match?.[2] ? (factors[match[2]] ?? NaN) : 1);
}

function preStopSeconds(): number {
  const preStop = relayContainer.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const script = preStop?.exec?.command.join(' ') ?? '';
  const match = /sleep\s+(\d+)|setTimeout\([^,]+,\s*(\d+)\)/.exec(script);
  expect(match, `a preStop sleep, got ${JSON.stringify(preStop)}`).not.toBeNull();
  return match?.[1] !== undefined ? Number(match[1]) : Number(match?.[2]) / 1000;
}

describe('k8s manifests', () => {
  it('parse as Kubernetes objects with a name in every document of every file', () => {
    expect(k8sFiles.length).toBeGreaterThanOrEqual(7);
    for (const object of kubernetesObjects) {
      expect(object.metadata?.name, `${object.file}: ${object.kind} without a name`).toMatch(
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
      );
    }
  });

  it('are all listed in the kustomization, and it lists nothing else', () => {
    const kustomization = only<Manifest & { resources: string[] }>('Kustomization');
    const others = k8sFiles.filter((file) => file !== kustomization.file);
    expect([...kustomization.resources].sort()).toEqual(others);
  });

  it('run 3 relay replicas whose selector matches their pod labels', () => {
    expect(deployment.apiVersion).toBe('apps/v1');
    expect(deployment.spec.replicas).toBe(3);
    expect(selects(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
  });

  it('probe liveness on /healthz and readiness on /readyz at the container port', () => {
    const port = relayEnv('PORT') === undefined ? 8080 : Number(relayEnv('PORT'));
    expect(containerPort(port)).toBe(port);
    const { livenessProbe, readinessProbe, startupProbe } = relayContainer;
    expect(livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(containerPort(livenessProbe?.httpGet?.port ?? -1)).toBe(port);
    expect(readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(containerPort(readinessProbe?.httpGet?.port ?? -1)).toBe(port);
    if (startupProbe) {
      expect(startupProbe.httpGet?.path).toBe('/healthz');
      expect(containerPort(startupProbe.httpGet?.port ?? -1)).toBe(port);
    }
  });

  it('sleep in preStop as long as the drain delay, and grant the drain its whole timeout', () => {
    const sleep = preStopSeconds();
    const drainDelayMs = Number(relayEnv('HUSH_DRAIN_DELAY_MS'));
    const shutdownTimeoutMs = Number(relayEnv('HUSH_SHUTDOWN_TIMEOUT_MS'));
    expect(sleep).toBeGreaterThan(0);
    expect(sleep * 1000).toBe(drainDelayMs);
    expect(shutdownTimeoutMs).toBeGreaterThan(drainDelayMs);
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThan(sleep + shutdownTimeoutMs / 1000);
  });

  it('give the relay CPU and memory requests and limits, requests within limits', () => {
    const { requests, limits } = relayContainer.resources ?? {};
    for (const resource of ['cpu', 'memory'] as const) {
      expect(requests?.[resource], `requests.${resource}`).toBeDefined();
      expect(limits?.[resource], `limits.${resource}`).toBeDefined();
      expect(quantity(requests?.[resource])).toBeLessThanOrEqual(quantity(limits?.[resource]));
    }
  });

  it('run the relay as non-root, read-only, without privilege escalation or capabilities', () => {
    const context = relayContainer.securityContext ?? {};
    expect(context.runAsNonRoot ?? podSpec.securityContext?.runAsNonRoot).toBe(true);
    const uid = context.runAsUser ?? podSpec.securityContext?.runAsUser;
    if (uid !== undefined) expect(uid).toBeGreaterThan(0);
    expect(context.readOnlyRootFilesystem).toBe(true);
    expect(context.allowPrivilegeEscalation).toBe(false);
    expect(context.capabilities?.drop).toContain('ALL');
  });

  it('configure the relay from a ConfigMap that provides REDIS_URL to the Redis Service', () => {
    expect(relayConfigMaps.length).toBeGreaterThan(0);
    const url = new URL(relayConfigMaps.map((c) => c.data['REDIS_URL']).find(Boolean) ?? '');
    expect(url.protocol).toBe('redis:');
    const redisService = only<Service>('Service', (s) => s.metadata.name === url.hostname);
    expect(redisService.spec.ports.map((p) => p.port)).toContain(Number(url.port || 6379));
  });

  it('expose the relay pods through a Service targeting their container port', () => {
    const service = only<Service>('Service', (s) => selects(s.spec.selector, podLabels));
    expect(service.spec.ports.length).toBeGreaterThan(0);
    for (const port of service.spec.ports) {
      expect(containerPort(port.targetPort), `targetPort ${port.targetPort}`).toBeDefined();
    }
  });

  it('autoscale the relay Deployment on CPU from its replica count (autoscaling/v2)', () => {
    const hpa = only<Hpa>('HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    expect(hpa.spec.minReplicas).toBe(deployment.spec.replicas);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(hpa.spec.metrics).toContainEqual(
      expect.objectContaining({
        type: 'Resource',
        resource: expect.objectContaining({ name: 'cpu' }),
      }),
    );
  });

  it('limit voluntary disruptions of the relay pods (policy/v1)', () => {
    const pdb = only<Pdb>('PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(selects(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
    const budget = pdb.spec.maxUnavailable ?? pdb.spec.minAvailable;
    expect(budget).toBeDefined();
    if (pdb.spec.minAvailable !== undefined && typeof pdb.spec.minAvailable === 'number') {
      expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    }
  });

  it('route the Ingress to the relay Service with hour-long WebSocket timeouts', () => {
    const ingress = only<Ingress>('Ingress');
    expect(ingress.apiVersion).toBe('networking.k8s.io/v1');
    const annotations = ingress.metadata.annotations ?? {};
    for (const key of ['proxy-read-timeout', 'proxy-send-timeout']) {
      expect(Number(annotations[`nginx.ingress.kubernetes.io/${key}`]), key).toBeGreaterThanOrEqual(
        3600,
      );
    }
    const service = only<Service>('Service', (s) => selects(s.spec.selector, podLabels));
    const backends = ingress.spec.rules.flatMap((rule) => rule.http.paths);
    expect(backends.map((p) => p.path)).toContain('/');
    for (const { backend } of backends) {
      expect(backend.service.name).toBe(service.metadata.name);
      const port = service.spec.ports.find(
        (p) => p.name === backend.service.port.name || p.port === backend.service.port.number,
      );
      expect(port, `Ingress port ${JSON.stringify(backend.service.port)}`).toBeDefined();
    }
  });

  it('label the Redis they ship as development-only, with a Service that selects it', () => {
    const redis = only<Deployment>('Deployment', (d) => !isRelayDeployment(d));
    expect(read(`k8s/${redis.file}`)).toMatch(/DEVELOPMENT ONLY/);
    const labels = redis.spec.template.metadata.labels ?? {};
    expect(Object.values(labels)).toContain('development-only');
    expect(selects(redis.spec.selector.matchLabels, labels)).toBe(true);
    only<Service>('Service', (s) => selects(s.spec.selector, labels));
  });
});

// --- docker-compose.yml -----------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; args?: Record<string, string> };
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target: number; published: string | number })[];
  volumes?: (string | { source: string; target: string })[];
  healthcheck?: { test: string[] | string };
  depends_on?: string[] | Record<string, unknown>;
  deploy?: { replicas?: number };
  networks?: string[] | Record<string, unknown>;
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

const compose = parse(read('docker-compose.yml')) as Compose;

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

function builtFromDockerfile(service: ComposeService): boolean {
  const { build } = service;
  if (build === undefined) return false;
  const context = typeof build === 'string' ? build : (build.context ?? '.');
  const dockerfile = typeof build === 'string' ? 'Dockerfile' : (build.dockerfile ?? 'Dockerfile');
  return ['.', './'].includes(context) && ['Dockerfile', './Dockerfile'].includes(dockerfile);
}

const relayServices = Object.entries(compose.services).filter(([, s]) => builtFromDockerfile(s));
const redisService = Object.entries(compose.services).find(([, s]) =>
  (s.image ?? '').includes('HUSH_REDIS_IMAGE'),
);
const lbService = Object.entries(compose.services).find(([, s]) =>
  (s.ports ?? []).some((p) =>
    (typeof p === 'string' ? interpolate(p) : `${p.published}:${p.target}`).startsWith('8080:'),
  ),
);

/** The IPv4 subnet of a network, as [first address, last address]. */
function subnetRange(cidr: string): [string, string] {
  const [base = '', bits = '32'] = cidr.split('/');
  const value = base.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(bits));
  const address = (n: number) =>
    [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
  return [address(value), address(value + size - 1)];
}

describe('docker-compose.yml', () => {
  it('runs Redis from a configurable image (HUSH_REDIS_IMAGE) with a health check', () => {
    expect(redisService, 'a service with image ${HUSH_REDIS_IMAGE:-…}').toBeDefined();
    const [, redis] = redisService ?? [];
    expect(interpolate(redis?.image ?? '')).toMatch(/^redis:7/);
    expect(redis?.healthcheck).toBeDefined();
  });

  it('runs at least 3 relay replicas built from ./Dockerfile, each pointed at that Redis', () => {
    const replicas = relayServices.reduce((sum, [, s]) => sum + (s.deploy?.replicas ?? 1), 0);
    expect(replicas).toBeGreaterThanOrEqual(3);
    for (const [name, relay] of relayServices) {
      const url = new URL(environment(relay)['REDIS_URL'] ?? '');
      expect(url.hostname, name).toBe(redisService?.[0]);
      expect(relay.healthcheck, `${name} health check`).toBeDefined();
      expect(JSON.stringify(relay.healthcheck?.test)).toContain('/healthz');
      expect(namesOf(relay.depends_on)).toContain(redisService?.[0]);
    }
  });

  it('lets the relays trust X-Forwarded-For from the load balancer network only', () => {
    const [lbName, lb] = lbService ?? [];
    expect(lbName).toBeDefined();
    const shared = namesOf(lb?.networks).filter((network) =>
      relayServices.every(([, relay]) => namesOf(relay.networks).includes(network)),
    );
    expect(shared.length, 'a network shared by the load balancer and every relay').toBeGreaterThan(
      0,
    );
    for (const [name, relay] of relayServices) {
      const trusted = new BlockList();
      for (const entry of (environment(relay)['HUSH_TRUSTED_PROXIES'] ?? '').split(',')) {
        const [address = '', prefix] = entry.trim().split('/');
        expect(isIP(address), `${name}: trusted proxy ${entry}`).toBe(4);
        trusted.addSubnet(address, Number(prefix ?? 32), 'ipv4');
      }
      const covered = shared.some((network) =>
        (compose.networks?.[network]?.ipam?.config ?? []).some(({ subnet }) =>
          subnetRange(interpolate(subnet ?? '')).every((address) => trusted.check(address, 'ipv4')),
        ),
      );
      expect(covered, `${name}: HUSH_TRUSTED_PROXIES covers the load balancer network`).toBe(true);
    }
  });

  it('publishes an nginx load balancer on host port 8080 that upgrades WebSockets to every relay', () => {
    const [lbName, lb] = lbService ?? [];
    expect(lbName, 'a service publishing port 8080').toBeDefined();
    for (const [name] of relayServices) expect(namesOf(lb?.depends_on)).toContain(name);
    const mount = (lb?.volumes ?? [])
      .map((v) => (typeof v === 'string' ? v.split(':')[0] : v.source))
      .find((source) => source?.endsWith('.conf'));
    expect(mount).toBe('./deploy/nginx.conf');
    const nginx = read('deploy/nginx.conf').replace(/#.*$/gm, '');
    expect(nginx).toMatch(/proxy_http_version\s+1\.1;/);
    expect(nginx).toMatch(/proxy_set_header\s+Upgrade\s+\$http_upgrade;/);
    expect(nginx).toMatch(/proxy_set_header\s+Connection\s+\$connection_upgrade;/);
    expect(nginx).toMatch(/map\s+\$http_upgrade\s+\$connection_upgrade\s*\{[^}]*\bupgrade;/);
    expect(nginx).toMatch(/proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;/);
    expect(nginx).toMatch(/listen\s+8080;/);
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
    expect(last('EXPOSE')).toBe('8080');
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

describe('environment variables in deployment files', () => {
  const named: { where: string; name: string }[] = [
    ...relayConfigMaps.flatMap((c) =>
      Object.keys(c.data).map((name) => ({ where: `k8s/${c.file}`, name })),
    ),
    ...podSpec.containers.flatMap((c) =>
      (c.env ?? []).map((variable) => ({ where: `k8s/${deployment.file}`, name: variable.name })),
    ),
    ...relayServices.flatMap(([service, s]) =>
      Object.keys(environment(s)).map((name) => ({ where: `docker-compose.yml ${service}`, name })),
    ),
    ...dockerfile
      .filter((i) => i.keyword === 'ENV')
      .flatMap((i) =>
        [...i.args.matchAll(/(\w+)=/g)].map((m) => ({ where: 'Dockerfile', name: m[1] ?? '' })),
      ),
  ];

  it('are found in the ConfigMap, the Deployment, the compose file and the Dockerfile', () => {
    const places = new Set(named.map((n) => n.where.split(' ')[0]));
    expect(places).toEqual(
      new Set([
        `k8s/${relayConfigMaps[0]?.file}`,
        `k8s/${deployment.file}`,
        'docker-compose.yml',
        'Dockerfile',
      ]),
    );
  });

  it.each(named.map(({ where, name }) => [name, where]))('%s (%s) is read by the relay', (name) => {
    expect(RELAY_ENV).toContain(name);
  });
});
