import { decode as referenceDecode, encode as referenceEncode } from '@msgpack/msgpack';
import { Unpackr } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromHex, indexOfBytes, plain, toHex } from './fixtures/bytes.js';
import {
  BINARY_CLIENT_SAMPLES,
  BINARY_SERVER_SAMPLES,
  CIPHERTEXT_B64,
  CLIENT_SAMPLES,
  IV_B64,
  IV_BIN,
  label,
  SERVER_SAMPLES,
  T,
} from './fixtures/messages.js';
import { hostileFrames } from './hostile-frames.js';
import type { ClientMessage, Message, ServerMessage } from './index.js';
import {
  ClientType,
  decodeClientMessage,
  decodeFrame,
  decodeServerMessage,
  encode,
  MAX_FILE_CHUNK_INDEX,
  MAX_FRAME_BYTES,
  ServerType,
} from './index.js';

const clientCases = (samples: ClientMessage[]) =>
  samples.map((message) => [label(message, ClientType), message] as const);
const serverCases = (samples: ServerMessage[]) =>
  samples.map((message) => [label(message, ServerType), message] as const);

/** The samples whose data carries a unix-ms `t` (a number above 2^32). */
const timestamped = [...CLIENT_SAMPLES, ...SERVER_SAMPLES].filter(
  (message): message is Message & { data: { t: number } } =>
    't' in message.data && message.data.t === T,
);

describe('the samples', () => {
  it('cover every client message type, in both opaque forms', () => {
    const ids = Object.values(ClientType).sort();
    expect([...new Set(CLIENT_SAMPLES.map((m) => m.type))].sort()).toEqual(ids);
    expect([...new Set(BINARY_CLIENT_SAMPLES.map((m) => m.type))].sort()).toEqual(ids);
  });

  it('cover every server message type, in both opaque forms', () => {
    const ids = Object.values(ServerType).sort();
    expect([...new Set(SERVER_SAMPLES.map((m) => m.type))].sort()).toEqual(ids);
    expect([...new Set(BINARY_SERVER_SAMPLES.map((m) => m.type))].sort()).toEqual(ids);
  });
});

describe.each([
  ['base64url strings', CLIENT_SAMPLES],
  ['binary', BINARY_CLIENT_SAMPLES],
])('client messages with opaque fields as %s', (_form, samples) => {
  it.each(clientCases(samples))('%s survives encode → decodeClientMessage unchanged', (_, m) => {
    const decoded = decodeClientMessage(encode(m));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(plain(decoded.value)).toStrictEqual(m);
  });

  it.each(clientCases(samples))('%s decodes to the plain map {type, data} generically', (_, m) => {
    expect(plain(referenceDecode(encode(m)))).toStrictEqual({ type: m.type, data: m.data });
  });

  it.each(clientCases(samples))('%s encoded by @msgpack/msgpack decodes to itself', (_, m) => {
    const decoded = decodeClientMessage(referenceEncode(m));
    expect(decoded.ok && plain(decoded.value)).toStrictEqual(m);
  });

  it.each(clientCases(samples))('%s is not accepted as a server message', (_, m) => {
    const decoded = decodeServerMessage(encode(m));
    expect(decoded).toMatchObject({ ok: false, error: { code: 'E005', reason: 'unknown_type' } });
  });
});

describe.each([
  ['base64url strings', SERVER_SAMPLES],
  ['binary', BINARY_SERVER_SAMPLES],
])('server messages with opaque fields as %s', (_form, samples) => {
  it.each(serverCases(samples))('%s survives encode → decodeServerMessage unchanged', (_, m) => {
    const decoded = decodeServerMessage(encode(m));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(plain(decoded.value)).toStrictEqual(m);
  });

  it.each(serverCases(samples))('%s decodes to the plain map {type, data} generically', (_, m) => {
    expect(plain(referenceDecode(encode(m)))).toStrictEqual({ type: m.type, data: m.data });
  });

  it.each(serverCases(samples))('%s encoded by @msgpack/msgpack decodes to itself', (_, m) => {
    const decoded = decodeServerMessage(referenceEncode(m));
    expect(decoded.ok && plain(decoded.value)).toStrictEqual(m);
  });

  it.each(serverCases(samples))('%s is not accepted as a client message', (_, m) => {
    const decoded = decodeClientMessage(encode(m));
    expect(decoded).toMatchObject({ ok: false, error: { code: 'E005', reason: 'unknown_type' } });
  });
});

