// npm run bench -- NAME [--profiles N] [more flags]: runs bench/NAME.ts, which
// prints one JSON line per figure (see bench/emit.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const [name, ...rest] = process.argv.slice(2);
const available = fs.readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace('.bench.ts', ''));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME [--profiles N]\navailable: ${available.join(', ')}`);
  process.exit(2);
}
const args: Record<string, string> = {};
for (let i = 0; i < rest.length; i++) {
  const a = rest[i]!;
  if (a.startsWith('--')) args[a.slice(2)] = rest[i + 1] && !rest[i + 1]!.startsWith('--') ? rest[++i]! : 'true';
}
const mod = (await import(path.join(dir, `${name}.bench.ts`))) as { run(args: Record<string, string>): Promise<void> };
await mod.run(args);
