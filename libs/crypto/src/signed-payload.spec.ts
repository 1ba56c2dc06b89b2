import { describe, expect, it } from 'vitest';
import { canonicalJson, signableBytes } from './canonical-json.js';
import {
  ANNOUNCEMENT_VECTOR,
  GO_ONLY_VECTOR,
  REPLY_VECTOR,
  RFC8032_KEY,
} from './fixtures/signing-vectors.js';
import {
  isKeyAnnouncement,
  makeKeyAnnouncement,
  readKeyAnnouncement,
  signPayload,
  verifyPayload,
} from './signed-payload.js';
import {
  encodePublicKey,
  generateSigningKeyPair,
  importSigningKeyPair,
  importVerifyingKey,
} from './signing.js';

const rfcPair = () => importSigningKeyPair(RFC8032_KEY.seed, RFC8032_KEY.publicKey);
const rfcKey = () => importVerifyingKey(RFC8032_KEY.publicKey);

describe('cross-client vectors', () => {
  it('signs a reply exactly as an Arthas client with the same key would', async () => {
    const signed = await signPayload(REPLY_VECTOR.payload, await rfcPair());
    expect(signed.sig).toBe(REPLY_VECTOR.sig);
    expect(await verifyPayload(signed, await rfcKey())).toBe(true);
  });

  it('makes and accepts the key announcement an Arthas client sends', async () => {
    const announcement = await makeKeyAnnouncement(await rfcPair());
    expect(announcement).toStrictEqual({
      ...ANNOUNCEMENT_VECTOR.payload,
      sig: ANNOUNCEMENT_VECTOR.sig,
    });
    const key = await readKeyAnnouncement({
      ...ANNOUNCEMENT_VECTOR.payload,
      sig: ANNOUNCEMENT_VECTOR.sig,
    });
    expect(key?.raw).toEqual(RFC8032_KEY.publicKey);
  });

  it('accepts what the Go CLI signs where its canonical form differs from the web one', async () => {
    expect(canonicalJson(GO_ONLY_VECTOR.payload, 'go')).toBe(GO_ONLY_VECTOR.goCanonical);
    const received = { ...GO_ONLY_VECTOR.payload, sig: GO_ONLY_VECTOR.sig };
    expect(await verifyPayload(received, await rfcKey())).toBe(true);
    // The same text signed by us (web form) carries a different signature, which verifies too.
    const ours = await signPayload(GO_ONLY_VECTOR.payload, await rfcPair());
    expect(ours.sig).not.toBe(GO_ONLY_VECTOR.sig);
    expect(await verifyPayload(ours, await rfcKey())).toBe(true);
  });
});

describe('signPayload and verifyPayload', () => {
  it('covers every field: changing any of them breaks the signature', async () => {
    const pair = (await generateSigningKeyPair())!;
    const key = await importVerifyingKey(pair.publicKey);
    const signed = await signPayload(
      { text: 'hi', id: 'm1', reply: REPLY_VECTOR.payload.reply },
      pair,
    );
    expect(await verifyPayload(signed, key)).toBe(true);
    expect(await verifyPayload({ ...signed, text: 'hI' }, key)).toBe(false);
    expect(await verifyPayload({ ...signed, id: 'm2' }, key)).toBe(false);
    expect(await verifyPayload({ ...signed, extra: 1 }, key)).toBe(false);
    expect(
      await verifyPayload({ ...signed, reply: { ...signed.reply, preview: 'changed' } }, key),
    ).toBe(false);
    // Key order and re-serialisation do not matter: only the canonical form is signed.
    const reordered = JSON.parse(
      JSON.stringify({ id: signed.id, sig: signed.sig, reply: signed.reply, text: signed.text }),
    );
    expect(await verifyPayload(reordered, key)).toBe(true);
  });

  it('signs what a receiver parses back: undefined members are dropped first', async () => {
    const pair = (await generateSigningKeyPair())!;
    const signed = await signPayload({ text: 'x', id: undefined, sig: 'stale' }, pair);
    expect(Object.keys(signed).sort()).toEqual(['sig', 'text']);
    expect(
      await verifyPayload(
        JSON.parse(JSON.stringify(signed)),
        await importVerifyingKey(pair.publicKey),
      ),
    ).toBe(true);
  });

  it('verifies a payload with a member named "__proto__", as a JavaScript signer sees it', async () => {
    const pair = (await generateSigningKeyPair())!;
    const parsed = JSON.parse('{"text":"x","__proto__":{"a":1}}') as Record<string, unknown>;
    const signed = await signPayload(parsed, pair);
    expect(Object.keys(signed)).toContain('__proto__');
    const received = JSON.parse(JSON.stringify(signed)) as Record<string, unknown>;
    // What the Arthas web client signs: `const { sig, ...rest } = payload` keeps the member.
    expect(new TextDecoder().decode(signableBytes(received))).toBe(
      '{"__proto__":{"a":1},"text":"x"}',
    );
    expect(await verifyPayload(received, await importVerifyingKey(pair.publicKey))).toBe(true);
  });

  it('leaves the payload unsigned without a key pair', async () => {
    expect(await signPayload({ text: 'x' }, undefined)).toStrictEqual({ text: 'x' });
  });

  it('never accepts a missing or non-string sig', async () => {
    const key = await rfcKey();
    expect(await verifyPayload({ text: 'x' }, key)).toBe(false);
    expect(await verifyPayload({ text: 'x', sig: 5 }, key)).toBe(false);
  });
});

describe('key announcements', () => {
  it('are recognised by type and read only when self-signed, with an empty text', async () => {
    const pair = (await generateSigningKeyPair())!;
    const announcement = await makeKeyAnnouncement(pair);
    expect(isKeyAnnouncement(announcement)).toBe(true);
    expect(isKeyAnnouncement({ text: 'hi' })).toBe(false);
    expect((await readKeyAnnouncement(announcement))?.raw).toEqual(pair.publicKey);

    const other = (await generateSigningKeyPair())!;
    const swapped = { ...announcement, pubkey: encodePublicKey(other.publicKey) };
    expect(await readKeyAnnouncement(swapped)).toBeUndefined();
    expect(await readKeyAnnouncement({ ...announcement, text: 'x' })).toBeUndefined();
    expect(await readKeyAnnouncement({ ...announcement, pubkey: 'short' })).toBeUndefined();
    const { sig: _sig, ...unsigned } = announcement;
    expect(await readKeyAnnouncement(unsigned)).toBeUndefined();
  });
});
