// Who is where in the scale scenario: the rooms, the replica each member lands on, the members
// who chat and the generator process that holds each room. Drawn from the scenario's seed, so
// the coordinator and every generator process compute the same plan, and every run the same.

/** Slices of the ramp the join latency is reported in. */
export const SLICES = 10;

/**
 * A small deterministic PRNG (mulberry32).
 * @param {number} seed
 * @returns {() => number} uniform in [0, 1)
 */
export function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Room sizes drawn uniformly from [min, max] that add up to `connections` exactly; no room is
 * left with fewer than `min` members (needs connections ≥ min).
 * @param {number} connections
 * @param {number} min
 * @param {number} max
 * @param {() => number} next
 */
export function drawRooms(connections, min, max, next) {
  /** @type {number[]} */
  const sizes = [];
  let left = connections;
  while (left > 0) {
    let size = Math.min(left, min + Math.floor(next() * (max - min + 1)));
    // Never leave a remainder too small to be a room: take it in, or leave `min` of it behind.
    if (left - size > 0 && left - size < min) size = left <= max ? left : left - min;
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

/**
 * The plan of one scale run.
 * @param {Record<string, any>} scenario  connections, roomSizeMin, roomSizeMax, activeShare, seed
 * @param {number} replicas
 * @param {number} workers  generator processes; each holds whole rooms
 */
export function plan(scenario, replicas, workers) {
  const next = random(scenario.seed);
  const total = scenario.connections;
  const sizes = drawRooms(total, scenario.roomSizeMin, scenario.roomSizeMax, next);
  const roomOf = new Uint32Array(total);
  const firstOf = new Uint32Array(sizes.length);
  const workerOf = new Uint16Array(sizes.length);
  let at = 0;
  sizes.forEach((size, room) => {
    firstOf[room] = at;
    workerOf[room] = Math.min(workers - 1, Math.floor((at * workers) / total));
    roomOf.fill(room, at, at + size);
    at += size;
  });
  // As behind a load balancer: each replica gets the same share of the members (as round robin
  // does), and which members of a room land together is left to chance.
  const replicaOf = new Uint8Array(total);
  for (let i = 0; i < total; i += 1) replicaOf[i] = i % replicas;
  for (let i = total - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    const swap = /** @type {number} */ (replicaOf[i]);
    replicaOf[i] = /** @type {number} */ (replicaOf[j]);
    replicaOf[j] = swap;
  }
  /** How many replicas host each room: the replicas a publish to it has to reach. */
  const replicasOf = new Uint8Array(sizes.length);
  sizes.forEach((size, room) => {
    const first = /** @type {number} */ (firstOf[room]);
    const hosts = new Set();
    for (let i = first; i < first + size; i += 1) hosts.add(replicaOf[i]);
    replicasOf[room] = hosts.size;
  });
  const activeCount = Math.max(1, Math.round(total * scenario.activeShare));
  /** @type {Set<number>} */
  const active = new Set();
  while (active.size < activeCount) active.add(Math.floor(next() * total));
  return {
    total,
    sizes,
    roomOf,
    firstOf,
    workerOf,
    replicaOf,
    replicasOf,
    active: [...active].sort((a, b) => a - b),
  };
}
