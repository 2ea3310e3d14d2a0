// npm run bench -- import --profiles 1000000 [--small 100000]
// What users do with imports, each import in a process of its own (its peak RSS is the import's),
// every figure beside a baseline measured in the same run:
//   first_base   a file of S rows (S = N/10 by default) into the first base of an empty table;
//   a_empty      a dirty file of N rows into an empty base, against the bare bulk load of the same
//                rows (COPY into a table without indexes, then its indexes built in two sessions);
//   second_base, third_base
//                the S-row file again into a new base while the first holds N: against first_base;
//   full_base    the S-row file into the base that holds N, against a bare COPY of the same rows,
//                clean, into that base;
//   b_upsert     the N-row file again into that base with every other row changed.
// The dirty files: ФИО in one column, 8 (916)… phones, mixed dates, ~3% repeats, ~1% typos, `;` CSV
// with BOM and CRLF (kartoteka generate --dirty).
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

/** The same people as the N-row file, every other row with another city and one more visit. */
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

async function ensure(file: string, write: (tmp: string) => Promise<unknown>) {
  if (fs.existsSync(file)) return;
  log(`writing ${path.basename(file)}`);
  await write(file + '.tmp');
  fs.renameSync(file + '.tmp', file);
}

interface ChildResult {
  seconds: number;
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  maxRssMb: number;
}

