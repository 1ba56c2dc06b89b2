import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SAFE_FILE_NAME_BYTES, alternativeFileName, sanitizeFileName } from './file-name.js';

const utf8Length = (text: string) => new TextEncoder().encode(text).length;

describe('sanitizeFileName', () => {
  it.each([
    ['photo.jpg', 'photo.jpg'],
    ['../../etc/passwd', 'passwd'],
    ['..\\windows\\system32', 'system32'],
    ['C:\\boot.ini', 'boot.ini'],
    ['dir/', 'dir'],
    ['a:b.txt', 'a_b.txt'],
    ['.bashrc', 'bashrc'],
    ['..', 'file'],
    ['', 'file'],
    ['   ', 'file'],
    ['a\u0000b\u001b[2J.txt', 'a_b_[2J.txt'],
    ['invoice\u202Egpj.exe', 'invoice_gpj.exe'],
    ['report. ', 'report'],
    ['CON', '_CON'],
    ['nul.txt', '_nul.txt'],
    ['what?<>|*.md', 'what_____.md'],
  ])('%j becomes %j', (name, safe) => {
    expect(sanitizeFileName(name)).toBe(safe);
  });

  it('keeps names within 255 UTF-8 bytes, extension kept', () => {
    const long = `${'é'.repeat(300)}.pdf`;
    const safe = sanitizeFileName(long);
    expect(utf8Length(safe)).toBeLessThanOrEqual(MAX_SAFE_FILE_NAME_BYTES);
    expect(safe.endsWith('.pdf')).toBe(true);
  });

  it('always gives a plain, non-empty name without separators, whatever it is given', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (name) => {
        const safe = sanitizeFileName(name);
        expect(safe).not.toBe('');
        expect(safe).not.toMatch(/[/\\\p{Cc}]|^\.|^\.\.$/u);
        expect(utf8Length(safe)).toBeLessThanOrEqual(MAX_SAFE_FILE_NAME_BYTES);
        expect(sanitizeFileName(safe)).toBe(safe);
      }),
    );
  });
});

describe('alternativeFileName', () => {
  it('numbers before the extension', () => {
    expect(alternativeFileName('photo.jpg', 1)).toBe('photo (1).jpg');
    expect(alternativeFileName('README', 2)).toBe('README (2)');
    expect(utf8Length(alternativeFileName(`${'x'.repeat(255)}`, 12))).toBeLessThanOrEqual(255);
  });
});
