/**
 * Frames as existing Arthas clients (the web client and the Go CLI) put them on the wire, written
 * byte by byte from the MessagePack specification rather than produced by any encoder. A Go
 * encoder may pick any integer width, str8 for short strings, map16 headers and any key order; the
 * decoder must read all of them.
 */
import { encode as referenceEncode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { counting, fromHex, plain, toHex } from './fixtures/bytes.js';
import { CIPHERTEXT_B64, IV_B64, PASSWORD_HASH, ROOM_ID, T } from './fixtures/messages.js';
import type { ClientMessage, ServerMessage } from './index.js';
import { decodeClientMessage, decodeServerMessage } from './index.js';

// MessagePack tokens used below, spelled out once.
const TYPE = 'a4 74797065'; // fixstr "type"
const DATA = 'a4 64617461'; // fixstr "data"
const IV = 'a2 6976'; // fixstr "iv"
const CIPHERTEXT = 'aa 63697068657274657874'; // fixstr(10) "ciphertext"
const IV_B64_STR = 'b0 41414543417751464267634943516f4c'; // fixstr(16) "AAECAwQFBgcICQoL"
const CIPHERTEXT_B64_STR = 'b7 53475673624738675348567a614345 5f 2d 7778797a3039'; // fixstr(23)
const ROOM_ID_STR = 'b5 5631537447585238 5f 5a356a64486936 42 2d 6d7954'; // fixstr(21)
const TRANSFER_ID = 'aa 7472616e736665724964'; // fixstr(10) "transferId"
const TX_1 = 'a4 74782d31'; // fixstr "tx-1"

function client(bytes: Uint8Array): ClientMessage {
  const result = decodeClientMessage(bytes);
  if (!result.ok) throw new Error(`rejected: ${result.error.reason} ${result.error.message}`);
  return plain(result.value);
}

function server(bytes: Uint8Array): ServerMessage {
  const result = decodeServerMessage(bytes);
  if (!result.ok) throw new Error(`rejected: ${result.error.reason} ${result.error.message}`);
  return plain(result.value);
}

describe('hand-written Arthas client frames', () => {
  it('CreateRoom with no password and a uint16 expiry', () => {
    const frame = fromHex(
      '82', // map, 2 entries
      `${TYPE} 01`,
      `${DATA} 84`, // map, 4 entries
      'a4 6e616d65 a5 616c696365', // "name": "alice"
      'a8 70617373776f7264 a0', // "password": ""
      'a9 657068656d6572616c 00', // "ephemeral": 0
      'a6 657870697279 cd 0e10', // "expiry": 3600 as uint16
    );
    expect(client(frame)).toStrictEqual({
      type: 0x01,
      data: { name: 'alice', password: '', ephemeral: 0, expiry: 3600 },
    });
  });

  it('CreateRoom as the Arthas Go CLI sends it: no expiry, a uint8 type and an int64 ephemeral', () => {
    const frame = fromHex(
      '82',
      `${TYPE} cc 01`, // uint8 1
      `${DATA} 83`, // map, 3 entries: the Go struct has no expiry field
      'a4 6e616d65 a5 616c696365', // "name": "alice"
      'a8 70617373776f7264 a0', // "password": ""
      'a9 657068656d6572616c d3 0000000000000000', // "ephemeral": int64 0
    );
    expect(client(frame)).toStrictEqual({
      type: 0x01,
      data: { name: 'alice', password: '', ephemeral: 0, expiry: 0 },
    });
  });

  it('CreateRoom with an int64 expiry past seven days, clamped as the Arthas server clamps', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 01`,
      `${DATA} 84`,
      'a4 6e616d65 a5 616c696365',
      'a8 70617373776f7264 a0',
      'a9 657068656d6572616c d3 000000000000003c', // "ephemeral": int64 60
      'a6 657870697279 d3 0000000000093a81', // "expiry": int64 604801
    );
    expect(client(frame)).toStrictEqual({
      type: 0x01,
      data: { name: 'alice', password: '', ephemeral: 60, expiry: 604_800 },
    });
  });

  it('CreateRoom with a negative int64 expiry, read as no expiry', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 01`,
      `${DATA} 84`,
      'a4 6e616d65 a5 616c696365',
      'a8 70617373776f7264 a0',
      'a9 657068656d6572616c 00',
      'a6 657870697279 d3 ffffffffffffffc4', // "expiry": int64 -60
    );
    expect(client(frame)).toMatchObject({ data: { expiry: 0 } });
  });

  it('Typing as the Arthas web client sends it: an encrypted state and no flag', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 05`,
      `${DATA} 82`,
      `${IV} ${IV_B64_STR}`,
      `${CIPHERTEXT} ${CIPHERTEXT_B64_STR}`,
    );
    expect(client(frame)).toStrictEqual({
      type: 0x05,
      data: { iv: IV_B64, ciphertext: CIPHERTEXT_B64 },
    });
  });

  it('Pong as the Go CLI sends it: an int64 t', () => {
    const frame = fromHex('82', `${TYPE} cc 06`, `${DATA} 81`, 'a1 74 d3 0000018bcfe56800');
    expect(client(frame)).toStrictEqual({ type: 0x06, data: { t: 1_700_000_000_000 } });
  });

  it('JoinRoom with a SHA-256 hex password in a str8', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 02`,
      `${DATA} 83`,
      `a6 726f6f6d4964 ${ROOM_ID_STR}`, // "roomId"
      'a4 6e616d65 a3 426f62', // "name": "Bob"
      'a8 70617373776f7264 d9 40', // "password": str8, 64 bytes
      '3565383834383938 6461323830343731 3531643065353666 3864633632393237',
      '3733363033643064 3661616262646436 3261313165663732 3164313534326438',
    );
    expect(client(frame)).toStrictEqual({
      type: 0x02,
      data: { roomId: ROOM_ID, name: 'Bob', password: PASSWORD_HASH },
    });
  });

  it('SendMessage with base64url strings', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 03`,
      `${DATA} 82`,
      `${IV} ${IV_B64_STR}`,
      `${CIPHERTEXT} ${CIPHERTEXT_B64_STR}`,
    );
    expect(client(frame)).toStrictEqual({
      type: 0x03,
      data: { iv: IV_B64, ciphertext: CIPHERTEXT_B64 },
    });
  });

  it('SendMessage with bin8 fields', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 03`,
      `${DATA} 82`,
      `${IV} c4 0c 000102030405060708090a0b`, // bin8, 12 bytes
      `${CIPHERTEXT} c4 10 808182838485868788898a8b8c8d8e8f`, // bin8, 16 bytes
    );
    expect(client(frame)).toStrictEqual({
      type: 0x03,
      data: { iv: counting(12), ciphertext: counting(16, 0x80) },
    });
  });

  it('SendMessage with the keys in another order, data before type', () => {
    const frame = fromHex(
      '82',
      `${DATA} 82`,
      `${CIPHERTEXT} ${CIPHERTEXT_B64_STR}`,
      `${IV} ${IV_B64_STR}`,
      `${TYPE} 03`,
    );
    expect(client(frame)).toStrictEqual({
      type: 0x03,
      data: { iv: IV_B64, ciphertext: CIPHERTEXT_B64 },
    });
  });

  it('LeaveRoom with an empty map', () => {
    expect(client(fromHex('82', TYPE, '04', DATA, '80'))).toStrictEqual({ type: 0x04, data: {} });
  });

  it('LeaveRoom with nil data or no data at all', () => {
    expect(client(fromHex('82', TYPE, '04', DATA, 'c0'))).toStrictEqual({ type: 0x04, data: {} });
    expect(client(fromHex('81', TYPE, '04'))).toStrictEqual({ type: 0x04, data: {} });
  });

  it('Typing with the plain flag', () => {
    const frame = fromHex('82', TYPE, '05', DATA, '81', 'a6 747970696e67', 'c3');
    expect(client(frame)).toStrictEqual({ type: 0x05, data: { typing: true } });
  });

  it('Typing, encrypted', () => {
    const frame = fromHex('82', TYPE, '05', DATA, '82', IV, IV_B64_STR, CIPHERTEXT, 'a4 41414141');
    expect(client(frame)).toStrictEqual({ type: 0x05, data: { iv: IV_B64, ciphertext: 'AAAA' } });
  });

  it.each([
    ['uint64 (Go uint64)', 'cf 0000018bcfe5687b'],
    ['int64 (Go int64)', 'd3 0000018bcfe5687b'],
    ['float64 (a JavaScript encoder forcing floats)', 'cb 4278bcfe5687b000'],
  ])('Pong echoing a unix-ms t written as %s', (_, t) => {
    const frame = fromHex('82', TYPE, '06', DATA, '81', 'a1 74', t);
    expect(client(frame)).toStrictEqual({ type: 0x06, data: { t: T } });
  });

  it('SendFileChunk with bin8 iv and bin16 data', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 09`,
      `${DATA} 84`,
      `${TRANSFER_ID} ${TX_1}`,
      'a5 696e646578 cd 0100', // "index": 256 as uint16
      `${IV} c4 0c 000102030405060708090a0b`,
      `a4 64617461 c5 0100 ${toHex(counting(256))}`, // "data": bin16, 256 bytes
    );
    expect(client(frame)).toStrictEqual({
      type: 0x09,
      data: { transferId: 'tx-1', index: 256, iv: counting(12), data: counting(256) },
    });
  });

  it('SendFileAck', () => {
    expect(client(fromHex('82', TYPE, '0c', DATA, '81', TRANSFER_ID, TX_1))).toStrictEqual({
      type: 0x0c,
      data: { transferId: 'tx-1' },
    });
  });

  it('ignores fields it does not know, so a client cannot smuggle sender fields', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 03`,
      `${DATA} 85`,
      `${IV} ${IV_B64_STR}`,
      `${CIPHERTEXT} ${CIPHERTEXT_B64_STR}`,
      'a8 73656e6465724964 a5 73706f6f66', // "senderId": "spoof"
      'a1 74 01', // "t": 1
      'a1 76 02', // "v": 2
    );
    expect(client(frame)).toStrictEqual({
      type: 0x03,
      data: { iv: IV_B64, ciphertext: CIPHERTEXT_B64 },
    });
  });
});

