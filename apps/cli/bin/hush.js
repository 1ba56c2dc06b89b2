#!/usr/bin/env node
// The `hush` command: runs the compiled terminal client, compiling it first when it is missing or
// older than its sources (the first run after `npm ci` or `git pull` takes a few seconds).
import { ensureBuilt } from './build.js';

try {
  ensureBuilt(() => process.stderr.write('hush: compiling the terminal client…\n'));
} catch (error) {
  process.stderr.write(`hush: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
await import('../dist/main.js');
