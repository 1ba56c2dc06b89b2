#!/usr/bin/env node
// Where does Hush spend its CPU, and its memory?
//
// CPU: runs one replica with `node --cpu-prof`, drives a throughput scenario at a fixed rate (by
// default the saturating rate of the latest `npm run bench`), stops the relay cleanly so V8
// writes the profile, cuts it to the steady-load window and ranks the frames.
//
//   node bench/profile.js [--scenario=small-rooms|big-room] [--rate=<sends/s>] [--seconds=10]
//                         [--replicas=1|2] [--top=25]
//
// Memory: runs the idle scenario against one replica started with --heapsnapshot-signal, takes a
// heap snapshot with the warm members only and another with `--connections` more idle members,
// and ranks what the heap gained per connection, by constructor.
//
//   node bench/profile.js --memory [--system=hush|baseline|socketio] [--connections=2000] [--top=30]
//
// Writes bench/results/profiles/<name>-<time>/ (.cpuprofile for Chrome DevTools or speedscope,
// .heapsnapshot for DevTools' Memory tab) and bench/results/profile-<name>.md.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCENARIOS, SYSTEMS } from './config.js';
import { renderProfile, summarizeProfile } from './lib/cpuprofile.js';
import { diffHeaps, renderHeapDiff, summarizeHeap } from './lib/heapsnapshot.js';
import { httpStatus, killAll, startRedis, stopProcess } from './lib/processes.js';
import { REPO_ROOT, runUnit, unavailable } from './lib/unit.js';

const { values: flags } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'small-rooms' },
    rate: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    replicas: { type: 'string', default: '1' },
    top: { type: 'string', default: '25' },
    memory: { type: 'boolean', default: false },
    connections: { type: 'string', default: '2000' },
    system: { type: 'string', default: 'hush' },
  },
});

/** @param {string} line */
const log = (line) => process.stdout.write(`${line}\n`);
process.once('exit', killAll);
process.once('SIGINT', () => process.exit(130));

async function main() {
  if (flags.memory) return memoryProfile();
  return cpuProfile();
}

async function cpuProfile() {
  const name = flags.scenario ?? 'small-rooms';
  const base = SCENARIOS[name];
  if (base?.kind !== 'throughput') throw new Error(`--scenario must be a throughput scenario`);
  const replicas = /** @type {1 | 2} */ (flags.replicas === '2' ? 2 : 1);
  /** @type {import('./config.js').Target} */
  const target = { id: `hush-${replicas}`, system: 'hush', replicas };
  const why = unavailable(target);
  if (why !== undefined) throw new Error(why);
  const rate = Number(flags.rate ?? latestSaturatingRate(name, replicas) ?? base.startRate * 8);
  const seconds = Number(flags.seconds);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(REPO_ROOT, 'bench/results/profiles', `${name}-${stamp}`);
  mkdirSync(dir, { recursive: true });
  log(`profiling ${target.id} on ${name} at ${rate.toFixed(0)} sends/s for ${seconds} s → ${dir}`);

  const redis = replicas > 1 ? await startRedis(join(dir, 'redis.log')) : undefined;
  /** @type {[number, number] | undefined} the measured window: setup and teardown left out */
  let window;
  let delivered = 0;
  try {
    const result = await runUnit(
      target,
      name,
      { ...base, skipRamp: true, referenceWarmupMs: 1_000, referenceMeasureMs: seconds * 1_000 },
      {
        logDir: dir,
        redis: redis && { url: redis.url, pid: /** @type {number} */ (redis.child.pid) },
        referenceRate: rate,
        nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
        log,
      },
    );
    log(`delivered ${result.reference.deliveredPerSec}/s during the profile`);
    window = result.reference.monotonicWindowUs;
    delivered = result.reference.deliveredPerSec;
  } finally {
    if (redis !== undefined) await stopProcess(redis.child, 2_000);
  }

  const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (profiles.length === 0) throw new Error('the relay wrote no profile (did it exit cleanly?)');
  const sections = profiles.map((file) => {
    const summary = summarizeProfile(join(dir, file), REPO_ROOT, window);
    return `### ${file}\n\n${renderProfile(summary, Number(flags.top))}`;
  });
  const markdown =
    `## CPU profile: Hush, ${replicas} replica(s), ${name} at ${rate.toFixed(0)} sends/s\n\n` +
    `Only the ${seconds} s of steady load count (after a 1 s warm-up; setup and teardown left out). ` +
    `Delivered ${delivered.toFixed(0)} msg/s meanwhile.\n\n` +
    sections.join('\n');
  const out = join(REPO_ROOT, 'bench/results', `profile-${name}.md`);
  writeFileSync(out, markdown);
  log(`\n${markdown}\nwrote ${out}`);
}

