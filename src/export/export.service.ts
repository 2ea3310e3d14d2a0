// Export (seed 004): what a search finds, a selection or a segment, with the
// chosen columns, to CSV or XLSX. The profiles are read in id order, one keyset
// query per batch (the next batch is fetched while the current one is written),
// and streamed through the writers in csv.ts / xlsx.ts: memory stays constant.
// Every export is a row of the export log (who, when, what, rows, file hash);
// the API runs it as a job writing under <dataDir>/files/exports/, the CLI may
// run the same function in-process straight to its file.
//
// Downloads: the record's downloadUrl needs authentication (profiles.export);
// the creating response also carries a link with a random token (only its
// SHA-256 is stored) that downloads without authentication. Both work from the
// moment the job is done until expires_at (KARTOTEKA_EXPORT_TTL_HOURS after);
// then the file is deleted and both answer 410 Gone.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { poolOf, type Conn, type Db } from '../db/db.ts';
import type { FieldDef } from '../fields/fields.schema.ts';
import { listFields } from '../fields/fields.service.ts';
import { STANDARD_FIELDS, type StandardField } from '../fields/standard.ts';
import { compileQuery, type FilterNode, type Query } from '../find/filter.ts';
import { afterCursor, compileContext, countSql, orderBy, sortColumns, type SortColumn, type Viewer } from '../find/find.service.ts';
import { AppError, FieldErrors } from '../errors/errors.ts';
import type { Lang } from '../i18n/messages.ts';
import { jobRows, registerJobHandler, type JobRun } from '../jobs/jobs.service.ts';
import { csvWriter, type WriterResult } from '../formats/csv.write.ts';
import * as repo from './export.repo.ts';
import type { ExportRow } from './export.repo.ts';
import type { CsvDialect, ExportBodyInput, ExportFormat, ExportRecord, ExportSource, ExportStatus } from './export.schema.ts';
import { xlsxWriter, type XlsxColumn } from '../formats/xlsx.write.ts';

/** Profiles per keyset query: two batches are alive at once (one written, the next read); at 1M rows the XLSX export peaked at 277 MB with 10,000, 235–249 MB with 3,000, no slower. */
export const EXPORT_BATCH = 3_000;

// ---------------------------------------------------------------------------
// columns
// ---------------------------------------------------------------------------

type Value = string | number | boolean | null;

interface Column {
  key: string;
  header: string;
  kind: XlsxColumn['kind'];
  /** The SQL expression that reads it (aliased c<i>). */
  expr: RawBuilder<unknown>;
  /** From the value PostgreSQL returned to the cell. */
  cell?: (v: unknown) => Value;
  /** CSV only: the finished cell text, computed by PostgreSQL (see csvCellSql). */
  csv?: RawBuilder<unknown>;
}

const STANDARD = new Map(STANDARD_FIELDS.map((f) => [f.key, f]));

/** id, every standard field, tags, every custom field: the default columns. */
export function defaultColumns(defs: FieldDef[]): string[] {
  return ['id', ...STANDARD_FIELDS.map((f) => f.key), 'tags', ...defs.map((d) => `fields.${d.key}`)];
}

/** Unknown or repeated column keys, as errors naming columns[i]. */
function checkColumns(keys: string[], defs: FieldDef[], errs: FieldErrors): void {
  const custom = new Set(defs.map((d) => d.key));
  const seen = new Set<string>();
  keys.forEach((k, i) => {
    const known = k === 'id' || k === 'tags' || STANDARD.has(k) || (k.startsWith('fields.') && custom.has(k.slice(7)));
    if (!known) errs.add(`columns[${i}]`, 'export_column_unknown', { column: k });
    else if (seen.has(k)) errs.add(`columns[${i}]`, 'export_column_duplicate', { column: k });
    seen.add(k);
  });
}

const UTC = (col: string) => sql.raw(`(p.${col} AT TIME ZONE 'UTC')`);
/** How dates and times are spelled per output: Russian Excel reads DD.MM.YYYY; the XLSX writer turns ISO into date cells. */
function dateExpr(f: StandardField, out: OutputKind): RawBuilder<unknown> {
  if (f.type === 'date') return out === 'excel-ru' ? sql.raw(`to_char(p.${f.column}, 'DD.MM.YYYY')`) : sql.raw(`p.${f.column}::text`);
  // xlsx: 'YYYY-MM-DD HH:MM:SS[.ffffff]' as PostgreSQL prints a timestamp (DateStyle ISO, which node-pg needs anyway)
  if (out === 'xlsx') return sql`(${UTC(f.column)})::text`;
  const fmt = out === 'excel-ru' ? 'DD.MM.YYYY HH24:MI:SS' : 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"';
  return sql`to_char(${UTC(f.column)}, ${sql.lit(fmt)})`;
}

