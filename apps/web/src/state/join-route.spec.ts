import { exportRoomKey, formatShareCode, generateRoomKey, joinLink } from '@hush/crypto';
import { describe, expect, it } from 'vitest';
import { readJoinInput, routeFromHash } from './join-route.js';

const roomId = 'V1StGXR8_Z5jdHi6B-myT';

async function shareCode(extra: { ephemeral?: number; expiresAt?: number } = {}) {
  return { roomId, key: exportRoomKey(await generateRoomKey()), ...extra };
}

describe('routeFromHash', () => {
  it('is the home page without a fragment or with another one', () => {
    expect(routeFromHash('')).toEqual({ kind: 'home' });
    expect(routeFromHash('#')).toEqual({ kind: 'home' });
    expect(routeFromHash('#/about')).toEqual({ kind: 'home' });
  });

  it('reads the share code of a join link, key included', async () => {
    const code = await shareCode({ ephemeral: 30, expiresAt: 1_900_000_000 });
    const link = joinLink('https://hush.example', code);
    const hash = new URL(link).hash;
    expect(hash.startsWith('#/join/')).toBe(true);
    expect(routeFromHash(hash)).toEqual({ kind: 'join', code });
  });

  it('accepts a percent-encoded code, as some chat apps rewrite links', async () => {
    const code = await shareCode();
    const hash = `#/join/${encodeURIComponent(formatShareCode(code))}`;
    expect(hash).toContain('%3A');
    expect(routeFromHash(hash)).toEqual({ kind: 'join', code });
  });

  it('explains a broken join link without repeating the key', async () => {
    const code = await shareCode();
    const hash = `#/join/${code.roomId}:${code.key.slice(0, 40)}`;
    const route = routeFromHash(hash);
    expect(route.kind).toBe('bad-link');
    if (route.kind !== 'bad-link') return;
    expect(route.message).toMatch(/key/);
    expect(route.message).not.toContain(code.key.slice(0, 40));
  });

  it('refuses a fragment that is only the prefix', () => {
    expect(routeFromHash('#/join/').kind).toBe('bad-link');
    expect(routeFromHash('#/join').kind).toBe('bad-link');
  });
});

describe('readJoinInput', () => {
  it('takes a bare share code, a fragment or a full link', async () => {
    const code = await shareCode();
    const text = formatShareCode(code);
    for (const input of [
      text,
      ` ${text}\n`,
      `#/join/${text}`,
      joinLink('http://localhost:8080', code),
    ]) {
      expect(readJoinInput(input)).toEqual({ ok: true, code });
    }
  });

  it('refuses empty input and links that put the code where servers see it', async () => {
    const code = formatShareCode(await shareCode());
    expect(readJoinInput('  ')).toEqual({
      ok: false,
      message: 'Paste a share code or a join link.',
    });
    const leaky = readJoinInput(`https://hush.example/join/${code}`);
    expect(leaky.ok).toBe(false);
  });
});
