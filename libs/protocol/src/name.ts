import { NAME_MAX_CODE_POINTS, NAME_MIN_CODE_POINTS } from './limits.js';

/** Control characters and the bidirectional overrides that can disguise a nickname. */
const FORBIDDEN = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;

/**
 * Trims a nickname and checks it: 1–20 code points, no control characters. Returns the trimmed
 * name, or `undefined` when it is not acceptable.
 */
export function normalizeName(
  raw: string,
  maxCodePoints: number = NAME_MAX_CODE_POINTS,
): string | undefined {
  const name = raw.trim();
  const length = [...name].length;
  if (length < NAME_MIN_CODE_POINTS || length > maxCodePoints || FORBIDDEN.test(name)) {
    return undefined;
  }
  return name;
}

/** The key under which two nicknames collide: case-insensitive, Unicode-normalised. */
export function nameKey(name: string): string {
  return name.normalize('NFKC').toLocaleLowerCase('en-US');
}
