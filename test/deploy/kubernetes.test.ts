/**
 * The Kubernetes manifests as a cluster would receive them: each kustomization (development
 * `k8s/`, `k8s/overlays/production/`) is rendered with `kubectl kustomize` (Debian's
 * kubernetes-client renders them as well as a current kubectl), every object is validated
 * against the Kubernetes OpenAPI schemas of the minimum version k8s/README.md states, and the
 * objects are checked against each other and against the relay's real configuration.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CONFIG_FILE_ENV, ENV_VARS } from '../../apps/relay/src/config/load-config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const KUBECTL = process.env.HUSH_KUBECTL ?? 'kubectl';

/**
 * The oldest Kubernetes the manifests support (k8s/README.md). kubernetes-models 4.5.x carries
 * the OpenAPI schemas of Kubernetes 1.33.0 (its changelog); moving either means moving both.
 */
const MINIMUM_KUBERNETES = '1.33';
const SCHEMA_PACKAGE_FOR_MINIMUM = /^4\.5\./;

/** Variables the relay reads; NODE_ENV is Node's own, set by the Dockerfile. */
const RELAY_ENV = new Set([
  ...Object.values(ENV_VARS),
  CONFIG_FILE_ENV,
  'PORT',
  'HOST',
  'REDIS_URL',
  'NODE_ENV',
]);

interface Metadata {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Metadata & { namespace?: string };
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
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }[];
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
    unhealthyPodEvictionPolicy?: string;
  };
}
interface IngressBackend {
  service: { name: string; port: { name?: string; number?: number } };
}
interface Ingress extends Manifest {
  spec: {
    tls?: { hosts?: string[]; secretName?: string }[];
    rules: {
      host?: string;
      http: { paths: { path: string; pathType: string; backend: IngressBackend }[] };
    }[];
  };
}

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

function preStopSeconds(relayContainer: Container): number {
  const preStop = relayContainer.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const script = preStop?.exec?.command.join(' ') ?? '';
  const match = /sleep\s+(\d+)|setTimeout\([^,]+,\s*(\d+)\)/.exec(script);
  expect(match, `a preStop sleep, got ${JSON.stringify(preStop)}`).not.toBeNull();
  return match?.[1] !== undefined ? Number(match[1]) : Number(match?.[2]) / 1000;
}

