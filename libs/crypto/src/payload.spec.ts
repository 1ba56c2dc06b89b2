import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64Url } from './base64url.js';
import { HushCryptoError } from './errors.js';
import {
  decodePayload,
  decodePayloadWithJson,
  replyPreview,
  encodePayload,
  encodePlainText,
  newMessageId,
  type ChatPayload,
} from './payload.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const asText = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function thrown(fn: () => unknown): HushCryptoError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HushCryptoError);
    return error as HushCryptoError;
  }
  throw new Error('expected a throw');
}

const wellFormed = fc.string({ unit: 'grapheme', maxLength: 200 });

describe('encodePayload', () => {
  it('writes UTF-8 JSON with text first, then the other fields', () => {
    expect(asText(encodePayload({ text: 'hi', id: 'm1' }))).toBe('{"text":"hi","id":"m1"}');
    expect(asText(encodePayload({ replyTo: 'm0', id: 'm2', text: 'ok' }))).toBe(
      '{"text":"ok","replyTo":"m0","id":"m2"}',
    );
  });

  it('encodes non-ASCII text as UTF-8 and drops undefined fields', () => {
    const bytes = encodePayload({ text: 'héllo 👋', id: undefined });
    expect(bytes).toEqual(utf8('{"text":"héllo 👋"}'));
  });

  it('keeps extra fields', () => {
    expect(JSON.parse(asText(encodePayload({ text: 'x', extra: { id: 'a' }, v: 2 })))).toEqual({
      text: 'x',
      extra: { id: 'a' },
      v: 2,
    });
  });

  it.each([
    ['text is missing', { id: 'x' }],
    ['text is a number', { text: 5 }],
    ['id is a number', { text: 'x', id: 5 }],
    ['replyTo is an object', { text: 'x', replyTo: {} }],
    ['a field is a bigint', { text: 'x', big: 1n }],
    ['the payload is null', null],
  ])('refuses a payload where %s', (_label, payload) => {
    expect(thrown(() => encodePayload(payload as unknown as ChatPayload)).code).toBe(
      'invalid_payload',
    );
  });

  it('refuses a cyclic payload', () => {
    const payload: ChatPayload = { text: 'x' };
    payload['self'] = payload;
    expect(thrown(() => encodePayload(payload)).code).toBe('invalid_payload');
  });
});

