/**
 * A linear pre-scan of MessagePack bytes, run before any decoder sees a frame.
 *
 * It walks the token headers once, never reading string or binary payloads, and refuses what a
 * decoder could be made to spend super-linear time or memory on: extension types (msgpackr's
 * shared-reference extensions 0x69/0x70 build a DAG that doubles at every level), lengths and
 * element counts the remaining bytes cannot hold, nesting past a small depth, and bytes after
 * the value (msgpackr would serialise the whole decoded value into its error message).
 */
import type { ProtocolErrorReason } from './errors.js';

/**
 * Deepest nesting of maps and arrays a frame may have. Arthas and Hush frames nest at most 4 deep
 * (envelope → data → members array → member map); the room is for extensions.
 */
export const MAX_DECODE_DEPTH = 16;

/** Why the scan refused a frame. */
export type ScanRefusal = Extract<
  ProtocolErrorReason,
  'undecodable' | 'extension_type' | 'too_deep'
>;

export type ScanResult =
  | { readonly ok: true; readonly steps: number }
  | {
      readonly ok: false;
      readonly reason: ScanRefusal;
      readonly message: string;
      readonly steps: number;
    };

/** Token classes of the 256 header bytes, for the scan's one switch. */
const SCALAR = 0; // the header is the whole value
const FIXED = 1; // a fixed number of payload bytes follows (FIXED_SIZE)
const SIZED = 2; // str or bin: a length of LENGTH_WIDTH bytes, then that many bytes
const ARRAY = 3; // a count of LENGTH_WIDTH bytes (0: in the header), then that many values
const MAP = 4; // the same, two values per entry
const EXT = 5;
const RESERVED = 6;

const CLASS = new Uint8Array(256);
const FIXED_SIZE = new Uint8Array(256);
const LENGTH_WIDTH = new Uint8Array(256);
const BIN = new Uint8Array(256);
for (let token = 0; token < 256; token += 1) {
  if (token >= 0x80 && token <= 0x8f) CLASS[token] = MAP;
  else if (token >= 0x90 && token <= 0x9f) CLASS[token] = ARRAY;
  else if (token >= 0xa0 && token <= 0xbf) {
    CLASS[token] = FIXED;
    FIXED_SIZE[token] = token & 0x1f;
  }
}
CLASS[0xc1] = RESERVED;
for (const token of [0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]) CLASS[token] = EXT;
for (const [token, size] of [
  [0xcc, 1],
  [0xd0, 1],
  [0xcd, 2],
  [0xd1, 2],
  [0xca, 4],
  [0xce, 4],
  [0xd2, 4],
  [0xcb, 8],
  [0xcf, 8],
  [0xd3, 8],
] as const) {
  CLASS[token] = FIXED;
  FIXED_SIZE[token] = size;
}
for (const [token, width] of [
  [0xc4, 1],
  [0xc5, 2],
  [0xc6, 4],
  [0xd9, 1],
  [0xda, 2],
  [0xdb, 4],
] as const) {
  CLASS[token] = SIZED;
  LENGTH_WIDTH[token] = width;
  BIN[token] = token <= 0xc6 ? 1 : 0;
}
for (const [token, width] of [
  [0xdc, 2],
  [0xdd, 4],
] as const) {
  CLASS[token] = ARRAY;
  LENGTH_WIDTH[token] = width;
}
for (const [token, width] of [
  [0xde, 2],
  [0xdf, 4],
] as const) {
  CLASS[token] = MAP;
  LENGTH_WIDTH[token] = width;
}

/** Scratch stacks, reused by every scan (scans never overlap: they are synchronous). */
let left = new Float64Array(MAX_DECODE_DEPTH + 1);
let inMap = new Uint8Array(MAX_DECODE_DEPTH + 1);

function refusal(reason: ScanRefusal, message: string, steps: number): ScanResult {
  return { ok: false, reason, message, steps };
}

