import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

export default defineConfig({
  entry: { cli: 'cli/limpet.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: false, // several test runs may share dist/ while one rebuilds
  // Keep runtime dependencies external: llhttp-wasm embeds its WASM and ioredis is large.
  external: ['llhttp-wasm', 'ioredis', 'commander'],
  banner: { js: '#!/usr/bin/env node' },
  define: { __LIMPET_VERSION__: JSON.stringify(pkg.version) },
});
