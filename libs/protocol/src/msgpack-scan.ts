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

/**
 * Checks that `bytes` hold exactly one MessagePack value without extension types, nested at
 * most `maxDepth` maps and arrays deep, whose every declared length fits in the bytes that
 * follow it and whose map keys are scalars (what msgpackr can turn into property names). `steps` counts loop iterations: at most one per token plus one per container, so
 * never more than twice the frame length. Never throws.
 */
export function scanMessagePack(
  bytes: Uint8Array,
  maxDepth: number = MAX_DECODE_DEPTH,
): ScanResult {
  const end = bytes.length;
  // left[d]: values still to read in the open container at depth d; depth 0 holds the one root.
  const left = new Float64Array(maxDepth + 1);
  left[0] = 1;
  // inMap[d]: the container at depth d is a map, whose values alternate key, value, key…
  const inMap = new Uint8Array(maxDepth + 1);
  let depth = 0;
  let pos = 0;
  let steps = 0;

  const refuse = (reason: ScanRefusal, message: string): ScanResult => ({
    ok: false,
    reason,
    message,
    steps,
  });
  const truncated = () => refuse('undecodable', `frame is not valid MessagePack: it ends early`);

  /** Reads an unsigned big-endian integer of `size` bytes at `pos`, or -1 past the end. */
  const uint = (size: 1 | 2 | 4): number => {
    if (end - pos < size) return -1;
    let value = 0;
    for (let i = 0; i < size; i += 1) value = value * 256 + (bytes[pos + i] as number);
    pos += size;
    return value;
  };

  for (;;) {
    while (depth > 0 && left[depth] === 0) {
      depth -= 1;
      steps += 1;
    }
    if (left[depth] === 0) break;
    const isKey = inMap[depth] === 1 && (left[depth] as number) % 2 === 0;
    left[depth] = (left[depth] as number) - 1;
    steps += 1;
    if (pos >= end) return truncated();
    const at = pos;
    const token = bytes[pos++] as number;

    // Scalars of one byte: positive and negative fixint, nil, false, true.
    if (token <= 0x7f || token >= 0xe0 || token === 0xc0 || token === 0xc2 || token === 0xc3) {
      continue;
    }
    let skip = -1; // payload bytes to step over
    let items = -1; // values a container holds (a map holds two per entry)
    if (token <= 0x8f) items = (token & 0x0f) * 2;
    else if (token <= 0x9f) items = token & 0x0f;
    else if (token <= 0xbf) skip = token & 0x1f;
    else {
      switch (token) {
        case 0xc1:
          return refuse('undecodable', `frame is not valid MessagePack: reserved byte at ${at}`);
        case 0xc7:
        case 0xc8:
        case 0xc9:
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          return refuse(
            'extension_type',
            `frame holds a MessagePack extension at byte ${at}; clients may not send extensions`,
          );
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xc4:
        case 0xd9:
          skip = uint(1);
          break;
        case 0xc5:
        case 0xda:
          skip = uint(2);
          break;
        case 0xc6:
        case 0xdb:
          skip = uint(4);
          break;
        case 0xdc:
          items = uint(2);
          break;
        case 0xdd:
          items = uint(4);
          break;
        case 0xde: {
          const entries = uint(2);
          items = entries < 0 ? -1 : entries * 2;
          break;
        }
        case 0xdf: {
          const entries = uint(4);
          items = entries < 0 ? -1 : entries * 2;
          break;
        }
        default:
          // Every byte value is one of the cases above; this keeps the compiler honest.
          return refuse('undecodable', `frame is not valid MessagePack at byte ${at}`);
      }
      if (skip < 0 && items < 0) return truncated();
    }

    // msgpackr turns scalar keys into strings and throws on the others; refuse them here.
    if (isKey && (items >= 0 || token === 0xc4 || token === 0xc5 || token === 0xc6)) {
      return refuse('undecodable', `a map key at byte ${at} is a map, an array or binary`);
    }
    if (skip >= 0) {
      if (skip > end - pos) {
        return refuse(
          'undecodable',
          `frame is not valid MessagePack: a length at byte ${at} runs past the end`,
        );
      }
      pos += skip;
      continue;
    }
    // Every value takes at least one byte, so a count larger than what is left is a lie.
    if (items > end - pos) {
      return refuse(
        'undecodable',
        `frame is not valid MessagePack: a count at byte ${at} runs past the end`,
      );
    }
    if (items === 0) continue;
    if (depth === maxDepth) {
      return refuse('too_deep', `frame nests maps and arrays deeper than ${maxDepth} levels`);
    }
    depth += 1;
    left[depth] = items;
    inMap[depth] = token <= 0x8f || token === 0xde || token === 0xdf ? 1 : 0;
  }

  if (pos !== end) {
    return refuse(
      'undecodable',
      `frame is not valid MessagePack: ${end - pos} bytes after the value`,
    );
  }
  return { ok: true, steps };
}
