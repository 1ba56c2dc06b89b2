import { MAX_MESSAGE_CODE_POINTS } from '@hush/client';

/** Longest message the CLI sends, in characters (Unicode code points): the SDK's limit. */
export const MAX_MESSAGE_CHARS = MAX_MESSAGE_CODE_POINTS;

/** What one line of input means. */
export type Input =
  | { kind: 'message'; text: string }
  | { kind: 'command'; command: 'quit' | 'members' | 'help' | 'code' | 'verify' }
  | { kind: 'reply'; ref: number; text: string }
  | { kind: 'react'; ref: number; emoji: string }
  | { kind: 'send-file'; path: string }
  | { kind: 'empty' }
  | { kind: 'refused'; reason: string };

type Word = 'quit' | 'members' | 'help' | 'code' | 'verify' | 'reply' | 'react' | 'send';

const COMMANDS: Readonly<Record<string, Word>> = {
  '/quit': 'quit',
  '/exit': 'quit',
  '/members': 'members',
  '/who': 'members',
  '/help': 'help',
  '/?': 'help',
  '/code': 'code',
  '/verify': 'verify',
  '/reply': 'reply',
  '/react': 'react',
  '/send': 'send',
};

const MESSAGE_REF = /^#?(\d{1,9})$/;

/**
 * Reads one line typed or piped in: a command, a message, or nothing. `//text` sends `/text`.
 * Messages over {@link MAX_MESSAGE_CHARS} are refused, and so are commands used wrongly, each with
 * a sentence saying how to use it.
 */
export function parseInput(raw: string): Input {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line.trim() === '') return { kind: 'empty' };
  if (line.startsWith('/') && !line.startsWith('//')) return parseCommand(line);
  return message(line.startsWith('//') ? line.slice(1) : line);
}

function parseCommand(line: string): Input {
  const trimmed = line.trim();
  const space = trimmed.search(/\s/);
  const word = (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase();
  const rest = space < 0 ? '' : trimmed.slice(space).trim();
  const command = COMMANDS[word];
  switch (command) {
    case undefined:
      return refused(
        `Unknown command ${word.slice(0, 32)}; /help lists the commands (start a message with // to send a line beginning with /).`,
      );
    case 'reply': {
      const [ref, text] = splitRef(rest);
      if (ref === undefined || text === '') {
        return refused('Usage: /reply <message number> <text>, e.g. /reply 3 sounds good');
      }
      const parsed = message(text);
      return parsed.kind === 'message' ? { kind: 'reply', ref, text: parsed.text } : parsed;
    }
    case 'react': {
      const [ref, emoji] = splitRef(rest);
      if (ref === undefined || emoji === '' || /\s/.test(emoji)) {
        return refused('Usage: /react <message number> <emoji>, e.g. /react 3 👍');
      }
      return { kind: 'react', ref, emoji };
    }
    case 'send':
      return rest === ''
        ? refused('Usage: /send <file>, e.g. /send ./photo.jpg')
        : { kind: 'send-file', path: rest };
    default:
      return { kind: 'command', command };
  }
}

/** `3 rest` or `#3 rest` → [3, 'rest']. */
function splitRef(text: string): [number | undefined, string] {
  const space = text.search(/\s/);
  const head = space < 0 ? text : text.slice(0, space);
  const match = MESSAGE_REF.exec(head);
  if (match === null) return [undefined, text];
  return [Number(match[1]), space < 0 ? '' : text.slice(space + 1).trim()];
}

function message(text: string): Input {
  const length = [...text].length;
  if (length > MAX_MESSAGE_CHARS) {
    return refused(
      `Message too long: ${length} characters, the limit is ${MAX_MESSAGE_CHARS}. It was not sent.`,
    );
  }
  return { kind: 'message', text };
}

function refused(reason: string): Input {
  return { kind: 'refused', reason };
}
