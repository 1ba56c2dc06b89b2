import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { CommanderError } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatConfig } from './chat.js';
import { UsageError } from './errors.js';
import { buildProgram, operandsLast } from './program.js';
import type { Streams } from './terminal.js';
import { CLI_VERSION } from './version.js';

const CODE = 'V1StGXR8_Z5jdHi6B-myT:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';

function pipes(): Streams & { err: () => string } {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { stdin: new PassThrough(), stdout: new PassThrough(), stderr, err: () => err };
}

async function parse(args: string[]): Promise<{ config: ChatConfig; stderr: string }> {
  const streams = pipes();
  let config: ChatConfig | undefined;
  const program = buildProgram(async (c) => {
    config = c;
  }, streams);
  await program.parseAsync(operandsLast(['node', 'hush', ...args]));
  if (config === undefined) throw new Error('the chat was not started');
  return { config, stderr: streams.err() };
}

beforeEach(() => {
  vi.stubEnv('HUSH_SERVER', undefined);
  vi.stubEnv('HUSH_NAME', undefined);
  vi.stubEnv('HUSH_PASSWORD', undefined);
  vi.stubEnv('NO_COLOR', undefined);
  vi.stubEnv('HUSH_DOWNLOAD_DIR', undefined);
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('hush create', () => {
  it('defaults to the local relay, derives the web origin, and uses the line format on a pipe', async () => {
    const { config } = await parse(['create', '--name', '  alice ']);
    expect(config).toMatchObject({
      url: 'ws://localhost:8080/ws',
      webOrigin: 'http://localhost:8080',
      name: 'alice',
      password: undefined,
      target: { kind: 'create', ephemeral: 0, expiry: 0 },
      format: 'lines',
      color: false,
      lingerMs: 0,
      interactive: false,
    });
  });

  it('takes the server, name and password from the environment', async () => {
    vi.stubEnv('HUSH_SERVER', 'https://chat.example.com');
    vi.stubEnv('HUSH_NAME', 'carol');
    vi.stubEnv('HUSH_PASSWORD', 'pw');
    const { config } = await parse(['create']);
    expect(config).toMatchObject({
      url: 'wss://chat.example.com/ws',
      webOrigin: 'https://chat.example.com',
      name: 'carol',
      password: 'pw',
    });
  });

  it('reads --ephemeral, --expiry, --linger, --json and --web', async () => {
    const { config } = await parse([
      'create',
      '-n',
      'a',
      '--ephemeral',
      '60',
      '--expiry',
      '3600',
      '--linger',
      '500',
      '--json',
      '--web',
      'https://web.example/',
    ]);
    expect(config).toMatchObject({
      target: { kind: 'create', ephemeral: 60, expiry: 3600 },
      lingerMs: 500,
      format: 'json',
      webOrigin: 'https://web.example',
    });
  });

  it('keeps no received files unless given a download directory, by option or environment', async () => {
    expect((await parse(['create', '-n', 'a'])).config.downloadDir).toBeUndefined();
    expect((await parse(['create', '-n', 'a', '--download-dir', 'dl'])).config.downloadDir).toBe(
      'dl',
    );
    vi.stubEnv('HUSH_DOWNLOAD_DIR', '/tmp/hush');
    expect((await parse(['join', CODE, '-n', 'a'])).config.downloadDir).toBe('/tmp/hush');
  });

  it('refuses an expiry beyond seven days or a non-number', async () => {
    await expect(parse(['create', '-n', 'a', '--expiry', '604801'])).rejects.toThrow(
      CommanderError,
    );
    await expect(parse(['create', '-n', 'a', '--ephemeral', '-1'])).rejects.toThrow(CommanderError);
  });

  it('requires --name when stdin is not a terminal', async () => {
    await expect(parse(['create'])).rejects.toThrow(UsageError);
    await expect(parse(['create'])).rejects.toThrow(/--name is required/);
  });

  it('refuses a nickname the relay would refuse', async () => {
    await expect(parse(['create', '--name', 'x'.repeat(21)])).rejects.toThrow(/Invalid --name/);
    await expect(parse(['create', '--name', 'a\u0007'])).rejects.toThrow(UsageError);
  });
});

describe('hush join', () => {
  it('accepts a bare share code', async () => {
    const { config } = await parse(['join', CODE, '-n', 'bob']);
    expect(config.target).toEqual({
      kind: 'join',
      code: { roomId: 'V1StGXR8_Z5jdHi6B-myT', key: CODE.split(':')[1] },
    });
  });

  it('accepts a share code whose room id starts with "-" (one in 64 does), before or after options', async () => {
    const dashed = `-B8dFR_SIPeF54rw8V212:${CODE.split(':')[1]}`;
    for (const args of [
      ['join', dashed, '--name', 'bob'],
      ['join', '--name', 'bob', dashed],
      ['join', `http://h/#/join/${dashed}`, '-n', 'bob'],
    ]) {
      const { config } = await parse(args);
      expect(config.target).toEqual({
        kind: 'join',
        code: { roomId: '-B8dFR_SIPeF54rw8V212', key: CODE.split(':')[1] },
      });
    }
  });

  it('accepts a join link', async () => {
    const { config } = await parse([
      'join',
      `https://chat.example.com/#/join/${CODE}:30`,
      '-n',
      'b',
    ]);
    expect(config.target).toMatchObject({ kind: 'join', code: { ephemeral: 30 } });
  });

  it('refuses a malformed share code with a clear message that does not echo the key', async () => {
    const attempt = parse(['join', 'V1StGXR8_Z5jdHi6B-myT:tooshort', '-n', 'b']);
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(attempt).rejects.toThrow(/^Invalid share code: the key must be 43/);
  });

  it('refuses a link that carries the code outside the fragment', async () => {
    await expect(parse(['join', `https://h/join/${CODE}`, '-n', 'b'])).rejects.toThrow(
      /Invalid join link/,
    );
  });

  it('refuses a server URL that is not a relay URL', async () => {
    await expect(parse(['join', CODE, '-n', 'b', '--server', 'localhost:8080'])).rejects.toThrow(
      UsageError,
    );
  });
});

describe('version', () => {
  it('matches the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(CLI_VERSION).toBe(pkg.version);
  });
});
