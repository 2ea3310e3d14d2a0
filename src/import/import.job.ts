// The import job (issue 4, issue 10): reads the uploaded file in batches, prepares each row (import.rows.ts: mapping,
// normalization, repeats inside the file) and hands the rows to the one profile writer. Three ways:
//  * incremental: each batch in one transaction with its progress; a killed job resumes after the last
//    committed line; Node prepares the next batch while PostgreSQL applies this one;
//  * bulk, for a large file into an empty base: the rows that need nothing from the base (members, no
//    repeats) are loaded into a bare table, its indexes built in two sessions, and it becomes the base's
//    partition; then the rest (repeats, email-only rows) go through the incremental way;
//  * dry run: the incremental way in one transaction that is rolled back.
// The accounting created + updated + unchanged + failed = rows read holds at every commit.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { sql } from 'kysely';
import { getBase } from '../bases/bases.service.ts';
import { loadConfig } from '../config.ts';
import type { Conn, Trx } from '../db/db.ts';
import { listFields } from '../fields/fields.service.ts';
import type { FieldDef } from '../fields/fields.schema.ts';
import { isRetryable, violation } from '../errors/errors.ts';
import { jobRows, JobStopped, registerJobHandler, type JobRun, type Progress } from '../jobs/jobs.service.ts';
import * as profiles from '../profiles/profiles.service.ts';
import { loadNew, writeProfiles, type WriteFailure, type WritePlan } from '../profiles/profiles.write.ts';
import type { CsvRow } from '../formats/csv.read.ts';
import { filePath, type Source } from '../formats/open.ts';
import * as repo from './import.repo.ts';
import type { ImportRecord, RowFailure } from './import.repo.ts';
import { COLUMN_OF, openPrepared, type ImportSettings, type Prepared, type PreparedFile, type RowContext } from './import.rows.ts';

type ImportRow = ImportRecord;

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
  const merged: { into: number[]; from: number[] } = { into: [], from: [] };
  const take = (r: Awaited<ReturnType<typeof writeProfiles>>) => {
    res.created += r.created;
    res.updated += r.updated;
    res.unchanged += r.unchanged;
    for (const o of r.outcomes) {
      if (o.failure) failures.push(failureOf(o.line, o.failure, labels));
      if (o.mergedFrom.length && o.id !== null) merged.into.push(o.id), merged.from.push(...o.mergedFrom);
    }
  };
  await sql`SAVEPOINT kt_import_batch`.execute(trx);
  try {
    take(await writeProfiles(trx, plan, staged.map((p) => p.row)));
  } catch (e) {
    if (isRetryable(e)) throw e;
    await sql`ROLLBACK TO SAVEPOINT kt_import_batch`.execute(trx);
    for (const p of staged) {
      await sql`SAVEPOINT kt_import_row`.execute(trx);
      try {
        take(await writeProfiles(trx, plan, [p.row]));
      } catch (rowErr) {
        if (isRetryable(rowErr)) throw rowErr;
        await sql`ROLLBACK TO SAVEPOINT kt_import_row`.execute(trx);
        const reason = violation(rowErr)?.field ?? (rowErr as Error).message.slice(0, 200);
        failures.push({ line: p.row.line, errors: [{ key: 'import_row_rejected', params: { reason } }] });
      }
    }
  }
  if (merged.from.length) {
    // A subscriber an earlier batch of this file created, now folded into a member: that row's client
    // lives on in the member, so it counts as an update, not as a client made (within one batch the
    // writer counts it so itself).
    const earlier = await repo.createdByEarlierBatch(trx, imp.base_id, imp.id, merged, rows.map((r) => r.line));
    res.created -= earlier;
    res.updated += earlier;
  }
  const cells = new Map(rows.map((r) => [r.line, r.cells]));
  await repo.insertErrors(trx, imp.base_id, imp.id, failures.map((f) => ({ line: f.line, cells: cells.get(f.line) ?? [], errors: f.errors })));
  return { rows: rows.length, ...res, failed: failures.length };
}

// ---------------------------------------------------------------------------
// the job
// ---------------------------------------------------------------------------

