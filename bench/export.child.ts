// One export of a whole base in a process of its own, so that its peak RSS is
// the export's: spawned by bench/export.bench.ts.
//   npx node bench/export.child.ts URL BASE_ID csv-excel-ru|csv-plain|xlsx|copy OUT_FILE
// Prints one JSON line: { seconds, rows, bytes, maxRssMb }.
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import { to as copyTo } from 'pg-copy-streams';
import { createDb, createPool } from '../src/db/db.ts';
import { resolveExport, writeExport, type ExportPlan } from '../src/export/export.service.ts';

const [url, baseArg, mode, out] = process.argv.slice(2);
if (!url || !baseArg || !mode || !out) throw new Error('usage: export.child.ts URL BASE_ID MODE OUT_FILE');
const baseId = Number(baseArg);
const pool = createPool(url, 4);
const db = createDb(pool);

const body =
  mode === 'xlsx' ? ({ format: 'xlsx', query: {} } as const) : ({ format: 'csv', dialect: mode === 'csv-plain' ? 'plain' : 'excel-ru', query: {} } as const);
const { plan } = await resolveExport(db, baseId, body, undefined, 'ru');

/** The baseline: the same columns, spelled the same way, written by PostgreSQL's own COPY. */
async function copyBaseline(p: ExportPlan): Promise<{ rows: number; bytes: number }> {
  const select = sql`SELECT ${sql.join(p.columns.map((c, i) => sql`${c.expr} AS ${sql.ref(`c${i}`)}`))} FROM profiles p WHERE p.base_id = ${p.baseId} ORDER BY p.id`;
  const compiled = select.compile(db);
  // COPY takes no parameters: inline them (numbers and validated field keys only)
  const text = compiled.sql.replace(/\$(\d+)/g, (_, n: string) => {
    const v = compiled.parameters[Number(n) - 1];
    return typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
  });
  const client = await pool.connect();
  try {
    const stream = client.query(copyTo(`COPY (${text}) TO STDOUT (FORMAT csv, HEADER, DELIMITER ';')`));
    await pipeline(stream, fs.createWriteStream(out!));
    return { rows: Number(stream.rowCount ?? 0), bytes: fs.statSync(out!).size };
  } finally {
    client.release();
  }
}

const t0 = performance.now();
const r = mode === 'copy' ? await copyBaseline(plan) : await writeExport(plan, fs.createWriteStream(out), db);
const seconds = (performance.now() - t0) / 1000;
await db.destroy();
// maxRSS is in kilobytes
process.stdout.write(JSON.stringify({ seconds, rows: r.rows, bytes: r.bytes, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
