// The baseline: the least a relay on this stack can do. `ws` and msgpackr, no framework, no
// actors, no validation, no limits; enough of the Hush wire protocol for the load generator
// (CreateRoom, JoinRoom, SendMessage, Typing, LeaveRoom → RoomCreated, RoomJoined, MemberJoined,
// MemberLeft, RelayMessage, MemberTyping). With REDIS_URL it fans out between replicas like Hush does: one
// channel per room, subscribed while the room has a local member. It is the practical ceiling of
// the stack, not a product: it trusts every byte it receives.
//
// With BASELINE_BATCH=1 it also coalesces each socket's writes of one event-loop turn into one
// writev (cork on the first write, uncork in setImmediate), as Hush does: the ceiling for a relay
// that batches its syscalls. Off by default, which is the plain `ws` way.
//
// Env: PORT, HOST (default 127.0.0.1), REDIS_URL (optional), BASELINE_BATCH (optional).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Packr, Unpackr } from 'msgpackr';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const redisUrl = process.env.REDIS_URL;
const batchWrites = process.env.BASELINE_BATCH === '1';

// The same codec options as @hush/protocol, so the bytes on the wire are the same.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const CreateRoom = 0x01;
const JoinRoom = 0x02;
const SendMessage = 0x03;
const LeaveRoom = 0x04;
const Typing = 0x05;
const RoomCreated = 0x10;
const RoomJoined = 0x11;
const MemberJoined = 0x12;
const MemberLeft = 0x13;
const RelayMessage = 0x14;
const MemberTyping = 0x15;

/**
 * @typedef {object} Member
 * @property {string} id
 * @property {string} name
 * @property {string} color
 * @property {import('ws').WebSocket} socket
 * @property {import('node:stream').Duplex} raw  the TCP socket under it
 * @property {string | undefined} roomId
 */

/** roomId → local members by id. */
/** @type {Map<string, Map<string, Member>>} */
const rooms = new Map();
/** @type {Map<import('ws').WebSocket, Member>} */
const members = new Map();

const replicaId = randomBytes(6).toString('base64url'); // 8 characters
const fanout = redisUrl === undefined ? undefined : await redisFanout(redisUrl);

/** @param {number} bytes */
const newId = (bytes) => randomBytes(bytes).toString('base64url');
const newColor = () => randomBytes(3).toString('hex');

/** @param {unknown} error */
function report(error) {
  process.stderr.write(`baseline: ${error instanceof Error ? error.message : String(error)}\n`);
}

/**
 * @param {number} type
 * @param {Record<string, unknown>} data
 */
const pack = (type, data) => packr.pack({ type, data });

/**
 * @param {Map<string, Member>} room
 * @param {Buffer} frame
 * @param {string | undefined} exclude
 */
function deliverLocal(room, frame, exclude) {
  for (const member of room.values()) if (member.id !== exclude) send(member, frame);
}

/** TCP sockets corked in this event-loop turn. */
/** @type {Set<import('node:stream').Duplex>} */
const corked = new Set();

/**
 * @param {Member} member
 * @param {Buffer} frame
 */
function send(member, frame) {
  if (batchWrites && !corked.has(member.raw)) {
    member.raw.cork();
    corked.add(member.raw);
    if (corked.size === 1) setImmediate(uncorkAll);
  }
  member.socket.send(frame);
}

function uncorkAll() {
  for (const raw of corked) raw.uncork();
  corked.clear();
}

/**
 * @param {string} roomId
 * @param {Buffer} frame
 * @param {string | undefined} exclude
 */
function broadcast(roomId, frame, exclude) {
  const room = rooms.get(roomId);
  if (room !== undefined) deliverLocal(room, frame, exclude);
  fanout?.publish(roomId, frame, exclude);
}

/**
 * @param {Member} member
 * @param {string} roomId
 * @param {boolean} created
 */
function enter(member, roomId, created) {
  let room = rooms.get(roomId);
  if (room === undefined) {
    room = new Map();
    rooms.set(roomId, room);
    fanout?.subscribe(roomId);
  }
  const { id, name, color } = member;
  member.roomId = roomId;
  if (created) send(member, pack(RoomCreated, { roomId, expiresAt: 0 }));
  const list = [...room.values()].map((m) => ({ id: m.id, name: m.name, color: m.color }));
  list.push({ id, name, color });
  send(
    member,
    pack(RoomJoined, { roomId, members: list, hasPassword: false, ephemeral: 0, expiresAt: 0 }),
  );
  broadcast(roomId, pack(MemberJoined, { id, name, color }), id);
  room.set(id, member);
}

