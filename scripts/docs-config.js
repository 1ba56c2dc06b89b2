// Rewrites README.md's Configuration table from the declared settings (run via npm run docs:config,
// which builds the relay first).
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigTable } from '../apps/relay/dist/config/config.docs.js';

const readme = new URL('../README.md', import.meta.url);
const before = readFileSync(readme, 'utf8');
const after = withConfigTable(before);
if (after === before) {
  console.log('README.md: configuration table already up to date');
} else {
  writeFileSync(readme, after);
  console.log('README.md: configuration table regenerated');
}
