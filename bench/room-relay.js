#!/usr/bin/env node
// What one relayed message costs inside a replica: the room actor's step, nothing on the network.
// Seats N members in one room, then relays chat messages from one of them and reports the time
// per relay and the garbage collections they caused.
//
//   npx tsc -b apps/relay && node bench/room-relay.js [--members=10] [--relays=1000000]
//                                                    [--mode=actor|directory] [--dist=<dir>]
//
// `actor` drives a room actor directly (presence and fan-out answer at once, links discard the
// bytes); `directory` goes through the RoomDirectory with the in-memory backends, as a connection
// does. Both read the compiled relay under apps/relay/dist, or the build `--dist` names.
import { resolve } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ClientType } from '@hush/protocol';
import { createActor } from 'xstate';

const { values: flags } = parseArgs({
  options: {
    members: { type: 'string', default: '10' },
    relays: { type: 'string', default: '1000000' },
    mode: { type: 'string', default: 'actor' },
    /** Another build of the relay, e.g. a copy of an earlier one, to compare against. */
    dist: { type: 'string', default: 'apps/relay/dist' },
  },
});
const dist = pathToFileURL(resolve(flags.dist)).href;
/** @type {typeof import('../apps/relay/dist/core/room/room.machine.js')} */
const { roomMachine } = await import(`${dist}/core/room/room.machine.js`);
/** @type {typeof import('../apps/relay/dist/cluster/backends.js')} */
const { memoryBackends } = await import(`${dist}/cluster/backends.js`);
/** @type {typeof import('../apps/relay/dist/core/room/member-color.js')} */
const { memberColor } = await import(`${dist}/core/room/member-color.js`);
/** @type {typeof import('../apps/relay/dist/core/room/room-directory.js')} */
const { RoomDirectory } = await import(`${dist}/core/room/room-directory.js`);

const MEMBERS = Number(flags.members);
const RELAYS = Number(flags.relays);
const WARMUP = Math.min(100_000, RELAYS);
/** Relays sent before yielding, so queued work (microtasks, promise callbacks) can run. */
const BATCH = 1_000;
const ROOM_ID = 'V1StGXR8_Z5jdHi6B-myT';

const message = {
  type: ClientType.SendMessage,
  data: { iv: 'AAAAAAAAAAAAAAAA', ciphertext: 'c2VjcmV0IG1lc3NhZ2UgdGV4dCBoZXJl' },
};

let delivered = 0;
/** @returns {import('../apps/relay/dist/core/room/member-link.js').MemberLink} */
const link = () => ({
  features: new Set(),
  deliver: () => void delivered++,
  roomClosed: () => undefined,
});

const observer = {
  relayed: () => undefined,
  error: () => undefined,
  fanoutFailed: () => undefined,
  fault: (/** @type {string} */ what, /** @type {unknown} */ error) => {
    throw new Error(`${what}: ${String(error)}`);
  },
};

const settle = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Seats the members and returns a function relaying one message from the first of them.
 * @returns {Promise<() => void>}
 */
