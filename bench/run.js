#!/usr/bin/env node
// `npm run bench`: every scenario against Hush, the bare `ws` baseline and Socket.IO, with one
// replica and with two replicas plus Redis, on this machine, in one run. Writes
// bench/results/latest.json and latest.md, and the table into BENCHMARKS.md.
//
//   node bench/run.js [--quick] [--scenarios=small-rooms,big-room,idle,churn,hostile-decode]
//                     [--targets=hush-1,baseline-1,socketio-1,hush-2,baseline-2,socketio-2]
//                       (opt-in extras: baseline-batch-1, baseline-batch-2)
//                     [--write-md | --no-write-md]
//
// BENCHMARKS.md is rewritten only by a full run (all scenarios and targets, not --quick) unless
// --write-md says otherwise.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { QUICK, SCENARIOS, TARGETS } from './config.js';
import { checkSocketIoWire } from './lib/compat.js';
import { killAll, raiseFileLimit, startRedis, stopProcess, flushRedis } from './lib/processes.js';
import { renderMarkdown, updateBenchmarksMd } from './lib/report.js';
import { REPO_ROOT, runDecodeUnit, runUnit, unavailable } from './lib/unit.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    targets: { type: 'string' },
    'write-md': { type: 'boolean' },
    'no-write-md': { type: 'boolean' },
  },
});

const RESULTS = join(REPO_ROOT, 'bench/results');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const logDir = join(RESULTS, 'logs', stamp);
mkdirSync(logDir, { recursive: true });

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
const targets = TARGETS.filter((t) =>
  flags.targets === undefined
    ? t.optional !== true
    : pick(
        flags.targets,
        TARGETS.map((x) => x.id),
      ).includes(t.id),
);
const fullRun = flags.scenarios === undefined && flags.targets === undefined && !flags.quick;
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
  const idleConnections = scenarios.idle?.connections ?? 0;
  const fdLimit = raiseFileLimit(Math.max(65_536, idleConnections * 2 + 4_096));
  log(`open-file limit ${fdLimit}; logs in ${logDir}`);
  if (fdLimit < idleConnections + 1_024 && scenarios.idle !== undefined) {
    scenarios.idle.connections = Math.max(1_000, fdLimit - 1_024);
    log(`idle scenario reduced to ${scenarios.idle.connections} connections by the file limit`);
  }

  const meta = machine(flags.quick);
  const needsRedis =
    Object.values(scenarios).some((s) => s.kind !== 'decode') &&
    targets.some((t) => t.replicas > 1 && unavailable(t) === undefined);
  const redis = needsRedis ? await startRedis(join(logDir, 'redis.log')) : undefined;
  const redisInfo =
    redis === undefined
      ? undefined
      : { url: redis.url, pid: /** @type {number} */ (redis.child.pid) };
  if (redis !== undefined) log(`redis-server on ${redis.url}`);

  /** @type {any[]} */
  const units = [];
  try {
    const serverScenarios = scenarioNames.filter((name) => scenarios[name]?.kind !== 'decode');
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
  if (writeMd) updateBenchmarksMd(join(REPO_ROOT, 'BENCHMARKS.md'), markdown);
  log(`\n${markdown}`);
  log(
    `wrote bench/results/latest.json and latest.md${writeMd ? ' and BENCHMARKS.md' : ''} ` +
      `in ${report.meta.totalSeconds.toFixed(0)} s`,
  );
  if (units.some((u) => u.status === 'failed')) process.exitCode = 1;
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
