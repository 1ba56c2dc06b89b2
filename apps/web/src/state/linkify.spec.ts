import { describe, expect, it } from 'vitest';
import { linkParts } from './linkify.js';

describe('linkParts', () => {
  it('turns web addresses into links and leaves the rest as text', () => {
    expect(linkParts('see https://example.com/a?b=1, or example.org.')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { kind: 'text', text: ', or ' },
      { kind: 'link', text: 'example.org', href: 'https://example.org' },
      { kind: 'text', text: '.' },
    ]);
  });

  it('never links other schemes or e-mail addresses', () => {
    for (const text of [
      'javascript:alert(1)',
      'mailto:a@b.example',
      'ftp://files.example/x',
      'a@b.example',
    ]) {
      expect(linkParts(text).every((part) => part.kind === 'text')).toBe(true);
    }
  });
});
