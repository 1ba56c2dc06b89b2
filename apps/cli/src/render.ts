import type { Member } from '@hush/protocol';
import type { SessionEnd } from './errors.js';
import { assertNever, describeError } from './errors.js';
import type { SessionEvent } from './session.js';

/**
 * - `human`: an interactive terminal: colours (unless disabled), aligned multi-line messages.
 * - `lines`: stdout is not a terminal: one stable line per event (see the README).
 * - `json`: one JSON object per event on stdout.
 */
export type OutputFormat = 'human' | 'lines' | 'json';

export interface Output {
  stream: 'stdout' | 'stderr';
  text: string;
}

/** What the UI shows: session events plus the CLI's own. */
export type UiEvent =
  | SessionEvent
  /** After RoomCreated: what to hand to the people to invite. */
  | {
      type: 'share';
      roomId: string;
      code: string;
      link: string;
      expiresAt: number;
    }
  /** Answer to `/members`. */
  | { type: 'members'; members: readonly Member[]; selfId: string | undefined }
  /** Answer to `/help`. */
  | { type: 'help' }
  /** A line the CLI did not send (too long, unknown command). */
  | { type: 'input-refused'; reason: string }
  /** A message typed while not in the room: it waits for the rejoin. */
  | { type: 'queued'; pending: number }
  | { type: 'end'; end: SessionEnd; exitCode: number; message: string | undefined };

export interface RenderOptions {
  format: OutputFormat;
  /** Colours on stdout (a terminal, NO_COLOR unset, no --no-color). */
  color: boolean;
  /** Colours on stderr. */
  statusColor: boolean;
  /** The room key's fingerprint, shown on joining. */
  fingerprint: string;
  now?: () => number;
}

/** Shown for a message that did not decrypt, in every text format. */
export const UNDECRYPTABLE = '[could not decrypt]';

/** Stands in for a line break inside a message in the one-line-per-event format. */
export const NEWLINE_MARK = '\u21b5';

export const HELP_TEXT = [
  'Type a message and press Enter to send it.',
  '  /members   list who is in the room',
  '  /code      show the share code and join link again',
  '  /help      this help',
  '  /quit      leave the room (also Ctrl+D or Ctrl+C)',
  'Start a message with // to send a line that begins with /.',
].join('\n');

/** Turns UI events into output lines for one format. Remembers who we are, for our own lines. */
export class Renderer {
  private self: Member | undefined;
  private readonly now: () => number;

  constructor(private readonly options: RenderOptions) {
    this.now = options.now ?? Date.now;
  }

  render(event: UiEvent): Output[] {
    if (event.type === 'joined') this.self = event.self;
    const text = this.options.format === 'json' ? [] : this.text(event);
    return this.options.format === 'json' ? [...this.json(event), ...text] : text;
  }

  // -------------------------------------------------------------------------------------------
  // Text formats: chat on stdout, status on stderr
  // -------------------------------------------------------------------------------------------

  private text(event: UiEvent): Output[] {
    const human = this.options.format === 'human';
    switch (event.type) {
      case 'connecting':
        return event.attempt === 1
          ? this.status(`Connecting to ${event.url}…`, 'dim')
          : this.status(`Reconnecting (attempt ${event.attempt})…`, 'dim');
      case 'welcome':
      case 'created':
        return [];
      case 'share':
        return [
          ...this.status('Room created. Anyone with this code or link can join and read it:'),
          this.out(human ? `  Share code: ${event.code}` : `* code ${event.code}`),
          this.out(human ? `  Join link:  ${event.link}` : `* link ${event.link}`),
        ];
      case 'joined':
        return this.joined(event);
      case 'member-joined':
        return [this.out(this.notice(`${this.name(event.member)} joined`))];
      case 'member-left':
        return [this.out(this.notice(`${this.name(event.member)} left`))];
      case 'message':
        return [
          this.out(this.chat(event.from, event.t, sanitizeFor(this.options.format, event.text))),
        ];
      case 'undecryptable': {
        const body = human ? this.paint(UNDECRYPTABLE, 'red') : UNDECRYPTABLE;
        const line = this.out(this.chat(event.from, event.t, body));
        if (!event.firstFromSender) return [line];
        const who = sanitize(event.from.name);
        return [
          line,
          ...this.status(
            `Could not decrypt a message from ${who}: the key in your share code is probably wrong (or ${who} uses a different one).`,
            'yellow',
          ),
        ];
      }
      case 'sent':
        // In a terminal our own line replaces the echo of what was typed; scripts know what they sent.
        return human && this.self !== undefined
          ? [this.out(this.chat(this.self, this.now(), sanitizeFor('human', event.text)))]
          : [];
      case 'file-offered':
        return this.status(
          `${sanitize(event.from.name)} offered a file; the terminal client cannot receive files.`,
          'dim',
        );
      case 'notice':
        return this.status(`Relay: ${sanitize(event.message)}`, 'yellow');
      case 'server-error':
        return this.status(
          event.retrying ? `${describeError(event.code)} Retrying…` : describeError(event.code),
          'yellow',
        );
      case 'warning':
        return this.status(`Warning: ${sanitize(event.detail)}`, 'yellow');
      case 'disconnected':
        return this.status(
          `Connection lost (${closeDescription(event.code, event.reason)}); reconnecting in ${seconds(event.retryInMs)}…`,
          'yellow',
        );
      case 'members':
        return this.members(event.members, event.selfId);
      case 'help':
        return [{ stream: 'stderr', text: HELP_TEXT }];
      case 'input-refused':
        return this.status(event.reason, 'yellow');
      case 'queued':
        return this.status(
          `Not connected: message queued (${event.pending} waiting), it goes out after the rejoin.`,
          'dim',
        );
      case 'end': {
        const closed =
          event.end.kind === 'room-closed' && !human
            ? [this.out(`* room closed (${sanitize(event.end.reason)})`)]
            : [];
        const final = event.message === undefined ? [] : this.status(event.message, 'red');
        return [...closed, ...final];
      }
      default:
        return assertNever(event);
    }
  }

