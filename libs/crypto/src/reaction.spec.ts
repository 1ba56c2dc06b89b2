import { describe, expect, it } from 'vitest';
import { seal } from './aead.js';
import { generateRoomKey } from './room-key.js';
import { openReaction, sealReaction } from './reaction.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('reactions', () => {
  it('open what an Arthas web client seals: {stableId, emoji, action}', async () => {
    const key = await generateRoomKey();
    const arthas = { stableId: 'm-ana:1700000000123', emoji: '👍', action: 'add' };
    const opened = await openReaction(key, await seal(key, utf8(JSON.stringify(arthas))));
    expect(opened.reaction).toStrictEqual(arthas);
    expect(opened.json).toStrictEqual(arthas);
  });

  it('round-trip ours, with the target message id', async () => {
    const key = await generateRoomKey();
    const ours = { stableId: 'm1:1', emoji: '🎉', action: 'remove' as const, messageId: 'abc' };
    expect((await openReaction(key, await sealReaction(key, ours))).reaction).toStrictEqual(ours);
  });

  it.each([
    ['no stableId', { emoji: '👍', action: 'add' }],
    ['an empty emoji', { stableId: 'a:1', emoji: '', action: 'add' }],
    ['a control character', { stableId: 'a:1', emoji: '\u001b[2J', action: 'add' }],
    ['a long emoji', { stableId: 'a:1', emoji: 'x'.repeat(33), action: 'add' }],
    ['an unknown action', { stableId: 'a:1', emoji: '👍', action: 'toggle' }],
  ])('refuses a reaction with %s', async (_label, json) => {
    const key = await generateRoomKey();
    await expect(openReaction(key, await seal(key, utf8(JSON.stringify(json))))).rejects.toThrow(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });

  it('drops mistyped optional fields', async () => {
    const key = await generateRoomKey();
    const json = { stableId: 'a:1', emoji: '👍', action: 'add', messageId: 5, sig: {} };
    const opened = await openReaction(key, await seal(key, utf8(JSON.stringify(json))));
    expect(opened.reaction).toStrictEqual({ stableId: 'a:1', emoji: '👍', action: 'add' });
  });
});