describe('opaque fields', () => {
  it('keep their form: strings stay strings and binary stays binary', () => {
    const decoded = decodeClientMessage(
      encode({ type: ClientType.SendMessage, data: { iv: IV_B64, ciphertext: IV_BIN } }),
    );
    expect(decoded.ok && decoded.value.data).toStrictEqual({
      iv: expect.any(String),
      ciphertext: expect.any(Uint8Array),
    });
  });

  it('may mix forms within one message', () => {
    const message: ClientMessage = {
      type: ClientType.SendMessage,
      data: { iv: IV_BIN, ciphertext: CIPHERTEXT_B64 },
    };
    const decoded = decodeClientMessage(encode(message));
    expect(decoded.ok && plain(decoded.value)).toStrictEqual(message);
  });

  it('are written as msgpack bin (0xc4) when binary and str when text', () => {
    const bytes = encode({ type: ClientType.SendMessage, data: { iv: IV_BIN, ciphertext: 'x' } });
    expect(toHex(bytes)).toContain(`a26976c40c${toHex(IV_BIN)}`);
    expect(toHex(bytes)).toContain('aa63697068657274657874a178');
  });

  it('encode a Uint8Array view by its own bytes, not the whole underlying buffer', () => {
    const backing = Uint8Array.from({ length: 32 }, (_, i) => i);
    const view = backing.subarray(4, 16);
    const decoded = decodeClientMessage(
      encode({ type: ClientType.SendMessage, data: { iv: view, ciphertext: view } }),
    );
    expect(decoded.ok && plain(decoded.value.data)).toStrictEqual({
      iv: backing.slice(4, 16),
      ciphertext: backing.slice(4, 16),
    });
  });
});

describe('integers on the wire', () => {
  it.each(timestamped.map((m) => [label(m, { ...ClientType, ...ServerType }), m] as const))(
    '%s writes its unix-ms t as a 64-bit integer (0xd3/0xcf), never as float64 (0xcb)',
    (_, m) => {
      const bytes = encode(m);
      const key = indexOfBytes(bytes, fromHex('a1 74')); // fixstr "t"
      expect(key).toBeGreaterThan(0);
      expect([0xd3, 0xcf]).toContain(bytes[key + 2]);
      expect(toHex(bytes.subarray(key + 3, key + 11))).toBe('0000018bcfe5687b');
      expect(referenceDecode(bytes)).toMatchObject({ data: { t: T } });
    },
  );

  it('writes a Ping byte for byte as an Arthas Go client expects', () => {
    expect(toHex(encode({ type: ServerType.Ping, data: { t: T } }))).toBe(
      '82 a474797065 18 a464617461 81 a174 d30000018bcfe5687b'.replace(/ /g, ''),
    );
  });

  it('writes small integers in their shortest form and unix seconds as uint32 (0xce)', () => {
    const now = encode({ type: ServerType.RoomCreated, data: { roomId: 'r', expiresAt: 0 } });
    expect(toHex(now)).toBe('82a47479706510a46461746182a6726f6f6d4964a172a965787069726573417400');
    const later = encode({
      type: ServerType.Notice,
      data: { kind: 'expiring', msg: '', expiresAt: 1_700_604_800 },
    });
    expect(toHex(later)).toContain('a9657870697265734174ce655d2b80');
  });

  it('writes any top-level integer beyond 32 bits as int64, not only t', () => {
    const bytes = encode({
      type: ServerType.Notice,
      data: { kind: 'drain', msg: '', retryAfterMs: 2 ** 40 },
    });
    expect(toHex(bytes)).toContain('ac72657472794166746572' + '4d73' + 'd30000010000000000');
  });
});

