import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const manifest = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { scripts: Record<string, string> };
const vitestConfig = readFileSync(new URL('../../vitest.config.ts', import.meta.url), 'utf8');
const projects = new Set([...vitestConfig.matchAll(/name: '([^']+)'/g)].map((match) => match[1]));

describe('package scripts', () => {
  it('name only vitest projects that exist', () => {
    const named = Object.entries(manifest.scripts).flatMap(([script, command]) =>
      [...command.matchAll(/--project[ =](\S+)/g)].map((match) => [script, match[1]]),
    );
    expect(named).not.toEqual([]);
    for (const [script, project] of named) {
      expect(projects, `npm run ${script} names project ${project}`).toContain(project);
    }
  });
});
