// Import (issue 4): upload a CSV or XLSX file (streamed to the data folder, hashed on
// the way), preview its first rows under a mapping, then start a durable job that reads
// the file in batches and applies each batch set-based (import.repo.ts) in one
// transaction with its progress. A killed job resumes after the last committed line;
// the accounting created + updated + unchanged + failed = rows read holds at every commit.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import { getBase } from '../bases/bases.repo.ts';
import type { Conn, Db, Trx } from '../db/db.ts';
import { addListOptions, listFields } from '../fields/fields.repo.ts';
import type { FieldDef } from '../fields/fields.schema.ts';
import { STANDARD_FIELDS } from '../fields/standard.ts';
import { loadConfig } from '../config.ts';
import { AppError, FieldErrors, invalid, notFound, pgCode, type FieldError } from '../http/errors.ts';
import { t, type Lang } from '../i18n/messages.ts';
import * as jobsRepo from '../jobs/jobs.repo.ts';
import { JobStopped, registerJobHandler, type JobRun, type Progress } from '../jobs/jobs.service.ts';
import { getSegment } from '../segments/segments.repo.ts';
import { csvWriter } from '../export/csv.ts';
import { xlsxWriter } from '../export/xlsx.ts';
import { CsvError, readHead, type CsvRow, type Delimiter, type Encoding } from './csv.ts';
import * as repo from './import.repo.ts';
import type { RowFailure } from './import.repo.ts';
import { WRITE_COLUMNS, writeProfiles, type Mode, type Policy, type WriteFailure, type WritePlan, type WriteRow } from '../profiles/profiles.write.ts';
import { applyMapping, checkMapping, guessMapping, remapTemplate, templateMatches, type Mapping } from './mapping.ts';
import { readXlsxBatches, xlsxSheets, XlsxError } from './xlsx.ts';

export const PREVIEW_ROWS = 20;

export interface ImportLimits {
  /** Largest upload in bytes. */
  maxBytes: number;
  /** File rows per batch (one transaction each). */
  batchSize: number;
}

export interface ImportSettings {
  mapping: Mapping;
  mode: Mode;
  /** Per target ('phone', 'fields.score', …): overwrite (default), fill only if empty, or skip on existing profiles. */
  policy: Record<string, Policy>;
  /** Rows of the file with the same phone, card or subscriber email: combined into one profile, or reported as failed. */
  duplicates: 'merge' | 'report';
  tagIds: number[];
  segmentId: number | null;
  dryRun: boolean;
  /** The language of the reasons in the error file. */
  lang: Lang;
}

type ImportRow = NonNullable<Awaited<ReturnType<typeof repo.getImport>>>;

const COLUMN_OF: ReadonlyMap<string, string> = new Map(STANDARD_FIELDS.filter((f) => WRITE_COLUMNS.includes(f.column)).map((f) => [f.key, f.column]));

// ---------------------------------------------------------------------------
// files
// ---------------------------------------------------------------------------

const importsDir = (dataDir: string) => path.join(dataDir, 'files', 'imports');
const filePath = (dataDir: string, imp: Pick<ImportRow, 'file_path'>) => path.join(dataDir, imp.file_path);

/** What the reader needs to read the file again exactly as at upload. */
interface Source {
  encoding?: Encoding;
  delimiter?: Delimiter;
  sheet?: string;
  sheets?: string[];
}

export interface OpenedFile {
  headers: string[];
  /** Data rows (the header excluded), in arrays. */
  batches: AsyncGenerator<CsvRow[], void, void>;
  /** Bytes of the file read so far (for an estimate of the rows to come). */
  bytesRead(): number;
  /** What sniffing found in a CSV (the encoding is final once the rows were read). */
  sniffed?: () => { encoding: Encoding; delimiter: Delimiter };
  close(): Promise<void>;
}

function fileError(e: unknown): AppError | undefined {
  if (e instanceof CsvError) {
    if (e.reason === 'empty_file') return new AppError('bad_request', { detail: 'import_file_empty' });
    if (e.reason === 'not_text') return new AppError('bad_request', { detail: 'import_file_not_text' });
    if (e.reason === 'unsupported_encoding') return new AppError('bad_request', { detail: 'import_file_encoding' });
    return new AppError('bad_request', { detail: 'import_file_broken', params: { line: e.line, reason: e.message } });
  }
  if (e instanceof XlsxError) {
    if (e.reason === 'not_xlsx') return new AppError('bad_request', { detail: 'import_file_not_text' });
    if (e.reason === 'empty_sheet') return new AppError('bad_request', { detail: 'import_file_empty' });
    return new AppError('bad_request', { detail: 'import_file_broken', params: { line: 0, reason: e.message } });
  }
  return undefined;
}

