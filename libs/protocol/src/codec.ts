import { Packr, Unpackr } from 'msgpackr';
import type { ClientMessage, Message, ServerMessage } from './messages.js';
import type { Result } from './errors.js';
import { protocolError } from './errors.js';
import { MAX_FRAME_BYTES } from './limits.js';
import { ServerType } from './message-types.js';
import { scanMessagePack } from './msgpack-scan.js';
import type { ClientLimits } from './validate.js';
import { parseClientMessage, parseServerMessage } from './validate.js';

/**
 * Plain MessagePack maps, as the Arthas clients expect: no msgpackr records, no structure
 * sharing, string keys. Integers above 32 bits (unix-ms timestamps) are written as int64, not
 * float64, so statically typed decoders (the Go CLI) read them as integers.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const INT32_MIN = -0x8000_0000;
const UINT32_MAX = 0xffff_ffff;

/** The value as it goes on the wire: big integers as BigInt (int64), maps without undefined. */
function wireValue(value: unknown): unknown {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && (value > UINT32_MAX || value < INT32_MIN)
      ? BigInt(value)
      : value;
  }
  if (Array.isArray(value)) return value.map(wireValue);
  if (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    return wireMap(value);
  }
  return value;
}

function wireMap(map: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(map) as [string, unknown][]) {
    if (value !== undefined) out[key] = wireValue(value);
  }
  return out;
}

/**
 * Encodes one message as a binary frame `{type, data}`. Undefined fields are left out, at any
 * depth. The result may be a view into a shared buffer: send the view, never its `.buffer`.
 */
export function encode(message: Message): Uint8Array {
  return packr.pack({ type: message.type, data: wireMap(message.data) });
}

/**
 * Decodes MessagePack bytes to an unchecked value. Never throws, and never does more than linear
 * work: the size is checked first, then a pre-scan ({@link scanMessagePack}) refuses extension
 * types, nesting deeper than `MAX_DECODE_DEPTH`, lengths past the end and trailing bytes before
 * msgpackr sees the frame.
 */
export function decodeFrame(
  bytes: Uint8Array,
  maxBytes: number = MAX_FRAME_BYTES,
): Result<unknown> {
  if (bytes.byteLength > maxBytes) {
    return {
      ok: false,
      error: protocolError('oversized_frame', `frame is larger than ${maxBytes} bytes`),
    };
  }
  const scan = scanMessagePack(bytes);
  if (!scan.ok) return { ok: false, error: protocolError(scan.reason, scan.message) };
  try {
    return { ok: true, value: unpackr.unpack(bytes) };
  } catch {
    // The scan admits only what msgpackr reads, so this is defence in depth. msgpackr's message
    // is not used: it may quote the input.
    return { ok: false, error: protocolError('undecodable', 'frame is not valid MessagePack') };
  }
}

/** Decodes and validates a frame sent by a client. Never throws. */
export function decodeClientMessage(
  bytes: Uint8Array,
  maxBytes: number = MAX_FRAME_BYTES,
  limits?: ClientLimits,
): Result<ClientMessage> {
  const frame = decodeFrame(bytes, maxBytes);
  return frame.ok ? parseClientMessage(frame.value, limits) : frame;
}

/** Decodes and validates a frame sent by a server. Never throws. */
export function decodeServerMessage(
  bytes: Uint8Array,
  maxBytes: number = Number.MAX_SAFE_INTEGER,
): Result<ServerMessage> {
  const frame = decodeFrame(bytes, maxBytes);
  return frame.ok ? parseServerMessage(frame.value) : frame;
}

/**
 * A RelayMessage or RelayReaction frame with the sender's sequence number added (feature
 * `gaps`), made from the frame other members receive. A frame of any other type comes back as
 * it is.
 */
export function withSequence(frame: Uint8Array, seq: number): Uint8Array {
  const decoded = decodeServerMessage(frame);
  if (!decoded.ok) return frame;
  const message = decoded.value;
  if (message.type !== ServerType.RelayMessage && message.type !== ServerType.RelayReaction) {
    return frame;
  }
  return encode({ type: message.type, data: { ...message.data, seq } });
}
