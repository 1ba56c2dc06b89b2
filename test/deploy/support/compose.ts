/**
 * Runs the repository's docker-compose.yml as a throwaway project for the deploy test: its own
 * project name, a free host port on 127.0.0.1 and a free /24 for the load balancer network, so
 * it never collides with a developer's own `docker compose up`. Images come from the
 * environment `npm run test:deploy` prepares (HUSH_NODE_IMAGE, HUSH_REDIS_IMAGE, HUSH_LB_IMAGE).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../support/ports.js';

const run = promisify(execFile);
export const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url));

/** Output of a command, or an error carrying its stderr. */
export async function sh(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout } = await run(command, args, {
      cwd: REPOSITORY,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(
      `${command} ${args.join(' ')} failed: ${(error as Error).message}\n${stdout ?? ''}\n${stderr ?? ''}`,
      { cause: error },
    );
  }
}

/** `docker compose` (the plugin) when it is there, else `docker-compose` (Debian's package). */
async function composeCommand(): Promise<[string, string[]]> {
  try {
    await sh('docker', ['compose', 'version']);
    return ['docker', ['compose']];
  } catch {
    await sh('docker-compose', ['version']);
    return ['docker-compose', []];
  }
}

/** [first, last] address of an IPv4 CIDR as numbers; undefined for IPv6. */
function ipv4Range(cidr: string): [number, number] | undefined {
  const [base = '', bits = '32'] = cidr.split('/');
  const octets = base.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o))) return undefined;
  const start = octets.reduce((n, octet) => n * 256 + octet, 0);
  const size = 2 ** (32 - Number(bits));
  const first = start - (start % size);
  return [first, first + size - 1];
}

/**
 * First three octets of a /24 in 10.231.0.0/16 that no Docker network on this engine overlaps.
 * Outside Docker's default address pools (172.17–31.0.0/16, 192.168.0.0/16), so the project's
 * other network, which Docker allocates from those pools, cannot take it first.
 */
async function freeEdgePrefix(): Promise<string> {
  const ids = (await sh('docker', ['network', 'ls', '--quiet'])).split('\n').filter(Boolean);
  const subnets =
    ids.length === 0
      ? ''
      : await sh('docker', [
          'network',
          'inspect',
          '--format',
          '{{range .IPAM.Config}}{{.Subnet}} {{end}}',
          ...ids,
        ]);
  const used = subnets
    .split(/\s+/)
    .map(ipv4Range)
    .filter((range) => range !== undefined);
  for (let third = 0; third < 256; third += 1) {
    const [first, last] = ipv4Range(`10.231.${third}.0/24`) ?? [0, 0];
    if (!used.some(([start, end]) => start <= last && first <= end)) return `10.231.${third}`;
  }
  throw new Error('no free /24 in 10.231.0.0/16 for the load balancer network');
}

export interface ContainerState {
  id: string;
  running: boolean;
  exitCode: number;
  pid: number;
  user: string;
  readOnlyRootfs: boolean;
}

