import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, ENV_BINDINGS } from '../../apps/relay/src/config/config.schema.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const rows = readme.split('\n').filter((line) => line.startsWith('| `'));

function defaultOf(path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => {
    return typeof node === 'object' && node !== null
      ? (node as Record<string, unknown>)[key]
      : undefined;
  }, CONFIG_DEFAULTS);
}

function documented(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'events' in value && 'windowMs' in value) {
    return `${String(value.events)}/${String(value.windowMs)}`;
  }
  return String(value);
}

describe('README', () => {
  it('gives exactly the two set-up commands a newcomer needs', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toMatch(/```sh\nnpm test\n```/);
  });

  it.each(ENV_BINDINGS.map((binding) => [binding.env, binding]))(
    'documents %s with its YAML key and its real default',
    (_env, { env, path }) => {
      const row = rows.find((line) => line.includes(`\`${env}\``));
      expect(row, `no table row for ${env}`).toBeDefined();
      expect(row).toContain(`\`${path}\``);
      const fallback = defaultOf(path);
      if (typeof fallback === 'number' || typeof fallback === 'boolean') {
        expect(row).toContain(`\`${documented(fallback)}\``);
      }
      if (typeof fallback === 'object' && fallback !== null && !Array.isArray(fallback)) {
        expect(row).toContain(`\`${documented(fallback)}\``);
      }
    },
  );

  it('names the CI entry point and the test command it runs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(ci).toMatch(/^npm test$/m);
    expect(readme).toContain('.ci/run');
  });
});
