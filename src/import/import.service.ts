// Import (issue 4): upload a CSV or XLSX file (streamed to the data folder, hashed on the way),
// preview its first rows under a mapping, start the job that applies it (import.job.ts), read the
// import log and the error file, keep mapping templates.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getBase } from '../bases/bases.service.ts';
import type { Conn, Db } from '../db/db.ts';
import { listFields } from '../fields/fields.service.ts';
import type { FieldDef } from '../fields/fields.schema.ts';
import { AppError, FieldErrors, invalid, notFound, fromDb, type FieldError } from '../errors/errors.ts';
import { t, type Lang } from '../i18n/messages.ts';
import { jobRows, type JobRow } from '../jobs/jobs.service.ts';
import { getSegmentRow } from '../segments/segments.service.ts';
import { csvWriter } from '../formats/csv.write.ts';
import { xlsxWriter } from '../formats/xlsx.write.ts';
import { fileError, filePath, openFile, type Source } from '../formats/open.ts';
import type { ImportProgress } from './import.job.ts';
import type { ImportSettings } from './import.rows.ts';
import './import.job.ts'; // registers the import job's handler
import * as repo from './import.repo.ts';
import type { ImportRecord, RowFailure } from './import.repo.ts';
import { applyMapping, checkMapping, guessMapping, remapTemplate, templateMatches, type Mapping } from './mapping.ts';
import type { XlsxSheet } from '../formats/xlsx.read.ts';

export type { ImportSettings } from './import.rows.ts';
export { importBatchSize } from './import.job.ts';

export const PREVIEW_ROWS = 20;

export interface ImportLimits {
  /** Largest upload in bytes. */
  maxBytes: number;
  /** File rows per batch (one transaction each). */
  batchSize: number;
}


type ImportRow = ImportRecord;


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
  fs.mkdirSync(path.join(dataDir, 'files', 'imports'), { recursive: true });
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
    // The workbook is opened once: its sheet list is read, the sheet chosen and its header read in one pass.
    const choose = (sheets: XlsxSheet[]) => {
      const visible = sheets.filter((s) => !s.hidden);
      const chosen = opts.sheet === undefined ? (visible[0] ?? sheets[0]) : sheets.find((s) => s.name === opts.sheet || String(s.index) === opts.sheet);
      if (!chosen) throw new AppError('bad_request', { detail: 'import_sheet_not_found', params: { sheet: opts.sheet ?? '', sheets: sheets.map((s) => s.name).join(', ') } });
      source.sheet = chosen.name;
      source.sheets = sheets.map((s) => s.name);
      return chosen.index;
    };
    const f = await openFile(full, format, source, format === 'xlsx' ? choose : undefined);
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
      const seg = await getSegmentRow(trx, baseId, settings.segmentId);
      if (!seg) errs.add('segmentId', 'filter_segment_unknown', { value: settings.segmentId });
      else if (seg.kind !== 'manual') errs.add('segmentId', 'import_segment_manual', { name: seg.name });
    }
    errs.throwIfAny();
    if (settings.saveTemplate) await saveTemplate(trx, baseId, { name: settings.saveTemplate, headers: imp.headers, mapping: settings.mapping });
    const { saveTemplate: _s, ...rest } = settings;
    const stored: ImportSettings = { ...rest, lang };
    const job = await jobRows.insertJob(trx, { baseId, kind: 'import', params: { importId: id }, actor, progress: { done: 0, total: 0 } });
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
// reading: records, the error file
// ---------------------------------------------------------------------------

type JobLike = Pick<JobRow, 'status' | 'progress' | 'error' | 'finished_at'> | null | undefined;

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
    progress: {
      rows: Number(p.done ?? r.rows),
      total: Number(p.total ?? 0),
      rowsPerSecond: Number(p.rowsPerSecond ?? 0),
      etaSeconds: p.etaSeconds ?? null,
      phase: p.phase === 'attached' ? ('rest' as const) : ((p.phase as 'load' | 'indexing' | undefined) ?? ('rows' as const)),
    },
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
  const job = imp.job_id === null ? null : await jobRows.getJob(db, imp.job_id);
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
  if (imp.job_id !== null) await jobRows.cancelJob(db, imp.job_id);
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
    throw fromDb(e, { value: t0.name.trim() });
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

/**
 * Removes an upload that was never started (its row and its file: the file holds personal data). A
 * started import stays: it is the base's record of what was written.
 */
export async function removeUpload(db: Db, dataDir: string, baseId: number, id: number): Promise<void> {
  const imp = await loadImport(db, baseId, id);
  if (imp.job_id !== null) throw new AppError('conflict', { detail: 'conflict.import_started', params: { id } });
  const r = await repo.deleteUpload(db, baseId, id);
  if (!r) throw new AppError('conflict', { detail: 'conflict.import_started', params: { id } });
  fs.rmSync(filePath(dataDir, imp), { force: true });
}

export async function deleteTemplate(db: Db, baseId: number, id: number) {
  const r = await db.deleteFrom('import_templates').where('base_id', '=', baseId).where('id', '=', id).executeTakeFirst();
  if (!Number(r.numDeletedRows)) {
    if (!(await getBase(db, baseId))) throw notFound('base', baseId);
    throw notFound('import_template', id);
  }
}

