import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import root from '../../vitest.config.js';

/**
 * `npm run test:deploy`: the compose cluster test alone (test/deploy/*.deploy.ts), with the
 * integration project's transforms and aliases. Its file names keep it out of `npm test`.
 */
const integration = root.test?.projects?.find(
  (project): project is TestProjectInlineConfiguration =>
    typeof project === 'object' &&
    !(project instanceof Promise) &&
    project.test?.name === 'integration',
);
if (integration === undefined) throw new Error('vitest.config.ts has no integration project');

export default defineConfig({
  plugins: integration.plugins,
  resolve: integration.resolve,
  test: {
    name: 'deploy',
    include: ['test/deploy/**/*.deploy.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 900_000,
    fileParallelism: false,
  },
});
