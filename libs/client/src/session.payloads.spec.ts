import {
  encodePublicKey,
  generateSigningKeyPair,
  importVerifyingKey,
  openTyping,
  sealMessage,
  sealTyping,
  signPayload,
  signingKeyFingerprint,
  verifyPayload,
} from '@hush/crypto';
import type { RateLimit } from '@hush/protocol';
import { ClientType, ServerType } from '@hush/protocol';
import { describe, expect, it } from 'vitest';
import { ALICE, BOB, CAROL, LIMITS, harness, peer } from './fixtures/session-harness.js';
import { DEFAULT_POLICY } from './policy.js';

const withChat = (chat: RateLimit) => ({
  ...LIMITS,
  chatPerWindow: chat.events,
  windowMs: chat.windowMs,
  rates: { ...LIMITS.rates, chat },
});

describe('signing our messages', () => {
  it('announces our key first, then sends messages signed in the Arthas format', async () => {
    const h = await harness();
    h.session.start();
    await h.admit();
    h.session.send('hello');
    await h.settle();
    const [announcement, message] = await h.sentPayloads();
    expect(announcement).toMatchObject({ type: 'pubkey', text: '', pubkey: expect.any(String) });
    expect(Object.keys(announcement!).sort()).toEqual(['pubkey', 'sig', 'text', 'type']);
    expect(message).toEqual({
      text: 'hello',
      id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      sig: expect.any(String),
    });
    const key = await importVerifyingKey(h.signing.publicKey);
    expect(await verifyPayload(message!, key)).toBe(true);
    expect(h.of('sent')[0]?.message).toMatchObject({
      text: 'hello',
      own: true,
      verification: 'verified',
      ref: 1,
    });
  });

  it('runs unsigned without a key pair: no announcement, no sig', async () => {
    const h = await harness({ signing: 'none' });
    h.session.start();
    await h.admit();
    h.session.send('plain');
    await h.settle();
    expect(await h.sentPayloads()).toEqual([{ text: 'plain', id: expect.any(String) }]);
  });

  it('seals a message once: after a failed write the same ciphertext goes out on the next connection', async () => {
    const h = await harness();
    h.session.start();
    const first = await h.admit();
    first.failWrites = true;
    h.session.send('keep me');
    await h.settle();
    const attempted = first.rejected.filter((m) => m.type === ClientType.SendMessage);
    expect(attempted).toHaveLength(1);
    const second = await h.reconnect();
    const [, resent] = second.sentOf(ClientType.SendMessage);
    expect(resent).toEqual(attempted[0]);
    expect((await h.sentPayloads(second))[1]).toMatchObject({ text: 'keep me' });
  });

  it('never writes a frame larger than the relay takes (it would close the connection): says so and goes on', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB], { limits: { ...LIMITS, maxFrameBytes: 2_000 } });
    h.session.send('x'.repeat(3_000));
    h.session.send('small');
    await h.settle();
    expect((await h.sentPayloads()).map((p) => p['text'])).toEqual(['', 'small']);
    expect(h.of('warning').map((w) => w.detail)).toEqual([
      expect.stringMatching(
        /^message #1 was not sent: \d+ bytes, more than this relay takes \(2000\)$/,
      ),
    ]);
    expect(connection.closedBy).toBeUndefined();
  });

  it('says our key again when a member joins, so late joiners can verify us', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE]);
    connection.receive({ type: ServerType.MemberJoined, data: BOB });
    connection.receive({ type: ServerType.MemberJoined, data: CAROL });
    await h.settle();
    const announcements = (await h.sentPayloads()).filter((p) => p['type'] === 'pubkey');
    // One on joining, one for the two who joined together (coalesced).
    expect(announcements).toHaveLength(2);
    expect(announcements[1]).toEqual(announcements[0]);
  });
});