describe('nested values on the wire', () => {
  it('writes integers beyond 32 bits inside nested maps as int64 too', () => {
    const bytes = encode({
      type: ServerType.Welcome,
      data: {
        version: 1,
        features: [],
        limits: {
          maxFrameBytes: 2 ** 33,
          maxRoomMembers: 50,
          nameMaxCodePoints: 20,
          maxExpirySeconds: 604_800,
          chatPerWindow: 10,
          windowMs: 10_000,
        },
      },
    });
    // "maxFrameBytes" (fixstr 13) then int64 2^33
    expect(toHex(bytes)).toContain('ad6d61784672616d654279746573d30000000200000000');
  });

  it('leaves out undefined fields of nested maps', () => {
    const member = { id: 'm', name: 'n', color: '#000000', nickname: undefined };
    const bytes = encode({ type: ServerType.MemberJoined, data: member });
    expect(referenceDecode(bytes)).toStrictEqual({
      type: ServerType.MemberJoined,
      data: { id: 'm', name: 'n', color: '#000000' },
    });
    const joined = encode({
      type: ServerType.RoomJoined,
      data: { roomId: 'r', members: [member], hasPassword: false, ephemeral: 0, expiresAt: 0 },
    });
    expect(referenceDecode(joined)).toMatchObject({
      data: { members: [{ id: 'm', name: 'n', color: '#000000' }] },
    });
    expect(toHex(joined)).not.toContain('d40000'); // msgpackr's "undefined" extension
  });
});

describe('encode', () => {
  it('writes the envelope as a two-entry map {type, data}', () => {
    expect(toHex(encode({ type: ClientType.LeaveRoom, data: {} }))).toBe(
      '82a47479706504a46461746180',
    );
  });

  it('writes SendMessage with base64url strings byte for byte', () => {
    expect(toHex(encode({ type: 3, data: { iv: IV_B64, ciphertext: CIPHERTEXT_B64 } }))).toBe(
      [
        '82 a474797065 03 a464617461 82',
        'a26976 b0 41414543417751464267634943516f4c',
        'aa63697068657274657874 b7 53475673624738675348567a614345 5f2d 7778797a3039',
      ]
        .join('')
        .replace(/ /g, ''),
    );
  });

  it('leaves out fields that are undefined instead of writing nil or an extension', () => {
    const message: ServerMessage = {
      type: ServerType.Notice,
      data: { kind: 'drain', msg: 'bye', retryAfterMs: 1_000, expiresAt: undefined },
    };
    expect(referenceDecode(encode(message))).toStrictEqual({
      type: ServerType.Notice,
      data: { kind: 'drain', msg: 'bye', retryAfterMs: 1_000 },
    });
  });

  it('returns frames that keep their bytes after later encodes', () => {
    const first = encode({ type: ServerType.Ping, data: { t: T } });
    const copy = Uint8Array.from(first);
    for (let i = 0; i < 2_000; i += 1) encode({ type: ServerType.Ping, data: { t: i } });
    expect(plain(first)).toStrictEqual(copy);
  });

  it('handles frames larger than its internal buffer', () => {
    const ciphertext = 'A'.repeat(90_000);
    const decoded = decodeClientMessage(encode({ type: 3, data: { iv: IV_B64, ciphertext } }));
    expect(decoded.ok && decoded.value.data).toStrictEqual({ iv: IV_B64, ciphertext });
  });
});

