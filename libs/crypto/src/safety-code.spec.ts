import { describe, expect, it } from 'vitest';
import { importRawRoomKey } from './room-key.js';
import { roomSafetyCode } from './safety-code.js';

const key = (byte: number) => importRawRoomKey(new Uint8Array(32).fill(byte));
const signing = (byte: number) => new Uint8Array(32).fill(byte);

describe('roomSafetyCode', () => {
  it('is 30 digits in 6 groups of 5', async () => {
    expect(await roomSafetyCode(await key(1), [signing(2)])).toMatch(/^\d{5}( \d{5}){5}$/);
  });

  it('pins the derivation, so every client computes the same code', async () => {
    // SHA-256("hush-safety-code-v1" || 32 × 0x01 || 32 × 0x02 || 32 × 0x03), computed apart.
    expect(await roomSafetyCode(await key(1), [signing(3), signing(2)])).toBe(
      '51795 31844 93540 81824 90751 67164',
    );
  });

  it('does not depend on the order or repetition of the keys', async () => {
    const room = await key(1);
    const a = await roomSafetyCode(room, [signing(2), signing(3), signing(4)]);
    expect(await roomSafetyCode(room, [signing(4), signing(2), signing(3), signing(2)])).toBe(a);
  });

  it('changes with the room key and with every member key added or swapped', async () => {
    const room = await key(1);
    const base = await roomSafetyCode(room, [signing(2), signing(3)]);
    expect(await roomSafetyCode(await key(9), [signing(2), signing(3)])).not.toBe(base);
    expect(await roomSafetyCode(room, [signing(2), signing(3), signing(5)])).not.toBe(base);
    expect(await roomSafetyCode(room, [signing(2), signing(6)])).not.toBe(base);
    expect(await roomSafetyCode(room, [signing(2)])).not.toBe(base);
  });

  it('refuses keys that are not 32 bytes', async () => {
    await expect(roomSafetyCode(await key(1), [new Uint8Array(31)])).rejects.toThrow(
      expect.objectContaining({ code: 'invalid_key' }),
    );
  });
});
