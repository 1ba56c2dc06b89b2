// The drain scenario (issue #15): three Hush replicas on one Redis; replica 0 holds most of the
// members. In the middle of a steady chat load the parent sends replica 0 SIGTERM (the generator
// asks for it over IPC). Its members do what the SDK (@hush/client `Session`) does: wait the
// drain notice's hint plus the SDK's jitter, reconnect through a round-robin "load balancer" over
// the surviving replicas (the balancer took replica 0 out of rotation when its readiness failed)
// and rejoin their room by id under the same name, retrying what the SDK retries (E024 and E004
// always, E020 and E002 within the SDK's seat grace) with the SDK's own backoff, each retry on a
// fresh connection. Measured: joins per second on the survivors, time until every member is back
// in its room, when the drained replica exits, and what was lost.
//
// Counting what was lost. Every chat frame carries a number (frames.js) and every receiver
// records which numbers it got, so the generator knows exactly which member missed which frame.
// Every member also counts gaps from the relay's sequence numbers (feature `gaps`: `seq` on each
// RelayMessage, Notice `sequences` on joining) with the SDK's own GapTracker, so each frame a
// member missed is either counted by its gap detection, flagged as a gap the SDK cannot count (a
// member that was here when we lost the connection, back under a new id), or silent.
//
// "Told sent": a member counts a frame as sent when it wrote it to an open socket while in the
// room: after its RoomJoined, before its socket closed and before a drain notice arrived. A
// drained member writes nothing after its notice (its socket is about to close; an SDK client's
// write would race the close), so every frame it wrote before is one it was told was sent, and
// must reach every member who never left.
import { Backoff, DEFAULT_POLICY, GapTracker, isSeatError, isTransientError } from '@hush/client';
import {
  ClientType,
  decodeServerMessage,
  encode,
  Feature,
  NoticeKind,
  PROTOCOL_VERSION,
  ServerType,
} from '@hush/protocol';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { Histogram } from '../lib/histogram.js';
import { listenQueueDrops, round, usageBetween } from '../lib/procfs.js';
import { MsgpackClient, replyTo, ServerError } from './clients.js';
import { frameNumber, memberName, nowMs, numberedChatFrame } from './frames.js';
import { allOrThrow, pool } from './pool.js';

/** @typedef {import('../lib/procfs.js').Sample} Sample */
/** @typedef {import('@hush/protocol').ServerMessage} ServerMessage */

/**
 * What the generator's main module lends the scenario.
 * @typedef {object} Host
 * @property {(text: string) => void} log
 * @property {(label: string) => Promise<Sample>} probe
 * @property {(replica: number) => Promise<number>} terminate  SIGTERM now; resolves with when
 * @property {(replica: number, timeoutMs: number) => Promise<{ atMs: number, code: number | null, signal: string | null } | undefined>} replicaExit
 */

/** The replica that is drained. */
const DRAINED = 0;
/** Bound on a WebSocket opening handshake. */
const CONNECT_TIMEOUT_MS = 10_000;
/** What a Hush client asks for: drain notices, its own member id, sequence numbers. */
const FEATURES = [Feature.Notices, Feature.SelfId, Feature.Gaps];
/** Room request retries at setup when the relay answers E024/E004 (as the SDK would retry). */
const SETUP_RETRIES = 3;

/** @type {import('./clients.js').Sink} the drain client reports to its member instead */
const NO_SINK = {
  delivered() {},
  frame() {},
  errorFrame() {},
  closedUnexpectedly() {},
};

/** @param {string} name  a name made by memberName; -1 for any other */
function memberIndex(name) {
  const index = name.startsWith('m') ? Number.parseInt(name.slice(1), 10) : Number.NaN;
  return Number.isInteger(index) ? index : -1;
}

/** Every frame sent, by number: sender, its replica, send time, which room slots received it. */
class FrameLog {
  constructor() {
    this.count = 0;
    this.sender = new Int32Array(1 << 14);
    this.replica = new Int8Array(1 << 14);
    this.sentAt = new Float64Array(1 << 14);
    /** Bit per room slot (rooms have at most 31 members). */
    this.received = new Uint32Array(1 << 14);
  }

  /**
   * @param {number} sender  member index
   * @param {number} replica  the replica it sent through
   * @param {number} at
   * @returns {number} the frame's number
   */
  add(sender, replica, at) {
    if (this.count === this.sender.length) {
      const grow = (/** @type {any} */ from, /** @type {any} */ to) => {
        to.set(from);
        return to;
      };
      const size = this.count * 2;
      this.sender = grow(this.sender, new Int32Array(size));
      this.replica = grow(this.replica, new Int8Array(size));
      this.sentAt = grow(this.sentAt, new Float64Array(size));
      this.received = grow(this.received, new Uint32Array(size));
    }
    const id = this.count;
    this.count += 1;
    this.sender[id] = sender;
    this.replica[id] = replica;
    this.sentAt[id] = at;
    return id;
  }
}

/** A raw msgpack client that decodes every frame and hands it to its member. */
class DrainClient extends MsgpackClient {
  /**
   * @param {string} url
   * @param {Member} member
   */
  static async connect(url, member) {
    const client = new DrainClient(url, NO_SINK, CONNECT_TIMEOUT_MS);
    client.member = member;
    await client.opened;
    return client;
  }

  /**
   * @param {string} url
   * @param {import('./clients.js').Sink} sink
   * @param {number} timeoutMs
   */
  constructor(url, sink, timeoutMs) {
    super(url, sink, timeoutMs);
    /** @type {Member | undefined} */
    this.member = undefined;
  }

