import { describe, expect, it } from 'vitest';
import { seal } from './aead.js';
import { fromBase64Url } from './base64url.js';
import { generateRoomKey } from './room-key.js';
import { openTyping, sealTyping } from './typing.js';

describe('encrypted typing', () => {
  it('seals {"typing": bool} as the Arthas web client does, and opens it', async () => {
    const key = await generateRoomKey();
    for (const typing of [true, false]) {
      const sealed = await sealTyping(key, typing);
      expect(sealed.iv).toMatch(/^[A-Za-z0-9_-]{16}$/);
      const plaintext = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: fromBase64Url(sealed.iv) },
        key.cryptoKey,
        fromBase64Url(sealed.ciphertext),
      );
      expect(new TextDecoder().decode(plaintext)).toBe(JSON.stringify({ typing }));
      expect(await openTyping(key, sealed)).toBe(typing);
    }
  });

  it('refuses anything but a boolean typing, and other keys', async () => {
    const key = await generateRoomKey();
    for (const bad of ['{"typing":"yes"}', '{}', 'true', 'not json']) {
      await expect(openTyping(key, await seal(key, new TextEncoder().encode(bad)))).rejects.toThrow(
        expect.objectContaining({ code: 'invalid_payload' }),
      );
    }
    await expect(openTyping(await generateRoomKey(), await sealTyping(key, true))).rejects.toThrow(
      expect.objectContaining({ code: 'decrypt_failed' }),
    );
  });
});
