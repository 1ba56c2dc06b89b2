// The results as markdown: absolute figures per scenario, ratios Hush/baseline and
// Hush/Socket.IO, and the targets of the issue, met or not.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const BEGIN_MARKER = '<!-- bench:results:begin -->';
export const END_MARKER = '<!-- bench:results:end -->';

/**
 * Markers around one scenario's section inside the results, so a run of some scenarios can
 * replace their sections and leave the others.
 * @param {string} name
 */
const sectionMarkers = (name) => ({
  begin: `<!-- bench:section:${name} -->`,
  end: `<!-- bench:section:${name}:end -->`,
});

const LABEL = {
  hush: 'Hush',
  baseline: 'bare ws',
  socketio: 'Socket.IO',
  baselineBatch: 'bare ws, batched writes',
};

/**
 * Targets of relay core v2 (benchmarks, not tests), by number of replicas where they differ.
 * Throughput targets apply to the small rooms; the big room's fan-out is one frame to many, where
 * the relay does less per delivery than the baseline anyway.
 */
export const GOALS = {
  throughputVsBaseline: { 1: 0.95, 2: 0.9 },
  throughputVsSocketIo: 2.5,
  cpuPerDeliveryVsBaseline: 1.2,
  p99AtHalfLoadMs: { 'small-rooms': 10, 'big-room': 20 },
  idleKbPerConnection: { 1: 10, 2: 13 },
  churnVsBaseline: 0.8,
};

/**
 * @typedef {object} Report
 * @property {Record<string, any>} meta
 * @property {any[]} units
 */

/**
 * @param {number | null | undefined} value
 * @param {number} [digits]
 */
