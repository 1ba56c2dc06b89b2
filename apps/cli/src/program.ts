import type { ShareCode } from '@hush/crypto';
import { parseJoinInput } from '@hush/crypto';
import { DEFAULT_ROOM_EXPIRY_SECONDS } from '@hush/client';
import {
  MAX_EPHEMERAL_SECONDS,
  MAX_EXPIRY_SECONDS,
  NAME_MAX_CODE_POINTS,
  normalizeName,
} from '@hush/protocol';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { ChatConfig, Signals } from './chat.js';
import { runChat } from './chat.js';
import { describeJoinInputError, ExitCode, UsageError } from './errors.js';
import type { OutputFormat } from './render.js';
import { DEFAULT_SERVER, parseWebOrigin, relayUrl, webOrigin } from './server-url.js';
import type { Streams } from './terminal.js';
import { PromptCancelled, Terminal } from './terminal.js';
import { CLI_VERSION } from './version.js';

/** Options both `create` and `join` take. */
interface CommonOptions {
  server: string;
  name?: string;
  password?: string;
  web?: string;
  json?: boolean;
  linger: number;
  color: boolean;
  downloadDir?: string;
}

interface CreateOptions extends CommonOptions {
  ephemeral: number;
  expiry: number;
}

function integer(max: number, unit: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number of ${unit} from 0 to ${max}`);
    }
    return Number(value);
  };
}

function withCommonOptions(command: Command): Command {
  return command
    .addOption(
      new Option('-s, --server <url>', 'relay WebSocket URL (ws://, wss://, http:// or https://)')
        .env('HUSH_SERVER')
        .default(DEFAULT_SERVER),
    )
    .addOption(
      new Option('-n, --name <nick>', 'your nickname (asked for on a terminal when missing)').env(
        'HUSH_NAME',
      ),
    )
    .addOption(
      new Option(
        '-p, --password <password>',
        'room password (prefer HUSH_PASSWORD: argv is visible to other users)',
      ).env('HUSH_PASSWORD'),
    )
    .option('--web <origin>', 'web client origin for join links (default: derived from --server)')
    .option('--json', 'print one JSON object per event on stdout')
    .option(
      '--linger <ms>',
      'at the end of piped input, keep receiving this long before leaving',
      integer(86_400_000, 'milliseconds'),
      0,
    )
    .addOption(
      new Option(
        '-d, --download-dir <dir>',
        'save files others send into this directory (created if missing; never overwrites)',
      ).env('HUSH_DOWNLOAD_DIR'),
    )
    .option('--no-color', 'no colours (also off when NO_COLOR is set or stdout is not a terminal)');
}

/** The `hush` command line; `run` is called with the configuration of the chat to start. */
export function buildProgram(
  run: (config: ChatConfig) => Promise<void>,
  streams: Streams,
): Command {
  const program = new Command('hush')
    .description('Hush: end-to-end encrypted, ephemeral group chat in the terminal.')
    .version(CLI_VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
    })
    .showHelpAfterError('(run with --help for usage)');

  withCommonOptions(
    program
      .command('create')
      .description('create a room, print its share code and join link, and chat in it'),
  )
    .option(
      '--ephemeral <seconds>',
      'ask clients to hide messages after this many seconds (0 = keep)',
      integer(MAX_EPHEMERAL_SECONDS, 'seconds'),
      0,
    )
    .option(
      '--expiry <seconds>',
      'close the room after this many seconds (0 = never)',
      integer(MAX_EXPIRY_SECONDS, 'seconds'),
      DEFAULT_ROOM_EXPIRY_SECONDS,
    )
    .action(async (options: CreateOptions) => {
      const config = await configure(options, streams, {
        kind: 'create',
        ephemeral: options.ephemeral,
        expiry: options.expiry,
      });
      await run(config);
    });

  withCommonOptions(
    program
      .command('join')
      .description('join a room with a share code or join link, and chat in it')
      .argument('<code>', 'share code (roomId:key[:…]) or join link (https://…/#/join/…)'),
  ).action(async (input: string, options: CommonOptions) => {
    let code: ShareCode;
    try {
      code = parseJoinInput(input);
    } catch (error) {
      throw new UsageError(describeJoinInputError(error));
    }
    const config = await configure(options, streams, { kind: 'join', code });
    await run(config);
  });

  return program;
}

async function configure(
  options: CommonOptions,
  streams: Streams,
  target: ChatConfig['target'],
): Promise<ChatConfig> {
  const url = relayUrl(options.server);
  const origin = options.web === undefined ? webOrigin(url) : parseWebOrigin(options.web);
  const interactive = streams.stdin.isTTY === true;
  const name = await resolveName(options.name, interactive, streams);
  const format: OutputFormat =
    options.json === true ? 'json' : streams.stdout.isTTY === true ? 'human' : 'lines';
  const colorAllowed =
    options.color &&
    (process.env['NO_COLOR'] ?? '') === '' &&
    process.env['TERM'] !== 'dumb' &&
    format === 'human';
  return {
    url,
    webOrigin: origin,
    name,
    password: options.password === '' ? undefined : options.password,
    target,
    format,
    color: colorAllowed && streams.stdout.isTTY === true,
    statusColor: colorAllowed && streams.stderr.isTTY === true,
    lingerMs: options.linger,
    downloadDir: options.downloadDir === '' ? undefined : options.downloadDir,
    interactive,
    streams,
  };
}

const NAME_RULE = `A nickname is 1–${NAME_MAX_CODE_POINTS} characters, with at least one visible character and no control or invisible characters.`;

async function resolveName(
  given: string | undefined,
  interactive: boolean,
  streams: Streams,
): Promise<string> {
  if (given !== undefined) {
    const name = normalizeName(given);
    if (name === undefined) throw new UsageError(`Invalid --name. ${NAME_RULE}`);
    return name;
  }
  if (!interactive) {
    throw new UsageError('--name is required when stdin is not a terminal (or set HUSH_NAME).');
  }
  const terminal = new Terminal(streams, true);
  for (;;) {
    const name = normalizeName(await terminal.ask('Nickname: '));
    if (name !== undefined) return name;
    streams.stderr.write(`${NAME_RULE}\n`);
  }
}

/** A share code or join link; a room id (a nanoid) may start with "-". */
const SHARE_CODE_START = /^[A-Za-z0-9_-]{21}:|#\/join\//;

/**
 * Room ids are nanoids, and one in 64 starts with "-", which would read as an option:
 * `hush join -B8dF…:key --name bob`. Such a code is moved behind `--`, at the end, where it can
 * only be the operand it is. `argv` is `process.argv` (node, script, arguments…).
 */
export function operandsLast(argv: readonly string[]): string[] {
  const args = [...argv];
  const join = args.indexOf('join', 2);
  if (join < 0 || args.includes('--')) return args;
  const index = args.findIndex(
    (arg, i) => i > join && arg.startsWith('-') && SHARE_CODE_START.test(arg),
  );
  if (index < 0) return args;
  const [code] = args.splice(index, 1);
  return [...args, '--', code!];
}

/** Parses argv, runs the chat, and exits with the documented code. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const streams: Streams = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  const signals: Signals = {
    on: (signal, listener) => process.on(signal, listener),
    off: (signal, listener) => process.off(signal, listener),
  };
  let code: number = ExitCode.Ok;
  const program = buildProgram(async (config) => {
    code = await runChat(config, signals);
  }, streams);
  try {
    await program.parseAsync(operandsLast(argv));
  } catch (error) {
    code = failure(error, streams);
  }
  await flush(streams.stdout);
  await flush(streams.stderr);
  // Exits explicitly: stdin may still be open (after /quit with a pipe that never ends).
  process.exit(code);
}

function failure(error: unknown, streams: Streams): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help / version) already.
    return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  if (error instanceof UsageError) {
    streams.stderr.write(`hush: ${error.message}\n`);
    return ExitCode.Usage;
  }
  if (error instanceof PromptCancelled) {
    streams.stderr.write('\n');
    return ExitCode.Interrupted;
  }
  const message = error instanceof Error ? error.message : String(error);
  streams.stderr.write(`hush: unexpected failure: ${message}\n`);
  return ExitCode.Failure;
}

function flush(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}
