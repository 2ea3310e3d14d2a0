import { sql, type RawBuilder, type Selectable, type SqlBool } from 'kysely';
import type { Conn } from '../db/db.ts';
import type { ExportsTable } from '../db/schema.ts';

/** A log row with its job's status: the job says how a not yet finished export stands. */
export type ExportRow = Selectable<ExportsTable> & { job_status: string | null };

export async function insertExport(
  db: Conn,
  v: { baseId: number; jobId: number | null; actor: string; source: unknown; columns: string[]; format: string; dialect: string | null; fileName: string; status?: string; tokenHash?: string | null },
): Promise<ExportRow> {
  const row = await db
    .insertInto('exports')
    .values({
      base_id: v.baseId,
      job_id: v.jobId,
      actor: v.actor,
      query: JSON.stringify(v.source),
      columns: v.columns,
      format: v.format,
      dialect: v.dialect,
      file_name: v.fileName,
      ...(v.status ? { status: v.status } : {}),
      download_token_hash: v.tokenHash ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { ...row, job_status: v.jobId === null ? null : 'queued' };
}

const withJob = (db: Conn) =>
  db.selectFrom('exports as e').leftJoin('jobs as j', 'j.id', 'e.job_id').selectAll('e').select('j.status as job_status');

export async function getExport(db: Conn, id: number): Promise<ExportRow | undefined> {
  return withJob(db).where('e.id', '=', id).executeTakeFirst();
}

export async function listExports(db: Conn, baseId: number, limit: number): Promise<ExportRow[]> {
  return withJob(db).where('e.base_id', '=', baseId).orderBy('e.id', 'desc').limit(limit).execute();
}

export async function setStatus(db: Conn, id: number, status: 'queued' | 'running' | 'failed' | 'cancelled'): Promise<void> {
  await db
    .updateTable('exports')
    .set({ status, ...(status === 'failed' || status === 'cancelled' ? { finished_at: sql<Date>`now()` } : {}) })
    .where('id', '=', id)
    .execute();
}

/** The file is written: what it holds and until when it may be downloaded (null: never through the server). */
export async function finishExport(
  db: Conn,
  id: number,
  v: { rows: number; size: number; sha256: string; filePath: string | null; ttlHours: number | null },
): Promise<void> {
  await db
    .updateTable('exports')
    .set({
      status: 'done',
      rows: v.rows,
      file_size: v.size,
      file_sha256: v.sha256,
      file_path: v.filePath,
      finished_at: sql<Date>`now()`,
      expires_at: v.ttlHours === null ? null : sql<Date>`now() + ${v.ttlHours}::float8 * interval '1 hour'`,
    })
    .where('id', '=', id)
    .execute();
}

export async function setTokenHash(db: Conn, id: number, hash: string): Promise<void> {
  await db.updateTable('exports').set({ download_token_hash: hash }).where('id', '=', id).execute();
}

// name: expire-exports
// Exports whose file outlived its expiry (all, or one): forget the file (the link's hash stays, so
// the link answers 410, not 404); returns the paths to delete.
export async function takeExpired(db: Conn, only?: number): Promise<string[]> {
  const one: RawBuilder<SqlBool> = only === undefined ? sql<SqlBool>`true` : sql<SqlBool>`id = ${only}`;
  const r = await sql<{ file_path: string }>`
    UPDATE exports e SET file_path = NULL
    FROM (SELECT id, file_path FROM exports WHERE expires_at <= now() AND file_path IS NOT NULL AND ${one} FOR UPDATE) old
    WHERE e.id = old.id
    RETURNING old.file_path`.execute(db);
  return r.rows.map((x) => x.file_path);
}

/** Tag names of a base by id, for the tags column. */
export async function tagNames(db: Conn, baseId: number): Promise<Map<number, string>> {
  const rows = await db.selectFrom('tags').select(['id', 'name']).where('base_id', '=', baseId).execute();
  return new Map(rows.map((t) => [Number(t.id), t.name]));
}