function num(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** @param {number | null | undefined} value */
function ms(value) {
  if (value === null || value === undefined) return '–';
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}

/** @param {number | null | undefined} value */
function ratio(value) {
  return value === null || value === undefined || !Number.isFinite(value)
    ? '–'
    : `${value.toFixed(2)}×`;
}

/**
 * Sum of CPU % of the relay replicas in a usage record.
 * @param {any} usage
 */
function relayCpu(usage) {
  if (usage === undefined) return undefined;
  let total = 0;
  for (const [name, u] of Object.entries(usage.procs ?? {})) {
    if (name.startsWith('server') && u !== null) total += /** @type {any} */ (u).cpuPct;
  }
  return total;
}

/**
 * Relay CPU time per delivered message, µs (all replicas together): what one delivery costs,
 * independent of how busy the rest of the machine was.
 * @param {any} step
 * @param {'cpuPct' | 'userPct'} [field]
 */
export function cpuPerMessageUs(step, field = 'cpuPct') {
  if (step?.usage === undefined || !(step.deliveredPerSec > 0)) return undefined;
  let total = 0;
  for (const [name, u] of Object.entries(step.usage.procs ?? {})) {
    if (name.startsWith('server') && u !== null) total += /** @type {any} */ (u)[field];
  }
  return ((total / 100) * 1e6) / step.deliveredPerSec;
}

/** @param {any} usage */
function relayRss(usage) {
  if (usage === undefined) return undefined;
  let total = 0;
  for (const [name, u] of Object.entries(usage.procs ?? {})) {
    if (name.startsWith('server') && u !== null) total += /** @type {any} */ (u).rssMb;
  }
  return total;
}

/**
 * @param {any[]} units
 * @param {string} scenario
 * @param {string} system
 * @param {number} replicas
 */
function find(units, scenario, system, replicas) {
  return units.find(
    (u) => u.scenario === scenario && u.system === system && u.replicas === replicas,
  );
}

/** @param {any} unit */
function status(unit) {
  return unit.status === 'skipped' ? `skipped: ${unit.reason}` : `failed: ${unit.error}`;
}

/**
 * @param {Report} report
 * @returns {string}
 */
export function renderMarkdown(report) {
  const { meta, units } = report;
  const lines = [];
  const others = units
    .flatMap((u) => [
      u.result?.reference?.usage?.otherPct,
      u.result?.peak?.usage?.otherPct,
      u.result?.usage?.otherPct,
      u.result?.usage?.storm?.otherPct,
    ])
    .filter((v) => typeof v === 'number');
  const otherMean = others.length === 0 ? 0 : others.reduce((a, b) => a + b, 0) / others.length;
  lines.push(
    `Run of ${meta.date.slice(0, 16).replace('T', ' ')} UTC${meta.quick ? ' (**--quick**: smoke sizes, not comparable)' : ''}: ` +
      `${meta.cpus} × ${meta.cpuModel}, ${meta.memoryGiB} GiB, Node ${meta.node}, commit ${meta.commit}; ` +
      `${num(meta.totalSeconds)} s in total. Load average at start ${meta.loadAverageAtStart.join(' / ')}; ` +
      `other processes used on average ${num(otherMean)} % CPU (100 % = one core) during the measurement windows.`,
  );
  lines.push('');

  for (const name of Object.keys(meta.scenarios)) {
    const section = renderSection(report, name);
    if (section === undefined) continue;
    const { begin, end } = sectionMarkers(name);
    lines.push(begin, ...section, end, '');
  }

  lines.push('#### Ratios (same scenario, same machine, same run)');
  lines.push('');
  const compared = ['baseline', 'socketio'];
  if (units.some((u) => u.system === 'baselineBatch')) compared.push('baselineBatch');
  lines.push(
    `| Scenario | Replicas | Metric | ${compared.map((o) => `Hush / ${LABEL[/** @type {keyof typeof LABEL} */ (o)]}`).join(' | ')} |`,
  );
  lines.push(`| --- | ---: | --- | ${compared.map(() => '---:').join(' | ')} |`);
  for (const [name, scenario] of Object.entries(meta.scenarios)) {
    const s = /** @type {any} */ (scenario);
    for (const replicas of [1, 2]) {
      const value = (/** @type {string} */ system) =>
        metric(s.kind, find(units, name, system, replicas));
      const hush = value('hush');
      if (hush === undefined) continue;
      const row = (
        /** @type {string} */ what,
        /** @type {(system: string) => number | undefined} */ get,
      ) =>
        `| ${s.title} | ${replicas} | ${what} | ${compared.map((o) => ratio(divide(get('hush'), get(o)))).join(' | ')} |`;
      lines.push(row(metricName(s.kind), value));
      if (s.kind === 'throughput') {
        lines.push(
          row('relay CPU per delivered msg (lower is better)', (system) => {
            const unit = find(units, name, system, replicas);
            return unit?.status === 'ok' ? cpuPerMessageUs(unit.result.peak) : undefined;
          }),
        );
      }
    }
  }
  lines.push('');

  lines.push('#### Targets');
  lines.push('');
  lines.push('| Target | Replicas | Measured | Goal | Met |');
  lines.push('| --- | ---: | ---: | ---: | :---: |');
  for (const row of targets(meta, units)) {
    lines.push(`| ${row.what} | ${row.replicas} | ${row.measured} | ${row.goal} | ${row.met} |`);
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}

/**
 * One scenario's heading, table and notes; undefined when the run has no unit of it.
 * @param {Report} report
 * @param {string} name
 * @returns {string[] | undefined}
 */
function renderSection(report, name) {
  const s = report.meta.scenarios[name];
  const rows = report.units.filter((u) => u.scenario === name);
  if (s === undefined || rows.length === 0) return undefined;
  const lines = [`#### ${s.title}: ${describe(name, s, rows)}`, ''];
  if (s.kind === 'throughput') lines.push(...throughputTable(rows));
  if (s.kind === 'idle') lines.push(...idleTable(rows));
  if (s.kind === 'churn') lines.push(...churnTable(rows));
  if (s.kind === 'decode') lines.push(...decodeTable(rows));
  if (s.kind === 'drain') lines.push(...drainTable(rows));
  if (s.kind === 'scale') lines.push(...scaleTable(s, rows));
  return lines;
}

/**
 * @param {string} _name
 * @param {any} s
 * @param {any[]} rows
 */
function describe(_name, s, rows) {
  const sample = rows.find((u) => u.result !== undefined)?.result;
  const base = typeof s.describe === 'function' ? s.describe(s) : '';
  if (s.kind === 'throughput' && sample !== undefined) {
    return `${base} (${num(sample.rooms)} rooms, ${num(sample.avgFanout, 2)} recipients per message on average)`;
  }
  return base;
}

/** @param {any[]} rows */
function throughputTable(rows) {
  const out = [
    '| System | Replicas | Peak delivered msg/s | Saturating sends/s | Relay CPU % at peak | Relay CPU µs per delivery (user) | Loadgen CPU % at peak | Reference load sends/s | p50 ms | p95 ms | p99 ms | Relay CPU % | Relay RSS MB |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const u of rows) {
    if (u.status !== 'ok') {
      out.push(
        `| ${LABEL[/** @type {keyof typeof LABEL} */ (u.system)]} | ${u.replicas} | ${status(u)} | | | | | | | | | | |`,
      );
      continue;
    }
    const r = u.result;
    const ref = r.reference;
    const flags = [];
    if ((r.totals?.notDelivered ?? 0) > 0)
      flags.push(`${num(r.totals.notDelivered)} never delivered`);
    if ((r.setup?.admissionRetries ?? 0) > 0)
      flags.push(`${num(r.setup.admissionRetries)} joins retried`);
    if ((r.totals?.unexpectedCloses ?? 0) > 0)
      flags.push(`${num(r.totals.unexpectedCloses)} closed`);
    out.push(
      `| ${LABEL[/** @type {keyof typeof LABEL} */ (u.system)]}${flags.length > 0 ? ` (${flags.join(', ')})` : ''} | ${u.replicas} | ` +
        `${r.saturated ? '' : '≥ '}${num(r.peak?.deliveredPerSec)} | ${r.saturated ? '' : '≥ '}${num(r.saturatingSendsPerSec)} | ` +
        `${num(relayCpu(r.peak?.usage))} | ${num(cpuPerMessageUs(r.peak), 1)} (${num(cpuPerMessageUs(r.peak, 'userPct'), 1)}) | ` +
        `${num(r.peak?.usage?.procs?.loadgen?.cpuPct)} | ` +
        `${num(ref?.achievedSendsPerSec)} | ${ms(ref?.latencyMs?.p50)} | ${ms(ref?.latencyMs?.p95)} | ` +
        `${ms(ref?.latencyMs?.p99)} | ${num(relayCpu(ref?.usage))} | ${num(relayRss(ref?.usage))} |`,
    );
  }
  out.push('');
  out.push(
    '_Peak: the best ramp step the system kept up with (p95 ≤ 50 ms, ≥ 90 % delivered, nothing lost), after ' +
      'doubling the offered rate and two bisection steps. Reference load: half of the saturating ' +
      'send rate of Hush with the same number of replicas, applied to every system; latency and CPU are ' +
      'measured there. Latency is end to end, send to receipt, from a timestamp inside the payload. ' +
      'CPU µs per delivery: relay CPU time (user + kernel; user-mode part in parentheses) per delivered ' +
      'message at the peak, all replicas together; it depends little on other load on the machine. ' +
      '"≥": the ramp hit its step or rate limit before the system saturated._',
  );
  return out;
}

/** @param {any[]} rows */
function idleTable(rows) {
  const out = [
    '| System | Replicas | Idle connections | Relay RSS before MB | after MB | KB per idle connection | Redis KB per connection | Connections opened /s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const u of rows) {
    if (u.status !== 'ok') {
      out.push(
        `| ${LABEL[/** @type {keyof typeof LABEL} */ (u.system)]} | ${u.replicas} | ${status(u)} | | | | | |`,
      );
      continue;
    }
    const r = u.result;
    const servers = Object.values(r.servers ?? {});
    const before = servers.reduce((sum, s) => sum + /** @type {any} */ (s).beforeMb, 0);
    const after = servers.reduce((sum, s) => sum + /** @type {any} */ (s).afterMb, 0);
    out.push(
      `| ${LABEL[/** @type {keyof typeof LABEL} */ (u.system)]} | ${u.replicas} | ${num(r.clients)} | ${num(before, 1)} | ${num(after, 1)} | ` +
        `${num(r.kbPerConnection, 1)} | ${u.replicas > 1 ? num(r.redisKbPerConnection, 2) : '–'} | ${num(r.setup?.connectionsPerSec)} |`,
    );
  }
  return out;
}

/** @param {any[]} rows */
function churnTable(rows) {
  const out = [
    '| System | Replicas | Connect+join+leave cycles/s | Connect+join p50 ms | p99 ms | Relay CPU % | Loadgen CPU % | Other load % | Errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const u of rows) {
    if (u.status !== 'ok') {
      out.push(
        `| ${LABEL[/** @type {keyof typeof LABEL} */ (u.system)]} | ${u.replicas} | ${status(u)} | | | | | | |`,
      );
      continue;
    }
    const r = u.result;
    out.push(
      `| ${LABEL[/** @type {keyof typeof LABEL} */ (u.system)]} | ${u.replicas} | ${num(r.cyclesPerSec)} | ${ms(r.connectJoinMs?.p50)} | ` +
        `${ms(r.connectJoinMs?.p99)} | ${num(relayCpu(r.usage))} | ${num(r.usage?.procs?.loadgen?.cpuPct)} | ` +
        `${num(r.usage?.otherPct)} | ${num(r.errors)} |`,
    );
  }
  return out;
}

/** @param {any[]} rows */
function decodeTable(rows) {
  const out = [
    '| Frame | Bytes | µs per decode | µs per byte | Answer |',
    '| --- | ---: | ---: | ---: | --- |',
  ];
  const unit = rows[0];
  if (unit?.status !== 'ok') {
    out.push(`| ${unit === undefined ? 'not run' : status(unit)} | | | | |`);
    return out;
  }
  const r = unit.result;
  /** @param {string} label @param {any} f */
  const row = (label, f) =>
    `| ${label}: ${f.name} | ${num(f.bytes)} | ${num(f.usPerDecode, 2)} | ${num(f.usPerByte, 4)} | ${f.answer === 'accepted' ? 'accepted' : `E005 ${f.answer}`} |`;
  out.push(row('Normal', r.normal));
  out.push(row('Worst per byte', r.worst));
  if (r.slowest.name !== r.worst.name) out.push(row('Slowest', r.slowest));
  out.push('');
  out.push(
    `_Worst per byte: the highest µs per byte among the ${num(r.corpusFrames)} corpus frames of at least ` +
      `${num(r.minBytes)} bytes (the normal frame's size; below it the fixed cost of a call dominates). ` +
      `Every corpus frame is refused with E005; the pre-scan keeps the work linear in the frame size, so ` +
      'µs per byte stays within a small factor of a normal frame. One process, one core, no other load from the bench._',
  );
  return out;
}

/** @param {boolean | undefined} ok */
function met(ok) {
  return ok === undefined ? '–' : ok ? 'yes' : '**no**';
}

/**
 * The drain figures against their goals (see `drainGoals`).
 * @param {any[]} rows
 */
function drainTable(rows) {
  const out = ['| Figure | Measured | Goal | Met |', '| --- | --- | ---: | :---: |'];
  const unit = rows[0];
  if (unit?.status !== 'ok') {
    out.push(`| ${unit === undefined ? 'not run' : status(unit)} | | | |`);
    return out;
  }
  const r = unit.result;
  const { drain, storm, loss } = r;
  const survivors = Object.entries(storm.peakJoinsPerSecBySurvivor ?? {})
    .map(([name, value]) => `${name.replace('-', ' ')}: ${num(/** @type {number} */ (value))}`)
    .join(', ');
  const retries = Object.entries(storm.retries ?? {})
    .map(([code, count]) => `${code} ${num(/** @type {number} */ (count))}`)
    .join(', ');
  const refused = Object.entries(storm.refused ?? {})
    .map(([why, count]) => `${why} ${num(/** @type {number} */ (count))}`)
    .join(', ');
  const closes = Object.entries(drain.closes ?? {})
    .map(([code, count]) => `${num(/** @type {number} */ (count))} × ${code}`)
    .join(', ');
  const goals = drainGoals(r);
  /** @param {string} what @param {string} measured @param {string} [goal] @param {boolean} [ok] */
  const row = (what, measured, goal = '', ok = undefined) =>
    out.push(`| ${what} | ${measured} | ${goal} | ${goal === '' ? '' : met(ok)} |`);
  row(
    'Drain notices received / members on the drained replica',
    `${num(drain.noticesReceived)} / ${num(drain.drainedMembers)}; last ${num(drain.lastNoticeMs)} ms after SIGTERM; closes ${closes || '–'}`,
  );
  row(
    'Drained replica exited after SIGTERM',
    `${num(drain.exitMs)} ms (code ${drain.exitCode ?? drain.exitSignal ?? '–'})`,
    goals.exit.goal,
    goals.exit.ok,
  );
  row(
    `Peak joins/s on the survivors (${num(storm.bucketMs)} ms buckets)`,
    `${num(storm.peakJoinsPerSec)} (${survivors})`,
  );
  row('Mean joins/s over the storm (first to last return)', num(storm.meanJoinsPerSec));
  row(
    'Every drained member back in its room after SIGTERM',
    `${num(storm.allBackMs)} ms (first ${num(storm.firstBackMs)} ms; ${num(storm.rejoined)} back, ${num(storm.notBack)} not${refused === '' ? '' : `: ${refused}`})`,
    goals.back.goal,
    goals.back.ok,
  );
  row(
    'Rejoin attempts, and those refused or failed',
    `${num(storm.rejoinAttempts)}; ${retries || 'none refused'}`,
  );
  const steps = storm.rejoinStepsMs ?? {};
  row(
    'Rejoin that got back in, p50 / p99: open (TCP + WebSocket); Hello; JoinRoom',
    `${ms(steps.open?.p50)} / ${ms(steps.open?.p99)}; ${ms(steps.hello?.p50)} / ${ms(steps.hello?.p99)}; ` +
      `${ms(steps.join?.p50)} / ${ms(steps.join?.p99)} ms`,
  );
  row(
    'Time away (close to RoomJoined) p50 / max; of it beyond the hint and jitter, p50 / max',
    `${num(storm.awayMs?.p50)} / ${num(storm.awayMs?.max)} ms; ${num(storm.overrunMs?.p50)} / ${num(storm.overrunMs?.max)} ms`,
  );
  row(
    'Accept-queue overflows on this machine during the storm (every process)',
    num(storm.listenOverflows),
  );
  const latency = r.latencyMs ?? {};
  row(
    'Delivery latency p50 / p99: before SIGTERM; storm; after',
    ['steady', 'storm', 'after']
      .map((phase) => `${ms(latency[phase]?.p50)} / ${ms(latency[phase]?.p99)}`)
      .join('; ') + ' ms',
  );
  const loop = r.loadgenLoopDelayMs ?? {};
  row(
    'Load generator event-loop delay p99 / max: before SIGTERM; storm',
    `${ms(loop.steady?.p99)} / ${ms(loop.steady?.max)}; ${ms(loop.storm?.p99)} / ${ms(loop.storm?.max)} ms`,
  );
  row(
    'Relay CPU % during the storm (survivors); loadgen CPU %',
    `${Object.entries(r.usage?.storm?.procs ?? {})
      .filter(([name]) => name.startsWith('server'))
      .map(
        ([name, u]) =>
          `${name.replace('server-', 'replica ')} ${num(/** @type {any} */ (u)?.cpuPct)}`,
      )
      .join(', ')}; ${num(r.usage?.storm?.procs?.loadgen?.cpuPct)}`,
  );
  row(
    'Messages told sent; deliveries due',
    `${num(loss.toldSent)} (${num(r.load.offeredSendsPerSec)}/s offered); ${num(loss.expectedDeliveries)}`,
  );
  row(
    `Lost to the ${num(loss.stayers.members)} members who never left`,
    `${num(loss.stayers.lost)} (counted by their gap detection: ${num(loss.stayers.countedByGaps)})`,
    goals.lost.goal,
    goals.lost.ok,
  );
  row(
    `Missed by the ${num(loss.returning.members)} returning members while away, counted by gap detection`,
    `${num(loss.returning.counted)} of ${num(loss.returning.missed)} missed`,
    goals.counted.goal,
    goals.counted.ok,
  );
  row(
    '… flagged as a gap that cannot be counted (the sender came back under a new id)',
    num(loss.returning.flaggedUncounted),
  );
  row(
    '… silent: neither counted nor flagged',
    `${num(loss.returning.silent)} (of which no member received: ${num(loss.returning.silentNobodyReceived)})`,
    goals.silent.goal,
    goals.silent.ok,
  );
  row(
    'Frames no member received; gap counts beyond what was missed',
    `${num(loss.nobodyReceived)} (${num(loss.nobodyReceivedFromDrained)} from drained senders); ${num(loss.overcounted)}`,
  );
  out.push('');
  out.push(
    `_${num(r.clients)} members (${r.clientsPerReplica.map((/** @type {number} */ n) => num(n)).join(' / ')} on replicas 0 / 1 / 2) ` +
      `in ${num(r.rooms)} rooms of ${r.roomSize}, ${num(r.roomsSpanningAll)} of them with members on all three replicas, all ` +
      'negotiating `notices`, `self-id` and `gaps`. Drain window ' +
      `${num(r.relay.drainWindowMs)} ms, drain delay ${num(r.relay.drainDelayMs)} ms (the relay's configuration). ` +
      "Drained members wait the notice's hint plus the SDK's jitter, reconnect round-robin to the survivors and " +
      'rejoin by room id under the same name, retrying E020/E024 as the SDK does. **Told sent**: a member wrote the ' +
      'frame to an open socket while in its room (after RoomJoined, before its socket closed or its drain notice ' +
      'came; drained members stop writing at the notice). Each frame carries a number, so every miss is known; ' +
      "each member counts gaps by the SDK's rules (`seq` jumps and the `sequences` notice)._",
  );
  return out;
}

/**
 * The issue's goals for a drain unit's result: measured against, met or not.
 * @param {any} r
 */
function drainGoals(r) {
  const { drain, storm, loss } = r;
  return {
    exit: {
      goal: `≤ ${num(r.relay.shutdownTimeoutMs)} ms`,
      ok: typeof drain.exitMs === 'number' ? drain.exitMs <= r.relay.shutdownTimeoutMs : false,
    },
    back: {
      goal: `≤ ${num(storm.goalMs)} ms (window + ${num(storm.goalMs - r.relay.drainWindowMs - r.relay.drainDelayMs)} ms)`,
      ok: storm.allBackInTime === true,
    },
    lost: { goal: '0', ok: loss.stayers.lost === 0 },
    counted: { goal: '> 0', ok: loss.returning.counted > 0 },
    silent: { goal: '0', ok: loss.returning.silent === 0 },
  };
}

/**
 * The scale figures of each system side by side, then the projection to a million connections
 * from Hush's.
 * @param {any} s  the scenario
 * @param {any[]} rows
 */
function scaleTable(s, rows) {
  const out = [];
  const limited = rows.find((u) => u.result?.limitedBy !== undefined)?.result.limitedBy;
  if (limited !== undefined) {
    out.push(
      `Asked for ${num(limited.wanted)} connections. This machine allows a process ${num(limited.fdLimit)} open files ` +
        `(a hard limit the sandbox cannot raise: it lacks CAP_SYS_RESOURCE), so a replica holds at most ${num(limited.perReplica)} ` +
        `connections and ${s.replicas} replicas held ${num(s.connections)}. Memory was not a limit (see the RSS rows); ` +
        `the two cores, shared by every replica, Redis, the generator and the kernel's loopback TCP, limit the latency ` +
        `(see how busy the machine was in the steady window).`,
      '',
    );
  }
  const units = rows.map((u) => ({ unit: u, r: u.status === 'ok' ? u.result : undefined }));
  const header = units.map(
    ({ unit }) =>
      `${LABEL[/** @type {keyof typeof LABEL} */ (unit.system)]}, ${unit.replicas} replicas`,
  );
  const hush = units.find(({ unit }) => unit.system === 'hush')?.r;
  const baseline = units.find(({ unit }) => unit.system === 'baseline')?.r;
  out.push(
    `| Figure | ${header.join(' | ')} | Hush / bare ws |`,
    `| --- | ${header.map(() => '---:').join(' | ')} | ---: |`,
  );
  for (const { unit } of units)
    if (unit.status !== 'ok') out.push(`| ${unit.target} | ${status(unit)} | | |`);
  /**
   * @param {string} what
   * @param {(r: any) => string} show
   * @param {(r: any) => number | undefined} [value]  compared Hush / bare ws
   */
  const row = (what, show, value) => {
    const cells = units.map(({ r }) => (r === undefined ? '–' : show(r)));
    const compared =
      value === undefined || hush === undefined || baseline === undefined
        ? ''
        : ratio(divide(value(hush), value(baseline)));
    out.push(`| ${what} | ${cells.join(' | ')} | ${compared} |`);
  };
  row('Connections seated / asked', (r) => `${num(r.seated)} / ${num(r.connections)}`);
  row(
    'Rooms; members per room on average; active members',
    (r) => `${num(r.rooms)}; ${num(r.meanRoomSize, 1)}; ${num(r.activeMembers)}`,
  );
  row(
    'Ramp: members seated per second (offered), seconds',
    (r) => `${num(r.ramp.achievedPerSec)} (${num(r.ramp.offeredPerSec)}), ${num(r.ramp.seconds)} s`,
  );
  row(
    'Ramp: connect (TCP + WebSocket) p50 / p99',
    (r) => `${ms(r.ramp.connectMs.p50)} / ${ms(r.ramp.connectMs.p99)} ms`,
    (r) => r.ramp.connectMs.p99,
  );
  row(
    'Ramp: join (JoinRoom → RoomJoined) p50 / p99',
    (r) => `${ms(r.ramp.joinMs.p50)} / ${ms(r.ramp.joinMs.p99)} ms`,
    (r) => r.ramp.joinMs.p99,
  );
  row(
    'Ramp: join p99 by tenth of the ramp',
    (r) => r.ramp.joinMsBySlice.map((/** @type {any} */ h) => num(h.p99)).join(' · ') + ' ms',
  );
  row(
    'Ramp: failed connects / joins; E024 retries',
    (r) =>
      `${num(r.ramp.failures.connect)} / ${num(r.ramp.failures.join)}; ${num(r.ramp.failures.retries)}`,
  );
  /** Relay CPU time per member seated during the ramp, ms. */
  const rampCpuMs = (/** @type {any} */ r) =>
    (((relayCpu(r.ramp.usage) ?? 0) / 100) * r.ramp.seconds * 1000) / Math.max(1, r.seated);
  row(
    'Ramp: relay CPU (all replicas), % of one core; per member seated',
    (r) => `${num(relayCpu(r.ramp.usage) ?? 0)} %; ${num(rampCpuMs(r), 2)} ms`,
    rampCpuMs,
  );
  row('RSS per replica, connections seated (MB)', (r) =>
    Object.values(r.servers)
      .map((/** @type {any} */ v) => `${num(v.rssMb)} (${num(v.connections)})`)
      .join(', '),
  );
  row(
    'RSS of the replicas per connection: whole process / added by the connections',
    (r) => `${num(r.rssKbPerConnection, 1)} / ${num(r.kbPerConnection, 1)} KB`,
    (r) => r.kbPerConnection,
  );
  row(
    'Steady load: chat messages/s + typing notifications/s',
    (r) => `${num(r.steady.chatPerSec, 1)} + ${num(r.steady.typingPerSec, 1)}`,
  );
  row(
    'Chat delivery latency p50 / p99 / max',
    (r) =>
      `${ms(r.steady.latencyMs.p50)} / ${ms(r.steady.latencyMs.p99)} / ${ms(r.steady.latencyMs.max)} ms`,
    (r) => r.steady.latencyMs.p99,
  );
  row(
    'Chat messages lost / expected deliveries',
    (r) => `${num(r.delivery.chatLost)} / ${num(r.delivery.chatExpected)}`,
  );
  row(
    'Typing notifications lost / expected deliveries',
    (r) => `${num(r.delivery.typingLost)} / ${num(r.delivery.typingExpected)}`,
  );
  row(
    'Steady load: relay CPU (all replicas) / Redis CPU, % of one core',
    (r) => `${num(relayCpu(r.steady.usage), 1)} / ${num(r.redis?.cpuPct, 1)}`,
    (r) => relayCpu(r.steady.usage),
  );
  row(
    'Machine busy in the steady window, % of one core (of 200); not the bench processes',
    (r) =>
      `${num(r.steady.usage.machineBusyPct)}; ${num(r.steady.usage.otherPct)} (generator ${num(r.generator.steadyCpuPct)}, the rest the kernel's loopback TCP and anything else running)`,
  );
  row(
    'Redis memory used, empty → seated; RSS',
    (r) =>
      `${num(r.redis?.usedMemoryEmptyMb, 1)} → ${num(r.redis?.usedMemoryMb, 1)} MB; ${num(r.redis?.rssMb, 1)} MB`,
  );
  row('Redis CPU while ramping, % of one core', (r) => num(r.redis?.rampCpuPct, 1));
  row('Redis commands per relayed frame (chat or typing): publishes + other', (r) =>
    r.redis === undefined
      ? '–'
      : `${num(r.redis.commandsPerRelayedFrame, 2)}: ${num(r.redis.publishesPerRelayedFrame, 2)} + ${num(r.redis.commandsPerRelayedFrame - r.redis.publishesPerRelayedFrame, 2)}`,
  );
  row('Redis commands per chat message (with its two typing frames, and background)', (r) =>
    num(r.redis?.commandsPerChatMessage, 2),
  );
  row('Redis commands/s not publishes (leases, budgets, presence)', (r) =>
    num(r.redis?.otherCommandsPerSec, 1),
  );
  row(
    'Replicas a publish reached (NUMSUB) / replicas hosting the room, per chat message',
    (r) =>
      `${num(r.redis?.deliveriesPerPublish, 2)} / ${num(r.redis?.replicasHostingPerMessage, 2)} of ${r.replicas}`,
  );
  row(
    'Redis bytes sent per relayed frame',
    (r) => `${num(r.redis?.netOutputBytesPerRelayedFrame)} B`,
  );
  row(
    'Load generator: processes, RSS, CPU in the steady window',
    (r) =>
      `${r.generatorProcesses}, ${num(r.generator.rssMb)} MB, ${num(r.generator.steadyCpuPct)} %`,
  );
  if (hush !== undefined) out.push('', ...projection(hush, s));
  return out;
}

/** Connections the projection is made for. */
const PROJECTED = 1_000_000;

/**
 * A million connections, projected from one scale run of Hush: the same connections per replica,
 * memory per connection, chat rate per connection and Redis cost per publish. Not measured.
 * @param {any} r  Hush's scale result
 * @param {{ roomSizeMin: number, roomSizeMax: number }} s  the scenario
 * @returns {string[]}
 */
export function projection(r, s) {
  const perReplica = r.seated / r.replicas;
  const replicas = Math.ceil(PROJECTED / perReplica);
  const emptyMb =
    Object.values(r.servers).reduce((sum, v) => sum + /** @type {any} */ (v).emptyMb, 0) /
    r.replicas;
  const memoryGb = (replicas * emptyMb + (PROJECTED * r.kbPerConnection) / 1024) / 1024;
  const scale = PROJECTED / r.seated;
  const chatPerSec = r.steady.chatPerSec * scale;
  const framesPerSec = (r.steady.chatPerSec + r.steady.typingPerSec) * scale;
  const relayCpuCores = ((relayCpu(r.steady.usage) ?? 0) / 100) * scale;
  // A publish reaches the replicas hosting the room: with members spread at random over
  // `replicas`, a room of n members is on replicas·(1 − (1 − 1/replicas)^n) of them.
  const hosting = (/** @type {number} */ n) => replicas * (1 - (1 - 1 / replicas) ** n);
  const meanHosting = weightedHosting(s, hosting);
  const redisCpuPerFrame =
    (r.redis?.cpuPct ?? 0) / 100 / Math.max(1, r.steady.chatPerSec + r.steady.typingPerSec);
  const deliveryCost = meanHosting / Math.max(1, r.redis?.deliveriesPerPublish ?? 1);
  const redisCores = redisCpuPerFrame * framesPerSec * deliveryCost;
  const redisMemoryGb =
    (((r.redis?.usedMemoryMb ?? 0) - (r.redis?.usedMemoryEmptyMb ?? 0)) * scale) / 1024;
  const shards = Math.max(1, Math.ceil(redisCores / 0.5));
  return [
    `**Projection to ${num(PROJECTED)} connections** (derived from this run's per-connection figures, not measured): ` +
      `at the ${num(perReplica)} connections per replica held here, ${num(replicas)} replicas; relay memory ` +
      `${num(memoryGb, 1)} GB (${num(emptyMb)} MB per empty replica plus ${num(r.kbPerConnection, 1)} KB per connection); ` +
      `the same 1 % active at the same rate is ${num(chatPerSec)} chat messages/s and ${num(framesPerSec)} relayed frames/s, ` +
      `${num(relayCpuCores, 1)} cores of relay CPU at this run's cost per connection. Redis: ${num(redisMemoryGb, 2)} GB of presence ` +
      `data; each publish would reach ${num(meanHosting, 1)} replicas on average (rooms of ${s.roomSizeMin}–${s.roomSizeMax} members spread over ` +
      `${num(replicas)} replicas) instead of ${num(r.redis?.deliveriesPerPublish, 1)} here, so about ${num(redisCores, 2)} Redis cores at this run's ` +
      `Redis CPU per delivery: ${shards} shard${shards === 1 ? '' : 's'} of Redis Cluster with sharded pub/sub (\`HUSH_REDIS_SHARDED\`), ` +
      `each kept under half a core; a room's keys and channel share a hash slot, so a room lives on one shard.`,
  ];
}

/**
 * The mean number of replicas a publish reaches, weighted by the members who send (every member
 * as likely to be active, so a room's chance is its size), for room sizes uniform in the
 * scenario's range.
 * @param {{ roomSizeMin: number, roomSizeMax: number }} s
 * @param {(n: number) => number} hosting  replicas a room of n members is on
 */
function weightedHosting(s, hosting) {
  let sum = 0;
  let weight = 0;
  for (let n = s.roomSizeMin; n <= s.roomSizeMax; n += 1) {
    sum += n * hosting(n);
    weight += n;
  }
  return sum / weight;
}

/**
 * The figure compared across systems: throughput, memory or churn rate.
 * @param {string} kind
 * @param {any} unit
 * @returns {number | undefined}
 */
function metric(kind, unit) {
  if (unit?.status !== 'ok') return undefined;
  if (kind === 'throughput') return unit.result.peak?.deliveredPerSec;
  if (kind === 'idle') return unit.result.kbPerConnection;
  if (kind === 'churn') return unit.result.cyclesPerSec;
  return undefined;
}

/** @param {string} kind */
function metricName(kind) {
  if (kind === 'throughput') return 'peak delivered msg/s (higher is better)';
  if (kind === 'idle') return 'KB per idle connection (lower is better)';
  return 'churn cycles/s (higher is better)';
}

/**
 * @param {number | undefined} a
 * @param {number | undefined} b
 */
function divide(a, b) {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/**
 * @param {Record<string, any>} meta
 * @param {any[]} units
 */
function targets(meta, units) {
  /** @type {{ what: string, replicas: number, measured: string, goal: string, met: string }[]} */
  const rows = [];
  for (const [name, scenario] of Object.entries(meta.scenarios)) {
    const s = /** @type {any} */ (scenario);
    if (s.kind === 'drain') {
      const unit = units.find((u) => u.scenario === name);
      if (unit?.status !== 'ok') continue;
      const r = unit.result;
      const goals = drainGoals(r);
      rows.push(
        {
          what: `${s.title}: every drained member back`,
          replicas: unit.replicas,
          measured: `${num(r.storm.allBackMs)} ms`,
          goal: goals.back.goal,
          met: met(goals.back.ok),
        },
        {
          what: `${s.title}: lost to members who never left`,
          replicas: unit.replicas,
          measured: num(r.loss.stayers.lost),
          goal: goals.lost.goal,
          met: met(goals.lost.ok),
        },
        {
          what: `${s.title}: silent misses of returning members`,
          replicas: unit.replicas,
          measured: num(r.loss.returning.silent),
          goal: goals.silent.goal,
          met: met(goals.silent.ok),
        },
      );
      continue;
    }
    for (const replicas of [1, 2]) {
      const hush = find(units, name, 'hush', replicas);
      if (hush?.status !== 'ok') continue;
      const against = (/** @type {string} */ system) =>
        divide(metric(s.kind, hush), metric(s.kind, find(units, name, system, replicas)));
      /**
       * @param {string} what
       * @param {string} measured
       * @param {string} goal
       * @param {boolean | undefined} ok
       */
      const row = (what, measured, goal, ok) =>
        rows.push({ what: `${s.title}: ${what}`, replicas, measured, goal, met: met(ok) });
      if (s.kind === 'throughput') {
        if (name === 'small-rooms') {
          const goal = GOALS.throughputVsBaseline[/** @type {1 | 2} */ (replicas)];
          const b = against('baseline');
          row(
            'throughput vs bare ws',
            ratio(b),
            `≥ ${goal}×`,
            b === undefined ? undefined : b >= goal,
          );
          const io = against('socketio');
          const ioGoal = GOALS.throughputVsSocketIo;
          row(
            'throughput vs Socket.IO',
            ratio(io),
            `≥ ${ioGoal}×`,
            io === undefined ? undefined : io >= ioGoal,
          );
          const base = find(units, name, 'baseline', replicas);
          const cpu = divide(
            cpuPerMessageUs(hush.result.peak),
            base?.status === 'ok' ? cpuPerMessageUs(base.result.peak) : undefined,
          );
          const cpuGoal = GOALS.cpuPerDeliveryVsBaseline;
          row(
            'relay CPU per delivery vs bare ws',
            ratio(cpu),
            `≤ ${cpuGoal}×`,
            cpu === undefined ? undefined : cpu <= cpuGoal,
          );
        }
        const p99 = hush.result.reference?.latencyMs?.p99;
        const p99Goal = /** @type {Record<string, number>} */ (GOALS.p99AtHalfLoadMs)[name];
        if (p99Goal !== undefined) {
          row(
            'p99 at half the saturating load',
            `${ms(p99)} ms`,
            `≤ ${p99Goal} ms`,
            typeof p99 === 'number' ? p99 <= p99Goal : undefined,
          );
        }
      }
      if (s.kind === 'idle') {
        const kb = hush.result.kbPerConnection;
        const goal = GOALS.idleKbPerConnection[/** @type {1 | 2} */ (replicas)];
        row(
          'relay memory per connection',
          `${num(kb, 1)} KB`,
          `≤ ${goal} KB`,
          typeof kb === 'number' ? kb <= goal : undefined,
        );
      }
      if (s.kind === 'churn') {
        const b = against('baseline');
        const goal = GOALS.churnVsBaseline;
        row('cycles/s vs bare ws', ratio(b), `≥ ${goal}×`, b === undefined ? undefined : b >= goal);
      }
    }
  }
  return rows;
}

/**
 * Writes the sections of the scenarios `report` ran into BENCHMARKS.md and leaves every other
 * section as it was: a section already there (between its markers) is replaced, a new one goes
 * before the ratios. Each carries a line saying which run it comes from, since the header line of
 * the results belongs to the last full run. Without the results markers, writes the whole block.
 * @param {string} path
 * @param {Report} report
 */
export function mergeBenchmarksMd(path, report) {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const blockStart = text.indexOf(BEGIN_MARKER);
  const blockEnd = text.indexOf(END_MARKER);
  if (blockStart < 0 || blockEnd < blockStart) {
    updateBenchmarksMd(path, renderMarkdown(report));
    return;
  }
  let block = text.slice(blockStart, blockEnd);
  const { meta } = report;
  for (const name of Object.keys(meta.scenarios)) {
    const section = renderSection(report, name);
    if (section === undefined) continue;
    const { begin, end } = sectionMarkers(name);
    const provenance =
      `_This section comes from a run of this scenario alone (${meta.date.slice(0, 16).replace('T', ' ')} UTC, ` +
      `commit ${meta.commit}, Node ${meta.node}, ${meta.cpus} × ${meta.cpuModel}, load average at start ` +
      `${meta.loadAverageAtStart.join(' / ')}${meta.quick ? ', **--quick** sizes' : ''}); the next full run replaces it._`;
    const replacement = [begin, provenance, '', ...section, end].join('\n');
    const at = block.indexOf(begin);
    const until = block.indexOf(end);
    if (at >= 0 && until > at) {
      block = `${block.slice(0, at)}${replacement}${block.slice(until + end.length)}`;
    } else {
      const ratios = block.indexOf('#### Ratios');
      const where = ratios >= 0 ? ratios : block.length;
      block = `${block.slice(0, where)}${replacement}\n\n${block.slice(where)}`;
    }
  }
  writeFileSync(path, `${text.slice(0, blockStart)}${block}${text.slice(blockEnd)}`);
}

/**
 * Replaces the text between the markers of BENCHMARKS.md with `markdown` (appends the markers
 * when they are missing).
 * @param {string} path
 * @param {string} markdown
 */
export function updateBenchmarksMd(path, markdown) {
  const block = `${BEGIN_MARKER}\n\n${markdown}\n${END_MARKER}`;
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const begin = text.indexOf(BEGIN_MARKER);
  const end = text.indexOf(END_MARKER);
  const next =
    begin >= 0 && end > begin
      ? `${text.slice(0, begin)}${block}${text.slice(end + END_MARKER.length)}`
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}
