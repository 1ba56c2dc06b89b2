// The scale scenario (issue #17): as many WebSocket connections as the scenario asks for (100,000
// in a full run) over several replicas on one Redis, on this machine, then a steady chat load.
// This module coordinates; the clients live in generator processes (scale-worker.js), as many as
// the open-file limit per process needs, each holding whole rooms.
//
// Ramp. Members arrive open-loop at `rampPerSec` in all (at most `maxInFlight` unseated at once),
// each from one of several loopback source addresses (127.0.0.2, 127.0.0.3, ...: the kernel picks
// the local port of a socket bound to an address by scanning that address's ports, which slows
// to seconds per connection long before the ephemeral range is used up, so each address serves
// only `connectionsPerAddress`). Each replica gets the same share of the members, which members
// of a room land together is left to chance (scale-plan.js). Rooms hold 2–50 members (uniform);
// the first member of a room creates it, the others join it by id. Every create and join is timed
// (request written → RoomJoined), in ten slices of the ramp.
//
// Steady load. 1 % of the members are active: each, at a random phase, every `chatIntervalMs`
// starts typing, sends one chat message `typingLeadMs` later and stops typing. Measured over
// `steadyMs` after one interval of warm-up: delivery latency of the chat messages; chat messages
// and typing notifications received against expected; replica RSS and CPU; Redis memory, CPU and
// the commands it ran (INFO commandstats); and how many replicas each publish reached (PUBSUB
// NUMSUB of the room's channel) against how many host the room.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Histogram } from '../lib/histogram.js';
import { CLOCK_TICKS, round, sampleProcess, usageBetween } from '../lib/procfs.js';
import { nowMs } from './frames.js';
import { plan as planOf } from './scale-plan.js';

/** @typedef {import('../lib/procfs.js').Sample} Sample */

/**
 * What the generator's main module lends the scenario.
 * @typedef {object} Host
 * @property {(text: string) => void} log
 * @property {(label: string) => Promise<Sample>} probe
 */

const WORKER = fileURLToPath(new URL('./scale-worker.js', import.meta.url));
/** Commands the generator itself sends to Redis to read it; not counted. */
const OWN_COMMANDS = new Set(['info', 'pubsub', 'client', 'hello', 'ping', 'select']);

/**
 * The generator processes, driven together: `all(command)` sends it to each and resolves with
 * their answers.
 * @param {number} count
 * @param {(worker: number, done: number) => void} onProgress  members a process has seated or
 *   given up on so far
 */