describe('pacing', () => {
  it('keeps chat within the announced budget: the rest waits for the window, none is refused', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB], {
      limits: withChat({ events: 3, windowMs: 1000 }),
    });
    for (const text of ['1', '2', '3', '4', '5']) h.session.send(text);
    await h.settle();
    // The key announcement after admission does not count; three messages fit.
    expect(connection.sentOf(ClientType.SendMessage)).toHaveLength(4);
    h.clock.advance(1000 + DEFAULT_POLICY.pacingMarginMs - 1);
    await h.settle();
    expect(connection.sentOf(ClientType.SendMessage)).toHaveLength(4);
    h.clock.advance(1);
    await h.settle();
    expect(connection.sentOf(ClientType.SendMessage)).toHaveLength(6);
    expect((await h.sentPayloads()).slice(1).map((p) => p['text'])).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
    ]);
  });

  it('never lets a re-announcement crowd out a user message: it waits until both fit', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE], { limits: withChat({ events: 2, windowMs: 1000 }) });
    h.session.send('a');
    h.session.send('b');
    h.session.send('c');
    connection.receive({ type: ServerType.MemberJoined, data: BOB });
    await h.settle();
    const order = async () => (await h.sentPayloads()).map((p) => p['text'] || p['type']);
    expect(await order()).toEqual(['pubkey', 'a', 'b']);
    h.clock.advance(1000 + DEFAULT_POLICY.pacingMarginMs);
    await h.settle();
    // Two slots again, one message waiting: the key goes first, the message beside it.
    expect(await order()).toEqual(['pubkey', 'a', 'b', 'pubkey', 'c']);
    h.session.send('d');
    h.session.send('e');
    connection.receive({ type: ServerType.MemberJoined, data: CAROL });
    h.clock.advance(1000 + DEFAULT_POLICY.pacingMarginMs);
    await h.settle();
    // Two slots, two messages: the key waits for the next window.
    expect(await order()).toEqual(['pubkey', 'a', 'b', 'pubkey', 'c', 'd', 'e']);
    h.clock.advance(1000 + DEFAULT_POLICY.pacingMarginMs);
    await h.settle();
    expect((await order()).at(-1)).toBe('pubkey');
  });

  it('paces typing, reactions and file chunks by their own budgets', async () => {
    const h = await harness();
    h.session.start();
    const limits = {
      ...LIMITS,
      rates: { ...LIMITS.rates, reaction: { events: 1, windowMs: 1000 } },
    };
    const connection = await h.admit([ALICE, BOB], { limits });
    const bob = await peer(BOB, h.key);
    connection.receive(await bob.message({ text: 'react to me' }));
    await h.settle();
    h.session.react(1, '👍');
    h.session.react(1, '👍');
    await h.settle();
    expect(connection.sentOf(ClientType.SendReaction)).toHaveLength(1);
    h.clock.advance(1000 + DEFAULT_POLICY.pacingMarginMs);
    await h.settle();
    expect(connection.sentOf(ClientType.SendReaction)).toHaveLength(2);
  });
});

describe('verifying others', () => {
  it('gives every message one of four states, and never shows a key announcement', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB, CAROL]);
    const bob = await peer(BOB, h.key);
    const carol = await peer(CAROL, h.key, { signing: null });
    connection.receive(await bob.announce());
    connection.receive(await bob.message({ text: 'signed by bob' }));
    // The relay (or anyone with the room key) swaps the text and re-seals with the room key.
    const genuine = await signPayload({ text: 'pay alice' }, bob.signing);
    connection.receive({
      type: ServerType.RelayMessage,
      data: {
        senderId: BOB.id,
        senderName: BOB.name,
        t: 1,
        ...(await sealMessage(h.key, { ...genuine, text: 'pay mallory' })),
      },
    });
    connection.receive(await carol.message({ text: 'no signature' }));
    connection.receive(await carol.plain('plain text from the Go CLI of old'));
    await h.settle();
    expect(
      h.of('message').map((e) => [e.message.from.name, e.message.text, e.message.verification]),
    ).toEqual([
      ['bob', 'signed by bob', 'verified'],
      ['bob', 'pay mallory', 'invalid'],
      ['carol', 'no signature', 'unsigned'],
      ['carol', 'plain text from the Go CLI of old', 'unsigned'],
    ]);
    expect(h.of('key-learned')).toEqual([
      {
        type: 'key-learned',
        member: BOB,
        fingerprint: await signingKeyFingerprint(bob.signing!.publicKey),
      },
    ]);
    expect(h.of('message').some((e) => e.message.text === '')).toBe(false);
  });

  it('marks a message signed before its key arrived unknown, then verified when it does', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const bob = await peer(BOB, h.key);
    connection.receive(await bob.message({ text: 'early' }));
    await h.settle();
    expect(h.of('message')[0]?.message.verification).toBe('unknown-signer');
    connection.receive(await bob.announce());
    await h.settle();
    expect(h.of('verification')).toEqual([
      { type: 'verification', ref: 1, from: BOB, verification: 'verified' },
    ]);
  });

  it('stops waiting for a key after a while: the message stays unknown', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const bob = await peer(BOB, h.key);
    connection.receive(await bob.message({ text: 'early' }));
    await h.settle();
    h.clock.advance(DEFAULT_POLICY.deferredVerificationMs);
    connection.receive(await bob.announce());
    await h.settle();
    expect(h.of('verification')).toEqual([]);
  });

  it('warns when a name announces a different key, and verifies by the new one from then on', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const bob = await peer(BOB, h.key);
    const impostor = await peer({ ...BOB, id: 'm-bob-2' }, h.key);
    connection.receive(await bob.announce());
    connection.receive(await impostor.announce());
    connection.receive(await bob.message({ text: 'old key' }));
    await h.settle();
    expect(h.of('key-changed')).toEqual([
      {
        type: 'key-changed',
        member: { ...BOB, id: 'm-bob-2', color: '' },
        fingerprint: await signingKeyFingerprint(impostor.signing!.publicKey),
        previousFingerprint: await signingKeyFingerprint(bob.signing!.publicKey),
      },
    ]);
    expect(h.of('message')[0]?.message.verification).toBe('invalid');
  });

  it('ignores (with a warning) a key announcement that is not self-signed', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const bob = await peer(BOB, h.key);
    const other = (await generateSigningKeyPair())!;
    connection.receive(await bob.raw({ type: 'pubkey', text: '', pubkey: 'AAAA', sig: 'x' }));
    connection.receive(
      await bob.raw({
        ...(await signPayload(
          { type: 'pubkey', text: '', pubkey: encodePublicKey(other.publicKey) },
          bob.signing,
        )),
      }),
    );
    await h.settle();
    expect(h.of('warning')).toHaveLength(2);
    expect(h.of('key-learned')).toEqual([]);
    expect(h.of('message')).toEqual([]);
  });
});

