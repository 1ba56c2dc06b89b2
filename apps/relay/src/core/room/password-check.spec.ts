import { createHash, scryptSync } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  legacyPasswordMatches,
  parseCheck,
  PasswordCheckBusyError,
  PasswordChecker,
  SCRYPT_KEY_BYTES,
  SCRYPT_PARAMS,
} from './password-check.js';

/** What an Arthas client sends: the SHA-256 hex of the password. */
const clientHash = (password: string) => createHash('sha256').update(password).digest('hex');

describe('PasswordChecker', () => {
  const checker = new PasswordChecker();

  it('stores the scrypt of the client hash under a random salt, naming its parameters', async () => {
    const hash = clientHash('open sesame');
    const stored = await checker.make(hash);
    const { ln, r, p } = SCRYPT_PARAMS;
    expect(stored).toMatch(
      new RegExp(`^\\$scrypt\\$ln=${ln},r=${r},p=${p}\\$[\\w-]{22}\\$[\\w-]{43}$`),
    );
    const { salt, key } = parseCheck(stored);
    const expected = scryptSync(hash, salt, SCRYPT_KEY_BYTES, { N: 2 ** ln, r, p });
    expect(key.equals(expected)).toBe(true);
    expect(stored).not.toContain(hash);
    // A fresh salt per room: the same password never gives the same stored value twice.
    expect(await checker.make(hash)).not.toBe(stored);
  });

  it('accepts the right client hash and refuses any other', async () => {
    const stored = await checker.make(clientHash('open sesame'));
    expect(await checker.matches(stored, clientHash('open sesame'))).toBe(true);
    expect(await checker.matches(stored, clientHash('open sesame!'))).toBe(false);
    expect(await checker.matches(stored, '')).toBe(false);
  });

  it('stores nothing for a room without a password', async () => {
    expect(await checker.make('')).toBe('');
  });

  it('verifies with the parameters stored in the value, so they can be raised later', async () => {
    const cheaper = new PasswordChecker({ ln: 10, r: 4, p: 1 });
    const stored = await cheaper.make(clientHash('pw'));
    expect(stored.startsWith('$scrypt$ln=10,r=4,p=1$')).toBe(true);
    expect(await checker.matches(stored, clientHash('pw'))).toBe(true);
  });

  it('runs the KDF off the event loop: other work goes on while it runs', async () => {
    let done = false;
    const running = checker.make(clientHash('pw')).then(() => (done = true));
    // A KDF on the event loop would have finished before the next turn of the loop.
    await nextTurn();
    expect(done).toBe(false);
    await running;
  });

  it('bounds the checks waiting for a turn and refuses the rest as busy', async () => {
    const small = new PasswordChecker(SCRYPT_PARAMS, 1, 2);
    const hash = clientHash('pw');
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => small.make(hash)));
    const refused = outcomes.filter((o) => o.status === 'rejected');
    // One runs, two wait, three are refused at once.
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
    expect(refused).toHaveLength(3);
    for (const outcome of refused) {
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(PasswordCheckBusyError);
    }
    expect(small.pending).toBe(0);
    expect(await small.matches(await small.make(hash), hash)).toBe(true);
  });

  it('refuses stored values that are malformed or ask for too much work', async () => {
    const stored = await checker.make(clientHash('pw'));
    const [, , , salt, key] = stored.split('$') as [string, string, string, string, string];
    for (const bad of [
      'not a check value',
      `$scrypt$ln=30,r=8,p=1$${salt}$${key}`,
      `$scrypt$ln=14,r=8,p=99$${salt}$${key}`,
      `$scrypt$ln=20,r=32,p=1$${salt}$${key}`,
      `$scrypt$ln=14,r=8,p=1$${salt}$AAAA`,
      `$argon2id$ln=14,r=8,p=1$${salt}$${key}`,
    ]) {
      await expect(checker.matches(bad, clientHash('pw')), bad).rejects.toThrow(/check value/);
    }
  });
});

describe('legacyPasswordMatches', () => {
  it('still verifies the salted SHA-256 values of rooms made before scrypt', () => {
    const hash = clientHash('pw');
    const check = createHash('sha256').update('salt').update(':').update(hash).digest();
    expect(legacyPasswordMatches('salt', check.toString('base64url'), hash)).toBe(true);
    expect(legacyPasswordMatches('salt', check.toString('base64url'), clientHash('no'))).toBe(
      false,
    );
  });
});
