import type {
  ChatMessage,
  FileInfo,
  ReactionTarget,
  SessionEvent,
  Verification,
  VerificationReport,
} from '@hush/client';
import { CLIENT_CLOSED } from '@hush/client';
import type { Member } from '@hush/protocol';
import type { SessionEnd } from './errors.js';
import { assertNever, describeError } from './errors.js';

/**
 * - `human`: an interactive terminal: colours (unless disabled), aligned multi-line messages.
 * - `lines`: stdout is not a terminal: stable lines (see the README).
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
  | { type: 'share'; roomId: string; code: string; link: string; expiresAt: number }
  /** Answer to `/members`. */
  | { type: 'members'; members: readonly Member[]; selfId: string | undefined }
  /** Answer to `/verify`. */
  | { type: 'verify'; report: VerificationReport }
  /** Answer to `/help`. */
  | { type: 'help' }
  /** A line the CLI did not act on (too long, unknown command, a file it cannot send). */
  | { type: 'input-refused'; reason: string }
  /** A received file, written to the download directory. */
  | { type: 'file-saved'; file: FileInfo; path: string }
  /** A received file that was not written, and why. */
  | { type: 'file-not-saved'; file: FileInfo; reason: string }
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

/** The mark before a sender's name: what the message's signature says. */
export const VERIFICATION_MARK: Readonly<Record<Verification, string>> = {
  verified: '\u2713',
  invalid: '\u2717',
  'unknown-signer': '?',
  unsigned: '-',
};

const VERIFICATION_WORDS: Readonly<Record<Verification, string>> = {
  verified: 'verified',
  invalid: 'signature INVALID',
  'unknown-signer': 'signer unknown',
  unsigned: 'unsigned',
};

export const HELP_TEXT = [
  'Type a message and press Enter to send it. Messages are numbered (#3): use the number to reply or react.',
  '  /reply <n> <text>   reply to message n',
  '  /react <n> <emoji>  react to message n (again to take it back)',
  '  /send <file>        send a file (up to 5 MiB)',
  '  /verify             signing key fingerprints and the room safety code, to compare out of band',
  '  /members            list who is in the room',
  '  /code               show the share code and join link again',
  '  /help               this help',
  '  /quit               leave the room (also Ctrl+D or Ctrl+C)',
  'Start a message with // to send a line that begins with /.',
  `Before each name: ${VERIFICATION_MARK.verified} signature verified, ${VERIFICATION_MARK.invalid} signature invalid, ${VERIFICATION_MARK['unknown-signer']} signer unknown, ${VERIFICATION_MARK.unsigned} unsigned.`,
].join('\n');

/** Turns UI events into output lines for one format. Remembers who we are, for our own lines. */
export class Renderer {
  private self: Member | undefined;
  private readonly now: () => number;
  /** Senders whose invalid signatures were explained already (once is enough). */
  private readonly warnedInvalid = new Set<string>();

  constructor(private readonly options: RenderOptions) {
    this.now = options.now ?? Date.now;
  }