  /**
   * @override
   * @param {Buffer} data
   * @param {boolean} isBinary
   */
  onFrame(data, isBinary) {
    const member = this.member;
    if (member === undefined) return;
    member.run.frames += 1;
    if (!isBinary) return;
    const decoded = decodeServerMessage(data);
    if (!decoded.ok) {
      member.run.tally.undecodable += 1;
      return;
    }
    member.receive(this, decoded.value, data);
    this.pending?.settle(decoded.value);
  }

  hello() {
    return this.request(
      encode({
        type: ClientType.Hello,
        data: { version: PROTOCOL_VERSION, features: FEATURES, client: 'hush-bench' },
      }),
      (message) => replyTo(message, ServerType.Welcome, () => true),
    );
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }
}

/**
 * One person in a room, over however many connections it takes: its roster and gap counts
 * are the SDK's (its GapTracker, fed as its Session feeds it).
 */
class Member {
  /**
   * @param {Run} run
   * @param {number} index  global index (its name is made from it)
   * @param {number} home  replica it starts on
   */
  constructor(run, index, home) {
    this.run = run;
    this.index = index;
    this.home = home;
    this.name = memberName('m', index);
    this.room = Math.floor(index / run.roomSize);
    this.slot = index % run.roomSize;
    /** @type {'new' | 'joining' | 'in' | 'leaving' | 'away' | 'failed' | 'done'} */
    this.state = 'new';
    /** @type {DrainClient | undefined} */
    this.client = undefined;
    this.replica = home;
    this.roomId = '';
    this.everJoined = false;
    /** Closed at least once: no longer one of the members who never left. */
    this.everLeft = false;
    /** @type {string | undefined} */
    this.selfId = undefined;
    /** @type {Map<string, import('@hush/client').RosterEntry>} member id → member */
    this.roster = new Map();
    /** The SDK's own gap rules. */
    this.gaps = new GapTracker();
    /** @type {Map<number, number>} sender's member index → messages its gap detection counted */
    this.gapCounted = new Map();
    /** @type {Set<number>} senders the SDK would flag as an uncountable gap */
    this.gapFlagged = new Set();
    this.backoff = new Backoff(DEFAULT_POLICY.backoff, Math.random);
    /** @type {number | undefined} reconnect delay a drain notice asked for, jitter included */
    this.retryInMs = undefined;
    /** @type {number | undefined} */
    this.noticeAt = undefined;
    /** @type {number | undefined} */
    this.closedAt = undefined;
    /** @type {number | undefined} first time back in the room after leaving */
    this.backAt = undefined;
    /** @type {number | undefined} how long it waited before reconnecting, the last time */
    this.waitedMs = undefined;
    /** @type {number | undefined} */
    this.seatTroubleSince = undefined;
    /** @type {string | undefined} */
    this.failure = undefined;
  }

  get canSend() {
    return this.state === 'in' && this.client !== undefined && this.client.isOpen;
  }

  /**
   * @param {DrainClient} client
   * @param {ServerMessage} message
   * @param {Buffer} raw
   */
  receive(client, message, raw) {
    if (client !== this.client) return;
    switch (message.type) {
      case ServerType.RoomJoined:
        this.joined(message.data);
        return;
      case ServerType.MemberJoined: {
        // As the SDK: a join heard as it happens starts the member's count, listed or not.
        const gap = message.data.id === this.selfId ? undefined : this.gaps.joined(message.data);
        // Already in the roster: our RoomJoined was read after this join.
        if (this.roster.has(message.data.id)) return;
        this.roster.set(message.data.id, message.data);
        this.noteGap(gap);
        return;
      }
      case ServerType.MemberLeft:
        this.roster.delete(message.data.id);
        return;
      case ServerType.RelayMessage: {
        this.run.delivered(this, raw);
        if (message.data.seq === undefined) this.run.tally.withoutSeq += 1;
        const from = { id: message.data.senderId, name: message.data.senderName };
        this.noteGap(this.gaps.received(from, message.data.seq));
        return;
      }
      case ServerType.Notice:
        if (message.data.kind === NoticeKind.Sequences) {
          const known = (/** @type {string} */ id) =>
            id === this.selfId ? undefined : this.roster.get(id);
          for (const gap of this.gaps.standing(message.data.sequences ?? {}, known)) {
            this.noteGap(gap);
          }
        } else if (message.data.kind === NoticeKind.Drain) {
          this.drainNotice(message.data.retryAfterMs);
        }
        return;
      default:
        return;
    }
  }

  /** @param {import('@hush/protocol').RoomJoined['data']} data */
  joined(data) {
    const rejoin = this.everJoined;
    const before = this.roster;
    const selfBefore = this.selfId;
    this.roster = new Map(data.members.map((m) => [m.id, m]));
    this.selfId = data.selfId;
    this.roomId = data.roomId;
    if (rejoin) {
      const others = (
        /** @type {Map<string, import('@hush/client').RosterEntry>} */ roster,
        /** @type {string | undefined} */ self,
      ) => [...roster.values()].filter((member) => member.id !== self);
      for (const gap of this.gaps.rejoined(
        others(before, selfBefore),
        others(this.roster, this.selfId),
      )) {
        this.noteGap(gap);
      }
    } else {
      this.gaps.reset();
    }
    this.state = 'in';
    this.everJoined = true;
    this.backoff.reset();
    this.seatTroubleSince = undefined;
    if (rejoin) this.run.rejoined(this);
  }

