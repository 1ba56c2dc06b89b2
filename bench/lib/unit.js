// One unit of a bench run: start the replicas of one system, fork the load generator, answer its
// sampling requests (and, for the drain scenario, its request to SIGTERM a replica), collect its
// result, stop everything. Bounded by UNIT_TIMEOUT_MS or the scenario's own bound.
import { execFileSync, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HUSH_BENCH_ENV, SYSTEMS, UNIT_TIMEOUT_MS } from '../config.js';
import { nowMs } from '../loadgen/frames.js';
import { freePort, startProcess, stopProcess, track, waitReady } from './processes.js';
import { sample } from './procfs.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOADGEN = fileURLToPath(new URL('../loadgen/main.js', import.meta.url));
const DECODE = fileURLToPath(new URL('../decode/main.js', import.meta.url));
const HOSTILE_FRAMES = join(REPO_ROOT, 'libs/protocol/dist/hostile-frames.js');
const RELAY_MAIN = join(REPO_ROOT, 'apps/relay/dist/main.js');
const RELAY_REDIS_BACKEND = join(REPO_ROOT, 'apps/relay/dist/cluster/redis/redis.backends.js');
const RELAY_CONFIG = join(REPO_ROOT, 'apps/relay/dist/config/load-config.js');

/**
 * Why a target cannot run here, or undefined when it can.
 * @param {import('../config.js').Target} target
 */
export function unavailable(target) {
  if (target.system !== 'hush') return undefined;
  if (!existsSync(RELAY_MAIN)) return 'apps/relay is not built (npm run build)';
  if (target.replicas > 1 && !existsSync(RELAY_REDIS_BACKEND)) {
    return 'the relay has no Redis backend yet (apps/relay/dist/cluster/redis/redis.backends.js)';
  }
  return undefined;
}

/**
 * The command line of one replica.
 * @param {import('../config.js').Target} target
 * @param {string[]} nodeArgs
 */
function serverCommand(target, nodeArgs) {
  switch (target.system) {
    case 'hush':
      return [...nodeArgs, RELAY_MAIN];
    case 'baseline':
    case 'baselineBatch':
      return [...nodeArgs, fileURLToPath(new URL('../servers/baseline.js', import.meta.url))];
    case 'socketio':
      return [...nodeArgs, fileURLToPath(new URL('../servers/socketio.js', import.meta.url))];
    default:
      throw new Error(`unknown system ${String(target.system)}`);
  }
}

/**
 * @typedef {object} UnitOptions
 * @property {string} logDir  server output goes here, one file per unit
 * @property {{ url: string, pid: number } | undefined} redis  required for two replicas
 * @property {number} [referenceRate]  sends/s for the latency measurement
 * @property {string[]} [nodeArgs]  extra `node` flags for the replicas (e.g. --cpu-prof)
 * @property {(label: string, servers: { pid: number, port: number }[]) => Promise<void>} [beforeSample]
 *   runs before the sample the generator asked for (e.g. to take a heap snapshot)
 * @property {string[]} [sourceAddresses]  local addresses the generator's clients connect from
 * @property {(line: string) => void} log
 */

/**
 * @param {import('../config.js').Target} target
 * @param {string} scenarioName
 * @param {Record<string, any>} scenario
 * @param {UnitOptions} options
 * @returns {Promise<any>} the generator's result, see bench/loadgen/main.js
 */
