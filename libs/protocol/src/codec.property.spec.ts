/**
 * Properties over generated input: whatever arrives, the decoders answer with a typed message or
 * an E005 error, never an exception; whatever valid message we encode, we read back unchanged.
 */
import { encode as referenceEncode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, plain } from './fixtures/bytes.js';
import { BINARY_CLIENT_SAMPLES, CLIENT_SAMPLES, SERVER_SAMPLES } from './fixtures/messages.js';
import type {
  ClientMessage,
  ErrorCode as ErrorCodeType,
  Member,
  ProtocolErrorReason,
  Result,
  ServerMessage,
} from './index.js';
import {
  ClientType,
  decodeClientMessage,
  decodeServerMessage,
  encode,
  ErrorCode,
  Feature,
  MAX_FILE_CHUNK_INDEX,
  normalizeName,
  NoticeKind,
  ServerType,
} from './index.js';

const REASONS: readonly ProtocolErrorReason[] = [
  'undecodable',
  'extension_type',
  'too_deep',
  'oversized_frame',
  'bad_envelope',
  'unknown_type',
  'bad_field',
  'oversized_field',
  'bad_name',
  'bad_room_id',
];

/** The decoder's answer is a Result: a typed message, or E005 with a documented reason. */
function expectWellFormed(result: Result<unknown>): void {
  expect(typeof result.ok).toBe('boolean');
  if (!result.ok) {
    expect(result.error.code).toBe('E005');
    expect(REASONS).toContain(result.error.reason);
    expect(typeof result.error.message).toBe('string');
  }
}

/** Anything the client decoder accepts can be encoded again and reads back the same. */
function expectStableClient(result: Result<ClientMessage>): void {
  expectWellFormed(result);
  if (result.ok)
    expect(plain(decodeClientMessage(encode(result.value)))).toStrictEqual(plain(result));
}

function expectStableServer(result: Result<ServerMessage>): void {
  expectWellFormed(result);
  if (result.ok)
    expect(plain(decodeServerMessage(encode(result.value)))).toStrictEqual(plain(result));
}

/** @msgpack/msgpack cannot encode some JavaScript values (bigint, symbols); those are skipped. */
function encodable(value: unknown): Uint8Array | undefined {
  try {
    return referenceEncode(value);
  } catch {
    return undefined;
  }
}

const allTypeIds = [...Object.values(ClientType), ...Object.values(ServerType)];

// ---------------------------------------------------------------------------------------------
// Valid messages
// ---------------------------------------------------------------------------------------------

/** `fc.record` with `Object.prototype`, as MessagePack decoders make maps. */
function record<T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record<T, keyof T>(model, { noNullPrototype: true });
}

const b64url = fc.constantFrom(
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''),
);
const opaque = (max: number) =>
  fc.oneof(
    fc.string({ unit: b64url, minLength: 1, maxLength: max }),
    fc.uint8Array({ minLength: 1, maxLength: max }),
  );
const iv = opaque(64);
const ciphertext = opaque(300);
const nickname = fc
  .oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  )
  .filter((name) => normalizeName(name) === name);
const password = fc.oneof(fc.constant(''), fc.stringMatching(/^[0-9a-f]{64}$/));
const roomId = fc.stringMatching(/^[A-Za-z0-9_-]{21}$/);
const transferId = fc.string({ minLength: 1, maxLength: 64 });
const seconds = fc.integer({ min: 0, max: 604_800 });
const unixMs = fc.oneof(
  fc.maxSafeNat(),
  fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
  fc.double({ min: 0, max: 1e15, noNaN: true }).filter((t) => !Object.is(t, -0)),
);