describe('decodePayload', () => {
  it('reads a JSON object with a string text field (Arthas web and our clients)', () => {
    expect(decodePayload(utf8('{"text":"hello","id":"abc","replyTo":"xyz"}'))).toStrictEqual({
      text: 'hello',
      id: 'abc',
      replyTo: 'xyz',
    });
  });

  it('reads an Arthas reply and signature, and keeps unknown fields', () => {
    const arthas = {
      text: 'see above',
      reply: { stableId: 'm-ana:1700000000123', senderName: 'ana', preview: 'original' },
      sig: 'b7jmExCnNNs5UF',
      mood: { nested: [1] },
    };
    expect(decodePayload(utf8(JSON.stringify(arthas)))).toStrictEqual(arthas);
  });

  it('drops a reply that is not {stableId, senderName, preview} strings, and mistyped known fields', () => {
    const json = {
      text: 'a',
      reply: { id: 'k3', text: 'original' },
      type: 5,
      pubkey: [],
      sig: null,
    };
    expect(decodePayload(utf8(JSON.stringify(json)))).toStrictEqual({ text: 'a' });
  });

  it('returns the parsed JSON untouched beside the cleaned payload, for signature checks', () => {
    const raw = '{"text":"a","id":5,"sig":"x"}';
    const { payload, json } = decodePayloadWithJson(utf8(raw));
    expect(payload).toStrictEqual({ text: 'a', sig: 'x' });
    expect(json).toStrictEqual({ text: 'a', id: 5, sig: 'x' });
    expect(decodePayloadWithJson(utf8('plain')).json).toBeUndefined();
  });

  it('reads plain UTF-8 text (Arthas CLI) as { text }', () => {
    expect(decodePayload(utf8('hello from the terminal'))).toStrictEqual({
      text: 'hello from the terminal',
    });
    expect(decodePayload(encodePlainText('ünïcödé ✓'))).toStrictEqual({ text: 'ünïcödé ✓' });
    expect(decodePayload(new Uint8Array(0))).toStrictEqual({ text: '' });
  });

  it.each([
    ['a JSON string', '"42"'],
    ['a JSON number', '42'],
    ['a JSON array', '[1]'],
    ['JSON null', 'null'],
    ['JSON true', 'true'],
    ['an object without text', '{"x":1}'],
    ['an object with a numeric text', '{"text":5}'],
    ['an object with a null text', '{"text":null}'],
    ['text that only starts like JSON', '{oops'],
    ['an object followed by more text', '{"text":"a"} and more'],
  ])('reads %s as plain text of the whole string', (_label, raw) => {
    expect(decodePayload(utf8(raw))).toStrictEqual({ text: raw });
  });

  it('drops id and replyTo fields that are not strings, keeping the rest', () => {
    expect(decodePayload(utf8('{"text":"a","id":5,"replyTo":{},"mood":"ok"}'))).toStrictEqual({
      text: 'a',
      mood: 'ok',
    });
  });

  it('accepts whitespace around a JSON payload', () => {
    expect(decodePayload(utf8(' \n{"text":"a"}\n'))).toStrictEqual({ text: 'a' });
  });

  it('does not let a "__proto__" key change the prototype', () => {
    const payload = decodePayload(utf8('{"text":"a","__proto__":{"polluted":true}}'));
    expect(Object.getPrototypeOf(payload)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(payload['polluted']).toBeUndefined();
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['an invalid lead byte', [0xff]],
    ['a truncated sequence', [0x68, 0xc3]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('refuses %s as invalid UTF-8', (_label, bytes) => {
    expect(thrown(() => decodePayload(new Uint8Array(bytes))).code).toBe('invalid_payload');
  });

  it('round-trips payloads made by encodePayload', () => {
    const payloadArb = fc.record(
      {
        text: wellFormed,
        id: fc.string(),
        replyTo: fc.string(),
        extra: fc.jsonValue(),
      },
      { requiredKeys: ['text'] },
    );
    fc.assert(
      fc.property(payloadArb, (payload) => {
        // JSON has no -0; compare with what JSON itself would give back.
        const expected: unknown = JSON.parse(JSON.stringify(payload));
        expect(decodePayload(encodePayload(payload))).toStrictEqual(expected);
      }),
    );
  });

  it('round-trips any plain text that is not a JSON payload', () => {
    fc.assert(
      fc.property(wellFormed, (text) => {
        fc.pre(!text.trimStart().startsWith('{'));
        expect(decodePayload(encodePlainText(text))).toStrictEqual({ text });
      }),
    );
  });

  it('keeps a leading byte order mark of plain text', () => {
    expect(decodePayload(encodePlainText('\uFEFFhi'))).toStrictEqual({ text: '\uFEFFhi' });
  });
});

describe('replyPreview', () => {
  it('keeps short text and cuts long text at 50 code points with an ellipsis', () => {
    expect(replyPreview('short')).toBe('short');
    expect(replyPreview('x'.repeat(50))).toBe('x'.repeat(50));
    expect(replyPreview('😀'.repeat(51))).toBe(`${'😀'.repeat(50)}\u2026`);
  });
});

describe('encodePlainText', () => {
  it('is the UTF-8 encoding of the text', () => {
    expect(encodePlainText('é€')).toEqual(new Uint8Array([0xc3, 0xa9, 0xe2, 0x82, 0xac]));
  });
});

describe('newMessageId', () => {
  it('is 22 base64url characters encoding 16 random bytes', () => {
    const id = newMessageId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(fromBase64Url(id)).toHaveLength(16);
  });

  it('does not repeat', () => {
    expect(new Set(Array.from({ length: 1000 }, newMessageId)).size).toBe(1000);
  });
});
