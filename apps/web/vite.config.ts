import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // Relative asset URLs: the same build works at `/` (relay) and under a sub-path (nginx).
  base: './',
  plugins: [solid()],
  resolve: {
    // The libraries are bundled from source, so the web build never depends on a stale lib build.
    alias: {
      '@hush/protocol': source('../../libs/protocol/src/index.ts'),
      '@hush/crypto': source('../../libs/crypto/src/index.ts'),
      '@hush/client': source('../../libs/client/src/index.ts'),
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/ws': { target: 'ws://localhost:8080', ws: true },
    },
  },
});
