// The load generator: a separate process forked by bench/run.js. It receives one unit of work
// (a scenario against the endpoints of one system), drives it, asks the parent to sample the
// servers' CPU and memory at the edges of every measurement window, and sends back the results.
// Every loop is bounded in time and in count.
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Histogram } from '../lib/histogram.js';
import { usageBetween, round } from '../lib/procfs.js';
import { admit, countingSink, MsgpackClient, SocketIoClient } from './clients.js';
import { drain as drainScenario } from './drain.js';
import { scale as scaleScenario } from './scale.js';
import { chatFrame, memberName, nowMs } from './frames.js';
import { allOrThrow, closeAll, pool } from './pool.js';

/** @typedef {MsgpackClient | SocketIoClient} Client */
/** @typedef {import('../lib/procfs.js').Sample} Sample */

/**
 * @typedef {object} Unit
 * @property {'msgpack' | 'socketio'} protocol
 * @property {string[]} endpoints  one WebSocket URL per replica; clients are spread round-robin
 * @property {Record<string, any>} scenario  see bench/config.js
 * @property {number} [referenceRate]  sends/s of the latency measurement; default: half of the
 *   saturating rate found by the ramp
 * @property {{ drainDelayMs: number, drainWindowMs: number, shutdownTimeoutMs: number }} [relay]
 *   Hush only: the relay's shutdown settings, as its own configuration loader reads them
 * @property {string} [redisUrl]  the Redis the replicas share, when there are several
 * @property {string[]} [sourceAddresses]  local addresses clients connect from (scale scenario)
 */

const CORES = cpus().length;

// ---------------------------------------------------------------------------------------------
// Counters shared by every client of this process

const { counters, latency, recording, sink } = countingSink();

// ---------------------------------------------------------------------------------------------
// Talking to the parent

let probeSeq = 0;
/** @type {Map<number, (sample: Sample) => void>} */
const probes = new Map();

/**
 * Asks the parent to sample the servers (and this process) now.
 * @param {string} label
 * @returns {Promise<Sample>}
 */
function probe(label) {
  const id = (probeSeq += 1);
  return new Promise((resolve, reject) => {
    // Generous: the parent may take a heap snapshot of the relay before answering.
    const timer = setTimeout(() => {
      probes.delete(id);
      reject(new Error(`probe ${label} unanswered`));
    }, 120_000);
    probes.set(id, (sample) => {
      clearTimeout(timer);
      probes.delete(id);
      resolve(sample);
    });
    send({ type: 'probe', id, label });
  });
}

/** @type {Map<number, (atMs: number) => void>} */
const terminations = new Map();
/** @type {Map<number, { atMs: number, code: number | null, signal: string | null }>} */
const exits = new Map();
/** @type {Map<number, () => void>} */
const exitWaiters = new Map();

/**
 * Asks the parent to send SIGTERM to replica `replica` now.
 * @param {number} replica
 * @returns {Promise<number>} when it was sent (nowMs clock)
 */
function terminate(replica) {
  const id = (probeSeq += 1);
  return new Promise((resolve) => {
    terminations.set(id, (atMs) => {
      terminations.delete(id);
      resolve(atMs);
    });
    send({ type: 'terminate', id, replica });
  });
}

/**
 * How a replica this process terminated exited, once it has, or undefined after `timeoutMs`.
 * @param {number} replica
 * @param {number} timeoutMs
 */
async function replicaExit(replica, timeoutMs) {
  if (!exits.has(replica)) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      exitWaiters.set(replica, () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    exitWaiters.delete(replica);
  }
  return exits.get(replica);
}

/** @param {unknown} message */
function send(message) {
  if (process.send === undefined) throw new Error('bench/loadgen/main.js must be forked');
  process.send(message);
}

/** @param {string} text */
function log(text) {
  send({ type: 'log', text });
}

