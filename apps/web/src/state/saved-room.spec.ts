import { describe, expect, it } from 'vitest';
import { roomMemory, SAVED_ROOM_STORAGE_KEY } from './saved-room.js';

function storage() {
  const items = new Map<string, string>();
  return {
    items,
    storage: {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => void items.set(k, v),
      removeItem: (k: string) => void items.delete(k),
    } as Storage,
  };
}

const room = {
  code: { roomId: 'V1StGXR8_Z5jdHi6B-myT', key: 'A'.repeat(43) },
  name: 'Ana',
  passwordHash: 'a'.repeat(64),
  signing: { seed: new Uint8Array(32).fill(7), publicKey: new Uint8Array(32).fill(9) },
};

describe('roomMemory', () => {
  it('keeps the room, nickname, password hash and signing key, and forgets them', () => {
    const { storage: s } = storage();
    const memory = roomMemory(() => s);
    memory.save(room);
    expect(memory.load()).toEqual(room);
    memory.clear();
    expect(memory.load()).toBeUndefined();
  });

  it('removes a record it cannot read instead of failing', () => {
    const { storage: s, items } = storage();
    for (const bad of [
      '{',
      '{"v":2}',
      JSON.stringify({ v: 1, code: 'nope', name: 'A', passwordHash: '' }),
    ]) {
      items.set(SAVED_ROOM_STORAGE_KEY, bad);
      expect(roomMemory(() => s).load()).toBeUndefined();
      expect(items.has(SAVED_ROOM_STORAGE_KEY)).toBe(false);
    }
  });

  it('works on without storage', () => {
    const memory = roomMemory(() => {
      throw new Error('SecurityError');
    });
    memory.save(room);
    expect(memory.load()).toBeUndefined();
  });
});
