// Compiles the CLI (and the libraries it uses) when its build is missing or older than the
// sources, so the `hush` command works straight after `npm ci`, with no build step, and never
// runs stale code. Concurrent callers (several `hush` processes, parallel tests) take turns.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(CLI, '../..');
/** Written after every successful build: the build is current while no source is newer. */
const STAMP = join(CLI, 'dist', '.built');
/** Everything the CLI's build reads. */
const INPUTS = [
  'apps/cli/src',
  'apps/cli/tsconfig.json',
  'libs/client/src',
  'libs/client/tsconfig.json',
  'libs/crypto/src',
  'libs/crypto/tsconfig.json',
  'libs/protocol/src',
  'libs/protocol/tsconfig.json',
  'tsconfig.base.json',
].map((path) => join(ROOT, path));
const LOCK = join(
  tmpdir(),
  `hush-cli-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);
const STALE_LOCK_MS = 120_000;

/** Modification time of the newest file under `path`, ms. */
function newest(path) {
  const info = statSync(path, { throwIfNoEntry: false });
  if (info === undefined) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

function current() {
  const stamp = statSync(STAMP, { throwIfNoEntry: false });
  return stamp !== undefined && Math.max(...INPUTS.map(newest)) <= stamp.mtimeMs;
}

function lock() {
  for (;;) {
    try {
      mkdirSync(LOCK);
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const held = statSync(LOCK, { throwIfNoEntry: false });
      if (held !== undefined && Date.now() - held.mtimeMs > STALE_LOCK_MS) {
        rmSync(LOCK, { recursive: true, force: true });
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}

/**
 * Makes sure `apps/cli/dist` is built from the current sources. `announce` is called before a
 * build starts (it takes a while). Throws when the build fails or TypeScript is missing.
 */
export function ensureBuilt(announce = () => undefined) {
  if (current()) return;
  lock();
  try {
    if (current()) return;
    let tsc;
    try {
      tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    } catch {
      throw new Error(
        'the terminal client is not built and TypeScript is missing: run `npm ci` in the Hush repository',
      );
    }
    announce();
    const started = Date.now();
    const result = spawnSync(process.execPath, [tsc, '-b', 'apps/cli'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (result.status !== 0) {
      throw new Error(`building the terminal client failed:\n${result.stdout}${result.stderr}`);
    }
    mkdirSync(dirname(STAMP), { recursive: true });
    // Stamped with the time the build started: a source saved during the build is newer.
    writeFileSync(STAMP, '');
    utimesSync(STAMP, started / 1000, started / 1000);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
