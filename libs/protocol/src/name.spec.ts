import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NAME_MAX_CODE_POINTS, nameKey, normalizeName } from './index.js';

describe('normalizeName', () => {
  it.each([
    ['  Alice  ', 'Alice'],
    ['\tAlice\n', 'Alice'],
    ['\u3000Alice\u00a0', 'Alice'],
    ['Mary Jane', 'Mary Jane'],
    ['x', 'x'],
  ])('trims %j to %j', (raw, trimmed) => {
    expect(normalizeName(raw)).toBe(trimmed);
  });

  it(`accepts up to ${NAME_MAX_CODE_POINTS} code points, counting astral characters once`, () => {
    expect(normalizeName('a'.repeat(20))).toBe('a'.repeat(20));
    expect(normalizeName('🦊'.repeat(20))).toBe('🦊'.repeat(20));
    expect(normalizeName('𝒜'.repeat(20))).toBe('𝒜'.repeat(20));
    expect(normalizeName('a'.repeat(21))).toBeUndefined();
    expect(normalizeName('🦊'.repeat(21))).toBeUndefined();
  });

  it('counts the length after trimming', () => {
    expect(normalizeName(`   ${'a'.repeat(20)}   `)).toBe('a'.repeat(20));
  });

  it('honours a custom maximum', () => {
    expect(normalizeName('abcde', 5)).toBe('abcde');
    expect(normalizeName('abcdef', 5)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['spaces only', '     '],
    ['mixed whitespace only', ' \t\r\n\u3000\u2003 '],
  ])('rejects a name that is %s', (_, raw) => {
    expect(normalizeName(raw)).toBeUndefined();
  });

  it.each([
    ['NUL', '\u0000'],
    ['BEL', '\u0007'],
    ['a line feed inside', '\n'],
    ['ESC', '\u001b'],
    ['DEL', '\u007f'],
    ['NEL (C1)', '\u0085'],
    ['CSI (C1)', '\u009b'],
    ['LRE', '\u202a'],
    ['RLE', '\u202b'],
    ['PDF', '\u202c'],
    ['LRO', '\u202d'],
    ['RLO', '\u202e'],
    ['LRI', '\u2066'],
    ['RLI', '\u2067'],
    ['FSI', '\u2068'],
    ['PDI', '\u2069'],
  ])('rejects a name containing %s', (_, character) => {
    expect(normalizeName(`Al${character}ice`)).toBeUndefined();
  });

  it.each([
    ['a zero-width space', '\u200b'],
    ['zero-width spaces between spaces', '\u200b \u200b'],
    ['a soft hyphen', '\u00ad'],
    ['a Hangul filler', '\u3164'],
    ['a word joiner and a variation selector', '\u2060\ufe0f'],
  ])('rejects a name made only of invisible code points: %s', (_, raw) => {
    expect(normalizeName(raw)).toBeUndefined();
  });

  it('keeps emoji built with zero-width joiners and variation selectors', () => {
    expect(normalizeName('👩‍💻')).toBe('👩‍💻');
    expect(normalizeName('❤️ Bob')).toBe('❤️ Bob');
  });

  it('returns the name as typed, without normalising it (display is the client’s business)', () => {
    expect(normalizeName('Ａｌｉｃｅ')).toBe('Ａｌｉｃｅ');
    expect(normalizeName('e\u0301')).toBe('e\u0301');
  });

  it('returns only trimmed names of 1–20 code points without control characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (raw) => {
        const name = normalizeName(raw);
        if (name === undefined) return;
        expect(name).toBe(raw.trim());
        expect([...name].length).toBeGreaterThanOrEqual(1);
        expect([...name].length).toBeLessThanOrEqual(NAME_MAX_CODE_POINTS);
        expect(name).not.toMatch(/\p{Cc}/u);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('nameKey', () => {
  /** Any code point, with a bias towards those that case mapping or NFKC treat specially. */
  const tricky = fc.oneof(
    fc.constantFrom('ẞ', 'ß', 'Σ', 'ς', 'İ', 'ı', 'ǅ', 'ﬁ', 'ﬃ', '\u212a', '\u0345', '\u200b', 'ŉ'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  );

  it.each([
    ['Alice', 'ALICE'],
    ['Alice', 'aLiCe'],
    ['Ｂｏｂ', 'bob'], // fullwidth forms, NFKC
    ['ﬁona', 'FIONA'], // ligature, NFKC
    ['Zoë', 'ZOE\u0308'], // precomposed and combining diaeresis
    ['\u212aai', 'kai'], // Kelvin sign
    ['Straße', 'STRASSE'], // full case folding
    ['STRAẞE', 'strasse'], // capital sharp s
    ['ὈΔΥΣΣΕΎΣ', 'ὀδυσσεύς'], // Greek, final sigma
    ['Alice', 'Alice\u200b'], // zero-width space
    ['Bob', 'B\u00adob'], // soft hyphen
  ])('makes %j and %j collide', (a, b) => {
    expect(nameKey(a)).toBe(nameKey(b));
  });

  it.each([
    ['Alice', 'Alicia'],
    ['Alice', 'Alice 2'],
    ['Bob', 'Bób'],
    ['a', '\u0430'], // Latin a and Cyrillic а look alike but are not folded together
  ])('keeps %j and %j apart', (a, b) => {
    expect(nameKey(a)).not.toBe(nameKey(b));
  });

  it('is lowercase for ASCII names', () => {
    expect(nameKey('Alice B')).toBe('alice b');
  });

  it('is insensitive to ASCII case for any name', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (name) => {
        expect(nameKey(name.toUpperCase())).toBe(nameKey(name.toLowerCase()));
      }),
    );
  });

  it('gives the same key when applied twice', () => {
    fc.assert(
      fc.property(fc.string({ unit: tricky, maxLength: 20 }), (name) => {
        expect(nameKey(nameKey(name))).toBe(nameKey(name));
      }),
      { numRuns: 2_000 },
    );
  });
});
