import { describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from './base64url.js';
import { HushCryptoError } from './errors.js';
import { RFC8032_KEY } from './fixtures/signing-vectors.js';
import {
  decodePublicKey,
  encodePublicKey,
  generateSigningKeyPair,
  importSigningKeyPair,
  importVerifyingKey,
  signBytes,
  signingKeyFingerprint,
  verifyBytes,
} from './signing.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('Ed25519 signing', () => {
  it('reproduces RFC 8032 test vector 1', async () => {
    const pair = await importSigningKeyPair(RFC8032_KEY.seed, RFC8032_KEY.publicKey);
    const sig = await signBytes(pair, new Uint8Array(0));
    expect(fromBase64Url(sig)).toEqual(RFC8032_KEY.emptyMessageSignature);
    expect(encodePublicKey(pair.publicKey)).toBe(RFC8032_KEY.publicKeyText);
  });

  it('makes key pairs whose signatures verify under the announced public key only', async () => {
    const pair = await generateSigningKeyPair();
    const other = await generateSigningKeyPair();
    expect(pair).toBeDefined();
    const key = await importVerifyingKey(pair!.publicKey);
    const sig = await signBytes(pair!, utf8('hello'));
    expect(sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(await verifyBytes(key, utf8('hello'), sig)).toBe(true);
    expect(await verifyBytes(key, utf8('hellO'), sig)).toBe(false);
    expect(await verifyBytes(await importVerifyingKey(other!.publicKey), utf8('hello'), sig)).toBe(
      false,
    );
  });

  it('treats malformed signatures as invalid instead of throwing', async () => {
    const pair = (await generateSigningKeyPair())!;
    const key = await importVerifyingKey(pair.publicKey);
    const sig = fromBase64Url(await signBytes(pair, utf8('x')));
    for (const bad of [
      '',
      'not base64!',
      toBase64Url(sig.subarray(0, 63)),
      `${toBase64Url(sig)}AA`,
    ]) {
      expect(await verifyBytes(key, utf8('x'), bad)).toBe(false);
    }
  });

  it('refuses public keys that are not 32 bytes', async () => {
    await expect(importVerifyingKey(new Uint8Array(31))).rejects.toThrow(HushCryptoError);
    expect(() => decodePublicKey(toBase64Url(new Uint8Array(33)))).toThrow(/32 bytes/);
    expect(() => decodePublicKey('***')).toThrow(HushCryptoError);
    await expect(importSigningKeyPair(new Uint8Array(32), new Uint8Array(31))).rejects.toThrow(
      HushCryptoError,
    );
  });

  it('fingerprints a signing key in 8 groups of 4 hex digits, stable per key', async () => {
    const fingerprint = await signingKeyFingerprint(RFC8032_KEY.publicKey);
    // SHA-256("hush-signing-key-v1" || key), first 16 bytes, computed apart.
    expect(fingerprint).toBe('38AA C551 9674 55C4 5509 711A AC3D 44E3');
    expect(await signingKeyFingerprint(RFC8032_KEY.publicKey)).toBe(fingerprint);
    expect(await signingKeyFingerprint(new Uint8Array(32))).not.toBe(fingerprint);
  });
});
