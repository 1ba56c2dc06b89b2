import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_CHARS, parseInput } from './input.js';

describe('parseInput', () => {
  it('reads commands, case-insensitively and with aliases', () => {
    expect(parseInput('/quit')).toEqual({ kind: 'command', command: 'quit' });
    expect(parseInput('/EXIT')).toEqual({ kind: 'command', command: 'quit' });
    expect(parseInput('/members')).toEqual({ kind: 'command', command: 'members' });
    expect(parseInput('/who')).toEqual({ kind: 'command', command: 'members' });
    expect(parseInput('/help')).toEqual({ kind: 'command', command: 'help' });
    expect(parseInput('/code ')).toEqual({ kind: 'command', command: 'code' });
  });

  it('reads /reply, /react, /send and /verify with their arguments', () => {
    expect(parseInput('/reply 3 sounds good')).toEqual({
      kind: 'reply',
      ref: 3,
      text: 'sounds good',
    });
    expect(parseInput('/reply #12  //not a command')).toEqual({
      kind: 'reply',
      ref: 12,
      text: '//not a command',
    });
    expect(parseInput('/react 3 👍')).toEqual({ kind: 'react', ref: 3, emoji: '👍' });
    expect(parseInput('/send ./my photo.jpg')).toEqual({
      kind: 'send-file',
      path: './my photo.jpg',
    });
    expect(parseInput('/verify')).toEqual({ kind: 'command', command: 'verify' });
  });

  it('refuses commands used wrongly, saying how to use them', () => {
    for (const [line, usage] of [
      ['/reply', /^Usage: \/reply <message number> <text>/],
      ['/reply three hi', /^Usage: \/reply/],
      ['/reply 3', /^Usage: \/reply/],
      ['/react 3', /^Usage: \/react <message number> <emoji>/],
      ['/react 3 two words', /^Usage: \/react/],
      ['/send', /^Usage: \/send <file>/],
    ] as const) {
      const input = parseInput(line);
      expect(input.kind === 'refused' && input.reason).toMatch(usage);
    }
    expect(parseInput(`/reply 1 ${'a'.repeat(MAX_MESSAGE_CHARS + 1)}`).kind).toBe('refused');
  });

  it('refuses unknown commands instead of sending them as text', () => {
    const input = parseInput('/shrug hello');
    expect(input.kind).toBe('refused');
    expect(input.kind === 'refused' && input.reason).toMatch(/Unknown command \/shrug/);
  });

  it('sends a line starting with // as one starting with /', () => {
    expect(parseInput('//shrug')).toEqual({ kind: 'message', text: '/shrug' });
  });

  it('keeps messages as typed, dropping only a CR of CRLF input', () => {
    expect(parseInput('  hi there ')).toEqual({ kind: 'message', text: '  hi there ' });
    expect(parseInput('hi\r')).toEqual({ kind: 'message', text: 'hi' });
    expect(parseInput('   ')).toEqual({ kind: 'empty' });
    expect(parseInput('')).toEqual({ kind: 'empty' });
  });

  it('accepts exactly the limit in characters and refuses one more', () => {
    expect(parseInput('a'.repeat(MAX_MESSAGE_CHARS)).kind).toBe('message');
    const long = parseInput('a'.repeat(MAX_MESSAGE_CHARS + 1));
    expect(long).toEqual({
      kind: 'refused',
      reason: `Message too long: ${MAX_MESSAGE_CHARS + 1} characters, the limit is ${MAX_MESSAGE_CHARS}. It was not sent.`,
    });
  });

  it('counts characters, not UTF-16 units', () => {
    expect(parseInput('😀'.repeat(MAX_MESSAGE_CHARS)).kind).toBe('message');
  });
});
