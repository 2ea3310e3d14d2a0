// The generator that every later benchmark and test uses: 1M rows must take well
// under a minute. Baseline: writing the same number of fixed rows (pure I/O).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeCsv } from '../src/generate/generate.ts';
import { emit } from './emit.ts';

export async function run(args: Record<string, string>) {
  const n = Number(args.profiles ?? 1_000_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-gen-'));
  try {
    const fixed = 'Иванов,Иван,Иванович,m,+79161234567,ivan@mail.ru,2000000000017,1990-03-05,Москва,А123ВС77,pos,ТЦ Мега,google,cpc,spring,VIP,42,Обувь,3\n';
    const t0 = performance.now();
    const out = fs.createWriteStream(path.join(dir, 'base.csv'));
    const chunk = fixed.repeat(1000);
    for (let i = 0; i < n; i += 1000) if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    await new Promise<void>((r) => out.end(() => r()));
    const baseline = (performance.now() - t0) / 1000;
    for (const dirty of [false, true]) {
      const r = await writeCsv(path.join(dir, `${dirty}.csv`), n, { seed: 1, dirty });
      emit({ bench: 'generate', case: dirty ? 'dirty' : 'clean', metric: 'seconds', value: r.ms / 1000, unit: 's', baseline, target: 60, better: 'lower', profiles: n });
      emit({ bench: 'generate', case: dirty ? 'dirty' : 'clean', metric: 'rss_mb', value: process.memoryUsage().rss / 1e6, unit: 'MB', better: 'lower', profiles: n });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
