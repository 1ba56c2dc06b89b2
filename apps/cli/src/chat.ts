import type { SessionEnd, SessionEvent, SessionPolicy } from '@hush/client';
import { MAX_INCOMING_FRAME_BYTES, Session, wsTransport } from '@hush/client';
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
import { WebSocket } from 'ws';
import { describeEnd, ExitCode, exitCodeFor } from './errors.js';
import { readFileToSend, saveReceivedFile } from './files.js';
import { parseInput } from './input.js';
import type { OutputFormat, UiEvent } from './render.js';
import { Renderer } from './render.js';
import type { Streams } from './terminal.js';
import { PromptCancelled, Terminal } from './terminal.js';
import { CLIENT_NAME } from './version.js';

/**
 * At the end of input, how long a lost connection may take to come back before the CLI gives up
 * instead of reconnecting for minutes: long enough for a relay's drain and restart.
 */
export const EOF_RECONNECT_WAIT_MS = 15_000;

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
  /** Where received files are written; undefined: they are not kept. */
  downloadDir: string | undefined;
  /** stdin is a terminal: prompts, the interactive line editor. */
  interactive: boolean;
  streams: Streams;
  policy?: Partial<SessionPolicy>;
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
  let gaveUp: SessionEnd | undefined;
  /** Received files still being written; the chat ends after them. */
  const saving = new Set<Promise<void>>();
  /** Files `/send` is still reading; the end of input waits for them to be queued. */
  const reading = new Set<Promise<void>>();

  const session = new Session({
    url: config.url,
    transport: wsTransport(WebSocket, { maxPayload: MAX_INCOMING_FRAME_BYTES }),
    name: config.name,
    key,
    client: CLIENT_NAME,
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
    ...(config.policy === undefined ? {} : { policy: config.policy }),
  });

  const onEvent = (event: SessionEvent): void => {
    show(event);
    switch (event.type) {
      case 'created':
        if (target.kind !== 'create') return;
        share = {
          roomId: event.roomId,
          key: exportRoomKey(key),
          // The optional fields go into the code only when they say something.
          ...(target.ephemeral > 0 || event.expiresAt > 0
            ? { ephemeral: target.ephemeral, expiresAt: event.expiresAt }
            : {}),
        };
        showShare();
        return;
      case 'joined':
        if (!event.rejoin && interactive) terminal.startInput(input);
        return;
      case 'file-received': {
        const { file, data } = event;
        if (config.downloadDir === undefined) {
          show({
            type: 'file-not-saved',
            file,
            reason:
              'start hush with --download-dir <dir> (or set HUSH_DOWNLOAD_DIR) to keep received files',
          });
          return;
        }
        const write = saveReceivedFile(config.downloadDir, file.fileName, data).then(
          (path) => show({ type: 'file-saved', file, path }),
          (error: unknown) =>
            show({
              type: 'file-not-saved',
              file,
              reason: error instanceof Error ? error.message : String(error),
            }),
        );
        saving.add(write);
        void write.finally(() => saving.delete(write));
        return;
      }
      default:
        return;
    }
  };
  session.subscribe(onEvent);

  /** Resolves with the first of `types` the session reports, or `timeout` after `ms`. */
  const next = <T extends SessionEvent['type']>(types: readonly T[], ms = Infinity) => {
    let unsubscribe = (): void => undefined;
    let timer: NodeJS.Timeout | undefined;
    return new Promise<T | 'ended' | 'timeout'>((resolve) => {
      unsubscribe = session.subscribe((event) => {
        if ((types as readonly string[]).includes(event.type)) resolve(event.type as T);
      });
      void session.done.then(() => resolve('ended'));
      if (ms < Infinity) timer = setTimeout(() => resolve('timeout'), ms);
    }).finally(() => {
      unsubscribe();
      clearTimeout(timer);
    });
  };

  /**
   * At the end of input: wait until what was typed or piped has gone out, then linger and leave.
   * The session always ends: a connection lost with messages still queued gets
   * {@link EOF_RECONNECT_WAIT_MS} to come back, and none at all with nothing to send.
   */
  const quitAfterFlush = (): void => {
    flushing ??= (async () => {
      while (reading.size > 0) await Promise.allSettled([...reading]);
      for (;;) {
        if (session.inRoom) {
          const drained = session.drained().then(() => 'drained' as const);
          if ((await Promise.race([drained, next(['disconnected'])])) !== 'disconnected') break;
        } else if (session.roomInfo === undefined) {
          // Not in the room yet: the SDK bounds the first connection.
          if ((await next(['joined'])) !== 'joined') break;
        } else if (session.idle) {
          break;
        } else if ((await next(['joined'], EOF_RECONNECT_WAIT_MS)) === 'timeout') {
          const pending = session.pending;
          gaveUp = {
            kind: 'unreachable',
            detail: `not back within ${EOF_RECONNECT_WAIT_MS / 1000} s of the end of input; ${pending} queued message${pending === 1 ? ' was' : 's were'} not sent`,
            rejoin: true,
          };
          break;
        }
      }
      if (gaveUp === undefined && session.inRoom && config.lingerMs > 0) {
        await Promise.race([sleep(config.lingerMs), session.done]);
      }
      await session.leave();
    })();
  };

  const quitNow = (): void => {
    void session.leave();
  };

  const sendFile = async (path: string): Promise<void> => {
    const file = await readFileToSend(path);
    if (!file.ok) {
      show({ type: 'input-refused', reason: file.reason });
      return;
    }
    const result = session.sendFile(file);
    if (!result.ok) {
      const reasons = {
        empty: 'The file is empty.',
        'too-large': 'The file is larger than 5 MiB.',
        'queue-full': 'Too many files are waiting to be sent; try again when one is done.',
        'not-in-room': 'Not in a room.',
      } as const;
      show({ type: 'input-refused', reason: reasons[result.reason] });
    }
  };

  const refusedReply = (
    reason: 'empty' | 'too-long' | 'ended' | 'unknown-message',
    ref: number,
  ): void => {
    if (reason === 'unknown-message') {
      show({ type: 'input-refused', reason: `There is no message #${ref} (or it is too old).` });
    } else if (reason === 'too-long') {
      show({ type: 'input-refused', reason: 'That reaction is too long; use one emoji.' });
    }
  };

  const input = {
    line: (line: string): void => {
      if (flushing !== undefined) return;
      session.setTyping(false);
      const parsed = parseInput(line);
      switch (parsed.kind) {
        case 'empty':
          return;
        case 'refused':
          show({ type: 'input-refused', reason: parsed.reason });
          return;
        case 'command':
          switch (parsed.command) {
            case 'quit':
              quitAfterFlush();
              return;
            case 'help':
              show({ type: 'help' });
              return;
            case 'code':
              showShare();
              return;
            case 'members':
              show({ type: 'members', members: session.members(), selfId: session.self()?.id });
              return;
            case 'verify':
              void session.verification().then((report) => show({ type: 'verify', report }));
              return;
          }
          return;
        case 'message':
          session.send(parsed.text);
          return;
        case 'reply': {
          const result = session.send(parsed.text, { replyTo: parsed.ref });
          if (!result.ok) refusedReply(result.reason, parsed.ref);
          return;
        }
        case 'react': {
          const result = session.react(parsed.ref, parsed.emoji);
          if (!result.ok) refusedReply(result.reason, parsed.ref);
          return;
        }
        case 'send-file': {
          const read = sendFile(parsed.path);
          reading.add(read);
          void read.finally(() => reading.delete(read));
          return;
        }
      }
    },
    typing: (active: boolean): void => session.setTyping(active),
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
  const sessionEnd = await session.done;
  while (saving.size > 0) await Promise.allSettled([...saving]);
  terminal.stop();
  signals.off('SIGINT', onSigint);
  signals.off('SIGTERM', onSigterm);
  const end = gaveUp ?? sessionEnd;
  const exitCode = end.kind === 'left' && signalCode !== undefined ? signalCode : exitCodeFor(end);
  const message = describeEnd(end, { passwordGiven: session.passwordUsed, canPrompt: interactive });
  show({ type: 'end', end, exitCode, message });
  return exitCode;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