function startWorkers(count, onProgress) {
  const children = Array.from({ length: count }, () =>
    fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] }),
  );
  /** @type {Map<import('node:child_process').ChildProcess, { type: string, resolve: (m: any) => void, reject: (e: Error) => void }>} */
  const waiting = new Map();
  for (const [index, child] of children.entries()) {
    child.on('message', (/** @type {any} */ message) => {
      if (message?.type === 'progress') {
        onProgress(index, Number(message.done));
        return;
      }
      const wait = waiting.get(child);
      if (wait === undefined) return;
      if (message?.type === 'failed')
        wait.reject(new Error(`generator process failed: ${message.error}`));
      else if (message?.type === `${wait.type}:done`) wait.resolve(message);
      else return;
      waiting.delete(child);
    });
    child.once('exit', (code, signal) => {
      waiting.get(child)?.reject(new Error(`generator process exited (${code ?? signal})`));
      waiting.delete(child);
    });
  }
  return {
    children,
    /**
     * @param {string} type
     * @param {(index: number) => Record<string, unknown>} [extra]
     * @returns {Promise<any[]>}
     */
    all(type, extra = () => ({})) {
      return Promise.all(
        children.map(
          (child, index) =>
            new Promise((resolve, reject) => {
              waiting.set(child, { type, resolve, reject });
              child.send({ type, ...extra(index) });
            }),
        ),
      );
    },
    /** CPU time and RSS of every generator process now. */
    sample() {
      return children.map((child) => sampleProcess(/** @type {number} */ (child.pid)));
    },
    kill() {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * The load generator side of the scale scenario.
 * @param {{ endpoints: string[], scenario: Record<string, any>, redisUrl?: string, sourceAddresses?: string[] }} unit
 * @param {Host} host
 */
export async function scale(unit, host) {
  const s = unit.scenario;
  const replicas = unit.endpoints.length;
  const workers = Math.max(1, Math.ceil(s.connections / s.clientsPerProcess));
  const layout = planOf(s, replicas, workers);
  const total = layout.total;
  /** Members each generator process has seated or given up on so far. */
  const done = new Array(workers).fill(0);
  const pool = startWorkers(workers, (worker, count) => {
    done[worker] = count;
  });
  const redis =
    unit.redisUrl === undefined
      ? undefined
      : new Redis(unit.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis?.connect();
    const members = await pool.all('init', (worker) => ({
      unit: {
        endpoints: unit.endpoints,
        scenario: s,
        sourceAddresses: unit.sourceAddresses ?? ['127.0.0.1'],
        worker,
        workers,
      },
    }));
    host.log(
      `  ${total} members in ${layout.sizes.length} rooms over ${replicas} replicas, ` +
        `${(unit.sourceAddresses ?? []).length} source addresses and ${workers} generator processes ` +
        `(${members.map((m) => m.members).join(' / ')})`,
    );
    const empty = await host.probe('scale:empty');
    const redisEmpty = redis === undefined ? undefined : await redisFigures(redis);

    // --- Ramp ------------------------------------------------------------------------------
    const rampStarted = nowMs();
    let nextReport = total / 10;
    const progress = setInterval(() => {
      const arrived = done.reduce((sum, n) => sum + n, 0);
      if (arrived < nextReport) return;
      host.log(
        `  ${arrived} / ${total} members in after ${round((nowMs() - rampStarted) / 1000, 1)} s`,
      );
      while (nextReport <= arrived) nextReport += total / 10;
    }, 1_000);
    /** @type {any[]} */
    let ramps;
    try {
      ramps = await pool.all('ramp');
    } finally {
      clearInterval(progress);
    }
    const rampSeconds = (nowMs() - rampStarted) / 1000;
    const ramped = await host.probe('scale:ramped');
    const connect = new Histogram();
    const join = new Histogram();
    const slices = Array.from({ length: ramps[0]?.slices.length ?? 0 }, () => new Histogram());
    const failures = { connect: 0, join: 0, retries: 0 };
    /** @type {Record<string, number>} */
    const failureReasons = {};
    /** @type {number[]} */
    const seatedByReplica = new Array(replicas).fill(0);
    let seated = 0;
    for (const r of ramps) {
      connect.add(r.connect);
      join.add(r.join);
      r.slices.forEach((/** @type {any} */ slice, /** @type {number} */ i) =>
        slices[i]?.add(slice),
      );
      for (const key of /** @type {const} */ (['connect', 'join', 'retries']))
        failures[key] += r.failures[key];
      for (const [why, count] of Object.entries(r.reasons)) {
        failureReasons[why] = (failureReasons[why] ?? 0) + /** @type {number} */ (count);
      }
      r.seatedByReplica.forEach((/** @type {number} */ n, /** @type {number} */ i) => {
        seatedByReplica[i] = (seatedByReplica[i] ?? 0) + n;
      });
      seated += r.seated;
    }
    host.log(
      `  ${seated} / ${total} seated in ${round(rampSeconds, 1)} s: join p50 ${join.summary().p50} ` +
        `p99 ${join.summary().p99} ms; ${failures.connect} connects and ${failures.join} joins failed`,
    );
    await new Promise((resolve) => setTimeout(resolve, s.settleMs));
    const full = await host.probe('scale:full');
    const generatorFull = pool.sample();
    const redisFull = redis === undefined ? undefined : await redisFigures(redis);

    // --- Steady chat with typing ------------------------------------------------------------
    await pool.all('chat');
    await new Promise((resolve) => setTimeout(resolve, s.chatIntervalMs));
    const steadyStart = await host.probe('scale:steady-start');
    const generatorStart = pool.sample();
    const statsStart = redis === undefined ? undefined : await redisFigures(redis);
    await pool.all('measure');
    const monoStartUs = Number(process.hrtime.bigint() / 1000n);
    await new Promise((resolve) => setTimeout(resolve, s.steadyMs));
    const monoEndUs = Number(process.hrtime.bigint() / 1000n);
    const windows = await pool.all('unmeasure');
    const steadyEnd = await host.probe('scale:steady-end');
    const generatorEnd = pool.sample();
    const statsEnd = redis === undefined ? undefined : await redisFigures(redis);
    const stops = await pool.all('stop');
    const roomIds = await pool.all('rooms');
    const subscribers =
      redis === undefined
        ? undefined
        : await channelSubscribers(redis, mergeRoomIds(roomIds, layout.sizes.length));

    const latency = new Histogram();
    const windowSent = { chat: 0, typing: 0 };
    /** @type {Map<number, number>} */
    const windowRooms = new Map();
    for (const w of windows) {
      latency.add(w.latency);
      windowSent.chat += w.windowSent.chat;
      windowSent.typing += w.windowSent.typing;
      for (const [room, count] of w.windowRooms)
        windowRooms.set(room, (windowRooms.get(room) ?? 0) + count);
    }
    const delivery = {
      chatSent: 0,
      chatExpected: 0,
      chatDelivered: 0,
      typingSent: 0,
      typingExpected: 0,
      typingDelivered: 0,
      skippedSends: 0,
      unexpectedCloses: 0,
      errorFrames: 0,
    };
    for (const { counters, sent } of stops) {
      delivery.chatSent += sent.chat;
      delivery.chatExpected += sent.expectedChat;
      delivery.chatDelivered += counters.delivered;
      delivery.typingSent += sent.typing;
      delivery.typingExpected += sent.expectedTyping;
      delivery.typingDelivered += counters.typing;
      delivery.skippedSends += sent.skipped;
      delivery.unexpectedCloses += counters.unexpectedCloses;
      delivery.errorFrames += counters.errorFrames;
    }

    const usage = usageBetween(steadyStart, steadyEnd);
    const seconds = usage.seconds;
    /** @type {Record<string, { connections: number, emptyMb: number, rssMb: number, cpuPct: number | undefined }>} */
    const servers = {};
    let rssKb = 0;
    let rssDeltaKb = 0;
    for (let r = 0; r < replicas; r += 1) {
      const name = `server-${r}`;
      const after = full.procs[name]?.rssKb ?? 0;
      const before = empty.procs[name]?.rssKb ?? 0;
      servers[name] = {
        connections: seatedByReplica[r] ?? 0,
        emptyMb: round(before / 1024, 1),
        rssMb: round(after / 1024, 1),
        cpuPct: usage.procs[name]?.cpuPct,
      };
      rssKb += after;
      rssDeltaKb += after - before;
    }
    const weighted = (/** @type {ArrayLike<number>} */ perRoom) => {
      let sum = 0;
      let count = 0;
      for (const [room, messages] of windowRooms) {
        sum += (perRoom[room] ?? 0) * messages;
        count += messages;
      }
      return count === 0 ? undefined : round(sum / count, 3);
    };
    const relayed = windowSent.chat + windowSent.typing;
    const commands =
      statsStart === undefined || statsEnd === undefined
        ? undefined
        : commandsBetween(statsStart.commands, statsEnd.commands);
    const generatorCpuPct = cpuPct(generatorStart, generatorEnd, seconds);
    const result = {
      connections: total,
      seated,
      replicas,
      rooms: layout.sizes.length,
      meanRoomSize: round(total / layout.sizes.length, 2),
      activeMembers: layout.active.length,
      sourceAddresses: (unit.sourceAddresses ?? []).length,
      generatorProcesses: workers,
      limitedBy: s.limitedBy,
      ramp: {
        seconds: round(rampSeconds, 1),
        offeredPerSec: s.rampPerSec,
        achievedPerSec: round(seated / rampSeconds, 0),
        usage: usageBetween(empty, ramped),
        connectMs: connect.summary(),
        joinMs: join.summary(),
        joinMsBySlice: slices.map((h) => h.summary()),
        failures,
        failureReasons,
      },
      servers,
      serverRssMb: round(rssKb / 1024, 1),
      /** RSS the connections added, over the replicas, per seated connection. */
      kbPerConnection: round(rssDeltaKb / Math.max(1, seated), 2),
      /** Whole-process RSS over connections: the figure the published anchors give. */
      rssKbPerConnection: round(rssKb / Math.max(1, seated), 2),
      generator: {
        rssMb: round(generatorFull.reduce((sum, p) => sum + (p?.rssKb ?? 0), 0) / 1024, 1),
        steadyCpuPct: generatorCpuPct,
      },
      steady: {
        seconds,
        chatPerSec: round(windowSent.chat / seconds, 1),
        typingPerSec: round(windowSent.typing / seconds, 1),
        latencyMs: latency.summary(),
        usage,
        /** The window on CLOCK_MONOTONIC, the clock of V8 CPU profiles (to cut them to it). */
        monotonicWindowUs: [monoStartUs, monoEndUs],
      },
      delivery: {
        ...delivery,
        chatLost: Math.max(0, delivery.chatExpected - delivery.chatDelivered),
        typingLost: Math.max(0, delivery.typingExpected - delivery.typingDelivered),
      },
      redis:
        redisFull === undefined ||
        redisEmpty === undefined ||
        commands === undefined ||
        statsStart === undefined ||
        statsEnd === undefined
          ? undefined
          : {
              usedMemoryEmptyMb: round(redisEmpty.usedMemory / 2 ** 20, 1),
              usedMemoryMb: round(redisFull.usedMemory / 2 ** 20, 1),
              rssMb: round((full.procs.redis?.rssKb ?? 0) / 1024, 1),
              rampCpuPct: usageBetween(empty, ramped).procs.redis?.cpuPct,
              cpuPct: usage.procs.redis?.cpuPct,
              channels: redisFull.channels,
              commandsPerSec: round(commands.total / seconds, 1),
              commandsByName: commands.byName,
              publishesPerRelayedFrame: round(commands.publishes / Math.max(1, relayed), 3),
              commandsPerRelayedFrame: round(commands.total / Math.max(1, relayed), 3),
              commandsPerChatMessage: round(commands.total / Math.max(1, windowSent.chat), 3),
              otherCommandsPerSec: round((commands.total - commands.publishes) / seconds, 1),
              netOutputBytesPerRelayedFrame: round(
                (statsEnd.netOutput - statsStart.netOutput) / Math.max(1, relayed),
                0,
              ),
              replicasHostingPerMessage: weighted(layout.replicasOf),
              deliveriesPerPublish: subscribers === undefined ? undefined : weighted(subscribers),
            },
    };
    host.log(
      `  steady: ${result.steady.chatPerSec} chat/s + ${result.steady.typingPerSec} typing/s, ` +
        `p50 ${result.steady.latencyMs.p50} p99 ${result.steady.latencyMs.p99} max ${result.steady.latencyMs.max} ms, ` +
        `lost ${result.delivery.chatLost} chat / ${result.delivery.typingLost} typing; ` +
        `${result.rssKbPerConnection} KB RSS per connection (${result.kbPerConnection} KB added) over ${replicas} replicas`,
    );
    await pool.all('close');
    return result;
  } finally {
    redis?.disconnect();
    pool.kill();
  }
}

/**
 * CPU of the generator processes between two samples, % of one core.
 * @param {ReturnType<typeof sampleProcess>[]} start
 * @param {ReturnType<typeof sampleProcess>[]} end
 * @param {number} seconds
 */
function cpuPct(start, end, seconds) {
  let ticks = 0;
  end.forEach((last, i) => {
    const first = start[i];
    if (last !== null && first != null) ticks += last.ticks - first.ticks;
  });
  return round((ticks / CLOCK_TICKS / seconds) * 100, 1);
}

/**
 * The room ids every generator process created, as one array by room index.
 * @param {{ rooms: [number, string][] }[]} answers
 * @param {number} rooms
 */
function mergeRoomIds(answers, rooms) {
  /** @type {(string | undefined)[]} */
  const ids = new Array(rooms);
  for (const { rooms: known } of answers) for (const [room, id] of known) ids[room] = id;
  return ids;
}

/**
 * What Redis says of itself: memory, pub/sub channels, calls per command, bytes sent.
 * @param {Redis} redis
 */
async function redisFigures(redis) {
  const [memory, stats, commandstats] = await Promise.all([
    redis.info('memory'),
    redis.info('stats'),
    redis.info('commandstats'),
  ]);
  /** @type {Record<string, number>} */
  const commands = {};
  for (const match of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    commands[String(match[1])] = Number(match[2]);
  }
  return {
    usedMemory: field(memory, 'used_memory'),
    channels: field(stats, 'pubsub_channels') + field(stats, 'pubsubshard_channels'),
    netOutput: field(stats, 'total_net_output_bytes'),
    commands,
  };
}

/**
 * @param {string} info
 * @param {string} name
 */
function field(info, name) {
  const match = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  return match === null ? 0 : Number(match[1]);
}

/**
 * Calls per command between two INFO commandstats readings, without the generator's own.
 * @param {Record<string, number>} before
 * @param {Record<string, number>} after
 */
export function commandsBetween(before, after) {
  /** @type {Record<string, number>} */
  const byName = {};
  let total = 0;
  let publishes = 0;
  for (const [name, calls] of Object.entries(after)) {
    const base = name.split('|')[0] ?? name;
    if (OWN_COMMANDS.has(base)) continue;
    const delta = calls - (before[name] ?? 0);
    if (delta <= 0) continue;
    byName[name] = delta;
    total += delta;
    if (base === 'publish' || base === 'spublish') publishes += delta;
  }
  return { byName, total, publishes };
}

/**
 * Subscribers of each room's channel (the replicas a publish to it reaches), by room index; a
 * channel is matched to its room by the room id it carries.
 * @param {Redis} redis
 * @param {(string | undefined)[]} roomIds
 * @returns {Promise<number[]>}
 */
async function channelSubscribers(redis, roomIds) {
  const channels = /** @type {string[]} */ (await redis.pubsub('CHANNELS', '*'));
  /** @type {Map<string, string>} room id → channel */
  const byRoom = new Map();
  const wanted = new Set(roomIds.filter((id) => id !== undefined));
  for (const channel of channels) {
    for (const part of channel.split(/[:{}]/)) {
      if (wanted.has(part)) byRoom.set(part, channel);
    }
  }
  /** @type {Map<string, number>} */
  const counts = new Map();
  const names = [...byRoom.values()];
  for (let i = 0; i < names.length; i += 500) {
    const reply = /** @type {(string | number)[]} */ (
      await redis.pubsub('NUMSUB', ...names.slice(i, i + 500))
    );
    for (let j = 0; j < reply.length; j += 2) counts.set(String(reply[j]), Number(reply[j + 1]));
  }
  return roomIds.map((id) => {
    const channel = id === undefined ? undefined : byRoom.get(id);
    return channel === undefined ? 0 : (counts.get(channel) ?? 0);
  });
}