  /**
   * What the SDK would report: a count of missed frames, or a gap it cannot count.
   * @param {import('@hush/client').Gap | undefined} gap
   */
  noteGap(gap) {
    if (gap === undefined) return;
    const sender = memberIndex(gap.member.name);
    if (gap.missed === undefined) this.gapFlagged.add(sender);
    else this.gapCounted.set(sender, (this.gapCounted.get(sender) ?? 0) + gap.missed);
  }

  /** @param {number | undefined} retryAfterMs */
  drainNotice(retryAfterMs) {
    if (this.state !== 'in') return;
    this.state = 'leaving';
    this.noticeAt = nowMs();
    this.run.events.push({ at: this.noticeAt, kind: 'notice' });
    if (retryAfterMs !== undefined) {
      this.retryInMs = Math.round(retryAfterMs + Math.random() * DEFAULT_POLICY.drainJitterMs);
    }
    this.run.tally.notices += 1;
  }

  /**
   * @param {DrainClient} client
   * @param {number} code
   */
  closed(client, code) {
    if (client !== this.client) return;
    this.client = undefined;
    // While joining, the pending request fails and the rejoin loop retries.
    if (this.state !== 'in' && this.state !== 'leaving') return;
    this.closedAt = nowMs();
    this.run.events.push({ at: this.closedAt, kind: 'close' });
    this.everLeft = true;
    this.run.tally.closes[code] = (this.run.tally.closes[code] ?? 0) + 1;
    const delay = this.retryInMs ?? this.backoff.next();
    this.retryInMs = undefined;
    this.waitedMs = delay;
    this.state = 'away';
    void this.run.comeBack(this, delay);
  }
}

/** One run of the scenario: the members, the frames, the counters. */
class Run {
  /**
   * @param {import('./main.js').Unit} unit
   * @param {Host} host
   */
  constructor(unit, host) {
    const s = unit.scenario;
    this.unit = unit;
    this.host = host;
    /** @type {number} */
    this.roomSize = s.roomSize;
    if (!(this.roomSize >= 2 && this.roomSize <= 31)) throw new Error('roomSize must be 2…31');
    /** @type {number[]} */
    const perReplica = s.clients;
    if (perReplica.length !== unit.endpoints.length) {
      throw new Error(
        `clients names ${perReplica.length} replicas, there are ${unit.endpoints.length}`,
      );
    }
    const total = perReplica.reduce((a, b) => a + b, 0);
    if (total % this.roomSize !== 0) {
      throw new Error(`${total} members do not fill rooms of ${this.roomSize}`);
    }
    const homes = interleave(perReplica);
    /** @type {Member[]} */
    this.members = homes.map((home, index) => new Member(this, index, home));
    this.rooms = total / this.roomSize;
    this.survivors = unit.endpoints.map((_, i) => i).filter((i) => i !== DRAINED);
    this.balancer = 0;
    this.log = new FrameLog();
    /** Frames received by any member (quiescence). */
    this.frames = 0;
    /** Delivery latency before the SIGTERM, during the storm, after it. */
    this.latency = { steady: new Histogram(), storm: new Histogram(), after: new Histogram() };
    this.rejoinLatency = new Histogram();
    /** The steps of rejoin attempts that got back in, and how long failed opens took. */
    this.rejoinPhases = {
      open: new Histogram(),
      hello: new Histogram(),
      join: new Histogram(),
      failedOpen: new Histogram(),
    };
    /** @type {{ at: number, kind: 'notice' | 'close' | 'attempt' | 'back' }[]} */
    this.events = [];
    /** @type {{ at: number, replica: number }[]} successful joins after the SIGTERM */
    this.joins = [];
    /** @type {number | undefined} */
    this.sigtermAt = undefined;
    /** @type {number | undefined} the storm is over (every drained member back, or given up) */
    this.stormEndAt = undefined;
    this.giveUpAt = Infinity;
    this.stopped = false;
    this.tally = {
      delivered: 0,
      duplicates: 0,
      misrouted: 0,
      foreign: 0,
      undecodable: 0,
      withoutSeq: 0,
      notices: 0,
      /** @type {Record<string, number>} close codes of members' sockets, while in the room */
      closes: {},
      rejoinAttempts: 0,
      /** @type {Record<string, number>} rejoin attempts that failed, by error code or 'connect' */
      retries: {},
      /** @type {Record<string, number>} rejoins given up, by reason */
      refused: {},
    };
  }

  /**
   * Opens a connection for `member` to `replica` and negotiates features.
   * @param {Member} member
   * @param {number} replica
   * @param {{ opened?: number, welcomed?: number }} [phases]  when each step was done
   */
  async connect(member, replica, phases = {}) {
    const client = await DrainClient.connect(this.unit.endpoints[replica] ?? '', member);
    phases.opened = nowMs();
    member.client = client;
    member.replica = replica;
    client.ws.once('close', (code) => member.closed(client, code));
    try {
      await client.hello();
    } catch (error) {
      if (member.client === client) member.client = undefined;
      client.terminate();
      throw error;
    }
    phases.welcomed = nowMs();
    return client;
  }

