import type { ChatMessage, FileInfo, ReactionTarget } from '@hush/client';
import type { Member } from '@hush/protocol';
import { ErrorCode } from '@hush/protocol';
import { describe, expect, it } from 'vitest';
import type { OutputFormat, UiEvent } from './render.js';
import { clock, NEWLINE_MARK, Renderer, sanitize, truecolor, UNDECRYPTABLE } from './render.js';

const alice: Member = { id: 'a1', name: 'alice', color: '#ff8000' };
const bob: Member = { id: 'b2', name: 'bob', color: '#0080ff' };
const T = new Date(2025, 0, 2, 9, 5, 7).getTime();
const ESC = '\x1b';

function renderer(format: OutputFormat, color = false): Renderer {
  return new Renderer({
    format,
    color,
    statusColor: color,
    fingerprint: 'AAAA BBBB',
    now: () => T,
  });
}

/** A received message event. */
function message(
  text: string,
  extra: Partial<ChatMessage> = {},
): Extract<UiEvent, { type: 'message' }> {
  return {
    type: 'message',
    message: {
      ref: 3,
      stableId: `${alice.id}:${T}`,
      own: false,
      from: alice,
      text,
      t: T,
      verification: 'verified',
      ...extra,
    },
  };
}

function sent(text: string): Extract<UiEvent, { type: 'sent' }> {
  return {
    type: 'sent',
    message: {
      ref: 4,
      stableId: `${bob.id}:${T}`,
      id: 'm2',
      own: true,
      from: bob,
      text,
      t: T,
      verification: 'verified',
    },
  };
}

const joined: UiEvent = {
  type: 'joined',
  room: { roomId: 'R'.repeat(21), hasPassword: false, ephemeral: 0, expiresAt: 0 },
  self: bob,
  members: [alice, bob],
  rejoin: false,
};