function child(url: string, baseId: number, file: string, dataDir: string): ChildResult {
  const r = spawnSync('npx', ['node', ...NODE_FLAGS, path.join(here, 'import.child.ts'), url, String(baseId), file, dataDir], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`import child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

/** Stored columns a bare COPY writes (everything but the generated and bookkeeping ones). */
const COPY_COLUMNS = `kind, phone, card_number, email, last_name, first_name, middle_name, birth_date, gender, city, car_number,
  reg_source, point_of_sale, utm_source, utm_medium, utm_campaign, fields, tags`;

export async function run(args: Record<string, string>) {
  const n = Number(args.profiles ?? 100_000);
  const s = Number(args.small ?? Math.max(1000, Math.round(n / 10)));
  const dir = path.join(here, 'out', `import-${n}`);
  fs.mkdirSync(dir, { recursive: true });
  const a = path.join(dir, 'a.csv');
  const b = path.join(dir, 'b.csv');
  const c = path.join(dir, `c-${s}.csv`);
  await ensure(a, (tmp) => writeCsv(tmp, n, { seed: 1, dirty: true }));
  await ensure(b, (tmp) => writeChanged(tmp, n));
  await ensure(c, (tmp) => writeCsv(tmp, s, { seed: 2, dirty: true }));

  const pgDir = path.join(dir, 'pg');
  fs.rmSync(pgDir, { recursive: true, force: true });
  fs.mkdirSync(pgDir, { recursive: true });
  fs.chmodSync(pgDir, 0o755);
  const dataDir = path.join(dir, 'data');
  fs.rmSync(dataDir, { recursive: true, force: true });
  const server = await startEmbedded({
    dataDir: pgDir,
    settings: { shared_buffers: '1GB', work_mem: '64MB', maintenance_work_mem: '256MB', ...(args.trace ? { log_min_duration_statement: '0' } : {}) },
  });
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
    const importInto = (baseId: number, file: string, what: string) => {
      log(`${what}: importing ${path.basename(file)} into base ${baseId}`);
      const r = child(url, baseId, file, dataDir);
      log(`${what}: ${JSON.stringify(r)}`);
      return r;
    };
    /** The clean rows a base holds, as COPY text with the base id replaced (for the baselines). */
    const dumpClean = async (baseId: number, file: string, asBase: number | string) => {
      const cl = await pool.connect();
      try {
        await pipeline(cl.query(copyTo(`COPY (SELECT ${asBase}, ${COPY_COLUMNS} FROM profiles WHERE base_id = ${baseId} ORDER BY id) TO STDOUT`)), fs.createWriteStream(file));
      } finally {
        cl.release();
      }
    };
    const copyIn = async (table: string, file: string) => {
      const cl = await pool.connect();
      const t0 = performance.now();
      try {
        await pipeline(fs.createReadStream(file), cl.query(copyFrom(`COPY ${table} (base_id, ${COPY_COLUMNS}) FROM STDIN`)));
      } finally {
        cl.release();
      }
      return (performance.now() - t0) / 1000;
    };
    const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').length - 1;
    const common = { bench: 'import', profiles: n } as const;

    // 1. The small file into the first base of an empty table: the reference for later bases.
    const baseF = await newBase('First');
    const rFirst = importInto(baseF, c, 'first_base');
    const cleanC = path.join(dir, 'clean-c.tsv');
    await dumpClean(baseF, cleanC, `'BASEID'`);
    await db.deleteFrom('bases').where('id', '=', baseF).execute();
    await pool.query('VACUUM ANALYZE profiles');

    // 2. The big file into an empty base, and the bare bulk load of the same rows.
    const base1 = await newBase('Import');
    const ra = importInto(base1, a, 'a_empty');
    // The accounting must match the base: every created profile is there, once.
    const stored = Number((await pool.query(`SELECT count(*) AS n FROM profiles WHERE base_id = $1`, [base1])).rows[0].n);
    if (stored !== ra.created) throw new Error(`a_empty reported ${ra.created} created, the base holds ${stored}`);
    await pool.query('VACUUM ANALYZE profiles');
    const cleanA = path.join(dir, 'clean-a.tsv');
    await dumpClean(base1, cleanA, base1);
    const bulk = await bareBulkLoad(pool, cleanA, copyIn);
    log(`bare bulk load of ${ra.created} rows: COPY ${bulk.copy.toFixed(1)} s + indexes ${bulk.indexes.toFixed(1)} s`);
    const bulkSeconds = (bulk.copy + bulk.indexes) * (ra.rows / Math.max(1, ra.created));
    emit({ ...common, case: 'a_empty', metric: 'seconds', value: ra.seconds, unit: 's', baseline: bulkSeconds, target: 75, better: 'lower' });
    emit({ ...common, case: 'a_empty', metric: 'ratio_to_bulk_load', value: ra.seconds / bulkSeconds, unit: 'x', target: 1.3, better: 'lower' });
    emit({ ...common, case: 'a_empty', metric: 'rows_per_s', value: ra.rows / ra.seconds, unit: 'rows/s', baseline: ra.rows / bulkSeconds, target: 13_000, better: 'higher' });
    emit({ ...common, case: 'a_empty', metric: 'peak_rss_mb', value: ra.maxRssMb, unit: 'MB', target: 500, better: 'lower' });

    // 3. The small file into a second and a third base while the first holds N.
    for (const [name, label] of [['second_base', 'Second'], ['third_base', 'Third']] as const) {
      const id = await newBase(label);
      const r = importInto(id, c, name);
      emit({ ...common, case: name, metric: 'seconds', value: r.seconds, unit: 's', baseline: rFirst.seconds, better: 'lower' });
      emit({ ...common, case: name, metric: 'ratio_to_first_base', value: r.seconds / rFirst.seconds, unit: 'x', target: 1.5, better: 'lower' });
    }

    // 4. The small file into the base that holds N, against a bare COPY of its clean rows into that base
    //    (the copied rows are deleted again before the import).
    // (The two files are generated with different seeds; the ~0.02% of their phones and cards that
    // collide are left out of the baseline's rows, which must all be new.)
    const cleanC1 = path.join(dir, 'clean-c-base1.tsv');
    fs.writeFileSync(cleanC1, fs.readFileSync(cleanC, 'utf8').replaceAll('BASEID', String(base1)));
    await pool.query(`DROP TABLE IF EXISTS bench_c`);
    await pool.query(`CREATE TABLE bench_c (LIKE profiles INCLUDING DEFAULTS INCLUDING GENERATED)`);
    await copyIn('bench_c', cleanC1);
    await pool.query(`DELETE FROM bench_c c WHERE EXISTS (SELECT 1 FROM profiles p WHERE p.base_id = $1 AND (p.phone = c.phone OR p.card_number = c.card_number))`, [base1]);
    {
      const cl = await pool.connect();
      await pipeline(cl.query(copyTo(`COPY (SELECT base_id, ${COPY_COLUMNS} FROM bench_c ORDER BY id) TO STDOUT`)), fs.createWriteStream(cleanC1));
      cl.release();
    }
    await pool.query(`DROP TABLE bench_c`);
    const maxId = Number((await pool.query(`SELECT max(id) AS m FROM profiles WHERE base_id = $1`, [base1])).rows[0].m);
    const copyFull = await copyIn('profiles', cleanC1);
    const copied = lines(cleanC1);
    log(`baseline: bare COPY of ${copied} clean rows into the full base: ${copyFull.toFixed(1)} s`);
    await pool.query(`DELETE FROM profiles WHERE base_id = $1 AND id > $2`, [base1, maxId]);
    await pool.query('VACUUM ANALYZE profiles');
    const rFull = importInto(base1, c, 'full_base');
    const copyRate = copied / copyFull;
    emit({ ...common, case: 'full_base', metric: 'rows_per_s', value: rFull.rows / rFull.seconds, unit: 'rows/s', baseline: copyRate, target: 6000, better: 'higher' });
    emit({ ...common, case: 'full_base', metric: 'ratio_to_copy', value: rFull.seconds / (rFull.rows / copyRate), unit: 'x', target: 1.5, better: 'lower' });

    // 5. The big file again, half of it changed (upsert).
    const rb = importInto(base1, b, 'b_upsert');
    emit({ ...common, case: 'b_upsert', metric: 'rows_per_s', value: rb.rows / rb.seconds, unit: 'rows/s', baseline: copyRate, better: 'higher' });
    emit({ ...common, case: 'b_upsert', metric: 'peak_rss_mb', value: rb.maxRssMb, unit: 'MB', target: 500, better: 'lower' });
    await db.destroy();
  } finally {
    await server.stop();
  }
  // --trace: where PostgreSQL spent the imports' time, by statement (from its log).
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

/**
 * The fastest load PostgreSQL allows: the clean rows COPYed into a table shaped like profiles
 * without any index, then every index of profiles built on it, two sessions at a time.
 */
async function bareBulkLoad(pool: pg.Pool, file: string, copyIn: (table: string, file: string) => Promise<number>) {
  await pool.query(`DROP TABLE IF EXISTS bench_bulk`);
  await pool.query(`CREATE TABLE bench_bulk (LIKE profiles INCLUDING ALL EXCLUDING INDEXES)`);
  const copy = await copyIn('bench_bulk', file);
  const defs = (await pool.query<{ def: string }>(
    `SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = 'profiles'::regclass`,
  )).rows.map((r, i) => r.def.replace(/^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+/, (_m, u) => `CREATE ${u ?? ''}INDEX bench_bulk_${i} ON bench_bulk`));
  const t0 = performance.now();
  const queue = [...defs];
  await Promise.all([0, 1].map(async () => {
    for (let d = queue.shift(); d; d = queue.shift()) await pool.query(d);
  }));
  const indexes = (performance.now() - t0) / 1000;
  await pool.query(`DROP TABLE bench_bulk`);
  return { copy, indexes };
}