describe('replies', () => {
  it('reads an Arthas reply and finds the quoted message', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const bob = await peer(BOB, h.key);
    connection.receive(await bob.message({ text: 'first' }, 1_700_000_000_500));
    connection.receive(
      await bob.message({
        text: 'second',
        reply: { stableId: `${BOB.id}:1700000000500`, senderName: 'bob', preview: 'first' },
      }),
    );
    connection.receive(
      await bob.message({
        text: 'third',
        reply: { stableId: 'm-gone:1', senderName: 'dan', preview: 'lost' },
      }),
    );
    await h.settle();
    const [, second, third] = h.of('message').map((e) => e.message);
    expect(second?.reply).toEqual({
      stableId: `${BOB.id}:1700000000500`,
      senderName: 'bob',
      preview: 'first',
      ref: 1,
    });
    expect(third?.reply).toEqual({ stableId: 'm-gone:1', senderName: 'dan', preview: 'lost' });
  });

  it('sends a reply in the Arthas format plus our message id', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const bob = await peer(BOB, h.key);
    connection.receive(
      await bob.message(
        { text: 'a question that is long enough to be cut in the preview', id: 'bob-msg-1' },
        1_700_000_000_900,
      ),
    );
    await h.settle();
    expect(h.session.send('an answer', { replyTo: 1 })).toEqual({ ok: true, ref: 2 });
    expect(h.session.send('x', { replyTo: 99 })).toEqual({ ok: false, reason: 'unknown-message' });
    await h.settle();
    const reply = (await h.sentPayloads()).at(-1)!;
    expect(reply).toMatchObject({
      text: 'an answer',
      reply: {
        stableId: `${BOB.id}:1700000000900`,
        senderName: 'bob',
        preview: 'a question that is long enough to be cut in the pr\u2026',
      },
      replyTo: 'bob-msg-1',
    });
    expect(h.of('sent')[0]?.message.reply?.ref).toBe(1);
  });

  it('finds our own message an Arthas client replies to, by the relay time it was stamped', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const bob = await peer(BOB, h.key);
    // The relay's clock runs 5 s ahead of ours; its pings tell us.
    connection.receive({ type: ServerType.Ping, data: { t: h.clock.now() + 5000 } });
    await h.settle();
    h.session.send('mine');
    await h.settle();
    const stampedByRelay = h.clock.now() + 5000 + 40;
    connection.receive(
      await bob.message({
        text: 'agreed',
        reply: { stableId: `${ALICE.id}:${stampedByRelay}`, senderName: 'alice', preview: 'mine' },
      }),
    );
    await h.settle();
    expect(h.of('message')[0]?.message.reply?.ref).toBe(1);
  });
});