const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  record({ name: nickname, password, ephemeral: seconds, expiry: seconds }).map(
    (data): ClientMessage => ({ type: ClientType.CreateRoom, data }),
  ),
  record({ roomId, name: nickname, password }).map((data): ClientMessage => ({
    type: ClientType.JoinRoom,
    data,
  })),
  record({ iv, ciphertext }).map((data): ClientMessage => ({ type: ClientType.SendMessage, data })),
  fc.constant<ClientMessage>({ type: ClientType.LeaveRoom, data: {} }),
  fc
    .oneof(
      record({ typing: fc.boolean() }),
      record({ iv, ciphertext: opaque(1024) }),
      record({ typing: fc.boolean(), iv, ciphertext: opaque(1024) }),
    )
    .map((data): ClientMessage => ({ type: ClientType.Typing, data })),
  unixMs.map((t): ClientMessage => ({ type: ClientType.Pong, data: { t } })),
  record({ iv, ciphertext }).map((data): ClientMessage => ({
    type: ClientType.SendReaction,
    data,
  })),
  record({ transferId, iv, ciphertext }).map((data): ClientMessage => ({
    type: ClientType.SendFileMeta,
    data,
  })),
  record({
    transferId,
    index: fc.integer({ min: 0, max: MAX_FILE_CHUNK_INDEX }),
    iv,
    data: ciphertext,
  }).map((data): ClientMessage => ({ type: ClientType.SendFileChunk, data })),
  fc
    .tuple(
      fc.constantFrom(
        ClientType.SendFileComplete,
        ClientType.SendFileCancel,
        ClientType.SendFileAck,
      ),
      transferId,
    )
    .map(([type, id]): ClientMessage => ({ type, data: { transferId: id } })),
  fc
    .record(
      {
        version: fc.integer({ min: 0, max: 0xffff }),
        features: fc.array(fc.string({ maxLength: 32 }), { maxLength: 32 }),
        client: fc.string({ maxLength: 64 }),
      },
      { requiredKeys: ['version', 'features'], noNullPrototype: true },
    )
    .map((data): ClientMessage => ({ type: ClientType.Hello, data })),
);