describe('frame size', () => {
  /** A valid SendMessage padded with an ignored field to exactly `size` bytes. */
  function frameOf(size: number): Uint8Array {
    const probe = (padding: number) =>
      referenceEncode({ type: 3, data: { iv: IV_B64, ciphertext: 'c', pad: 'p'.repeat(padding) } });
    const overhead = probe(70_000).length - 70_000;
    const frame = probe(size - overhead);
    expect(frame.length).toBe(size);
    return frame;
  }

  it(`accepts a client frame of exactly MAX_FRAME_BYTES (${MAX_FRAME_BYTES})`, () => {
    expect(decodeClientMessage(frameOf(MAX_FRAME_BYTES)).ok).toBe(true);
  });

  it('rejects a client frame one byte over MAX_FRAME_BYTES as oversized before decoding it', () => {
    expect(decodeClientMessage(frameOf(MAX_FRAME_BYTES + 1))).toMatchObject({
      ok: false,
      error: { code: 'E005', reason: 'oversized_frame' },
    });
    expect(decodeClientMessage(new Uint8Array(MAX_FRAME_BYTES + 1).fill(0xc1))).toMatchObject({
      ok: false,
      error: { code: 'E005', reason: 'oversized_frame' },
    });
  });

  it('honours a custom maxBytes in both directions', () => {
    const client = encode(CLIENT_SAMPLES[0]!);
    expect(decodeClientMessage(client, client.length).ok).toBe(true);
    expect(decodeClientMessage(client, client.length - 1)).toMatchObject({
      ok: false,
      error: { reason: 'oversized_frame' },
    });
    const server = encode(SERVER_SAMPLES[0]!);
    expect(decodeServerMessage(server, server.length).ok).toBe(true);
    expect(decodeServerMessage(server, server.length - 1)).toMatchObject({
      ok: false,
      error: { reason: 'oversized_frame' },
    });
  });

  it('puts no default bound on server frames (a relay may be configured looser)', () => {
    const big = referenceEncode({
      type: ServerType.RoomClosed,
      data: { reason: 'expired', pad: 'p'.repeat(4 * MAX_FRAME_BYTES) },
    });
    expect(decodeServerMessage(big)).toStrictEqual({
      ok: true,
      value: { type: ServerType.RoomClosed, data: { reason: 'expired' } },
    });
  });
});

describe('decodeFrame', () => {
  it('returns the unchecked value of any MessagePack frame', () => {
    expect(decodeFrame(fromHex('92 01 a1 78'))).toStrictEqual({ ok: true, value: [1, 'x'] });
  });

  it('decodes a frame that is a view into a larger buffer, as sockets may deliver it', () => {
    const frame = encode({ type: ServerType.Ping, data: { t: T } });
    const backing = new Uint8Array(frame.length + 7).fill(0xff);
    backing.set(frame, 5);
    const view = backing.subarray(5, 5 + frame.length);
    expect(decodeServerMessage(view)).toStrictEqual({
      ok: true,
      value: { type: ServerType.Ping, data: { t: T } },
    });
  });

  it('reports invalid MessagePack as E005 undecodable instead of throwing', () => {
    expect(decodeFrame(fromHex('82 a4'))).toStrictEqual({
      ok: false,
      error: {
        code: 'E005',
        reason: 'undecodable',
        message: 'frame is not valid MessagePack: a count at byte 0 runs past the end',
      },
    });
  });
});

