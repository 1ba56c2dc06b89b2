/**
 * Hostile and malformed input. Every rejection is Error E005 with a precise `reason`; nothing
 * throws. Frames are built with an independent encoder (@msgpack/msgpack) or by hand.
 */
import { encode as referenceEncode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { ascii, fromHex } from './fixtures/bytes.js';
import {
  CIPHERTEXT_B64,
  CLIENT_SAMPLES,
  IV_B64,
  label,
  PASSWORD_HASH,
  REQUIRED_CLIENT_FIELDS,
  REQUIRED_SERVER_FIELDS,
  ROOM_ID,
  SERVER_SAMPLES,
} from './fixtures/messages.js';
import type { ProtocolErrorReason } from './index.js';
import {
  ClientType,
  decodeClientMessage,
  decodeServerMessage,
  encode,
  MAX_EPHEMERAL_SECONDS,
  MAX_CLIENT_NAME_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_EXPIRY_SECONDS,
  MAX_FEATURE_LENGTH,
  MAX_FEATURES,
  MAX_FILE_CHUNK_INDEX,
  MAX_PASSWORD_LENGTH,
  MAX_ROOM_ID_LENGTH,
  MAX_FRAME_BYTES,
  MAX_IV_LENGTH,
  MAX_REACTION_CIPHERTEXT_LENGTH,
  MAX_TRANSFER_ID_LENGTH,
  MAX_TYPING_CIPHERTEXT_LENGTH,
  parseClientMessage,
  parseServerMessage,
  ServerType,
} from './index.js';

const frame = (value: unknown): Uint8Array => referenceEncode(value);

function rejection(reason: ProtocolErrorReason, type?: number) {
  const error = { code: 'E005', reason, message: expect.any(String) };
  return { ok: false, error: type === undefined ? error : { ...error, type } };
}

/** The client frame `{type, data}` is rejected for `reason`. */
function expectClientRejects(type: number, data: unknown, reason: ProtocolErrorReason): void {
  expect(decodeClientMessage(frame({ type, data }))).toStrictEqual(rejection(reason, type));
}

function expectServerRejects(type: number, data: unknown, reason: ProtocolErrorReason): void {
  expect(decodeServerMessage(frame({ type, data }))).toStrictEqual(rejection(reason, type));
}

const sendMessage = { iv: IV_B64, ciphertext: CIPHERTEXT_B64 };
const createRoom = { name: 'Alice', password: '', ephemeral: 0, expiry: 0 };
const joinRoom = { roomId: ROOM_ID, name: 'Bob', password: '' };

describe('frames that are not MessagePack', () => {
  it.each([
    ['JSON text', '{"type":3,"data":{"iv":"AAEC","ciphertext":"AAEC"}}'],
    ['an HTTP request line', 'GET /ws HTTP/1.1\r\n'],
    ['a chat line', 'hello everyone'],
  ])('rejects %s sent as bytes as undecodable', (_, text) => {
    expect(decodeClientMessage(ascii(text))).toStrictEqual(rejection('undecodable'));
    expect(decodeServerMessage(ascii(text))).toStrictEqual(rejection('undecodable'));
  });

  it('rejects an empty frame as undecodable', () => {
    expect(decodeClientMessage(new Uint8Array())).toStrictEqual(rejection('undecodable'));
  });

  it('rejects every truncation of a valid frame as undecodable', () => {
    const whole = encode({ type: ClientType.SendMessage, data: sendMessage });
    for (let length = 0; length < whole.length; length += 1) {
      expect(decodeClientMessage(whole.subarray(0, length))).toStrictEqual(
        rejection('undecodable'),
      );
    }
  });

  it('rejects trailing bytes after the map, even a second whole frame, as undecodable', () => {
    const one = encode({ type: ClientType.LeaveRoom, data: {} });
    expect(decodeClientMessage(Uint8Array.from([...one, 0x00]))).toStrictEqual(
      rejection('undecodable'),
    );
    expect(decodeClientMessage(Uint8Array.from([...one, ...one]))).toStrictEqual(
      rejection('undecodable'),
    );
  });

  it('rejects a string whose declared length runs past the frame as undecodable', () => {
    expect(decodeClientMessage(fromHex('82 a4 74797065 03 a4 64617461 db ffffffff 41'))).toEqual(
      rejection('undecodable'),
    );
  });

  it('rejects frames nested a hundred thousand levels deep, and keeps decoding afterwards', () => {
    const arrays = new Uint8Array(MAX_FRAME_BYTES).fill(0x91); // [[[[…
    const maps = new Uint8Array(MAX_FRAME_BYTES).map((_, i) => (i % 2 === 0 ? 0x81 : 0xa0)); // {"": {"": …
    for (const deep of [arrays, maps]) {
      deep[deep.length - 1] = 0x00;
      expect(decodeClientMessage(deep)).toStrictEqual(rejection('too_deep'));
    }
    const pong = encode({ type: ClientType.Pong, data: { t: 1 } });
    expect(decodeClientMessage(pong)).toStrictEqual({
      ok: true,
      value: { type: ClientType.Pong, data: { t: 1 } },
    });
  });

  it('rejects any extension type, known or not, before decoding', () => {
    expect(decodeClientMessage(fromHex('82 a4 74797065 03 a4 64617461 d4 05 00'))).toEqual(
      rejection('extension_type'),
    );
  });

  it('never accepts the reserved byte 0xc1 as a value', () => {
    expect(decodeClientMessage(fromHex('c1'))).toStrictEqual(rejection('undecodable'));
    const iv = fromHex('82 a4 74797065 03 a4 64617461 82 a2 6976 c1 aa 63697068657274657874 a1 41');
    expect(decodeClientMessage(iv)).toStrictEqual(rejection('undecodable'));
  });
});

describe('the envelope {type, data}', () => {
  it.each([
    ['an array', [3, {}]],
    ['a string', 'type'],
    ['a number', 3],
    ['nil', null],
    ['a boolean', true],
    ['binary', new Uint8Array([0x82])],
  ])('must be a map, not %s', (_, value) => {
    expect(decodeClientMessage(frame(value))).toStrictEqual(rejection('bad_envelope'));
    expect(decodeServerMessage(frame(value))).toStrictEqual(rejection('bad_envelope'));
  });

  it('is never a timestamp extension, nor holds one: extensions are refused before decoding', () => {
    for (const value of [new Date(0), { type: ClientType.SendMessage, data: new Date(0) }]) {
      expect(decodeClientMessage(frame(value))).toStrictEqual(rejection('extension_type'));
      expect(decodeServerMessage(frame(value))).toStrictEqual(rejection('extension_type'));
    }
  });

  it('must have a type', () => {
    expect(decodeClientMessage(frame({ data: {} }))).toStrictEqual(rejection('bad_envelope'));
    expect(decodeClientMessage(frame({ typ: 4, data: {} }))).toStrictEqual(
      rejection('bad_envelope'),
    );
  });

  it.each([
    ['a float', 3.5],
    ['a numeric string', '3'],
    ['a boolean', true],
    ['nil', null],
    ['an array', [3]],
  ])('must have an integer type, not %s', (_, type) => {
    expect(decodeClientMessage(frame({ type, data: sendMessage }))).toStrictEqual(
      rejection('bad_envelope'),
    );
  });

  it.each([
    ['0x00', 0x00],
    ['0x0d, just past the client range', 0x0d],
    ['0x3f, just below the extension range', 0x3f],
    ['0x7f, an unassigned extension id', 0x7f],
    ['0x80, past the extension range', 0x80],
    ['-1', -1],
    ['2^32', 2 ** 32],
    ['0x10 RoomCreated, a server id', ServerType.RoomCreated],
    ['0x17 Error, a server id', ServerType.Error],
    ['0x41 Welcome, a server extension id', ServerType.Welcome],
  ])('rejects the client message type %s as unknown', (_, type) => {
    expect(decodeClientMessage(frame({ type, data: {} }))).toStrictEqual(
      rejection('unknown_type', type),
    );
  });

  it.each([
    ['0x00', 0x00],
    ['0x0f, just below the server range', 0x0f],
    ['0x1f, just past the server range', 0x1f],
    ['0x43, an unassigned extension id', 0x43],
    ['0x80', 0x80],
    ['0x01 CreateRoom, a client id', ClientType.CreateRoom],
    ['0x03 SendMessage, a client id', ClientType.SendMessage],
    ['0x40 Hello, a client extension id', ClientType.Hello],
  ])('rejects the server message type %s as unknown', (_, type) => {
    expect(decodeServerMessage(frame({ type, data: {} }))).toStrictEqual(
      rejection('unknown_type', type),
    );
  });

  it('reports an unknown type before looking at the data', () => {
    expect(decodeClientMessage(frame({ type: 0x0d }))).toStrictEqual(
      rejection('unknown_type', 0x0d),
    );
    expect(decodeServerMessage(frame({ type: 0x1f, data: 'x' }))).toStrictEqual(
      rejection('unknown_type', 0x1f),
    );
  });

  it.each([
    ['an array', [IV_B64, CIPHERTEXT_B64]],
    ['a string', 'data'],
    ['binary', new Uint8Array([0x80])],
    ['a number', 0],
    ['nil', null],
  ])('must carry data as a map, not %s', (_, data) => {
    expectClientRejects(ClientType.SendMessage, data, 'bad_envelope');
    expectServerRejects(ServerType.MemberLeft, data, 'bad_envelope');
  });

  it('must carry data, except for LeaveRoom', () => {
    expect(decodeClientMessage(frame({ type: ClientType.SendMessage }))).toStrictEqual(
      rejection('bad_envelope', ClientType.SendMessage),
    );
    expect(decodeClientMessage(frame({ type: ClientType.LeaveRoom }))).toStrictEqual({
      ok: true,
      value: { type: ClientType.LeaveRoom, data: {} },
    });
    expect(decodeClientMessage(frame({ type: ClientType.LeaveRoom, data: null }))).toStrictEqual({
      ok: true,
      value: { type: ClientType.LeaveRoom, data: {} },
    });
  });

  it('accepts nil data for no server message', () => {
    for (const type of Object.values(ServerType)) {
      expectServerRejects(type, null, 'bad_envelope');
    }
  });

  it('accepts LeaveRoom and Pong with any data, which the Arthas server never reads', () => {
    for (const data of [[], '', 7, new Uint8Array([1])]) {
      expect(decodeClientMessage(frame({ type: ClientType.LeaveRoom, data }))).toStrictEqual({
        ok: true,
        value: { type: ClientType.LeaveRoom, data: {} },
      });
      expect(decodeClientMessage(frame({ type: ClientType.Pong, data }))).toStrictEqual({
        ok: true,
        value: { type: ClientType.Pong, data: {} },
      });
    }
  });
});

describe('required fields', () => {
  const firstOfEachType = <T extends { type: number }>(samples: T[]) =>
    samples.filter((m, i) => samples.findIndex((n) => n.type === m.type) === i);

  const clientCases = firstOfEachType(CLIENT_SAMPLES).flatMap((message) =>
    (REQUIRED_CLIENT_FIELDS[message.type] ?? []).map(
      (field) => [label(message, ClientType), field, message] as const,
    ),
  );
  const serverCases = firstOfEachType(SERVER_SAMPLES).flatMap((message) =>
    (REQUIRED_SERVER_FIELDS[message.type] ?? []).map(
      (field) => [label(message, ServerType), field, message] as const,
    ),
  );

  it('are listed for every message type but Typing, LeaveRoom and Pong', () => {
    const optionalOnly: number[] = [ClientType.Typing, ClientType.LeaveRoom, ClientType.Pong];
    expect(Object.keys(REQUIRED_CLIENT_FIELDS).map(Number).sort()).toEqual(
      Object.values(ClientType)
        .filter((t) => !optionalOnly.includes(t))
        .sort(),
    );
    expect(Object.keys(REQUIRED_SERVER_FIELDS).map(Number).sort()).toEqual(
      Object.values(ServerType).sort(),
    );
  });

  it.each(clientCases)('%s without "%s" is rejected as bad_field', (_, field, message) => {
    const data: Record<string, unknown> = { ...message.data };
    delete data[field];
    expectClientRejects(message.type, data, 'bad_field');
    const result = decodeClientMessage(frame({ type: message.type, data }));
    expect(!result.ok && result.error.message).toContain(`"${field}"`);
  });

  it.each(clientCases)('%s with "%s" set to nil is rejected as bad_field', (_, field, message) => {
    expectClientRejects(message.type, { ...message.data, [field]: null }, 'bad_field');
  });

  it.each(serverCases)('%s without "%s" is rejected as bad_field', (_, field, message) => {
    const data: Record<string, unknown> = { ...message.data };
    delete data[field];
    expectServerRejects(message.type, data, 'bad_field');
  });

  it('include every field of each member in RoomJoined', () => {
    for (const field of ['id', 'name', 'color']) {
      const member: Record<string, unknown> = { id: 'm', name: 'n', color: '#000000' };
      delete member[field];
      expectServerRejects(
        ServerType.RoomJoined,
        { roomId: ROOM_ID, members: [member], hasPassword: false, ephemeral: 0, expiresAt: 0 },
        'bad_field',
      );
    }
  });

  it('include every limit in Welcome', () => {
    const limits = {
      maxFrameBytes: 1,
      maxRoomMembers: 1,
      nameMaxCodePoints: 1,
      maxExpirySeconds: 1,
      chatPerWindow: 1,
      windowMs: 1,
    };
    for (const field of Object.keys(limits)) {
      const partial: Record<string, unknown> = { ...limits };
      delete partial[field];
      expectServerRejects(
        ServerType.Welcome,
        { version: 1, features: [], limits: partial },
        'bad_field',
      );
    }
  });
});

describe('field types', () => {
  it.each([
    ['CreateRoom name as a number', ClientType.CreateRoom, { ...createRoom, name: 5 }],
    ['JoinRoom name as binary', ClientType.JoinRoom, { ...joinRoom, name: ascii('Bob') }],
    ['SendMessage iv as a number', ClientType.SendMessage, { ...sendMessage, iv: 12 }],
    ['SendMessage iv as a boolean', ClientType.SendMessage, { ...sendMessage, iv: true }],
    ['SendMessage iv as an array', ClientType.SendMessage, { ...sendMessage, iv: [1, 2] }],
    ['SendMessage ciphertext as a map', ClientType.SendMessage, { ...sendMessage, ciphertext: {} }],
    ['SendMessage iv empty', ClientType.SendMessage, { ...sendMessage, iv: '' }],
    [
      'SendMessage ciphertext empty binary',
      ClientType.SendMessage,
      {
        ...sendMessage,
        ciphertext: new Uint8Array(),
      },
    ],
    ['SendFileComplete transferId as a number', ClientType.SendFileComplete, { transferId: 1 }],
    ['SendFileCancel transferId empty', ClientType.SendFileCancel, { transferId: '' }],
    ['Hello version as a string', ClientType.Hello, { version: '1', features: [] }],
    ['Hello version past 16 bits', ClientType.Hello, { version: 0x10000, features: [] }],
    ['Hello features as a string', ClientType.Hello, { version: 1, features: 'notices' }],
    ['Hello features holding a number', ClientType.Hello, { version: 1, features: [1] }],
    ['Hello client as a number', ClientType.Hello, { version: 1, features: [], client: 1 }],
  ])('rejects %s as bad_field', (_, type, data) => {
    expectClientRejects(type, data, 'bad_field');
  });

  const roomJoined = {
    roomId: ROOM_ID,
    members: [{ id: 'm', name: 'n', color: '#000000' }],
    hasPassword: false,
    ephemeral: 0,
    expiresAt: 0,
  };
  const limits = {
    maxFrameBytes: 1,
    maxRoomMembers: 1,
    nameMaxCodePoints: 1,
    maxExpirySeconds: 1,
    chatPerWindow: 1,
    windowMs: 1,
  };

  it.each([
    [
      'RoomCreated expiresAt as a float',
      ServerType.RoomCreated,
      { roomId: ROOM_ID, expiresAt: 0.5 },
    ],
    ['RoomJoined members as a map', ServerType.RoomJoined, { ...roomJoined, members: {} }],
    [
      'RoomJoined members holding a string',
      ServerType.RoomJoined,
      { ...roomJoined, members: ['m'] },
    ],
    [
      'RoomJoined member colour by name',
      ServerType.RoomJoined,
      {
        ...roomJoined,
        members: [{ id: 'm', name: 'n', color: 'red' }],
      },
    ],
    [
      'RoomJoined hasPassword as a number',
      ServerType.RoomJoined,
      { ...roomJoined, hasPassword: 1 },
    ],
    ['MemberTyping typing as a string', ServerType.MemberTyping, { id: 'm', typing: 'yes' }],
    [
      'RelayMessage t as a string',
      ServerType.RelayMessage,
      {
        senderId: 'm',
        senderName: 'n',
        ...sendMessage,
        t: '1',
      },
    ],
    ['Error with an unknown code', ServerType.Error, { code: 'E999', msg: '' }],
    ['Error code as a number', ServerType.Error, { code: 5, msg: '' }],
    ['Welcome limits as an array', ServerType.Welcome, { version: 1, features: [], limits: [] }],
    [
      'Welcome limit negative',
      ServerType.Welcome,
      {
        version: 1,
        features: [],
        limits: { ...limits, windowMs: -1 },
      },
    ],
    ['Notice of an unknown kind', ServerType.Notice, { kind: 'party', msg: '' }],
    [
      'Notice retryAfterMs as a string',
      ServerType.Notice,
      {
        kind: 'drain',
        msg: '',
        retryAfterMs: '5',
      },
    ],
  ])('rejects %s as bad_field', (_, type, data) => {
    expectServerRejects(type, data, 'bad_field');
  });
});

describe('forward compatibility', () => {
  it('drops features a newer relay grants that this library does not know', () => {
    const result = decodeServerMessage(
      frame({
        type: ServerType.Welcome,
        data: {
          version: 2,
          features: ['notices', 'resume', 'self-id', 'presence-v2'],
          limits: {
            maxFrameBytes: 1,
            maxRoomMembers: 1,
            nameMaxCodePoints: 1,
            maxExpirySeconds: 1,
            chatPerWindow: 1,
            windowMs: 1,
            maxTypingPerWindow: 1,
          },
        },
      }),
    );
    expect(result.ok && result.value.data).toMatchObject({ features: ['notices', 'self-id'] });
  });

  it('reads the announced budgets by kind and skips kinds it does not know', () => {
    const limits = {
      maxFrameBytes: 1,
      maxRoomMembers: 1,
      nameMaxCodePoints: 1,
      maxExpirySeconds: 1,
      chatPerWindow: 3,
      windowMs: 1000,
      rates: {
        chat: { events: 3, windowMs: 1000 },
        fileAck: { events: 7, windowMs: 2000 },
        telepathy: { events: 1, windowMs: 1 },
      },
    };
    const result = decodeServerMessage(
      frame({ type: ServerType.Welcome, data: { version: 1, features: [], limits } }),
    );
    expect(
      result.ok && result.value.type === ServerType.Welcome && result.value.data.limits.rates,
    ).toEqual({ chat: { events: 3, windowMs: 1000 }, fileAck: { events: 7, windowMs: 2000 } });
  });

  it('refuses an announced budget that is not {events, windowMs}', () => {
    const result = decodeServerMessage(
      frame({
        type: ServerType.Welcome,
        data: {
          version: 1,
          features: [],
          limits: {
            maxFrameBytes: 1,
            maxRoomMembers: 1,
            nameMaxCodePoints: 1,
            maxExpirySeconds: 1,
            chatPerWindow: 3,
            windowMs: 1000,
            rates: { chat: { events: 'many', windowMs: 1000 } },
          },
        },
      }),
    );
    expect(result.ok).toBe(false);
  });
});

describe('numbers', () => {
  it('read a float64 negative zero as 0, so what is accepted re-encodes identically', () => {
    const pong = decodeClientMessage(
      fromHex('82 a4 74797065 06 a4 64617461 81 a1 74 cb 8000000000000000'),
    );
    const t = pong.ok && pong.value.type === ClientType.Pong ? pong.value.data.t : undefined;
    expect(Object.is(t, 0)).toBe(true);
    const chunk = decodeClientMessage(
      fromHex(
        '82 a4 74797065 09 a4 64617461 84',
        'aa 7472616e736665724964 a1 66', // "transferId": "f"
        'a5 696e646578 cb 8000000000000000', // "index": -0.0
        'a2 6976 a1 41 a4 64617461 a1 41', // "iv": "A", "data": "A"
      ),
    );
    const index =
      chunk.ok && chunk.value.type === ClientType.SendFileChunk
        ? chunk.value.data.index
        : undefined;
    expect(Object.is(index, 0)).toBe(true);
  });

  it('clamp a uint64 above 2^53 to the field maximum, as the Arthas server clamps', () => {
    const create = fromHex(
      '82 a4 74797065 01 a4 64617461 84',
      'a4 6e616d65 a5 616c696365',
      'a8 70617373776f7264 a0',
      'a9 657068656d6572616c cf 0020000000000001', // "ephemeral": 2^53 + 1
      'a6 657870697279 cf ffffffffffffffff', // "expiry": 2^64 - 1
    );
    const result = decodeClientMessage(create);
    expect(result.ok && result.value.data).toMatchObject({
      ephemeral: MAX_EPHEMERAL_SECONDS,
      expiry: MAX_EXPIRY_SECONDS,
    });
  });

  it('accept an integral float64 where an integer is expected', () => {
    const frame32 = fromHex('82 a4 74797065 cb 4010000000000000 a4 64617461 80'); // type 4.0
    expect(decodeClientMessage(frame32)).toStrictEqual({
      ok: true,
      value: { type: ClientType.LeaveRoom, data: {} },
    });
  });
});

describe('oversized fields', () => {
  const text = (length: number) => 'A'.repeat(length);
  const bytes = (length: number) => new Uint8Array(length).fill(0x41);

  it.each([
    ['iv', MAX_IV_LENGTH, ClientType.SendMessage, (iv: unknown) => ({ ...sendMessage, iv })],
    [
      'typing ciphertext',
      MAX_TYPING_CIPHERTEXT_LENGTH,
      ClientType.Typing,
      (ciphertext: unknown) => ({ iv: IV_B64, ciphertext }),
    ],
    [
      'reaction ciphertext',
      MAX_REACTION_CIPHERTEXT_LENGTH,
      ClientType.SendReaction,
      (ciphertext: unknown) => ({ iv: IV_B64, ciphertext }),
    ],
  ])('accepts a %s of exactly %i, as text or bytes, and rejects one more', (_, max, type, make) => {
    for (const form of [text, bytes]) {
      expect(decodeClientMessage(frame({ type, data: make(form(max)) })).ok).toBe(true);
      expectClientRejects(type, make(form(max + 1)), 'oversized_field');
    }
  });

  it.each([
    [
      'chat ciphertext',
      ClientType.SendMessage,
      (c: unknown) => ({ ...sendMessage, ciphertext: c }),
    ],
    [
      'file metadata ciphertext (an Arthas image thumbnail)',
      ClientType.SendFileMeta,
      (c: unknown) => ({ transferId: 'f', iv: IV_B64, ciphertext: c }),
    ],
    [
      'file chunk data',
      ClientType.SendFileChunk,
      (c: unknown) => ({ transferId: 'f', index: 0, iv: IV_B64, data: c }),
    ],
  ])('bounds a %s by the frame limit alone, as text or bytes', (_, type, make) => {
    const room = 512; // the envelope and the other fields
    for (const form of [text, bytes]) {
      const fits = frame({ type, data: make(form(MAX_FRAME_BYTES - room)) });
      expect(fits.byteLength).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      expect(decodeClientMessage(fits).ok).toBe(true);
      const over = frame({ type, data: make(form(MAX_FRAME_BYTES)) });
      expect(decodeClientMessage(over)).toMatchObject({ error: { reason: 'oversized_frame' } });
    }
  });

  it(`rejects a transferId longer than ${MAX_TRANSFER_ID_LENGTH}`, () => {
    expect(
      decodeClientMessage(
        frame({ type: ClientType.SendFileAck, data: { transferId: text(MAX_TRANSFER_ID_LENGTH) } }),
      ).ok,
    ).toBe(true);
    for (const type of [
      ClientType.SendFileComplete,
      ClientType.SendFileCancel,
      ClientType.SendFileAck,
    ]) {
      expectClientRejects(
        type,
        { transferId: text(MAX_TRANSFER_ID_LENGTH + 1) },
        'oversized_field',
      );
    }
    expectClientRejects(
      ClientType.SendFileMeta,
      { ...sendMessage, transferId: text(MAX_TRANSFER_ID_LENGTH + 1) },
      'oversized_field',
    );
  });

  it(`rejects Hello with more than ${MAX_FEATURES} features`, () => {
    const features = Array.from({ length: MAX_FEATURES }, (_, i) => `f${i}`);
    expect(
      decodeClientMessage(frame({ type: ClientType.Hello, data: { version: 1, features } })).ok,
    ).toBe(true);
    expectClientRejects(
      ClientType.Hello,
      { version: 1, features: [...features, 'one-more'] },
      'oversized_field',
    );
  });

  it(`rejects a Hello feature name longer than ${MAX_FEATURE_LENGTH}`, () => {
    const features = [text(MAX_FEATURE_LENGTH)];
    expect(
      decodeClientMessage(frame({ type: ClientType.Hello, data: { version: 1, features } })).ok,
    ).toBe(true);
    expectClientRejects(
      ClientType.Hello,
      { version: 1, features: ['notices', text(MAX_FEATURE_LENGTH + 1)] },
      'oversized_field',
    );
  });

  it(`rejects a Hello client name longer than ${MAX_CLIENT_NAME_LENGTH}`, () => {
    expectClientRejects(
      ClientType.Hello,
      { version: 1, features: [], client: text(MAX_CLIENT_NAME_LENGTH + 1) },
      'oversized_field',
    );
  });

  it(`rejects an Error msg longer than ${MAX_ERROR_MESSAGE_LENGTH}`, () => {
    expectServerRejects(
      ServerType.Error,
      { code: 'E005', msg: text(MAX_ERROR_MESSAGE_LENGTH + 1) },
      'oversized_field',
    );
  });

  it('rejects a nickname too long to inspect (over 256 UTF-16 units) as oversized', () => {
    expectClientRejects(
      ClientType.CreateRoom,
      { ...createRoom, name: text(257) },
      'oversized_field',
    );
  });
});

describe('nicknames', () => {
  const fox = '🦊';

  it.each([
    ['empty', ''],
    ['whitespace only', ' \t \u3000 '],
    ['21 code points', 'abcdefghijklmnopqrstu'],
    ['21 emoji', fox.repeat(21)],
    ['a NUL', 'Al\u0000ice'],
    ['a newline inside', 'Al\nice'],
    ['DEL', 'Alice\u007f!'],
    ['a C1 control (NEL)', 'Al\u0085ice'],
    ['a right-to-left override', 'Alice\u202Egnp.exe'],
    ['a first-strong isolate', '\u2068Alice'],
    ['an escape sequence', '\u001b[31mAlice'],
  ])('rejects a name that is %s as bad_name, in CreateRoom and JoinRoom', (_, name) => {
    expectClientRejects(ClientType.CreateRoom, { ...createRoom, name }, 'bad_name');
    expectClientRejects(ClientType.JoinRoom, { ...joinRoom, name }, 'bad_name');
  });

  it.each([
    ['20 ASCII letters', 'abcdefghijklmnopqrst', 'abcdefghijklmnopqrst'],
    ['20 emoji (40 UTF-16 units)', fox.repeat(20), fox.repeat(20)],
    ['one character', 'x', 'x'],
    ['surrounded by spaces', '   Alice  ', 'Alice'],
    ['surrounded by tabs and newlines', '\t Alice \n', 'Alice'],
    ['20 code points once trimmed', `  ${'b'.repeat(20)}  `, 'b'.repeat(20)],
    ['with inner spaces', 'Mary Jane', 'Mary Jane'],
    ['with a ZWJ emoji sequence', '👩‍💻 dev', '👩‍💻 dev'],
  ])('accepts a name %s and trims it', (_, name, expected) => {
    for (const [type, data] of [
      [ClientType.CreateRoom, { ...createRoom, name }],
      [ClientType.JoinRoom, { ...joinRoom, name }],
    ] as const) {
      const result = decodeClientMessage(frame({ type, data }));
      expect(result.ok && result.value.data).toMatchObject({ name: expected });
    }
  });
});

describe('room ids', () => {
  it.each([
    ['20 characters', ROOM_ID.slice(1)],
    ['22 characters', `${ROOM_ID}x`],
    ['empty', ''],
    ['a character outside the nanoid alphabet', `${ROOM_ID.slice(1)}!`],
    ['a dot', `${ROOM_ID.slice(1)}.`],
    ['a space', `${ROOM_ID.slice(1)} `],
    ['a non-ASCII letter', `${ROOM_ID.slice(1)}é`],
    ['a line break after it', `${ROOM_ID}\n`],
  ])(
    'passes a JoinRoom room id of %s on as it came (the relay answers E001), refuses it from a server',
    (_, roomId) => {
      const result = decodeClientMessage(
        frame({ type: ClientType.JoinRoom, data: { ...joinRoom, roomId } }),
      );
      expect(result.ok && result.value.data).toMatchObject({ roomId });
      expectServerRejects(ServerType.RoomCreated, { roomId, expiresAt: 0 }, 'bad_room_id');
    },
  );

  it(`refuses a JoinRoom room id longer than ${MAX_ROOM_ID_LENGTH} characters as oversized`, () => {
    expectClientRejects(
      ClientType.JoinRoom,
      { ...joinRoom, roomId: 'r'.repeat(MAX_ROOM_ID_LENGTH + 1) },
      'oversized_field',
    );
  });
});

describe('passwords', () => {
  it.each([
    ['63 hex characters', PASSWORD_HASH.slice(1)],
    ['65 hex characters', `${PASSWORD_HASH}0`],
    ['the clear-text password', 'password'],
    ['a single space', ' '],
  ])(
    'CreateRoom refuses a password that is %s, as the Arthas server does (64 characters or none)',
    (_, password) => {
      expectClientRejects(ClientType.CreateRoom, { ...createRoom, password }, 'bad_field');
    },
  );

  it.each([
    ['uppercase hex', PASSWORD_HASH.toUpperCase()],
    ['64 non-hex characters', 'g'.repeat(64)],
  ])('CreateRoom keeps a 64-character password that is %s as it came', (_, password) => {
    const result = decodeClientMessage(
      frame({ type: ClientType.CreateRoom, data: { ...createRoom, password } }),
    );
    expect(result.ok && result.value.data).toMatchObject({ password });
  });

  it.each([
    ['63 hex characters', PASSWORD_HASH.slice(1)],
    ['the clear-text password', 'password'],
    ['uppercase hex', PASSWORD_HASH.toUpperCase()],
  ])(
    'JoinRoom passes a password that is %s on to be compared (a mismatch is E006)',
    (_, password) => {
      const result = decodeClientMessage(
        frame({ type: ClientType.JoinRoom, data: { ...joinRoom, password } }),
      );
      expect(result.ok && result.value.data).toMatchObject({ password });
    },
  );

  it(`refuses a password longer than ${MAX_PASSWORD_LENGTH} characters as oversized`, () => {
    expectClientRejects(
      ClientType.JoinRoom,
      { ...joinRoom, password: 'p'.repeat(MAX_PASSWORD_LENGTH + 1) },
      'oversized_field',
    );
  });
});

describe('room lifetimes', () => {
  const created = (data: Record<string, unknown>) => {
    const result = decodeClientMessage(frame({ type: ClientType.CreateRoom, data }));
    return result.ok && result.value.type === ClientType.CreateRoom ? result.value.data : undefined;
  };

  it(`keeps an expiry of exactly ${MAX_EXPIRY_SECONDS} seconds and clamps a longer one to it`, () => {
    expect(created({ ...createRoom, expiry: MAX_EXPIRY_SECONDS })?.expiry).toBe(MAX_EXPIRY_SECONDS);
    expect(created({ ...createRoom, expiry: MAX_EXPIRY_SECONDS + 1 })?.expiry).toBe(
      MAX_EXPIRY_SECONDS,
    );
  });

  it('clamps an ephemeral lifetime over seven days to seven days', () => {
    expect(created({ ...createRoom, ephemeral: 604_801 })?.ephemeral).toBe(MAX_EPHEMERAL_SECONDS);
  });
});

describe('Arthas leniency: what the Arthas server reads as a zero value is accepted', () => {
  const decoded = (type: number, data: unknown) => {
    const result = decodeClientMessage(frame({ type, data }));
    expect(result.ok).toBe(true);
    return result.ok ? (result.value.data as Record<string, unknown>) : undefined;
  };

  it('reads a CreateRoom without expiry, ephemeral or password (what the Go CLI sends) as zeros', () => {
    expect(decoded(ClientType.CreateRoom, { name: 'alice' })).toStrictEqual({
      name: 'alice',
      password: '',
      ephemeral: 0,
      expiry: 0,
    });
  });

  it.each([
    ['negative', -60, 0],
    ['a string', '3600', 0],
    ['a boolean', true, 0],
    ['a float', 1.5, 0],
    ['nil', null, 0],
    ['past the maximum', MAX_EXPIRY_SECONDS + 1, MAX_EXPIRY_SECONDS],
  ])('reads a CreateRoom expiry that is %s as %i', (_, expiry, expected) => {
    expect(decoded(ClientType.CreateRoom, { ...createRoom, expiry })?.expiry).toBe(expected);
  });

  it.each([
    ['negative', -1, 0],
    ['a string', '0', 0],
    ['a float', 1.5, 0],
  ])('reads a CreateRoom ephemeral that is %s as %i', (_, ephemeral, expected) => {
    expect(decoded(ClientType.CreateRoom, { ...createRoom, ephemeral })?.ephemeral).toBe(expected);
  });

  it('reads a password that is not a string as none', () => {
    expect(decoded(ClientType.CreateRoom, { ...createRoom, password: 0 })?.password).toBe('');
    expect(decoded(ClientType.JoinRoom, { ...joinRoom, password: 7 })?.password).toBe('');
  });

  it('reads a JoinRoom without roomId or password as empty strings (answered E001 by the relay)', () => {
    expect(decoded(ClientType.JoinRoom, { name: 'bob' })).toStrictEqual({
      name: 'bob',
      roomId: '',
      password: '',
    });
    expect(decoded(ClientType.JoinRoom, { ...joinRoom, roomId: 21 })?.roomId).toBe('');
  });

  it.each([
    ['a string', 'true'],
    ['a number', 1],
  ])('drops a Typing flag that is %s (Arthas reads it as false)', (_, typing) => {
    expect(decoded(ClientType.Typing, { typing })).toStrictEqual({});
  });

  it.each([
    ['a string', '1700000000123'],
    ['negative', -1],
    ['not a number', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
  ])('drops a Pong t that is %s: the frame alone proves liveness', (_, t) => {
    expect(decoded(ClientType.Pong, { t })).toStrictEqual({});
  });

  it.each([
    ['missing', undefined, 0],
    ['negative', -1, 0],
    ['a float', 0.5, 0],
    ['past the limit', MAX_FILE_CHUNK_INDEX + 1, MAX_FILE_CHUNK_INDEX],
  ])('reads a SendFileChunk index that is %s as %i', (_, index, expected) => {
    const data = {
      transferId: 'f',
      iv: IV_B64,
      data: 'AA',
      ...(index === undefined ? {} : { index }),
    };
    expect(decoded(ClientType.SendFileChunk, data)?.index).toBe(expected);
  });
});

describe('Typing', () => {
  it.each([
    ['an empty map', {}, {}],
    ['an iv without ciphertext', { iv: IV_B64 }, {}],
    ['a ciphertext without iv', { ciphertext: CIPHERTEXT_B64 }, {}],
    ['a flag with an iv but no ciphertext', { typing: true, iv: IV_B64 }, { typing: true }],
    [
      'a flag with a ciphertext but no iv',
      { typing: false, ciphertext: CIPHERTEXT_B64 },
      { typing: false },
    ],
    ['a numeric iv beside a ciphertext', { iv: 12, ciphertext: CIPHERTEXT_B64 }, {}],
    ['only unknown fields', { state: 'typing' }, {}],
  ])('accepts %s, keeping only what the Arthas server would read', (_, data, expected) => {
    const result = decodeClientMessage(frame({ type: ClientType.Typing, data }));
    expect(result).toStrictEqual({ ok: true, value: { type: ClientType.Typing, data: expected } });
  });

  it('keeps an encrypted state without a flag, as Arthas web clients send it', () => {
    const data = { iv: IV_B64, ciphertext: CIPHERTEXT_B64 };
    const result = decodeClientMessage(frame({ type: ClientType.Typing, data }));
    expect(result).toStrictEqual({ ok: true, value: { type: ClientType.Typing, data } });
  });

  it(`refuses an encrypted state longer than ${MAX_TYPING_CIPHERTEXT_LENGTH} characters`, () => {
    expectClientRejects(
      ClientType.Typing,
      { iv: IV_B64, ciphertext: 'c'.repeat(MAX_TYPING_CIPHERTEXT_LENGTH + 1) },
      'oversized_field',
    );
  });

  it('rejects a MemberTyping with only one half of the sealed pair', () => {
    expectServerRejects(
      ServerType.MemberTyping,
      { id: 'm', typing: true, iv: IV_B64 },
      'bad_field',
    );
    expectServerRejects(
      ServerType.MemberTyping,
      { id: 'm', typing: true, ciphertext: CIPHERTEXT_B64 },
      'bad_field',
    );
  });
});

describe('prototype keys', () => {
  const pollutionProbe = (): unknown => ({}) as Record<string, unknown>;

  it('a __proto__ key in data neither pollutes Object.prototype nor changes the result', () => {
    const data = { iv: IV_B64, ciphertext: CIPHERTEXT_B64 } as Record<string, unknown>;
    Object.defineProperty(data, '__proto__', {
      value: { polluted: true, iv: 'x' },
      enumerable: true,
    });
    const result = decodeClientMessage(frame({ type: ClientType.SendMessage, data }));
    expect(result).toStrictEqual({
      ok: true,
      value: { type: ClientType.SendMessage, data: { iv: IV_B64, ciphertext: CIPHERTEXT_B64 } },
    });
    expect(Object.getPrototypeOf(result.ok && result.value.data)).toBe(Object.prototype);
    expect(pollutionProbe()).not.toHaveProperty('polluted');
  });

  it('a __proto__ key cannot supply required fields', () => {
    const data = {} as Record<string, unknown>;
    Object.defineProperty(data, '__proto__', { value: sendMessage, enumerable: true });
    expectClientRejects(ClientType.SendMessage, data, 'bad_field');
  });

  it('a __proto__ key at the top level cannot supply the type or the data', () => {
    const envelope = {} as Record<string, unknown>;
    Object.defineProperty(envelope, '__proto__', {
      value: { type: ClientType.SendMessage, data: sendMessage },
      enumerable: true,
    });
    expect(decodeClientMessage(frame(envelope))).toStrictEqual(rejection('bad_envelope'));
    expect(pollutionProbe()).not.toHaveProperty('type');
  });

  it('a hand-written __proto__ key holding a map is inert', () => {
    // {"type": 4, "data": {"__proto__": {"polluted": true}}}
    const bytes = fromHex(
      '82 a4 74797065 04 a4 64617461 81 a9 5f5f70726f746f5f5f 81 a8 706f6c6c75746564 c3',
    );
    expect(decodeClientMessage(bytes)).toStrictEqual({
      ok: true,
      value: { type: ClientType.LeaveRoom, data: {} },
    });
    expect(pollutionProbe()).not.toHaveProperty('polluted');
  });

  it.each(['constructor', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__'])(
    'a data key named %s does not crash or leak into the result',
    (key) => {
      const result = decodeClientMessage(
        frame({ type: ClientType.SendMessage, data: { ...sendMessage, [key]: { x: 1 } } }),
      );
      expect(result).toStrictEqual({
        ok: true,
        value: { type: ClientType.SendMessage, data: sendMessage },
      });
      expect(decodeClientMessage(frame({ type: ClientType.Pong, data: { [key]: 1 } }))).toEqual({
        ok: true,
        value: { type: ClientType.Pong, data: {} },
      });
    },
  );

  it('a top-level constructor key is ignored', () => {
    expect(
      decodeClientMessage(frame({ constructor: 1, type: ClientType.LeaveRoom, data: {} })).ok,
    ).toBe(true);
  });
});

describe('error reports', () => {
  it('name the field and the rule without echoing the offending value', () => {
    const secret = 'SECRET-do-not-log-me';
    const results = [
      decodeClientMessage(frame({ type: 1, data: { ...createRoom, name: `${secret}${secret}` } })),
      decodeClientMessage(frame({ type: 2, data: { ...joinRoom, roomId: secret.repeat(13) } })),
      decodeClientMessage(frame({ type: 1, data: { ...createRoom, password: secret } })),
      decodeClientMessage(frame({ type: 3, data: { iv: secret.repeat(4), ciphertext: 'x' } })),
      decodeClientMessage(frame({ type: 5, data: { iv: 'x', ciphertext: secret.repeat(52) } })),
    ];
    for (const result of results) {
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.message).toMatch(/"(name|roomId|password|iv|ciphertext)"/);
        expect(result.error.message).not.toContain('SECRET');
      }
    }
  });

  it('carry the type id once the envelope was readable, and only then', () => {
    expect(decodeClientMessage(frame({ type: 3, data: {} }))).toMatchObject({
      error: { type: 3 },
    });
    const undecodable = decodeClientMessage(fromHex('82'));
    expect(!undecodable.ok && 'type' in undecodable.error).toBe(false);
  });
});

describe('parseClientMessage and parseServerMessage', () => {
  it.each([
    ['undefined', undefined],
    [
      'a Map',
      new Map<string, unknown>([
        ['type', 4],
        ['data', {}],
      ]),
    ],
    ['an object without prototype', Object.assign(Object.create(null) as object, { type: 4 })],
    [
      'a class instance',
      new (class Envelope {
        type = 4;
        data = {};
      })(),
    ],
    ['a function', () => 4],
    ['a symbol', Symbol('type')],
    ['a bigint', 4n],
  ])('reject %s as bad_envelope without throwing', (_, value) => {
    expect(parseClientMessage(value)).toStrictEqual(rejection('bad_envelope'));
    expect(parseServerMessage(value)).toStrictEqual(rejection('bad_envelope'));
  });

  it('validate values that did not come from MessagePack, such as parsed JSON', () => {
    expect(parseClientMessage(JSON.parse('{"type":6,"data":{"t":42}}'))).toStrictEqual({
      ok: true,
      value: { type: ClientType.Pong, data: { t: 42 } },
    });
  });

  it('return a fresh typed value, not the input object', () => {
    const input = { type: ClientType.Pong, data: { t: 42, extra: true } };
    const result = parseClientMessage(input);
    expect(result.ok && result.value).not.toBe(input);
    expect(result.ok && result.value.data).toStrictEqual({ t: 42 });
  });
});

describe('configured client limits', () => {
  const create = (name: string, expiry: number) => ({
    type: ClientType.CreateRoom,
    data: { name, password: '', ephemeral: 0, expiry },
  });

  it('rejects nicknames longer than a relay-configured maximum, and accepts longer ones when allowed', () => {
    const strict = { nameMaxCodePoints: 5, maxExpirySeconds: 60 };
    const tooLong = parseClientMessage(create('abcdef', 0), strict);
    expect(tooLong.ok === false && tooLong.error.reason).toBe('bad_name');
    const loose = { nameMaxCodePoints: 30, maxExpirySeconds: 60 };
    expect(parseClientMessage(create('a'.repeat(30), 0), loose).ok).toBe(true);
  });

  it('clamps an expiry above the relay-configured maximum to it', () => {
    const limits = { nameMaxCodePoints: 20, maxExpirySeconds: 3600 };
    const clamped = parseClientMessage(create('al', 3601), limits);
    expect(clamped.ok && clamped.value.data).toMatchObject({ expiry: 3600 });
  });
});

describe('opaque string fields', () => {
  it('rejects a string that is not ASCII, so what is relayed is byte-for-byte what was sent', () => {
    // 0xa2 then 0xff 0xfe: a msgpack str of two bytes that are not UTF-8.
    const frame = fromHex(
      '82 a4 74 79 70 65 03 a4 64 61 74 61 82 a2 69 76 a2 ff fe aa 63 69 70 68 65 72 74 65 78 74 a1 41',
    );
    const decoded = decodeClientMessage(frame);
    expect(decoded.ok === false && decoded.error.reason).toBe('bad_field');
    const accented = parseClientMessage({ type: 3, data: { iv: 'café', ciphertext: 'QQ' } });
    expect(accented.ok === false && accented.error.message).toMatch(/ASCII/);
  });

  it('accepts base64url strings and binary', () => {
    const ok = parseClientMessage({
      type: 3,
      data: { iv: 'AAECAw-_', ciphertext: new Uint8Array([0, 255]) },
    });
    expect(ok.ok).toBe(true);
  });
});
