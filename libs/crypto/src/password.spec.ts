import { describe, expect, it } from 'vitest';
import { hashRoomPassword } from './password.js';

describe('hashRoomPassword', () => {
  it('sends the empty string for a room without a password', async () => {
    expect(await hashRoomPassword('')).toBe('');
  });

  it.each([
    // FIPS 180-2 example "abc".
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'correct horse battery staple',
      'c4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa73bd4e39a8a',
    ],
    ['pässwörd 🔑', 'ccb439bf192a0474a9b9ad5ec2f09ac953917ad85c64df2c478e44d7ab291a52'],
  ])('hashes %j to the SHA-256 of its UTF-8 bytes in lowercase hex', async (password, digest) => {
    expect(await hashRoomPassword(password)).toBe(digest);
  });

  it('hashes the password exactly as typed, without trimming', async () => {
    expect(await hashRoomPassword(' abc')).not.toBe(await hashRoomPassword('abc'));
    expect(await hashRoomPassword(' abc')).toMatch(/^[0-9a-f]{64}$/);
  });
});