describe('integer widths a Go encoder may choose', () => {
  it.each([
    ['positive fixint', '0a'],
    ['uint8', 'cc 0a'],
    ['uint16', 'cd 000a'],
    ['uint32', 'ce 0000000a'],
    ['uint64', 'cf 000000000000000a'],
    ['int8', 'd0 0a'],
    ['int16', 'd1 000a'],
    ['int32', 'd2 0000000a'],
    ['int64', 'd3 000000000000000a'],
  ])('reads the type id 0x0a written as %s', (_, type) => {
    expect(client(fromHex('82', TYPE, type, DATA, '81', TRANSFER_ID, TX_1))).toStrictEqual({
      type: 0x0a,
      data: { transferId: 'tx-1' },
    });
  });

  it.each([
    ['uint16', 'cd 93a8'],
    ['uint32', 'ce 000093a8'],
    ['uint64', 'cf 00000000000093a8'],
    ['int32', 'd2 000093a8'],
    ['int64', 'd3 00000000000093a8'],
  ])('reads the expiry 37800 written as %s', (_, expiry) => {
    const frame = fromHex(
      '82',
      `${TYPE} 01`,
      `${DATA} 84`,
      'a4 6e616d65 a5 616c696365',
      'a8 70617373776f7264 a0',
      'a9 657068656d6572616c cc 00', // "ephemeral": 0 as uint8
      `a6 657870697279 ${expiry}`, // "expiry"
    );
    expect(client(frame)).toMatchObject({ data: { ephemeral: 0, expiry: 37_800 } });
  });
});

