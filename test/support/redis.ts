/**
 * Throwaway Redis servers for integration tests, run with testcontainers.
 *
 * - Image: `HUSH_REDIS_IMAGE` (CI and the dev machine: `hush-redis:local`, built FROM scratch
 *   by `scripts/ci/build-redis-image.sh`), else `redis:7-alpine` for machines with a registry.
 * - Networking: the container shares the host's network and Redis listens on a free port, so
 *   the port never changes across `pause()`/`resume()` and a cluster node announces an address
 *   the host can reach. (Needs a Linux Docker host; Docker Desktop only with host networking.)
 * - Cleanup: Ryuk is disabled in CI, so `stop()` removes the container. Containers carry the
 *   label `hush-test=1` plus the owning process id; a process exit removes the ones still
 *   running, the next `startRedis()` reaps those of dead processes, and `.ci/run` removes
 *   leftovers before the suite.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP, connect } from 'node:net';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { GenericContainer, Wait, getContainerRuntimeClient } from 'testcontainers';
import type { StartedTestContainer } from 'testcontainers';
import { freePort } from './ports.js';

export interface TestRedis {
  /** `redis://host:port` */
  url: string;
  host: string;
  port: number;
  /** Stops and removes the container. Idempotent. */
  stop(): Promise<void>;
  /** stops the server process and starts it again on the SAME host port (for outage tests) */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export interface StartRedisOptions {
  /** Single-node Redis Cluster owning all 16384 slots (for ioredis `Cluster`). */
  cluster?: boolean;
}

export const REDIS_IMAGE = process.env.HUSH_REDIS_IMAGE ?? 'redis:7-alpine';
export const TEST_LABEL = 'hush-test';

const READY_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 3;
const STOP_GRACE_MS = 2_000;

export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const cluster = options.cluster ?? false;
  const runtime = await getContainerRuntimeClient();
  await reapOrphans();
  const host = await reachableAddress(runtime.info.containerRuntime.host);

  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const token = randomUUID();
    const logs = new LogTail();
    const args = [
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      '--bind',
      '0.0.0.0',
      // A unique pid file name lets the readiness check tell our server from anything else
      // that may have grabbed the port between freePort() and Redis binding it.
      '--pidfile',
      `/tmp/hush-${token}.pid`,
    ];
    if (cluster) {
      args.push('--cluster-enabled', 'yes', '--cluster-announce-ip', host);
    }

    let container: StartedTestContainer | undefined;
    try {
      container = await new GenericContainer(REDIS_IMAGE)
        .withNetworkMode('host')
        .withCommand(args)
        .withLabels({
          [TEST_LABEL]: '1',
          [`${TEST_LABEL}.pid`]: String(process.pid),
          [`${TEST_LABEL}.host`]: hostname(),
          [`${TEST_LABEL}.token`]: token,
        })
        .withLogConsumer((stream: Readable) => logs.follow(stream))
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
        .withStartupTimeout(READY_TIMEOUT_MS)
        .start();
      live.add(container.getId());
      registerExitCleanup();
      await waitForServer(host, port, token, container.getId(), logs);
      if (cluster) {
        await command(host, port, ['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']);
        await waitForClusterOk(host, port, container.getId(), logs);
      }
    } catch (error) {
      if (container !== undefined) {
        await removeQuietly(container);
      } else {
        await removeByToken(token);
      }
      if (attempt < START_ATTEMPTS && /address already in use/i.test(logs.text)) {
        continue;
      }
      const hint =
        process.env.HUSH_REDIS_IMAGE === undefined
          ? '\nWithout an image registry: scripts/ci/build-redis-image.sh && export HUSH_REDIS_IMAGE=hush-redis:local'
          : '';
      throw new Error(
        `Redis (${REDIS_IMAGE}) did not start on ${host}:${port}: ${describe(error)}${hint}\n${logs.text}`,
        { cause: error },
      );
    }
    return handle(container, { host, port, cluster, token, logs });
  }
}

