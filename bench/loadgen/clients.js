// The load generator's two wire clients, both on raw `ws` so the generator spends the same few
// microseconds per frame whatever the server:
// - MsgpackClient speaks the Hush protocol (Hush and the bare baseline relay);
// - SocketIoClient speaks Engine.IO 4 / Socket.IO 5 over a websocket-only transport (the same
//   packets socket.io-client sends; `bench/run.js` checks that against the real client first).
// On the hot path a received frame is never decoded: only its type byte and the send time behind
// the marker are read.
import { ClientType, decodeServerMessage, encode, ErrorCode, ServerType } from '@hush/protocol';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { Histogram } from '../lib/histogram.js';
import { nowMs, sentAt } from './frames.js';

/**
 * Where a client reports what it sees.
 * @typedef {object} Sink
 * @property {(sentAtMs: number) => void} delivered  a chat message arrived
 * @property {() => void} frame  any frame arrived (for quiescence detection)
 * @property {() => void} errorFrame  the server answered with an error
 * @property {(code: number) => void} closedUnexpectedly
 * @property {() => void} [typing]  a typing notification arrived (Hush protocol only)
 */

/**
 * @typedef {object} BenchClient
 * @property {(name: string) => Promise<string>} create  creates a room, resolves with its id
 * @property {(roomId: string, name: string) => Promise<void>} join
 * @property {(frame: { stamp(): Buffer }) => boolean} sendChat  false when the socket is not open
 * @property {() => Promise<void>} close  closing handshake, bounded in time
 * @property {() => void} terminate
 */

/**
 * A sink that counts what every client of a process sees, and records the delivery latency of
 * chat messages while `recording.on` is true.
 */
export function countingSink() {
  const counters = { delivered: 0, typing: 0, frames: 0, errorFrames: 0, unexpectedCloses: 0 };
  const latency = new Histogram();
  const recording = { on: false };
  /** @type {Sink} */
  const sink = {
    delivered(sent) {
      counters.delivered += 1;
      if (recording.on) latency.record(nowMs() - sent);
    },
    typing() {
      counters.typing += 1;
    },
    frame() {
      counters.frames += 1;
    },
    errorFrame() {
      counters.errorFrames += 1;
    },
    closedUnexpectedly() {
      counters.unexpectedCloses += 1;
    },
  };
  return { counters, latency, recording, sink };
}

/**
 * Runs a room request, again (up to 3 times, with backoff) when the relay answers Unavailable
 * (E024), as a client would: under heavy join contention the cluster backend may time out.
 * @template T
 * @param {() => Promise<T>} request
 * @param {() => void} onRetry  called before each retry
 * @returns {Promise<T>}
 */
export async function admit(request, onRetry) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await request();
    } catch (error) {
      if (attempt >= 3 || !(error instanceof ServerError) || error.code !== ErrorCode.Unavailable) {
        throw error;
      }
      onRetry();
      await sleep(200 * 2 ** attempt);
    }
  }
}

/** A request waits at most this long for its answer. */
const REPLY_TIMEOUT_MS = 15_000;
/** A closing handshake waits at most this long before the socket is dropped. */
const CLOSE_TIMEOUT_MS = 3_000;

/**
 * Common lifecycle: listeners attached before the socket opens (a server may speak first), one
 * pending request at a time, close detection, bounded close.
 */
