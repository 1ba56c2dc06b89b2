/**
 * A corpus of pathological client frames: what a hostile client sends to make a relay's decoder
 * do super-linear work or run out of memory. Every frame must be answered with E005 after no more
 * than linear work; the protocol's unit tests, the relay's integration tests and `npm run bench`
 * (decode µs per byte) all use this one corpus.
 *
 * Not exported from the package index, so no client bundle carries it; it is built with the
 * library so that the benchmark (plain JavaScript on the built output) can import it.
 */
import { encode } from './codec.js';
import type { ProtocolErrorReason } from './errors.js';
import { MAX_FRAME_BYTES } from './limits.js';
import { ClientType } from './message-types.js';
import { MAX_DECODE_DEPTH } from './msgpack-scan.js';

export interface HostileFrame {
  /** Short, unique, stable: used in test titles and benchmark output. */
  readonly name: string;
  /** What the frame is and what it does to a decoder that trusts it. */
  readonly what: string;
  readonly bytes: Uint8Array;
  /** The E005 reason a client decoder must refuse it with. */
  readonly reason: ProtocolErrorReason;
}

type Bytes = readonly number[];

const u16 = (n: number): Bytes => [(n >>> 8) & 0xff, n & 0xff];
const u32 = (n: number): Bytes => [
  (n >>> 24) & 0xff,
  (n >>> 16) & 0xff,
  (n >>> 8) & 0xff,
  n & 0xff,
];

/** An ASCII string as fixstr or str8. */
function str(text: string): Bytes {
  const codes = [...text].map((c) => c.charCodeAt(0) & 0x7f);
  return codes.length < 32 ? [0xa0 | codes.length, ...codes] : [0xd9, codes.length, ...codes];
}

/** The envelope `{type, data: <data>}` with `data` given as raw MessagePack. */
function envelope(type: number, data: Bytes): Bytes {
  return [0x82, ...str('type'), type, ...str('data'), ...data];
}

/** A map of string keys to raw MessagePack values. */
function map(entries: readonly (readonly [string, Bytes])[]): Bytes {
  return [0x80 | entries.length, ...entries.flatMap(([key, value]) => [...str(key), ...value])];
}

const UINT64_MAX: Bytes = [0xcf, ...Array<number>(8).fill(0xff)];
const INT64_MIN: Bytes = [0xd3, 0x80, ...Array<number>(7).fill(0)];
/** 2^53 + 1, the first integer a float64 cannot hold. */
const UINT64_UNSAFE: Bytes = [0xcf, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01];

/** msgpackr's structured-clone extensions: 0x69 gives the next value an id, 0x70 points to one. */
const defineId = (id: number): Bytes => [0xd6, 0x69, ...u32(id)];
const pointTo = (id: number): Bytes => [0xd6, 0x70, ...u32(id)];

/**
 * `[leaf, [p0 × fan], [p1 × fan], …]`: level i is an array of `fan` pointers to level i − 1, so
 * the decoded value is a DAG whose last level has fan^levels leaves. Anything that walks it as a
 * tree (msgpackr's JSON view of the value in its trailing-bytes error) does exponential work.
 */
function referenceChain(levels: number, fan: number, leaf: Bytes): Bytes {
  const out: number[] = [0xdc, ...u16(levels + 1), ...defineId(0), ...leaf];
  for (let level = 1; level <= levels; level += 1) {
    out.push(...defineId(level), 0x90 | fan);
    for (let k = 0; k < fan; k += 1) out.push(...pointTo(level - 1));
  }
  return out;
}

const sendMessage = (extra: readonly (readonly [string, Bytes])[] = []): Bytes =>
  envelope(
    ClientType.SendMessage,
    map([['iv', str('AAECAwQFBgcICQoL')], ['ciphertext', str('SGVsbG8')], ...extra]),
  );

/** The extension header forms, each with a payload of `size` bytes. */
const EXT_FORMS: readonly { form: string; header: (type: number) => Bytes; size: number }[] = [
  { form: 'fixext1', header: (t) => [0xd4, t], size: 1 },
  { form: 'fixext2', header: (t) => [0xd5, t], size: 2 },
  { form: 'fixext4', header: (t) => [0xd6, t], size: 4 },
  { form: 'fixext8', header: (t) => [0xd7, t], size: 8 },
  { form: 'fixext16', header: (t) => [0xd8, t], size: 16 },
  { form: 'ext8', header: (t) => [0xc7, 12, t], size: 12 },
  { form: 'ext16', header: (t) => [0xc8, ...u16(12), t], size: 12 },
  { form: 'ext32', header: (t) => [0xc9, ...u32(12), t], size: 12 },
];

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

function frame(name: string, what: string, bytes: Bytes | Uint8Array, reason: ProtocolErrorReason) {
  return { name, what, bytes: Uint8Array.from(bytes), reason };
}