  render(event: UiEvent): Output[] {
    if (event.type === 'joined') this.self = event.self;
    return this.options.format === 'json' ? this.json(event) : this.text(event);
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
      case 'typing':
      case 'expired':
      case 'file-progress':
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
      case 'gap':
        return [
          this.out(
            this.notice(
              event.missed === undefined
                ? `messages from ${this.name(event.member)} may have been missed while reconnecting`
                : `${event.missed} message${event.missed === 1 ? '' : 's'} from ${this.name(event.member)} ${event.missed === 1 ? 'was' : 'were'} missed`,
            ),
          ),
        ];
      case 'message':
        return [...this.chatMessage(event.message), ...this.invalidWarning(event.message)];
      case 'sent':
        // In a terminal our own line replaces the echo of what was typed; scripts know what they sent.
        return human ? this.chatMessage(event.message) : [];
      case 'undecryptable': {
        const body = human ? this.paint(UNDECRYPTABLE, 'red') : UNDECRYPTABLE;
        const line = this.out(this.chat(event.from, event.t, undefined, undefined, body));
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
      case 'verification':
        return [
          this.out(
            this.notice(
              `#${event.ref} from ${this.name(event.from)}: ${VERIFICATION_WORDS[event.verification]}`,
            ),
          ),
        ];
      case 'key-learned':
        return this.status(
          `${sanitize(event.member.name)}'s signing key: ${event.fingerprint}`,
          'dim',
        );
      case 'key-changed':
        return [
          this.out(
            this.notice(
              `warning: ${this.name(event.member)}'s signing key changed (was ${event.previousFingerprint}, now ${event.fingerprint})`,
            ),
          ),
          ...this.status(
            `The signing key of ${sanitize(event.member.name)} is not the one first seen in this room: another client, or someone else using that name. Compare /verify out of band.`,
            'yellow',
          ),
        ];
      case 'queued':
        return this.status(
          `Not connected: message queued (${event.pending} waiting), it goes out after the rejoin.`,
          'dim',
        );
      case 'reaction':
        if (event.own && !human) return [];
        return [this.out(this.notice(this.reaction(event)))];
      case 'file-offered':
        return event.file.direction === 'incoming' ? [this.out(this.fileLine(event.file))] : [];
      case 'file-received':
        return [];
      case 'file-saved':
        return [
          this.out(
            this.notice(
              `saved ${quote(event.file.fileName)} from ${this.name(event.file.from)} to ${sanitize(event.path)}`,
            ),
          ),
        ];
      case 'file-not-saved':
        return [
          this.out(
            this.notice(
              `${quote(event.file.fileName)} from ${this.name(event.file.from)} was not saved: ${sanitize(event.reason)}`,
            ),
          ),
        ];
      case 'file-sent':
        return [
          this.out(
            this.notice(`sent file ${quote(event.file.fileName)} (${size(event.file.size)})`),
          ),
        ];
      case 'file-acked':
        return [
          this.out(this.notice(`${this.name(event.by)} received ${quote(event.file.fileName)}`)),
        ];
      case 'file-failed':
        return [
          this.out(
            this.notice(
              `file ${quote(event.file.fileName)} ${event.file.direction === 'incoming' ? `from ${this.name(event.file.from)} ` : ''}failed: ${sanitize(event.reason)}`,
            ),
          ),
        ];
      case 'file-cancelled':
        return [
          this.out(
            this.notice(
              event.file.direction === 'incoming'
                ? `${this.name(event.file.from)} cancelled ${quote(event.file.fileName)}`
                : `cancelled ${quote(event.file.fileName)}`,
            ),
          ),
        ];
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
      case 'verify':
        return this.verify(event.report);
      case 'help':
        return [{ stream: 'stderr', text: HELP_TEXT }];
      case 'input-refused':
        return this.status(event.reason, 'yellow');
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

  /** A message, preceded by the line it quotes when it is a reply. */
  private chatMessage(message: ChatMessage): Output[] {
    const human = this.options.format === 'human';
    const body = sanitizeFor(this.options.format, message.text);
    const out: Output[] = [];
    if (message.reply !== undefined) {
      const { ref, senderName, preview } = message.reply;
      const quoted = `> ${ref === undefined ? '' : `#${ref} `}<${sanitize(senderName)}> ${sanitize(preview)}`;
      out.push(this.out(human ? `         ${this.paint(quoted, 'dim')}` : `  ${quoted}`));
    }
    out.push(this.out(this.chat(message.from, message.t, message.ref, message.verification, body)));
    return out;
  }

  /** An invalid signature deserves words, once per sender. */
  private invalidWarning(message: ChatMessage): Output[] {
    if (message.verification !== 'invalid' || this.warnedInvalid.has(message.from.name)) return [];
    this.warnedInvalid.add(message.from.name);
    const who = sanitize(message.from.name);
    return this.status(
      `Message #${message.ref} has an invalid signature: it was altered, or not written by ${who}. Do not trust it.`,
      'red',
    );
  }

  private reaction(event: Extract<UiEvent, { type: 'reaction' }>): string {
    const who = event.own ? 'you' : this.name(event.from);
    const verb = event.action === 'add' ? 'reacted' : 'removed';
    const preposition = event.action === 'add' ? 'to' : 'from';
    const invalid = event.verification === 'invalid' ? ' (signature INVALID)' : '';
    return `${who} ${verb} ${sanitize(event.emoji)} ${preposition} ${this.target(event.target)}${invalid}`;
  }

  private target(target: ReactionTarget): string {
    if (target.ref === undefined) return 'a message this terminal does not have';
    const name = target.senderName === undefined ? '' : ` <${sanitize(target.senderName)}>`;
    const preview = target.preview === undefined ? '' : ` ${quote(target.preview)}`;
    return `#${target.ref}${name}${preview}`;
  }

  private fileLine(file: FileInfo): string {
    const body = `file ${quote(file.fileName)} (${size(file.size)}, ${sanitize(file.mimeType)})`;
    return this.chat(file.from, file.t, file.ref, file.verification, body);
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

  private verify(report: VerificationReport): Output[] {
    const key = (entry: VerificationReport['members'][number]) =>
      `${sanitize(entry.member.name)}${entry.self ? ' (you)' : ''} ${entry.fingerprint ?? 'none (no signing key announced)'}`;
    if (this.options.format !== 'human') {
      return [
        this.out(`* safety code ${report.safetyCode}`),
        this.out(`* room key ${report.roomKeyFingerprint}`),
        ...report.members.map((entry) => this.out(`* key ${key(entry)}`)),
      ];
    }
    return [
      this.out(`Safety code: ${report.safetyCode}`),
      this.out(`Room key:    ${report.roomKeyFingerprint}`),
      this.out('Signing keys:'),
      ...report.members.map((entry) => this.out(`  ${key(entry)}`)),
      ...this.status(
        'Compare the safety code with every member out of band: it differs if someone sees other keys or a member you do not.',
        'dim',
      ),
    ];
  }

  /**
   * `[HH:MM:SS] #n ✓ <name> text`, or in a terminal `HH:MM:SS #n ✓ name: text` with the name
   * coloured. Undecryptable messages have neither number nor mark.
   */
  private chat(
    from: Member,
    t: number,
    ref: number | undefined,
    verification: Verification | undefined,
    body: string,
  ): string {
    const tag = ref === undefined ? '' : `#${ref} `;
    const mark = verification === undefined ? '' : `${VERIFICATION_MARK[verification]} `;
    if (this.options.format !== 'human') {
      return `[${clock(t)}] ${tag}${mark}<${sanitize(from.name)}> ${body}`;
    }
    const head = `${clock(t)} ${tag}${mark}${sanitize(from.name)}: `;
    // Continuation lines start under the text, not under the timestamp.
    const indented = body.replaceAll('\n', `\n${' '.repeat([...head].length)}`);
    const paintedMark =
      verification === undefined
        ? ''
        : `${this.paint(VERIFICATION_MARK[verification], MARK_STYLE[verification])} `;
    return `${this.paint(clock(t), 'dim')} ${this.paint(tag, 'dim')}${paintedMark}${this.name(from, true)}: ${indented}`;
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
    return this.options.color && text !== '' ? stylize(text, style) : text;
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
      case 'gap':
        return {
          type: event.type,
          t,
          member: event.member,
          ...(event.missed === undefined ? {} : { missed: event.missed }),
        };
      case 'message':
      case 'sent': {
        const { message } = event;
        return {
          type: event.type,
          t: message.t,
          ref: message.ref,
          stableId: message.stableId,
          from: message.from,
          text: message.text,
          id: message.id,
          verification: message.verification,
          ...(message.reply === undefined ? {} : { reply: message.reply }),
        };
      }
      case 'undecryptable':
        return { type: event.type, t: event.t, from: event.from };
      case 'verification':
        return {
          type: event.type,
          t,
          ref: event.ref,
          from: event.from,
          verification: event.verification,
        };
      case 'key-learned':
        return { type: event.type, t, member: event.member, fingerprint: event.fingerprint };
      case 'key-changed':
        return {
          type: event.type,
          t,
          member: event.member,
          fingerprint: event.fingerprint,
          previousFingerprint: event.previousFingerprint,
        };
      case 'queued':
        return { type: event.type, t, pending: event.pending };
      case 'reaction':
        return {
          type: event.type,
          t,
          from: event.from,
          own: event.own,
          emoji: event.emoji,
          action: event.action,
          target: event.target,
          verification: event.verification,
        };
      case 'typing':
        return { type: event.type, t, member: event.member, typing: event.typing };
      case 'expired':
        return { type: event.type, t, ref: event.ref };
      case 'file-offered':
      case 'file-sent':
        return { type: event.type, t, ...fileJson(event.file) };
      case 'file-progress':
        return {
          type: event.type,
          t,
          transferId: event.file.transferId,
          bytes: event.bytes,
          size: event.file.size,
        };
      case 'file-received':
        return undefined;
      case 'file-saved':
        return { type: event.type, t, ...fileJson(event.file), path: event.path };
      case 'file-not-saved':
        return { type: event.type, t, ...fileJson(event.file), reason: event.reason };
      case 'file-acked':
        return {
          type: event.type,
          t,
          transferId: event.file.transferId,
          by: event.by,
          acks: event.acks,
        };
      case 'file-failed':
        return { type: event.type, t, ...fileJson(event.file), reason: event.reason };
      case 'file-cancelled':
        return { type: event.type, t, ...fileJson(event.file) };
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
      case 'verify':
        return { type: event.type, t, ...event.report };
      case 'input-refused':
        return { type: event.type, t, reason: event.reason };
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

function fileJson(file: FileInfo): Record<string, unknown> {
  return {
    transferId: file.transferId,
    direction: file.direction,
    ref: file.ref,
    from: file.from,
    fileName: file.fileName,
    mimeType: file.mimeType,
    size: file.size,
    verification: file.verification,
    ...(file.thumbnail === undefined ? {} : { thumbnailBytes: file.thumbnail.length }),
  };
}

type Style = 'dim' | 'red' | 'yellow' | 'green';

const STYLES: Readonly<Record<Style, readonly [string, string]>> = {
  dim: ['\x1b[2m', '\x1b[22m'],
  red: ['\x1b[31m', '\x1b[39m'],
  yellow: ['\x1b[33m', '\x1b[39m'],
  green: ['\x1b[32m', '\x1b[39m'],
};

const MARK_STYLE: Readonly<Record<Verification, Style>> = {
  verified: 'green',
  invalid: 'red',
  'unknown-signer': 'yellow',
  unsigned: 'dim',
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

/** A quoted, sanitised name or preview. */
function quote(text: string): string {
  return `"${sanitize(text)}"`;
}

/** A size for people: 512 B, 12.3 KB, 4.9 MB (powers of 1024). */
export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
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
    [CLIENT_CLOSED]: 'given up by this client',
  };
  const text = known[code] ?? `code ${code}`;
  return reason === '' ? text : `${text}: ${sanitize(reason)}`;
}