export async function runUnit(target, scenarioName, scenario, options) {
  const system = SYSTEMS[target.system];
  const logFile = join(options.logDir, `${scenarioName}-${target.id}.log`);
  if (target.replicas > 1 && options.redis === undefined)
    throw new Error('several replicas need Redis');
  const timeoutMs = scenario.unitTimeoutMs ?? UNIT_TIMEOUT_MS;
  /** @type {Record<string, string | undefined> | undefined} the environment of replica 0 */
  let relayEnv;
  /** @type {{ child: import('node:child_process').ChildProcess, port: number }[]} */
  const servers = [];
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let generator;
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const phases = { serverStartMs: 0, generatorMs: 0, teardownMs: 0 };
  let phaseStart = performance.now();
  try {
    for (let replica = 0; replica < target.replicas; replica += 1) {
      const port = await freePort();
      const env = {
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: target.replicas > 1 ? options.redis?.url : undefined,
        ...(target.system === 'hush' ? { ...HUSH_BENCH_ENV, ...scenario.relayEnv } : {}),
        ...(target.system === 'baselineBatch' ? { BASELINE_BATCH: '1' } : {}),
      };
      relayEnv ??= env;
      const child = startProcess(process.execPath, serverCommand(target, options.nodeArgs ?? []), {
        env,
        cwd: REPO_ROOT,
        logFile,
      });
      servers.push({ child, port });
    }
    await Promise.all(servers.map(({ port, child }) => waitReady(port, child, 30_000)));
    phases.serverStartMs = Math.round(performance.now() - phaseStart);
    phaseStart = performance.now();

    /** @type {Record<string, number>} */
    const pids = {};
    servers.forEach(({ child }, index) => {
      pids[`server-${index}`] = /** @type {number} */ (child.pid);
    });
    if (target.replicas > 1 && options.redis !== undefined) pids.redis = options.redis.pid;
    const relay =
      target.system === 'hush' && relayEnv !== undefined
        ? await relaySettings(relayEnv)
        : undefined;

    const gen = track(
      fork(LOADGEN, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] }),
    );
    generator = gen;
    pids.loadgen = /** @type {number} */ (gen.pid);
    const result = await new Promise((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`unit did not finish within ${timeoutMs} ms`)),
        timeoutMs,
      );
      gen.on('message', (/** @type {any} */ message) => {
        switch (message?.type) {
          case 'probe':
            (
              options.beforeSample?.(
                String(message.label),
                servers.map(({ child, port }) => ({
                  pid: /** @type {number} */ (child.pid),
                  port,
                })),
              ) ?? Promise.resolve()
            ).then(
              () =>
                gen.send({
                  type: 'probe-result',
                  id: message.id,
                  sample: sample(pids, performance.now()),
                }),
              reject,
            );
            return;
          case 'log':
            options.log(String(message.text));
            return;
          case 'terminate': {
            // SIGTERM to one replica, now; the generator learns when it was sent and when the
            // replica exited, on the clock it uses itself (nowMs).
            const server = servers[Number(message.replica)];
            if (server === undefined) {
              reject(new Error(`no replica ${String(message.replica)} to terminate`));
              return;
            }
            server.child.once('exit', (code, signal) => {
              if (gen.connected) {
                gen.send({
                  type: 'replica-exit',
                  replica: message.replica,
                  atMs: nowMs(),
                  code,
                  signal,
                });
              }
            });
            const atMs = nowMs();
            server.child.kill('SIGTERM');
            gen.send({ type: 'terminated', id: message.id, atMs });
            return;
          }
          case 'done':
            resolve(message.result);
            return;
          case 'failed':
            reject(new Error(`load generator failed: ${String(message.error)}`));
            return;
          default:
            return;
        }
      });
      gen.once('exit', (code, signal) =>
        reject(new Error(`load generator exited (${code ?? signal}) before finishing`)),
      );
      gen.send({
        type: 'run',
        unit: {
          protocol: system.protocol,
          endpoints: servers.map(({ port }) => `ws://127.0.0.1:${port}${system.path}`),
          scenario: dataOnly(scenario),
          referenceRate: options.referenceRate,
          relay,
          redisUrl: target.replicas > 1 ? options.redis?.url : undefined,
          sourceAddresses: options.sourceAddresses,
        },
      });
    });
    phases.generatorMs = Math.round(performance.now() - phaseStart);
    phaseStart = performance.now();
    return Object.assign(/** @type {object} */ (result), { unitPhases: phases });
  } finally {
    clearTimeout(timer);
    if (generator !== undefined) await stopProcess(generator, 2_000);
    // --cpu-prof writes its profile on a clean exit, so replicas get time to drain (a replica
    // closing 20,000 connections takes longer than the usual grace).
    const graceMs = (options.nodeArgs ?? []).includes('--cpu-prof') ? 60_000 : 8_000;
    await Promise.all(servers.map(({ child }) => stopProcess(child, graceMs)));
    phases.teardownMs = Math.round(performance.now() - phaseStart);
  }
}

/**
 * What the generator needs to know of the relay's configuration, read with the relay's own
 * loader from the environment its replicas get (so defaults are never restated here).
 * @param {Record<string, string | undefined>} env
 */
async function relaySettings(env) {
  const { loadConfig } = await import(RELAY_CONFIG);
  const { server } = loadConfig({ env: { ...process.env, ...env }, argv: [] });
  return {
    drainDelayMs: server.drainDelayMs,
    drainWindowMs: server.drainWindowMs,
    shutdownTimeoutMs: server.shutdownTimeoutMs,
  };
}

/**
 * The scenario without functions (it crosses the IPC channel as JSON).
 * @param {Record<string, any>} scenario
 */
function dataOnly(scenario) {
  return Object.fromEntries(Object.entries(scenario).filter(([, v]) => typeof v !== 'function'));
}

/**
 * The adversarial decode figure (see bench/decode/main.js): a fresh process, bounded in time.
 * @param {Record<string, any>} scenario
 * @returns {any} its result
 */
export function runDecodeUnit(scenario) {
  if (!existsSync(HOSTILE_FRAMES)) throw new Error('libs/protocol is not built (npm run build)');
  const output = execFileSync(
    process.execPath,
    [DECODE, JSON.stringify({ minMs: scenario.minMs, warmup: scenario.warmup })],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: UNIT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(output);
}
