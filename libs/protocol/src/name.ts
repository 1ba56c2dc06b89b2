import { NAME_MAX_CODE_POINTS, NAME_MIN_CODE_POINTS } from './limits.js';

/** Control characters and the bidirectional overrides that can disguise a nickname. */
const FORBIDDEN = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;

/**
 * Code points that render as nothing (zero-width space, soft hyphen, joiners, variation
 * selectors, Hangul fillers…). Unicode's NFKC_Casefold drops them for caseless matching.
 */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * Trims a nickname and checks it: 1–20 code points, no control characters, at least one visible
 * character. Returns the trimmed name, or `undefined` when it is not acceptable.
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
  // A name made only of invisible code points would look empty, yet pass the length check.
  if (nameKey(name).trim() === '') return undefined;
  return name;
}

/**
 * The key under which two nicknames collide: Unicode-normalised (NFKC), invisible code points
 * removed and case-folded, so "Alice", "ALICE", "Ａｌｉｃｅ" and "Alice" + U+200B share a key, as do
 * "Straße" and "STRASSE". Look-alike letters from other scripts are not folded together.
 */
export function nameKey(name: string): string {
  // Lower, upper, lower approximates Unicode full case folding (ẞ, ß and SS agree; so do σ and ς),
  // which a lone toLowerCase misses.
  return name
    .normalize('NFKC')
    .replace(INVISIBLE, '')
    .toLowerCase()
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC');
}