/** Opens an uploaded file at its data rows, in the format found at upload. */
export async function openFile(file: string, format: string, source: Source): Promise<OpenedFile> {
  try {
    if (format === 'xlsx') {
      const size = fs.statSync(file).size;
      const gen = readXlsxBatches(file, source.sheet !== undefined ? { sheet: source.sheet } : {});
      let headers: string[] | undefined;
      let first: CsvRow[] = [];
      while (headers === undefined) {
        const r = await gen.next();
        if (r.done) throw new XlsxError('empty_sheet', 'the sheet has no rows');
        if (r.value.length) {
          headers = r.value[0]!.cells;
          first = r.value.slice(1);
        }
      }
      let rows = 0;
      async function* batches(): AsyncGenerator<CsvRow[], void, void> {
        try {
          if (first.length) yield first;
          for (;;) {
            const r = await gen.next();
            if (r.done) return;
            rows += r.value.length;
            yield r.value;
          }
        } catch (e) {
          throw fileError(e) ?? e;
        }
      }
      // XLSX gives no byte position: rows read stand in, so the estimate grows as it goes.
      return { headers, batches: batches(), bytesRead: () => (rows ? size : 0), close: async () => void (await gen.return()) };
    }
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    const input = fs.createReadStream(file).pipe(counter);
    const csv = await readHead(input, { ...(source.encoding ? { encoding: source.encoding } : {}), ...(source.delimiter ? { delimiter: source.delimiter } : {}) });
    async function* batches(): AsyncGenerator<CsvRow[], void, void> {
      try {
        yield* csv.batches;
      } catch (e) {
        throw fileError(e) ?? e;
      }
    }
    return {
      headers: csv.head.header,
      batches: batches(),
      bytesRead: () => bytes,
      sniffed: () => ({ encoding: csv.head.encoding, delimiter: csv.head.delimiter as Delimiter }),
      close: () => csv.close(),
    };
  } catch (e) {
    throw fileError(e) ?? e;
  }
}

/**
 * Stores an upload: streamed to the data folder and hashed on the way; the format is
 * decided by the content (a zip is XLSX), the CSV encoding and delimiter by sniffing.
 */