  /**
   * A received chat frame: which member got which frame.
   * @param {Member} member
   * @param {Buffer} raw
   */
  delivered(member, raw) {
    const id = frameNumber(raw);
    if (id === undefined || id >= this.log.count) {
      this.tally.foreign += 1;
      return;
    }
    const sender = this.members[this.log.sender[id] ?? -1];
    if (sender === undefined || sender.room !== member.room) {
      this.tally.misrouted += 1;
      return;
    }
    const bit = 1 << member.slot;
    const got = this.log.received[id] ?? 0;
    if ((got & bit) !== 0) {
      this.tally.duplicates += 1;
      return;
    }
    this.log.received[id] = got | bit;
    this.tally.delivered += 1;
    const now = nowMs();
    const ms = now - (this.log.sentAt[id] ?? now);
    const phase =
      this.sigtermAt === undefined ? 'steady' : this.stormEndAt === undefined ? 'storm' : 'after';
    this.latency[phase].record(ms);
  }

  /** @param {Member} member  back in its room after leaving */
  rejoined(member) {
    const now = nowMs();
    member.backAt ??= now;
    this.joins.push({ at: now, replica: member.replica });
    this.events.push({ at: now, kind: 'back' });
  }

  /**
   * Brings a member whose socket closed back into its room, as the SDK would.
   * @param {Member} member
   * @param {number} delayMs
   */
  async comeBack(member, delayMs) {
    await sleep(delayMs);
    while (!this.stopped) {
      member.state = 'joining';
      if (nowMs() > this.giveUpAt) {
        this.giveUp(member, 'not back in time');
        return;
      }
      const replica = this.survivors[this.balancer % this.survivors.length] ?? 0;
      this.balancer += 1;
      this.tally.rejoinAttempts += 1;
      const began = nowMs();
      this.events.push({ at: began, kind: 'attempt' });
      /** @type {{ opened?: number, welcomed?: number }} */
      const phases = {};
      /** @type {DrainClient | undefined} */
      let client;
      try {
        client = await this.connect(member, replica, phases);
        await client.join(member.roomId, member.name);
        const { opened = began, welcomed = opened } = phases;
        this.rejoinPhases.open.record(opened - began);
        this.rejoinPhases.hello.record(welcomed - opened);
        this.rejoinPhases.join.record(nowMs() - welcomed);
        this.rejoinLatency.record(nowMs() - began);
        return;
      } catch (error) {
        if (member.client === client) member.client = undefined;
        client?.terminate();
        const code = error instanceof ServerError ? error.code : undefined;
        // Not an answer from the relay: say at which step the attempt failed.
        const step =
          phases.opened === undefined ? 'open' : phases.welcomed === undefined ? 'hello' : 'join';
        const why = code ?? `${step} failed`;
        if (code === undefined && step === 'open') {
          this.rejoinPhases.failedOpen.record(nowMs() - began);
        }
        this.tally.retries[why] = (this.tally.retries[why] ?? 0) + 1;
        if (code !== undefined && !isTransientError(/** @type {any} */ (code))) {
          const now = nowMs();
          if (isSeatError(/** @type {any} */ (code))) member.seatTroubleSince ??= now;
          const seatGrace =
            member.seatTroubleSince !== undefined &&
            now - member.seatTroubleSince < DEFAULT_POLICY.rejoinSeatGraceMs;
          if (!isSeatError(/** @type {any} */ (code)) || !seatGrace) {
            this.giveUp(member, code);
            return;
          }
        }
      }
      member.state = 'away';
      await sleep(member.backoff.next());
    }
    member.state = 'done';
  }

  /**
   * @param {Member} member
   * @param {string} why
   */
  giveUp(member, why) {
    member.state = 'failed';
    member.failure = why;
    this.tally.refused[why] = (this.tally.refused[why] ?? 0) + 1;
  }

  /**
   * Open-loop chat load: `rate` messages per second in all, every room in turn, each room's
   * members taking turns, so every room sends at the same pace from members on every replica.
   * A member that is not in its room when its turn comes skips it.
   * @param {number} rate
   */
  startLoad(rate) {
    const frame = numberedChatFrame();
    const start = nowMs();
    const maxBurst = Math.max(1, Math.ceil(rate * 0.05));
    const state = { sent: 0, skipped: 0, turns: 0 };
    let stopped = false;
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    const tick = () => {
      const due = Math.floor(((nowMs() - start) * rate) / 1000);
      for (let burst = 0; state.turns < due && burst < maxBurst; burst += 1) {
        const turn = state.turns;
        state.turns += 1;
        const room = turn % this.rooms;
        const slot = Math.floor(turn / this.rooms) % this.roomSize;
        const member = /** @type {Member} */ (this.members[room * this.roomSize + slot]);
        if (!member.canSend) {
          state.skipped += 1;
          continue;
        }
        const now = nowMs();
        member.client?.ws.send(frame.stamp(this.log.add(member.index, member.replica, now)));
        state.sent += 1;
      }
      if (!stopped) timer = setTimeout(tick, 1);
    };
    timer = setTimeout(tick, 1);
    return {
      state,
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  /**
   * Waits until no frame has arrived for `quietMs`, at most `maxMs`.
   * @param {number} quietMs
   * @param {number} maxMs
   */
  async quiet(quietMs, maxMs) {
    const end = nowMs() + maxMs;
    let last = this.frames;
    let since = nowMs();
    while (nowMs() < end) {
      await sleep(25);
      if (this.frames !== last) {
        last = this.frames;
        since = nowMs();
      } else if (nowMs() - since >= quietMs) {
        return true;
      }
    }
    return false;
  }
}

/**
 * Which replica each member starts on: `perReplica[r]` members on replica r, spread evenly over
 * the index order (largest remainder first), so consecutive members, and so every room, span the
 * replicas in proportion.
 * @param {number[]} perReplica
 */
export function interleave(perReplica) {
  const total = perReplica.reduce((a, b) => a + b, 0);
  const placed = perReplica.map(() => 0);
  /** @type {number[]} */
  const homes = [];
  for (let i = 0; i < total; i += 1) {
    let best = 0;
    let bestLag = -Infinity;
    perReplica.forEach((count, replica) => {
      const lag = (count * (i + 1)) / total - (placed[replica] ?? 0);
      if ((placed[replica] ?? 0) < count && lag > bestLag) {
        best = replica;
        bestLag = lag;
      }
    });
    placed[best] = (placed[best] ?? 0) + 1;
    homes.push(best);
  }
  return homes;
}

/**
 * A room request at setup, retried (bounded, with the member's backoff) when the relay answers
 * with an error that may go away by itself, as the SDK retries it.
 * @template T
 * @param {Member} member
 * @param {() => Promise<T>} request
 * @returns {Promise<T>}
 */
async function admitted(member, request) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await request();
    } catch (error) {
      const transient =
        error instanceof ServerError && isTransientError(/** @type {any} */ (error.code));
      if (!transient || attempt >= SETUP_RETRIES) throw error;
      await sleep(member.backoff.next());
    }
  }
}