/** Valid frames followed by something: trailing bytes are refused without decoding the value. */
function trailing(): HostileFrame[] {
  const leave = [...encode({ type: ClientType.LeaveRoom, data: {} })];
  const send = [
    ...encode({ type: ClientType.SendMessage, data: { iv: 'AAEC', ciphertext: 'AAEC' } }),
  ];
  return [
    frame('trailing nil', 'a valid LeaveRoom and one byte more', [...leave, 0xc0], 'undecodable'),
    frame(
      'two frames in one',
      'a valid SendMessage twice in one WebSocket frame',
      [...send, ...send],
      'undecodable',
    ),
    frame(
      'trailing 64 KiB',
      'a valid SendMessage followed by 64 KiB of zeros',
      [...send, ...new Uint8Array(64 * 1024)],
      'undecodable',
    ),
  ];
}

function referenceChains(): HostileFrame[] {
  const chain = (levels: number, fan: number, leaf: Bytes) => referenceChain(levels, fan, leaf);
  return [
    frame(
      'reference chain',
      '13 levels of 4 pointers (67 million leaves) and a trailing byte: 414 bytes that froze msgpackr for seconds',
      [...chain(13, 4, [0x00]), 0xc0],
      'extension_type',
    ),
    frame(
      'reference chain, 2 per level',
      '26 levels of 2 pointers and a trailing byte, as in the report (doubling at every level)',
      [...chain(26, 2, [0x00]), 0xc0],
      'extension_type',
    ),
    frame(
      'reference chain without trailing bytes',
      'the same DAG as a whole frame: nothing serialises it, but it is still an extension',
      chain(13, 4, [0x00]),
      'extension_type',
    ),
    frame(
      'reference chain in a SendMessage',
      'a valid SendMessage carrying the chain in an unknown field, then a trailing byte',
      [...sendMessage([['x', chain(13, 4, [0x00])]]), 0xc0],
      'extension_type',
    ),
    frame(
      'reference chain, 16 KiB, uint64 leaf',
      'a 16 KiB SendMessage with a chain whose leaf is 2^64 − 1 (a bigint in the error message), then a trailing byte',
      [
        ...sendMessage([
          ['pad', [0xda, ...u16(16_000), ...new Array<number>(16_000).fill(0x41)]],
          ['x', chain(14, 4, UINT64_MAX)],
        ]),
        0xc0,
      ],
      'extension_type',
    ),
    frame(
      'reference cycle',
      'an array that contains a pointer to itself',
      [...defineId(7), 0x91, ...pointTo(7)],
      'extension_type',
    ),
  ];
}

function hugeLengths(): HostileFrame[] {
  const claims: readonly [string, Bytes][] = [
    ['str32', [0xdb, ...u32(0xffff_ffff)]],
    ['bin32', [0xc6, ...u32(0xffff_ffff)]],
    ['array32', [0xdd, ...u32(0xffff_ffff)]],
    ['map32', [0xdf, ...u32(0xffff_ffff)]],
    ['str16', [0xda, ...u16(0xffff)]],
    ['bin16', [0xc5, ...u16(0xffff)]],
    ['array16', [0xdc, ...u16(0xffff)]],
    ['map16', [0xde, ...u16(0xffff)]],
    ['str8', [0xd9, 0xff]],
    ['bin8', [0xc4, 0xff]],
  ];
  return claims.flatMap(([kind, header]) => [
    frame(
      `huge ${kind}`,
      `a ${kind} header claiming more than the frame holds`,
      header,
      'undecodable',
    ),
    frame(
      `huge ${kind} in a SendMessage`,
      `a SendMessage whose ciphertext is a ${kind} header claiming more than the frame holds`,
      envelope(
        ClientType.SendMessage,
        map([
          ['iv', str('AAEC')],
          ['ciphertext', [...header, 0x41, 0x41]],
        ]),
      ),
      'undecodable',
    ),
  ]);
}

function deepNesting(): HostileFrame[] {
  const arrays = new Uint8Array(MAX_FRAME_BYTES).fill(0x91);
  arrays[arrays.length - 1] = 0x00;
  const maps = new Uint8Array(MAX_FRAME_BYTES).map((_, i) => (i % 2 === 0 ? 0x81 : 0xa0));
  maps[maps.length - 1] = 0x00;
  const mixed = new Uint8Array(MAX_FRAME_BYTES).map((_, i) => [0x81, 0xa0, 0x91][i % 3] as number);
  mixed[mixed.length - 1] = 0x00;
  const justTooDeep = new Array<number>(MAX_DECODE_DEPTH - 1).fill(0x91);
  return [
    frame(
      'deep arrays',
      'arrays, each inside the last, to the end of a 100 KiB frame',
      arrays,
      'too_deep',
    ),
    frame(
      'deep maps',
      'maps nested through empty keys to the end of a 100 KiB frame',
      maps,
      'too_deep',
    ),
    frame(
      'deep maps and arrays',
      'maps and arrays alternating to the end of a 100 KiB frame',
      mixed,
      'too_deep',
    ),
    frame(
      'one level too deep',
      `a SendMessage whose data nests arrays to depth ${MAX_DECODE_DEPTH + 1}`,
      envelope(ClientType.SendMessage, map([['x', [...justTooDeep, 0x00]]])),
      'too_deep',
    ),
  ];
}

