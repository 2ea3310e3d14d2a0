// One import in a process of its own, so its peak RSS is the import's: spawned by
// bench/import.bench.ts.   npx node bench/import.child.ts URL BASE_ID FILE DATA_DIR
// Prints one JSON line: { seconds, rows, created, updated, unchanged, failed, maxRssMb }.
import fs from 'node:fs';
import { createDb, createPool } from '../src/db/db.ts';
import { preview, start, upload } from '../src/import/import.service.ts';
import { runOnce } from '../src/jobs/jobs.service.ts';

const [url, baseArg, file, dataDir] = process.argv.slice(2);
if (!url || !baseArg || !file || !dataDir) throw new Error('usage: import.child.ts URL BASE_ID FILE DATA_DIR');
const baseId = Number(baseArg);
const pool = createPool(url, 4);
const db = createDb(pool);
const t0 = performance.now();
const imp = await upload(db, dataDir, baseId, 'bench', fs.createReadStream(file), { fileName: file, maxBytes: 8 * 2 ** 30 });
const pv = await preview(db, dataDir, baseId, imp.id, {}, 'ru');
const started = await start(db, baseId, imp.id, { mapping: pv.mapping, mode: 'upsert', policy: {}, duplicates: 'merge', tagIds: [], segmentId: null, dryRun: false }, 'bench', 'ru');
await runOnce(db, { only: started.jobId!, dataDir, log: (m, e) => process.stderr.write(`${m}: ${String(e)}\n`) });
const seconds = (performance.now() - t0) / 1000;
const r = await db.selectFrom('imports').selectAll().where('id', '=', imp.id).executeTakeFirstOrThrow();
const job = await db.selectFrom('jobs').select(['status', 'error']).where('id', '=', started.jobId!).executeTakeFirstOrThrow();
if (job.status !== 'done') throw new Error(`import job ${job.status}: ${job.error}`);
process.stdout.write(
  JSON.stringify({ seconds, rows: r.rows, created: r.created, updated: r.updated, unchanged: r.unchanged, failed: r.failed, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n',
);
await db.destroy();