/** @param {Member} member */
function leave(member) {
  const { roomId } = member;
  if (roomId === undefined) return;
  member.roomId = undefined;
  const room = rooms.get(roomId);
  room?.delete(member.id);
  if (room !== undefined && room.size === 0) {
    rooms.delete(roomId);
    fanout?.unsubscribe(roomId);
  }
  broadcast(roomId, pack(MemberLeft, { id: member.id }), undefined);
}

const server = createServer((request, response) => {
  response.writeHead(request.url === '/readyz' ? 200 : 404).end();
});
const wss = new WebSocketServer({
  server,
  path: '/ws',
  perMessageDeflate: false,
  maxPayload: 100 * 1024,
  clientTracking: false,
});

wss.on('connection', (socket, request) => {
  const id = newId(12);
  /** @type {Member} */
  const member = {
    id,
    name: '',
    color: `#${newColor()}`,
    socket,
    raw: request.socket,
    roomId: undefined,
  };
  members.set(socket, member);
  socket.on('message', (data) => {
    /** @type {any} */
    let message;
    try {
      message = unpackr.unpack(/** @type {Buffer} */ (data));
    } catch {
      return;
    }
    switch (message?.type) {
      case SendMessage:
        if (member.roomId !== undefined) {
          const frame = pack(RelayMessage, {
            senderId: member.id,
            senderName: member.name,
            t: BigInt(Date.now()),
            iv: message.data.iv,
            ciphertext: message.data.ciphertext,
          });
          broadcast(member.roomId, frame, member.id);
        }
        return;
      case Typing:
        if (member.roomId !== undefined) {
          const { typing, iv, ciphertext } = message.data ?? {};
          const frame = pack(MemberTyping, {
            id: member.id,
            typing: typing === true,
            ...(iv === undefined ? {} : { iv, ciphertext }),
          });
          broadcast(member.roomId, frame, member.id);
        }
        return;
      case CreateRoom:
        member.name = String(message.data.name);
        enter(member, newId(16).slice(0, 21), true);
        return;
      case JoinRoom:
        member.name = String(message.data.name);
        enter(member, String(message.data.roomId), false);
        return;
      case LeaveRoom:
        leave(member);
        return;
      default:
        return;
    }
  });
  socket.on('close', () => {
    members.delete(socket);
    leave(member);
  });
  socket.on('error', () => socket.terminate());
});

server.listen(port, host, () => {
  process.stdout.write(
    `baseline relay on ${host}:${port}${fanout ? ' (redis)' : ''}${batchWrites ? ' (batched writes)' : ''}\n`,
  );
});

for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT'])) {
  process.once(signal, () => {
    for (const socket of members.keys()) socket.terminate();
    server.close();
    void fanout?.close().finally(() => process.exit(0));
    if (fanout === undefined) process.exit(0);
  });
}

/**
 * Per-room pub/sub between replicas. An envelope is: origin replica id (8 bytes), length of the
 * excluded member id (1 byte), that id, then the frame.
 * @param {string} url
 */
async function redisFanout(url) {
  const { Redis } = await import('ioredis');
  const pub = new Redis(url, { enableAutoPipelining: true });
  const sub = new Redis(url);
  const channel = (/** @type {string} */ roomId) => `baseline:room:${roomId}`;
  const prefix = channel('').length;
  const origin = Buffer.from(replicaId);
  sub.on('messageBuffer', (/** @type {Buffer} */ name, /** @type {Buffer} */ envelope) => {
    if (envelope.compare(origin, 0, 8, 0, 8) === 0) return;
    const room = rooms.get(name.toString('latin1', prefix));
    if (room === undefined) return;
    const excludeLength = envelope[8] ?? 0;
    const exclude = envelope.toString('latin1', 9, 9 + excludeLength);
    deliverLocal(room, envelope.subarray(9 + excludeLength), exclude);
  });
  await Promise.all([pub.ping(), sub.ping()]);
  return {
    /** @param {string} roomId */
    subscribe: (roomId) => void sub.subscribe(channel(roomId)).catch(report),
    /** @param {string} roomId */
    unsubscribe: (roomId) => void sub.unsubscribe(channel(roomId)).catch(report),
    /**
     * @param {string} roomId
     * @param {Buffer} frame
     * @param {string | undefined} exclude
     */
    publish(roomId, frame, exclude) {
      const excluded = Buffer.from(exclude ?? '', 'latin1');
      const header = Buffer.allocUnsafe(9);
      origin.copy(header, 0);
      header[8] = excluded.length;
      pub.publish(channel(roomId), Buffer.concat([header, excluded, frame])).catch(report);
    },
    close: async () => {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