export async function upload(
  db: Db,
  dataDir: string,
  baseId: number,
  actor: string,
  body: NodeJS.ReadableStream,
  opts: { fileName: string; sheet?: string; maxBytes: number },
): Promise<ImportRow> {
  if (!(await getBase(db, baseId))) throw notFound('base', baseId);
  fs.mkdirSync(importsDir(dataDir), { recursive: true });
  const rel = path.join('files', 'imports', `${Date.now()}-${crypto.randomBytes(6).toString('hex')}`);
  const full = path.join(dataDir, rel);
  const hash = crypto.createHash('sha256');
  let size = 0;
  let magic = Buffer.alloc(0);
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > opts.maxBytes) return done(new AppError('payload_too_large', { detail: 'import_file_too_large', params: { max: Math.floor(opts.maxBytes / 1048576) } }));
      if (magic.length < 4) magic = Buffer.concat([magic, chunk.subarray(0, 4)]);
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, tap, fs.createWriteStream(full));
    if (size === 0) throw new AppError('bad_request', { detail: 'import_file_empty' });
    const format = magic.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])) ? 'xlsx' : 'csv';
    const source: Source = {};
    if (format === 'xlsx') {
      const sheets = await xlsxSheets(full).catch((e: unknown) => {
        throw fileError(e) ?? e;
      });
      const visible = sheets.filter((s) => !s.hidden);
      const chosen = opts.sheet === undefined ? (visible[0] ?? sheets[0]) : sheets.find((s) => s.name === opts.sheet || String(s.index) === opts.sheet);
      if (!chosen) throw new AppError('bad_request', { detail: 'import_sheet_not_found', params: { sheet: opts.sheet ?? '', sheets: sheets.map((s) => s.name).join(', ') } });
      source.sheet = chosen.name;
      source.sheets = sheets.map((s) => s.name);
    }
    const f = await openFile(full, format, source);
    const headers = f.headers;
    // A provisional encoding (ASCII so far) is decided by reading on: read the rows once.
    if (f.sniffed) {
      for await (const _ of f.batches);
      Object.assign(source, f.sniffed());
    }
    await f.close();
    return await db
      .insertInto('imports')
      .values({
        base_id: baseId,
        actor,
        file_name: opts.fileName.slice(0, 255) || 'file',
        file_path: rel,
        file_size: size,
        file_sha256: hash.digest('hex'),
        format,
        source: JSON.stringify(source),
        headers: headers.map((h) => h.trim()),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (e) {
    fs.rmSync(full, { force: true });
    throw fileError(e) ?? e;
  }
}

// ---------------------------------------------------------------------------
// preview
// ---------------------------------------------------------------------------

async function loadImport(db: Conn, baseId: number, id: number): Promise<ImportRow> {
  const imp = await repo.getImport(db, baseId, id);
  if (!imp) {
    if (!(await getBase(db, baseId))) throw notFound('base', baseId);
    throw notFound('import', id);
  }
  return imp;
}

export interface PreviewRow {
  line: number;
  cells: string[];
  /** Normalized values by target (what would be written). */
  values: Record<string, unknown>;
  errors: { column: number; header: string; message: string }[];
}

/** The mapping to show first: the one given, a saved template whose headers match, or a guess. */
async function mappingFor(db: Conn, imp: ImportRow, defs: FieldDef[], given: Mapping | undefined, templateId: number | undefined) {
  if (given) return { mapping: given, templateId: templateId ?? null, confidence: null, alternatives: {} };
  const templates = await db.selectFrom('import_templates').selectAll().where('base_id', '=', imp.base_id).orderBy('updated_at', 'desc').execute();
  const tpl = templateId !== undefined ? templates.find((x) => x.id === templateId) : templates.find((x) => templateMatches(x.headers, imp.headers));
  if (templateId !== undefined && !tpl) throw notFound('import_template', templateId);
  if (tpl) return { mapping: remapTemplate({ headers: tpl.headers, mapping: tpl.mapping as Mapping }, imp.headers), templateId: tpl.id, confidence: null, alternatives: {} };
  const g = guessMapping(imp.headers, defs);
  return { mapping: g.mapping, templateId: null, confidence: g.confidence, alternatives: g.alternatives };
}

export async function preview(
  db: Db,
  dataDir: string,
  baseId: number,
  id: number,
  opts: { mapping?: Mapping; templateId?: number },
  lang: Lang,
) {
  const imp = await loadImport(db, baseId, id);
  const base = (await getBase(db, baseId))!;
  const defs = await listFields(db, baseId);
  const m = await mappingFor(db, imp, defs, opts.mapping, opts.templateId);
  const problems = checkMapping(m.mapping, imp.headers, defs);
  if (opts.mapping && problems.length) throw invalid(problems);
  const rows: PreviewRow[] = [];
  if (!problems.length) {
    const f = await openFile(filePath(dataDir, imp), imp.format, imp.source as Source);
    try {
      outer: for await (const batch of f.batches) {
        for (const r of batch) {
          const { input, errors } = applyMapping(r.cells, m.mapping, { region: base.phone_region, customFields: defs });
          rows.push({
            line: r.line,
            cells: r.cells,
            values: input,
            errors: errors.map((e) => ({ column: e.column, header: imp.headers[e.column] ?? `#${e.column + 1}`, message: t(lang, e.key, e.params ?? {}) })),
          });
          if (rows.length >= PREVIEW_ROWS) break outer;
        }
      }
    } finally {
      await f.close();
    }
  }
  return { import: toImport(imp, null), ...m, problems: problems.map((p) => ({ field: p.field, message: t(lang, p.key, p.params ?? {}) })), rows };
}

// ---------------------------------------------------------------------------
// start
// ---------------------------------------------------------------------------

export async function start(db: Db, baseId: number, id: number, settings: Omit<ImportSettings, 'lang'> & { saveTemplate?: string }, actor: string, lang: Lang) {
  return db.transaction().execute(async (trx) => {
    const imp = await trx.selectFrom('imports').selectAll().where('base_id', '=', baseId).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!imp) throw notFound('import', id);
    if (imp.job_id !== null) throw new AppError('conflict', { detail: 'conflict.import_started', params: { id } });
    const defs = await listFields(trx, baseId);
    const errs = new FieldErrors();
    for (const p of checkMapping(settings.mapping, imp.headers, defs)) errs.add(p.field, p.key, p.params);
    const targets = new Set(settings.mapping.columns.filter((c): c is string => typeof c === 'string'));
    if (targets.has('fullName')) ['lastName', 'firstName', 'middleName'].forEach((k) => targets.add(k));
    if (!['phone', 'cardNumber', 'email'].some((k) => targets.has(k))) errs.add('mapping.columns', 'import_no_identifier_column');
    for (const k of Object.keys(settings.policy)) if (!targets.has(k)) errs.add(`policy.${k}`, 'import_policy_target', { target: k });
    if (settings.tagIds.length) {
      const known = new Set((await trx.selectFrom('tags').select('id').where('base_id', '=', baseId).where('id', 'in', settings.tagIds).execute()).map((r) => r.id));
      settings.tagIds.forEach((tid, i) => known.has(tid) || errs.add(`tagIds[${i}]`, 'import_tag_unknown', { value: tid }));
    }
    if (settings.segmentId !== null) {
      const seg = await getSegment(trx, baseId, settings.segmentId);
      if (!seg) errs.add('segmentId', 'filter_segment_unknown', { value: settings.segmentId });
      else if (seg.kind !== 'manual') errs.add('segmentId', 'import_segment_manual', { name: seg.name });
    }
    errs.throwIfAny();
    if (settings.saveTemplate) await saveTemplate(trx, baseId, { name: settings.saveTemplate, headers: imp.headers, mapping: settings.mapping });
    const { saveTemplate: _s, ...rest } = settings;
    const stored: ImportSettings = { ...rest, lang };
    const job = await jobsRepo.insertJob(trx, { baseId, kind: 'import', params: { importId: id }, actor, progress: { done: 0, total: 0 } });
    const row = await trx
      .updateTable('imports')
      .set({ job_id: job.id, mapping: JSON.stringify(settings.mapping), settings: JSON.stringify(stored), dry_run: settings.dryRun })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toImport(row, job);
  });
}