class BaseClient {
  /**
   * @param {string} url
   * @param {Sink} sink
   * @param {number} timeoutMs  bound on the opening handshake
   * @param {string} [localAddress]  source address of the TCP connection (e.g. 127.0.0.2)
   */
  constructor(url, sink, timeoutMs, localAddress) {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    this.ws = ws;
    this.sink = sink;
    this.closing = false;
    this.open = false;
    /** @type {{ settle: (message: unknown) => void, reject: (error: Error) => void } | undefined} */
    this.pending = undefined;
    /** @type {Promise<void>} */
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => {
        this.open = true;
        resolve();
      });
      ws.once('close', (code) => reject(new Error(`connection failed (${code})`)));
      // An error is followed by 'close'; keep the first one as the reason.
      ws.once('error', reject);
    });
    this.opened.catch(() => undefined);
    /** @type {Promise<void>} */
    this.closed = new Promise((resolve) => {
      ws.once('close', (code) => {
        if (this.open && !this.closing) this.sink.closedUnexpectedly(code);
        this.pending?.reject(new Error(`socket closed (${code})`));
        resolve();
      });
    });
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => this.onFrame(/** @type {Buffer} */ (data), isBinary));
  }

  /**
   * @param {Buffer} _data
   * @param {boolean} _isBinary
   */
  onFrame(_data, _isBinary) {}

  /**
   * Sends `payload` (if any) and resolves with the first value `match` returns for an incoming
   * message; an Error value rejects instead.
   * @template T
   * @param {string | Uint8Array | undefined} payload
   * @param {(message: unknown) => T | Error | undefined} match  undefined keeps waiting
   * @returns {Promise<T>}
   */
  request(payload, match) {
    if (this.pending !== undefined) return Promise.reject(new Error('request already pending'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error('no reply in time')), REPLY_TIMEOUT_MS);
      /** @param {Error | undefined} error @param {T=} value */
      const finish = (error, value) => {
        clearTimeout(timer);
        this.pending = undefined;
        if (error === undefined) resolve(/** @type {T} */ (value));
        else reject(error);
      };
      this.pending = {
        settle: (message) => {
          const value = match(message);
          if (value instanceof Error) finish(value);
          else if (value !== undefined) finish(undefined, value);
        },
        reject: (error) => finish(error),
      };
      if (payload !== undefined) this.ws.send(payload);
    });
  }

  async close() {
    this.closing = true;
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const timer = setTimeout(() => this.ws.terminate(), CLOSE_TIMEOUT_MS);
    this.ws.close(1000);
    await this.closed;
    clearTimeout(timer);
  }

  terminate() {
    this.closing = true;
    this.ws.terminate();
  }
}

/** Hush wire protocol: `{type, data}` msgpack maps, binary frames. */
export class MsgpackClient extends BaseClient {
  /**
   * @param {string} url  ws://host:port/ws
   * @param {Sink} sink
   * @param {number} timeoutMs
   * @param {string} [localAddress]
   */
  static async open(url, sink, timeoutMs, localAddress) {
    const client = new MsgpackClient(url, sink, timeoutMs, localAddress);
    await client.opened;
    return client;
  }

  /**
   * @override
   * @param {Buffer} data
   * @param {boolean} isBinary
   */
  onFrame(data, isBinary) {
    this.sink.frame();
    if (!isBinary) return;
    // encode() writes {type, data} in that order: fixmap(2), fixstr "type", then the type id.
    const type = data[0] === 0x82 && data[1] === 0xa4 ? data[6] : undefined;
    if (type === ServerType.RelayMessage) {
      const at = sentAt(data);
      if (at !== undefined) {
        this.sink.delivered(at);
        return;
      }
    }
    if (type === ServerType.MemberTyping) {
      this.sink.typing?.();
      return;
    }
    if (type === ServerType.Error) this.sink.errorFrame();
    if (this.pending === undefined) return;
    const decoded = decodeServerMessage(data);
    this.pending.settle(decoded.ok ? decoded.value : undefined);
  }

  /** @param {string} name */
  create(name) {
    return this.request(
      encode({
        type: ClientType.CreateRoom,
        data: { name, password: '', ephemeral: 0, expiry: 0 },
      }),
      (message) => replyTo(message, ServerType.RoomJoined, (data) => String(data.roomId)),
    );
  }

  /**
   * @param {string} roomId
   * @param {string} name
   */
  async join(roomId, name) {
    await this.request(
      encode({ type: ClientType.JoinRoom, data: { roomId, name, password: '' } }),
      (message) => replyTo(message, ServerType.RoomJoined, () => true),
    );
  }

  /** @param {{ stamp(): Buffer }} frame */
  sendChat(frame) {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(frame.stamp());
    return true;
  }

  /**
   * Sends a pre-encoded frame as it is (e.g. a Typing frame); false when the socket is not open.
   * @param {Uint8Array} frame
   */
  sendFrame(frame) {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(frame);
    return true;
  }
}

/**
 * The awaited reply's value, an Error for an Error message, undefined for anything else (which
 * the request keeps waiting past: MemberJoined, Ping, ...).
 * @template T
 * @param {unknown} message
 * @param {number} type
 * @param {(data: Record<string, unknown>) => T} pick
 * @returns {T | Error | undefined}
 */