const memberId = fc.string({ minLength: 1, maxLength: 64 });
const anyName = fc.string({ unit: 'binary', minLength: 1, maxLength: 100 });
const member: fc.Arbitrary<Member> = record({
  id: memberId,
  name: anyName,
  color: fc.stringMatching(/^#[0-9a-f]{6}$/),
});
const sender = { senderId: memberId, senderName: anyName, t: unixMs };

const serverMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  record({ roomId, expiresAt: fc.maxSafeNat() }).map((data): ServerMessage => ({
    type: ServerType.RoomCreated,
    data,
  })),
  fc
    .record(
      {
        roomId,
        members: fc.array(member, { maxLength: 50 }),
        hasPassword: fc.boolean(),
        ephemeral: fc.maxSafeNat(),
        expiresAt: fc.maxSafeNat(),
        selfId: memberId,
      },
      {
        requiredKeys: ['roomId', 'members', 'hasPassword', 'ephemeral', 'expiresAt'],
        noNullPrototype: true,
      },
    )
    .map((data): ServerMessage => ({ type: ServerType.RoomJoined, data })),
  member.map((data): ServerMessage => ({ type: ServerType.MemberJoined, data })),
  memberId.map((id): ServerMessage => ({ type: ServerType.MemberLeft, data: { id } })),
  fc
    .tuple(
      fc.constantFrom(ServerType.RelayMessage, ServerType.RelayReaction),
      record({ ...sender, iv, ciphertext }),
    )
    .map(([type, data]): ServerMessage => ({ type, data })),
  fc
    .oneof(
      record({ id: memberId, typing: fc.boolean() }),
      record({ id: memberId, typing: fc.boolean(), iv, ciphertext: opaque(1024) }),
    )
    .map((data): ServerMessage => ({ type: ServerType.MemberTyping, data })),
  fc
    .string({ maxLength: 64 })
    .map((reason): ServerMessage => ({ type: ServerType.RoomClosed, data: { reason } })),
  record({
    code: fc.constantFrom<ErrorCodeType>(...Object.values(ErrorCode)),
    msg: fc.string({ maxLength: 512 }),
  }).map((data): ServerMessage => ({ type: ServerType.Error, data })),
  unixMs.map((t): ServerMessage => ({ type: ServerType.Ping, data: { t } })),
  record({ ...sender, transferId, iv, ciphertext }).map((data): ServerMessage => ({
    type: ServerType.RelayFileMeta,
    data,
  })),
  record({
    senderId: memberId,
    transferId,
    index: fc.integer({ min: 0, max: MAX_FILE_CHUNK_INDEX }),
    iv,
    data: ciphertext,
  }).map((data): ServerMessage => ({ type: ServerType.RelayFileChunk, data })),
  fc
    .tuple(
      fc.constantFrom(ServerType.RelayFileComplete, ServerType.RelayFileCancel),
      record({ senderId: memberId, transferId }),
    )
    .map(([type, data]): ServerMessage => ({ type, data })),
  record({ receiverId: memberId, transferId }).map((data): ServerMessage => ({
    type: ServerType.RelayFileAck,
    data,
  })),
  record({
    version: fc.integer({ min: 0, max: 0xffff }),
    features: fc.subarray(Object.values(Feature)),
    limits: record({
      maxFrameBytes: fc.maxSafeNat(),
      maxRoomMembers: fc.maxSafeNat(),
      nameMaxCodePoints: fc.maxSafeNat(),
      maxExpirySeconds: fc.maxSafeNat(),
      chatPerWindow: fc.maxSafeNat(),
      windowMs: fc.maxSafeNat(),
    }),
  }).map((data): ServerMessage => ({ type: ServerType.Welcome, data })),
  fc
    .record(
      {
        kind: fc.constantFrom(...Object.values(NoticeKind)),
        msg: fc.string({ maxLength: 512 }),
        retryAfterMs: fc.maxSafeNat(),
        expiresAt: fc.maxSafeNat(),
      },
      { requiredKeys: ['kind', 'msg'], noNullPrototype: true },
    )
    .map((data): ServerMessage => ({ type: ServerType.Notice, data })),
);

