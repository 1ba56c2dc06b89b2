/**
 * The pre-scan: linear by construction (its steps are counted, not timed), it refuses exactly the
 * frames a decoder could be made to work super-linearly on, and it agrees with an independent
 * decoder (@msgpack/msgpack) on everything else.
 */
import { decode as referenceDecode, encode as referenceEncode, ExtData } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex } from './fixtures/bytes.js';
import {
  BINARY_CLIENT_SAMPLES,
  BINARY_SERVER_SAMPLES,
  CLIENT_SAMPLES,
  SERVER_SAMPLES,
} from './fixtures/messages.js';
import { hostileFrames, normalFrame } from './hostile-frames.js';
import { encode, MAX_DECODE_DEPTH, MAX_FRAME_BYTES, scanMessagePack } from './index.js';

/** The bound the scan promises: one step per token plus one per container, plus the last look. */
const stepBound = (bytes: Uint8Array) => 2 * bytes.length + 1;

const SCAN_REASONS = new Set(['undecodable', 'extension_type', 'too_deep']);

function nested(depth: number, leaf: number[] = [0x00]): Uint8Array {
  return Uint8Array.from([...new Array<number>(depth).fill(0x91), ...leaf]);
}

describe('scanMessagePack on the hostile corpus', () => {
  const corpus = hostileFrames();

  it.each(corpus.map((f) => [f.name, f] as const))(
    '%s: at most two steps per byte',
    (_, { bytes }) => {
      const { steps } = scanMessagePack(bytes);
      expect(steps).toBeLessThanOrEqual(stepBound(bytes));
    },
  );

  it.each(corpus.map((f) => [f.name, f] as const))(
    '%s: refused by the scan exactly when its reason is a decoding one',
    (_, { bytes, reason }) => {
      const scan = scanMessagePack(bytes);
      if (SCAN_REASONS.has(reason)) {
        expect(scan).toMatchObject({ ok: false, reason });
      } else {
        // Well-formed MessagePack, refused later by the validator; the work was still linear.
        expect(scan.ok).toBe(true);
      }
    },
  );

  it('holds every name once', () => {
    expect(new Set(corpus.map((f) => f.name)).size).toBe(corpus.length);
  });
});

describe('scanMessagePack', () => {
  const valid = [
    ...CLIENT_SAMPLES,
    ...BINARY_CLIENT_SAMPLES,
    ...SERVER_SAMPLES,
    ...BINARY_SERVER_SAMPLES,
  ].map((m) => encode(m));

  it('admits every message the library writes, in both directions', () => {
    for (const bytes of [...valid, normalFrame()]) {
      const scan = scanMessagePack(bytes);
      expect(scan.ok).toBe(true);
      expect(scan.steps).toBeLessThanOrEqual(stepBound(bytes));
    }
  });

  it('refuses an array header claiming 2^32 − 1 items in a 100-byte frame at its first step', () => {
    const frame = new Uint8Array(100);
    frame.set([0xdd, 0xff, 0xff, 0xff, 0xff]);
    expect(scanMessagePack(frame)).toMatchObject({ ok: false, reason: 'undecodable', steps: 1 });
  });

  it('counts a map entry as two values: a map16 of n entries needs 2n bytes after it', () => {
    const entries = 50;
    const full = Uint8Array.from([0xde, 0x00, entries, ...new Array<number>(2 * entries).fill(0)]);
    expect(scanMessagePack(full).ok).toBe(true);
    expect(scanMessagePack(full.subarray(0, full.length - 1))).toMatchObject({
      ok: false,
      reason: 'undecodable',
      steps: 1,
    });
  });

  it(`admits ${MAX_DECODE_DEPTH} levels of nesting and refuses ${MAX_DECODE_DEPTH + 1}`, () => {
    expect(scanMessagePack(nested(MAX_DECODE_DEPTH)).ok).toBe(true);
    expect(scanMessagePack(nested(MAX_DECODE_DEPTH + 1))).toMatchObject({
      ok: false,
      reason: 'too_deep',
    });
    // Empty containers open nothing, so they never count towards the depth.
    expect(scanMessagePack(nested(MAX_DECODE_DEPTH, [0x90])).ok).toBe(true);
    expect(scanMessagePack(nested(MAX_DECODE_DEPTH, [0x80])).ok).toBe(true);
  });

  it('honours a custom depth', () => {
    expect(scanMessagePack(nested(3), 3).ok).toBe(true);
    expect(scanMessagePack(nested(4), 3)).toMatchObject({ ok: false, reason: 'too_deep' });
  });

  it.each([
    ['fixext 1', 'd4 01 00'],
    ['fixext 2', 'd5 01 0000'],
    ['fixext 4 (timestamp 32)', 'd6 ff 00000000'],
    ['fixext 8 (timestamp 64)', 'd7 ff 0000000000000000'],
    ['fixext 16', 'd8 01 00000000000000000000000000000000'],
    ['ext 8 (timestamp 96)', 'c7 0c ff 000000000000000000000000'],
    ['ext 16', 'c8 0001 01 00'],
    ['ext 32', 'c9 00000001 01 00'],
    ['ext 8 of length 0', 'c7 00 01'],
  ])('refuses %s wherever it stands', (_, ext) => {
    for (const bytes of [fromHex(ext), fromHex('92 01', ext), fromHex('81 a1 78', ext)]) {
      expect(scanMessagePack(bytes)).toMatchObject({ ok: false, reason: 'extension_type' });
    }
  });

  it('refuses trailing bytes without reading past the value', () => {
    expect(scanMessagePack(fromHex('80 00'))).toMatchObject({
      ok: false,
      reason: 'undecodable',
      message: 'frame is not valid MessagePack: 1 bytes after the value',
    });
  });

  it.each([
    ['an empty frame', ''],
    ['the reserved byte 0xc1', 'c1'],
    ['a uint16 cut short', 'cd 01'],
    ['a float64 cut short', 'cb 00000000'],
    ['a str8 without its length', 'd9'],
    ['a bin32 without its length', 'c6 0000'],
    ['a map16 without its count', 'de 00'],
    ['a fixstr cut short', 'a3 6161'],
    ['an array missing its last item', '93 01 02'],
    ['a map missing a value', '82 a1 61 01 a1 62'],
  ])('refuses %s', (_, hex) => {
    expect(scanMessagePack(fromHex(hex))).toMatchObject({ ok: false, reason: 'undecodable' });
  });

  it('stays within two steps per byte for the widest and deepest frames that pass', () => {
    const nils = Uint8Array.from([0xdd, ...[0, 1, 0x86, 0x9b], ...new Array(99_995).fill(0xc0)]);
    const scan = scanMessagePack(nils);
    expect(scan.ok).toBe(true);
    expect(scan.steps).toBeLessThanOrEqual(stepBound(nils));
    // Empty arrays nested as deep as allowed, as many times as fit in a frame.
    const unit = [...new Array<number>(MAX_DECODE_DEPTH - 1).fill(0x91), 0x90];
    const count = Math.floor((MAX_FRAME_BYTES - 5) / unit.length);
    const towers = Uint8Array.from([0xdd, 0, 0, (count >> 8) & 0xff, count & 0xff]);
    const bytes = new Uint8Array(5 + count * unit.length);
    bytes.set(towers);
    for (let i = 0; i < count; i += 1) bytes.set(unit, 5 + i * unit.length);
    const deep = scanMessagePack(bytes, MAX_DECODE_DEPTH);
    expect(deep.ok).toBe(true);
    expect(deep.steps).toBeLessThanOrEqual(stepBound(bytes));
  });
});