/**
 * Joins per second in buckets of `bucketMs` from `from`: the peak bucket, scaled to a second.
 * @param {number[]} times
 * @param {number} from
 * @param {number} bucketMs
 */
function peakPerSecond(times, from, bucketMs) {
  /** @type {Map<number, number>} */
  const buckets = new Map();
  for (const at of times) {
    const bucket = Math.floor((at - from) / bucketMs);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
  }
  return Math.max(0, ...buckets.values()) * (1000 / bucketMs);
}

/**
 * Milliseconds from `from` to `at`, or undefined.
 * @param {number | undefined} at
 * @param {number} from
 */
function since(at, from) {
  return at === undefined ? undefined : round(at - from, 0);
}

/**
 * @param {number[]} values
 * @param {(v: number, acc: number) => boolean} better
 */
function pickBy(values, better) {
  /** @type {number | undefined} */
  let best;
  for (const v of values) if (best === undefined || better(v, best)) best = v;
  return best;
}

/**
 * p99 and max of an event-loop delay histogram, in ms.
 * @param {import('node:perf_hooks').IntervalHistogram} histogram
 */
function loopDelay(histogram) {
  return {
    p99: round(histogram.percentile(99) / 1e6, 1),
    max: round(histogram.max / 1e6, 1),
  };
}

/** Examples kept of each kind of loss, for the report's JSON. */
const EXAMPLES = 12;

/**
 * One frame a member missed, with both members' timelines (ms after the SIGTERM), as evidence.
 * @param {Run} run
 * @param {number} id  frame
 * @param {Member} receiver
 */
function describeMiss(run, id, receiver) {
  const from = run.sigtermAt ?? 0;
  const sender = /** @type {Member} */ (run.members[run.log.sender[id] ?? 0]);
  const got = run.log.received[id] ?? 0;
  let receivedBy = 0;
  for (let slot = 0; slot < run.roomSize; slot += 1) if ((got & (1 << slot)) !== 0) receivedBy += 1;
  /** @param {Member} m */
  const timeline = (m) => ({
    member: m.index,
    home: m.home,
    replica: m.replica,
    noticeMs: since(m.noticeAt, from),
    closedMs: since(m.closedAt, from),
    backMs: since(m.backAt, from),
  });
  return {
    frame: id,
    sentMs: since(run.log.sentAt[id], from),
    senderReplica: run.log.replica[id],
    sender: timeline(sender),
    receiver: {
      ...timeline(receiver),
      counted: receiver.gapCounted.get(sender.index) ?? 0,
      flagged: receiver.gapFlagged.has(sender.index),
    },
    receivedBy,
  };
}

/**
 * Every frame against every member it was meant for: what was lost, and how much of it each
 * member's gap detection counted.
 * @param {Run} run
 */