// ---------------------------------------------------------------------------
// rows: mapping applied, identity decided, repeats found
// ---------------------------------------------------------------------------

/** Keys of the rows seen so far in the file: phone (as a number), card, subscriber email -> first line. */
interface Seen {
  phone: Map<number, number>;
  card: Map<string, number>;
  email: Map<string, number>;
}

interface RowContext {
  region: string;
  defs: FieldDef[];
  /** Required fields without a default. */
  required: FieldDef[];
  /** Custom field labels in the import's language, for the error file. */
  labels: Map<string, string>;
  settings: ImportSettings;
  headers: string[];
  seen: Seen;
}

type Prepared = { ok: true; row: WriteRow; tagNames: string[] | null } | { ok: false; failure: RowFailure };

const phoneKey = (p: string) => Number(p.slice(1));

function prepareRow(r: CsvRow, ctx: RowContext): Prepared {
  const { input, errors } = applyMapping(r.cells, ctx.settings.mapping, { region: ctx.region, customFields: ctx.defs });
  const fail = (errs: RowFailure['errors']): Prepared => ({ ok: false, failure: { line: r.line, errors: errs } });
  if (errors.length) return fail(errors.map((e) => ({ key: e.key, ...(e.params ? { params: e.params } : {}), column: ctx.headers[e.column] ?? `#${e.column + 1}` })));
  const phone = (input.phone as string | undefined) ?? null;
  const card = (input.cardNumber as string | undefined) ?? null;
  const email = (input.email as string | undefined) ?? null;
  if (!phone && !card && !email) return fail([{ key: 'import_no_identity' }]);
  const kind = phone || card ? 'member' : 'subscriber';
  if (input.kind === 'member' && kind === 'subscriber') return fail([{ key: 'member_needs_identity' }]);
  if (input.kind === 'subscriber' && kind === 'member') return fail([{ key: 'subscriber_only_email' }]);

  // Repeats inside the file, by the keys that identify a client.
  const pk = phone ? phoneKey(phone) : null;
  const ek = kind === 'subscriber' ? email : null;
  const firsts = [pk !== null ? ctx.seen.phone.get(pk) : undefined, card ? ctx.seen.card.get(card) : undefined, ek ? ctx.seen.email.get(ek) : undefined].filter(
    (x): x is number => x !== undefined,
  );
  const dupFirst = firsts.length ? Math.min(...firsts) : null;
  if (dupFirst !== null && ctx.settings.duplicates === 'report') return fail([{ key: 'import_duplicate', params: { line: dupFirst } }]);
  if (pk !== null && !ctx.seen.phone.has(pk)) ctx.seen.phone.set(pk, r.line);
  if (card && !ctx.seen.card.has(card)) ctx.seen.card.set(card.slice(), r.line);
  if (ek && !ctx.seen.email.has(ek)) ctx.seen.email.set(ek.slice(), r.line);

  const row: WriteRow = { line: r.line, kind, values: {}, dupFirst };
  for (const [key, v] of Object.entries(input)) {
    const c = COLUMN_OF.get(key);
    if (c) row.values[c] = v as string;
  }
  const custom = (input.fields ?? {}) as Record<string, unknown>;
  for (const [key, v] of Object.entries(custom)) {
    const policy = ctx.settings.policy[`fields.${key}`] ?? 'overwrite';
    const slot = policy === 'overwrite' ? 'fOver' : policy === 'fill' ? 'fFill' : 'fCreate';
    (row[slot] ??= {})[key] = v;
  }
  const missing = ctx.required.filter((d) => custom[d.key] === undefined).map((d) => d.key);
  if (missing.length) row.missing = missing;
  if (ctx.settings.tagIds.length) row.tagsAdd = [...ctx.settings.tagIds];
  const tagNames = Array.isArray(input.tags) ? (input.tags as string[]) : null;
  return { ok: true, row, tagNames };
}

/** Tag names from a tags column: existing tags by name (case-insensitive), the rest created. */
async function resolveTags(trx: Conn, baseId: number, prepared: Prepared[]): Promise<void> {
  const names = new Map<string, string>();
  for (const p of prepared) if (p.ok && p.tagNames) for (const n of p.tagNames) names.set(n.trim().toLowerCase(), n.trim());
  if (!names.size) return;
  const list = [...names.values()].filter((n) => n.length > 0 && n.length <= 100);
  await sql`INSERT INTO tags (base_id, name) SELECT ${baseId}, n FROM unnest(${list}::text[]) AS n ON CONFLICT DO NOTHING`.execute(trx);
  const rows = await sql<{ id: number; k: string }>`SELECT id, lower(btrim(name)) AS k FROM tags WHERE base_id = ${baseId} AND lower(btrim(name)) = ANY(${[...names.keys()]}::text[])`.execute(trx);
  const ids = new Map(rows.rows.map((r) => [r.k, r.id]));
  for (const p of prepared) {
    if (!p.ok || !p.tagNames) continue;
    const got = p.tagNames.map((n) => ids.get(n.trim().toLowerCase())).filter((x): x is number => x !== undefined);
    p.row.tagsAdd = [...new Set([...(p.row.tagsAdd ?? []), ...got])].sort((a, b) => a - b);
  }
}

