import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Streams } from './terminal.js';
import { Terminal } from './terminal.js';

function tty(columns: number): PassThrough & { isTTY: boolean; columns: number } {
  return Object.assign(new PassThrough(), { isTTY: true, columns });
}

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

const ignore = { end: () => undefined, interrupt: () => undefined };

describe('Terminal', () => {
  it('reads piped lines and reports the end of input', async () => {
    const stdin = new PassThrough();
    const streams: Streams = { stdin, stdout: new PassThrough(), stderr: new PassThrough() };
    const lines: string[] = [];
    const ended = new Promise<void>((resolve) =>
      new Terminal(streams, false).startInput({
        ...ignore,
        line: (l) => lines.push(l),
        end: resolve,
      }),
    );
    stdin.end('one\r\ntwo\nthree');
    await ended;
    expect(lines).toEqual(['one', 'two', 'three']);
  });

  it('writes output as is when not interactive', () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = collect(stdout);
    const err = collect(stderr);
    new Terminal({ stdin: new PassThrough(), stdout, stderr }, false).write([
      { stream: 'stdout', text: 'data' },
      { stream: 'stderr', text: 'status' },
    ]);
    expect(out()).toBe('data\n');
    expect(err()).toBe('status\n');
  });

  it('erases the echoed input line even on a terminal that reports no width', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const stdout = tty(0);
    const out = collect(stdout);
    const terminal = new Terminal({ stdin, stdout, stderr: tty(0) }, true);
    const line = new Promise<string>((resolve) =>
      terminal.startInput({ ...ignore, line: resolve }),
    );
    stdin.write('hello\r');
    expect(await line).toBe('hello');
    terminal.stop();
    expect(out()).toContain('\x1b[1A');
    expect(out()).not.toContain('Infinity');
  });
});
