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