describe('string and container headers a Go encoder may choose', () => {
  it.each([
    ['fixstr', 'a4'],
    ['str8', 'd9 04'],
    ['str16', 'da 0004'],
    ['str32', 'db 00000004'],
  ])('reads the keys written as %s', (_, header) => {
    const frame = fromHex(
      '82',
      `${header} 74797065 04`, // "type": 4
      `${header} 64617461 80`, // "data": {}
    );
    expect(client(frame)).toStrictEqual({ type: 0x04, data: {} });
  });

  it('reads a value written as str8 even when fixstr would do', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 03`,
      `${DATA} 82`,
      `${IV} d9 10 41414543417751464267634943516f4c`,
      `${CIPHERTEXT} d9 04 41414141`,
    );
    expect(client(frame)).toStrictEqual({ type: 0x03, data: { iv: IV_B64, ciphertext: 'AAAA' } });
  });

  it('reads map16 and map32 headers', () => {
    expect(client(fromHex('de 0002', TYPE, '04', DATA, 'de 0000'))).toStrictEqual({
      type: 0x04,
      data: {},
    });
    expect(client(fromHex('df 00000002', TYPE, '04', DATA, 'df 00000000'))).toStrictEqual({
      type: 0x04,
      data: {},
    });
  });

  it('reads Hello with an array16 of features', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 40`,
      `${DATA} 82`,
      'a7 76657273696f6e 01', // "version": 1
      'a8 6665617475726573 dc 0001 a7 6e6f7469636573', // "features": ["notices"]
    );
    expect(client(frame)).toStrictEqual({
      type: 0x40,
      data: { version: 1, features: ['notices'] },
    });
  });
});