/** A running compose project. */
export class ComposeProject {
  private constructor(
    readonly name: string,
    /** http://127.0.0.1:<port> of the load balancer. */
    readonly url: string,
    readonly edgePrefix: string,
    private readonly command: [string, string[]],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async create(): Promise<ComposeProject> {
    const command = await composeCommand();
    const port = await freePort();
    const edgePrefix = await freeEdgePrefix();
    const name = `hush-deploy-${process.pid}`;
    const env = {
      ...process.env,
      COMPOSE_PROJECT_NAME: name,
      HUSH_HOST_IP: '127.0.0.1',
      HUSH_PORT: String(port),
      HUSH_EDGE_PREFIX: edgePrefix,
    };
    return new ComposeProject(name, `http://127.0.0.1:${port}`, edgePrefix, command, env);
  }

  /** Runs a compose subcommand for this project. */
  compose(args: string[], timeoutMs = 120_000): Promise<string> {
    const [command, prefix] = this.command;
    return sh(command, [...prefix, '--project-name', this.name, ...args], {
      env: this.env,
      timeoutMs,
    });
  }

  private readonly ids = new Map<string, string>();

  /** The container id of a service (one container per service here; stopping keeps its id). */
  async container(service: string): Promise<string> {
    const known = this.ids.get(service);
    if (known !== undefined) return known;
    const id = (await this.compose(['ps', '--quiet', service])).trim();
    if (id === '') throw new Error(`no container for service ${service}`);
    this.ids.set(service, id);
    return id;
  }

  async inspect(service: string): Promise<ContainerState> {
    const id = await this.container(service);
    const [running = '', exitCode = '', pid = '', user = '', readOnly = ''] = (
      await sh('docker', [
        'inspect',
        '--format',
        '{{.State.Running}}|{{.State.ExitCode}}|{{.State.Pid}}|{{.Config.User}}|{{.HostConfig.ReadonlyRootfs}}',
        id,
      ])
    )
      .trim()
      .split('|');
    return {
      id,
      running: running === 'true',
      exitCode: Number(exitCode),
      pid: Number(pid),
      user,
      readOnlyRootfs: readOnly === 'true',
    };
  }

  /** Runs node inside a relay container (the relay image has node and nothing else). */
  async nodeIn(service: string, script: string): Promise<string> {
    return sh('docker', ['exec', await this.container(service), 'node', '-e', script]);
  }

  /**
   * The `hush_connections` gauge of each named relay, read with one `docker exec` in the first
   * of them (the relays reach each other by service name) from wherever a replica serves
   * Prometheus metrics: its metrics port (HUSH_METRICS_PORT, default 9464) or, on relays that
   * still serve them there, the main port.
   */
  async openConnections(relays: readonly string[]): Promise<number[]> {
    const [first] = relays;
    if (first === undefined) return [];
    const output = await this.nodeIn(
      first,
      `const hosts = ${JSON.stringify(relays)};
      const ports = [process.env.HUSH_METRICS_PORT || 9464, process.env.PORT || 8080];
      async function gauge(host) {
        for (const port of ports) {
          try {
            const response = await fetch('http://' + host + ':' + port + '/metrics');
            const line = (await response.text())
              .split('\\n')
              .find((l) => l.startsWith('hush_connections '));
            if (response.ok && line) return Number(line.split(' ')[1]);
          } catch {}
        }
        throw new Error('no metrics from ' + host);
      }
      Promise.all(hosts.map(gauge)).then((counts) => console.log(JSON.stringify(counts)));`,
    );
    return JSON.parse(output) as number[];
  }

  /** Every container of the project, running or not. */
  async containers(): Promise<string[]> {
    return (
      await sh('docker', [
        'ps',
        '--all',
        '--quiet',
        '--filter',
        `label=com.docker.compose.project=${this.name}`,
      ])
    )
      .split('\n')
      .filter(Boolean);
  }

  async networks(): Promise<string[]> {
    return (
      await sh('docker', [
        'network',
        'ls',
        '--quiet',
        '--filter',
        `label=com.docker.compose.project=${this.name}`,
      ])
    )
      .split('\n')
      .filter(Boolean);
  }

  /** Stops and removes every container, network and anonymous volume of the project. */
  async down(): Promise<void> {
    await this.compose(['down', '--volumes', '--remove-orphans', '--timeout', '1']);
  }
}

/** Uid, gid, effective capabilities and no_new_privs of a process, from /proc (Linux hosts). */
export function processStatus(pid: number): {
  uids: number[];
  gids: number[];
  capEff: bigint;
  noNewPrivs: boolean;
} {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): string =>
    new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
  return {
    uids: field('Uid').split(/\s+/).map(Number),
    gids: field('Gid').split(/\s+/).map(Number),
    capEff: BigInt(`0x${field('CapEff') || '0'}`),
    noNewPrivs: field('NoNewPrivs') === '1',
  };
}