describe('the line format (stdout not a terminal)', () => {
  const lines = (event: UiEvent) => renderer('lines').render(event);

  it('prints messages as [HH:MM:SS] #n mark <name> text on stdout', () => {
    expect(lines(message('hi'))).toEqual([
      { stream: 'stdout', text: '[09:05:07] #3 ✓ <alice> hi' },
    ]);
  });

  it('marks every message with what its signature says', () => {
    const marks = (['verified', 'invalid', 'unknown-signer', 'unsigned'] as const).map(
      (verification) => lines(message('x', { verification }))[0]?.text,
    );
    expect(marks).toEqual([
      '[09:05:07] #3 ✓ <alice> x',
      '[09:05:07] #3 ✗ <alice> x',
      '[09:05:07] #3 ? <alice> x',
      '[09:05:07] #3 - <alice> x',
    ]);
  });

  it('explains an invalid signature on stderr, once per sender', () => {
    const r = renderer('lines');
    const first = r.render(message('pay mallory', { verification: 'invalid' }));
    expect(first[1]).toEqual({
      stream: 'stderr',
      text: 'Message #3 has an invalid signature: it was altered, or not written by alice. Do not trust it.',
    });
    expect(r.render(message('again', { verification: 'invalid' }))).toHaveLength(1);
  });

  it('shows a reply as a quoted line before it', () => {
    const reply = message('agreed', {
      reply: { stableId: 'b2:1', senderName: 'bob', preview: 'see you at 9?', ref: 1 },
    });
    expect(lines(reply).map((o) => o.text)).toEqual([
      '  > #1 <bob> see you at 9?',
      '[09:05:07] #3 ✓ <alice> agreed',
    ]);
    const unknown = message('ok', {
      reply: { stableId: 'z:1', senderName: 'dan', preview: 'gone' },
    });
    expect(lines(unknown)[0]?.text).toBe('  > <dan> gone');
  });

  it('shows reactions with the message they are about', () => {
    const reaction = (action: 'add' | 'remove', target: ReactionTarget) =>
      lines({
        type: 'reaction',
        from: bob,
        target,
        emoji: '👍',
        action,
        verification: 'unsigned',
        own: false,
      });
    expect(
      reaction('add', { stableId: 'a1:1', ref: 3, senderName: 'alice', preview: 'hi' }),
    ).toEqual([{ stream: 'stdout', text: '* bob reacted 👍 to #3 <alice> "hi"' }]);
    expect(reaction('remove', { stableId: 'x:1' })[0]?.text).toBe(
      '* bob removed 👍 from a message this terminal does not have',
    );
  });

  it('shows files offered and saved, and signature news, on stdout', () => {
    const file: FileInfo = {
      transferId: 't1',
      direction: 'incoming',
      from: bob,
      fileName: 'photo.jpg',
      mimeType: 'image/jpeg',
      size: 12_600,
      verification: 'unsigned',
      ref: 5,
      stableId: 'b2:1',
      t: T,
    };
    expect(lines({ type: 'file-offered', file })[0]?.text).toBe(
      '[09:05:07] #5 - <bob> file "photo.jpg" (12.3 KB, image/jpeg)',
    );
    expect(lines({ type: 'file-saved', file, path: 'dl/photo.jpg' })[0]?.text).toBe(
      '* saved "photo.jpg" from bob to dl/photo.jpg',
    );
    expect(
      lines({ type: 'verification', ref: 3, from: alice, verification: 'verified' })[0]?.text,
    ).toBe('* #3 from alice: verified');
    expect(
      lines({
        type: 'key-changed',
        member: alice,
        fingerprint: 'BBBB',
        previousFingerprint: 'AAAA',
      })[0]?.text,
    ).toBe("* warning: alice's signing key changed (was AAAA, now BBBB)");
  });

  it('answers /verify with the safety code and every key', () => {
    const out = lines({
      type: 'verify',
      report: {
        roomKeyFingerprint: 'AAAA',
        safetyCode: '12345 67890',
        members: [
          { member: bob, self: true, fingerprint: 'B0B0' },
          { member: alice, self: false, fingerprint: undefined },
        ],
      },
    });
    expect(out.map((o) => o.text)).toEqual([
      '* safety code 12345 67890',
      '* room key AAAA',
      '* key bob (you) B0B0',
      '* key alice none (no signing key announced)',
    ]);
  });

  it('prints joins and leaves as * name joined / * name left', () => {
    expect(lines({ type: 'member-joined', member: bob })).toEqual([
      { stream: 'stdout', text: '* bob joined' },
    ]);
    expect(lines({ type: 'member-left', member: bob })).toEqual([
      { stream: 'stdout', text: '* bob left' },
    ]);
  });

  it('prints the share code and link as * code / * link, the explanation on stderr', () => {
    const out = lines({
      type: 'share',
      roomId: 'r',
      code: 'ROOM:KEY',
      link: 'http://h/#/join/ROOM:KEY',
      expiresAt: 0,
    });
    expect(out.filter((o) => o.stream === 'stdout').map((o) => o.text)).toEqual([
      '* code ROOM:KEY',
      '* link http://h/#/join/ROOM:KEY',
    ]);
    expect(out.some((o) => o.stream === 'stderr')).toBe(true);
  });

  it('keeps one line per message: line breaks become a mark', () => {
    const [out] = lines(message('one\ntwo\r\nthree'));
    expect(out?.text).toBe(`[09:05:07] #3 ✓ <alice> one${NEWLINE_MARK}two${NEWLINE_MARK}three`);
  });

  it('shows an undecryptable message and warns once per sender that the key is probably wrong', () => {
    const first = lines({ type: 'undecryptable', from: alice, t: T, firstFromSender: true });
    expect(first[0]).toEqual({ stream: 'stdout', text: `[09:05:07] <alice> ${UNDECRYPTABLE}` });
    expect(first[1]?.stream).toBe('stderr');
    expect(first[1]?.text).toMatch(/key in your share code is probably wrong/);
    const again = lines({ type: 'undecryptable', from: alice, t: T, firstFromSender: false });
    expect(again).toHaveLength(1);
  });

  it('puts status and errors on stderr only', () => {
    for (const event of [
      joined,
      { type: 'server-error', code: ErrorCode.RateLimited, message: '', retrying: false },
      { type: 'disconnected', code: 1006, reason: '', retryInMs: 250 },
      { type: 'connecting', url: 'ws://h/ws', attempt: 1 },
    ] satisfies UiEvent[]) {
      const out = lines(event);
      expect(out.length).toBeGreaterThan(0);
      expect(out.every((o) => o.stream === 'stderr')).toBe(true);
    }
  });

  it('does not echo our own messages', () => {
    const r = renderer('lines');
    r.render(joined);
    expect(r.render(sent('hello'))).toEqual([]);
  });

  it('reports a closed room on stdout and the reason on stderr', () => {
    const out = lines({
      type: 'end',
      end: { kind: 'room-closed', reason: 'expired' },
      exitCode: 3,
      message: 'The room has expired and was closed by the relay.',
    });
    expect(out).toEqual([
      { stream: 'stdout', text: '* room closed (expired)' },
      { stream: 'stderr', text: 'The room has expired and was closed by the relay.' },
    ]);
  });

  it('never colours, even when asked to', () => {
    const out = renderer('lines', true).render(message('x'));
    expect(out[0]?.text).not.toContain(ESC);
  });
});