/**
 * Nesting depth of a decoded value; an extension anywhere (ExtData, or a Date from the timestamp
 * extension) makes it Infinity, since the scan refuses those.
 */
function depthOf(value: unknown): number {
  if (value instanceof ExtData || value instanceof Date) return Infinity;
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value instanceof Map) {
    return 1 + Math.max(0, ...[...value].flatMap(([k, v]) => [depthOf(k), depthOf(v)]));
  }
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  }
  return 0;
}

/** @msgpack/msgpack's reading of the bytes: its depth, or undefined when it refuses them. */
function reference(bytes: Uint8Array): { depth: number } | { error: string } {
  try {
    return { depth: depthOf(referenceDecode(bytes, { useBigInt64: true })) };
  } catch (error) {
    return { error: String(error) };
  }
}

describe('scanMessagePack against an independent decoder', () => {
  /** Arbitrary bytes, biased towards container and extension headers and short lengths. */
  const tokenish = fc.array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0x90, 0x91, 0x92, 0x80, 0x81, 0xa1, 0xc0, 0xc1, 0xd4, 0xdc, 0xde, 0xc7),
    ),
    { maxLength: 64 },
  );

  it('admits what the reference decodes without extensions within the depth, and nothing else', () => {
    fc.assert(
      fc.property(tokenish, (numbers) => {
        const bytes = Uint8Array.from(numbers);
        const scan = scanMessagePack(bytes);
        expect(scan.steps).toBeLessThanOrEqual(stepBound(bytes));
        const theirs = reference(bytes);
        if ('depth' in theirs) {
          expect(scan.ok).toBe(theirs.depth <= MAX_DECODE_DEPTH);
        } else if (scan.ok) {
          // The one thing the reference refuses that is well-formed MessagePack: map keys
          // other than strings and numbers (the codec refuses those after decoding).
          expect(theirs.error).toMatch(/key/i);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('admits every value the reference encodes, within the depth', () => {
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.double(),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
        fc.string(),
        fc.uint8Array(),
        fc.array(tie('node'), { maxLength: 5 }),
        fc.dictionary(fc.string(), tie('node'), { maxKeys: 5 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const bytes = referenceEncode(v, { useBigInt64: true });
        const scan = scanMessagePack(bytes);
        expect(scan.ok).toBe(depthOf(v) <= MAX_DECODE_DEPTH);
        expect(scan.steps).toBeLessThanOrEqual(stepBound(bytes));
      }),
      { numRuns: 2_000 },
    );
  });
});