function planOf(imp: ImportRow, settings: ImportSettings, defs: FieldDef[], actor: string): WritePlan {
  const columns: WritePlan['columns'] = {};
  const customKeys: string[] = [];
  for (const target of settings.mapping.columns) {
    if (!target) continue;
    if (target.startsWith('fields.')) customKeys.push(target.slice('fields.'.length));
    const keys = target === 'fullName' ? ['lastName', 'firstName', 'middleName'] : [target];
    for (const k of keys) {
      const c = COLUMN_OF.get(k);
      if (c) columns[c] = settings.policy[k] ?? (target === 'fullName' ? settings.policy.fullName : undefined) ?? 'overwrite';
    }
  }
  const defaults = Object.fromEntries(defs.filter((d) => d.default !== null).map((d) => [d.key, d.default]));
  const keys = [...new Set([...customKeys, ...Object.keys(defaults)])];
  return {
    baseId: imp.base_id,
    actor,
    mode: settings.mode,
    columns,
    customKeys: keys,
    defaults,
    regSource: 'import',
    source: { import: imp.id },
    freeLists: keys.filter((k) => defs.some((d) => d.key === k && d.type === 'list' && d.listMode === 'free')),
    segmentId: settings.segmentId,
  };
}

/** Why the writer refused a row, as the error file says it. */
function failureOf(line: number, f: WriteFailure, labels: Map<string, string>): RowFailure {
  const one = (key: RowFailure['errors'][number]['key'], params?: Record<string, string | number>): RowFailure => ({ line, errors: [{ key, ...(params ? { params } : {}) }] });
  switch (f.code) {
    case 'exists':
      return one('import_exists', { id: f.id });
    case 'not_found':
      return one('import_not_found');
    case 'required':
      return one('import_required_missing', { fields: f.fields.map((k) => labels.get(k) ?? k).join(', ') });
    case 'taken':
      return one(f.field === 'phone' ? 'import_conflict_phone' : 'import_conflict_card', { value: f.value, id: f.id });
    case 'kind':
      return one(f.key);
    case 'conflict':
      return one('import_row_rejected', { reason: 'conflict' });
  }
}

interface BatchOutcome {
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
}

/**
 * Applies one batch of file rows in the caller's transaction: set-based; if a statement
 * fails unexpectedly, the batch is applied again row by row so only the bad rows fail.
 */
async function applyRows(trx: Trx, imp: ImportRow, plan: WritePlan, rows: CsvRow[], prepared: Prepared[], labels: Map<string, string>): Promise<BatchOutcome> {
  await resolveTags(trx, imp.base_id, prepared);
  const staged = prepared.filter((p): p is Extract<Prepared, { ok: true }> => p.ok);
  const failures: RowFailure[] = prepared.filter((p): p is Extract<Prepared, { ok: false }> => !p.ok).map((p) => p.failure);
  const res = { created: 0, updated: 0, unchanged: 0 };
  const take = (r: Awaited<ReturnType<typeof writeProfiles>>) => {
    res.created += r.created;
    res.updated += r.updated;
    res.unchanged += r.unchanged;
    for (const o of r.outcomes) if (o.failure) failures.push(failureOf(o.line, o.failure, labels));
  };
  await sql`SAVEPOINT kt_import_batch`.execute(trx);
  try {
    take(await writeProfiles(trx, plan, staged.map((p) => p.row)));
  } catch (e) {
    if (pgCode(e) === '40P01' || pgCode(e) === '40001') throw e;
    await sql`ROLLBACK TO SAVEPOINT kt_import_batch`.execute(trx);
    for (const p of staged) {
      await sql`SAVEPOINT kt_import_row`.execute(trx);
      try {
        take(await writeProfiles(trx, plan, [p.row]));
      } catch (rowErr) {
        if (pgCode(rowErr) === '40P01' || pgCode(rowErr) === '40001') throw rowErr;
        await sql`ROLLBACK TO SAVEPOINT kt_import_row`.execute(trx);
        const reason = (rowErr as { constraint?: string }).constraint ?? (rowErr as Error).message.slice(0, 200);
        failures.push({ line: p.row.line, errors: [{ key: 'import_row_rejected', params: { reason } }] });
      }
    }
  }
  const cells = new Map(rows.map((r) => [r.line, r.cells]));
  await repo.insertErrors(trx, imp.base_id, imp.id, failures.map((f) => ({ line: f.line, cells: cells.get(f.line) ?? [], errors: f.errors })));
  return { rows: rows.length, ...res, failed: failures.length };
}

