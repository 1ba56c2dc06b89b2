// The same room fan-out written the way most Node developers would: Socket.IO rooms, and
// @socket.io/redis-adapter between replicas when REDIS_URL is set. Websocket transport only, no
// compression, binary payloads (the load generator sends the same chat frame bytes as to Hush).
//
// Events: `create(name, ack(roomId))`, `join(roomId, name, ack())`, `m(payload)` relayed to the
// rest of the room as `m(senderId, payload)`; `joined(id, name)` / `left(id)` to the room.
//
// Env: PORT, HOST (default 127.0.0.1), REDIS_URL (optional).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const redisUrl = process.env.REDIS_URL;

const server = createServer((request, response) => {
  response.writeHead(request.url === '/readyz' ? 200 : 404).end();
});
const io = new Server(server, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 100 * 1024,
});

/** @type {(() => Promise<unknown>) | undefined} */
let closeRedis;
if (redisUrl !== undefined) {
  const [{ Redis }, { createAdapter }] = await Promise.all([
    import('ioredis'),
    import('@socket.io/redis-adapter'),
  ]);
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  await Promise.all([pub.ping(), sub.ping()]);
  io.adapter(createAdapter(pub, sub));
  closeRedis = () => Promise.allSettled([pub.quit(), sub.quit()]);
}

io.on('connection', (socket) => {
  /** @type {string | undefined} */
  let room;
  socket.on('create', (/** @type {unknown} */ name, /** @type {(id: string) => void} */ ack) => {
    room = randomBytes(16).toString('base64url').slice(0, 21);
    void socket.join(room);
    ack(room);
  });
  socket.on(
    'join',
    (/** @type {unknown} */ roomId, /** @type {unknown} */ name, /** @type {() => void} */ ack) => {
      room = String(roomId);
      void socket.join(room);
      socket.to(room).emit('joined', socket.id, String(name));
      ack();
    },
  );
  socket.on('m', (/** @type {Buffer} */ payload) => {
    if (room !== undefined) socket.to(room).emit('m', socket.id, payload);
  });
  socket.on('disconnect', () => {
    if (room !== undefined) socket.to(room).emit('left', socket.id);
  });
});

server.listen(port, host, () => {
  process.stdout.write(`socket.io relay on ${host}:${port}${closeRedis ? ' (redis)' : ''}\n`);
});

for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT'])) {
  process.once(signal, () => {
    io.disconnectSockets(true);
    void io.close();
    void (closeRedis?.() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}
