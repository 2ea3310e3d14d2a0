// npm run bench -- import --profiles 1000000
// A dirty generated file (ФИО in one column, 8 (916)… phones, mixed dates, ~1-2% repeats,
// Windows-style `;` CSV with BOM) is imported (a) into an empty base and (b) again into the
// same base with half of the rows changed (upsert), each in a process of its own (its peak
// RSS is the import's). Baseline in the same run: a bare COPY of the same rows, already
// clean (as (a) stored them), into the same indexed profiles table.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { createDatabaseSql } from '../src/db/database.ts';
import { createDb, createPool } from '../src/db/db.ts';
import { startEmbedded } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { insertField } from '../src/fields/fields.repo.ts';
import { CATEGORIES, csvHeader, formatCsvRow, generateProfiles, profileToCsvCells, writeCsv } from '../src/generate/generate.ts';
import { emit, NODE_FLAGS } from './emit.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const log = (m: string) => process.stderr.write(`[import] ${m}\n`);

/** The same people as `a`, every other row with another city and one more visit. */
async function writeChanged(file: string, n: number) {
  const out = fs.createWriteStream(file);
  out.write('\uFEFF' + formatCsvRow(csvHeader(true), true) + '\r\n');
  let buf = '';
  let i = 0;
  for (const p of generateProfiles(n, { seed: 1, dirty: true })) {
    if (i % 2 === 0) {
      p.city = p.city === 'Тверь' ? 'Тула' : 'Тверь';
      p.fields.visits += 1;
    }
    buf += formatCsvRow(profileToCsvCells(p, true), true) + '\r\n';
    if (++i % 1000 === 0) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

function child(url: string, baseId: number, file: string, dataDir: string) {
  const r = spawnSync('npx', ['node', ...NODE_FLAGS, path.join(here, 'import.child.ts'), url, String(baseId), file, dataDir], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`import child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; rows: number; created: number; updated: number; unchanged: number; failed: number; maxRssMb: number };
}

export async function run(args: Record<string, string>) {
  const n = Number(args.profiles ?? 100_000);
  const dir = path.join(here, 'out', `import-${n}`);
  fs.mkdirSync(dir, { recursive: true });
  const a = path.join(dir, 'a.csv');
  const b = path.join(dir, 'b.csv');
  if (!fs.existsSync(a)) {
    log(`writing ${n} dirty rows`);
    await writeCsv(a + '.tmp', n, { seed: 1, dirty: true });
    fs.renameSync(a + '.tmp', a);
  }
  if (!fs.existsSync(b)) {
    log('writing the changed copy');
    await writeChanged(b + '.tmp', n);
    fs.renameSync(b + '.tmp', b);
  }
  const pgDir = path.join(dir, 'pg');
  fs.rmSync(pgDir, { recursive: true, force: true });
  fs.mkdirSync(pgDir, { recursive: true });
  fs.chmodSync(pgDir, 0o755);
  const dataDir = path.join(dir, 'data');
  fs.rmSync(dataDir, { recursive: true, force: true });
  const server = await startEmbedded({ dataDir: pgDir, settings: { shared_buffers: '1GB', work_mem: '64MB', maintenance_work_mem: '256MB', ...(args.trace ? { log_min_duration_statement: '0' } : {}) } });
  try {
    const admin = new pg.Client({ connectionString: server.adminUrl });
    await admin.connect();
    await admin.query(createDatabaseSql('bench'));
    await admin.end();
    const u = new URL(server.adminUrl);
    u.pathname = '/bench';
    const url = u.toString();
    const pool = createPool(url, 4);
    const db = createDb(pool);
    await migrate(pool);
    const newBase = async (name: string) => {
      const base = await db.insertInto('bases').values({ name, emails_consented: true }).returning('id').executeTakeFirstOrThrow();
      const def = (key: string, label: string, type: 'int' | 'list', options: string[] = []) =>
        insertField(db, base.id, { key, type, label: { ru: label, en: key }, required: false, default: null, listMode: type === 'list' ? 'static' : null, options, showInSubscriptionManager: false, position: 0 });
      await def('loyaltyScore', 'Оценка', 'int');
      await def('favoriteCategory', 'Любимая категория', 'list', [...CATEGORIES]);
      await def('visits', 'Визиты', 'int');
      return base.id;
    };
    const baseA = await newBase('Import');
    const baseC = await newBase('Copy baseline');

    log('(a) import into an empty base');
    const ra = child(url, baseA, a, dataDir);
    log(JSON.stringify(ra));
    await pool.query('VACUUM ANALYZE profiles');

    // Baseline: the rows (a) stored, clean, COPYed into the same indexed table.
    const cols = `kind, phone, card_number, email, last_name, first_name, middle_name, birth_date, gender, city, car_number,
      reg_source, point_of_sale, utm_source, utm_medium, utm_campaign, fields, tags`;
    const clean = path.join(dir, 'clean.tsv');
    {
      const c = await pool.connect();
      await pipeline(c.query(copyTo(`COPY (SELECT ${baseC}, ${cols} FROM profiles WHERE base_id = ${baseA} ORDER BY id) TO STDOUT`)), fs.createWriteStream(clean));
      c.release();
    }
    const copyRows = Number((await pool.query(`SELECT count(*) AS n FROM profiles WHERE base_id = $1`, [baseA])).rows[0].n);
    const t0 = performance.now();
    {
      const c = await pool.connect();
      await pipeline(fs.createReadStream(clean), c.query(copyFrom(`COPY profiles (base_id, ${cols}) FROM STDIN`)));
      c.release();
    }
    const copySeconds = (performance.now() - t0) / 1000;
    const copyRate = copyRows / copySeconds;
    log(`baseline COPY ${copyRows} clean rows: ${copySeconds.toFixed(1)} s`);
    await pool.query('VACUUM ANALYZE profiles');

    log('(b) the same base again, half the rows changed (upsert)');
    const rb = child(url, baseA, b, dataDir);
    log(JSON.stringify(rb));

    const common = { bench: 'import', unit: '', profiles: n } as const;
    emit({ ...common, case: 'a_empty', metric: 'rows_per_s', value: ra.rows / ra.seconds, unit: 'rows/s', baseline: copyRate, target: 50_000, better: 'higher' });
    emit({ ...common, case: 'a_empty', metric: 'seconds', value: ra.seconds, unit: 's', baseline: copySeconds * (ra.rows / copyRows), target: 3, better: 'lower' });
    emit({ ...common, case: 'a_empty', metric: 'peak_rss_mb', value: ra.maxRssMb, unit: 'MB', target: 500, better: 'lower' });
    emit({ ...common, case: 'b_upsert', metric: 'rows_per_s', value: rb.rows / rb.seconds, unit: 'rows/s', baseline: copyRate, target: 25_000, better: 'higher' });
    emit({ ...common, case: 'b_upsert', metric: 'peak_rss_mb', value: rb.maxRssMb, unit: 'MB', target: 500, better: 'lower' });
    process.stderr.write(`[import] (a) ${JSON.stringify(ra)}\n[import] (b) ${JSON.stringify(rb)}\n`);
    await db.destroy();
  } finally {
    await server.stop();
  }
  // --trace: where PostgreSQL spent the import's time, by statement (from its log).
  if (args.trace) {
    const by = new Map<string, number>();
    const text = fs.readFileSync(path.join(pgDir, 'postgres.log'), 'utf8');
    for (const m of text.matchAll(/duration: ([0-9.]+) ms {2}(?:statement|execute [^:]*): ([\s\S]*?)(?=\n\d{4}-\d\d-\d\d |$)/g)) {
      const key = m[2]!.replace(/\s+/g, ' ').trim().slice(0, 90);
      by.set(key, (by.get(key) ?? 0) + Number(m[1]));
    }
    for (const [k, ms] of [...by].sort((x, y) => y[1] - x[1]).slice(0, 25)) process.stderr.write(`${(ms / 1000).toFixed(2).padStart(8)} s  ${k}\n`);
  }
}
