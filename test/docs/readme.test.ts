import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTable, shownDefault, tableIn } from '../../apps/relay/src/config/config.docs.js';
import { DECLARED_SETTINGS } from '../../apps/relay/src/config/config.schema.js';
import { loadConfig } from '../../apps/relay/src/config/load-config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** What the relay really runs with when nothing is set. */
const loadedDefaults = loadConfig({ env: {}, argv: [] });

function valueAt(path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => {
    return typeof node === 'object' && node !== null
      ? (node as Record<string, unknown>)[key]
      : undefined;
  }, loadedDefaults);
}

function asWritten(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'events' in value && 'windowMs' in value) {
    return `\`${String(value.events)}/${String(value.windowMs)}\``;
  }
  return `\`${String(value)}\``;
}

describe('README', () => {
  it('gives exactly the two set-up commands a newcomer needs', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toMatch(/```sh\nnpm test\n```/);
  });

  it('has the Configuration table generated from the declared settings (npm run docs:config)', () => {
    expect(tableIn(readme)).toBe(configTable());
  });

  // A shownDefault is prose ("any", "`HOST`") for a value that would mislead; the rest must match.
  it.each(
    DECLARED_SETTINGS.filter((setting) => setting.shownDefault === undefined).map((setting) => [
      setting.env,
      setting,
    ]),
  )('shows for %s the default the relay really starts with', (_env, setting) => {
    const value = valueAt(setting.path);
    expect(shownDefault(setting)).toBe(value === undefined ? 'unset' : asWritten(value));
  });

  it('names the CI entry point and the test command it runs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(ci).toMatch(/^npm test$/m);
    expect(readme).toContain('.ci/run');
  });
});
