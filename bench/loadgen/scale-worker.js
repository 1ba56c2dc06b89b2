// One process of the scale scenario's load generator. The coordinator (scale.js) forks as many
// as the open-file limit per process needs; each holds the members of its share of the rooms,
// seats them, runs their typing and chat, counts what arrives, and answers the coordinator's
// commands over IPC: init → ramp → chat → measure → unmeasure → stop → close.
import { setTimeout as sleep } from 'node:timers/promises';
import { Histogram } from '../lib/histogram.js';
import { admit, countingSink, MsgpackClient, ServerError } from './clients.js';
import { chatFrame, memberName, nowMs, typingFrame } from './frames.js';
import { closeAll } from './pool.js';
import { plan as planOf, random, SLICES } from './scale-plan.js';

/** Bound on a WebSocket opening handshake. */
const CONNECT_TIMEOUT_MS = 15_000;

/** @param {unknown} message */
function send(message) {
  if (process.send === undefined) throw new Error('bench/loadgen/scale-worker.js must be forked');
  process.send(message);
}

const { counters, latency, recording, sink } = countingSink();

/**
 * @typedef {object} WorkerUnit
 * @property {string[]} endpoints
 * @property {Record<string, any>} scenario
 * @property {string[]} sourceAddresses
 * @property {number} worker  this process's number
 * @property {number} workers  how many there are
 */

/** @type {WorkerUnit} */
let unit;
/** @type {ReturnType<typeof planOf>} */
let plan;
/** This worker's members, in arrival order. */
/** @type {number[]} */
let mine = [];
/** @type {Map<number, MsgpackClient>} by member index */
const clients = new Map();
/** Seated members per room (a failed join is not there to receive). */
/** @type {Map<number, number>} */
const seatedIn = new Map();
/** The ids of the rooms this worker's members created, by room index. */
/** @type {Map<number, string>} */
const roomIdOf = new Map();

