import { describe, expect, it } from 'vitest';
import { open, seal } from './aead.js';
import { fromBase64Url, toBase64Url } from './base64url.js';
import { DECRYPT_FAILED_MESSAGE } from './errors.js';
import { openMessage, sealMessage } from './message.js';
import { encodePlainText, newMessageId } from './payload.js';
import { generateRoomKey } from './room-key.js';

describe('sealMessage and openMessage', () => {
  it('round-trip a chat payload with our own fields', async () => {
    const key = await generateRoomKey();
    const payload = { text: 'hello', id: newMessageId(), replyTo: newMessageId() };
    const sealed = await sealMessage(key, payload);
    expect(sealed.iv).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(sealed.ciphertext).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await openMessage(key, sealed)).toStrictEqual(payload);
  });

  it('seal what an Arthas web client can read: UTF-8 JSON with a string text', async () => {
    const key = await generateRoomKey();
    const sealed = await sealMessage(key, { text: 'hi Arthas', id: 'm1' });
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64Url(sealed.iv) },
      key.cryptoKey,
      fromBase64Url(sealed.ciphertext),
    );
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual({
      text: 'hi Arthas',
      id: 'm1',
    });
  });

  it('open what an Arthas web client sealed, keeping its extra fields', async () => {
    const key = await generateRoomKey();
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const arthas = {
      text: 'reply here',
      reply: { stableId: 'm1:1700000000000', senderName: 'ana', preview: 'quoted' },
      sig: 'sig',
    };
    const ciphertext = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv },
      key.cryptoKey,
      new TextEncoder().encode(JSON.stringify(arthas)),
    );
    const sealed = { iv: toBase64Url(iv), ciphertext: toBase64Url(new Uint8Array(ciphertext)) };
    expect(await openMessage(key, sealed)).toStrictEqual(arthas);
  });

  it('open plain text from the Arthas CLI, with fields as strings or bytes', async () => {
    const key = await generateRoomKey();
    const sealed = await seal(key, encodePlainText('from the terminal'));
    expect(await openMessage(key, sealed)).toStrictEqual({ text: 'from the terminal' });
    const bytes = { iv: fromBase64Url(sealed.iv), ciphertext: fromBase64Url(sealed.ciphertext) };
    expect(await openMessage(key, bytes)).toStrictEqual({ text: 'from the terminal' });
  });

  it('fail with decrypt_failed under the wrong key', async () => {
    const sealed = await sealMessage(await generateRoomKey(), { text: 'secret' });
    await expect(openMessage(await generateRoomKey(), sealed)).rejects.toMatchObject({
      code: 'decrypt_failed',
      message: DECRYPT_FAILED_MESSAGE,
    });
  });

  it('report authentic plaintext that is not UTF-8 as invalid_payload', async () => {
    const key = await generateRoomKey();
    const sealed = await seal(key, new Uint8Array([0xff, 0xfe]));
    expect(await open(key, sealed)).toEqual(new Uint8Array([0xff, 0xfe]));
    await expect(openMessage(key, sealed)).rejects.toMatchObject({ code: 'invalid_payload' });
  });

  it('refuse to seal a payload without text', async () => {
    const key = await generateRoomKey();
    await expect(sealMessage(key, { id: 'x' } as never)).rejects.toMatchObject({
      code: 'invalid_payload',
    });
  });
});
