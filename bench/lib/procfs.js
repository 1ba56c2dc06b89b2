// CPU and memory of processes, read from Linux /proc (what `pidusage` does, without the
// dependency). A sample is cheap (two small file reads per process) and never throws: a process
// that has exited reads as absent.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second for utime/stime in /proc/<pid>/stat (USER_HZ, 100 on Linux). */
export const CLOCK_TICKS = readClockTicks();

function readClockTicks() {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/**
 * @typedef {object} ProcSample
 * @property {number} ticks  user + system CPU time of the process, in clock ticks
 * @property {number} userTicks  user-mode part of it (JavaScript, V8, libuv)
 * @property {number} rssKb  resident set size (VmRSS), KiB
 */

/**
 * @typedef {object} Sample
 * @property {number} at  wall clock, ms (performance.now() of the sampling process)
 * @property {Record<string, ProcSample | null>} procs  by role name; null once the process is gone
 * @property {{ busy: number, total: number }} system  all-CPU jiffies from /proc/stat
 */

/**
 * CPU time and RSS of one process, or null when it no longer exists.
 * @param {number} pid
 * @returns {ProcSample | null}
 */
export function sampleProcess(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after it are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const userTicks = Number(fields[11]);
    const ticks = userTicks + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return { ticks, userTicks, rssKb: rss === null ? 0 : Number(rss[1]) };
  } catch {
    return null;
  }
}

/** Busy and total jiffies of all CPUs together (first line of /proc/stat). */
export function sampleSystem() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/**
 * One sample of every named process plus the whole machine.
 * @param {Record<string, number>} pids  role name → pid
 * @param {number} now  wall clock of the sample, ms
 * @returns {Sample}
 */
export function sample(pids, now) {
  /** @type {Record<string, ProcSample | null>} */
  const procs = {};
  for (const [name, pid] of Object.entries(pids)) procs[name] = sampleProcess(pid);
  return { at: now, procs, system: sampleSystem() };
}

/**
 * @typedef {object} Usage
 * @property {number} seconds  length of the window
 * @property {Record<string, { cpuPct: number, userPct: number, rssMb: number } | null>} procs  CPU
 *   over the window (100 = one core busy), its user-mode part (the rest is kernel time: syscalls,
 *   loopback TCP), and RSS at the end
 * @property {number} machineBusyPct  all cores together, 100 per core (200 = both cores busy)
 * @property {number} otherPct  machine busy minus the named processes: other load on the machine
 */

/**
 * Resource use between two samples.
 * @param {Sample} start
 * @param {Sample} end
 * @returns {Usage}
 */
export function usageBetween(start, end) {
  const seconds = Math.max(1e-6, (end.at - start.at) / 1000);
  /** @type {Usage['procs']} */
  const procs = {};
  let ours = 0;
  for (const [name, last] of Object.entries(end.procs)) {
    const first = start.procs[name];
    if (last === null || first === null || first === undefined) {
      procs[name] = null;
      continue;
    }
    const cpuPct = ((last.ticks - first.ticks) / CLOCK_TICKS / seconds) * 100;
    const userPct = ((last.userTicks - first.userTicks) / CLOCK_TICKS / seconds) * 100;
    ours += cpuPct;
    procs[name] = {
      cpuPct: round(cpuPct, 1),
      userPct: round(userPct, 1),
      rssMb: round(last.rssKb / 1024, 1),
    };
  }
  const totalJiffies = end.system.total - start.system.total;
  const cores = totalJiffies / CLOCK_TICKS / seconds;
  const machineBusyPct =
    totalJiffies > 0 ? ((end.system.busy - start.system.busy) / totalJiffies) * 100 * cores : 0;
  return {
    seconds: round(seconds, 3),
    procs,
    machineBusyPct: round(machineBusyPct, 1),
    otherPct: round(Math.max(0, machineBusyPct - ours), 1),
  };
}

/**
 * TCP listen-queue counters of this network namespace (/proc/net/netstat, TcpExt): connections
 * dropped because an accept queue was full. They count for every process on the machine.
 * @returns {{ listenOverflows: number, listenDrops: number } | undefined}
 */
export function listenQueueDrops() {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const at = lines.findIndex((line) => line.startsWith('TcpExt:'));
    const names = (lines[at] ?? '').trim().split(/\s+/);
    const values = (lines[at + 1] ?? '').trim().split(/\s+/).map(Number);
    const value = (/** @type {string} */ name) => values[names.indexOf(name)] ?? Number.NaN;
    const drops = { listenOverflows: value('ListenOverflows'), listenDrops: value('ListenDrops') };
    return Number.isNaN(drops.listenOverflows) ? undefined : drops;
  } catch {
    return undefined;
  }
}

/**
 * @param {number} value
 * @param {number} digits
 */
export function round(value, digits) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