function largeIntegers(): HostileFrame[] {
  return [
    frame(
      'uint64 max type',
      'type 2^64 − 1 (uint64)',
      [0x82, ...str('type'), ...UINT64_MAX, ...str('data'), 0x80],
      'unknown_type',
    ),
    frame(
      'int64 min type',
      'type −2^63 (int64)',
      [0x82, ...str('type'), ...INT64_MIN, ...str('data'), 0x80],
      'unknown_type',
    ),
    frame(
      '2^53 + 1 type',
      'type 2^53 + 1 (uint64), past the safe integers',
      [0x82, ...str('type'), ...UINT64_UNSAFE, ...str('data'), 0x80],
      'unknown_type',
    ),
    frame(
      'uint64 max iv',
      'a SendMessage whose iv and ciphertext are 2^64 − 1',
      envelope(
        ClientType.SendMessage,
        map([
          ['iv', UINT64_MAX],
          ['ciphertext', UINT64_MAX],
        ]),
      ),
      'bad_field',
    ),
  ];
}

function wide(): HostileFrame[] {
  const nils = 90_000;
  const manyKeys = 11_000;
  const keys: number[] = [0xde, ...u16(manyKeys)];
  for (let i = 0; i < manyKeys; i += 1) keys.push(...str(`k${i}`), 0xc0);
  return [
    frame(
      'array of 90,000 nils as data',
      'the most values a frame can hold, each one byte: linear work, then refused by the validator',
      envelope(ClientType.SendMessage, [0xdd, ...u32(nils), ...new Array<number>(nils).fill(0xc0)]),
      'bad_envelope',
    ),
    frame(
      'map of 11,000 keys without type',
      'an envelope of 11,000 distinct keys and no type',
      keys,
      'bad_envelope',
    ),
    frame(
      'a map as a key',
      'a map key that is itself a map',
      [0x81, 0x81, 0xa0, 0x00, 0x00],
      'undecodable',
    ),
    frame(
      'an array as a key',
      'a map key that is an array',
      [0x81, 0x92, 0x01, 0x02, 0x00],
      'undecodable',
    ),
  ];
}

function malformed(): HostileFrame[] {
  return [
    frame('empty frame', 'no bytes at all', [], 'undecodable'),
    frame('reserved byte', 'the never-used byte 0xc1', [0xc1], 'undecodable'),
    frame(
      'reserved byte as data',
      'a SendMessage whose data is 0xc1',
      envelope(ClientType.SendMessage, [0xc1]),
      'undecodable',
    ),
    frame('truncated envelope', 'a map header and half a key', [0x82, 0xa4, 0x74], 'undecodable'),
  ];
}

/** Every extension type in fixext1 form, and every header form with the types that matter most. */
function extensions(): HostileFrame[] {
  const out: HostileFrame[] = [];
  for (let type = 0; type < 256; type += 1) {
    out.push(
      frame(
        `fixext1 type ${hex(type)}`,
        `extension type ${(type << 24) >> 24} (fixext 1) as the data of a SendMessage`,
        envelope(ClientType.SendMessage, [0xd4, type, 0x00]),
        'extension_type',
      ),
    );
  }
  for (const { form, header, size } of EXT_FORMS) {
    for (const [type, label] of [
      [0x69, 'msgpackr id'],
      [0x70, 'msgpackr pointer'],
      [0xff, 'timestamp'],
    ] as const) {
      out.push(
        frame(
          `${form} ${label}`,
          `a ${label} extension (type ${(type << 24) >> 24}) in ${form} form as the ciphertext of a SendMessage`,
          envelope(
            ClientType.SendMessage,
            map([
              ['iv', str('AAEC')],
              ['ciphertext', [...header(type), ...new Array<number>(size).fill(0)]],
            ]),
          ),
          'extension_type',
        ),
      );
    }
  }
  return out;
}

/** The whole corpus, in a stable order. Builds fresh bytes on every call. */
export function hostileFrames(): HostileFrame[] {
  return [
    ...referenceChains(),
    ...trailing(),
    ...hugeLengths(),
    ...deepNesting(),
    ...largeIntegers(),
    ...wide(),
    ...malformed(),
    ...extensions(),
  ];
}

/**
 * An ordinary SendMessage, for comparison: a 12-byte IV and a 128-byte ciphertext as base64url
 * strings, as Arthas clients send them.
 */
export function normalFrame(): Uint8Array {
  return encode({
    type: ClientType.SendMessage,
    data: { iv: 'AAECAwQFBgcICQoL', ciphertext: 'A'.repeat(171) },
  });
}
