// Before Socket.IO is measured with the generator's raw-ws client, check that client against the
// real socket.io-client in the same room: each must receive the other's binary chat message
// byte for byte. If Socket.IO's wire format ever drifts, the run stops here instead of measuring
// nothing.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io as connectOfficial } from 'socket.io-client';
import { SocketIoClient } from '../loadgen/clients.js';
import { chatFrame, sentAt } from '../loadgen/frames.js';
import { freePort, startProcess, stopProcess, waitReady } from './processes.js';

const TIMEOUT_MS = 10_000;

/** @param {string} logDir */
export async function checkSocketIoWire(logDir) {
  const port = await freePort();
  const server = startProcess(
    process.execPath,
    [fileURLToPath(new URL('../servers/socketio.js', import.meta.url))],
    {
      env: { PORT: String(port), HOST: '127.0.0.1' },
      logFile: join(logDir, 'socketio-wire-check.log'),
    },
  );
  /** @type {ReturnType<typeof connectOfficial> | undefined} */
  let official;
  /** @type {SocketIoClient | undefined} */
  let raw;
  try {
    await waitReady(port, server, TIMEOUT_MS);
    official = connectOfficial(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    /** @type {number[]} */
    const rawReceived = [];
    raw = await SocketIoClient.open(
      `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
      {
        delivered: (at) => rawReceived.push(at),
        frame: () => undefined,
        errorFrame: () => undefined,
        closedUnexpectedly: () => undefined,
      },
      TIMEOUT_MS,
    );
    const roomId = String(await official.timeout(TIMEOUT_MS).emitWithAck('create', 'official'));
    await raw.join(roomId, 'raw');

    const frame = chatFrame();
    const fromRaw = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket.io-client got nothing')), TIMEOUT_MS);
      official?.once('m', (/** @type {unknown} */ sender, /** @type {unknown} */ payload) => {
        clearTimeout(timer);
        resolve({ sender, payload });
      });
    });
    raw.sendChat(frame);
    const { sender, payload } = /** @type {{ sender: unknown, payload: unknown }} */ (
      await fromRaw
    );
    if (typeof sender !== 'string' || !Buffer.isBuffer(payload) || !payload.equals(frame.bytes)) {
      throw new Error('socket.io-client received something else than the raw client sent');
    }

    const stamped = frame.stamp();
    official.emit('m', Buffer.from(stamped));
    const deadline = Date.now() + TIMEOUT_MS;
    while (rawReceived.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (rawReceived[0] !== sentAt(stamped)) {
      throw new Error('the raw client did not receive what socket.io-client sent');
    }
  } catch (error) {
    throw new Error(
      `Socket.IO wire check failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  } finally {
    official?.close();
    await raw?.close();
    await stopProcess(server, 2_000);
  }
}
