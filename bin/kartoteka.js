#!/usr/bin/env node
// Runs the TypeScript CLI on Node 24 (type stripping). An older system node
// re-executes with the Node pinned in the package's devDependencies.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'src', 'cli.ts');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 18)) {
  await import(cli);
} else {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    console.error(`kartoteka needs Node.js 24; found ${process.versions.node}. Run npm install in ${root}.`);
    process.exit(1);
  }
  const r = spawnSync(pinned, ['--max-semi-space-size=8', cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