process.on('message', (/** @type {any} */ message) => {
  if (message?.type === 'probe-result') probes.get(message.id)?.(message.sample);
  if (message?.type === 'terminated') terminations.get(message.id)?.(message.atMs);
  if (message?.type === 'replica-exit') {
    const replica = Number(message.replica);
    exits.set(replica, { atMs: message.atMs, code: message.code, signal: message.signal });
    exitWaiters.get(replica)?.();
  }
  if (message?.type === 'run') {
    run(message.unit).then(
      (result) => send({ type: 'done', result }),
      (/** @type {unknown} */ error) =>
        send({ type: 'failed', error: error instanceof Error ? error.stack : String(error) }),
    );
  }
});
process.on('disconnect', () => process.exit(0));

// ---------------------------------------------------------------------------------------------
// Building blocks

/**
 * @param {Unit} unit
 * @param {number} index  global client index: picks the replica round-robin
 * @returns {Promise<Client>}
 */
function openClient(unit, index) {
  const url = unit.endpoints[index % unit.endpoints.length] ?? '';
  return unit.protocol === 'socketio'
    ? SocketIoClient.open(url, sink, 10_000)
    : MsgpackClient.open(url, sink, 10_000);
}

/**
 * Room sizes covering `connections` members: `sizes` repeated in order; the last room takes
 * what is left (at least 2).
 * @param {number} connections
 * @param {number[]} sizes
 */
export function roomLayout(connections, sizes) {
  /** @type {number[]} */
  const layout = [];
  let left = connections;
  for (let i = 0; left > 0 && i < connections; i += 1) {
    const size = Math.min(sizes[i % sizes.length] ?? 2, left);
    const last = layout.length - 1;
    if (size < 2 && last >= 0) layout[last] = (layout[last] ?? 0) + size;
    else layout.push(size);
    left -= size;
  }
  return layout;
}

/** Retries of creates and joins the server answered with "unavailable, try again" (E024). */
let admissionRetries = 0;
const countRetry = () => {
  admissionRetries += 1;
};

/**
 * @typedef {object} Population
 * @property {Client[]} clients  in room order
 * @property {Uint16Array} fanout  per client: how many others receive its messages
 * @property {string[]} roomIds
 * @property {{ connectMs: number, joinMs: number, connectionsPerSec: number, admissionRetries: number }} timing
 */

/**
 * Connects clients and seats them in rooms: the first member of each room creates it, the
 * others join by id. Consecutive clients alternate between replicas, so every room of two or
 * more members spans the replicas when there are several.
 * @param {Unit} unit
 * @param {number[]} layout  room sizes
 * @param {number} firstIndex  global index of the first client (keeps names unique)
 * @param {number} deadline
 * @returns {Promise<Population>}
 */
async function populate(unit, layout, firstIndex, deadline) {
  const total = layout.reduce((sum, size) => sum + size, 0);
  const concurrency = unit.scenario.connectConcurrency ?? 200;
  const started = nowMs();
  const clients = allOrThrow(
    await pool(
      Array.from({ length: total }, (_, i) => firstIndex + i),
      concurrency,
      deadline,
      (index) => openClient(unit, index),
    ),
    'connections',
  );
  const connected = nowMs();
  /** @type {number[]} */
  const firsts = [];
  const fanout = new Uint16Array(total);
  let offset = 0;
  for (const size of layout) {
    firsts.push(offset);
    fanout.fill(size - 1, offset, offset + size);
    offset += size;
  }
  const roomIds = allOrThrow(
    await pool(firsts, concurrency, deadline, (first) =>
      admit(
        () => /** @type {Client} */ (clients[first]).create(memberName('m', firstIndex + first)),
        countRetry,
      ),
    ),
    'room creations',
  );
  /** @type {{ client: Client, roomId: string, name: string }[]} */
  const joins = [];
  layout.forEach((size, room) => {
    const first = /** @type {number} */ (firsts[room]);
    for (let i = first + 1; i < first + size; i += 1) {
      joins.push({
        client: /** @type {Client} */ (clients[i]),
        roomId: /** @type {string} */ (roomIds[room]),
        name: memberName('m', firstIndex + i),
      });
    }
  });
  allOrThrow(
    await pool(joins, concurrency, deadline, ({ client, roomId, name }) =>
      admit(() => client.join(roomId, name), countRetry),
    ),
    'joins',
  );
  const joined = nowMs();
  return {
    clients,
    fanout,
    roomIds,
    timing: {
      connectMs: round(connected - started, 1),
      joinMs: round(joined - connected, 1),
      connectionsPerSec: round((total / Math.max(1, connected - started)) * 1000, 0),
      admissionRetries,
    },
  };
}