function lossReport(run) {
  const { members, log, roomSize } = run;
  /** Per member, per sender slot: frames it missed, and of those, frames nobody received. */
  const missed = members.map(() => new Uint16Array(roomSize));
  const missedByAll = members.map(() => new Uint16Array(roomSize));
  let expected = 0;
  let nobody = 0;
  let nobodyFromDrained = 0;
  /** Send time of the frames nobody received, relative to their sender's drain notice. */
  /** @type {number[]} */
  const nobodyBeforeNotice = [];
  /** @type {ReturnType<typeof describeMiss>[]} */
  const lostToStayers = [];
  /** @type {[number, number][]} receiver and sender of silent misses */
  const silentPairs = [];
  /** @type {ReturnType<typeof describePair>[]} */
  const overcounts = [];
  const all = (1 << roomSize) - 1;
  for (let id = 0; id < log.count; id += 1) {
    const sender = /** @type {Member} */ (members[log.sender[id] ?? 0]);
    const got = log.received[id] ?? 0;
    const others = all & ~(1 << sender.slot);
    expected += roomSize - 1;
    const lostForAll = (got & others) === 0;
    if (lostForAll) {
      nobody += 1;
      if (sender.home === DRAINED) nobodyFromDrained += 1;
      if (sender.noticeAt !== undefined) {
        nobodyBeforeNotice.push(sender.noticeAt - (log.sentAt[id] ?? 0));
      }
    }
    const base = sender.room * roomSize;
    for (let slot = 0; slot < roomSize; slot += 1) {
      if (slot === sender.slot || (got & (1 << slot)) !== 0) continue;
      const receiver = /** @type {Member} */ (members[base + slot]);
      if (!receiver.everLeft && lostToStayers.length < EXAMPLES) {
        lostToStayers.push(describeMiss(run, id, receiver));
      }
      const row = /** @type {Uint16Array} */ (missed[base + slot]);
      row[sender.slot] = (row[sender.slot] ?? 0) + 1;
      if (lostForAll) {
        const byAll = /** @type {Uint16Array} */ (missedByAll[base + slot]);
        byAll[sender.slot] = (byAll[sender.slot] ?? 0) + 1;
      }
    }
  }
  const stayers = { members: 0, lost: 0, countedByGaps: 0 };
  const returning = {
    members: 0,
    missed: 0,
    counted: 0,
    flaggedUncounted: 0,
    silent: 0,
    silentNobodyReceived: 0,
  };
  let overcounted = 0;
  members.forEach((member, index) => {
    const base = member.room * roomSize;
    if (member.everLeft) returning.members += 1;
    else stayers.members += 1;
    for (let slot = 0; slot < roomSize; slot += 1) {
      if (slot === member.slot) continue;
      const sender = base + slot;
      const miss = missed[index]?.[slot] ?? 0;
      const counted = member.gapCounted.get(sender) ?? 0;
      const countedPart = Math.min(miss, counted);
      overcounted += counted - countedPart;
      if (counted > countedPart && overcounts.length < EXAMPLES) {
        overcounts.push(describePair(run, member, sender, miss, counted));
      }
      if (!member.everLeft) {
        stayers.lost += miss;
        stayers.countedByGaps += countedPart;
        continue;
      }
      returning.missed += miss;
      returning.counted += countedPart;
      const rest = miss - countedPart;
      if (member.gapFlagged.has(sender)) {
        returning.flaggedUncounted += rest;
      } else {
        returning.silent += rest;
        returning.silentNobodyReceived += Math.min(rest, missedByAll[index]?.[slot] ?? 0);
        const byAll = missedByAll[index]?.[slot] ?? 0;
        // Examples of silent misses of frames others did receive (the relay dropping a frame
        // shows up often enough among the losses to members who stayed).
        if (rest > byAll && silentPairs.length < EXAMPLES) silentPairs.push([index, sender]);
      }
    }
  });
  return {
    toldSent: log.count,
    expectedDeliveries: expected,
    delivered: run.tally.delivered,
    /** Frames no member received (the relay dropped them), and how many came from drained senders. */
    nobodyReceived: nobody,
    nobodyReceivedFromDrained: nobodyFromDrained,
    /** For those: how long before its sender's drain notice each was written, ms (min, max). */
    nobodyReceivedBeforeNoticeMs:
      nobodyBeforeNotice.length === 0
        ? undefined
        : [
            round(pickBy(nobodyBeforeNotice, (v, b) => v < b) ?? 0, 1),
            round(pickBy(nobodyBeforeNotice, (v, b) => v > b) ?? 0, 1),
          ],
    stayers,
    returning,
    /** Gap counts beyond what a member actually missed (false alarms). */
    overcounted,
    examples: { lostToStayers, silent: silentExamples(run, silentPairs), overcounts },
  };
}

/**
 * A receiver's view of one sender: what it missed, what it counted, the frames it got.
 * @param {Run} run
 * @param {Member} receiver
 * @param {number} senderIndex
 * @param {number} missed
 * @param {number} counted
 */
function describePair(run, receiver, senderIndex, missed, counted) {
  const from = run.sigtermAt ?? 0;
  const sender = /** @type {Member} */ (run.members[senderIndex]);
  const bit = 1 << receiver.slot;
  /** @type {string[]} */
  const frames = [];
  for (let id = 0; id < run.log.count; id += 1) {
    if (run.log.sender[id] !== senderIndex) continue;
    const got = ((run.log.received[id] ?? 0) & bit) !== 0;
    frames.push(`${since(run.log.sentAt[id], from)}${got ? '' : ' (missed)'}`);
  }
  /** @param {Member} m */
  const timeline = (m) => ({
    member: m.index,
    home: m.home,
    noticeMs: since(m.noticeAt, from),
    closedMs: since(m.closedAt, from),
    backMs: since(m.backAt, from),
  });
  return {
    receiver: timeline(receiver),
    sender: timeline(sender),
    missed,
    counted,
    flagged: receiver.gapFlagged.has(senderIndex),
    /** Send times (ms after the SIGTERM) of every frame the sender wrote. */
    frames,
  };
}

/**
 * The frames behind silent misses: for each receiver and sender, what it missed from that sender.
 * @param {Run} run
 * @param {[number, number][]} pairs
 */
function silentExamples(run, pairs) {
  /** @type {ReturnType<typeof describeMiss>[]} */
  const out = [];
  for (const [receiverIndex, senderIndex] of pairs) {
    const receiver = /** @type {Member} */ (run.members[receiverIndex]);
    const bit = 1 << receiver.slot;
    for (let id = 0; id < run.log.count && out.length < EXAMPLES * 2; id += 1) {
      if (run.log.sender[id] === senderIndex && ((run.log.received[id] ?? 0) & bit) === 0) {
        out.push(describeMiss(run, id, receiver));
      }
    }
  }
  return out;
}

/**
 * @param {import('./main.js').Unit} unit
 * @param {Host} host
 */
