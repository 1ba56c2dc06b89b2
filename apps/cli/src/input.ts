/** Longest message the CLI sends, in characters (Unicode code points). */
export const MAX_MESSAGE_CHARS = 2000;

export type Command = 'quit' | 'members' | 'help' | 'code';

/** What one line of input means. */
export type Input =
  | { kind: 'message'; text: string }
  | { kind: 'command'; command: Command }
  | { kind: 'empty' }
  | { kind: 'refused'; reason: string };

const COMMANDS: Readonly<Record<string, Command>> = {
  '/quit': 'quit',
  '/exit': 'quit',
  '/members': 'members',
  '/who': 'members',
  '/help': 'help',
  '/?': 'help',
  '/code': 'code',
};

/**
 * Reads one line typed or piped in: a command (`/quit`, `/members`, `/help`, `/code`), a message,
 * or nothing. `//text` sends `/text`. Messages over {@link MAX_MESSAGE_CHARS} are refused.
 */
export function parseInput(raw: string): Input {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line.trim() === '') return { kind: 'empty' };
  if (line.startsWith('/') && !line.startsWith('//')) {
    const word = line.trim().split(/\s+/, 1)[0]?.toLowerCase() ?? '';
    const command = COMMANDS[word];
    return command === undefined
      ? {
          kind: 'refused',
          reason: `Unknown command ${word.slice(0, 32)}; /help lists the commands (start a message with // to send a line beginning with /).`,
        }
      : { kind: 'command', command };
  }
  const text = line.startsWith('//') ? line.slice(1) : line;
  const length = [...text].length;
  if (length > MAX_MESSAGE_CHARS) {
    return {
      kind: 'refused',
      reason: `Message too long: ${length} characters, the limit is ${MAX_MESSAGE_CHARS}. It was not sent.`,
    };
  }
  return { kind: 'message', text };
}