/**
 * Checks that `bytes` hold exactly one MessagePack value without extension types, nested at
 * most `maxDepth` maps and arrays deep, whose every declared length fits in the bytes that
 * follow it and whose map keys are scalars (what msgpackr can turn into property names).
 * `steps` counts loop iterations: at most one per token plus one per container, so never more
 * than twice the frame length. Never throws.
 */
export function scanMessagePack(
  bytes: Uint8Array,
  maxDepth: number = MAX_DECODE_DEPTH,
): ScanResult {
  if (left.length <= maxDepth) {
    left = new Float64Array(maxDepth + 1);
    inMap = new Uint8Array(maxDepth + 1);
  }
  const end = bytes.length;
  // left[d]: values still to read in the open container at depth d; depth 0 holds the one root.
  // inMap[d]: that container is a map, whose values alternate key, value, key…
  left[0] = 1;
  inMap[0] = 0;
  let depth = 0;
  let pos = 0;
  let steps = 0;

  for (;;) {
    while (depth > 0 && left[depth] === 0) {
      depth -= 1;
      steps += 1;
    }
    const remaining = left[depth] as number;
    if (remaining === 0) break;
    left[depth] = remaining - 1;
    steps += 1;
    if (pos >= end) {
      return refusal('undecodable', 'frame is not valid MessagePack: it ends early', steps);
    }
    const at = pos;
    const token = bytes[pos++] as number;
    const kind = CLASS[token] as number;
    if (kind === SCALAR) continue;
    if (kind === EXT) {
      return refusal(
        'extension_type',
        `frame holds a MessagePack extension at byte ${at}; clients may not send extensions`,
        steps,
      );
    }
    if (kind === RESERVED) {
      return refusal(
        'undecodable',
        `frame is not valid MessagePack: reserved byte at ${at}`,
        steps,
      );
    }
    // A count or length in the header's next 1, 2 or 4 bytes (big-endian).
    let length = 0;
    const width = LENGTH_WIDTH[token] as number;
    if (width > 0) {
      if (end - pos < width) {
        return refusal('undecodable', 'frame is not valid MessagePack: it ends early', steps);
      }
      for (let i = 0; i < width; i += 1) length = length * 256 + (bytes[pos + i] as number);
      pos += width;
    }
    // msgpackr turns scalar keys into strings and throws on the others; refuse them here.
    const isKey = inMap[depth] === 1 && remaining % 2 === 0;
    if (isKey && (kind === ARRAY || kind === MAP || BIN[token] === 1)) {
      return refusal('undecodable', `a map key at byte ${at} is a map, an array or binary`, steps);
    }
    if (kind === FIXED || kind === SIZED) {
      const skip = kind === FIXED ? (FIXED_SIZE[token] as number) : length;
      if (skip > end - pos) {
        return refusal(
          'undecodable',
          `frame is not valid MessagePack: a length at byte ${at} runs past the end`,
          steps,
        );
      }
      pos += skip;
      continue;
    }
    // ARRAY or MAP. Every value takes at least one byte, so a count larger than what is left is
    // a lie, refused before anything is allocated for it.
    if (width === 0) length = token & 0x0f;
    const items = kind === MAP ? length * 2 : length;
    if (items > end - pos) {
      return refusal(
        'undecodable',
        `frame is not valid MessagePack: a count at byte ${at} runs past the end`,
        steps,
      );
    }
    if (items === 0) continue;
    if (depth === maxDepth) {
      return refusal(
        'too_deep',
        `frame nests maps and arrays deeper than ${maxDepth} levels`,
        steps,
      );
    }
    depth += 1;
    left[depth] = items;
    inMap[depth] = kind === MAP ? 1 : 0;
  }

  if (pos !== end) {
    return refusal(
      'undecodable',
      `frame is not valid MessagePack: ${end - pos} bytes after the value`,
      steps,
    );
  }
  return { ok: true, steps };
}
