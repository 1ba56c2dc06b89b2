import type { ClientMessage } from '@hush/protocol';
import { ClientType, ErrorCode, encode } from '@hush/protocol';
import { describe, expect, it } from 'vitest';
import { frameEvent } from './frame-event.js';

const MAX = 1024;
const LIMITS = { maxFrameBytes: MAX, nameMaxCodePoints: 5, maxExpirySeconds: 60 };

describe('frameEvent: one raw frame to one connection event', () => {
  it('turns a text frame into TEXT_FRAME', () => {
    expect(frameEvent('{"type":1}', LIMITS)).toEqual({ type: 'TEXT_FRAME' });
  });

  it('turns undecodable bytes into INVALID with E005', () => {
    expect(frameEvent(Buffer.from([0x82, 0xa4]), LIMITS)).toEqual({
      type: 'INVALID',
      error: expect.objectContaining({ code: ErrorCode.InvalidMessage, reason: 'undecodable' }),
    });
  });

  it('refuses a frame over maxFrameBytes before decoding it', () => {
    expect(frameEvent(new Uint8Array(MAX + 1), LIMITS)).toEqual({
      type: 'INVALID',
      error: expect.objectContaining({ reason: 'oversized_frame' }),
    });
  });

  const cases: [ClientMessage, unknown][] = [
    [
      { type: ClientType.CreateRoom, data: { name: 'a', password: '', ephemeral: 0, expiry: 0 } },
      { type: 'CREATE_ROOM', data: { name: 'a', password: '', ephemeral: 0, expiry: 0 } },
    ],
    [
      { type: ClientType.JoinRoom, data: { roomId: 'R'.repeat(21), name: 'b', password: '' } },
      { type: 'JOIN_ROOM', data: { roomId: 'R'.repeat(21), name: 'b', password: '' } },
    ],
    [{ type: ClientType.LeaveRoom, data: {} }, { type: 'LEAVE_ROOM' }],
    [{ type: ClientType.Pong, data: { t: 5 } }, { type: 'PONG' }],
    [
      { type: ClientType.Hello, data: { version: 1, features: ['notices'] } },
      { type: 'HELLO', data: { version: 1, features: ['notices'] } },
    ],
    ...(
      [
        { type: ClientType.SendMessage, data: { iv: 'i', ciphertext: 'c' } },
        { type: ClientType.Typing, data: { typing: false } },
        { type: ClientType.SendReaction, data: { iv: 'i', ciphertext: 'c' } },
        { type: ClientType.SendFileMeta, data: { transferId: 't', iv: 'i', ciphertext: 'c' } },
        {
          type: ClientType.SendFileChunk,
          data: { transferId: 't', index: 1, iv: 'i', data: Buffer.from([1]) },
        },
        { type: ClientType.SendFileComplete, data: { transferId: 't' } },
        { type: ClientType.SendFileCancel, data: { transferId: 't' } },
        { type: ClientType.SendFileAck, data: { transferId: 't' } },
      ] as ClientMessage[]
    ).map((message): [ClientMessage, unknown] => [message, { type: 'RELAY', message }]),
  ];

  it.each(cases.map(([message, event]) => [message.type, message, event] as const))(
    'maps client message 0x%s to its event',
    (_type, message, event) => {
      expect(frameEvent(Buffer.from(encode(message)), LIMITS)).toEqual(event);
    },
  );

  it("applies the relay's configured name limit and clamps the expiry to its maximum", () => {
    const create = (name: string, expiry: number) =>
      frameEvent(
        Buffer.from(
          encode({
            type: ClientType.CreateRoom,
            data: { name, password: '', ephemeral: 0, expiry },
          }),
        ),
        LIMITS,
      );
    expect(create('abcde', 60)?.type).toBe('CREATE_ROOM');
    expect(create('abcdef', 60)?.type).toBe('INVALID');
    expect(create('abcde', 61)).toMatchObject({ type: 'CREATE_ROOM', data: { expiry: 60 } });
  });

  it('ignores a message type it does not know, as the Arthas server does', () => {
    const unknown = Buffer.from(encode({ type: 0x0d, data: {} } as never));
    expect(frameEvent(unknown, LIMITS)).toBeUndefined();
  });

  it('covers every client message type', () => {
    expect(new Set(cases.map(([m]) => m.type))).toEqual(new Set(Object.values(ClientType)));
  });
});