/**
 * Waits until no frame has arrived for `quietMs` (join notifications settling), at most `maxMs`.
 * @param {number} quietMs
 * @param {number} maxMs
 */
async function quiet(quietMs, maxMs) {
  const end = nowMs() + maxMs;
  let last = counters.frames;
  let since = nowMs();
  while (nowMs() < end) {
    await sleep(25);
    if (counters.frames !== last) {
      last = counters.frames;
      since = nowMs();
    } else if (nowMs() - since >= quietMs) {
      return true;
    }
  }
  return false;
}

/**
 * Open-loop sender: `rate` chat messages per second in total, round-robin over `clients`,
 * stamped with the time they are handed to the socket. A timer tick sends what is due; when the
 * generator falls behind it sends at most 50 ms worth per tick, and the shortfall shows as an
 * achieved rate below the offered one.
 * @param {Population} population
 * @param {number} rate
 */
function startSending(population, rate) {
  const { clients, fanout } = population;
  const frame = chatFrame();
  const start = nowMs();
  const maxBurst = Math.max(1, Math.ceil(rate * 0.05));
  const state = { sent: 0, expected: 0, skipped: 0, stopped: false };
  let next = 0;
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const tick = () => {
    const due = Math.floor(((nowMs() - start) * rate) / 1000);
    for (let burst = 0; state.sent + state.skipped < due && burst < maxBurst; burst += 1) {
      const client = /** @type {Client} */ (clients[next]);
      if (client.sendChat(frame)) {
        state.sent += 1;
        state.expected += fanout[next] ?? 0;
      } else {
        state.skipped += 1;
      }
      next = next + 1 === clients.length ? 0 : next + 1;
    }
    if (!state.stopped) timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return {
    state,
    stop() {
      state.stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Deliveries the senders have caused so far (each send times the sender's recipients). */
let expectedTotal = 0;

/** Deliveries still on their way, or lost (drops, closed sockets). */
function outstanding() {
  return expectedTotal - counters.delivered;
}

/**
 * Waits until every message sent so far has arrived, or until nothing has arrived for `quietMs`
 * (the rest is lost), at most `maxMs`.
 * @param {number} quietMs
 * @param {number} maxMs
 */
async function drain(quietMs, maxMs) {
  const end = nowMs() + maxMs;
  let last = counters.delivered;
  let since = nowMs();
  while (outstanding() > 0 && nowMs() < end) {
    await sleep(20);
    if (counters.delivered !== last) {
      last = counters.delivered;
      since = nowMs();
    } else if (nowMs() - since >= quietMs) {
      return;
    }
  }
}

/**
 * One measurement at a fixed offered rate: warm up, measure, then stop and let in-flight
 * messages arrive (bounded) before the next one.
 * @param {Population} population
 * @param {number} rate  offered sends/s
 * @param {number} warmupMs
 * @param {number} measureMs
 * @param {string} label
 */
async function measure(population, rate, warmupMs, measureMs, label) {
  const avgFanout = averageFanout(population);
  const closesBefore = counters.unexpectedCloses;
  const errorsBefore = counters.errorFrames;
  // A previous overloaded step may still be draining into this one.
  await drain(1_000, 10_000);
  await quiet(100, 2_000);
  const outstandingBefore = Math.max(0, outstanding());
  const sender = startSending(population, rate);
  await sleep(warmupMs);
  const startSample = await probe(`${label}:start`);
  latency.reset();
  recording.on = true;
  const monoStartUs = monotonicUs();
  const t0 = nowMs();
  const delivered0 = counters.delivered;
  const sent0 = sender.state.sent;
  await sleep(measureMs);
  const t1 = nowMs();
  const monoEndUs = monotonicUs();
  const delivered1 = counters.delivered;
  const sent1 = sender.state.sent;
  recording.on = false;
  const endSample = await probe(`${label}:end`);
  sender.stop();
  expectedTotal += sender.state.expected;
  // Let in-flight messages arrive (bounded); what has not is counted as lost (if it arrives
  // later, the next step starts only after it).
  await drain(1_000, 3_000);
  const lost = Math.max(0, outstanding() - outstandingBefore);
  const seconds = (t1 - t0) / 1000;
  const sendsPerSec = (sent1 - sent0) / seconds;
  return {
    label,
    offeredSendsPerSec: round(rate, 1),
    achievedSendsPerSec: round(sendsPerSec, 1),
    expectedDeliveredPerSec: round(sendsPerSec * avgFanout, 0),
    deliveredPerSec: round((delivered1 - delivered0) / seconds, 0),
    latencyMs: latency.summary(),
    lost,
    skippedSends: sender.state.skipped,
    unexpectedCloses: counters.unexpectedCloses - closesBefore,
    errorFrames: counters.errorFrames - errorsBefore,
    usage: usageBetween(startSample, endSample),
    /** The window on CLOCK_MONOTONIC, the clock of V8 CPU profiles (to cut them to it). */
    monotonicWindowUs: [monoStartUs, monoEndUs],
  };
}

/** CLOCK_MONOTONIC in µs: shared by every process on the machine, and by V8's profiler. */
function monotonicUs() {
  return Number(process.hrtime.bigint() / 1000n);
}

/** @param {Population} population */
function averageFanout(population) {
  let sum = 0;
  for (const value of population.fanout) sum += value;
  return sum / Math.max(1, population.fanout.length);
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/** @param {Unit} unit */
async function run(unit) {
  switch (unit.scenario.kind) {
    case 'throughput':
      return throughput(unit);
    case 'idle':
      return idle(unit);
    case 'churn':
      return churn(unit);
    case 'drain':
      return drainScenario(unit, { log, probe, terminate, replicaExit });
    case 'scale':
      return scaleScenario(unit, { log, probe });
    default:
      throw new Error(`unknown scenario kind ${unit.scenario.kind}`);
  }
}

/**
 * Ramp the offered rate until delivered/s stops growing (or latency explodes, or messages are
 * lost), then measure latency at the reference rate: half the saturating rate unless the parent
 * gives one (so every system is measured at the same load).
 * @param {Unit} unit
 */
async function throughput(unit) {
  const s = unit.scenario;
  const deadline = nowMs() + s.setupTimeoutMs;
  const population = await populate(unit, roomLayout(s.connections, s.roomSizes), 0, deadline);
  const avgFanout = averageFanout(population);
  log(
    `  ${population.clients.length} clients in ${population.roomIds.length} rooms ` +
      `(connect ${population.timing.connectMs} ms, join ${population.timing.joinMs} ms)`,
  );
  await quiet(200, 5_000);
  const phases = { setupMs: 0, rampMs: 0, referenceMs: 0, closeMs: 0 };
  let phaseStart = nowMs();
  phases.setupMs = round(phaseStart - deadline + s.setupTimeoutMs, 0);
  await measure(population, s.startRate, s.warmupMs, s.warmupMs, 'jit-warmup');

  /** @type {Awaited<ReturnType<typeof measure>>[]} */
  const steps = [];
  /** Why the ramp ended; only the first three mean the system was saturated. */
  let rampEnd = /** @type {'overload' | 'short' | 'flat' | 'limit' | 'skipped'} */ ('limit');
  /** Highest offered rate the system kept up with, and lowest it did not. */
  let lo = /** @type {number | undefined} */ (undefined);
  let hi = /** @type {number | undefined} */ (undefined);
  let retries = 0;
  /**
   * Measures one ramp step, again when other load on the machine starved it (bounded).
   * @param {number} rate
   */
  const step = async (rate) => {
    for (;;) {
      const result = await measure(
        population,
        rate,
        s.warmupMs,
        s.measureMs,
        `ramp-${steps.length}`,
      );
      const again = starved(result, s.overloadP95Ms) && retries < s.starvedRetries;
      log(`  ramp ${describeStep(result)}${again ? ' — starved by other load, again' : ''}`);
      if (!again) {
        steps.push(result);
        return result;
      }
      retries += 1;
    }
  };
  /**
   * Why a step shows the system is not keeping up, or undefined when it is.
   * @param {Awaited<ReturnType<typeof measure>>} result
   * @param {Awaited<ReturnType<typeof measure>> | undefined} previousOk
   */
  const verdict = (result, previousOk) => {
    const p95 = result.latencyMs.p95 ?? Infinity;
    if (result.lost > 0 || result.unexpectedCloses > 0 || p95 > s.overloadP95Ms) return 'overload';
    if (
      result.deliveredPerSec < result.expectedDeliveredPerSec * 0.9 ||
      result.achievedSendsPerSec < result.offeredSendsPerSec * 0.9
    ) {
      return 'short';
    }
    if (previousOk !== undefined && result.deliveredPerSec < previousOk.deliveredPerSec * 1.1) {
      return 'flat';
    }
    return undefined;
  };
  if (s.skipRamp) rampEnd = 'skipped';
  else {
    // Double the offered rate until the system stops keeping up...
    /** @type {Awaited<ReturnType<typeof measure>> | undefined} */
    let lastOk;
    let rate = s.startRate;
    for (let i = 0; i < s.maxSteps && rate <= s.maxRate; i += 1) {
      const result = await step(rate);
      const why = verdict(result, lastOk);
      if (why !== undefined) {
        rampEnd = why;
        hi = rate;
        break;
      }
      lo = rate;
      lastOk = result;
      rate *= s.growth;
    }
    // ...then narrow the gap between the last rate it kept up with and the first it did not.
    for (let i = 0; i < s.refineSteps && lo !== undefined && hi !== undefined; i += 1) {
      const rate = Math.sqrt(lo * hi);
      const result = await step(rate);
      if (verdict(result, undefined) === undefined) lo = rate;
      else hi = rate;
    }
  }
  phases.rampMs = round(nowMs() - phaseStart, 0);
  phaseStart = nowMs();
  // Offered rates are recorded rounded to 0.1/s.
  const sustained = steps.filter(
    (r) => r.offeredSendsPerSec <= (lo ?? 0) + 0.1 && verdict(r, undefined) === undefined,
  );
  /** The best step the system kept up with (latency bounded, nothing lost). */
  const peak = (sustained.length > 0 ? sustained : steps).reduce(
    (best, step) =>
      best === undefined || step.deliveredPerSec > best.deliveredPerSec ? step : best,
    /** @type {(typeof steps)[number] | undefined} */ (undefined),
  );
  /** Delivered/s at any step, overloaded ones included (latency unbounded). */
  const maxDeliveredPerSec = Math.max(0, ...steps.map((r) => r.deliveredPerSec));
  const saturatingSendsPerSec = peak === undefined ? undefined : peak.deliveredPerSec / avgFanout;
  const referenceRate =
    unit.referenceRate ??
    (saturatingSendsPerSec === undefined ? s.startRate : saturatingSendsPerSec / 2);
  const reference = await measure(
    population,
    referenceRate,
    s.referenceWarmupMs,
    s.referenceMeasureMs,
    'reference',
  );
  log(`  reference ${describeStep(reference)}`);
  phases.referenceMs = round(nowMs() - phaseStart, 0);
  phaseStart = nowMs();
  await drain(1_000, 5_000);
  const notDelivered = Math.max(0, outstanding());
  await closeAll(population.clients);
  phases.closeMs = round(nowMs() - phaseStart, 0);
  return {
    phases,
    clients: population.clients.length,
    rooms: population.roomIds.length,
    avgFanout: round(avgFanout, 3),
    setup: population.timing,
    steps,
    rampEnd,
    saturated: rampEnd === 'overload' || rampEnd === 'short' || rampEnd === 'flat',
    /** Highest offered rate kept up with, lowest not (sends/s), after refinement. */
    bracket: { lo, hi },
    peak,
    maxDeliveredPerSec,
    saturatingSendsPerSec:
      saturatingSendsPerSec === undefined ? undefined : round(saturatingSendsPerSec, 1),
    reference,
    /** Sent but never delivered over the whole unit (late beyond the bounded waits, or dropped). */
    totals: { ...counters, notDelivered },
  };
}

/**
 * A step that fell short of its offered load while the processes of the bench left most of the
 * machine unused and something else took it: the step says nothing about the relay.
 * @param {Awaited<ReturnType<typeof measure>>} step
 * @param {number} overloadP95Ms
 */
function starved(step, overloadP95Ms) {
  const short =
    step.deliveredPerSec < step.expectedDeliveredPerSec * 0.9 ||
    step.achievedSendsPerSec < step.offeredSendsPerSec * 0.9 ||
    (step.latencyMs.p95 ?? 0) > overloadP95Ms;
  let ours = 0;
  for (const usage of Object.values(step.usage.procs)) ours += usage?.cpuPct ?? 0;
  return short && ours < CORES * 100 * 0.6 && step.usage.otherPct > 30;
}

/** @param {Awaited<ReturnType<typeof measure>>} step */
function describeStep(step) {
  const l = step.latencyMs;
  const server = Object.entries(step.usage.procs)
    .filter(([name]) => name.startsWith('server'))
    .map(([, u]) => `${u?.cpuPct ?? '-'}%`)
    .join('+');
  return (
    `offered ${step.offeredSendsPerSec}/s sent ${step.achievedSendsPerSec}/s → ` +
    `delivered ${step.deliveredPerSec}/s (expected ${step.expectedDeliveredPerSec}) ` +
    `p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} ms; server cpu ${server}, ` +
    `loadgen ${step.usage.procs.loadgen?.cpuPct ?? '-'}%, other ${step.usage.otherPct}%` +
    (step.lost > 0 ? `, lost ${step.lost}` : '') +
    (step.unexpectedCloses > 0 ? `, closed ${step.unexpectedCloses}` : '') +
    (step.errorFrames > 0 ? `, errors ${step.errorFrames}` : '')
  );
}

/**
 * Memory per idle connection: RSS of the servers with a few warm connections, then with
 * `connections` more idle members seated in rooms, after a settling pause.
 * @param {Unit} unit
 */
async function idle(unit) {
  const s = unit.scenario;
  const deadline = nowMs() + s.setupTimeoutMs;
  const warm = await populate(unit, roomLayout(s.warmConnections, [s.roomSize]), 0, deadline);
  await quiet(200, 5_000);
  await sleep(s.settleMs);
  const before = await probe('idle:before');
  const population = await populate(
    unit,
    roomLayout(s.connections, [s.roomSize]),
    s.warmConnections,
    deadline,
  );
  log(
    `  ${population.clients.length} idle clients in ${population.roomIds.length} rooms ` +
      `(connect ${population.timing.connectMs} ms, join ${population.timing.joinMs} ms)`,
  );
  await quiet(200, 5_000);
  await sleep(s.settleMs);
  const settled = await probe('idle:settled');
  await sleep(s.idleCpuMs);
  const after = await probe('idle:after');
  /** @type {Record<string, { beforeMb: number, afterMb: number }>} */
  const servers = {};
  let deltaKb = 0;
  for (const [name, last] of Object.entries(after.procs)) {
    const first = before.procs[name];
    if (!name.startsWith('server') || last === null || first == null) continue;
    servers[name] = {
      beforeMb: round(first.rssKb / 1024, 1),
      afterMb: round(last.rssKb / 1024, 1),
    };
    deltaKb += last.rssKb - first.rssKb;
  }
  const redisBefore = before.procs.redis;
  const redisAfter = after.procs.redis;
  const result = {
    clients: population.clients.length,
    warmClients: warm.clients.length,
    rooms: population.roomIds.length,
    setup: population.timing,
    servers,
    kbPerConnection: round(deltaKb / population.clients.length, 2),
    redisKbPerConnection:
      redisBefore == null || redisAfter == null
        ? undefined
        : round((redisAfter.rssKb - redisBefore.rssKb) / population.clients.length, 2),
    idleUsage: usageBetween(settled, after),
    totals: { ...counters },
  };
  log(`  ${result.kbPerConnection} KB of server RSS per idle connection`);
  await closeAll([...population.clients, ...warm.clients]);
  return result;
}

/**
 * Connection churn: `concurrency` loops, each connecting, joining one of a few long-lived rooms,
 * waiting to be seated, and disconnecting (closing handshake included), for `durationMs`.
 * @param {Unit} unit
 */
async function churn(unit) {
  const s = unit.scenario;
  const deadline = nowMs() + s.setupTimeoutMs;
  const anchors = await populate(unit, roomLayout(s.anchorRooms * 2, [2]), 0, deadline);
  await quiet(200, 5_000);
  const joinLatency = new Histogram();
  const state = { cycles: 0, errors: 0, firstError: /** @type {string | undefined} */ (undefined) };
  let nextIndex = anchors.clients.length;
  const start = await probe('churn:start');
  const t0 = nowMs();
  const end = t0 + s.durationMs;
  const loop = async (/** @type {number} */ worker) => {
    for (let cycle = 0; nowMs() < end && state.cycles < s.maxCycles; cycle += 1) {
      const index = (nextIndex += 1);
      const roomId = anchors.roomIds[(worker + cycle) % anchors.roomIds.length] ?? '';
      const began = nowMs();
      /** @type {Client | undefined} */
      let client;
      try {
        client = await openClient(unit, index);
        await client.join(roomId, memberName('c', index));
        joinLatency.record(nowMs() - began);
        await client.close();
        state.cycles += 1;
      } catch (error) {
        client?.terminate();
        state.errors += 1;
        state.firstError ??= error instanceof Error ? error.message : String(error);
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: s.concurrency }, (_, worker) => loop(worker)));
  const t1 = nowMs();
  const stop = await probe('churn:end');
  const result = {
    concurrency: s.concurrency,
    seconds: round((t1 - t0) / 1000, 3),
    cycles: state.cycles,
    cyclesPerSec: round(state.cycles / ((t1 - t0) / 1000), 1),
    errors: state.errors,
    firstError: state.firstError,
    connectJoinMs: joinLatency.summary(),
    usage: usageBetween(start, stop),
    totals: { ...counters },
  };
  log(
    `  ${result.cyclesPerSec} connect+join+close cycles/s, connect+join p50 ` +
      `${result.connectJoinMs.p50} p99 ${result.connectJoinMs.p99} ms, errors ${result.errors}`,
  );
  await closeAll(anchors.clients);
  return result;
}