async function memoryProfile() {
  const connections = Number(flags.connections);
  const system = flags.system ?? 'hush';
  if (!(system in SYSTEMS))
    throw new Error(`--system must be one of ${Object.keys(SYSTEMS).join(', ')}`);
  /** @type {import('./config.js').Target} */
  const target = {
    id: `${system}-1`,
    system: /** @type {keyof typeof SYSTEMS} */ (system),
    replicas: 1,
  };
  const why = unavailable(target);
  if (why !== undefined) throw new Error(why);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(REPO_ROOT, 'bench/results/profiles', `memory-${system}-${stamp}`);
  mkdirSync(dir, { recursive: true });
  log(`heap snapshots of ${target.id} before and after ${connections} idle connections → ${dir}`);
  /** @type {Record<string, string>} */
  const snapshots = {};
  const result = await runUnit(
    target,
    'idle',
    { ...SCENARIOS.idle, connections },
    {
      logDir: dir,
      redis: undefined,
      nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`],
      log,
      beforeSample: async (label, servers) => {
        if (label !== 'idle:before' && label !== 'idle:settled') return;
        const server = servers[0];
        if (server === undefined) return;
        snapshots[label] = await heapSnapshot(dir, server.pid, server.port);
        log(`  heap snapshot at ${label}`);
      },
    },
  );
  const before = snapshots['idle:before'];
  const after = snapshots['idle:settled'];
  if (before === undefined || after === undefined) throw new Error('heap snapshots missing');
  const diff = diffHeaps(
    summarizeHeap(before, REPO_ROOT),
    summarizeHeap(after, REPO_ROOT),
    result.clients,
  );
  const markdown =
    `## Heap per idle connection: ${SYSTEMS[target.system].label}, 1 replica, ${result.clients} idle members in rooms of ` +
    `${SCENARIOS.idle?.roomSize}\n\n` +
    `(RSS is not comparable in this mode: the snapshots themselves grow it; see \`npm run bench\`.)\n\n` +
    renderHeapDiff(diff, Number(flags.top));
  const out = join(REPO_ROOT, 'bench/results', `profile-memory-${system}.md`);
  writeFileSync(out, markdown);
  log(`\n${markdown}\nwrote ${out}`);
}

/**
 * Signals the relay to write a heap snapshot and waits until it has (the relay's event loop is
 * blocked while it writes, so an answered probe after the file appeared means it is complete).
 * @param {string} dir
 * @param {number} pid
 * @param {number} port
 * @returns {Promise<string>} the snapshot's path
 */
async function heapSnapshot(dir, pid, port) {
  const existing = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await sleep(200);
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !existing.has(f));
    if (file === undefined) continue;
    const path = join(dir, file);
    const size = statSync(path).size;
    if (
      size > 0 &&
      (await httpStatus(port, '/readyz')) !== undefined &&
      statSync(path).size === size
    ) {
      return path;
    }
  }
  throw new Error('the relay wrote no heap snapshot within 120 s');
}

/**
 * @param {string} scenario
 * @param {number} replicas
 * @returns {number | undefined}
 */
function latestSaturatingRate(scenario, replicas) {
  const file = join(REPO_ROOT, 'bench/results/latest.json');
  if (!existsSync(file)) return undefined;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const unit = report.units?.find(
    (/** @type {any} */ u) =>
      u.scenario === scenario &&
      u.system === 'hush' &&
      u.replicas === replicas &&
      u.status === 'ok',
  );
  return unit?.result?.saturatingSendsPerSec;
}

main().catch((error) => {
  process.stderr.write(`bench/profile: ${error instanceof Error ? error.stack : String(error)}\n`);
  killAll();
  process.exit(1);
});
