import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { onTestFailed } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'apps/cli/dist/main.js');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const STALE_LOCK_MS = 120_000;
/** Generous: CI machines under load start Node processes slowly. */
const WAIT_MS = 20_000;

/**
 * Builds the CLI (`tsc -b apps/cli`, incremental). Test files run in parallel workers, so builds
 * take turns behind a lock directory: two compilers writing the same dist at once could leave a
 * half-written file for another test's CLI process to load.
 */
export async function buildCli(): Promise<void> {
  const lock = join(
    tmpdir(),
    `hush-cli-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
  );
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true });
      } catch {
        // The holder released the lock between the two calls: try again.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    await promisify(execFile)(process.execPath, [TSC, '-b', 'apps/cli'], { cwd: ROOT });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
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