describe('reactions', () => {
  it('reads Arthas reactions and names the message they are about', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const bob = await peer(BOB, h.key, { signing: null });
    connection.receive(await bob.message({ text: 'hi' }, 1_700_000_000_100));
    connection.receive(
      await bob.reaction({ stableId: `${BOB.id}:1700000000100`, emoji: '👍', action: 'add' }),
    );
    connection.receive(
      await bob.reaction({ stableId: 'unknown:5', emoji: '🎉', action: 'remove' }),
    );
    await h.settle();
    expect(h.of('reaction')).toEqual([
      {
        type: 'reaction',
        from: BOB,
        target: { stableId: `${BOB.id}:1700000000100`, ref: 1, senderName: 'bob', preview: 'hi' },
        emoji: '👍',
        action: 'add',
        verification: 'unsigned',
        own: false,
      },
      {
        type: 'reaction',
        from: BOB,
        target: { stableId: 'unknown:5' },
        emoji: '🎉',
        action: 'remove',
        verification: 'unsigned',
        own: false,
      },
    ]);
  });

  it('sends reactions as Arthas does, one per member and message: again removes, another replaces', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    const bob = await peer(BOB, h.key);
    connection.receive(await bob.message({ text: 'hi', id: 'b1' }, 1_700_000_000_100));
    await h.settle();
    h.session.react(1, '👍');
    h.session.react(1, '🎉');
    h.session.react(1, '🎉');
    await h.settle();
    const sent = (await h.sentReactions()).map(({ emoji, action, stableId, messageId }) => [
      emoji,
      action,
      stableId,
      messageId,
    ]);
    const target = `${BOB.id}:1700000000100`;
    expect(sent).toEqual([
      ['👍', 'add', target, 'b1'],
      ['👍', 'remove', target, 'b1'],
      ['🎉', 'add', target, 'b1'],
      ['🎉', 'remove', target, 'b1'],
    ]);
    const key = await importVerifyingKey(h.signing.publicKey);
    expect(await verifyPayload((await h.sentReactions())[0]!, key)).toBe(true);
  });
});

describe('typing', () => {
  it('sends typing encrypted, throttled, and "stopped" after a pause', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    h.session.setTyping(true);
    await h.settle();
    h.clock.advance(500);
    h.session.setTyping(true);
    await h.settle();
    const typing = () => connection.sentOf(ClientType.Typing);
    expect(typing()).toHaveLength(1);
    expect(typing()[0]?.data.typing).toBeUndefined();
    expect(await openTyping(h.key, typing()[0]!.data as never)).toBe(true);
    h.clock.advance(DEFAULT_POLICY.typingRefreshMs);
    h.session.setTyping(true);
    await h.settle();
    expect(typing()).toHaveLength(2);
    h.clock.advance(DEFAULT_POLICY.typingIdleMs);
    await h.settle();
    expect(typing()).toHaveLength(3);
    expect(await openTyping(h.key, typing()[2]!.data as never)).toBe(false);
  });

  it('decrypts the typing state of Arthas clients, whatever the plain flag says, and times it out', async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit();
    connection.receive({
      type: ServerType.MemberTyping,
      data: { id: BOB.id, typing: false, ...(await sealTyping(h.key, true)) },
    });
    await h.settle();
    expect(h.of('typing')).toEqual([{ type: 'typing', member: BOB, typing: true }]);
    h.clock.advance(DEFAULT_POLICY.typingTimeoutMs);
    await h.settle();
    expect(h.of('typing').at(-1)).toEqual({ type: 'typing', member: BOB, typing: false });
    connection.receive({ type: ServerType.MemberTyping, data: { id: BOB.id, typing: true } });
    connection.receive({ type: ServerType.MemberTyping, data: { id: BOB.id, typing: false } });
    await h.settle();
    expect(
      h
        .of('typing')
        .slice(-2)
        .map((e) => e.typing),
    ).toEqual([true, false]);
  });
});

describe('ephemeral rooms', () => {
  it("expires every message, ours and others, after the room's time", async () => {
    const h = await harness();
    h.session.start();
    const connection = await h.admit([ALICE, BOB], { ephemeral: 10 });
    const bob = await peer(BOB, h.key);
    connection.receive(await bob.message({ text: 'gone soon' }));
    h.session.send('me too');
    await h.settle();
    h.clock.advance(9_999);
    expect(h.of('expired')).toEqual([]);
    h.clock.advance(1);
    expect(
      h
        .of('expired')
        .map((e) => e.ref)
        .sort(),
    ).toEqual([1, 2]);
  });
});