type OutputKind = 'excel-ru' | 'plain' | 'xlsx';

const ruDate = (s: string) => (/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s.slice(8, 10)}.${s.slice(5, 7)}.${s.slice(0, 4)}` : s);

function customCell(def: FieldDef | undefined, out: OutputKind): (v: unknown) => Value {
  return (v) => {
    if (v === null || v === undefined) return null;
    if (Array.isArray(v)) return v.join(', ');
    if (typeof v === 'number' || typeof v === 'boolean') return v;
    const s = String(v);
    return def?.type === 'date' && out === 'excel-ru' ? ruDate(s) : s;
  };
}

const CUSTOM_KIND: Record<FieldDef['type'], XlsxColumn['kind']> = {
  int: 'number',
  float: 'number',
  date: 'date',
  boolean: 'boolean',
  string: 'text',
  list: 'text',
  ip: 'text',
  tags: 'text',
};

function planColumns(keys: string[], defs: FieldDef[], tags: Map<number, string>, out: OutputKind, lang: Lang): Column[] {
  const cols = jsColumns(keys, defs, tags, out, lang);
  if (out === 'xlsx') return cols;
  const byKey = new Map(defs.map((d) => [d.key, d]));
  return cols.map((c) => ({ ...c, csv: csvCellSql(c, out, byKey.get(c.key.slice('fields.'.length))) }));
}

// ---------------------------------------------------------------------------
// CSV written by PostgreSQL's COPY
// ---------------------------------------------------------------------------
// Decoding 30 values a row into JavaScript and formatting them there costs more than twice the CSV
// target (18 s for 1M rows). So a CSV export is one COPY (…) TO STDOUT (FORMAT csv): PostgreSQL
// spells and quotes every cell, this process only streams the bytes (LF -> CRLF for excel-ru) and
// hashes them. COPY quotes exactly as csvWriter does (a cell holding the separator, '"', CR or LF);
// the query below neutralizes formula-like text and spells dates and numbers as csvWriter would
// for the values the JavaScript path reads (exports.test.ts checks both give the same bytes).

const FORMULA_START = '61, 43, 45, 64, 9, 13'; // = + - @ TAB CR, as startsLikeFormula

/** A text cell for COPY: a formula-like start gets an apostrophe (neutralize); '' becomes NULL (COPY would write ""). */
function guardSql(x: RawBuilder<unknown>): RawBuilder<unknown> {
  // cheapest tests first: most cells are empty or start with a letter (code 65 and up)
  return sql`(CASE WHEN ${x} IS NULL THEN NULL WHEN ascii(${x}) >= 65 THEN ${x} WHEN ascii(${x}) IN (${sql.raw(FORMULA_START)}) THEN '''' || ${x} WHEN ${x} = '' THEN NULL ELSE ${x} END)`;
}

/** 'YYYY-MM-DD' (a text) as DD.MM.YYYY. */
const ruDateSql = (t: RawBuilder<unknown>) => sql`substr(${t}, 9, 2) || '.' || substr(${t}, 6, 2) || '.' || substr(${t}, 1, 4)`;

function csvCellSql(c: Column, dialect: CsvDialect, def: FieldDef | undefined): RawBuilder<unknown> {
  if (c.key === 'id') return sql.raw('p.id');
  if (c.key === 'tags') return guardSql(sql.raw('tg.names'));
  const f = STANDARD.get(c.key);
  // dates and times: one to_char a cell (rearranging ::text needs the value printed three times over)
  if (f?.type === 'date' || f?.type === 'datetime') return c.expr;
  if (f) return guardSql(c.expr);
  // custom: by the JSON type of the stored value, as customCell + csvWriter
  const j = c.expr;
  const s = sql`(${j} #>> '{}')`;
  const num = dialect === 'excel-ru' ? sql`replace(${j}::text, '.', ',')` : sql`${j}::text`;
  const str =
    def?.type === 'date' && dialect === 'excel-ru'
      ? sql`CASE WHEN ${s} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN ${ruDateSql(s)} ELSE ${guardSql(s)} END`
      : guardSql(s);
  const arr = guardSql(sql`array_to_string(ARRAY(SELECT jsonb_array_elements_text(${j})), ', ')`);
  return sql`(CASE jsonb_typeof(${j}) WHEN 'number' THEN ${num} WHEN 'boolean' THEN ${j}::text WHEN 'string' THEN ${str} WHEN 'array' THEN ${arr} END)`;
}

/** Tag names as a PostgreSQL array indexed by tag id ('[lo:hi]={…}'), for the tags column; null when too sparse. */
function tagNamesArray(tags: Map<number, string>): string | null {
  if (tags.size === 0) return '{}';
  const ids = [...tags.keys()];
  const lo = Math.min(...ids);
  const hi = Math.max(...ids);
  if (hi - lo > 100_000) return null;
  const q = (v: string | undefined) => (v === undefined ? 'NULL' : `"${v.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`);
  const items: string[] = [];
  for (let id = lo; id <= hi; id++) items.push(q(tags.get(id)));
  return `[${lo}:${hi}]={${items.join(',')}}`;
}

function jsColumns(keys: string[], defs: FieldDef[], tags: Map<number, string>, out: OutputKind, lang: Lang): Column[] {
  const byKey = new Map(defs.map((d) => [d.key, d]));
  return keys.map((key): Column => {
    if (key === 'id') return { key, header: 'ID', kind: 'number', expr: sql.raw('p.id') };
    if (key === 'tags') {
      return {
        key,
        header: lang === 'en' ? 'Tags' : 'Теги',
        kind: 'text',
        expr: sql.raw(`array_to_string(p.tags, ',')`),
        cell: (v) => (v ? (v as string).split(',').flatMap((id) => tags.get(Number(id)) ?? []).join(', ') || null : null),
      };
    }
    const f = STANDARD.get(key);
    if (f) {
      const kind: XlsxColumn['kind'] = f.type === 'date' ? 'date' : f.type === 'datetime' ? 'datetime' : 'text';
      return { key, header: f.label[lang] || f.label.ru, kind, expr: kind === 'text' ? sql.raw(`p.${f.column}`) : dateExpr(f, out) };
    }
    // fields.<key>: a field deleted since the export was asked for stays an empty column
    const k = key.slice('fields.'.length);
    const def = byKey.get(k);
    return {
      key,
      header: (def && (def.label[lang] || def.label.ru)) || k,
      kind: def ? CUSTOM_KIND[def.type] : 'text',
      expr: sql`(p.fields -> ${k}::text)`,
      cell: customCell(def, out),
    };
  });
}

// ---------------------------------------------------------------------------
// what to export
// ---------------------------------------------------------------------------

export interface ExportPlan {
  baseId: number;
  where: RawBuilder<SqlBool>;
  columns: Column[];
  format: ExportFormat;
  dialect: CsvDialect | null;
  /** The tags column's names by id, as an array literal for the CSV records made in SQL. */
  tagNames: string | null;
  /** CSV written by PostgreSQL's COPY ('copy', the default) or cell by cell here ('js': the reference, for tests). */
  csvIn?: 'copy' | 'js';
  /** The rows' order when one was asked for (the table's); null: by id, which lets a big CSV be two COPYs over id halves. */
  order: SortColumn[] | null;
}

export interface Resolved {
  source: ExportSource;
  columns: string[];
  format: ExportFormat;
  dialect: CsvDialect | null;
  plan: ExportPlan;
}

/**
 * Validates a request against the base (every problem at once, named by path) and compiles its
 * source exactly as search compiles it: a query, the selected ids, or a segment's members.
 */
export async function resolveExport(db: Conn, baseId: number, body: ExportBodyInput, viewer: Viewer | undefined, lang: Lang): Promise<Resolved> {
  const ctx = await compileContext(db, baseId, viewer); // 404 for a base that is not there
  const defs = await listFields(db, baseId);
  const errs = new FieldErrors();
  const given = (['query', 'ids', 'segmentId'] as const).filter((k) => body[k] !== undefined);
  if (given.length !== 1) errs.add(given[1] ?? 'query', 'export_source_one');
  if (body.dialect !== undefined && body.format !== 'csv') errs.add('dialect', 'export_dialect_csv_only');
  const columns = body.columns ?? defaultColumns(defs);
  checkColumns(columns, defs, errs);

  let source: ExportSource = { query: {} };
  let where: RawBuilder<SqlBool> = sql<SqlBool>`false`;
  if (given.length === 1) {
    if (body.ids !== undefined) {
      const ids = [...new Set(body.ids)];
      source = { ids };
      where = sql<SqlBool>`p.id = ANY(${ids}::bigint[])`;
    } else {
      const local = new FieldErrors();
      const query: Query =
        body.segmentId !== undefined ? { filter: { field: 'segment', op: 'inSegment', value: body.segmentId } } : (body.query as Query);
      where = (await compileQuery(query, ctx, { errs: local })).sql;
      for (const e of local.list) errs.add(body.segmentId !== undefined ? 'segmentId' : `query.${e.field}`, e.key, e.params);
      source = body.segmentId !== undefined ? { segmentId: body.segmentId } : { query: body.query as { filter?: FilterNode } };
    }
  }
  const sorted = body.sort?.length && !(body.sort.length === 1 && body.sort[0]!.field === 'id' && body.sort[0]!.dir === 'asc');
  const order = sorted ? sortColumns(body.sort, ctx.fields, errs) : null;
  if (sorted) source = { ...source, sort: body.sort };
  errs.throwIfAny();
  const dialect = body.format === 'csv' ? (body.dialect ?? 'excel-ru') : null;
  const tags = columns.includes('tags') ? await repo.tagNames(db, baseId) : new Map<number, string>();
  const plan: ExportPlan = {
    baseId,
    where,
    columns: planColumns(columns, defs, tags, dialect ?? 'xlsx', lang),
    format: body.format,
    dialect,
    tagNames: columns.includes('tags') ? tagNamesArray(tags) : '{}',
    order,
  };
  return { source, columns, format: body.format, dialect, plan };
}

/** The request a log row describes, to compile again when its job runs. */
function bodyOf(row: ExportRow): ExportBodyInput {
  const s = row.query as ExportSource;
  return {
    format: row.format as ExportFormat,
    ...(row.dialect ? { dialect: row.dialect as CsvDialect } : {}),
    columns: row.columns,
    ...('ids' in s ? { ids: s.ids } : 'segmentId' in s ? { segmentId: s.segmentId } : { query: s.query }),
    ...(s.sort ? { sort: s.sort } : {}),
  };
}

// ---------------------------------------------------------------------------
// writing: the one function the job, the CLI and the benchmark use
// ---------------------------------------------------------------------------

type Row = Record<string, unknown>;

/** Where a batch starts: after an id (id order), or after the sort keys' values of the last row (the table's order). */
type After = number | (string | null)[] | null;

// name: export-batch
// The next profiles after the cursor, in id order (or the asked order: keyset over its keys), only
// the columns asked for; the first value of a row is where the next batch starts.
function batchSql(plan: ExportPlan, after: After, limit: number) {
  const cols = plan.columns.map((c, i) => sql`${c.expr} AS ${sql.ref(`c${i}`)}`);
  if (plan.order) {
    const keys = sql.join(plan.order.map((c) => sql`(${c.expr})::text`));
    return sql<Row>`
    SELECT ARRAY[${keys}] AS kt_next, ${sql.join(cols)} FROM profiles p
    WHERE p.base_id = ${plan.baseId} AND ${plan.where} AND ${Array.isArray(after) ? afterCursor(plan.order, after) : sql<SqlBool>`true`}
    ORDER BY ${orderBy(plan.order)}
    LIMIT ${limit}`;
  }
  return sql<Row>`
    SELECT p.id AS kt_next, ${sql.join(cols)} FROM profiles p
    WHERE p.base_id = ${plan.baseId} AND ${plan.where} AND p.id > ${typeof after === 'number' ? after : 0}
    ORDER BY p.id
    LIMIT ${limit}`;
}

// name: export-csv-copy
// Every matching profile in id order as finished CSV cells (one statement: one snapshot);
// tag names looked up by id in an array literal (or joined when the ids are too sparse).
function copySql(plan: ExportPlan, range: RawBuilder<SqlBool> = sql<SqlBool>`true`) {
  const tags = !plan.columns.some((c) => c.key === 'tags')
    ? sql``
    : plan.tagNames !== null
      ? sql`, LATERAL (SELECT CASE WHEN cardinality(p.tags) > 0 THEN array_to_string(ARRAY(SELECT (${plan.tagNames}::text[])[t] FROM unnest(p.tags) AS u(t)), ', ') END AS names) tg`
      : sql`, LATERAL (SELECT string_agg(t.name, ', ' ORDER BY u.n) AS names FROM unnest(p.tags) WITH ORDINALITY AS u(id, n) JOIN tags t ON t.base_id = p.base_id AND t.id = u.id) tg`;
  const sep = plan.dialect === 'plain' ? ',' : ';';
  return sql`COPY (
    SELECT ${sql.join(plan.columns.map((c) => c.csv!))} FROM profiles p ${tags}
    WHERE p.base_id = ${plan.baseId} AND ${plan.where} AND ${range}
    ORDER BY ${plan.order ? orderBy(plan.order) : sql`p.id`}) TO STDOUT (FORMAT csv, DELIMITER ${sql.lit(sep)})`;
}

/** A PostgreSQL array literal of a parameter value, as node-pg would send it. */
const pgArray = (a: unknown[]): string =>
  '{' + a.map((x) => (x === null || x === undefined ? 'NULL' : Array.isArray(x) ? pgArray(x) : `"${String(x).replace(/[\\"]/g, '\\$&')}"`)).join(',') + '}';

/**
 * COPY takes no parameters: each becomes a quoted literal of the text node-pg would send. node-pg
 * sends parameters untyped, so an untyped literal means exactly the same to PostgreSQL.
 */
function inlineParams(text: string, params: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const v = params[Number(n) - 1];
    if (v === null || v === undefined) return 'NULL';
    if (Array.isArray(v)) return pg.escapeLiteral(pgArray(v));
    if (v instanceof Date) return pg.escapeLiteral(v.toISOString());
    return pg.escapeLiteral(typeof v === 'object' ? JSON.stringify(v) : String(v));
  });
}

const copied = (plan: ExportPlan) => plan.format === 'csv' && plan.csvIn !== 'js';

/** How often (rows) a COPY export reports progress and lets the job stop it. */
const CHECKPOINT_ROWS = 50_000;

/** The number of profiles the plan matches now (for progress). */
export async function countExport(db: Conn, plan: ExportPlan): Promise<number> {
  return Number((await countSql(plan.baseId, plan.where).execute(db)).rows[0]!.n);
}

/**
 * Streams every profile the plan matches to `out` (ended when done) and returns rows, bytes and the
 * SHA-256 of the bytes, in constant memory. CSV: one COPY, streamed. XLSX: one keyset query per batch
 * of `batchSize`, the next batch read while this one is written. `checkpoint` is called with the rows
 * done after each batch (XLSX) or every 50,000 rows (CSV); the job saves progress there, and a throw
 * (the job was cancelled) stops the export.
 */
export async function writeExport(
  plan: ExportPlan,
  out: NodeJS.WritableStream,
  db: Db,
  opts: { batchSize?: number; checkpoint?: (done: number) => Promise<void> | void; splitAbove?: number } = {},
): Promise<WriterResult> {
  const cols = plan.columns;
  try {
    if (plan.format === 'csv') {
      const writer = csvWriter(out, cols.map((c) => c.header), { dialect: plan.dialect ?? 'excel-ru' });
      if (copied(plan)) await copyRows(plan, writer, db, opts.checkpoint, opts.splitAbove);
      else await batchRows(plan, writer.write, db, opts);
      return await writer.end();
    }
    const writer = xlsxWriter(out, cols.map((c) => ({ header: c.header, kind: c.kind })));
    await batchRows(plan, writer.write, db, opts);
    return await writer.end();
  } catch (e) {
    out.end();
    throw e;
  }
}

/** Below this many ids a base is exported by one COPY; above, by two halves on two connections. */
const SPLIT_ABOVE = 50_000;

/**
 * The CSV cells come from PostgreSQL's COPY, which spends a core on formatting: a large export
 * runs as two COPYs over the two halves of the id range, on two connections sharing one snapshot
 * (so the file is one consistent picture); the second half is spooled to a temporary file and
 * appended when the first is written.
 */
async function copyRows(
  plan: ExportPlan,
  writer: { writeCopy(chunk: Buffer): Promise<number> },
  db: Db,
  checkpoint?: (done: number) => Promise<void> | void,
  splitAbove = SPLIT_ABOVE,
) {
  const pool = poolOf(db);
  const a = await pool.connect();
  let b: pg.PoolClient | undefined;
  let clean = false;
  let spool: string | undefined;
  let done = 0;
  let reported = 0;
  const feed = async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      done += await writer.writeCopy(chunk);
      if (checkpoint && done - reported >= CHECKPOINT_ROWS) {
        reported = done;
        await checkpoint(done);
      }
    }
  };
  const copyOf = (client: pg.PoolClient, range?: RawBuilder<SqlBool>) => {
    const q = copySql(plan, range).compile(db);
    return client.query(copyTo(inlineParams(q.sql, q.parameters))) as unknown as AsyncIterable<Buffer> & NodeJS.ReadableStream;
  };
  try {
    await a.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await a.query<{ lo: string | null; hi: string | null }>('SELECT min(id) AS lo, max(id) AS hi FROM profiles WHERE base_id = $1', [plan.baseId]);
    const lo = Number(rows[0]!.lo ?? 0);
    const hi = Number(rows[0]!.hi ?? 0);
    // Halves by id would break an asked order: a sorted export is one COPY.
    if (hi - lo < splitAbove || plan.order) {
      await feed(copyOf(a));
    } else {
      const mid = Math.floor((lo + hi) / 2);
      const snapshot = (await a.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
      b = await pool.connect();
      await b.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await b.query(`SET TRANSACTION SNAPSHOT ${pg.escapeLiteral(snapshot)}`);
      spool = path.join(os.tmpdir(), `kt-export-${process.pid}-${randomBytes(6).toString('hex')}.part`);
      const second = pipeline(copyOf(b, sql<SqlBool>`p.id > ${mid}`), fs.createWriteStream(spool));
      second.catch(() => undefined); // awaited below; a failure of the first half must not leave it unhandled
      await feed(copyOf(a, sql<SqlBool>`p.id <= ${mid}`));
      await second;
      await feed(fs.createReadStream(spool, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>);
      await b.query('COMMIT');
    }
    await a.query('COMMIT');
    await checkpoint?.(done);
    clean = true;
  } finally {
    a.release(!clean); // a COPY stopped half way: drop the connection (PostgreSQL stops sending)
    b?.release(!clean);
    if (spool) fs.rmSync(spool, { force: true });
  }
}

async function batchRows(
  plan: ExportPlan,
  write: (cells: Value[]) => Promise<void>,
  db: Db,
  opts: { batchSize?: number; checkpoint?: (done: number) => Promise<void> | void },
) {
  const batchSize = opts.batchSize ?? EXPORT_BATCH;
  const width = plan.columns.length;
  const converters = plan.columns.map((c) => c.cell);
  // Rows as arrays ([id, c0, c1, …]), not objects with 33 named keys: a third less decoding per row.
  const pool = poolOf(db);
  const fetch = (after: After) => {
    const q = batchSql(plan, after, batchSize).compile(db);
    return pool.query<unknown[]>({ text: q.sql, values: q.parameters as unknown[], rowMode: 'array' }).then((r) => r.rows);
  };
  let next: Promise<unknown[][]> | null = fetch(null);
  let done = 0;
  try {
    while (next) {
      const rows: unknown[][] = await next;
      const last = rows[rows.length - 1]?.[0];
      next = rows.length === batchSize ? fetch(Array.isArray(last) ? (last as (string | null)[]) : Number(last)) : null;
      for (const r of rows) {
        const cells: Value[] = new Array(width);
        for (let i = 0; i < width; i++) {
          const v = r[i + 1];
          const conv = converters[i];
          cells[i] = conv ? conv(v) : (v as Value);
        }
        await write(cells);
      }
      done += rows.length;
      await opts.checkpoint?.(done);
    }
  } catch (e) {
    next?.catch(() => undefined); // the read in flight is abandoned with the export
    throw e;
  }
}

// ---------------------------------------------------------------------------
// starting an export (API)
// ---------------------------------------------------------------------------

export interface ExportJobParams {
  exportId: number;
  viewer: Viewer | null;
  lang: Lang;
  ttlHours: number;
}

const EXT: Record<ExportFormat, string> = { csv: 'csv', xlsx: 'xlsx' };
const CONTENT_TYPE: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** «<base name> YYYY-MM-DD.xlsx»: what the download offers to save as. */
export function exportFileName(baseName: string, format: ExportFormat, now = new Date()): string {
  const name = baseName.replace(/[\\/:*?"<>|\u0000-\u001f\u007f]+/g, '_').trim().slice(0, 100) || 'export';
  return `${name} ${now.toISOString().slice(0, 10)}.${EXT[format]}`;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const newToken = () => randomBytes(24).toString('base64url');
const linkOf = (id: number, token: string) => `/api/v1/exports/${id}/file?token=${token}`;

async function baseName(db: Conn, baseId: number): Promise<string> {
  return (await db.selectFrom('bases').select('name').where('id', '=', baseId).executeTakeFirstOrThrow()).name;
}

/** Validates, records the export and queues its job; the response carries a link shown only now. */
export async function startExport(
  db: Db,
  baseId: number,
  body: ExportBodyInput,
  who: { actor: string; viewer: Viewer },
  opts: { lang: Lang; ttlHours: number; dataDir: string },
): Promise<ExportRecord & { link: string }> {
  const r = await resolveExport(db, baseId, body, who.viewer, opts.lang);
  await expireFiles(db, opts.dataDir);
  const token = newToken();
  const name = exportFileName(await baseName(db, baseId), r.format);
  const row = await db.transaction().execute(async (trx) => {
    const job = await jobRows.insertJob(trx, { baseId, kind: 'export', params: {}, actor: who.actor });
    const e = await repo.insertExport(trx, {
      baseId,
      jobId: job.id,
      actor: who.actor,
      source: r.source,
      columns: r.columns,
      format: r.format,
      dialect: r.dialect,
      fileName: name,
      tokenHash: sha256(token),
    });
    const params: ExportJobParams = { exportId: e.id, viewer: who.viewer, lang: opts.lang, ttlHours: opts.ttlHours };
    await trx.updateTable('jobs').set({ params: JSON.stringify(params) }).where('id', '=', job.id).execute();
    return e;
  });
  return { ...toRecord(row), link: linkOf(row.id, token) };
}

/** A new unauthenticated link to a finished export (the previous link stops working). */
export async function newLink(db: Db, baseId: number, exportId: number, dataDir: string): Promise<{ link: string; expiresAt: string }> {
  const row = await readyExport(db, baseId, exportId, dataDir);
  const token = newToken();
  await repo.setTokenHash(db, row.id, sha256(token));
  return { link: linkOf(row.id, token), expiresAt: row.expires_at!.toISOString() };
}

/**
 * The CLI without a server: the same validation and writer, run here straight to `outFile`, and
 * the same log row (actor 'cli', no job, no file kept on the server, nothing to download).
 */
export async function exportToFile(
  db: Db,
  baseId: number,
  body: ExportBodyInput,
  opts: { outFile: string; lang: Lang; actor?: string; onProgress?: (done: number, total: number) => void },
): Promise<ExportRecord> {
  const r = await resolveExport(db, baseId, body, { userId: null, all: true }, opts.lang);
  const total = opts.onProgress ? await countExport(db, r.plan) : 0;
  const e = await repo.insertExport(db, {
    baseId,
    jobId: null,
    actor: opts.actor ?? 'cli',
    source: r.source,
    columns: r.columns,
    format: r.format,
    dialect: r.dialect,
    fileName: path.basename(opts.outFile),
    status: 'running',
  });
  try {
    const w = await writeExport(r.plan, fs.createWriteStream(opts.outFile), db, { checkpoint: (n) => opts.onProgress?.(n, Math.max(n, total)) });
    await repo.finishExport(db, e.id, { rows: w.rows, size: w.bytes, sha256: w.sha256, filePath: null, ttlHours: null });
  } catch (err) {
    await repo.setStatus(db, e.id, 'failed');
    fs.rmSync(opts.outFile, { force: true });
    throw err;
  }
  return toRecord((await repo.getExport(db, e.id))!);
}

// ---------------------------------------------------------------------------
// the log
// ---------------------------------------------------------------------------

/** done once the file is written; before that, the job says (queued, running, failed, cancelled). */
function statusOf(r: ExportRow): ExportStatus {
  if (r.status === 'done' || r.job_status === null) return r.status as ExportStatus;
  return (r.job_status === 'done' ? 'running' : r.job_status) as ExportStatus;
}

const isExpired = (r: ExportRow, now = Date.now()) => r.expires_at !== null && r.expires_at.getTime() <= now;

export function toRecord(r: ExportRow): ExportRecord {
  const expired = isExpired(r);
  return {
    id: r.id,
    baseId: r.base_id,
    jobId: r.job_id,
    actor: r.actor,
    source: r.query,
    columns: r.columns,
    format: r.format as ExportFormat,
    dialect: (r.dialect as CsvDialect | null) ?? null,
    status: statusOf(r),
    rows: r.rows,
    fileName: r.file_name,
    size: r.file_size,
    sha256: r.file_sha256,
    createdAt: r.created_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
    expiresAt: r.expires_at?.toISOString() ?? null,
    expired,
    downloadUrl: r.status === 'done' && r.file_path !== null && !expired ? `/api/v1/bases/${r.base_id}/exports/${r.id}/file` : null,
  };
}

const exportNotFound = (id: number) => new AppError('not_found', { detail: 'not_found.export', params: { id } });

async function baseExport(db: Conn, baseId: number, exportId: number): Promise<ExportRow> {
  const row = await repo.getExport(db, exportId);
  if (!row || row.base_id !== baseId) throw exportNotFound(exportId);
  return row;
}

export async function listExports(db: Db, baseId: number, limit: number, dataDir: string): Promise<ExportRecord[]> {
  await compileContext(db, baseId); // 404 for a base that is not there
  await expireFiles(db, dataDir);
  return (await repo.listExports(db, baseId, limit)).map(toRecord);
}

export async function getExport(db: Db, baseId: number, exportId: number, dataDir: string): Promise<ExportRecord> {
  await expireFiles(db, dataDir, exportId);
  return toRecord(await baseExport(db, baseId, exportId));
}

// ---------------------------------------------------------------------------
// files and downloads
// ---------------------------------------------------------------------------

/** Deletes the files of expired exports (all of them, or one): they answer 410 from now on. */
export async function expireFiles(db: Db, dataDir: string, only?: number): Promise<void> {
  for (const rel of await repo.takeExpired(db, only)) fs.rmSync(path.resolve(dataDir, rel), { force: true });
}

/** A finished export whose file may still be downloaded: 409 while it is being written, 410 once expired. */
async function readyExport(db: Db, baseId: number | null, exportId: number, dataDir: string): Promise<ExportRow> {
  const row = await repo.getExport(db, exportId);
  if (!row || (baseId !== null && row.base_id !== baseId)) throw exportNotFound(exportId);
  return checkReady(db, row, dataDir);
}

async function checkReady(db: Db, row: ExportRow, dataDir: string): Promise<ExportRow> {
  if (isExpired(row)) {
    await expireFiles(db, dataDir, row.id);
    throw new AppError('gone', { detail: 'gone.export', params: { id: row.id, expiresAt: row.expires_at!.toISOString() } });
  }
  if (statusOf(row) !== 'done') throw new AppError('conflict', { detail: 'conflict.export_not_ready', params: { id: row.id, status: row.status } });
  if (row.file_path === null) throw new AppError('gone', { detail: 'gone.export_no_file', params: { id: row.id } });
  return row;
}

export interface Download {
  stream: fs.ReadStream;
  size: number;
  contentType: string;
  disposition: string;
}

/** Content-Disposition with an ASCII fallback and the real (Cyrillic) name per RFC 5987 / 6266. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

function open(row: ExportRow, dataDir: string): Download {
  const file = path.resolve(dataDir, row.file_path!);
  const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
  if (size === undefined) throw new AppError('gone', { detail: 'gone.export_no_file', params: { id: row.id } });
  return { stream: fs.createReadStream(file), size, contentType: CONTENT_TYPE[row.format as ExportFormat], disposition: contentDisposition(row.file_name) };
}

/** The authenticated download. */
export async function downloadExport(db: Db, baseId: number, exportId: number, dataDir: string): Promise<Download> {
  return open(await readyExport(db, baseId, exportId, dataDir), dataDir);
}

/** The link download: the token must be this export's current one (compared by hash, in constant time). */
export async function downloadByLink(db: Db, exportId: number, token: string, dataDir: string): Promise<Download> {
  const row = await repo.getExport(db, exportId);
  const want = row?.download_token_hash;
  const got = Buffer.from(sha256(token), 'hex');
  if (!row || !want || want.length !== 64 || !timingSafeEqual(Buffer.from(want, 'hex'), got)) throw exportNotFound(exportId);
  return open(await checkReady(db, row, dataDir), dataDir);
}

// ---------------------------------------------------------------------------
// the job
// ---------------------------------------------------------------------------

function jobParams(raw: unknown): ExportJobParams {
  const p = raw as Partial<ExportJobParams> | null;
  if (!p || !Number.isSafeInteger(p.exportId) || typeof p.ttlHours !== 'number') throw new Error('export job: malformed params');
  return { exportId: p.exportId!, viewer: p.viewer ?? null, lang: p.lang === 'en' ? 'en' : 'ru', ttlHours: p.ttlHours };
}

/**
 * Writes the export's file from scratch (a run after a crash starts over: a file is not resumable)
 * into a .part file renamed when complete; the log row becomes done, with rows, size, hash and
 * expiry, in the same transaction as the job's last progress. A failed or cancelled run leaves
 * no file; its log row then shows the job's status.
 */
export async function exportJob(run: JobRun): Promise<{ exportId: number; rows: number; size: number; sha256: string }> {
  const p = jobParams(run.params);
  let row: ExportRow | undefined;
  let plan: ExportPlan | undefined;
  let total = 0;
  // the first unit: read the log row, compile its request again, count (the progress total)
  await run.batch(async (trx) => {
    row = await repo.getExport(trx, p.exportId);
    if (!row) throw new Error(`export job: export ${p.exportId} is not there`);
    plan = (await resolveExport(trx, row.base_id, bodyOf(row), p.viewer ?? undefined, p.lang)).plan;
    total = await countExport(trx, plan);
    await repo.setStatus(trx, p.exportId, 'running');
    return { done: 0, total };
  });
  const e = row!;
  const rel = path.join('files', 'exports', `${e.id}.${EXT[e.format as ExportFormat]}`);
  const file = path.resolve(run.dataDir, rel);
  const part = `${file}.part`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // progress after every batch (or 50,000 CSV rows), in a unit of its own: a cancelled job stops there
  const checkpoint = async (done: number) => {
    await run.batch(async () => ({ done, total: Math.max(total, done) }));
  };
  try {
    const r = await writeExport(plan!, fs.createWriteStream(part), run.db, { checkpoint });
    fs.renameSync(part, file);
    await run.batch(async (trx) => {
      await repo.finishExport(trx, e.id, { rows: r.rows, size: r.bytes, sha256: r.sha256, filePath: rel, ttlHours: p.ttlHours });
      return { done: r.rows, total: r.rows };
    });
    return { exportId: e.id, rows: r.rows, size: r.bytes, sha256: r.sha256 };
  } catch (err) {
    // failed, cancelled or stopping (a later run starts over): no file stays behind
    fs.rmSync(part, { force: true });
    fs.rmSync(file, { force: true });
    throw err;
  }
}

registerJobHandler('export', exportJob);