  private joined(event: Extract<UiEvent, { type: 'joined' }>): Output[] {
    if (event.rejoin) return this.status('Reconnected: back in the room.', 'dim');
    const names = event.members.map((m) =>
      m.id === event.self.id ? `${sanitize(m.name)} (you)` : sanitize(m.name),
    );
    const lines = [
      `Joined room ${event.room.roomId} as ${sanitize(event.self.name)}. Members (${names.length}): ${names.join(', ')}.`,
      `Key fingerprint: ${this.options.fingerprint}`,
    ];
    if (event.room.hasPassword) lines.push('The room is password-protected.');
    if (event.room.expiresAt !== 0) {
      lines.push(`The room expires at ${new Date(event.room.expiresAt * 1000).toLocaleString()}.`);
    }
    if (event.room.ephemeral !== 0) {
      lines.push(
        `Messages here are ephemeral (${event.room.ephemeral} s); this terminal cannot erase them, so clear your scrollback.`,
      );
    }
    if (this.options.format === 'human') lines.push('Type /help for commands.');
    return lines.flatMap((line) => this.status(line, 'dim'));
  }

  private members(members: readonly Member[], selfId: string | undefined): Output[] {
    if (this.options.format !== 'human') {
      return [this.out(`* members ${members.map((m) => sanitize(m.name)).join(', ')}`)];
    }
    return [
      this.out(`Members (${members.length}):`),
      ...members.map((m) => this.out(`  ${this.name(m)}${m.id === selfId ? ' (you)' : ''}`)),
    ];
  }

  /** `[HH:MM:SS] <name> text`, or in a terminal `HH:MM:SS name: text` with the name coloured. */
  private chat(from: Member, t: number, body: string): string {
    if (this.options.format !== 'human') return `[${clock(t)}] <${sanitize(from.name)}> ${body}`;
    const head = `${clock(t)} ${sanitize(from.name)}: `;
    // Continuation lines start under the text, not under the timestamp.
    const indented = body.replaceAll('\n', `\n${' '.repeat([...head].length)}`);
    return `${this.paint(clock(t), 'dim')} ${this.name(from, true)}: ${indented}`;
  }

  /** `* text`, or in a terminal the same, dimmed, after a timestamp. */
  private notice(text: string): string {
    if (this.options.format !== 'human') return `* ${text}`;
    return `${this.paint(clock(this.now()), 'dim')} ${this.paint('*', 'dim')} ${text}`;
  }

  private name(member: Member, bold = false): string {
    const name = sanitize(member.name);
    if (!this.options.color || this.options.format !== 'human') return name;
    return truecolor(bold ? `\x1b[1m${name}\x1b[22m` : name, member.color);
  }

  private paint(text: string, style: Style): string {
    return this.options.color ? stylize(text, style) : text;
  }

  private out(text: string): Output {
    return { stream: 'stdout', text };
  }

  private status(text: string, style?: Style): Output[] {
    const painted = style !== undefined && this.options.statusColor ? stylize(text, style) : text;
    return [{ stream: 'stderr', text: painted }];
  }

  // -------------------------------------------------------------------------------------------
  // JSON: one object per event on stdout
  // -------------------------------------------------------------------------------------------

  private json(event: UiEvent): Output[] {
    const t = this.now();
    const object = this.jsonObject(event, t);
    return object === undefined ? [] : [{ stream: 'stdout', text: JSON.stringify(object) }];
  }

