import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBase64Url } from './base64url.js';
import { HushCryptoError } from './errors.js';
import {
  formatShareCode,
  joinLink,
  parseJoinInput,
  parseShareCode,
  type ShareCode,
} from './share-code.js';

const ROOM = 'V1StGXR8_Z5jdHi6B-myT';
const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';
const CODE = `${ROOM}:${KEY}`;

function thrown(fn: () => unknown): HushCryptoError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HushCryptoError);
    return error as HushCryptoError;
  }
  throw new Error('expected a throw');
}

const roomIdArb = fc.stringMatching(/^[A-Za-z0-9_-]{21}$/);
const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toBase64Url);
const shareCodeArb: fc.Arbitrary<ShareCode> = fc
  .tuple(
    roomIdArb,
    keyArb,
    fc.option(fc.maxSafeNat(), { nil: undefined }),
    fc.option(fc.maxSafeNat(), { nil: undefined }),
  )
  .map(([roomId, key, ephemeral, expiresAt]) => {
    const code: ShareCode = { roomId, key };
    if (ephemeral !== undefined) {
      code.ephemeral = ephemeral;
      if (expiresAt !== undefined) code.expiresAt = expiresAt;
    }
    return code;
  });
const originArb = fc.constantFrom(
  'https://hush.example',
  'https://hush.example/',
  'http://localhost:5173',
  'https://example.org/apps/hush/',
);

describe('formatShareCode', () => {
  it('writes roomId:key, then ephemeral, then expiresAt', () => {
    expect(formatShareCode({ roomId: ROOM, key: KEY })).toBe(CODE);
    expect(formatShareCode({ roomId: ROOM, key: KEY, ephemeral: 0 })).toBe(`${CODE}:0`);
    expect(formatShareCode({ roomId: ROOM, key: KEY, ephemeral: 60, expiresAt: 1767225600 })).toBe(
      `${CODE}:60:1767225600`,
    );
  });

  it('refuses expiresAt without ephemeral', () => {
    const error = thrown(() => formatShareCode({ roomId: ROOM, key: KEY, expiresAt: 5 }));
    expect(error.code).toBe('invalid_share_code');
    expect(error.message).toMatch(/expiresAt/);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1])(
    'refuses ephemeral %d',
    (ephemeral) => {
      const error = thrown(() => formatShareCode({ roomId: ROOM, key: KEY, ephemeral }));
      expect(error.code).toBe('invalid_share_code');
      expect(error.message).toMatch(/ephemeral/);
    },
  );

  it('refuses an invalid room id or key without echoing the key', () => {
    expect(thrown(() => formatShareCode({ roomId: 'short', key: KEY })).code).toBe(
      'invalid_share_code',
    );
    const badKey = `${KEY.slice(0, 42)}+`;
    const error = thrown(() => formatShareCode({ roomId: ROOM, key: badKey }));
    expect(error.code).toBe('invalid_share_code');
    expect(error.message).not.toContain(badKey);
  });
});

