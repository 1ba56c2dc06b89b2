/**
 * Helpers for cluster-mode tests: relay config pointing at a test Redis, replicas as child
 * processes (for SIGKILL), probes, polling, and a raw look at what Redis holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { RATE_KINDS } from '@hush/protocol';
import type { DeepPartial, RelayConfig } from '../../apps/relay/src/config/load-config.js';
import { freePort } from './ports.js';

/** Relay overrides for a replica of a test cluster: generous rate limits, no lockout. */
export function clusterConfig(
  redis: DeepPartial<RelayConfig['redis']> & { url: string },
  extra: DeepPartial<RelayConfig> = {},
): DeepPartial<RelayConfig> {
  return {
    ...extra,
    redis: { ...redis, ...extra.redis },
    limits: {
      ...extra.limits,
      rate: {
        ...Object.fromEntries(
          RATE_KINDS.map((kind) => [kind, { events: 10_000, windowMs: 1_000 }]),
        ),
        ...extra.limits?.rate,
      },
    },
    lockout: { maxFailures: 1_000_000, ...extra.lockout },
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last });
    }
    await sleep(intervalMs);
  }
}

/** HTTP status of GET `path` on a relay, or 0 when it does not answer. */
export async function httpStatus(baseUrl: string, path: string): Promise<number> {
  try {
    const response = await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/**
 * What every relay process started by a test needs: its metrics listener on an ephemeral port
 * (several replicas share the host), and per-address budgets out of reach of test clients, which
 * all connect from 127.0.0.1.
 */
export const PROCESS_TEST_ENV: Readonly<Record<string, string>> = {
  HUSH_METRICS_PORT: '0',
  HUSH_ADDRESS_RATE_CHAT: '1000000/1000',
  HUSH_ADDRESS_RATE_JOIN: '1000000/1000',
  HUSH_ADDRESS_RATE_INVALID: '1000000/1000',
};

/**
 * The readiness status of a relay (`ready`, `degraded`, `unavailable`), or `none` when it does
 * not answer. `/readyz` is 200 while degraded, so "recovered" needs the status, not the code.
 */
export async function readyStatus(baseUrl: string): Promise<string> {
  try {
    const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return ((await response.json()) as { status: string }).status;
  } catch {
    return 'none';
  }
}

const MAIN = fileURLToPath(new URL('../../apps/relay/dist/main.js', import.meta.url));

export interface ReplicaProcess {
  url: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** Output so far, for failure messages. */
  output(): string;
  /** SIGSTOP: the process freezes (a VM pause, a GC stall, a stopped container) until thawed. */
  freeze(): void;
  /** SIGCONT: a frozen process runs again, with everything that queued up meanwhile. */
  thaw(): void;
  /** SIGTERM (thawing it first), then SIGKILL after `graceMs`. Resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `node apps/relay/dist/main.js` (build it first: `npm run build`) and resolves once
 * `/readyz` answers 200.
 */
export async function spawnReplica(env: Record<string, string>): Promise<ReplicaProcess> {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: run \`npm run build\` before the cluster tests`);
  }
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let text = '';
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        HUSH_LOG_LEVEL: 'warn',
        ...PROCESS_TEST_ENV,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      text = (text + chunk.toString()).slice(-16_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let gone = false;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        gone = true;
        resolve();
      }),
    );
    const replica: ReplicaProcess = {
      url,
      child,
      exited,
      output: () => text,
      freeze() {
        if (!gone) child.kill('SIGSTOP');
      },
      thaw() {
        if (!gone) child.kill('SIGCONT');
      },
      async stop(graceMs = 5_000) {
        if (gone) return;
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      },
    };
    try {
      await eventually(
        'the replica to become ready',
        async () => {
          if (gone) throw new Error(`replica exited:\n${text}`);
          return (await httpStatus(url, '/readyz')) === 200;
        },
        20_000,
      );
      return replica;
    } catch (error) {
      await replica.stop(0);
      if (attempt < 3 && /EADDRINUSE/.test(text)) continue;
      throw new Error(`replica did not start: ${String(error)}\n${text}`, { cause: error });
    }
  }
}
