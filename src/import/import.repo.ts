// Import records: the import log, the failed rows of the error file, the counts. Writing the
// profiles themselves is the one profile writer's (profiles/profiles.write.ts).
import { sql } from 'kysely';
import type { Conn } from '../db/db.ts';
import type { MessageKey, MessageParams } from '../errors/errors.ts';

export interface RowFailure {
  line: number;
  errors: { key: MessageKey; params?: MessageParams; column?: string }[];
}

// ---------------------------------------------------------------------------
// import records, failed rows, templates
// ---------------------------------------------------------------------------

export async function insertErrors(db: Conn, baseId: number, importId: number, rows: { line: number; cells: string[]; errors: unknown }[]): Promise<void> {
  if (!rows.length) return;
  await sql`INSERT INTO import_errors (base_id, import_id, line, cells, errors)
    SELECT ${baseId}, ${importId}, r.line, r.cells, r.errors
    FROM json_populate_recordset(NULL::import_errors, ${JSON.stringify(rows)}::json) AS r
    ON CONFLICT DO NOTHING`.execute(db);
}

export async function* errorRows(db: Conn, baseId: number, importId: number, pageSize = 5000): AsyncGenerator<{ line: number; cells: string[]; errors: RowFailure['errors'] }[]> {
  let after = 0;
  for (;;) {
    const page = await db
      .selectFrom('import_errors')
      .select(['line', 'cells', 'errors'])
      .where('base_id', '=', baseId)
      .where('import_id', '=', importId)
      .where('line', '>', after)
      .orderBy('line')
      .limit(pageSize)
      .execute();
    if (!page.length) return;
    yield page.map((r) => ({ line: Number(r.line), cells: r.cells, errors: r.errors as RowFailure['errors'] }));
    after = Number(page[page.length - 1]!.line);
  }
}

export type ImportRecord = NonNullable<Awaited<ReturnType<typeof getImport>>>;

export async function getImport(db: Conn, baseId: number, id: number) {
  return db.selectFrom('imports').selectAll().where('base_id', '=', baseId).where('id', '=', id).executeTakeFirst();
}

export async function listImports(db: Conn, baseId: number, limit: number) {
  return db.selectFrom('imports').selectAll().where('base_id', '=', baseId).orderBy('id', 'desc').limit(limit).execute();
}

export async function addCounts(db: Conn, id: number, d: { rows: number; created: number; updated: number; unchanged: number; failed: number }): Promise<void> {
  await sql`UPDATE imports SET rows = rows + ${d.rows}, created = created + ${d.created}, updated = updated + ${d.updated},
    unchanged = unchanged + ${d.unchanged}, failed = failed + ${d.failed} WHERE id = ${id}`.execute(db);
}

/**
 * name: import-created-earlier
 * Of the subscribers just folded into members (their history moved to the member, marked mergedFrom),
 * how many this import created in an earlier batch (not on one of `lines`, this batch's).
 */
export async function createdByEarlierBatch(db: Conn, baseId: number, importId: number, merged: { into: number[]; from: number[] }, lines: number[]): Promise<number> {
  const r = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM profile_events e
    WHERE e.base_id = ${baseId} AND e.profile_id = ANY(${merged.into}::bigint[]) AND e.action = 'created'
      AND e.source @> ${JSON.stringify({ import: importId })}::jsonb
      AND (e.source ->> 'mergedFrom')::bigint = ANY(${merged.from}::bigint[])
      AND NOT (e.source ->> 'line')::bigint = ANY(${lines}::bigint[])`.execute(db);
  return r.rows[0]!.n;
}

/**
 * name: import-undo
 * Everything an import wrote but its profiles: their history, its failed rows and its counts (a bulk
 * load is undone so before it starts over; its profiles went with the load table).
 */
export async function undoImport(db: Conn, baseId: number, importId: number): Promise<void> {
  await sql`DELETE FROM profile_events WHERE base_id = ${baseId} AND source @> ${JSON.stringify({ import: importId })}::jsonb`.execute(db);
  await sql`DELETE FROM import_errors WHERE base_id = ${baseId} AND import_id = ${importId}`.execute(db);
  await sql`UPDATE imports SET rows = 0, created = 0, updated = 0, unchanged = 0, failed = 0 WHERE base_id = ${baseId} AND id = ${importId}`.execute(db);
}

/**
 * name: lock-base-bulk
 * Serializes the decision to bulk-load a base (held to the end of the caller's transaction): two imports
 * into one empty base must not both fill its one load table.
 */
export async function lockBaseBulk(trx: Conn, baseId: number): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext('kartoteka.bulk-load'), ${baseId}::int)`.execute(trx);
}

/** Deletes an upload never started (job_id still empty, checked in the statement); false when it was started meanwhile. */
export async function deleteUpload(db: Conn, baseId: number, id: number): Promise<boolean> {
  const r = await sql`DELETE FROM imports WHERE base_id = ${baseId} AND id = ${id} AND job_id IS NULL`.execute(db);
  return Number(r.numAffectedRows ?? 0) > 0;
}