process.on('message', (/** @type {any} */ message) => {
  const handle = COMMANDS[/** @type {keyof typeof COMMANDS} */ (message?.type)];
  if (handle === undefined) return;
  handle(message).then(
    (reply) => send({ type: `${message.type}:done`, ...reply }),
    (/** @type {unknown} */ error) =>
      send({ type: 'failed', error: error instanceof Error ? error.stack : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));

const COMMANDS = {
  /** @param {{ unit: WorkerUnit }} message */
  async init({ unit: given }) {
    unit = given;
    plan = planOf(unit.scenario, unit.endpoints.length, unit.workers);
    mine = [];
    for (let i = 0; i < plan.total; i += 1) {
      if (plan.workerOf[/** @type {number} */ (plan.roomOf[i])] === unit.worker) mine.push(i);
    }
    return { members: mine.length };
  },

  /** Seats this worker's members at its share of the ramp rate. */
  async ramp() {
    const s = unit.scenario;
    const connect = new Histogram();
    const join = new Histogram();
    const slices = Array.from({ length: SLICES }, () => new Histogram());
    const failures = { connect: 0, join: 0, retries: 0 };
    const countRetry = () => {
      failures.retries += 1;
    };
    /** @type {Record<string, number>} */
    const reasons = {};
    /** @param {string} what @param {unknown} error */
    const fail = (what, error) => {
      const text =
        error instanceof ServerError
          ? error.code
          : error instanceof Error
            ? error.message
            : String(error);
      reasons[`${what}: ${text}`] = (reasons[`${what}: ${text}`] ?? 0) + 1;
    };
    /** @type {Map<number, Promise<string>>} room → its id, once its first member created it */
    const roomIds = new Map();
    /**
     * @param {number} position  in this worker's arrival order
     */
    const arrive = async (position) => {
      const index = /** @type {number} */ (mine[position]);
      const room = /** @type {number} */ (plan.roomOf[index]);
      const first = plan.firstOf[room] === index;
      /** @type {(id: string) => void} */
      let created = () => undefined;
      /** @type {(error: Error) => void} */
      let notCreated = () => undefined;
      if (first) {
        const id = new Promise((resolve, reject) => {
          created = resolve;
          notCreated = reject;
        });
        id.catch(() => undefined);
        roomIds.set(room, /** @type {Promise<string>} */ (id));
      }
      const began = nowMs();
      /** @type {MsgpackClient} */
      let client;
      try {
        client = await MsgpackClient.open(
          /** @type {string} */ (unit.endpoints[/** @type {number} */ (plan.replicaOf[index])]),
          sink,
          CONNECT_TIMEOUT_MS,
          unit.sourceAddresses[index % unit.sourceAddresses.length],
        );
      } catch (error) {
        failures.connect += 1;
        fail('connect', error);
        notCreated(new Error('the member creating the room could not connect'));
        return;
      }
      connect.record(nowMs() - began);
      const name = memberName('m', index);
      try {
        const roomId = first ? undefined : await roomIds.get(room);
        const asked = nowMs();
        if (roomId === undefined) {
          const id = await admit(() => client.create(name), countRetry);
          roomIdOf.set(room, id);
          created(id);
        } else await admit(() => client.join(roomId, name), countRetry);
        const took = nowMs() - asked;
        join.record(took);
        slices[Math.min(SLICES - 1, Math.floor((position * SLICES) / mine.length))]?.record(took);
        clients.set(index, client);
        seatedIn.set(room, (seatedIn.get(room) ?? 0) + 1);
      } catch (error) {
        failures.join += 1;
        fail(first ? 'create' : 'join', error);
        if (first) notCreated(error instanceof Error ? error : new Error(String(error)));
        client.terminate();
      }
    };
    const step = Math.max(1, Math.round(mine.length / 20));
    await openLoop(
      mine.length,
      s.rampPerSec / unit.workers,
      Math.max(1, Math.floor(s.maxInFlight / unit.workers)),
      nowMs() + s.rampTimeoutMs,
      arrive,
      (done) => {
        if (done % step === 0 || done === mine.length) send({ type: 'progress', done });
      },
    );
    /** @type {number[]} */
    const seatedByReplica = new Array(unit.endpoints.length).fill(0);
    for (const index of clients.keys()) {
      const replica = /** @type {number} */ (plan.replicaOf[index]);
      seatedByReplica[replica] = (seatedByReplica[replica] ?? 0) + 1;
    }
    return {
      connect: connect.toData(),
      join: join.toData(),
      slices: slices.map((h) => h.toData()),
      failures,
      reasons,
      seated: clients.size,
      seatedByReplica,
    };
  },

  /** The ids of the rooms created here, to find their channels in Redis. */
  async rooms() {
    return { rooms: [...roomIdOf.entries()] };
  },

  /** Starts the active members' typing and chat. */
  async chat() {
    const s = unit.scenario;
    const next = random(s.seed + 1 + unit.worker);
    for (const index of plan.active) {
      if (clients.has(index)) later(() => cycle(index), next() * s.chatIntervalMs);
    }
    return {};
  },

  async measure() {
    latency.reset();
    windowSent.chat = 0;
    windowSent.typing = 0;
    windowRooms.clear();
    recording.on = true;
    return {};
  },

  async unmeasure() {
    recording.on = false;
    return {
      latency: latency.toData(),
      windowSent: { ...windowSent },
      windowRooms: [...windowRooms.entries()],
    };
  },

  /** Stops sending, then waits (bounded) for what is on its way. */
  async stop() {
    sending = false;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    await settle(1_000, 15_000);
    return { counters: { ...counters }, sent: { ...sent } };
  },

  async close() {
    await closeAll([...clients.values()]);
    clients.clear();
    setImmediate(() => process.exit(0));
    return {};
  },
};

/**
 * Starts `arrive(i)` for i = 0 … total − 1 at `perSec`, at most `maxInFlight` unfinished at
 * once (a late arrival waits for a slot rather than piling up). Resolves when all have finished
 * or, past `deadline`, with the rest not started.
 * @param {number} total
 * @param {number} perSec
 * @param {number} maxInFlight
 * @param {number} deadline
 * @param {(index: number) => Promise<void>} arrive
 * @param {(done: number) => void} progress
 */
async function openLoop(total, perSec, maxInFlight, deadline, arrive, progress) {
  const start = nowMs();
  let started = 0;
  let inFlight = 0;
  let done = 0;
  /** @type {() => void} */
  let wake = () => undefined;
  const woken = () => new Promise((resolve) => (wake = () => resolve(undefined)));
  while (started < total && nowMs() < deadline) {
    const due = Math.min(total, Math.floor(((nowMs() - start) * perSec) / 1000) + 1);
    while (started < due && inFlight < maxInFlight) {
      inFlight += 1;
      void arrive(started).finally(() => {
        inFlight -= 1;
        done += 1;
        progress(done);
        wake();
      });
      started += 1;
    }
    await Promise.race([sleep(5), woken()]);
  }
  while (inFlight > 0) await woken();
}

// --- Typing and chat of the active members ---------------------------------------------------

const chat = chatFrame();
const typingOn = typingFrame(true);
const typingOff = typingFrame(false);
const sent = { chat: 0, typing: 0, expectedChat: 0, expectedTyping: 0, skipped: 0 };
const windowSent = { chat: 0, typing: 0 };
/** Chat messages sent in the measured window, by room. */
/** @type {Map<number, number>} */
const windowRooms = new Map();
let sending = true;
/** @type {Set<NodeJS.Timeout>} */
const timers = new Set();

/** @param {() => void} task @param {number} delayMs */
function later(task, delayMs) {
  const timer = setTimeout(() => {
    timers.delete(timer);
    if (sending) task();
  }, delayMs);
  timers.add(timer);
}

/**
 * One round of an active member: typing on, the chat message `typingLeadMs` later with typing
 * off behind it, and the next round an interval after the first.
 * @param {number} index
 */
function cycle(index) {
  const s = unit.scenario;
  const client = /** @type {MsgpackClient} */ (clients.get(index));
  const room = /** @type {number} */ (plan.roomOf[index]);
  const others = (seatedIn.get(room) ?? 1) - 1;
  /** @param {Uint8Array} frame */
  const typing = (frame) => {
    if (!client.sendFrame(frame)) return false;
    sent.typing += 1;
    sent.expectedTyping += others;
    if (recording.on) windowSent.typing += 1;
    return true;
  };
  if (!typing(typingOn)) {
    sent.skipped += 1;
    return;
  }
  later(() => {
    if (!client.sendChat(chat)) {
      sent.skipped += 1;
      return;
    }
    sent.chat += 1;
    sent.expectedChat += others;
    if (recording.on) {
      windowSent.chat += 1;
      windowRooms.set(room, (windowRooms.get(room) ?? 0) + 1);
    }
    typing(typingOff);
    later(() => cycle(index), s.chatIntervalMs - s.typingLeadMs);
  }, s.typingLeadMs);
}

/**
 * Waits until everything sent has arrived, or nothing has for `quietMs`, at most `maxMs`.
 * @param {number} quietMs
 * @param {number} maxMs
 */
async function settle(quietMs, maxMs) {
  const end = nowMs() + maxMs;
  let last = counters.delivered + counters.typing;
  let since = nowMs();
  while (
    nowMs() < end &&
    (counters.delivered < sent.expectedChat || counters.typing < sent.expectedTyping)
  ) {
    await sleep(50);
    const now = counters.delivered + counters.typing;
    if (now !== last) {
      last = now;
      since = nowMs();
    } else if (nowMs() - since >= quietMs) return;
  }
}