describe('parseShareCode', () => {
  it('round-trips every valid share code', () => {
    fc.assert(
      fc.property(shareCodeArb, (code) => {
        const text = formatShareCode(code);
        expect(parseShareCode(text)).toStrictEqual(code);
        expect(formatShareCode(parseShareCode(text))).toBe(text);
      }),
    );
  });

  it('reads the optional fields', () => {
    expect(parseShareCode(CODE)).toStrictEqual({ roomId: ROOM, key: KEY });
    expect(parseShareCode(`${CODE}:0`)).toStrictEqual({ roomId: ROOM, key: KEY, ephemeral: 0 });
    expect(parseShareCode(`${CODE}:300:0`)).toStrictEqual({
      roomId: ROOM,
      key: KEY,
      ephemeral: 300,
      expiresAt: 0,
    });
    expect(parseShareCode(`${CODE}:1:${Number.MAX_SAFE_INTEGER}`).expiresAt).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it('trims surrounding whitespace only', () => {
    expect(parseShareCode(`  \t${CODE}:60\n`)).toStrictEqual({
      roomId: ROOM,
      key: KEY,
      ephemeral: 60,
    });
  });

  it.each([
    ['a 20-character room id', `${ROOM.slice(1)}:${KEY}`, /room id/],
    ['a 22-character room id', `${ROOM}x:${KEY}`, /room id/],
    ['a dot in the room id', `${ROOM.slice(1)}.:${KEY}`, /room id/],
    ['a plus in the room id', `${ROOM.slice(1)}+:${KEY}`, /room id/],
    ['a non-ASCII room id', `${ROOM.slice(1)}é:${KEY}`, /room id/],
    ['a space inside the room id', `${ROOM.slice(1, 11)} ${ROOM.slice(11)}:${KEY}`, /room id/],
    ['a 42-character key', `${ROOM}:${KEY.slice(1)}`, /key/],
    ['a 44-character key', `${ROOM}:${KEY}A`, /key/],
    ['a padded key', `${ROOM}:${KEY.slice(1)}=`, /key/],
    ['a key with +', `${ROOM}:+${KEY.slice(1)}`, /key/],
    ['a key with /', `${ROOM}:/${KEY.slice(1)}`, /key/],
    ['a key with non-zero trailing bits', `${ROOM}:${KEY.slice(0, 42)}9`, /key/],
    ['a space before the key', `${ROOM}: ${KEY.slice(1)}`, /key/],
    ['only a room id', ROOM, /parts/],
    ['nothing', '', /parts/],
    ['a fifth segment', `${CODE}:1:2:3`, /parts/],
    ['an empty room id', `:${KEY}`, /room id/],
    ['an empty key', `${ROOM}:`, /key/],
    ['an empty ephemeral', `${CODE}:`, /ephemeral/],
    ['an empty expiresAt', `${CODE}:5:`, /expiresAt/],
    ['an empty ephemeral before expiresAt', `${CODE}::5`, /ephemeral/],
    ['a negative ephemeral', `${CODE}:-1`, /ephemeral/],
    ['a signed ephemeral', `${CODE}:+1`, /ephemeral/],
    ['a leading zero', `${CODE}:01`, /ephemeral/],
    ['a double zero', `${CODE}:00`, /ephemeral/],
    ['a fraction', `${CODE}:1.5`, /ephemeral/],
    ['a trailing dot', `${CODE}:1.`, /ephemeral/],
    ['an exponent', `${CODE}:1e3`, /ephemeral/],
    ['hex digits', `${CODE}:0x10`, /ephemeral/],
    ['non-ASCII digits', `${CODE}:١٢`, /ephemeral/],
    ['a space inside a number', `${CODE}: 60`, /ephemeral/],
    ['a number past the safe range', `${CODE}:9007199254740992`, /ephemeral/],
    ['a negative expiresAt', `${CODE}:60:-5`, /expiresAt/],
    ['a huge expiresAt', `${CODE}:60:${'9'.repeat(30)}`, /expiresAt/],
  ])('rejects %s, saying what is wrong', (_label, text, reason) => {
    const error = thrown(() => parseShareCode(text));
    expect(error.code).toBe('invalid_share_code');
    expect(error.message).toMatch(reason);
    expect(error.message).not.toContain(KEY.slice(1, 40));
  });

  it('rejects a value that is not a string', () => {
    expect(thrown(() => parseShareCode(null as unknown as string)).code).toBe('invalid_share_code');
  });
});

describe('joinLink', () => {
  it('puts the share code in the fragment of the origin', () => {
    expect(joinLink('https://hush.example', { roomId: ROOM, key: KEY, ephemeral: 30 })).toBe(
      `https://hush.example/#/join/${CODE}:30`,
    );
  });

  it('drops trailing slashes of the origin and keeps a base path', () => {
    expect(joinLink('https://hush.example/', CODE)).toBe(`https://hush.example/#/join/${CODE}`);
    expect(joinLink('https://hush.example//', CODE)).toBe(`https://hush.example/#/join/${CODE}`);
    expect(joinLink('https://example.org/hush/', CODE)).toBe(
      `https://example.org/hush/#/join/${CODE}`,
    );
  });

  it('validates and normalises a share code given as text', () => {
    expect(joinLink('https://hush.example', ` ${CODE}\n`)).toBe(
      `https://hush.example/#/join/${CODE}`,
    );
    expect(thrown(() => joinLink('https://hush.example', `${ROOM}:short`)).code).toBe(
      'invalid_share_code',
    );
  });

  it('refuses an origin with a query or a fragment', () => {
    expect(thrown(() => joinLink('https://hush.example/#x', CODE)).code).toBe('invalid_join_link');
    expect(thrown(() => joinLink('https://hush.example/?a=1', CODE)).code).toBe(
      'invalid_join_link',
    );
  });

  it('keeps the key out of everything a browser sends to the server', () => {
    fc.assert(
      fc.property(originArb, shareCodeArb, (origin, code) => {
        const url = new URL(joinLink(origin, code));
        expect(`${url.origin}${url.pathname}${url.search}`).not.toContain(code.key);
        expect(url.hash).toBe(`#/join/${formatShareCode(code)}`);
      }),
    );
  });
});

describe('parseJoinInput', () => {
  it('reads back every link joinLink makes', () => {
    fc.assert(
      fc.property(originArb, shareCodeArb, (origin, code) => {
        expect(parseJoinInput(joinLink(origin, code))).toStrictEqual(code);
      }),
    );
  });

  it.each([
    ['a bare share code', `${CODE}:60`],
    ['a bare share code with surrounding whitespace', `\n ${CODE}:60 \t`],
    ['a fragment', `#/join/${CODE}:60`],
    ['a path and fragment', `/#/join/${CODE}:60`],
    ['a base path and fragment', `/hush/#/join/${CODE}:60`],
    ['an https URL', `https://hush.example/#/join/${CODE}:60`],
    ['an http URL with a port', `http://localhost:5173/#/join/${CODE}:60`],
    ['a URL with a base path', `https://example.org/apps/hush/#/join/${CODE}:60`],
    ['a URL without a slash before the fragment', `https://hush.example#/join/${CODE}:60`],
    ['a percent-encoded code in a URL', `https://hush.example/#/join/${ROOM}%3A${KEY}%3A60`],
    ['a lowercase percent-encoded code', `#/join/${ROOM}%3a${KEY}%3a60`],
    ['a percent-encoded bare code', `${ROOM}%3A${KEY}%3A60`],
    [
      'a code with every character percent-encoded',
      `https://hush.example/#/join/${[...`${CODE}:60`]
        .map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
        .join('')}`,
    ],
  ])('accepts %s', (_label, text) => {
    expect(parseJoinInput(text)).toStrictEqual({ roomId: ROOM, key: KEY, ephemeral: 60 });
  });

  it.each([
    ['a code in the path instead of the fragment', `https://hush.example/join/${CODE}`],
    ['a code in the query', `https://hush.example/?code=${CODE}`],
    ['another fragment route', `https://hush.example/#/room/${CODE}`],
    ['a fragment without the leading slash', `#join/${CODE}`],
    ['an empty fragment', 'https://hush.example/#'],
    ['a non-http scheme', `ftp://hush.example/#/join/${CODE}`],
    ['a javascript: URL', `javascript:alert(1)//#/join/${CODE}`],
    ['a host without a scheme', `hush.example/#/join/${CODE}`],
    ['a malformed URL', `https://exa mple/#/join/${CODE}`],
    ['whitespace inside the link', `https://hush.example/#/join/${ROOM}:\n${KEY}`],
    ['a tab inside the fragment', `#/join/\t${CODE}`],
    ['malformed percent-encoding', `#/join/${ROOM}%3:${KEY}`],
    ['a truncated UTF-8 escape', `#/join/${CODE}%E2%82`],
  ])('rejects %s as an invalid join link', (_label, text) => {
    const error = thrown(() => parseJoinInput(text));
    expect(error.code).toBe('invalid_join_link');
    expect(error.message).not.toContain(KEY);
  });

  it.each([
    ['a bad code in a URL', `https://hush.example/#/join/${ROOM}:${KEY.slice(1)}`],
    ['a trailing slash after the code', `#/join/${CODE}/`],
    ['an extra segment', `/#/join/${CODE}:1:2:3`],
    ['an encoded space inside the code', `#/join/${ROOM}:%20${KEY}`],
    ['an encoded leading space', `#/join/%20${CODE}`],
    ['a bare code with a bad key', `${ROOM}:${KEY}=`],
    ['a bare code with a space inside', `${ROOM}: ${KEY}`],
    ['garbage', 'hello there'],
  ])('rejects %s as an invalid share code', (_label, text) => {
    const error = thrown(() => parseJoinInput(text));
    expect(error.code).toBe('invalid_share_code');
    expect(error.message).not.toContain(KEY.slice(1, 40));
  });
});
