// Copies the relay's non-TypeScript sources that it reads at run time (the Redis Lua scripts)
// from apps/relay/src to the same paths under apps/relay/dist, which tsc does not do. Run by
// `npm run build` after `tsc -b`; everything that starts the relay from dist (npm start, the
// bench, the spawned replicas of test/cluster, the Docker image) relies on it.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ASSET = /\.lua$/;
const source = fileURLToPath(new URL('../apps/relay/src', import.meta.url));
const target = fileURLToPath(new URL('../apps/relay/dist', import.meta.url));

const assets = readdirSync(source, { recursive: true, encoding: 'utf8' }).filter((path) =>
  ASSET.test(path),
);
for (const path of assets) {
  mkdirSync(dirname(join(target, path)), { recursive: true });
  copyFileSync(join(source, path), join(target, path));
}
console.log(`copied ${assets.length} relay assets to apps/relay/dist`);
