#!/usr/bin/env node
// `npm run bench`: every scenario against Hush, the bare `ws` baseline and Socket.IO, with one
// replica and with two replicas plus Redis, on this machine, in one run; the drain scenario runs
// once, against three Hush replicas on the same Redis. Writes bench/results/latest.json and
// latest.md, and the tables into BENCHMARKS.md.
//
//   node bench/run.js [--quick]
//                     [--scenarios=small-rooms,big-room,idle,churn,drain,scale,hostile-decode]
//                     [--targets=hush-1,baseline-1,socketio-1,hush-2,baseline-2,socketio-2]
//                       (opt-in extras: baseline-batch-1, baseline-batch-2; targets do not
//                       apply to drain, scale and hostile-decode, which bring their own)
//                     [--write-md | --no-write-md] [--cpu-prof]
//                     [--set scale.connections=20000 ...]  (a scenario setting, numbers only)
//
// --cpu-prof runs every replica under `node --cpu-prof`; the profiles (written as each replica
// exits) go beside the logs, under bench/results/logs/<run>/profiles/.
//
// A full run (all scenarios and targets, not --quick) rewrites the results section of
// BENCHMARKS.md; any other run leaves it alone unless --write-md says otherwise, and then
// replaces only the sections of the scenarios it ran.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { QUICK, SCENARIOS, TARGETS } from './config.js';
import { checkSocketIoWire } from './lib/compat.js';
import { killAll, raiseFileLimit, startRedis, stopProcess, flushRedis } from './lib/processes.js';
import { mergeBenchmarksMd, renderMarkdown, updateBenchmarksMd } from './lib/report.js';
import { REPO_ROOT, runDecodeUnit, runUnit, unavailable } from './lib/unit.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    targets: { type: 'string' },
    'write-md': { type: 'boolean' },
    'no-write-md': { type: 'boolean' },
    'cpu-prof': { type: 'boolean', default: false },
    set: { type: 'string', multiple: true, default: [] },
  },
});

const RESULTS = join(REPO_ROOT, 'bench/results');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const logDir = join(RESULTS, 'logs', stamp);
mkdirSync(logDir, { recursive: true });
const nodeArgs = flags['cpu-prof']
  ? ['--cpu-prof', `--cpu-prof-dir=${join(logDir, 'profiles')}`]
  : [];

/** @param {string | undefined} list @param {string[]} all */
function pick(list, all) {
  if (list === undefined) return all;
  const wanted = list.split(',').map((s) => s.trim());
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length > 0)
    throw new Error(`unknown: ${unknown.join(', ')} (known: ${all.join(', ')})`);
  return all.filter((name) => wanted.includes(name));
}

const scenarioNames = pick(flags.scenarios, Object.keys(SCENARIOS));
/** --set values by scenario, e.g. { scale: { connections: 20000 } }. */
const overrides = parseSettings(flags.set ?? []);
/** Targets named in --targets: those of TARGETS, and those scenarios bring (e.g. hush-4). */
const named =
  flags.targets === undefined
    ? undefined
    : pick(flags.targets, [
        ...new Set([
          ...TARGETS.map((x) => x.id),
          ...scenarioNames.flatMap((name) =>
            ownTargets({ ...SCENARIOS[name], ...overrides[name] }).map((t) => t.id),
          ),
        ]),
      ]);
const targets = TARGETS.filter((t) =>
  named === undefined ? t.optional !== true : named.includes(t.id),
);
const fullRun =
  flags.scenarios === undefined &&
  flags.targets === undefined &&
  !flags.quick &&
  (flags.set ?? []).length === 0;
const writeMd = flags['no-write-md'] ? false : (flags['write-md'] ?? fullRun);

/** @param {string} line */
const log = (line) => process.stdout.write(`${line}\n`);

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.once('exit', killAll);

