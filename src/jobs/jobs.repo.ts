import { sql, type Selectable } from 'kysely';
import type { Conn } from '../db/db.ts';
import type { JobsTable } from '../db/schema.ts';

export type JobRow = Selectable<JobsTable>;

/** A job that has not shown a heartbeat for this long is presumed dead and may be claimed again. */
export const STALE_AFTER_SECONDS = 30;

export async function insertJob(
  db: Conn,
  values: { baseId: number | null; kind: string; params: unknown; actor: string; progress?: unknown },
): Promise<JobRow> {
  return db
    .insertInto('jobs')
    .values({
      base_id: values.baseId,
      kind: values.kind,
      params: JSON.stringify(values.params ?? {}),
      progress: JSON.stringify(values.progress ?? { done: 0, total: 0 }),
      actor: values.actor,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

// name: claim-job
// Takes the oldest queued job (or job `only`), or a running one whose process stopped sending heartbeats.
export async function claimNext(db: Conn, only: number | null = null): Promise<JobRow | undefined> {
  const r = await sql<JobRow>`
    UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now()), heartbeat_at = now()
    WHERE id = (
      SELECT id FROM jobs
      WHERE (status = 'queued' OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => ${STALE_AFTER_SECONDS})))
        AND (${only}::bigint IS NULL OR id = ${only}::bigint)
      ORDER BY id
      FOR UPDATE SKIP LOCKED
      LIMIT 1)
    RETURNING *`.execute(db);
  return r.rows[0];
}

export async function markRunningStale(db: Conn): Promise<void> {
  await sql`UPDATE jobs SET heartbeat_at = now() - make_interval(secs => ${STALE_AFTER_SECONDS * 2}) WHERE status = 'running'`.execute(db);
}

/** The job row locked for one batch: the worker checks it still owns the job and reads the saved progress. */
export async function lockJob(db: Conn, id: number): Promise<Pick<JobRow, 'status' | 'attempts' | 'progress'> | undefined> {
  // NO KEY: rows written in a handler's own long transaction may reference the job (FK: KEY SHARE), and must not block its checkpoints.
  return db.selectFrom('jobs').select(['status', 'attempts', 'progress']).where('id', '=', id).forNoKeyUpdate().executeTakeFirst();
}

/**
 * Whether another live run of `kind` in the base is in one of `phases` (a handler's progress.phase). A
 * cancelled job still sending heartbeats counts: a bulk load keeps what it loaded, so it goes on to its
 * index builds and attach after a cancel.
 */
export async function othersInPhase(db: Conn, jobId: number, baseId: number, kind: string, phases: readonly string[]): Promise<boolean> {
  const r = await sql<{ x: boolean }>`
    SELECT EXISTS (
      SELECT 1 FROM jobs
      WHERE base_id = ${baseId} AND kind = ${kind} AND id <> ${jobId} AND status IN ('running', 'cancelled')
        AND heartbeat_at >= now() - make_interval(secs => ${STALE_AFTER_SECONDS})
        AND progress ->> 'phase' = ANY (${[...phases]}::text[])) AS x`.execute(db);
  return r.rows[0]!.x;
}

export async function saveProgress(db: Conn, id: number, progress: unknown): Promise<void> {
  await db.updateTable('jobs').set({ progress: JSON.stringify(progress), heartbeat_at: sql<Date>`now()` }).where('id', '=', id).execute();
}

/**
 * Ends a run the worker still owns (status running, same attempt): done or failed.
 * Returns false when the job was cancelled or taken over meanwhile (nothing written).
 */
export async function finishJob(
  db: Conn,
  id: number,
  attempts: number,
  end: { status: 'done' | 'failed'; result?: unknown; error?: string; progress?: unknown },
): Promise<boolean> {
  const r = await db
    .updateTable('jobs')
    .set({
      status: end.status,
      finished_at: sql<Date>`now()`,
      heartbeat_at: sql<Date>`now()`,
      ...(end.result !== undefined ? { result: JSON.stringify(end.result) } : {}),
      ...(end.error !== undefined ? { error: end.error } : {}),
      ...(end.progress !== undefined ? { progress: JSON.stringify(end.progress) } : {}),
    })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .where('attempts', '=', attempts)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/** A graceful shutdown hands the job back (the interrupted run does not count as an attempt). */
export async function requeueJob(db: Conn, id: number, attempts: number): Promise<void> {
  await db
    .updateTable('jobs')
    .set((eb) => ({ status: 'queued', attempts: eb('attempts', '-', 1) }))
    .where('id', '=', id)
    .where('status', '=', 'running')
    .where('attempts', '=', attempts)
    .execute();
}

/** Records what a cancelled job did before it stopped, unless something already is recorded. */
export async function setCancelledResult(db: Conn, id: number, result: unknown, progress: unknown): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ result: JSON.stringify(result), progress: JSON.stringify(progress) })
    .where('id', '=', id)
    .where('status', '=', 'cancelled')
    .where('result', 'is', null)
    .execute();
}

/** Queued or running -> cancelled. Waits for a batch in progress (it holds the row), so no batch starts after this returns. */
export async function cancelJob(db: Conn, id: number): Promise<JobRow | undefined> {
  return db
    .updateTable('jobs')
    .set({ status: 'cancelled', finished_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
}

/** A job's fixed target list is only needed while it may still run. */
export async function deleteTargets(db: Conn, jobId: number): Promise<void> {
  await db.deleteFrom('job_targets').where('job_id', '=', jobId).execute();
}

export async function getJob(db: Conn, id: number): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listJobs(db: Conn, baseId: number, limit: number): Promise<JobRow[]> {
  return db.selectFrom('jobs').selectAll().where('base_id', '=', baseId).orderBy('id', 'desc').limit(limit).execute();
}
