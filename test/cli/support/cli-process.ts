import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFailed } from 'vitest';
import { ensureBuilt } from '../../../apps/cli/bin/build.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'apps/cli/dist/main.js');
/** Generous: CI machines under load start Node processes slowly. */
const WAIT_MS = 20_000;

/**
 * Builds the CLI when its build is older than its sources, as the `hush` command itself does
 * (`apps/cli/bin/build.js`): test files run in parallel workers, and builds take turns behind one
 * lock, so no CLI process ever loads a half-written file.
 */
export async function buildCli(): Promise<void> {
  ensureBuilt();
}

type StreamName = 'stdout' | 'stderr';

/**
 * The CLI as a real process with piped stdin, stdout and stderr. Output is collected line by
 * line; tests wait for lines matching a pattern.
 */
export class CliProcess {
  readonly lines: Record<StreamName, string[]> = { stdout: [], stderr: [] };
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: (() => void)[] = [];
  private exitCode: number | null | undefined;

  constructor(
    readonly args: readonly string[],
    env: Record<string, string> = {},
  ) {
    const base = { ...process.env };
    for (const name of ['HUSH_SERVER', 'HUSH_NAME', 'HUSH_PASSWORD', 'NO_COLOR']) delete base[name];
    this.child = spawn(process.execPath, [MAIN, ...args], {
      cwd: ROOT,
      env: { ...base, ...env },
      stdio: 'pipe',
    });
    for (const name of ['stdout', 'stderr'] as const) {
      let partial = '';
      this.child[name].setEncoding('utf8');
      this.child[name].on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        this.lines[name].push(...parts);
        this.wake();
      });
      this.child[name].on('end', () => {
        if (partial !== '') this.lines[name].push(partial);
        partial = '';
        this.wake();
      });
    }
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
        this.wake();
      }),
    );
  }

  /** Writes one line to the CLI's stdin. */
  write(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Closes the CLI's stdin (EOF). */
  end(): void {
    this.child.stdin.end();
  }

  /** Waits for a line of `stream` matching `pattern` (among all lines so far and to come). */
  async waitFor(stream: StreamName, pattern: RegExp, timeoutMs = WAIT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines[stream].find((line) => pattern.test(line));
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0 || this.exitCode !== undefined) {
        const exited = this.exitCode === undefined ? '' : ` (exited with ${this.exitCode})`;
        throw new Error(`no ${stream} line matched ${pattern}${exited}\n${this.transcript()}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves with the exit code, or fails (and kills the process) after `timeoutMs`. */
  async exit(timeoutMs = WAIT_MS): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(new Error(`the CLI did not exit within ${timeoutMs} ms\n${this.transcript()}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Everything the process printed, for failure messages. */
  transcript(): string {
    return [
      `$ hush ${this.args.join(' ')}`,
      '--- stdout',
      ...this.lines.stdout,
      '--- stderr',
      ...this.lines.stderr,
    ].join('\n');
  }

  /** Sends a signal (the CLI leaves cleanly on SIGINT and SIGTERM). */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Ends the process if it is still running (test cleanup). */
  kill(): void {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * Starts the CLI for the current test: it is killed at `cleanup()`, and if the test fails every
 * CLI it started prints its transcript (a failure often shows in another process's output).
 */
export function startCli(
  started: CliProcess[],
  args: readonly string[],
  env: Record<string, string> = {},
): CliProcess {
  const cli = new CliProcess(args, env);
  onTestFailed(() => console.error(cli.transcript()));
  started.push(cli);
  return cli;
}

/** Kills what `startCli` started (after each test). */
export function cleanup(started: CliProcess[]): void {
  for (const process of started.splice(0)) process.kill();
}

/** The `* code <share code>` line a creating CLI prints, parsed out. */
export async function shareCodeOf(cli: CliProcess): Promise<string> {
  const line = await cli.waitFor('stdout', /^\* code /);
  return line.slice('* code '.length);
}

/** The relay's WebSocket URL for an `http://host:port` relay URL. */
export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/ws`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A chat line of the line format, `[HH:MM:SS] #n M <name> text`, where M is the signature mark:
 * ✓ verified, ✗ invalid, ? signer unknown, - unsigned (any of them unless `mark` is given).
 */
export function said(name: string, text: string, mark?: '✓' | '✗' | '?' | '-'): RegExp {
  const marks = mark === undefined ? '[✓✗?-]' : escapeRegExp(mark);
  return new RegExp(
    `^\\[\\d\\d:\\d\\d:\\d\\d\\] #\\d+ ${marks} <${escapeRegExp(name)}> ${escapeRegExp(text)}$`,
  );
}

/** The message number (`#n`) of a chat line. */
export function refOf(line: string): number {
  const match = /^\[\d\d:\d\d:\d\d\] #(\d+) /.exec(line);
  if (match === null) throw new Error(`not a chat line: ${line}`);
  return Number(match[1]);
}
