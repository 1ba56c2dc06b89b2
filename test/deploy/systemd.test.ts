/**
 * The systemd unit for single-host installs (deploy/systemd): `systemd-analyze verify` accepts
 * it without a single warning, `systemd-analyze security` rates its sandbox, it is hardened as
 * documented, its stop timeout covers the relay's drain, and its example environment file sets
 * only variables the relay reads.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../../apps/relay/src/config/config.schema.js';
import { CONFIG_FILE_ENV, ENV_VARS } from '../../apps/relay/src/config/load-config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UNIT = join(ROOT, 'deploy/systemd/hush-relay.service');
const ENV_FILE = join(ROOT, 'deploy/systemd/relay.env');
const run = promisify(execFile);
const SYSTEMD_ANALYZE = process.env.HUSH_SYSTEMD_ANALYZE ?? 'systemd-analyze';

/** Variables the relay reads. */
const RELAY_ENV = new Set([
  ...Object.values(ENV_VARS),
  CONFIG_FILE_ENV,
  'PORT',
  'HOST',
  'REDIS_URL',
]);

async function analyze(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(SYSTEMD_ANALYZE, args);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof code !== 'number') throw error;
    return { code, stdout: stdout ?? '', stderr: stderr ?? '' };
  }
}

/** `Key=value` settings of a unit file, by key (a key may repeat). */
function settings(text: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match === null) continue;
    const [, key = '', value = ''] = match;
    result.set(key, [...(result.get(key) ?? []), value]);
  }
  return result;
}

const unitText = readFileSync(UNIT, 'utf8');
const unit = settings(unitText);
const one = (key: string): string | undefined => unit.get(key)?.at(-1);

const scratch = mkdtempSync(join(tmpdir(), 'hush-systemd-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('deploy/systemd/hush-relay.service', () => {
  it('passes systemd-analyze verify without a warning', async () => {
    const result = await analyze('verify', '--man=no', UNIT);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('is rejected by the same check when a setting is wrong (the check really checks)', async () => {
    const broken = join(scratch, 'hush-relay.service');
    writeFileSync(broken, unitText.replace('ProtectSystem=strict', 'ProtectSystem=sometimes'));
    const result = await analyze('verify', '--man=no', broken);
    expect(result.stderr).toMatch(/protect system value, ignoring: sometimes/i);
  });

  it('runs as a dynamic user on a read-only system, without new privileges or capabilities', () => {
    expect(one('DynamicUser')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(unit.has('User')).toBe(false);
  });

  it('rates as well sandboxed by systemd-analyze security', async () => {
    const result = await analyze('security', '--offline=yes', '--no-pager', UNIT);
    const level = /Overall exposure level for hush-relay\.service: ([\d.]+) (\w+)/.exec(
      result.stdout,
    );
    expect(level, result.stdout + result.stderr).not.toBeNull();
    expect(level?.[2]).toBe('OK');
  });

  it('restarts on failure and stops with SIGTERM, leaving the drain its whole timeout', () => {
    expect(one('Restart')).toBe('on-failure');
    expect(one('KillSignal')).toBe('SIGTERM');
    const stopSeconds = Number(/^(\d+)s?$/.exec(one('TimeoutStopSec') ?? '')?.[1]);
    expect(stopSeconds * 1000).toBeGreaterThan(CONFIG_DEFAULTS.server?.shutdownTimeoutMs ?? NaN);
  });

  it('starts the built relay and reads its settings from an optional environment file', () => {
    expect(one('ExecStart')).toMatch(/^\/\S*node \S*\/apps\/relay\/dist\/main\.js$/);
    expect(one('EnvironmentFile')).toBe('-/etc/hush/relay.env');
  });
});

describe('deploy/systemd/relay.env', () => {
  const names = [...readFileSync(ENV_FILE, 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map(
    (m) => m[1] ?? '',
  );

  it('sets (or shows, commented) only variables the relay reads', () => {
    expect(names.length).toBeGreaterThan(3);
    expect(names.filter((name) => !RELAY_ENV.has(name))).toEqual([]);
  });
});
