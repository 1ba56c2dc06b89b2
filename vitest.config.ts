import { fileURLToPath } from 'node:url';
import solid from 'vite-plugin-solid';
import { defineConfig } from 'vitest/config';

const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Tests run against the libraries' TypeScript sources, never a stale build. */
const alias = {
  '@hush/protocol': source('./libs/protocol/src/index.ts'),
  '@hush/crypto': source('./libs/crypto/src/index.ts'),
  // Before '@hush/client': the first alias whose key prefixes the import wins.
  '@hush/client/testing': source('./libs/client/src/testing/index.ts'),
  '@hush/client': source('./libs/client/src/index.ts'),
};

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: { name: 'libs', include: ['libs/*/src/**/*.spec.ts'], environment: 'node' },
      },
      // Vite's esbuild transform compiles the relay's decorators (experimentalDecorators in
      // apps/relay/tsconfig.json) but emits no `design:paramtypes`: Nest resolves every
      // constructor parameter from its explicit @Inject token instead.
      {
        resolve: { alias },
        test: {
          name: 'apps',
          include: ['apps/relay/src/**/*.spec.ts', 'apps/cli/src/**/*.spec.ts'],
          environment: 'node',
        },
      },
      {
        plugins: [solid()],
        resolve: { alias, conditions: ['development', 'browser'] },
        test: {
          name: 'web',
          include: ['apps/web/src/**/*.spec.{ts,tsx}'],
          environment: 'happy-dom',
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
