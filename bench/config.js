// What `npm run bench` measures, against which systems, with which relay settings. Sized so the
// whole run stays near 20 minutes on a 2-core machine, 13 of them the scale scenario's two
// five-minute ramps; `--quick` shrinks everything for a smoke run.

/** Systems under test. The load generator speaks `protocol` to every replica's `path`. */
export const SYSTEMS = {
  hush: { label: 'Hush', protocol: 'msgpack', path: '/ws' },
  baseline: { label: 'bare ws baseline', protocol: 'msgpack', path: '/ws' },
  baselineBatch: { label: 'bare ws, batched writes', protocol: 'msgpack', path: '/ws' },
  socketio: {
    label: 'Socket.IO',
    protocol: 'socketio',
    path: '/socket.io/?EIO=4&transport=websocket',
  },
};

/**
 * @typedef {object} Target
 * @property {string} id
 * @property {keyof typeof SYSTEMS} system
 * @property {number} replicas  several replicas share a local redis-server (1 or 2 here; the drain
 *   scenario runs three, the scale scenario four)
 * @property {boolean} [optional]  run only when named in --targets
 */

/** @type {Target[]} In run order: Hush first in each topology, as it sets the reference load. */
export const TARGETS = [
  { id: 'hush-1', system: 'hush', replicas: 1 },
  { id: 'baseline-1', system: 'baseline', replicas: 1 },
  { id: 'socketio-1', system: 'socketio', replicas: 1 },
  { id: 'hush-2', system: 'hush', replicas: 2 },
  { id: 'baseline-2', system: 'baseline', replicas: 2 },
  { id: 'socketio-2', system: 'socketio', replicas: 2 },
  // The baseline with Hush's write coalescing: not in the list, so opt-in.
  { id: 'baseline-batch-1', system: 'baselineBatch', replicas: 1, optional: true },
  { id: 'baseline-batch-2', system: 'baselineBatch', replicas: 2, optional: true },
];

/**
 * Relay settings for load tests. Production defaults would throttle the generator: the per-IP
 * connection cap and the per-address budgets (every client comes from 127.0.0.1), the chat rate
 * limit (10 per 10 s per connection), the room size limit (50) and the slow-consumer bound (1 MiB
 * buffered per socket, which a CPU-starved generator on 2 cores can pass at saturation). The
 * budgets are still counted, at full cost; they only never refuse. BENCHMARKS.md lists them.
 */
export const HUSH_BENCH_ENV = {
  HUSH_LOG_LEVEL: 'warn',
  HUSH_MAX_CONNECTIONS_PER_IP: '0',
  HUSH_MAX_CONNECTIONS: '0',
  HUSH_METRICS_PORT: '0',
  HUSH_RATE_CHAT: '1000000/1000',
  HUSH_ADDRESS_RATE_CHAT: '1000000/1000',
  HUSH_ADDRESS_RATE_JOIN: '1000000/1000',
  HUSH_ADDRESS_RATE_INVALID: '1000000/1000',
  HUSH_RATE_JOIN: '1000000/1000',
  HUSH_MAX_ROOM_MEMBERS: '1000',
  HUSH_MAX_BUFFERED_BYTES: String(64 * 1024 * 1024),
  HUSH_SHUTDOWN_TIMEOUT_MS: '3000',
};

const throughputDefaults = {
  kind: 'throughput',
  setupTimeoutMs: 60_000,
  connectConcurrency: 200,
  /** Each ramp step multiplies the offered send rate by this. */
  growth: 2,
  warmupMs: 300,
  measureMs: 1_500,
  /**
   * A step whose p95 passes this is overload: latency has exploded (on loopback a relay keeping up
   * answers in a few ms; past saturation queues grow to hundreds of ms within a step). p95, not
   * p99: a single GC pause of a few tens of ms moves p99 of a 1.5 s step without any queue
   * building up.
   */
  overloadP95Ms: 50,
  /** After the doubling ramp, this many bisection steps between the last good and first bad rate. */
  refineSteps: 2,
  referenceWarmupMs: 500,
  referenceMeasureMs: 2_500,
  skipRamp: false,
  /** A step starved by other load on the machine (see loadgen) is repeated at most this often. */
  starvedRetries: 2,
};

