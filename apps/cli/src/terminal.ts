import type { Interface } from 'node:readline';
import { clearLine, createInterface, cursorTo, moveCursor } from 'node:readline';
import { Writable } from 'node:stream';
import type { Output } from './render.js';

export interface Streams {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export interface InputHandlers {
  line(text: string): void;
  /** On a terminal, after each keystroke: whether the line being typed has text. */
  typing?(active: boolean): void;
  /** End of input: Ctrl+D on a terminal, EOF on a pipe. */
  end(): void;
  /** Ctrl+C on the interactive prompt. */
  interrupt(): void;
}

/** The user cancelled a prompt (Ctrl+C or Ctrl+D). */
export class PromptCancelled extends Error {
  override readonly name = 'PromptCancelled';
}

const PROMPT = '> ';

/**
 * The process's streams as the chat uses them. Interactive: a readline prompt, and output printed
 * above it without garbling what is being typed. Otherwise: stdin read line by line, output
 * written as is.
 */
export class Terminal {
  private rl: Interface | undefined;
  private readonly promptStream: Streams['stdout'] | undefined;

  constructor(
    private readonly streams: Streams,
    private readonly interactive: boolean,
  ) {
    const { stdout, stderr } = streams;
    this.promptStream = !interactive
      ? undefined
      : stdout.isTTY === true
        ? stdout
        : stderr.isTTY === true
          ? stderr
          : undefined;
  }

  /** Writes rendered output; on an interactive prompt, above the line being typed. */
  write(outputs: readonly Output[]): void {
    if (outputs.length === 0) return;
    const rl = this.rl;
    const prompt = this.promptStream;
    if (rl !== undefined && prompt !== undefined) {
      clearLine(prompt, 0);
      cursorTo(prompt, 0);
    }
    for (const { stream, text } of outputs) {
      (stream === 'stdout' ? this.streams.stdout : this.streams.stderr).write(`${text}\n`);
    }
    if (rl !== undefined && prompt !== undefined) rl.prompt(true);
  }

  /** Starts reading lines. Interactive input gets a prompt, history and Ctrl+C handling. */
  startInput(handlers: InputHandlers): void {
    if (this.rl !== undefined) return;
    const prompt = this.promptStream;
    const rl =
      prompt === undefined
        ? createInterface({ input: this.streams.stdin, terminal: false, crlfDelay: Infinity })
        : createInterface({
            input: this.streams.stdin,
            output: prompt,
            terminal: true,
            prompt: PROMPT,
            historySize: 200,
          });
    this.rl = rl;
    rl.on('line', (line) => {
      if (prompt !== undefined) this.eraseEcho(prompt, line);
      handlers.line(line);
      if (prompt !== undefined && this.rl === rl) rl.prompt();
    });
    rl.on('close', () => {
      if (this.rl === rl) this.rl = undefined;
      handlers.end();
    });
    if (prompt !== undefined) {
      rl.on('SIGINT', () => handlers.interrupt());
      // readline handles the key first (its listener came first), so `rl.line` is up to date.
      const onKeypress = (): void => {
        if (this.rl === rl) handlers.typing?.(rl.line.trim() !== '');
      };
      this.streams.stdin.on('keypress', onKeypress);
      rl.once('close', () => this.streams.stdin.off('keypress', onKeypress));
      rl.prompt();
    }
  }

  /** Stops reading input and gives the terminal back. */
  stop(): void {
    const rl = this.rl;
    this.rl = undefined;
    if (rl === undefined) return;
    if (this.promptStream !== undefined) {
      clearLine(this.promptStream, 0);
      cursorTo(this.promptStream, 0);
    }
    rl.close();
  }

  /** Asks a question on stderr and reads one line. */
  ask(question: string): Promise<string> {
    return prompt(this.streams, question, false);
  }

  /** Asks for a secret: what is typed is not echoed. */
  askSecret(question: string): Promise<string> {
    return prompt(this.streams, question, true);
  }

  /** Removes the line readline echoed, so the formatted message replaces it. */
  private eraseEcho(stream: Streams['stdout'], line: string): void {
    // A terminal that reports no size (0 columns) is treated as 80 wide.
    const columns = stream.columns !== undefined && stream.columns > 0 ? stream.columns : 80;
    const rows = Math.max(1, Math.ceil(([...PROMPT].length + [...line].length) / columns));
    moveCursor(stream, 0, -rows);
    cursorTo(stream, 0);
    clearLine(stream, 0);
    for (let row = 1; row < rows; row += 1) {
      moveCursor(stream, 0, 1);
      clearLine(stream, 0);
    }
    if (rows > 1) moveCursor(stream, 0, -(rows - 1));
  }
}

/**
 * One question on stderr, answered on stdin (a terminal). With `secret`, what is typed is not
 * shown. Rejects with {@link PromptCancelled} on Ctrl+C or Ctrl+D.
 */
function prompt(streams: Streams, question: string, secret: boolean): Promise<string> {
  const { stdin, stderr } = streams;
  let muted = false;
  // readline echoes through its output; a secret answer goes to a sink that drops it.
  const output = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      if (!muted) stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: stdin, output, terminal: true });
  return new Promise<string>((resolve, reject) => {
    let answered = false;
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => {
      if (secret) stderr.write('\n');
      if (!answered) reject(new PromptCancelled('prompt cancelled'));
    });
    rl.question(question, (answer) => {
      answered = true;
      resolve(answer);
      rl.close();
    });
    muted = secret;
  });
}