describe('valid messages', () => {
  it('every valid client message round-trips through encode and decodeClientMessage', () => {
    fc.assert(
      fc.property(clientMessage, (message) => {
        const decoded = decodeClientMessage(encode(message));
        expect(decoded.ok && plain(decoded.value)).toStrictEqual(message);
      }),
      { numRuns: 1_000 },
    );
  });

  it('every valid server message round-trips through encode and decodeServerMessage', () => {
    fc.assert(
      fc.property(serverMessage, (message) => {
        const decoded = decodeServerMessage(encode(message));
        expect(decoded.ok && plain(decoded.value)).toStrictEqual(message);
      }),
      { numRuns: 1_000 },
    );
  });

  it('every valid message reads back the same after another encoder wrote it', () => {
    fc.assert(
      fc.property(clientMessage, serverMessage, (client, server) => {
        const c = decodeClientMessage(referenceEncode(client));
        const s = decodeServerMessage(referenceEncode(server));
        expect(c.ok && plain(c.value)).toStrictEqual(client);
        expect(s.ok && plain(s.value)).toStrictEqual(server);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------------

/** Values @msgpack/msgpack can write, including maps with random (and prototype) keys. */
const anything = fc.anything({
  maxDepth: 3,
  withBigInt: false,
  withBoxedValues: false,
  withMap: false,
  withSet: false,
  withDate: true,
  withTypedArray: true,
  withNullPrototype: true,
  withSparseArray: true,
  key: fc.oneof(
    fc.string(),
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'type', 'data'),
  ),
});

/** A field name of some message, or any string. */
const fieldName = fc.oneof(
  fc.constantFrom(
    'name',
    'password',
    'ephemeral',
    'expiry',
    'roomId',
    'iv',
    'ciphertext',
    'typing',
    't',
    'transferId',
    'index',
    'data',
    'version',
    'features',
    'client',
    '__proto__',
  ),
  fc.string({ maxLength: 12 }),
);

type Mutation = { kind: 'set'; key: string; value: unknown } | { kind: 'delete'; key: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: fieldName, value: anything }),
  fc.record({ kind: fc.constant('delete' as const), key: fieldName }),
);

/** A valid message with some of its fields removed, replaced or added, and maybe retyped. */
const nearValid = record({
  message: fc.oneof(clientMessage, serverMessage),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  type: fc.option(fc.oneof(fc.constantFrom(...allTypeIds), fc.integer()), { freq: 4 }),
}).map(({ message, mutations, type }) => {
  const data: Record<string, unknown> = { ...message.data };
  for (const m of mutations) {
    if (m.kind === 'delete') delete data[m.key];
    else
      Object.defineProperty(data, m.key, {
        value: m.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return { type: type ?? message.type, data };
});

describe('hostile input', () => {
  it('random bytes never make a decoder throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expectStableClient(decodeClientMessage(bytes));
        expectStableServer(decodeServerMessage(bytes));
      }),
      { numRuns: 3_000 },
    );
  });

  it('random bytes after a well-formed envelope header never make a decoder throw', () => {
    const headers = [
      fromHex('82 a4 74797065 03 a4 64617461'), // {type: 3, data: …
      fromHex('82 a4 74797065 14 a4 64617461'), // {type: 0x14, data: …
      fromHex('82 a4 74797065 01 a4 64617461 84 a4 6e616d65'), // {type: 1, data: {name: …
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...headers),
        fc.uint8Array({ maxLength: 256 }),
        (header, tail) => {
          const bytes = Uint8Array.from([...header, ...tail]);
          expectStableClient(decodeClientMessage(bytes));
          expectStableServer(decodeServerMessage(bytes));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('a valid frame with bytes flipped never makes a decoder throw', () => {
    const frames = [...CLIENT_SAMPLES, ...BINARY_CLIENT_SAMPLES, ...SERVER_SAMPLES].map((m) =>
      Uint8Array.from(encode(m)),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...frames),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (original, flips) => {
          const bytes = Uint8Array.from(original);
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          expectStableClient(decodeClientMessage(bytes));
          expectStableServer(decodeServerMessage(bytes));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('any MessagePack value, maps with random keys included, never makes a decoder throw', () => {
    fc.assert(
      fc.property(anything, (value) => {
        const bytes = encodable(value);
        fc.pre(bytes !== undefined);
        expectStableClient(decodeClientMessage(bytes!));
        expectStableServer(decodeServerMessage(bytes!));
      }),
      { numRuns: 2_000 },
    );
  });

  it('any value as data of any type id never makes a decoder throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...allTypeIds), fc.integer({ min: -1, max: 0x100 })),
        anything,
        (type, data) => {
          const bytes = encodable({ type, data });
          fc.pre(bytes !== undefined);
          expectStableClient(decodeClientMessage(bytes!));
          expectStableServer(decodeServerMessage(bytes!));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('near-valid messages with mutated fields are accepted or rejected with E005, never thrown', () => {
    fc.assert(
      fc.property(nearValid, (value) => {
        const bytes = encodable(value);
        fc.pre(bytes !== undefined);
        expectStableClient(decodeClientMessage(bytes!));
        expectStableServer(decodeServerMessage(bytes!));
      }),
      { numRuns: 2_000 },
    );
  });

  it('garbage leaves no state behind: the next valid frame decodes normally', () => {
    const valid = Uint8Array.from(encode(CLIENT_SAMPLES[4]!));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (garbage) => {
        decodeClientMessage(garbage);
        expect(plain(decodeClientMessage(valid))).toStrictEqual({
          ok: true,
          value: CLIENT_SAMPLES[4],
        });
      }),
      { numRuns: 1_000 },
    );
  });
});