// ---------------------------------------------------------------------------
// the job
// ---------------------------------------------------------------------------

interface ImportProgress extends Progress {
  /** The last file line committed. */
  line: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  rowsPerSecond: number;
  etaSeconds: number | null;
}

const ZERO = { line: 0, created: 0, updated: 0, unchanged: 0, failed: 0, rowsPerSecond: 0, etaSeconds: null };

/** Read when each import starts (the tests change it between imports); a bad value already stopped the start. */
export function importBatchSize(): number {
  return loadConfig().importBatchSize;
}

async function importJob(run: JobRun): Promise<unknown> {
  const { importId } = run.params as { importId: number };
  const imp = await run.db.selectFrom('imports').selectAll().where('id', '=', importId).executeTakeFirstOrThrow();
  const settings = imp.settings as ImportSettings;
  const base = (await getBase(run.db, imp.base_id))!;
  const defs = await listFields(run.db, imp.base_id);
  const plan = planOf(imp, settings, defs, run.actor);
  const ctx: RowContext = {
    region: base.phone_region,
    defs,
    required: defs.filter((d) => d.required && d.default === null),
    labels: new Map(defs.map((d) => [d.key, d.label[settings.lang] || d.key])),
    settings,
    headers: imp.headers,
    seen: { phone: new Map(), card: new Map(), email: new Map() },
  };
  if (!imp.started_at) await run.db.updateTable('imports').set({ started_at: new Date() }).where('id', '=', imp.id).execute();
  const file = await openFile(filePath(run.dataDir, imp), imp.format, imp.source as Source);
  const size = imp.file_size;
  let progress = { ...ZERO, ...run.progress } as ImportProgress;
  if (settings.dryRun) progress = { ...progress, ...ZERO, done: 0 };
  const t0 = Date.now();
  const done0 = progress.done;
  const next = (p: ImportProgress, o: BatchOutcome, lastLine: number): ImportProgress => {
    const done = p.done + o.rows;
    const secs = (Date.now() - t0) / 1000;
    const rate = secs > 0 ? (done - done0) / secs : 0;
    const read = file.bytesRead();
    const total = read > 0 ? Math.max(done, Math.round((done * size) / Math.min(read, size))) : done;
    return {
      ...p,
      done,
      total,
      line: lastLine,
      created: p.created + o.created,
      updated: p.updated + o.updated,
      unchanged: p.unchanged + o.unchanged,
      failed: p.failed + o.failed,
      rowsPerSecond: Math.round(rate),
      etaSeconds: rate > 0 ? Math.max(0, Math.round((total - done) / rate)) : null,
    };
  };

  const batchSize = importBatchSize();
  const commitBatch = async (rows: CsvRow[]) => {
    const prepared = rows.map((r) => prepareRow(r, ctx));
    const last = rows[rows.length - 1]!.line;
    progress = await run.batch(async (trx, saved) => {
      const o = await applyRows(trx, imp, plan, rows, prepared, ctx.labels);
      await repo.addCounts(trx, imp.id, o);
      return next({ ...ZERO, ...saved } as ImportProgress, o, last);
    }) as ImportProgress;
  };

  try {
    if (settings.dryRun) {
      await dryRun(run, imp, plan, ctx, file, batchSize, (o, last) => (progress = next(progress, o, last)), () => progress);
    } else {
      let pending: CsvRow[] = [];
      for await (const chunk of file.batches) {
        for (const r of chunk) {
          // Resuming: rows committed before the crash only rebuild the map of repeats.
          if (r.line <= progress.line) {
            prepareRow(r, ctx);
            continue;
          }
          pending.push(r);
          if (pending.length >= batchSize) {
            await commitBatch(pending);
            pending = [];
          }
        }
      }
      if (pending.length) await commitBatch(pending);
    }
  } finally {
    await file.close();
  }
  const finished = await run.db
    .updateTable('imports')
    .set({ finished_at: new Date() })
    .where('id', '=', imp.id)
    .returning(['rows', 'created', 'updated', 'unchanged', 'failed'])
    .executeTakeFirstOrThrow();
  return { ...finished, dryRun: settings.dryRun };
}

class DryRunDone extends Error {}

/**
 * A dry run applies every batch exactly as the import would, in one transaction that is
 * rolled back at the end: the counts are what the import would report. Progress goes
 * through the job row outside that transaction; a killed dry run starts over.
 */