export function replyTo(message, type, pick) {
  if (typeof message !== 'object' || message === null) return undefined;
  const { type: got, data } = /** @type {{ type: number, data: Record<string, unknown> }} */ (
    message
  );
  if (got === type) return pick(data);
  if (got === ServerType.Error) return new ServerError(String(data.code), String(data.msg));
  return undefined;
}

/** The server refused a request with an Error message (Hush and the baseline). */
export class ServerError extends Error {
  /**
   * @param {string} code  e.g. E024
   * @param {string} message
   */
  constructor(code, message) {
    super(`server error ${code}: ${message}`);
    this.code = code;
  }
}

// Engine.IO 4 packet types (first character) and Socket.IO 5 packet types (second).
const EIO_OPEN = 0x30; // '0'
const EIO_PING = 0x32; // '2'
const EIO_MESSAGE = 0x34; // '4'
const SIO_BINARY_EVENT = 0x35; // '5'
/** A binary event `m` with one attachment: the chat frame, the same bytes Hush receives. */
export const SIO_CHAT_HEADER = '451-["m",{"_placeholder":true,"num":0}]';

/** Socket.IO over a websocket-only transport, speaking the packets socket.io-client sends. */
export class SocketIoClient extends BaseClient {
  /**
   * @param {string} url  ws://host:port/socket.io/?EIO=4&transport=websocket
   * @param {Sink} sink
   * @param {number} timeoutMs
   */
  static async open(url, sink, timeoutMs) {
    const client = new SocketIoClient(url, sink, timeoutMs);
    await client.opened;
    // The server opens with an Engine.IO handshake; the client then connects namespace "/".
    if (client.handshake === undefined) {
      await client.request(undefined, (text) =>
        typeof text === 'string' && text.startsWith('0{') ? true : undefined,
      );
    }
    await client.request('40', (text) =>
      typeof text !== 'string'
        ? undefined
        : text.startsWith('44')
          ? new Error(`namespace refused: ${text}`)
          : text.startsWith('40')
            ? true
            : undefined,
    );
    return client;
  }

  /**
   * @param {string} url
   * @param {Sink} sink
   * @param {number} timeoutMs
   */
  constructor(url, sink, timeoutMs) {
    super(url, sink, timeoutMs);
    this.nextAck = 0;
    /** @type {string | undefined} the Engine.IO open packet, if it came before anyone waited */
    this.handshake = undefined;
  }

  /**
   * @override
   * @param {Buffer} data
   * @param {boolean} isBinary
   */
  onFrame(data, isBinary) {
    this.sink.frame();
    if (isBinary) {
      const at = sentAt(data);
      if (at !== undefined) this.sink.delivered(at);
      return;
    }
    if (data[0] === EIO_PING && data.length === 1) {
      this.ws.send('3');
      return;
    }
    // Headers of relayed binary events: the attachment that follows carries the payload.
    if (data[0] === EIO_MESSAGE && data[1] === SIO_BINARY_EVENT) return;
    const text = data.toString('utf8');
    if (text.startsWith('44')) this.sink.errorFrame();
    if (this.pending !== undefined) this.pending.settle(text);
    else if (data[0] === EIO_OPEN) this.handshake = text;
  }

  /**
   * An event with an acknowledgement: `42<id>[...]` answered by `43<id>[...]`.
   * @param {unknown[]} args
   * @returns {Promise<unknown[]>}
   */
  emitWithAck(args) {
    const id = this.nextAck;
    this.nextAck += 1;
    const prefix = `43${id}[`;
    return this.request(`42${id}${JSON.stringify(args)}`, (text) => {
      if (typeof text !== 'string') return undefined;
      if (text.startsWith('44')) return new Error(`connect error ${text}`);
      if (!text.startsWith(prefix)) return undefined;
      return /** @type {unknown[]} */ (JSON.parse(text.slice(prefix.length - 1)));
    });
  }

  /** @param {string} name */
  async create(name) {
    const [roomId] = await this.emitWithAck(['create', name]);
    return String(roomId);
  }

  /**
   * @param {string} roomId
   * @param {string} name
   */
  async join(roomId, name) {
    await this.emitWithAck(['join', roomId, name]);
  }

  /** @param {{ stamp(): Buffer }} frame */
  sendChat(frame) {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(SIO_CHAT_HEADER);
    this.ws.send(frame.stamp());
    return true;
  }
}
