import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The relay never stores the client's password hash as received: it keeps a salted SHA-256 of
 * it, so whoever reads the presence store cannot replay it to join the room.
 */
export interface PasswordCheck {
  salt: string;
  check: string;
}

function digest(salt: string, passwordHash: string): Buffer {
  return createHash('sha256').update(salt).update(':').update(passwordHash).digest();
}

/** Makes the stored check value for a room's password hash ("" means no password). */
export function makePasswordCheck(passwordHash: string): PasswordCheck | undefined {
  if (passwordHash === '') return undefined;
  const salt = randomBytes(16).toString('base64url');
  return { salt, check: digest(salt, passwordHash).toString('base64url') };
}

/** Constant-time comparison of a joiner's password hash against the stored check value. */
export function passwordMatches(stored: PasswordCheck, passwordHash: string): boolean {
  const expected = Buffer.from(stored.check, 'base64url');
  const actual = digest(stored.salt, passwordHash);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