  private jsonObject(event: UiEvent, t: number): Record<string, unknown> | undefined {
    switch (event.type) {
      case 'connecting':
        return { type: event.type, t, url: event.url, attempt: event.attempt };
      case 'welcome':
        return { type: event.type, t, version: event.version, features: event.features };
      case 'created':
      case 'help':
        // `share` reports the creation with the code and link; help is for people.
        return undefined;
      case 'share':
        return {
          type: 'created',
          t,
          roomId: event.roomId,
          code: event.code,
          link: event.link,
          fingerprint: this.options.fingerprint,
          expiresAt: event.expiresAt,
        };
      case 'joined':
        return {
          type: event.type,
          t,
          ...event.room,
          self: event.self,
          members: event.members,
          fingerprint: this.options.fingerprint,
          rejoin: event.rejoin,
        };
      case 'member-joined':
      case 'member-left':
        return { type: event.type, t, member: event.member };
      case 'message':
        return { type: event.type, t: event.t, from: event.from, text: event.text, id: event.id };
      case 'undecryptable':
        return { type: event.type, t: event.t, from: event.from };
      case 'sent':
        return { type: event.type, t, id: event.id, text: event.text };
      case 'file-offered':
        return { type: event.type, t, from: event.from };
      case 'notice':
        return { type: event.type, t, kind: event.kind, message: event.message };
      case 'server-error':
        return {
          type: 'error',
          t,
          code: event.code,
          message: describeError(event.code),
          retrying: event.retrying,
        };
      case 'warning':
        return { type: event.type, t, message: event.detail };
      case 'disconnected':
        return {
          type: event.type,
          t,
          code: event.code,
          reason: event.reason,
          retryInMs: event.retryInMs,
        };
      case 'members':
        return { type: event.type, t, members: event.members, selfId: event.selfId };
      case 'input-refused':
        return { type: event.type, t, reason: event.reason };
      case 'queued':
        return { type: event.type, t, pending: event.pending };
      case 'end':
        return {
          type: event.type,
          t,
          exitCode: event.exitCode,
          reason: event.end.kind,
          ...(event.end.kind === 'refused' ? { code: event.end.code } : {}),
          ...(event.end.kind === 'room-closed' ? { closeReason: event.end.reason } : {}),
          ...(event.message === undefined ? {} : { message: event.message }),
        };
      default:
        return assertNever(event);
    }
  }
}

type Style = 'dim' | 'red' | 'yellow';

const STYLES: Readonly<Record<Style, readonly [string, string]>> = {
  dim: ['\x1b[2m', '\x1b[22m'],
  red: ['\x1b[31m', '\x1b[39m'],
  yellow: ['\x1b[33m', '\x1b[39m'],
};

function stylize(text: string, style: Style): string {
  const [open, close] = STYLES[style];
  return `${open}${text}${close}`;
}

/** Paints `text` in a `#rrggbb` colour with a 24-bit ANSI sequence; other colours are ignored. */
export function truecolor(text: string, color: string): string {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (match === null) return text;
  const [r, g, b] = match.slice(1).map((hex) => parseInt(hex, 16));
  return `\x1b[38;2;${r};${g};${b}m${text}\x1b[39m`;
}

/** Local wall-clock time `HH:MM:SS` of a unix-ms timestamp. */
export function clock(ms: number): string {
  const date = new Date(ms);
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
}

/**
 * Control characters and bidirectional overrides, which could move the cursor, recolour or
 * clear the terminal, or disguise text. Other people's text never reaches a terminal with them.
 */
const UNSAFE = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/gu;

/**
 * Makes untrusted text safe to print: line breaks become `newline`, tabs a space, and every other
 * control character or bidi override U+FFFD.
 */
export function sanitize(text: string, newline = ' '): string {
  return text
    .replace(/\r\n?|\n/g, '\n')
    .replaceAll('\t', ' ')
    .split('\n')
    .map((line) => line.replace(UNSAFE, '\uFFFD'))
    .join(newline);
}

/** Message bodies: real line breaks in a terminal, {@link NEWLINE_MARK} in one-line formats. */
function sanitizeFor(format: OutputFormat, text: string): string {
  return sanitize(text, format === 'human' ? '\n' : NEWLINE_MARK);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function closeDescription(code: number, reason: string): string {
  const known: Readonly<Record<number, string>> = {
    1000: 'closed by the relay',
    1001: 'the relay is going away',
    1006: 'connection dropped',
    1008: 'policy violation',
    1009: 'message too big',
    4008: 'too slow to read',
  };
  const text = known[code] ?? `code ${code}`;
  return reason === '' ? text : `${text}: ${sanitize(reason)}`;
}