export interface ImportProgress extends Progress {
  /** The last file line committed (of the incremental way). */
  line: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  rowsPerSecond: number;
  etaSeconds: number | null;
  /** The bulk way: loading the bare table, building its indexes, attached (the rest then goes incrementally). */
  phase?: 'load' | 'indexing' | 'attached';
}

const ZERO = { line: 0, created: 0, updated: 0, unchanged: 0, failed: 0, rowsPerSecond: 0, etaSeconds: null };

/** Read when each import starts (the tests change them between imports); a bad value already stopped the start. */
export function importBatchSize(): number {
  return loadConfig().importBatchSize;
}

/** A row the bulk way loads: a member that repeats no earlier row and lacks no required field (it creates a profile, surely). */
const loadable = (p: Prepared): p is Extract<Prepared, { ok: true }> =>
  p.ok && p.row.kind === 'member' && (p.row.dupFirst ?? null) === null && !p.row.missing?.length;

async function importJob(run: JobRun): Promise<unknown> {
  const { importId } = run.params as { importId: number };
  const imp = await run.db.selectFrom('imports').selectAll().where('id', '=', importId).executeTakeFirstOrThrow();
  const settings = imp.settings as ImportSettings;
  const base = (await getBase(run.db, imp.base_id))!;
  const defs = await listFields(run.db, imp.base_id);
  const plan = planOf(imp, settings, defs, run.actor);
  const ctx: Omit<RowContext, 'seen'> = {
    region: base.phone_region,
    defs,
    required: defs.filter((d) => d.required && d.default === null),
    labels: new Map(defs.map((d) => [d.key, d.label[settings.lang] || d.key])),
    settings,
    headers: imp.headers,
  };
  if (!imp.started_at) await run.db.updateTable('imports').set({ started_at: new Date() }).where('id', '=', imp.id).execute();
  const open = () => openPrepared({ file: filePath(run.dataDir, imp), format: imp.format, source: imp.source as Source, ctx });
  let file = await open();
  const size = imp.file_size;
  let progress = { ...ZERO, ...run.progress } as ImportProgress;
  if (settings.dryRun) progress = { ...progress, ...ZERO, done: 0 };
  const t0 = Date.now();
  let done0 = progress.done;
  /** After the bulk load the rest of the file is known: the total is then fixed. */
  let fixedTotal: number | null = null;
  /** Rows a bulk load has read and left for later: part of the file's size, not yet done. */
  const seen = { rest: 0 };
  const next = (p: ImportProgress, o: BatchOutcome, lastLine: number): ImportProgress => {
    const done = p.done + o.rows;
    const secs = (Date.now() - t0) / 1000;
    const rate = secs > 0 ? (done - done0) / secs : 0;
    const read = file.bytesRead();
    const rows = done + seen.rest;
    const total = fixedTotal ?? (read > 0 ? Math.max(rows, Math.round((rows * size) / Math.min(read, size))) : rows);
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
  const commitBatch = async (rows: CsvRow[], prepared: Prepared[]) => {
    const last = rows[rows.length - 1]!.line;
    progress = await run.batch(async (trx, saved) => {
      const o = await applyRows(trx, imp, plan, rows, prepared, ctx.labels);
      await repo.addCounts(trx, imp.id, o);
      return next({ ...ZERO, ...saved } as ImportProgress, o, last);
    }) as ImportProgress;
  };

  /** The file's rows, prepared, that `take` keeps. */
  async function* fromFile(take: (p: Prepared) => boolean): AsyncGenerator<[CsvRow, Prepared]> {
    for await (const { rows, prepared } of file.batches) {
      for (let i = 0; i < rows.length; i++) if (take(prepared[i]!)) yield [rows[i]!, prepared[i]!];
    }
  }

  /** The incremental way over `rows` (the file's; after a bulk load, the rows it left). */
  const incremental = async (rows: AsyncIterable<[CsvRow, Prepared]>) => {
    // Node reads and prepares the next batch while PostgreSQL applies this one: one batch in flight.
    let inflight: Promise<void> = Promise.resolve();
    let pending: CsvRow[] = [];
    let prepared: Prepared[] = [];
    const send = async () => {
      const [batch, ready] = [pending, prepared];
      [pending, prepared] = [[], []];
      await inflight;
      inflight = commitBatch(batch, ready);
      inflight.catch(() => undefined); // awaited below; not unhandled meanwhile
    };
    for await (const [r, p] of rows) {
      // Resuming: rows committed before the crash only rebuilt the map of repeats.
      if (r.line <= progress.line) continue;
      pending.push(r);
      prepared.push(p);
      if (pending.length >= batchSize) await send();
    }
    if (pending.length) await send();
    await inflight;
  };

  const pass = (): Pass => ({ run, imp, plan, ctx, file, batchSize, seen, advance: (o, last) => (progress = next(progress, o, last)) });
  try {
    if (settings.dryRun) {
      await dryRun(pass(), () => progress);
    } else {
      if (progress.phase === 'load' || progress.phase === 'indexing') {
        // A bulk load killed before its attach leaves nothing: undone here, whichever way goes on now —
        // under the base's bulk lock, and its load table only if no other import has taken the base's
        // load meanwhile (this one's heartbeat went stale); the reset progress saved with it.
        progress = { ...progress, ...ZERO, done: 0, total: 0, phase: undefined };
        const reset = progress;
        await run.db.transaction().execute(async (trx) => {
          await repo.lockBaseBulk(trx, imp.base_id);
          const taken = await jobRows.othersInPhase(trx, run.id, imp.base_id, 'import', ['load', 'indexing']);
          await undoLoad(trx, run, imp, { keepTable: taken });
          await run.checkpoint(reset, trx);
        });
        done0 = 0;
      }
      let bulk =
        progress.phase === 'attached' ||
        (progress.done === 0 &&
          size >= loadConfig().importBulkMinBytes &&
          settings.mode !== 'update' &&
          (await profiles.isEmptyBase(run.db, imp.base_id)));
      if (bulk && progress.phase !== 'attached') bulk = await claimBulk(run, imp);
      const rest = restFile(run, imp);
      if (bulk && progress.phase !== 'attached') {
        const loaded = await bulkLoad(pass(), rest);
        fixedTotal = progress.done + loaded.rest;
        progress = { ...progress, total: fixedTotal, line: 0, phase: 'attached' };
        await run.db.transaction().execute(async (trx) => {
          await profiles.attachLoaded(trx, imp.base_id);
          await run.checkpoint(progress, trx);
        });
        // The partition's column statistics: without them the rows left to match are joined to the base by scanning it.
        await profiles.analyzeBase(run.db, imp.base_id);
        if (loaded.cancelled) throw new JobStopped('cancelled');
      }
      if (bulk) fixedTotal ??= progress.total;
      if (!bulk) await incremental(fromFile(() => true));
      else if (fs.existsSync(rest)) await incremental(fromSpool<[CsvRow, Prepared]>(rest));
      else {
        // The rows the load left, its spool lost: read the file again from its start.
        await file.close();
        file = await open();
        await incremental(fromFile((p) => p.ok && !loadable(p)));
      }
      fs.rmSync(rest, { force: true });
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

/**
 * Claims the bulk way for this import: under the base's bulk lock, with no other import loading the base
 * and the base still empty, this run's phase 'load' is saved in that same transaction (so the next one
 * to ask sees it) and whatever a dead load left is undone. While another import loads the base, waits
 * for it with heartbeats; once that one attached its rows the base is not empty: false, the incremental
 * way. Two imports into one empty base therefore never fill its one load table together.
 */
async function claimBulk(run: JobRun, imp: ImportRow): Promise<boolean> {
  for (;;) {
    const claim = await run.db.transaction().execute(async (trx) => {
      await repo.lockBaseBulk(trx, imp.base_id);
      if (await jobRows.othersInPhase(trx, run.id, imp.base_id, 'import', ['load', 'indexing'])) return 'wait';
      if (!(await profiles.isEmptyBase(trx, imp.base_id))) return 'no';
      await undoLoad(trx, run, imp);
      await run.checkpoint({ ...ZERO, done: 0, total: 0, phase: 'load' } satisfies ImportProgress, trx);
      return 'yes';
    });
    if (claim !== 'wait') return claim === 'yes';
    if ((await run.checkpoint(run.progress)).cancelled) throw new JobStopped('cancelled');
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** What a bulk load wrote before its attach, undone: the load table, its history, failed rows and counts. */
async function undoLoad(trx: Trx, run: JobRun, imp: ImportRow, opts: { keepTable?: boolean } = {}): Promise<void> {
  if (!opts.keepTable) await profiles.dropLoadTable(trx, imp.base_id);
  await repo.undoImport(trx, imp.base_id, imp.id);
  fs.rmSync(restFile(run, imp), { force: true });
}

/** Where a bulk load spools the rows it leaves for the incremental way. */
const restFile = (run: JobRun, imp: ImportRow) => path.join(run.dataDir, 'files', 'tmp', `import-${imp.id}-rest.ndjson`);

/** Newline-delimited JSON written to disk with backpressure (large files never sit in memory). */
class Spool {
  private readonly out: fs.WriteStream;
  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.out = fs.createWriteStream(file);
  }
  write(value: unknown): Promise<void> {
    return this.out.write(JSON.stringify(value) + '\n') ? Promise.resolve() : new Promise<void>((r) => this.out.once('drain', () => r()));
  }
  close(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  destroy(): void {
    this.out.destroy();
  }
}

/** The values a spool holds, one per line. */
async function* fromSpool<T>(file: string): AsyncGenerator<T> {
  for await (const line of readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })) {
    if (line) yield JSON.parse(line) as T;
  }
}

/** One pass over the import's file, as the bulk load and the dry run make it. */
interface Pass {
  run: JobRun;
  imp: ImportRow;
  plan: WritePlan;
  ctx: Omit<RowContext, 'seen'>;
  file: PreparedFile;
  batchSize: number;
  /** Rows read and left for later (the bulk load's rest): they count in the estimated total. */
  seen: { rest: number };
  advance: (o: BatchOutcome, lastLine: number) => ImportProgress;
}

/** Hands the file's rows, prepared, to `flush` in batches of the pass's size; stops early once `stop` says so. */
async function inBatches(pass: Pass, flush: (rows: CsvRow[], prepared: Prepared[]) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let [pending, ready]: [CsvRow[], Prepared[]] = [[], []];
  for await (const { rows, prepared } of pass.file.batches) {
    for (let i = 0; i < rows.length; i++) {
      pending.push(rows[i]!);
      ready.push(prepared[i]!);
      if (pending.length >= pass.batchSize) {
        await flush(pending, ready);
        [pending, ready] = [[], []];
        if (stop()) return;
      }
    }
  }
  if (pending.length) await flush(pending, ready);
}

/**
 * The bulk way's load (issue 10): in one transaction, a bare table (profiles_l<base>) gets every member
 * row that repeats no earlier row, through the one writer's loadNew; rows that fail their checks go to
 * the error file as usual; the others (repeats, email-only rows) are left for the incremental way.
 * Then the table's indexes are built, two at a time; the caller attaches it. A load killed halfway
 * starts over (what it wrote is undone first); a cancelled one keeps what it loaded.
 */
async function bulkLoad(pass: Pass, restPath: string): Promise<{ rest: number; cancelled: boolean }> {
  const { run, imp, plan, ctx, advance } = pass;
  const b = imp.base_id;
  let rest = 0;
  let cancelled = false;
  // The rows left for the incremental way, prepared as they are now (their repeats known from the
  // whole file): spooled to disk, so that way need not read and prepare the file again.
  const spool = new Spool(restPath);
  try {
    await run.db.transaction().execute(async (trx) => {
      await profiles.createLoadTable(trx, b);
      // Node prepares the next batch while PostgreSQL loads this one: one batch in flight.
      let inflight: Promise<void> = Promise.resolve();
      const load = async (rows: CsvRow[], prepared: Prepared[]) => {
        const fresh = prepared.filter(loadable);
        const failures = prepared.flatMap((p) => (p.ok ? [] : [p.failure]));
        await resolveTags(trx, b, fresh);
        const created = await loadNew(trx, plan, fresh.map((p) => p.row), profiles.loadTable(b));
        const cells = new Map(rows.map((r) => [r.line, r.cells]));
        await repo.insertErrors(trx, b, imp.id, failures.map((f) => ({ line: f.line, cells: cells.get(f.line) ?? [], errors: f.errors })));
        const o: BatchOutcome = { rows: fresh.length + failures.length, created, updated: 0, unchanged: 0, failed: failures.length };
        await repo.addCounts(trx, imp.id, o);
        const p = advance(o, 0);
        if ((await run.checkpoint({ ...p, phase: 'load' })).cancelled) cancelled = true;
      };
      const flush = async (rows: CsvRow[], prepared: Prepared[]) => {
        for (let i = 0; i < rows.length; i++) {
          const p = prepared[i]!;
          if (p.ok && !loadable(p)) {
            rest++;
            pass.seen.rest++;
            await spool.write([rows[i]!, p]);
          }
        }
        await inflight;
        inflight = load(rows, prepared);
        inflight.catch(() => undefined); // awaited below; not unhandled meanwhile
      };
      await inBatches(pass, flush, () => cancelled);
      await inflight;
    });
    await spool.close();
  } catch (e) {
    spool.destroy();
    throw e;
  }
  const indexing: ImportProgress = { ...advance({ rows: 0, created: 0, updated: 0, unchanged: 0, failed: 0 }, 0), phase: 'indexing' };
  await run.checkpoint(indexing);
  // The builds take minutes at 1M rows and commit no batch: the job's heartbeat goes on meanwhile, or
  // another worker would take it for dead and start it over under this one. (Taken over all the same,
  // the next checkpoint — the attach's — stops this run.)
  const beat = setInterval(() => void run.checkpoint(indexing).catch(() => undefined), 10_000);
  const queue = await profiles.loadIndexStatements(run.db, b);
  try {
    await Promise.all(
      [0, 1].map(async () => {
        for (let stmt = queue.shift(); stmt; stmt = queue.shift()) await profiles.buildLoadIndex(run.db, stmt);
      }),
    );
  } finally {
    clearInterval(beat);
  }
  return { rest, cancelled };
}

class DryRunDone extends Error {}

/**
 * A dry run applies every batch exactly as the import would, in one transaction that is
 * rolled back at the end: the counts are what the import would report. Progress goes
 * through the job row outside that transaction; a killed dry run starts over.
 */
async function dryRun(pass: Pass, current: () => ImportProgress): Promise<void> {
  const { run, imp, plan, ctx, advance } = pass;
  const totals: BatchOutcome = { rows: 0, created: 0, updated: 0, unchanged: 0, failed: 0 };
  // The failed rows outlive the rollback through a spool file, not memory (a file where every row
  // fails would otherwise sit whole in this process).
  const file = path.join(run.dataDir, 'files', 'tmp', `dry-run-${imp.id}-${process.pid}.ndjson`);
  const spool = new Spool(file);
  try {
    await run.db.transaction().execute(async (trx) => {
      const flush = async (rows: CsvRow[], prepared: Prepared[]) => {
        const o = await applyRows(trx, imp, plan, rows, prepared, ctx.labels);
        for (const k of Object.keys(totals) as (keyof BatchOutcome)[]) totals[k] += o[k];
        const p = advance(o, rows[rows.length - 1]!.line);
        if ((await run.checkpoint(p)).cancelled) throw new JobStopped('cancelled');
      };
      await inBatches(pass, flush);
      // The error file of a dry run is kept: it shows which rows would fail.
      for await (const page of repo.errorRows(trx, imp.base_id, imp.id)) for (const r of page) await spool.write(r);
      throw new DryRunDone();
    });
  } catch (e) {
    if (!(e instanceof DryRunDone)) {
      spool.destroy();
      fs.rmSync(file, { force: true });
      throw e;
    }
  }
  await spool.close();
  try {
    await run.db.transaction().execute(async (trx) => {
      let page: { line: number; cells: string[]; errors: unknown }[] = [];
      for await (const row of fromSpool<(typeof page)[number]>(file)) {
        page.push(row);
        if (page.length >= 5000) {
          await repo.insertErrors(trx, imp.base_id, imp.id, page);
          page = [];
        }
      }
      await repo.insertErrors(trx, imp.base_id, imp.id, page);
      await repo.addCounts(trx, imp.id, totals);
      await run.checkpoint(current(), trx);
    });
  } finally {
    fs.rmSync(file, { force: true });
  }
}

registerJobHandler('import', importJob);
