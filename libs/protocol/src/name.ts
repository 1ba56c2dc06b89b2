import { CONFUSABLES } from './confusables.generated.js';
import { NAME_MAX_CODE_POINTS, NAME_MIN_CODE_POINTS } from './limits.js';

/**
 * Code points that look like nothing at all yet are neither `White_Space` nor
 * `Default_Ignorable_Code_Point`, so Unicode's own properties do not flag them: the Braille
 * pattern blank (a symbol whose glyph has no dots), the musical null notehead and the Khitan
 * filler. The Hangul fillers are default-ignorable already; they are listed for the reader, as
 * the best-known blank nicknames.
 */
const BLANKS = ['\u2800', '\u{1D159}', '\u{16FE4}', '\u115F', '\u1160', '\u3164', '\uFFA0'];

/**
 * Never in a nickname: control, format (Cf, the bidirectional controls among them), surrogate
 * and line/paragraph separator code points, every default-ignorable code point (zero-width
 * characters, joiners, variation selectors, tags, Hangul fillers…) and the blanks above. The
 * only default-ignorables allowed are parts of emoji sequences, see {@link EMOJI_PARTS}.
 */
const FORBIDDEN = new RegExp(
  `[\\p{Cc}\\p{Cf}\\p{Cs}\\p{Zl}\\p{Zp}\\p{Default_Ignorable_Code_Point}]|${BLANKS.join('|')}`,
  'u',
);

/**
 * The default-ignorable code points that emoji need (UTS #51): a zero-width joiner between two
 * pictographs (👩‍💻), a variation selector 15/16 right after an emoji (❤️), and tag characters
 * closed by CANCEL TAG after a black flag (🏴 + tags = a subdivision flag).
 */
const EMOJI_PARTS =
  /(?<=\p{Extended_Pictographic}(?:[\u{1F3FB}-\u{1F3FF}]|\uFE0F)?)\u200D(?=\p{Extended_Pictographic})|(?<=\p{Emoji})(?:\uFE0E|\uFE0F)|(?<=\u{1F3F4})[\u{E0020}-\u{E007E}]+\u{E007F}/gu;

/** A code point that shows something on its own: a letter, a digit, punctuation or a symbol. */
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u;

/** Removed before comparing names; NFKC_Casefold and the UTS #39 skeleton both drop them. */
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * Trims a nickname and checks it: 1–20 code points; no control, format, default-ignorable or
 * blank code points except inside emoji sequences; at least one visible character (a letter,
 * digit, punctuation mark or symbol). Returns the trimmed name, or `undefined` when it is not
 * acceptable.
 */
export function normalizeName(
  raw: string,
  maxCodePoints: number = NAME_MAX_CODE_POINTS,
): string | undefined {
  const name = raw.trim();
  const length = [...name].length;
  if (length < NAME_MIN_CODE_POINTS || length > maxCodePoints) return undefined;
  const bare = name.replace(EMOJI_PARTS, '');
  if (FORBIDDEN.test(bare) || !VISIBLE.test(bare)) return undefined;
  return name;
}

/**
 * Unicode's NFKC_Casefold, approximated with what JavaScript has: NFKC, default-ignorable code
 * points removed, full case folding (lower, upper, lower: ẞ, ß and SS agree, and so do σ and ς,
 * which a lone toLowerCase misses), NFKC again.
 */
function foldName(name: string): string {
  return name
    .normalize('NFKC')
    .replace(IGNORABLE, '')
    .toLowerCase()
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC');
}

let prototypes: Map<string, string> | undefined;

/** The confusables table as a map from source code point to prototype, built on first use. */
function confusables(): Map<string, string> {
  if (prototypes === undefined) {
    prototypes = new Map();
    for (const chunk of CONFUSABLES) {
      for (const entry of chunk.split('\n')) {
        const first = entry.codePointAt(0);
        if (first === undefined) continue;
        const source = String.fromCodePoint(first);
        prototypes.set(source, entry.slice(source.length));
      }
    }
  }
  return prototypes;
}

/**
 * The UTS #39 skeleton of a string: NFD, default-ignorable code points removed, every code point
 * replaced by its prototype in Unicode's confusables table, NFD again. Two strings with the same
 * skeleton look alike ("bob" with a Cyrillic о, "rn" and "m"). The table is pruned to what can
 * occur after {@link nameKey}'s folding, so call this on folded text only.
 */
function skeleton(text: string): string {
  const table = confusables();
  let out = '';
  for (const ch of text.normalize('NFD').replace(IGNORABLE, '')) out += table.get(ch) ?? ch;
  return out.normalize('NFD');
}

/**
 * The key under which two nicknames collide in a room: the UTS #39 skeleton of the NFKC-casefolded
 * name, with runs of spaces made one. "Alice", "ALICE", "Ａｌｉｃｅ" and "Alice" + U+200B share a
 * key, as do "Straße" and "STRASSE", and "bob" and "bоb" (Cyrillic о).
 */
export function nameKey(name: string): string {
  return skeleton(foldName(name)).replace(/ {2,}/g, ' ');
}