/** `kubectl kustomize <dir>` parsed into objects. */
function render(directory: string): Manifest[] {
  const output = execFileSync(KUBECTL, ['kustomize', join(ROOT, directory)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseAllDocuments(output).map((document) => {
    if (document.errors.length > 0) {
      throw new Error(`${directory}: ${document.errors.map((e) => e.message).join('; ')}`);
    }
    return document.toJS() as Manifest;
  });
}

/** The schema model class of an object's apiVersion and kind, from kubernetes-models. */
interface SchemaModel {
  validate(): void;
}
type ModelClass = new (data: unknown) => SchemaModel;
async function modelOf(object: Manifest): Promise<ModelClass | undefined> {
  const module = (await import(
    /* @vite-ignore */ `kubernetes-models/${object.apiVersion}`
  )) as Record<string, ModelClass | undefined>;
  return module[object.kind];
}

/** Schema violations of an object, as `path: message` lines; empty when it is valid. */
async function schemaErrors(object: Manifest): Promise<string[]> {
  const Model = await modelOf(object);
  if (Model === undefined) return [`no schema for ${object.apiVersion} ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const { errors } = error as { errors?: { instancePath: string; message?: string }[] };
    return (errors ?? [{ instancePath: '', message: String(error) }]).map(
      (e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`,
    );
  }
}

function must<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new Error(message);
  return value;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

const RELAY_IMAGE = /(^|\/)hush-relay(:|@|$)/;
const isRelayDeployment = (d: Deployment) =>
  d.spec.template.spec.containers.some((c) => RELAY_IMAGE.test(c.image));

/** One rendered kustomization and the relay's pieces in it. */
function release(directory: string) {
  const objects = render(directory);
  /** The one object of `kind` (matching `predicate`); throws when there are none or several. */
  function only<T extends Manifest>(kind: string, predicate: (m: T) => boolean = () => true): T {
    const matching = objects
      .filter((m) => m.kind === kind)
      .map((m) => m as T)
      .filter(predicate);
    if (matching.length !== 1) {
      throw new Error(`${directory}: expected one matching ${kind}, found ${matching.length}`);
    }
    return must(matching[0], kind);
  }
  const deployment = only<Deployment>('Deployment', isRelayDeployment);
  const podSpec = deployment.spec.template.spec;
  const container = must(
    podSpec.containers.find((c) => RELAY_IMAGE.test(c.image)),
    `${directory}: no hush-relay container`,
  );
  const configMaps = (container.envFrom ?? []).flatMap((source) =>
    source.configMapRef
      ? [only<ConfigMap>('ConfigMap', (c) => c.metadata.name === source.configMapRef?.name)]
      : [],
  );
  return {
    objects,
    only,
    deployment,
    podSpec,
    container,
    configMaps,
    podLabels: deployment.spec.template.metadata.labels ?? {},
    /** The container port a probe, Service or Ingress names, by number or by port name. */
    containerPort(port: number | string): number | undefined {
      const found = (container.ports ?? []).find((p) =>
        typeof port === 'number' ? p.containerPort === port : p.name === port,
      );
      return found?.containerPort;
    },
    /** A variable of the relay's environment: `env` wins over the ConfigMaps. */
    env(name: string) {
      const direct = container.env?.find((variable) => variable.name === name);
      if (direct) return direct;
      const value = configMaps.map((c) => c.data[name]).find((v) => v !== undefined);
      return value === undefined ? undefined : { name, value };
    },
  };
}

const KUSTOMIZATIONS = [
  'k8s',
  'k8s/overlays/production',
  'k8s/overlays/autoscale-connections',
] as const;

describe('kubectl kustomize', () => {
  it.each(KUSTOMIZATIONS)('renders %s', (directory) => {
    expect(render(directory).length).toBeGreaterThanOrEqual(6);
  });

  it('finds every manifest under k8s/ in some kustomization (no stray files)', () => {
    const listed = new Set<string>();
    const visit = (directory: string): void => {
      const text = read(join(directory, 'kustomization.yaml'));
      const entries = [...text.matchAll(/^\s*-\s+(\S+\.ya?ml|\.{0,2}\/?[\w./-]+)\s*$/gm)].map(
        (m) => m[1] ?? '',
      );
      for (const entry of entries) {
        const path = join(directory, entry);
        if (statSync(join(ROOT, path), { throwIfNoEntry: false })?.isDirectory()) continue;
        listed.add(path);
      }
    };
    const all: string[] = [];
    const walk = (directory: string): void => {
      for (const name of readdirSync(join(ROOT, directory))) {
        const path = join(directory, name);
        if (statSync(join(ROOT, path)).isDirectory()) walk(path);
        else if (/\.ya?ml$/.test(name) && name !== 'kustomization.yaml') all.push(path);
        else if (name === 'kustomization.yaml') visit(directory);
      }
    };
    walk('k8s');
    expect(all.filter((file) => !listed.has(file)).map((file) => relative('.', file))).toEqual([]);
  });
});

describe(`schemas of Kubernetes ${MINIMUM_KUBERNETES}`, () => {
  it(`come from kubernetes-models with the ${MINIMUM_KUBERNETES} schemas`, () => {
    const require = createRequire(import.meta.url);
    const { version } = require('kubernetes-models/package.json') as { version: string };
    expect(version).toMatch(SCHEMA_PACKAGE_FOR_MINIMUM);
  });

  it.each(
    KUSTOMIZATIONS.flatMap((directory) =>
      render(directory).map((o) => [directory, o.kind, o.metadata.name, o] as const),
    ),
  )('%s: %s %s is valid', async (_directory, _kind, _name, object) => {
    expect(await schemaErrors(object)).toEqual([]);
  });

  it('reject what a cluster would reject (a wrong type, a missing required field)', async () => {
    const { deployment } = release('k8s');
    const broken = structuredClone(deployment) as unknown as {
      spec: { replicas: unknown; template: { spec: { containers: { name?: string }[] } } };
    };
    broken.spec.replicas = 'three';
    delete broken.spec.template.spec.containers[0]?.name;
    const errors = await schemaErrors(broken as unknown as Manifest);
    expect(errors).toContainEqual(expect.stringMatching(/^\/spec\/replicas: /));
    expect(errors).toContainEqual(expect.stringMatching(/containers\/0: .*name/));
  });
});

describe.each(KUSTOMIZATIONS)('%s', (directory) => {
  const r = release(directory);
  const { deployment, podSpec, container, podLabels, only } = r;

  it('runs at least 3 relay replicas whose selector matches their pod labels', () => {
    expect(deployment.apiVersion).toBe('apps/v1');
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(3);
    expect(selects(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
  });

  it('probes liveness on /healthz and readiness on /readyz at the container port', () => {
    const port = r.env('PORT')?.value === undefined ? 8080 : Number(r.env('PORT')?.value);
    expect(r.containerPort(port)).toBe(port);
    const { livenessProbe, readinessProbe, startupProbe } = container;
    expect(livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(r.containerPort(livenessProbe?.httpGet?.port ?? -1)).toBe(port);
    expect(readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(r.containerPort(readinessProbe?.httpGet?.port ?? -1)).toBe(port);
    if (startupProbe) {
      expect(startupProbe.httpGet?.path).toBe('/healthz');
      expect(r.containerPort(startupProbe.httpGet?.port ?? -1)).toBe(port);
    }
  });

  it('declares the metrics port Prometheus scrapes, apart from the public port', () => {
    const annotations = deployment.spec.template.metadata.annotations ?? {};
    expect(annotations['prometheus.io/scrape']).toBe('true');
    const port = Number(annotations['prometheus.io/port']);
    expect(r.containerPort('metrics')).toBe(port);
    expect(r.containerPort('http')).not.toBe(port);
    const metricsPort = r.env('HUSH_METRICS_PORT')?.value;
    // The relay's default metrics port is 9464 unless the environment moves it.
    expect(Number(metricsPort ?? 9464)).toBe(port);
  });

  it('waits for endpoint removal in preStop instead of a drain delay, and grants the drain window its whole timeout', () => {
    const sleep = preStopSeconds(container);
    const drainDelayMs = Number(r.env('HUSH_DRAIN_DELAY_MS')?.value ?? 0);
    const drainWindowMs = Number(r.env('HUSH_DRAIN_WINDOW_MS')?.value);
    const shutdownTimeoutMs = Number(r.env('HUSH_SHUTDOWN_TIMEOUT_MS')?.value);
    expect(sleep).toBeGreaterThan(0);
    // The two pauses would add up: the preStop sleep is the one.
    expect(drainDelayMs).toBe(0);
    expect(shutdownTimeoutMs).toBeGreaterThan(drainDelayMs + drainWindowMs);
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThan(sleep + shutdownTimeoutMs / 1000);
  });

  it('requests CPU and memory, limits memory, and sets no CPU limit on the one event loop', () => {
    const { requests, limits } = container.resources ?? {};
    for (const resource of ['cpu', 'memory'] as const) {
      expect(requests?.[resource], `requests.${resource}`).toBeDefined();
    }
    expect(limits?.memory).toBeDefined();
    expect(quantity(requests?.memory)).toBeLessThanOrEqual(quantity(limits?.memory));
    expect(limits?.cpu).toBeUndefined();
    expect(quantity(requests?.cpu)).toBeLessThanOrEqual(1);
  });

  it('runs the relay as non-root, read-only, without privilege escalation or capabilities', () => {
    const context = container.securityContext ?? {};
    expect(context.runAsNonRoot ?? podSpec.securityContext?.runAsNonRoot).toBe(true);
    const uid = context.runAsUser ?? podSpec.securityContext?.runAsUser;
    if (uid !== undefined) expect(uid).toBeGreaterThan(0);
    expect(context.readOnlyRootFilesystem).toBe(true);
    expect(context.allowPrivilegeEscalation).toBe(false);
    expect(context.capabilities?.drop).toContain('ALL');
  });

  it('gives the relay a redis:// or rediss:// REDIS_URL, from a Secret or from a Redis it ships', () => {
    const variable = must(r.env('REDIS_URL'), 'REDIS_URL is not set');
    const secret = variable.valueFrom?.secretKeyRef;
    if (secret !== undefined) {
      expect(secret.key).not.toBe('');
      // An external Redis: nothing of the development Redis is deployed.
      expect(r.objects.filter((o) => o.metadata.labels?.['hush.dev/environment'])).toEqual([]);
      return;
    }
    const url = new URL(variable.value ?? '');
    expect(url.protocol).toMatch(/^rediss?:$/);
    const redisService = only<Service>('Service', (s) => s.metadata.name === url.hostname);
    expect(redisService.spec.ports.map((p) => p.port)).toContain(Number(url.port || 6379));
  });

  it('passes the relay only environment variables it reads', () => {
    const names = [
      ...r.configMaps.flatMap((c) => Object.keys(c.data)),
      ...(container.env ?? []).map((variable) => variable.name),
    ];
    expect(names.filter((name) => !RELAY_ENV.has(name))).toEqual([]);
  });

  it('exposes the relay pods through a Service targeting their public port only', () => {
    const service = only<Service>('Service', (s) => selects(s.spec.selector, podLabels));
    expect(service.spec.ports.length).toBeGreaterThan(0);
    for (const port of service.spec.ports) {
      expect(r.containerPort(port.targetPort), `targetPort ${port.targetPort}`).toBeDefined();
      expect(port.targetPort).not.toBe('metrics');
    }
  });

  it('autoscales the relay Deployment on CPU from its replica count (autoscaling/v2)', () => {
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

  it('limits voluntary disruptions of the relay pods (policy/v1), never blocking on unready ones', () => {
    const pdb = only<Pdb>('PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    expect(selects(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(pdb.spec.maxUnavailable ?? pdb.spec.minAvailable).toBeDefined();
    if (typeof pdb.spec.minAvailable === 'number') {
      expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    }
  });

  it('routes the Ingress to the relay Service with hour-long WebSocket timeouts', () => {
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
});

describe('the development kustomization (k8s/)', () => {
  it('ships a Redis labelled development-only, with a Service that selects it', () => {
    const { only } = release('k8s');
    const redis = only<Deployment>('Deployment', (d) => !isRelayDeployment(d));
    expect(read('k8s/redis-dev.yaml')).toMatch(/DEVELOPMENT ONLY/);
    const labels = redis.spec.template.metadata.labels ?? {};
    expect(Object.values(labels)).toContain('development-only');
    expect(selects(redis.spec.selector.matchLabels, labels)).toBe(true);
    only<Service>('Service', (s) => selects(s.spec.selector, labels));
  });
});

describe('the production overlay (k8s/overlays/production)', () => {
  const production = release('k8s/overlays/production');
  const base = release('k8s');

  it('runs more replicas with more resources than the base, in its own namespace', () => {
    expect(production.deployment.spec.replicas).toBeGreaterThan(base.deployment.spec.replicas);
    for (const resource of ['cpu', 'memory'] as const) {
      expect(quantity(production.container.resources?.requests?.[resource])).toBeGreaterThan(
        quantity(base.container.resources?.requests?.[resource]),
      );
    }
    const namespaces = new Set(production.objects.map((o) => o.metadata.namespace));
    expect([...namespaces]).toEqual(['hush']);
  });

  it('takes REDIS_URL from a Secret and leaves none in the ConfigMap', () => {
    expect(production.env('REDIS_URL')?.valueFrom?.secretKeyRef).toBeDefined();
    for (const configMap of production.configMaps)
      expect(configMap.data).not.toHaveProperty('REDIS_URL');
  });

  it('serves a public host over TLS and allows WebSockets only from that origin', () => {
    const ingress = production.only<Ingress>('Ingress');
    const hosts = ingress.spec.rules.map((rule) => rule.host);
    expect(hosts.every((host) => typeof host === 'string' && host !== '')).toBe(true);
    const tlsHosts = (ingress.spec.tls ?? []).flatMap((tls) => tls.hosts ?? []);
    for (const host of hosts) expect(tlsHosts).toContain(host);
    expect(ingress.spec.tls?.every((tls) => tls.secretName)).toBe(true);
    const origins = (production.env('HUSH_ALLOWED_ORIGINS')?.value ?? '').split(',');
    expect(origins).toEqual(hosts.map((host) => `https://${host}`));
  });

  it('pulls the relay image from a registry by a fixed tag', () => {
    expect(production.container.image).toMatch(/^[\w.-]+(:\d+)?\/[\w./-]+:[\w.-]+$/);
    expect(production.container.image).not.toMatch(/:(local|latest)$/);
  });
});