describe('hand-written server frames, as the Arthas clients read them', () => {
  it('Ping with a uint64 t', () => {
    expect(
      server(fromHex('82', TYPE, '18', DATA, '81', 'a1 74', 'cf 0000018bcfe5687b')),
    ).toStrictEqual({ type: 0x18, data: { t: T } });
  });

  it('RoomJoined with one member', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 11`,
      `${DATA} 85`,
      `a6 726f6f6d4964 ${ROOM_ID_STR}`,
      'a7 6d656d62657273 91 83', // "members": [ {3 entries} ]
      'a2 6964 a7 6d2d616c696365', // "id": "m-alice"
      'a4 6e616d65 a5 416c696365', // "name": "Alice"
      'a5 636f6c6f72 a7 23316132623363', // "color": "#1a2b3c"
      'ab 68617350617373776f7264 c2', // "hasPassword": false
      'a9 657068656d6572616c 00',
      'a9 657870697265734174 00',
    );
    expect(server(frame)).toStrictEqual({
      type: 0x11,
      data: {
        roomId: ROOM_ID,
        members: [{ id: 'm-alice', name: 'Alice', color: '#1a2b3c' }],
        hasPassword: false,
        ephemeral: 0,
        expiresAt: 0,
      },
    });
  });

  it('RelayMessage with an int64 t', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 14`,
      `${DATA} 85`,
      'a8 73656e6465724964 a7 6d2d616c696365', // "senderId": "m-alice"
      'aa 73656e6465724e616d65 a5 416c696365', // "senderName": "Alice"
      `${IV} ${IV_B64_STR}`,
      `${CIPHERTEXT} ${CIPHERTEXT_B64_STR}`,
      'a1 74 d3 0000018bcfe5687b',
    );
    expect(server(frame)).toStrictEqual({
      type: 0x14,
      data: {
        senderId: 'm-alice',
        senderName: 'Alice',
        iv: IV_B64,
        ciphertext: CIPHERTEXT_B64,
        t: T,
      },
    });
  });

  it('Error E001', () => {
    const frame = fromHex(
      '82',
      `${TYPE} 17`,
      `${DATA} 82`,
      'a4 636f6465 a4 45303031', // "code": "E001"
      'a3 6d7367 ae 726f6f6d206e6f7420666f756e64', // "msg": "room not found"
    );
    expect(server(frame)).toStrictEqual({
      type: 0x17,
      data: { code: 'E001', msg: 'room not found' },
    });
  });

  it('RoomClosed', () => {
    const frame = fromHex('82', TYPE, '16', DATA, '81', 'a6 726561736f6e', 'a7 65787069726564');
    expect(server(frame)).toStrictEqual({ type: 0x16, data: { reason: 'expired' } });
  });
});

describe('frames from another MessagePack encoder (@msgpack/msgpack)', () => {
  it('reads a Pong whose t was forced to float64', () => {
    const frame = referenceEncode({ type: 6, data: { t: T } }, { forceIntegerToFloat: true });
    expect(toHex(frame)).toContain('cb4278bcfe5687b000');
    expect(client(frame)).toStrictEqual({ type: 0x06, data: { t: T } });
  });

  it('reads a CreateRoom with the data fields in a different order', () => {
    const frame = referenceEncode({
      data: { expiry: 604_800, ephemeral: 60, password: PASSWORD_HASH, name: '  Zoë  ' },
      type: 1,
    });
    expect(client(frame)).toStrictEqual({
      type: 0x01,
      data: { name: 'Zoë', password: PASSWORD_HASH, ephemeral: 60, expiry: 604_800 },
    });
  });

  it('reads binary opaque fields from Uint8Array views', () => {
    const backing = counting(64);
    const frame = referenceEncode({
      type: 7,
      data: { iv: backing.subarray(0, 12), ciphertext: backing.subarray(12, 40) },
    });
    expect(client(frame)).toStrictEqual({
      type: 0x07,
      data: { iv: counting(12), ciphertext: counting(28, 12) },
    });
  });

  it('reads a SendFileMeta with an unknown extra field', () => {
    const frame = referenceEncode({
      type: 8,
      data: { transferId: 'f', iv: IV_B64, ciphertext: CIPHERTEXT_B64, mime: 'image/png' },
    });
    expect(client(frame)).toStrictEqual({
      type: 0x08,
      data: { transferId: 'f', iv: IV_B64, ciphertext: CIPHERTEXT_B64 },
    });
  });
});
