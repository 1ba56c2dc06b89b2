import fc from 'fast-check';
import unhomoglyph from 'unhomoglyph';
import { describe, expect, it } from 'vitest';
import { CONFUSABLES, CONFUSABLES_SOURCE } from './confusables.generated.js';
import { NAME_MAX_CODE_POINTS, nameKey, normalizeName } from './index.js';

/** Letters, marks and spaces that the confusables table or NFKC fold, and some that they do not. */
const confusableHeavy = fc.oneof(
  fc.constantFrom(...'aаɑαоοօ0OoІIl1|ӏmrnѕсеԁһјʼ‘’\'"ｂＢß ẞ\u0301\u0308\u200b\ufe0f'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

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
    ['a halfwidth Hangul filler', '\uffa0'],
    ['Hangul choseong and jungseong fillers', '\u115f\u1160'],
    ['a Braille pattern blank', '\u2800'],
    ['Braille pattern blanks between spaces', '\u2800 \u2800'],
    ['a musical null notehead', '\u{1d159}'],
    ['a word joiner and a variation selector', '\u2060\ufe0f'],
    ['combining marks', '\u0301\u0308'],
  ])('rejects a name made only of invisible code points: %s', (_, raw) => {
    expect(normalizeName(raw)).toBeUndefined();
  });

  it.each([
    ['a Braille pattern blank (U+2800)', '\u2800'],
    ['a Hangul filler (U+3164)', '\u3164'],
    ['a halfwidth Hangul filler (U+FFA0)', '\uffa0'],
    ['a Hangul choseong filler (U+115F)', '\u115f'],
    ['a Hangul jungseong filler (U+1160)', '\u1160'],
    ['a musical null notehead (U+1D159)', '\u{1d159}'],
    ['a Khitan small script filler (U+16FE4)', '\u{16fe4}'],
    ['a zero-width space (U+200B)', '\u200b'],
    ['a zero-width non-joiner (U+200C)', '\u200c'],
    ['a zero-width joiner between letters (U+200D)', '\u200d'],
    ['a left-to-right mark (U+200E)', '\u200e'],
    ['a right-to-left mark (U+200F)', '\u200f'],
    ['an Arabic letter mark (U+061C)', '\u061c'],
    ['a word joiner (U+2060)', '\u2060'],
    ['an invisible separator (U+2063)', '\u2063'],
    ['a byte order mark (U+FEFF)', '\ufeff'],
    ['a soft hyphen (U+00AD)', '\u00ad'],
    ['a combining grapheme joiner (U+034F)', '\u034f'],
    ['a Mongolian vowel separator (U+180E)', '\u180e'],
    ['a variation selector after a letter (U+FE0F)', '\ufe0f'],
    ['a variation selector 1 (U+FE00)', '\ufe00'],
    ['an ideographic variation selector (U+E0100)', '\u{e0100}'],
    ['a tag character outside a flag (U+E0041)', '\u{e0041}'],
    ['a musical beam control (U+1D173)', '\u{1d173}'],
    ['a line separator (U+2028)', '\u2028'],
    ['a paragraph separator (U+2029)', '\u2029'],
    ['a lone surrogate', '\ud800'],
  ])('rejects a visible name containing %s', (_, character) => {
    expect(normalizeName(`Al${character}ice`)).toBeUndefined();
    // Appended, it is refused too, unless it is one of the characters trimming removes.
    const trimmed = `Alice${character}`.trim();
    expect(normalizeName(`Alice${character}`)).toBe(trimmed === 'Alice' ? 'Alice' : undefined);
  });

  it.each([
    ['a ZWJ sequence', '👩‍💻'],
    ['a ZWJ sequence with a skin tone', '👩🏽‍💻'],
    ['a family', '👨‍👩‍👧'],
    ['a heart with VS16 and a name', '❤️ Bob'],
    ['a rainbow flag (VS16 and ZWJ)', '🏳️‍🌈'],
    ['a heart on fire (VS16 then ZWJ)', '❤️‍🔥'],
    [
      'a subdivision flag (tag characters)',
      '🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}',
    ],
    ['a keycap', '1️⃣ Ann'],
    ['a text-style emoji (VS15)', '☎\ufe0e'],
  ])('keeps emoji: %s', (_, name) => {
    expect(normalizeName(name)).toBe(name);
  });

  it('refuses the joiners and tags of emoji outside an emoji sequence', () => {
    expect(normalizeName('👩\u200d')).toBeUndefined();
    expect(normalizeName('a\u200d💻')).toBeUndefined();
    expect(normalizeName('🏴\u{e0067}\u{e0062}')).toBeUndefined(); // no CANCEL TAG
    expect(normalizeName('x\u{e0067}\u{e007f}')).toBeUndefined(); // not after a black flag
  });

  it('returns the name as typed, without normalising it (display is the client’s business)', () => {
    expect(normalizeName('Ａｌｉｃｅ')).toBe('Ａｌｉｃｅ');
    expect(normalizeName('e\u0301')).toBe('e\u0301');
  });

  it('returns only trimmed names of 1–20 code points with a visible character and nothing invisible', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (raw) => {
        const name = normalizeName(raw);
        if (name === undefined) return;
        expect(name).toBe(raw.trim());
        expect([...name].length).toBeGreaterThanOrEqual(1);
        expect([...name].length).toBeLessThanOrEqual(NAME_MAX_CODE_POINTS);
        expect(name).toMatch(/[\p{L}\p{N}\p{P}\p{S}]/u);
        // Random strings never form emoji sequences, so nothing invisible may pass.
        expect(name).not.toMatch(/[\p{Cc}\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}\u2800]/u);
      }),
      { numRuns: 5_000 },
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
    ['Alice', 'Alice\u200b'], // zero-width space (refused as a name, but still the same key)
    ['Bob', 'B\u00adob'], // soft hyphen
    ['❤ Ann', '❤️ Ann'], // with and without the emoji variation selector
    ['👩‍💻', '👩💻'], // with and without the zero-width joiner
    ['bob', 'b\u043eb'], // Cyrillic о
    ['bob', 'BOB'],
    ['bob', 'ｂｏｂ'], // fullwidth
    ['bob', 'Ｂ\u041eＢ'], // fullwidth B, Cyrillic capital О
    ['paypal', 'p\u0430yp\u0430l'], // Cyrillic а
    ['a', '\u0430'], // Latin a and Cyrillic а
    ['Ivan', '\u0406van'], // Cyrillic І
    ['Olga', 'Օlga'], // Armenian օ
    ['modern', 'rnodern'], // m and r + n
    ['Mary Jane', 'Mary  Jane'], // a run of spaces
    ['Mary Jane', 'Mary\u3000Jane'], // ideographic space
    ['scope', 'ѕсоре'], // every letter Cyrillic
  ])('makes %j and %j collide', (a, b) => {
    expect(nameKey(a)).toBe(nameKey(b));
  });

  it.each([
    ['Alice', 'Alicia'],
    ['Alice', 'Alice 2'],
    ['Bob', 'Bób'],
    ['Bob', 'Bo b'],
    ['Anna', 'Anne'],
  ])('keeps %j and %j apart', (a, b) => {
    expect(nameKey(a)).not.toBe(nameKey(b));
  });

  it('is lowercase for names of lowercase-prototype letters', () => {
    expect(nameKey('Alice B')).toBe('alice b');
  });

  it('is insensitive to ASCII case for any name', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (name) => {
        expect(nameKey(name.toUpperCase())).toBe(nameKey(name.toLowerCase()));
      }),
    );
  });

  it('keys U+0345 (ypogegrammeni, which case-maps to a letter) the same in any canonical order', () => {
    const key = nameKey('a\u0345\u0300');
    expect(nameKey('a\u0300\u0345')).toBe(key);
    expect(nameKey('A\u0300\u0399')).toBe(key);
  });

  it('does not depend on the normalisation form or the case of its input', () => {
    fc.assert(
      fc.property(fc.string({ unit: tricky, maxLength: 20 }), (name) => {
        const key = nameKey(name);
        expect(nameKey(name.normalize('NFD'))).toBe(key);
        expect(nameKey(name.normalize('NFKC'))).toBe(key);
        // Case-map a canonical form: String#toUpperCase does not preserve canonical equivalence
        // (U+0345 upper-cases to a base letter, so "\u0345\u0300" and its equivalent
        // "\u0300\u0345" upper-case to strings that are not equivalent).
        const canonical = name.normalize('NFD');
        expect(nameKey(canonical.toUpperCase())).toBe(nameKey(canonical.toLowerCase()));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('the confusables table', () => {
  /** The UTS #39 skeleton with the package's whole table, as nameKey would compute it. */
  const fullKey = (name: string) =>
    unhomoglyph(foldForTest(name).normalize('NFD').replace(IGNORABLE, ''))
      .normalize('NFD')
      .replace(/ {2,}/g, ' ');
  const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
  /** Unassigned, private-use and surrogate code points: no mappings, no table entries. */
  const UNASSIGNED_OR_PRIVATE = /^[\p{Cn}\p{Co}\p{Cs}]$/u;
  const foldForTest = (s: string) =>
    s
      .normalize('NFKC')
      .replace(IGNORABLE, '')
      .toLowerCase()
      .toUpperCase()
      .toLowerCase()
      .normalize('NFKC');

  it(`holds the package's prototypes (${CONFUSABLES_SOURCE.package}, Unicode ${CONFUSABLES_SOURCE.unicode}) unchanged`, () => {
    const entries = CONFUSABLES.flatMap((chunk) => chunk.split('\n')).filter((e) => e !== '');
    expect(entries.length).toBeGreaterThan(2_000);
    for (const entry of entries) {
      const source = String.fromCodePoint(entry.codePointAt(0)!);
      expect(unhomoglyph(source)).toBe(entry.slice(source.length));
    }
  });

  it('was pruned of nothing nameKey can reach: every assigned code point gets the key the whole table gives', () => {
    const names: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp += 1) {
      const name = String.fromCodePoint(cp);
      if (!UNASSIGNED_OR_PRIVATE.test(name)) names.push(name);
    }
    expect(names.length).toBeGreaterThan(150_000);
    const differing = names.filter((name) => nameKey(name) !== fullKey(name));
    expect(differing.map((name) => name.codePointAt(0)!.toString(16))).toEqual([]);
  }, 120_000);

  it('gives the whole table’s key for names mixing confusable letters', () => {
    fc.assert(
      fc.property(fc.string({ unit: confusableHeavy, maxLength: 20 }), (name) => {
        expect(nameKey(name)).toBe(fullKey(name));
      }),
      { numRuns: 2_000 },
    );
  });
});
