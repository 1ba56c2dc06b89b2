import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, signableBytes } from './canonical-json.js';
import { HushCryptoError } from './errors.js';
import { ANNOUNCEMENT_VECTOR, GO_ONLY_VECTOR, REPLY_VECTOR } from './fixtures/signing-vectors.js';

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe('canonicalJson, web form (the Arthas web client)', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson(REPLY_VECTOR.payload)).toBe(REPLY_VECTOR.canonical);
    expect(canonicalJson(ANNOUNCEMENT_VECTOR.payload)).toBe(ANNOUNCEMENT_VECTOR.canonical);
    expect(canonicalJson({ b: [{ z: 1, a: 2 }, 'x'], a: null, c: true })).toBe(
      '{"a":null,"b":[{"a":2,"z":1},"x"],"c":true}',
    );
  });

  it('keeps arrays in order and writes strings and numbers as JSON.stringify does', () => {
    expect(canonicalJson(['b', 'a', 1.5, -0, 1e21, '\u0007"\\'])).toBe(
      '["b","a",1.5,0,1e+21,"\\u0007\\"\\\\"]',
    );
  });

  it('orders keys by UTF-16 code units, as JavaScript sorts', () => {
    // U+FF61 sorts after the surrogate pair of U+1F600 in UTF-16, before it in code points.
    expect(canonicalJson({ '\uff61': 1, '😀': 2 })).toBe('{"😀":2,"｡":1}');
  });

  it('leaves out undefined members, as JSON.stringify does', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it.each([
    ['a bigint', { a: 1n }],
    ['a function', { a: () => 1 }],
    ['NaN', { a: Number.NaN }],
    ['undefined at the top', undefined],
  ])('refuses %s', (_label, value) => {
    expect(() => canonicalJson(value)).toThrow(HushCryptoError);
  });

  it('refuses a cycle', () => {
    const value: Record<string, unknown> = {};
    value['self'] = value;
    expect(() => canonicalJson(value)).toThrow(/cycle/);
  });

  it('gives the same string for any key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
        const reversed = Object.fromEntries(Object.entries(object).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(object));
        expect(JSON.parse(canonicalJson(object))).toStrictEqual(JSON.parse(JSON.stringify(object)));
      }),
    );
  });
});

describe('canonicalJson, Go form (the Arthas Go CLI)', () => {
  it('is byte-identical to the web form for printable text', () => {
    expect(canonicalJson(REPLY_VECTOR.payload, 'go')).toBe(REPLY_VECTOR.canonical);
    const printable = fc
      .string({ unit: 'grapheme' })
      .filter((s) => [...s].every((c) => /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(c)));
    fc.assert(
      fc.property(fc.dictionary(printable, printable), (object) => {
        // Keys of the same script sort alike in both orders; compare within the BMP only.
        fc.pre(Object.keys(object).every((key) => ![...key].some((c) => c.length > 1)));
        expect(canonicalJson(object, 'go')).toBe(canonicalJson(object));
      }),
    );
  });

  it('escapes what Go does not print: control characters, the zero-width joiner, NBSP', () => {
    expect(canonicalJson(GO_ONLY_VECTOR.payload, 'go')).toBe(GO_ONLY_VECTOR.goCanonical);
    expect(canonicalJson(GO_ONLY_VECTOR.payload)).toBe(GO_ONLY_VECTOR.webCanonical);
    expect(canonicalJson('\u0001\u007f\u00a0\u200b\t\n\r\b\f\u000b', 'go')).toBe(
      '"\\x01\\x7f\\u00a0\\u200b\\t\\n\\r\\b\\f\\v"',
    );
    expect(canonicalJson('tag \u{e0041}', 'go')).toBe('"tag \\U000e0041"');
  });

  it('writes an unpaired surrogate as U+FFFD, as encoding/json decoded it', () => {
    expect(canonicalJson('a\ud800b', 'go')).toBe('"a\ufffdb"');
  });

  it('writes numbers without exponents, integral ones without a fraction', () => {
    expect(canonicalJson([1, -0, 2.5, 1e21, 1e-7, 2 ** 63, 123456789012], 'go')).toBe(
      '[1,0,2.5,1000000000000000000000,0.0000001,9223372036854776000,123456789012]',
    );
  });

  it('orders keys by code point (UTF-8 bytes), as sort.Strings does', () => {
    expect(canonicalJson({ '\uff61': 1, '😀': 2 }, 'go')).toBe('{"｡":1,"😀":2}');
  });
});

describe('signableBytes', () => {
  it('is the UTF-8 of the canonical form without sig', () => {
    const bytes = signableBytes({ ...REPLY_VECTOR.payload, sig: REPLY_VECTOR.sig });
    expect(text(bytes)).toBe(REPLY_VECTOR.canonical);
    expect(bytes[0]).toBe(0x7b);
    expect(bytes.length).toBe(new TextEncoder().encode(REPLY_VECTOR.canonical).length);
  });
});