async function dryRun(
  run: JobRun,
  imp: ImportRow,
  plan: WritePlan,
  ctx: RowContext,
  file: OpenedFile,
  batchSize: number,
  advance: (o: BatchOutcome, lastLine: number) => ImportProgress,
  current: () => ImportProgress,
): Promise<void> {
  const totals: BatchOutcome = { rows: 0, created: 0, updated: 0, unchanged: 0, failed: 0 };
  // The failed rows outlive the rollback through a spool file, not memory (a file where every row
  // fails would otherwise sit whole in this process).
  const spoolDir = path.join(run.dataDir, 'files', 'tmp');
  fs.mkdirSync(spoolDir, { recursive: true });
  const spool = path.join(spoolDir, `dry-run-${imp.id}-${process.pid}.ndjson`);
  const out = fs.createWriteStream(spool);
  const write = (line: string) => (out.write(line) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  try {
    await run.db.transaction().execute(async (trx) => {
      let pending: CsvRow[] = [];
      const flush = async () => {
        const prepared = pending.map((r) => prepareRow(r, ctx));
        const o = await applyRows(trx, imp, plan, pending, prepared, ctx.labels);
        for (const k of Object.keys(totals) as (keyof BatchOutcome)[]) totals[k] += o[k];
        const p = advance(o, pending[pending.length - 1]!.line);
        pending = [];
        const job = await jobsRepo.getJob(run.db, run.id);
        if (job?.status === 'cancelled') throw new JobStopped('cancelled');
        await jobsRepo.saveProgress(run.db, run.id, p);
      };
      for await (const chunk of file.batches) {
        for (const r of chunk) {
          pending.push(r);
          if (pending.length >= batchSize) await flush();
        }
      }
      if (pending.length) await flush();
      // The error file of a dry run is kept: it shows which rows would fail.
      for await (const page of repo.errorRows(trx, imp.base_id, imp.id)) await write(page.map((r) => JSON.stringify(r) + '\n').join(''));
      throw new DryRunDone();
    });
  } catch (e) {
    if (!(e instanceof DryRunDone)) {
      out.destroy();
      fs.rmSync(spool, { force: true });
      throw e;
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  try {
    await run.db.transaction().execute(async (trx) => {
      let page: { line: number; cells: string[]; errors: unknown }[] = [];
      for await (const line of readline.createInterface({ input: fs.createReadStream(spool), crlfDelay: Infinity })) {
        if (!line) continue;
        page.push(JSON.parse(line) as (typeof page)[number]);
        if (page.length >= 5000) {
          await repo.insertErrors(trx, imp.base_id, imp.id, page);
          page = [];
        }
      }
      await repo.insertErrors(trx, imp.base_id, imp.id, page);
      await repo.addCounts(trx, imp.id, totals);
      await jobsRepo.saveProgress(trx, run.id, current());
    });
  } finally {
    fs.rmSync(spool, { force: true });
  }
}

registerJobHandler('import', importJob);

// ---------------------------------------------------------------------------
// reading: records, the error file
// ---------------------------------------------------------------------------

type JobLike = Pick<jobsRepo.JobRow, 'status' | 'progress' | 'error' | 'finished_at'> | null | undefined;

export function toImport(r: ImportRow, job: JobLike) {
  const p = (job?.progress ?? {}) as Partial<ImportProgress>;
  const status = r.job_id === null ? 'uploaded' : (job?.status ?? 'done');
  // A stopped or failed import ends when its job does (however the job was stopped).
  const finishedAt = r.finished_at ?? job?.finished_at ?? null;
  const s = r.source as Source;
  return {
    id: r.id,
    baseId: r.base_id,
    jobId: r.job_id,
    status: status as 'uploaded' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled',
    actor: r.actor,
    fileName: r.file_name,
    size: r.file_size,
    sha256: r.file_sha256,
    format: r.format as 'csv' | 'xlsx',
    encoding: s.encoding ?? null,
    delimiter: s.delimiter ?? null,
    sheet: s.sheet ?? null,
    sheets: s.sheets ?? null,
    headers: r.headers,
    mapping: (r.mapping as Mapping | null) ?? null,
    settings: r.settings ? (({ lang: _l, ...rest }) => rest)(r.settings as ImportSettings) : null,
    dryRun: r.dry_run,
    rows: r.rows,
    created: r.created,
    updated: r.updated,
    unchanged: r.unchanged,
    failed: r.failed,
    progress: { rows: Number(p.done ?? r.rows), total: Number(p.total ?? 0), rowsPerSecond: Number(p.rowsPerSecond ?? 0), etaSeconds: p.etaSeconds ?? null },
    errorsUrl: r.failed > 0 ? `/api/v1/bases/${r.base_id}/imports/${r.id}/errors` : null,
    uploadedAt: r.uploaded_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: finishedAt?.toISOString() ?? null,
    durationMs: r.started_at && finishedAt ? finishedAt.getTime() - r.started_at.getTime() : null,
  };
}
export type ImportOut = ReturnType<typeof toImport>;

export async function getImport(db: Db, baseId: number, id: number): Promise<ImportOut> {
  const imp = await loadImport(db, baseId, id);
  const job = imp.job_id === null ? null : await jobsRepo.getJob(db, imp.job_id);
  return toImport(imp, job);
}

export async function listImports(db: Db, baseId: number, limit: number): Promise<ImportOut[]> {
  if (!(await getBase(db, baseId))) throw notFound('base', baseId);
  const rows = await repo.listImports(db, baseId, limit);
  const jobIds = rows.map((r) => r.job_id).filter((x): x is number => x !== null);
  const jobs = jobIds.length ? await db.selectFrom('jobs').select(['id', 'status', 'progress', 'error', 'finished_at']).where('id', 'in', jobIds).execute() : [];
  const byId = new Map(jobs.map((j) => [j.id, j]));
  return rows.map((r) => toImport(r, r.job_id === null ? null : byId.get(r.job_id)));
}

export async function cancel(db: Db, baseId: number, id: number): Promise<ImportOut> {
  const imp = await loadImport(db, baseId, id);
  if (imp.job_id !== null) await jobsRepo.cancelJob(db, imp.job_id);
  return getImport(db, baseId, id);
}

/** The reason of a failed row as one line of text in the import's language. */
function reasonText(errors: RowFailure['errors'], lang: Lang): string {
  return errors
    .map((e) => {
      const msg = t(lang, e.key, { ...(e.params ?? {}) } as Record<string, string | number>);
      return e.column ? t(lang, 'import_cell', { column: e.column, message: msg }) : msg;
    })
    .join('; ');
}

/**
 * The failed rows in the format of the file: its columns, then the line number and the
 * reason. A CSV comes back as CSV for Russian Excel (UTF-8 with BOM, `;`) when the file
 * used `;`, plain otherwise; an XLSX as XLSX.
 */
export async function writeErrorFile(db: Db, baseId: number, id: number, out: NodeJS.WritableStream, langOverride?: Lang) {
  const imp = await loadImport(db, baseId, id);
  const lang = langOverride ?? ((imp.settings as ImportSettings | null)?.lang ?? 'ru');
  const header = [...imp.headers, t(lang, 'import_error_line'), t(lang, 'import_error_reason')];
  const width = imp.headers.length;
  const row = (r: { line: number; cells: string[]; errors: RowFailure['errors'] }) => [
    ...Array.from({ length: width }, (_, i) => r.cells[i] ?? ''),
    r.line,
    reasonText(r.errors, lang),
  ];
  if (imp.format === 'xlsx') {
    const w = xlsxWriter(out, [...imp.headers.map((h) => ({ header: h, kind: 'text' as const })), { header: header[width]!, kind: 'number' as const }, { header: header[width + 1]!, kind: 'text' as const }]);
    for await (const page of repo.errorRows(db, baseId, id)) for (const r of page) await w.write(row(r));
    return w.end();
  }
  const w = csvWriter(out, header, { dialect: (imp.source as Source).delimiter === ',' ? 'plain' : 'excel-ru' });
  for await (const page of repo.errorRows(db, baseId, id)) for (const r of page) await w.write(row(r));
  return w.end();
}

export function errorFileName(imp: Pick<ImportOut, 'fileName' | 'format'>): string {
  const stem = imp.fileName.replace(/\.(csv|txt|xlsx)$/i, '');
  return `${stem} — errors.${imp.format === 'xlsx' ? 'xlsx' : 'csv'}`;
}

// ---------------------------------------------------------------------------
// mapping templates
// ---------------------------------------------------------------------------

export async function saveTemplate(db: Conn, baseId: number, t0: { name: string; headers: string[]; mapping: Mapping }) {
  try {
    return await db
      .insertInto('import_templates')
      .values({ base_id: baseId, name: t0.name.trim(), headers: t0.headers, mapping: JSON.stringify(t0.mapping) })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (e) {
    if (pgCode(e) === '23505') throw new AppError('conflict', { detail: 'conflict.import_template_name', params: { value: t0.name.trim() } });
    throw e;
  }
}

export function toTemplate(r: { id: number; base_id: number; name: string; headers: string[]; mapping: unknown; created_at: Date; updated_at: Date }) {
  return { id: r.id, baseId: r.base_id, name: r.name, headers: r.headers, mapping: r.mapping as Mapping, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString() };
}

export async function createTemplate(db: Db, baseId: number, body: { name: string; headers: string[]; mapping: Mapping }) {
  if (!(await getBase(db, baseId))) throw notFound('base', baseId);
  const defs = await listFields(db, baseId);
  const problems: FieldError[] = checkMapping(body.mapping, body.headers, defs);
  if (problems.length) throw invalid(problems);
  return toTemplate(await saveTemplate(db, baseId, body));
}

export async function listTemplates(db: Db, baseId: number) {
  if (!(await getBase(db, baseId))) throw notFound('base', baseId);
  return (await db.selectFrom('import_templates').selectAll().where('base_id', '=', baseId).orderBy('name').execute()).map(toTemplate);
}

export async function deleteTemplate(db: Db, baseId: number, id: number) {
  const r = await db.deleteFrom('import_templates').where('base_id', '=', baseId).where('id', '=', id).executeTakeFirst();
  if (!Number(r.numDeletedRows)) {
    if (!(await getBase(db, baseId))) throw notFound('base', baseId);
    throw notFound('import_template', id);
  }
}