describe('hostile frames', () => {
  const corpus = hostileFrames().map((f) => [f.name, f] as const);
  const refusedBeforeDecoding = new Set(['undecodable', 'extension_type', 'too_deep']);

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(corpus)('%s is refused with a typed E005', (_, { bytes, reason }) => {
    const decoded = decodeClientMessage(bytes);
    expect(decoded).toMatchObject({ ok: false, error: { code: 'E005', reason } });
  });

  it.each(corpus.filter(([, f]) => refusedBeforeDecoding.has(f.reason)))(
    '%s never reaches msgpackr',
    (_, { bytes }) => {
      const unpack = vi.spyOn(Unpackr.prototype, 'unpack');
      expect(decodeClientMessage(bytes).ok).toBe(false);
      expect(decodeServerMessage(bytes).ok).toBe(false);
      expect(unpack).not.toHaveBeenCalled();
    },
  );

  it('still reach msgpackr when they are well-formed (the spy is not blind)', () => {
    const unpack = vi.spyOn(Unpackr.prototype, 'unpack');
    decodeClientMessage(encode({ type: ClientType.LeaveRoom, data: {} }));
    expect(unpack).toHaveBeenCalledTimes(1);
  });

  it.each(corpus)('%s gets a short error message that quotes nothing of the frame', (_, f) => {
    const decoded = decodeClientMessage(f.bytes);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.error.message.length).toBeLessThan(100);
    if (refusedBeforeDecoding.has(f.reason)) {
      // The scan's messages name the rule and at most a byte offset, never content.
      expect(decoded.error.message).toMatch(
        /^(frame is not valid MessagePack|frame holds a MessagePack extension at byte \d+;|frame nests|a map key at byte \d+ is)[^"[{]*$/,
      );
    }
  });
});

describe('large integers', () => {
  const u64max = 'cf ffffffffffffffff';
  const i64min = 'd3 8000000000000000';
  const unsafe = 'cf 0020000000000001'; // 2^53 + 1

  it('decode as plain numbers, never as BigInt, in ignored fields too', () => {
    for (const big of [u64max, i64min, unsafe]) {
      const bytes = fromHex(
        '82 a4 74797065 03 a4 64617461 83',
        'a2 6976 a4 41414543',
        'aa 63697068657274657874 a4 41414543',
        'a1 78',
        big,
      );
      expect(decodeClientMessage(bytes)).toStrictEqual({
        ok: true,
        value: { type: ClientType.SendMessage, data: { iv: 'AAEC', ciphertext: 'AAEC' } },
      });
      const raw = decodeFrame(bytes);
      expect(raw.ok && typeof (raw.value as { data: { x: unknown } }).data.x).toBe('number');
    }
  });

  it('as a type id are an unknown type, reported with a number', () => {
    for (const big of [u64max, i64min, unsafe]) {
      const decoded = decodeClientMessage(fromHex('82 a4 74797065', big, 'a4 64617461 80'));
      expect(decoded).toMatchObject({ ok: false, error: { reason: 'unknown_type' } });
      expect(!decoded.ok && typeof decoded.error.type).toBe('number');
    }
  });

  it('where an integer field is expected are read as plain numbers, then clamped or refused', () => {
    for (const big of [u64max, i64min, unsafe]) {
      const chunk = fromHex(
        '82 a4 74797065 09 a4 64617461 84',
        'aa 7472616e736665724964 a1 74',
        'a5 696e646578',
        big,
        'a2 6976 a4 41414543',
        'a4 64617461 a4 41414543',
      );
      const decoded = decodeClientMessage(chunk);
      if (decoded.ok) {
        // The client reader is lenient (as the Arthas server): out of range is clamped.
        const { index } = decoded.value.data as { index: number };
        expect(Number.isSafeInteger(index)).toBe(true);
        expect(index >= 0 && index <= MAX_FILE_CHUNK_INDEX).toBe(true);
      } else {
        expect(decoded.error).toMatchObject({ code: 'E005', reason: 'bad_field' });
      }
      // The server reader is strict: the same chunk as relayed, valid but for its index.
      const relayed = fromHex(
        '82 a4 74797065 1b a4 64617461 85',
        'a8 73656e6465724964 a1 73',
        'aa 7472616e736665724964 a1 74',
        'a5 696e646578',
        big,
        'a2 6976 a4 41414543',
        'a4 64617461 a4 41414543',
      );
      expect(decodeServerMessage(relayed)).toMatchObject({
        ok: false,
        error: { code: 'E005', reason: 'bad_field', message: expect.stringContaining('"index"') },
      });
    }
  });
});