async function actorRoom() {
  const resolved = Promise.resolve();
  /** @type {import('@hush/protocol').Member[]} */
  const seated = [];
  /** @param {import('@hush/protocol').Member} member */
  const admit = async (member) => {
    seated.push(member);
    return {
      roomId: ROOM_ID,
      hasPassword: false,
      ephemeral: 0,
      expiresAt: 0,
      members: [...seated],
    };
  };
  const fanout = {
    replicaId: 'bench',
    onEnvelope: () => undefined,
    subscribe: () => resolved,
    unsubscribe: () => resolved,
    publish: () => resolved,
    health: () => ({ ok: true }),
    close: () => resolved,
  };
  const presence = {
    createRoom: (/** @type {string} */ _r, /** @type {unknown} */ _s, /** @type {any} */ m) =>
      admit(m),
    joinRoom: (/** @type {string} */ _r, /** @type {string} */ _p, /** @type {any} */ m) =>
      admit(m),
    leaveRoom: () => resolved,
    onEviction: () => undefined,
    onSeatLost: () => undefined,
    health: () => ({ ok: true }),
    close: () => resolved,
  };
  let ids = 0;
  const io = {
    presence,
    fanout,
    maxMembers: MEMBERS,
    expiryWarningSeconds: 0,
    observer,
    now: Date.now,
    newMemberId: () => `member-${++ids}`,
    memberColor,
  };
  const actor = createActor(roomMachine, {
    input: { roomId: ROOM_ID, io: /** @type {any} */ (io) },
  });
  actor.subscribe({ error: (error) => console.error(error) });
  actor.start();
  /** @type {string[]} */
  const memberIds = [];
  for (let i = 0; i < MEMBERS; i++) {
    actor.send({
      type: 'JOIN',
      request:
        i === 0
          ? {
              kind: 'create',
              name: `m${i}`,
              settings: { ephemeral: 0, expiresAt: 0, passwordHash: '' },
            }
          : { kind: 'join', name: `m${i}`, passwordHash: '' },
      link: link(),
      reply: {
        accept: ({ memberId }) => (memberIds.push(memberId), true),
        reject: (code, why) => console.error('refused', code, why),
      },
    });
    await settle();
  }
  if (memberIds.length !== MEMBERS) throw new Error(`seated ${memberIds.length} of ${MEMBERS}`);
  const memberId = /** @type {string} */ (memberIds[0]);
  const event = /** @type {const} */ ({ type: 'RELAY', memberId, message });
  return () => actor.send(/** @type {any} */ (event));
}

/** @returns {Promise<() => void>} */
async function directoryRoom() {
  const backends = memoryBackends('bench');
  let ids = 0;
  const rooms = new RoomDirectory({
    presence: backends.presence,
    fanout: backends.fanout,
    maxMembers: MEMBERS,
    expiryWarningSeconds: 0,
    observer,
    now: Date.now,
    newMemberId: () => `member-${++ids}`,
    memberColor,
  });
  /** @type {{ roomId: string, memberId: string }[]} */
  const admitted = [];
  for (let i = 0; i < MEMBERS; i++) {
    const roomId = admitted[0]?.roomId ?? '';
    rooms.join(
      i === 0
        ? {
            kind: 'create',
            name: `m${i}`,
            settings: { ephemeral: 0, expiresAt: 0, passwordHash: '' },
          }
        : { kind: 'join', roomId, name: `m${i}`, passwordHash: '' },
      link(),
      {
        accept: (a) => (admitted.push(a), true),
        reject: (code, why) => console.error('refused', code, why),
      },
    );
    await settle();
  }
  const first = admitted[0];
  if (admitted.length !== MEMBERS || first === undefined) throw new Error('not all seated');
  return () => rooms.relay(first.roomId, first.memberId, /** @type {any} */ (message));
}

/** @param {() => void} relay @param {number} count */
async function drive(relay, count) {
  for (let sent = 0; sent < count; sent += BATCH) {
    for (let i = 0; i < BATCH; i++) relay();
    await null;
  }
  await settle();
}

const relay = flags.mode === 'directory' ? await directoryRoom() : await actorRoom();
await drive(relay, WARMUP);

const gcs = { count: 0, ms: 0 };
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcs.count++;
    gcs.ms += entry.duration;
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
delivered = 0;
const started = performance.now();
const cpu = process.cpuUsage();
await drive(relay, RELAYS);
const elapsed = performance.now() - started;
const { user, system } = process.cpuUsage(cpu);
await settle();
gcObserver.disconnect();

const expected = RELAYS * (MEMBERS - 1);
if (delivered !== expected) throw new Error(`delivered ${delivered} frames, expected ${expected}`);
console.log(
  `${flags.mode} members=${MEMBERS} relays=${RELAYS}: ` +
    `${((elapsed * 1000) / RELAYS).toFixed(3)} µs/relay, ` +
    `${((user + system) / RELAYS).toFixed(3)} µs CPU/relay, ` +
    `${gcs.count} GCs (${gcs.ms.toFixed(0)} ms)`,
);
