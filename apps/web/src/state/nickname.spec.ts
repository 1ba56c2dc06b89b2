import { describe, expect, it, vi } from 'vitest';
import { NICKNAME_STORAGE_KEY, nicknameMemory } from './nickname.js';

describe('nicknameMemory', () => {
  it('stores only the nickname, under one key, and forgets it on request', () => {
    localStorage.clear();
    const memory = nicknameMemory(() => localStorage);
    expect(memory.recall()).toBeUndefined();
    memory.remember('Ana');
    expect(memory.recall()).toBe('Ana');
    expect(Object.keys(localStorage)).toEqual([NICKNAME_STORAGE_KEY]);
    memory.forget();
    expect(memory.recall()).toBeUndefined();
    expect(localStorage.length).toBe(0);
  });

  it('keeps working when storage is unavailable', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const memory = nicknameMemory(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    expect(memory.recall()).toBeUndefined();
    expect(() => memory.remember('Ana')).not.toThrow();
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });
});