async function main() {
  const started = performance.now();
  /** @type {Record<string, Record<string, any>>} */
  const scenarios = Object.fromEntries(
    scenarioNames.map((name) => [
      name,
      {
        ...SCENARIOS[name],
        ...(flags.quick ? QUICK[/** @type {keyof typeof QUICK} */ (name)] : {}),
      },
    ]),
  );
  for (const [name, values] of Object.entries(overrides)) {
    const scenario = scenarios[name];
    for (const [key, value] of Object.entries(values)) {
      if (scenario === undefined || typeof scenario[key] !== 'number') {
        throw new Error(`--set ${name}.${key}: not a numeric setting of a chosen scenario`);
      }
      scenario[key] = value;
    }
  }
  const idleConnections = scenarios.idle?.connections ?? 0;
  /** @type {number} */
  const drainConnections = (scenarios.drain?.clients ?? []).reduce(
    (/** @type {number} */ a, /** @type {number} */ b) => a + b,
    0,
  );
  /** @type {number} */
  const scaleConnections = scenarios.scale?.connections ?? 0;
  const fdLimit = raiseFileLimit(
    Math.max(
      65_536,
      Math.max(idleConnections, drainConnections) * 2 + 4_096,
      scaleConnections + 8_192,
    ),
  );
  log(`open-file limit ${fdLimit}; logs in ${logDir}`);
  if (fdLimit < idleConnections + 1_024 && scenarios.idle !== undefined) {
    scenarios.idle.connections = Math.max(1_000, fdLimit - 1_024);
    log(`idle scenario reduced to ${scenarios.idle.connections} connections by the file limit`);
  }
  // Each replica holds its share of the connections, and each generator process up to
  // clientsPerProcess of them: both within the open-file limit of one process.
  if (scenarios.scale !== undefined) {
    const s = scenarios.scale;
    const perProcess = fdLimit - 1_024;
    s.clientsPerProcess = Math.min(s.clientsPerProcess, perProcess);
    const most = Math.floor((s.replicas * perProcess) / 1_000) * 1_000;
    if (s.connections > most) {
      log(
        `scale scenario reduced from ${s.connections} to ${most} connections: ` +
          `${s.replicas} replicas of at most ${perProcess} under the open-file limit of ${fdLimit}`,
      );
      s.limitedBy = { wanted: s.connections, fdLimit, perReplica: perProcess };
      s.connections = most;
    }
  }

  const meta = machine(flags.quick);
  const needsRedis =
    (Object.values(scenarios).some((s) => !OWN_UNITS.has(s.kind)) &&
      targets.some((t) => t.replicas > 1 && unavailable(t) === undefined)) ||
    Object.values(scenarios).some(
      (s) => OWN_UNITS.has(s.kind) && ownTargets(s).some((t) => unavailable(t) === undefined),
    );
  const redis = needsRedis ? await startRedis(join(logDir, 'redis.log')) : undefined;
  const redisInfo =
    redis === undefined
      ? undefined
      : { url: redis.url, pid: /** @type {number} */ (redis.child.pid) };
  if (redis !== undefined) log(`redis-server on ${redis.url}`);

  /** @type {any[]} */
  const units = [];
  try {
    const serverScenarios = scenarioNames.filter((name) => !OWN_UNITS.has(scenarios[name]?.kind));
    if (serverScenarios.length > 0 && targets.some((t) => t.system === 'socketio')) {
      await checkSocketIoWire(logDir);
      log('Socket.IO wire check: the raw generator client and socket.io-client interoperate');
    }
    /** @type {Record<string, number>} half the saturating rate of Hush, by scenario and replicas */
    const reference = {};
    for (const name of scenarioNames) {
      const scenario = /** @type {Record<string, any>} */ (scenarios[name]);
      log(`\n== ${scenario.title}: ${scenario.describe(scenario)}`);
      if (scenario.kind === 'decode') {
        // Hush's own decoder, in one process: no servers, no other systems.
        const base = { scenario: name, target: 'codec', system: 'hush', replicas: 1 };
        const unitStarted = performance.now();
        try {
          const result = runDecodeUnit(scenario);
          units.push({ ...base, status: 'ok', seconds: secondsSince(unitStarted), result });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          log(`   FAILED: ${message}`);
          units.push({
            ...base,
            status: 'failed',
            seconds: secondsSince(unitStarted),
            error: message,
          });
        }
        continue;
      }
      if (scenario.kind === 'drain' || scenario.kind === 'scale') {
        const own = ownTargets(scenario);
        // A scenario's own targets run unless --targets names some of them and not this one.
        const picked = named?.some((id) => own.some((t) => t.id === id)) ?? false;
        for (const [index, target] of own.entries()) {
          if (picked && !named?.includes(target.id)) continue;
          units.push(await ownUnit(name, scenario, target, index, redisInfo));
        }
        continue;
      }
      for (const target of targets) {
        const why = unavailable(target);
        const base = {
          scenario: name,
          target: target.id,
          system: target.system,
          replicas: target.replicas,
        };
        if (why !== undefined) {
          log(`-- ${target.id}: skipped (${why})`);
          units.push({ ...base, status: 'skipped', reason: why });
          continue;
        }
        const key = `${name}/${target.replicas}`;
        const referenceRate =
          scenario.kind === 'throughput' && target.system !== 'hush' ? reference[key] : undefined;
        log(
          `-- ${target.id}${referenceRate === undefined ? '' : ` (reference load ${referenceRate.toFixed(0)} sends/s)`}`,
        );
        const unitStarted = performance.now();
        try {
          if (redis !== undefined && target.replicas > 1) await flushRedis(redis.url);
          const result = await runUnit(target, name, scenario, {
            logDir,
            redis: redisInfo,
            referenceRate,
            nodeArgs,
            log,
          });
          if (target.system === 'hush' && result.saturatingSendsPerSec !== undefined) {
            reference[key] = result.saturatingSendsPerSec / 2;
          }
          units.push({ ...base, status: 'ok', seconds: secondsSince(unitStarted), result });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          log(`   FAILED: ${message}`);
          units.push({
            ...base,
            status: 'failed',
            seconds: secondsSince(unitStarted),
            error: message,
          });
        }
      }
    }
  } finally {
    if (redis !== undefined) await stopProcess(redis.child, 2_000);
  }

  const report = {
    meta: { ...meta, totalSeconds: secondsSince(started), scenarios, fdLimit },
    units,
  };
  const markdown = renderMarkdown(report);
  writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(RESULTS, `run-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(RESULTS, 'latest.md'), markdown);
  if (writeMd && fullRun) updateBenchmarksMd(join(REPO_ROOT, 'BENCHMARKS.md'), markdown);
  else if (writeMd) mergeBenchmarksMd(join(REPO_ROOT, 'BENCHMARKS.md'), report);
  log(`\n${markdown}`);
  log(
    `wrote bench/results/latest.json and latest.md${writeMd ? ' and BENCHMARKS.md' : ''} ` +
      `in ${report.meta.totalSeconds.toFixed(0)} s`,
  );
  if (units.some((u) => u.status === 'failed')) process.exitCode = 1;
}

/**
 * `--set <scenario>.<setting>=<number>` values, by scenario.
 * @param {string[]} settings
 * @returns {Record<string, Record<string, number>>}
 */
function parseSettings(settings) {
  /** @type {Record<string, Record<string, number>>} */
  const out = {};
  for (const setting of settings) {
    const match = /^([\w-]+)\.(\w+)=(\d+(?:\.\d+)?)$/.exec(setting);
    if (match === null) throw new Error(`--set ${setting}: expected <scenario>.<setting>=<number>`);
    const [, name, key, value] = /** @type {[string, string, string, string]} */ (
      /** @type {unknown} */ (match)
    );
    (out[name] ??= {})[key] = Number(value);
  }
  return out;
}

/** Scenario kinds that bring their own targets instead of running against --targets. */
const OWN_UNITS = new Set(['decode', 'drain', 'scale']);

/**
 * The targets of a scenario that brings its own: each of its systems (the drain: Hush alone),
 * with as many replicas as it asks for, on the run's Redis.
 * @param {Record<string, any>} scenario
 * @returns {import('./config.js').Target[]}
 */
function ownTargets(scenario) {
  if (scenario.kind === 'decode') return [];
  /** @type {(keyof typeof import('./config.js').SYSTEMS)[]} */
  const systems = scenario.systems ?? ['hush'];
  return systems.map((system) => ({
    id: `${system}-${scenario.replicas}`,
    system,
    replicas: scenario.replicas,
  }));
}

/**
 * The loopback addresses the clients of the `index`th unit of a scale run connect from: enough
 * for its connections at `connectionsPerAddress` each, from 127.0.0.2 on, a fresh range per unit
 * (ports a unit's closed connections leave in TIME_WAIT stay out of the next one's way).
 * @param {Record<string, any>} scenario
 * @param {number} index
 */
function sourceAddresses(scenario, index) {
  if (scenario.kind !== 'scale') return undefined;
  const count = Math.ceil(scenario.connections / scenario.connectionsPerAddress);
  return Array.from({ length: count }, (_, k) => {
    const n = 1 + index * count + k;
    return `127.0.${Math.floor(n / 254)}.${(n % 254) + 1}`;
  });
}

/**
 * One unit of a scenario with its own targets: its replicas on the run's Redis, flushed first.
 * @param {string} name
 * @param {Record<string, any>} scenario
 * @param {import('./config.js').Target} target
 * @param {number} index  of the target in the scenario's own list
 * @param {{ url: string, pid: number } | undefined} redis
 */
async function ownUnit(name, scenario, target, index, redis) {
  const base = {
    scenario: name,
    target: target.id,
    system: target.system,
    replicas: target.replicas,
  };
  const why = unavailable(target);
  if (why !== undefined || redis === undefined) {
    const reason = why ?? 'no Redis';
    log(`-- ${target.id}: skipped (${reason})`);
    return { ...base, status: 'skipped', reason };
  }
  log(`-- ${target.id}`);
  const unitStarted = performance.now();
  try {
    await flushRedis(redis.url);
    const result = await runUnit(target, name, scenario, {
      logDir,
      redis,
      nodeArgs,
      log,
      sourceAddresses: sourceAddresses(scenario, index),
    });
    return { ...base, status: 'ok', seconds: secondsSince(unitStarted), result };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`   FAILED: ${message}`);
    return { ...base, status: 'failed', seconds: secondsSince(unitStarted), error: message };
  }
}

/** @param {number} since */
function secondsSince(since) {
  return Math.round((performance.now() - since) / 100) / 10;
}

/** @param {boolean} quick */
function machine(quick) {
  const cpu = cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'apps', 'libs'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).trim();
    if (dirty !== '') commit += ' + uncommitted changes';
  } catch {
    // Not a git checkout: the commit stays unknown.
  }
  return {
    date: new Date().toISOString(),
    quick,
    node: process.version,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    commit,
    relayVersion: JSON.parse(readFileSync(join(REPO_ROOT, 'apps/relay/package.json'), 'utf8'))
      .version,
  };
}

main().catch((error) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  killAll();
  process.exit(1);
});