export async function drain(unit, host) {
  const s = unit.scenario;
  const relay = unit.relay;
  if (relay === undefined) throw new Error('the drain scenario runs against Hush only');
  const run = new Run(unit, host);
  const { members } = run;
  const deadline = nowMs() + s.setupTimeoutMs;

  // Seating: everyone connects to its home replica and negotiates, the first member of each room
  // creates it, the others join by id.
  const setupStart = nowMs();
  allOrThrow(
    await pool(members, s.connectConcurrency, deadline, (m) => run.connect(m, m.home)),
    'connections',
  );
  const creators = members.filter((m) => m.slot === 0);
  const roomIds = allOrThrow(
    await pool(creators, s.connectConcurrency, deadline, (m) =>
      admitted(m, () => /** @type {DrainClient} */ (m.client).create(m.name)),
    ),
    'room creations',
  );
  allOrThrow(
    await pool(
      members.filter((m) => m.slot !== 0),
      s.connectConcurrency,
      deadline,
      (m) =>
        admitted(m, () =>
          /** @type {DrainClient} */ (m.client).join(roomIds[m.room] ?? '', m.name),
        ),
    ),
    'joins',
  );
  const setupMs = round(nowMs() - setupStart, 0);
  await run.quiet(300, 10_000);
  const spanning = Array.from({ length: run.rooms }, (_, room) => {
    const homes = new Set(
      members.slice(room * run.roomSize, (room + 1) * run.roomSize).map((m) => m.home),
    );
    return homes.size === unit.endpoints.length;
  }).filter(Boolean).length;
  const drained = members.filter((m) => m.home === DRAINED);
  host.log(
    `  ${members.length} members in ${run.rooms} rooms (${spanning} spanning all ${unit.endpoints.length} replicas), ` +
      `${drained.length} on replica ${DRAINED}, seated in ${setupMs} ms`,
  );

  // Steady load, then the SIGTERM.
  const rate = (run.rooms * 1000) / s.roomSendIntervalMs;
  const load = run.startLoad(rate);
  // The generator's own event-loop delay: what of the figures is our lag, not the relay's.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const steadyStart = await host.probe('drain:steady');
  await sleep(s.steadyMs);
  const atSigterm = await host.probe('drain:sigterm');
  const dropsBefore = listenQueueDrops();
  const loopSteady = loopDelay(loop);
  loop.reset();
  const sigtermAt = await host.terminate(DRAINED);
  run.sigtermAt = sigtermAt;
  const goalMs = relay.drainDelayMs + relay.drainWindowMs + s.backGraceMs;
  run.giveUpAt = sigtermAt + goalMs + s.giveUpMs;
  host.log(`  SIGTERM to replica ${DRAINED}; drain window ${relay.drainWindowMs} ms`);

  let lastReport = nowMs();
  // CPU of every process, second by second through the storm: starved, or busy on its own?
  /** @type {Record<string, (number | null)[]>} */
  const cpuTimeline = {};
  let lastSample = atSigterm;
  let sampled = 0;
  const allBack = () => drained.every((m) => m.backAt !== undefined || m.state === 'failed');
  while (!allBack() && nowMs() < run.giveUpAt) {
    await sleep(50);
    if (nowMs() - sigtermAt >= 1_000 * (sampled + 1)) {
      sampled += 1;
      const sample = await host.probe('drain:second');
      const usage = usageBetween(lastSample, sample);
      lastSample = sample;
      for (const [name, u] of Object.entries(usage.procs)) {
        (cpuTimeline[name] ??= []).push(u === null ? null : Math.round(u.cpuPct));
      }
      (cpuTimeline.other ??= []).push(Math.round(usage.otherPct));
    }
    if (nowMs() - lastReport >= 2_000) {
      lastReport = nowMs();
      const back = drained.filter((m) => m.backAt !== undefined).length;
      host.log(
        `  +${round((nowMs() - sigtermAt) / 1000, 1)} s: ${run.tally.notices} notices, ${back}/${drained.length} back`,
      );
    }
  }
  run.stormEndAt = nowMs();
  const afterStorm = await host.probe('drain:back');
  const dropsAfter = listenQueueDrops();
  const loopStorm = loopDelay(loop);
  loop.disable();

  await sleep(s.afterMs);
  load.stop();
  // Let what is in flight arrive: until nothing has come for a second (bounded).
  await run.quiet(1_000, 15_000);
  const exit = await host.replicaExit(
    DRAINED,
    Math.max(0, sigtermAt + relay.shutdownTimeoutMs + 5_000 - nowMs()),
  );
  run.stopped = true;

  const loss = lossReport(run);
  const backTimes = drained.map((m) => m.backAt).filter((t) => t !== undefined);
  const lastBack = pickBy(backTimes, (v, b) => v > b);
  const firstBack = pickBy(backTimes, (v, b) => v < b);
  const joinTimes = run.joins.map((j) => j.at);
  /** @type {Record<string, number>} */
  const peakBySurvivor = {};
  for (const replica of run.survivors) {
    peakBySurvivor[`replica-${replica}`] = peakPerSecond(
      run.joins.filter((j) => j.replica === replica).map((j) => j.at),
      sigtermAt,
      s.bucketMs,
    );
  }
  const noticeTimes = drained.map((m) => m.noticeAt).filter((t) => t !== undefined);
  const closeTimes = drained.map((m) => m.closedAt).filter((t) => t !== undefined);
  const away = new Histogram();
  const overrun = new Histogram();
  for (const m of drained) {
    if (m.closedAt === undefined || m.backAt === undefined) continue;
    away.record(m.backAt - m.closedAt);
    overrun.record(Math.max(0, m.backAt - m.closedAt - (m.waitedMs ?? 0)));
  }
  /** Events per second after the SIGTERM, by kind. */
  const seconds = Math.ceil(((run.stormEndAt ?? sigtermAt) - sigtermAt) / 1000) + 1;
  /** @type {Record<string, number[]>} */
  const timeline = { notice: [], close: [], attempt: [], back: [] };
  for (const list of Object.values(timeline)) list.push(...new Array(seconds).fill(0));
  for (const { at, kind } of run.events) {
    const second = Math.floor((at - sigtermAt) / 1000);
    const list = timeline[kind];
    if (list !== undefined && second >= 0 && second < seconds)
      list[second] = (list[second] ?? 0) + 1;
  }
  const stormSeconds =
    firstBack === undefined || lastBack === undefined ? 0 : (lastBack - firstBack) / 1000;
  const allBackMs = since(lastBack, sigtermAt);
  const notBack = drained.filter((m) => m.backAt === undefined).length;
  const result = {
    clients: members.length,
    clientsPerReplica: s.clients,
    rooms: run.rooms,
    roomSize: run.roomSize,
    roomsSpanningAll: spanning,
    setupMs,
    relay,
    load: {
      offeredSendsPerSec: round(rate, 1),
      sent: load.state.sent,
      skippedTurns: load.state.skipped,
    },
    drain: {
      noticesReceived: run.tally.notices,
      drainedMembers: drained.length,
      firstNoticeMs: since(
        pickBy(noticeTimes, (v, b) => v < b),
        sigtermAt,
      ),
      lastNoticeMs: since(
        pickBy(noticeTimes, (v, b) => v > b),
        sigtermAt,
      ),
      lastCloseMs: since(
        pickBy(closeTimes, (v, b) => v > b),
        sigtermAt,
      ),
      closes: run.tally.closes,
      exitMs: exit === undefined ? undefined : round(exit.atMs - sigtermAt, 0),
      exitCode: exit?.code ?? null,
      exitSignal: exit?.signal ?? null,
    },
    storm: {
      rejoined: backTimes.length,
      notBack,
      refused: run.tally.refused,
      firstBackMs: since(firstBack, sigtermAt),
      allBackMs,
      goalMs,
      allBackInTime: notBack === 0 && allBackMs !== undefined && allBackMs <= goalMs,
      bucketMs: s.bucketMs,
      peakJoinsPerSec: peakPerSecond(joinTimes, sigtermAt, s.bucketMs),
      peakJoinsPerSecBySurvivor: peakBySurvivor,
      meanJoinsPerSec: stormSeconds > 0 ? round(backTimes.length / stormSeconds, 0) : undefined,
      rejoinAttempts: run.tally.rejoinAttempts,
      retries: run.tally.retries,
      /** Open (TCP + WebSocket handshake) + Hello + JoinRoom of the attempt that got back in. */
      rejoinMs: run.rejoinLatency.summary(),
      rejoinStepsMs: {
        open: run.rejoinPhases.open.summary(),
        hello: run.rejoinPhases.hello.summary(),
        join: run.rejoinPhases.join.summary(),
        failedOpen: run.rejoinPhases.failedOpen.summary(),
      },
      /** From the socket's close to RoomJoined again (the drain hint and jitter included). */
      awayMs: away.summary(),
      /** The same, less the wait the hint and jitter asked for: what reconnecting cost. */
      overrunMs: overrun.summary(),
      /** Accept queues of this machine that overflowed during the storm (every process's). */
      listenOverflows:
        dropsBefore === undefined || dropsAfter === undefined
          ? undefined
          : dropsAfter.listenOverflows - dropsBefore.listenOverflows,
      /** Per second after the SIGTERM: notices, closes, rejoin attempts, members back. */
      timeline,
    },
    loss,
    latencyMs: {
      steady: run.latency.steady.summary(),
      storm: run.latency.storm.summary(),
      after: run.latency.after.summary(),
    },
    /** CPU % of each process (and of other load on the machine) per second of the storm. */
    cpuTimeline,
    /** The generator's event-loop delay, ms, before the SIGTERM and during the storm. */
    loadgenLoopDelayMs: { steady: loopSteady, storm: loopStorm },
    usage: {
      steady: usageBetween(steadyStart, atSigterm),
      storm: usageBetween(atSigterm, afterStorm),
    },
    anomalies: {
      duplicates: run.tally.duplicates,
      misrouted: run.tally.misrouted,
      foreign: run.tally.foreign,
      undecodable: run.tally.undecodable,
      withoutSeq: run.tally.withoutSeq,
      stayersClosed: members.filter((m) => m.home !== DRAINED && m.everLeft).length,
    },
  };
  host.log(
    `  all back ${allBackMs ?? '–'} ms after SIGTERM (goal ${goalMs} ms: ${result.storm.allBackInTime ? 'pass' : 'FAIL'}), ` +
      `peak ${result.storm.peakJoinsPerSec} joins/s, replica ${DRAINED} exited after ${result.drain.exitMs ?? '–'} ms; ` +
      `lost to stayers ${loss.stayers.lost}, returning: missed ${loss.returning.missed}, counted ${loss.returning.counted}, ` +
      `flagged ${loss.returning.flaggedUncounted}, silent ${loss.returning.silent}`,
  );

  // Close everything (members still on their way back are left where they are).
  for (const m of members) m.state = 'done';
  const open = members.map((m) => m.client).filter((c) => c !== undefined);
  await pool(open, 500, nowMs() + 20_000, (client) => client.close());
  for (const client of open) client.terminate();
  return result;
}