describe('the terminal format', () => {
  it('colours names with the member colour in 24-bit ANSI', () => {
    const [out] = renderer('human', true).render(message('hi'));
    expect(out?.text).toContain(`${ESC}[38;2;255;128;0m`);
    expect(out?.text).toContain('hi');
  });

  it('has no escape sequences when colour is off', () => {
    const [out] = renderer('human', false).render(message('hi'));
    expect(out?.text).toBe('09:05:07 #3 ✓ alice: hi');
  });

  it('indents continuation lines under the text', () => {
    const [out] = renderer('human').render(message('one\ntwo'));
    expect(out?.text).toBe(
      `09:05:07 #3 ✓ alice: one\n${' '.repeat('09:05:07 #3 ✓ alice: '.length)}two`,
    );
  });

  it('shows our own sent messages under our name', () => {
    const r = renderer('human');
    r.render(joined);
    expect(r.render(sent('hello'))).toEqual([
      { stream: 'stdout', text: '09:05:07 #4 ✓ bob: hello' },
    ]);
  });
});

describe('the JSON format', () => {
  const json = (event: UiEvent) =>
    renderer('json')
      .render(event)
      .filter((o) => o.stream === 'stdout')
      .map((o) => JSON.parse(o.text) as Record<string, unknown>);

  it('emits one object per event with a type and a time', () => {
    expect(json(message('a\nb', { id: 'm1', t: 42 }))).toEqual([
      {
        type: 'message',
        t: 42,
        ref: 3,
        stableId: `${alice.id}:${T}`,
        from: alice,
        text: 'a\nb',
        id: 'm1',
        verification: 'verified',
      },
    ]);
    expect(json({ type: 'member-left', member: bob })).toEqual([
      { type: 'member-left', t: T, member: bob },
    ]);
    expect(json(sent('yo'))).toEqual([
      {
        type: 'sent',
        t: T,
        ref: 4,
        stableId: `${bob.id}:${T}`,
        from: bob,
        id: 'm2',
        text: 'yo',
        verification: 'verified',
      },
    ]);
  });

  it('reports creation with the code, link and fingerprint', () => {
    expect(
      json({ type: 'share', roomId: 'r', code: 'r:k', link: 'http://h/#/join/r:k', expiresAt: 5 }),
    ).toEqual([
      {
        type: 'created',
        t: T,
        roomId: 'r',
        code: 'r:k',
        link: 'http://h/#/join/r:k',
        fingerprint: 'AAAA BBBB',
        expiresAt: 5,
      },
    ]);
  });

  it('reports errors with the code and the sentence, and the end with the exit code', () => {
    expect(
      json({ type: 'server-error', code: ErrorCode.RateLimited, message: '', retrying: false }),
    ).toEqual([expect.objectContaining({ type: 'error', code: 'E004', retrying: false })]);
    expect(
      json({
        type: 'end',
        end: { kind: 'refused', code: ErrorCode.RoomNotFound, rejoin: false },
        exitCode: 4,
        message: 'Room not found.',
      }),
    ).toEqual([
      {
        type: 'end',
        t: T,
        exitCode: 4,
        reason: 'refused',
        code: 'E001',
        message: 'Room not found.',
      },
    ]);
  });

  it('escapes control characters instead of passing them through', () => {
    const [line] = renderer('json').render(message(`${ESC}[2J`));
    expect(line?.text).not.toContain(ESC);
    expect(line?.text).toContain('\\u001b[2J');
  });
});

describe('sanitize', () => {
  it('neutralises escape sequences, other controls and bidi overrides', () => {
    expect(sanitize(`a${ESC}[31mb\u0007c\u202Ed\u0085e`)).toBe('a\uFFFD[31mb\uFFFDc\uFFFDd\uFFFDe');
  });

  it('keeps emoji sequences and other scripts intact', () => {
    expect(sanitize('👩‍👩‍👧 こんにちは')).toBe('👩‍👩‍👧 こんにちは');
  });

  it('turns line breaks into the given separator and tabs into spaces', () => {
    expect(sanitize('a\r\nb\rc\nd\te', '|')).toBe('a|b|c|d e');
  });
});

describe('helpers', () => {
  it('formats local time as HH:MM:SS', () => {
    expect(clock(T)).toBe('09:05:07');
  });

  it('ignores colours that are not #rrggbb', () => {
    expect(truecolor('x', 'red')).toBe('x');
    expect(truecolor('x', '#010203')).toBe(`${ESC}[38;2;1;2;3mx${ESC}[39m`);
  });
});
