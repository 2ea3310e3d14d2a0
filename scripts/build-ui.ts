// `npm run build`: the web UI into dist/web. With --if-missing (npm start's prestart) only when
// there is no build yet, so a fresh clone's `npm install && npm start` serves the UI.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
if (process.argv.includes('--if-missing') && fs.existsSync(path.join(root, 'dist', 'web', 'index.html'))) process.exit(0);
await build({ configFile: path.join(root, 'web', 'vite.config.ts'), logLevel: 'warn' });
console.log(`web UI built into ${path.join(root, 'dist', 'web')}`);