/** @type {Record<string, Record<string, any>>} */
export const SCENARIOS = {
  'small-rooms': {
    ...throughputDefaults,
    title: 'Small rooms',
    describe: (/** @type {any} */ s) =>
      `${s.connections} connections in rooms of ${s.roomSizes[0]}–${s.roomSizes.at(-1)} members, every member sending`,
    connections: 1_080,
    roomSizes: [2, 3, 4, 5, 6, 7, 8, 9, 10],
    startRate: 1_000,
    maxSteps: 8,
    maxRate: 200_000,
  },
  'big-room': {
    ...throughputDefaults,
    title: 'One big room',
    describe: (/** @type {any} */ s) =>
      `one room of ${s.connections} members, every member sending, each message to ${s.connections - 1}`,
    connections: 500,
    roomSizes: [500],
    startRate: 40,
    maxSteps: 8,
    maxRate: 10_000,
  },
  idle: {
    kind: 'idle',
    title: 'Idle connections',
    describe: (/** @type {any} */ s) =>
      `${s.connections} idle members in rooms of ${s.roomSize}, on top of ${s.warmConnections} warm ones`,
    setupTimeoutMs: 90_000,
    connectConcurrency: 200,
    connections: 10_000,
    warmConnections: 200,
    roomSize: 10,
    settleMs: 1_500,
    idleCpuMs: 1_000,
  },
  churn: {
    kind: 'churn',
    title: 'Connection churn',
    describe: (/** @type {any} */ s) =>
      `${s.concurrency} concurrent loops of connect → join one of ${s.anchorRooms} rooms → disconnect, ${s.durationMs / 1000} s`,
    setupTimeoutMs: 30_000,
    anchorRooms: 20,
    concurrency: 50,
    durationMs: 5_000,
    maxCycles: 200_000,
  },
  drain: {
    // Its own unit (not run per target): three Hush replicas on the run's Redis.
    kind: 'drain',
    title: 'Drain under load',
    describe: (/** @type {any} */ s) =>
      `SIGTERM to replica 0 of 3 holding ${s.clients[0]} clients (replicas 1 and 2: ${s.clients[1]} and ${s.clients[2]}), ` +
      `rooms of ${s.roomSize} spanning all three, each room sending a message every ${s.roomSendIntervalMs / 1000} s`,
    replicas: 3,
    /** Members per replica at the start; replica 0 is the one drained. */
    clients: [5_000, 1_000, 1_000],
    roomSize: 10,
    /** Each room sends one chat message per interval, its members taking turns. */
    roomSendIntervalMs: 1_000,
    connectConcurrency: 200,
    setupTimeoutMs: 90_000,
    /** Steady load before the SIGTERM, and after the last drained client is back. */
    steadyMs: 3_000,
    afterMs: 3_000,
    /** Joins on the survivors are counted in buckets this wide (peak joins/s). */
    bucketMs: 250,
    /** Goal: every drained client back in its room within drain delay + window + this. */
    backGraceMs: 5_000,
    /** Past the goal, returns are awaited this much longer before the rest count as not back. */
    giveUpMs: 30_000,
    /**
     * On top of HUSH_BENCH_ENV: the relay's own shutdown bound (the bench's 3 s would cut the
     * drain window to 1 s), and info logs for the drain's own lines ('draining', 'drained').
     */
    relayEnv: { HUSH_SHUTDOWN_TIMEOUT_MS: undefined, HUSH_LOG_LEVEL: 'info' },
    unitTimeoutMs: 300_000,
  },
  scale: {
    // Its own units (not run per target): each of `systems` with `replicas` replicas on the run's
    // Redis, one after the other.
    kind: 'scale',
    title: 'Scale',
    describe: (/** @type {any} */ s) =>
      `${s.connections} connections over ${s.replicas} replicas and one Redis, rooms of ` +
      `${s.roomSizeMin}–${s.roomSizeMax} members, ${s.activeShare * 100} % of members active: ` +
      `typing, then a chat message ${s.typingLeadMs / 1000} s later, every ${s.chatIntervalMs / 1000} s`,
    systems: ['hush', 'baseline'],
    replicas: 4,
    connections: 100_000,
    roomSizeMin: 2,
    roomSizeMax: 50,
    /** Share of members who chat; each sends one message per interval, typing before it. */
    activeShare: 0.01,
    chatIntervalMs: 10_000,
    typingLeadMs: 3_000,
    /** New members per second during the ramp, and unseated at once at most. */
    rampPerSec: 250,
    maxInFlight: 1_000,
    rampTimeoutMs: 600_000,
    /** After the ramp, before memory is read. */
    settleMs: 3_000,
    /** Measured window of the steady load (after one chat interval of warm-up). */
    steadyMs: 30_000,
    /**
     * Clients per loopback source address. Binding a socket to an address makes the kernel scan
     * that address's ports for a free one; measured here, past about 6,500 sockets per address
     * (of ip_local_port_range's 28,000) connecting stalls for seconds.
     */
    connectionsPerAddress: 2_000,
    /**
     * Clients per generator process; bench/run.js lowers it, and the connections, to what the
     * open-file limit per process allows (each replica holds its share too).
     */
    clientsPerProcess: 18_000,
    seed: 17,
    unitTimeoutMs: 1_200_000,
  },
  'hostile-decode': {
    kind: 'decode',
    title: 'Adversarial decode',
    describe: (/** @type {any} */ s) =>
      `decodeClientMessage on every frame of the hostile corpus (libs/protocol/src/hostile-frames.ts), at least ${s.minMs} ms each, next to a normal SendMessage`,
    /** Time measured per frame, at least. */
    minMs: 20,
    /** Passes over the whole corpus before measuring (JIT). */
    warmup: 5,
  },
};

/** `--quick`: a smoke run of the whole pipeline in about a minute and a half. */
export const QUICK = {
  'small-rooms': {
    connections: 270,
    maxSteps: 3,
    measureMs: 600,
    referenceMeasureMs: 800,
    warmupMs: 200,
    referenceWarmupMs: 200,
  },
  'big-room': {
    connections: 100,
    maxSteps: 3,
    measureMs: 600,
    referenceMeasureMs: 800,
    warmupMs: 200,
    referenceWarmupMs: 200,
  },
  idle: { connections: 1_000, settleMs: 500, idleCpuMs: 300 },
  churn: { durationMs: 1_000, concurrency: 10 },
  'hostile-decode': { minMs: 5, warmup: 1 },
  drain: { clients: [500, 100, 100], steadyMs: 1_500, afterMs: 1_500, setupTimeoutMs: 30_000 },
  scale: {
    connections: 2_000,
    chatIntervalMs: 2_000,
    typingLeadMs: 500,
    settleMs: 500,
    steadyMs: 4_000,
    connectionsPerAddress: 500,
    clientsPerProcess: 1_000,
  },
};

/**
 * Bound on one unit (one scenario against one system), start and teardown included; a scenario
 * may set its own (`unitTimeoutMs`).
 */
export const UNIT_TIMEOUT_MS = 150_000;
