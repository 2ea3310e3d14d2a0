// npm run bench -- export --profiles 1000000
// Exports the whole cached base (bench/dataset.ts) with the default columns through the same
// function the export job uses (writeExport), to CSV excel-ru and to XLSX, each in a child process
// of its own so that its peak RSS is the export's alone; the baseline, in the same run, is a bare
// COPY (SELECT the same columns) TO STDOUT (FORMAT csv) streamed to a file.
import { spawnSync } from 'node:child_process';
import { NODE_FLAGS } from './emit.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataset } from './dataset.ts';
import { emit } from './emit.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

interface ChildResult {
  seconds: number;
  rows: number;
  bytes: number;
  maxRssMb: number;
}

function child(url: string, baseId: number, mode: string, out: string): ChildResult {
  const r = spawnSync(process.execPath, [...NODE_FLAGS, path.join(here, 'export.child.ts'), url, String(baseId), mode, out], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`export.child ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

export async function run(args: Record<string, string>) {
  const n = Number(args.profiles ?? 100_000);
  const runs = Number(args.runs ?? 1);
  const ds = await dataset(n);
  const u = new URL(ds.server.adminUrl);
  u.pathname = '/bench';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-export-bench-'));
  try {
    const best = (mode: string) => {
      let b: ChildResult | undefined;
      for (let i = 0; i < runs; i++) {
        const r = child(u.toString(), ds.baseId, mode, path.join(dir, `${mode}.out`));
        if (r.rows !== n) throw new Error(`${mode}: ${r.rows} rows exported, expected ${n}`);
        if (!b || r.seconds < b.seconds) b = r;
      }
      return b!;
    };
    const copy = best('copy');
    emit({ bench: 'export', case: 'copy_baseline', metric: 'seconds', value: copy.seconds, unit: 's', better: 'lower', profiles: n });
    for (const [mode, target] of [['csv-excel-ru', 8], ['xlsx', 30]] as const) {
      const r = best(mode);
      emit({ bench: 'export', case: mode, metric: 'seconds', value: r.seconds, unit: 's', baseline: copy.seconds, target, better: 'lower', profiles: n });
      emit({ bench: 'export', case: mode, metric: 'peak_rss', value: r.maxRssMb, unit: 'MB', target: 250, better: 'lower', profiles: n });
      emit({ bench: 'export', case: mode, metric: 'file_size', value: r.bytes / 1e6, unit: 'MB', better: 'lower', profiles: n });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await ds.close();
  }
}