interface Started {
  host: string;
  port: number;
  cluster: boolean;
  token: string;
  logs: LogTail;
}

function handle(container: StartedTestContainer, started: Started): TestRedis {
  const { host, port, cluster, token, logs } = started;
  const id = container.getId();
  let paused = false;
  let stopped = false;

  return {
    url: `redis://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
      } finally {
        live.delete(id);
      }
    },
    async pause() {
      if (stopped) throw new Error('pause() after stop()');
      if (paused) return;
      const runtime = await getContainerRuntimeClient();
      await runtime.container.stop(runtime.container.getById(id), { timeout: STOP_GRACE_MS });
      paused = true;
      await waitForRefused(host, port);
    },
    async resume() {
      if (stopped) throw new Error('resume() after stop()');
      if (!paused) return;
      const runtime = await getContainerRuntimeClient();
      const ref = runtime.container.getById(id);
      const since = Math.floor(Date.now() / 1000);
      await runtime.container.start(ref);
      paused = false;
      logs.follow(await runtime.container.logs(ref, { since }));
      await waitForServer(host, port, token, id, logs);
      if (cluster) {
        // nodes.conf survives in the stopped container, so the slots normally come back.
        const info = await command(host, port, ['CLUSTER', 'INFO']);
        if (/cluster_slots_assigned:0\b/.test(String(info))) {
          await command(host, port, ['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']);
        }
        await waitForClusterOk(host, port, id, logs);
      }
    },
  };
}

/** An IP address clients on this machine can use to reach a host-networked container. */
async function reachableAddress(dockerHost: string): Promise<string> {
  if (dockerHost === 'localhost') return '127.0.0.1';
  if (isIP(dockerHost) !== 0) return dockerHost;
  return (await lookup(dockerHost, { family: 4 })).address;
}

async function waitForServer(
  host: string,
  port: number,
  token: string,
  id: string,
  logs: LogTail,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if ((await command(host, port, ['PING'])) === 'PONG') {
        const pidfile = await command(host, port, ['CONFIG', 'GET', 'pidfile']);
        if (!Array.isArray(pidfile) || !String(pidfile[1]).includes(token)) {
          throw new Error(`port ${port} is served by another Redis (pidfile ${String(pidfile)})`);
        }
        return;
      }
    } catch (error) {
      last = error;
      if (!(await isRunning(id))) {
        throw new Error(`container exited: ${describe(error)}\n${logs.text}`, { cause: error });
      }
    }
    await sleep(100);
  }
  throw new Error(`Redis on ${host}:${port} not ready: ${describe(last)}\n${logs.text}`);
}

async function waitForClusterOk(
  host: string,
  port: number,
  id: string,
  logs: LogTail,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let info: RespValue = null;
  while (Date.now() < deadline) {
    info = await command(host, port, ['CLUSTER', 'INFO']);
    if (/cluster_state:ok\b/.test(String(info))) return;
    if (!(await isRunning(id))) break;
    await sleep(100);
  }
  throw new Error(
    `cluster on ${host}:${port} never reached cluster_state:ok\n${String(info)}\n${logs.text}`,
  );
}

/** Resolves once a TCP connect to the port is refused (the server is really gone). */
async function waitForRefused(host: string, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      await command(host, port, ['PING'], 500);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') return;
    }
    await sleep(50);
  }
  throw new Error(`Redis on ${host}:${port} still accepts connections after pause()`);
}

async function isRunning(id: string): Promise<boolean> {
  try {
    const runtime = await getContainerRuntimeClient();
    const info = await runtime.container.inspect(runtime.container.getById(id));
    return info.State.Running;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Cleanup

const live = new Set<string>();
let exitCleanupRegistered = false;
let reaped = false;

/**
 * Last resort when a test never reaches `stop()`: remove our containers when the process
 * exits. Vitest ends its fork workers with SIGTERM (and SIGKILL 500 ms later), which skips
 * 'exit' handlers, so signals are handled too: start a detached `docker rm` (it outlives this
 * process) and re-raise the signal.
 */
function registerExitCleanup(): void {
  if (exitCleanupRegistered) return;
  exitCleanupRegistered = true;
  process.once('exit', removeLiveDetached);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      removeLiveDetached();
      process.off(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function removeLiveDetached(): void {
  if (live.size === 0) return;
  const ids = [...live];
  live.clear();
  try {
    spawn('docker', ['rm', '--force', '--volumes', ...ids], { detached: true, stdio: 'ignore' })
      .on('error', () => undefined)
      .unref();
  } catch {
    // No docker CLI: `.ci/run` and the next startRedis() reap the leftovers.
  }
}

/** Removes `hush-test` containers of processes on this host that no longer exist. */
async function reapOrphans(): Promise<void> {
  if (reaped) return;
  reaped = true;
  const runtime = await getContainerRuntimeClient();
  const containers = await runtime.container.dockerode.listContainers({
    all: true,
    filters: { label: [`${TEST_LABEL}=1`, `${TEST_LABEL}.host=${hostname()}`] },
  });
  for (const info of containers) {
    const pid = Number(info.Labels[`${TEST_LABEL}.pid`]);
    if (!Number.isInteger(pid) || pid <= 0 || processExists(pid)) continue;
    await runtime.container.dockerode
      .getContainer(info.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function removeQuietly(container: StartedTestContainer): Promise<void> {
  live.delete(container.getId());
  await container.stop({ remove: true, removeVolumes: true, timeout: 0 }).catch(() => undefined);
}

async function removeByToken(token: string): Promise<void> {
  try {
    const runtime = await getContainerRuntimeClient();
    const containers = await runtime.container.dockerode.listContainers({
      all: true,
      filters: { label: [`${TEST_LABEL}.token=${token}`] },
    });
    for (const info of containers) {
      await runtime.container.dockerode.getContainer(info.Id).remove({ force: true, v: true });
    }
  } catch {
    // Best effort: the container may never have been created.
  }
}

/** The last few KiB of a container's output, for error messages. */
class LogTail {
  text = '';

  follow(stream: Readable): void {
    stream.on('data', (chunk: Buffer | string) => {
      this.text = (this.text + chunk.toString()).slice(-8_000);
    });
    stream.on('error', () => undefined);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// A minimal RESP client for readiness checks (the helper does not depend on a Redis library).

export type RespValue = string | number | null | RespValue[];

class RespError extends Error {}

/** Sends one command on a fresh connection and resolves with its decoded reply. */
export function command(
  host: string,
  port: number,
  args: string[],
  timeoutMs = 2_000,
): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffer = Buffer.alloc(0);
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no reply from ${host}:${port}`)));
    socket.once('error', fail);
    socket.once('close', () => fail(new Error(`connection to ${host}:${port} closed`)));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const parsed = parse(buffer, 0);
      if (parsed === undefined) return;
      socket.removeAllListeners('close');
      socket.end();
      if (parsed.value instanceof RespError) reject(parsed.value);
      else resolve(parsed.value);
    });
    socket.write(
      `*${args.length}\r\n` +
        args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join(''),
    );
  });
}

interface Parsed {
  value: RespValue | RespError;
  end: number;
}

/** Parses one RESP2 value at `offset`; undefined when the buffer does not hold all of it yet. */
function parse(buffer: Buffer, offset: number): Parsed | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[offset] ?? 0);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RespError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let position = next;
      for (let index = 0; index < count; index += 1) {
        const item = parse(buffer, position);
        if (item === undefined) return undefined;
        if (item.value instanceof RespError) return item;
        items.push(item.value);
        position = item.end;
      }
      return { value: items, end: position };
    }
    default:
      return { value: new RespError(`unexpected RESP type ${JSON.stringify(type)}`), end: next };
  }
}
