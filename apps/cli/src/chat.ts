import type { ShareCode } from '@hush/crypto';
import {
  exportRoomKey,
  formatShareCode,
  generateRoomKey,
  hashRoomPassword,
  importRoomKey,
  joinLink,
  keyFingerprint,
} from '@hush/crypto';
import { describeEnd, ExitCode, exitCodeFor } from './errors.js';
import { parseInput } from './input.js';
import type { OutputFormat, UiEvent } from './render.js';
import { Renderer } from './render.js';
import type { ReconnectPolicy, SessionEvent } from './session.js';
import { Session } from './session.js';
import type { Streams } from './terminal.js';
import { PromptCancelled, Terminal } from './terminal.js';

export interface ChatConfig {
  /** ws(s):// URL of the relay. */
  url: string;
  /** http(s) origin (and path) of the web client, for join links. */
  webOrigin: string;
  /** Normalised nickname. */
  name: string;
  /** '' or undefined for none. */
  password: string | undefined;
  target: { kind: 'create'; ephemeral: number; expiry: number } | { kind: 'join'; code: ShareCode };
  format: OutputFormat;
  color: boolean;
  statusColor: boolean;
  /** After end of input and the last message sent, keep receiving this long. */
  lingerMs: number;
  /** stdin is a terminal: prompts, the interactive line editor. */
  interactive: boolean;
  streams: Streams;
  reconnect?: Partial<ReconnectPolicy>;
}

/** Signals that end the chat; it still leaves the room cleanly, then exits 130 or 143. */
export interface Signals {
  on(signal: 'SIGINT' | 'SIGTERM', listener: () => void): void;
  off(signal: 'SIGINT' | 'SIGTERM', listener: () => void): void;
}

/** Runs one chat from connecting to leaving; resolves with the process exit code. */
export async function runChat(config: ChatConfig, signals: Signals): Promise<number> {
  const { target, interactive, streams } = config;
  const key =
    target.kind === 'create' ? await generateRoomKey() : await importRoomKey(target.code.key);
  const renderer = new Renderer({
    format: config.format,
    color: config.color,
    statusColor: config.statusColor,
    fingerprint: await keyFingerprint(key),
  });
  const terminal = new Terminal(streams, interactive);
  const show = (event: UiEvent): void => terminal.write(renderer.render(event));

  let share: ShareCode | undefined = target.kind === 'join' ? target.code : undefined;
  const showShare = (): void => {
    if (share === undefined) return;
    show({
      type: 'share',
      roomId: share.roomId,
      code: formatShareCode(share),
      link: joinLink(config.webOrigin, share),
      expiresAt: share.expiresAt ?? 0,
    });
  };

  let flushing: Promise<void> | undefined;
  let signalCode: number | undefined;

  const session: Session = new Session({
    url: config.url,
    name: config.name,
    key,
    target:
      target.kind === 'create'
        ? { kind: 'create', ephemeral: target.ephemeral, expiry: target.expiry }
        : { kind: 'join', roomId: target.code.roomId },
    passwordHash: await hashRoomPassword(config.password ?? ''),
    ...(interactive
      ? {
          askPassword: (attempt: number) =>
            terminal
              .askSecret(attempt === 1 ? 'Room password: ' : 'Wrong password, try again: ')
              .catch((error: unknown) => {
                if (error instanceof PromptCancelled) return undefined;
                throw error;
              }),
        }
      : {}),
    ...(config.reconnect === undefined ? {} : { reconnect: config.reconnect }),
    onEvent: (event: SessionEvent) => {
      show(event);
      if (event.type === 'created' && target.kind === 'create') {
        share = {
          roomId: event.roomId,
          key: exportRoomKey(key),
          // The optional fields go into the code only when they say something.
          ...(target.ephemeral > 0 || event.expiresAt > 0
            ? { ephemeral: target.ephemeral, expiresAt: event.expiresAt }
            : {}),
        };
        showShare();
      }
      if (event.type === 'joined' && !event.rejoin && interactive) terminal.startInput(input);
    },
  });

  /** Leaves after what was typed or piped has gone out (and the linger time has passed). */
  const quitAfterFlush = (): void => {
    flushing ??= (async () => {
      await Promise.race([session.drained(), session.done]);
      if (config.lingerMs > 0) await Promise.race([sleep(config.lingerMs), session.done]);
      await session.leave();
    })();
  };
  const quitNow = (): void => {
    void session.leave();
  };

  const input = {
    line: (line: string): void => {
      if (flushing !== undefined) return;
      const parsed = parseInput(line);
      switch (parsed.kind) {
        case 'empty':
          return;
        case 'refused':
          show({ type: 'input-refused', reason: parsed.reason });
          return;
        case 'command':
          if (parsed.command === 'quit') quitAfterFlush();
          else if (parsed.command === 'help') show({ type: 'help' });
          else if (parsed.command === 'code') showShare();
          else show({ type: 'members', members: session.members(), selfId: session.self()?.id });
          return;
        case 'message':
          session.send(parsed.text);
          if (!session.inRoom && session.roomInfo !== undefined) {
            show({ type: 'queued', pending: session.pending });
          }
          return;
      }
    },
    end: quitAfterFlush,
    interrupt: quitNow,
  };

  const onSigint = (): void => {
    signalCode ??= ExitCode.Interrupted;
    quitNow();
  };
  const onSigterm = (): void => {
    signalCode ??= ExitCode.Terminated;
    quitNow();
  };
  signals.on('SIGINT', onSigint);
  signals.on('SIGTERM', onSigterm);
  // A reader that went away (`hush … | head`) ends the chat instead of crashing it.
  const onBrokenPipe = (): void => quitNow();
  streams.stdout.on('error', onBrokenPipe);

  // Piped input is read from the start, so lines (and EOF) that arrive before the join count.
  if (!interactive) terminal.startInput(input);
  session.start();
  const end = await session.done;
  terminal.stop();
  signals.off('SIGINT', onSigint);
  signals.off('SIGTERM', onSigterm);
  const exitCode = end.kind === 'left' && signalCode !== undefined ? signalCode : exitCodeFor(end);
  const message = describeEnd(end, { passwordGiven: session.passwordUsed, canPrompt: interactive });
  show({ type: 'end', end, exitCode, message });
  return exitCode;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
