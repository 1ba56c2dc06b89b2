import js from '@eslint/js';
import solid from 'eslint-plugin-solid/configs/typescript';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    files: ['libs/**/*.ts'],
    languageOptions: { globals: { ...globals['shared-node-browser'] } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', '@nestjs/*'],
              message: 'libs run in browsers: no Node built-ins, no Nest.',
            },
          ],
        },
      ],
    },
  },
  {
    // The relay's core knows no transport and no framework: the ws adapter (transport/ws/), the
    // HTTP endpoints (http/) and Nest host it; the cluster adapters are handed to it as ports.
    files: ['apps/relay/src/core/**/*.ts'],
    ignores: ['apps/relay/src/core/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:net',
              importNames: ['Socket', 'Server', 'createServer', 'createConnection', 'connect'],
              message: 'the core is transport-free: sockets belong to transport/.',
            },
          ],
          patterns: [
            {
              group: ['ws', 'node:http', 'node:https', 'node:tls', '@nestjs/*', 'express'],
              message: 'the core is transport-free and framework-free: see core/transport.ts.',
            },
            {
              group: ['**/transport/**', '**/http/**', '!**/core/transport.js'],
              message: 'the core does not depend on its hosts.',
            },
            {
              group: ['ioredis', '**/cluster/redis/**', '**/cluster/memory/**'],
              message: 'the core sees the cluster through its ports (cluster/*.port.ts).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/web/**/*.{ts,tsx}'],
    ...solid,
    languageOptions: { ...solid.languageOptions, globals: { ...globals.browser } },
  },
);
