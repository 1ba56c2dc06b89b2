import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from './base64url.js';
import { HushCryptoError } from './errors.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Independent oracle: the platform's base64 with the URL-safe substitutions and no padding. */
const oracle = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('toBase64Url', () => {
  it.each([
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ])('encodes the RFC 4648 vector %j as %j without padding', (text, encoded) => {
    expect(toBase64Url(ascii(text))).toBe(encoded);
    expect(fromBase64Url(encoded)).toEqual(ascii(text));
  });

  it('uses - and _ where standard base64 uses + and /', () => {
    expect(toBase64Url(new Uint8Array([0xfb, 0xef, 0xff]))).toBe('--__');
    expect(toBase64Url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  });

  it('agrees with the platform base64 for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(toBase64Url(bytes)).toBe(oracle(bytes));
      }),
    );
  });
});

describe('fromBase64Url', () => {
  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const encoded = toBase64Url(bytes);
        expect(encoded).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(encoded).toHaveLength(Math.ceil((bytes.length * 4) / 3));
        expect(fromBase64Url(encoded)).toEqual(bytes);
      }),
    );
  });

  it('accepts exactly one spelling per byte string', () => {
    const alphabetString = fc.string({
      unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
      maxLength: 40,
    });
    fc.assert(
      fc.property(alphabetString, (text) => {
        let bytes: Uint8Array;
        try {
          bytes = fromBase64Url(text);
        } catch (error) {
          expect(error).toMatchObject({ code: 'invalid_base64url' });
          return;
        }
        expect(toBase64Url(bytes)).toBe(text);
      }),
    );
  });

  it.each([
    ['padding', 'Zg=='],
    ['a single pad', 'Zm8='],
    ['a plus sign', 'ab+c'],
    ['a slash', 'ab/c'],
    ['a leading space', ' Zm9v'],
    ['a trailing newline', 'Zm9v\n'],
    ['a space inside', 'Zm 9v'],
    ['a tab inside', 'Zm\t9v'],
    ['a non-ASCII letter', 'Zm9é'],
    ['a dot', 'Zm9.'],
    ['an impossible length (1)', 'Z'],
    ['an impossible length (5)', 'Zm9vY'],
    ['non-zero trailing bits after one byte', 'Zh'],
    ['non-zero trailing bits after two bytes', 'Zm9'],
  ])('rejects input with %s', (_label, text) => {
    const error = thrown(() => fromBase64Url(text));
    expect(error).toBeInstanceOf(HushCryptoError);
    expect(error).toMatchObject({ code: 'invalid_base64url' });
    expect((error as Error).message).not.toContain(text.trim());
  });

  it('rejects a value that is not a string', () => {
    expect(() => fromBase64Url(42 as unknown as string)).toThrow(
      expect.objectContaining({ code: 'invalid_base64url' }),
    );
  });

  it('decodes the empty string to no bytes', () => {
    expect(fromBase64Url('')).toEqual(new Uint8Array(0));
  });
});
