/**
 * `npx hush` in the repository: the workspace's bin entry is a committed file that builds the CLI
 * when needed, so it works straight after `npm ci`, before any build.
 */
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

it('the hush bin is a committed, executable file, not a build output', async () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'apps/cli/package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  expect(manifest.bin).toEqual({ hush: 'bin/hush.js' });
  const { stdout } = await run('git', ['ls-files', '--stage', 'apps/cli/bin/hush.js'], {
    cwd: ROOT,
  });
  expect(stdout).toMatch(/^100755 /);
  expect(realpathSync(join(ROOT, 'node_modules/.bin/hush'))).toBe(
    join(ROOT, 'apps/cli/bin/hush.js'),
  );
});

it('npx hush --help works in the repository', async () => {
  const { stdout } = await run('npx', ['--no-install', 'hush', '--help'], {
    cwd: ROOT,
    timeout: 120_000,
  });
  expect(stdout).toMatch(/^Usage: hush \[options\] \[command\]/);
  expect(stdout).toContain('join [options] <code>');
  const version = await run('npx', ['--no-install', 'hush', '--version'], { cwd: ROOT });
  expect(version.stdout.trim()).toBe('0.1.0');
});
