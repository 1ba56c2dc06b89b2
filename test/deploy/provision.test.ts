/**
 * `npm test` on a machine that lacks what the suite needs, as a user who may not install it:
 * scripts/test.sh must stop at once, name what is missing and the command that provides it, and
 * change nothing. The machine is simulated with a PATH of stand-ins (`id` says uid 1000,
 * `docker` has no engine, `apt-get` records any call).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const bin = mkdtempSync(join(tmpdir(), 'hush-provision-'));
const aptCalls = join(bin, 'apt-get.called');
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function standIn(name: string, script: string): void {
  writeFileSync(join(bin, name), `#!/bin/sh\n${script}\n`);
  chmodSync(join(bin, name), 0o755);
}
standIn('id', 'case "$1" in -u) echo 1000 ;; -un) echo dev ;; *) echo "uid=1000(dev)" ;; esac');
standIn('docker', 'echo "Cannot connect to the Docker daemon" >&2; exit 1');
standIn('apt-get', `echo "$@" >> ${aptCalls}; exit 1`);
// The coreutils every machine has.
for (const tool of ['dirname', 'grep', 'sed', 'head', 'cat', 'mktemp', 'timeout']) {
  for (const directory of ['/usr/bin', '/bin']) {
    if (existsSync(join(directory, tool))) {
      symlinkSync(join(directory, tool), join(bin, tool));
      break;
    }
  }
}

function run(env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', [join(ROOT, 'scripts/test.sh')], {
      cwd: ROOT,
      env: { PATH: bin, HOME: bin, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('npm test on an unprepared machine, without root', () => {
  it('stops at once, naming everything missing and the command that installs it', async () => {
    const { code, stderr } = await run();
    expect(code).toBe(1);
    for (const missing of ['Chromium', 'kubectl', 'promtool', 'systemd-analyze', 'redis-server']) {
      expect(stderr).toContain(missing);
    }
    const packages = ['chromium', 'kubernetes-client', 'prometheus', 'systemd', 'redis-server'];
    if (existsSync('/etc/debian_version')) {
      expect(stderr).toContain(
        `sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`,
      );
    } else {
      expect(stderr).toContain(`Debian packages: ${packages.join(' ')}`);
    }
    expect(existsSync(aptCalls), 'apt-get was run').toBe(false);
  });

  it('refuses a HUSH_CHROMIUM that is not an executable, saying so', async () => {
    const { code, stderr } = await run({ HUSH_CHROMIUM: join(bin, 'no-such-chromium') });
    expect(code).toBe(1);
    expect(stderr).toContain(`HUSH_CHROMIUM=${join(bin, 'no-such-chromium')} is not an executable`);
  });

  it('asks for a running Docker engine once the tools are there', async () => {
    for (const tool of ['chromium', 'kubectl', 'promtool', 'systemd-analyze', 'redis-server']) {
      standIn(tool, 'exit 0');
    }
    const { code, stderr } = await run();
    expect(code).toBe(1);
    expect(stderr).toContain('no Docker engine answers');
    expect(stderr).toContain('sudo usermod -aG docker dev');
    expect(existsSync(aptCalls), 'apt-get was run').toBe(false);
  });
});
