// Mass actions (seed 004): on the selected profiles or on everything a search
// finds. The targets are fixed when the action starts (job_targets); a small
// action runs in one transaction, a large one is a job that works through the
// targets in batches ordered by profile id, each batch one set-based statement
// committed together with its cursor. Every action is idempotent per batch.
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { authorize, type Principal } from '../auth/permissions.ts';
import { getBase } from '../bases/bases.service.ts';
import type { Conn, Db } from '../db/db.ts';
import type { CustomValue, FieldDef } from '../fields/fields.schema.ts';
import { coerceValue, listFields } from '../fields/fields.service.ts';
import { STANDARD_FIELDS, type StandardField } from '../fields/standard.ts';
import { compileQuery, type Query } from '../find/filter.ts';
import { compileContext, idsSql, viewerOf } from '../find/find.service.ts';
import { AppError, FieldErrors, invalidField, notFound } from '../errors/errors.ts';
import { jobRows, registerJobHandler, type JobRun, type Progress } from '../jobs/jobs.service.ts';
import { normalizeStandard } from '../profiles/profiles.service.ts';
import { ProfileUpdateBody } from '../profiles/profiles.schema.ts';
import { writeTargets, type WritePlan } from '../profiles/profiles.write.ts';
import type { BulkActionInput, BulkBodyInput } from './bulk.schema.ts';

// ---------------------------------------------------------------------------
// limits
// ---------------------------------------------------------------------------

export interface BulkLimits {
  /** Up to this many targets the action runs at once, in one transaction (200); more make a job (202). */
  syncLimit: number;
  /** Targets per batch (and per transaction) of a job. */
  batchSize: number;
}

// ---------------------------------------------------------------------------
// actions, validated once and stored with the job
// ---------------------------------------------------------------------------

/** An action ready to apply: values normalized; kept in jobs.params. */
export type Prepared =
  | { type: 'column'; key: string; value: string | null }
  | { type: 'custom'; key: string; raw: unknown; value: CustomValue | null; freeList?: boolean }
  | { type: 'addTags' | 'removeTags'; tagIds: number[] }
  | { type: 'addToSegment' | 'removeFromSegment'; segmentId: number }
  | { type: 'delete' };

/** Identifiers and the profile kind follow the identity rules (seed 002): one profile at a time only. */
const NOT_MASS_EDITABLE = new Set(['phone', 'cardNumber', 'email', 'kind']);
const RAW_SHAPE = ProfileUpdateBody.shape as Record<string, { safeParse(v: unknown): { success: boolean; error?: { issues: { code: string; maximum?: unknown }[] } } }>;

function standardField(key: string): StandardField | undefined {
  return STANDARD_FIELDS.find((f) => f.key === key);
}

/** Validates a raw standard value with the single-write schema, then normalizes it as a single write would. */
function standardValue(f: StandardField, raw: unknown, region: string, errs: FieldErrors): string | null | undefined {
  const shape = RAW_SHAPE[f.key];
  const parsed = shape?.safeParse(raw);
  if (parsed && !parsed.success) {
    const issue = parsed.error?.issues[0];
    if (issue?.code === 'too_big') errs.add('action.value', 'too_long', { max: String(issue.maximum) });
    else if (issue?.code === 'invalid_value') errs.add('action.value', 'invalid_enum', { values: f.values?.join(', ') ?? '' });
    else errs.add('action.value', 'invalid_type', { expected: '@type.string' });
    return undefined;
  }
  if (raw === null || raw === undefined) return null;
  const local = new FieldErrors();
  const v = normalizeStandard(f, String(raw), region, local);
  for (const e of local.list) errs.add('action.value', e.key, e.params);
  return v;
}

async function prepareAction(db: Conn, baseId: number, region: string, action: BulkActionInput, errs: FieldErrors): Promise<Prepared | undefined> {
  switch (action.type) {
    case 'setField':
    case 'clearField': {
      const raw = action.type === 'setField' ? action.value : null;
      if (action.field.startsWith('fields.')) {
        const key = action.field.slice('fields.'.length);
        const def = (await listFields(db, baseId)).find((d) => d.key === key);
        if (!def) return void errs.add('action.field', 'field_unknown', { key });
        const c = coerceValue(def, raw);
        if (!c.ok) return void errs.add('action.value', c.key, c.params);
        if (c.value === null && def.required) return void errs.add(action.type === 'setField' ? 'action.value' : 'action.field', 'bulk_field_required', { field: action.field });
        return { type: 'custom', key, raw, value: c.value, freeList: def.type === 'list' && def.listMode === 'free' };
      }
      const f = standardField(action.field);
      if (!f) return void errs.add('action.field', 'bulk_field_unknown', { field: action.field });
      if (f.readOnly || NOT_MASS_EDITABLE.has(f.key)) return void errs.add('action.field', 'bulk_field_not_editable', { field: action.field });
      const value = standardValue(f, raw, region, errs);
      if (value === undefined) return undefined;
      // Registration data is set once (seed 001): a mass action may fill it where empty, never clear or overwrite it.
      if (f.setOnce && value === null) return void errs.add(action.type === 'setField' ? 'action.value' : 'action.field', 'set_once');
      return { type: 'column', key: f.key, value };
    }
    case 'addTags':
    case 'removeTags': {
      const ids = [...new Set(action.tagIds)].sort((a, b) => a - b);
      const known = new Set((await db.selectFrom('tags').select('id').where('base_id', '=', baseId).where('id', 'in', ids).execute()).map((t) => Number(t.id)));
      const unknown = ids.filter((id) => !known.has(id));
      for (const id of unknown) errs.add('action.tagIds', 'filter_tag_unknown', { value: id });
      return unknown.length ? undefined : { type: action.type, tagIds: ids };
    }
    case 'addToSegment':
    case 'removeFromSegment': {
      const seg = await db.selectFrom('segments').select('kind').where('base_id', '=', baseId).where('id', '=', action.segmentId).executeTakeFirst();
      if (!seg) return void errs.add('action.segmentId', 'filter_segment_unknown', { value: action.segmentId });
      if (seg.kind !== 'manual') return void errs.add('action.segmentId', 'bulk_segment_dynamic', { value: action.segmentId });
      return { type: action.type, segmentId: action.segmentId };
    }
    case 'delete':
      return { type: 'delete' };
  }
}

/**
 * Before every batch: what the action depends on still holds, locked until the
 * batch commits (the custom field's definition, the tags, the segment). A custom
 * value is converted again under the current definition.
 */
async function recheck(trx: Conn, baseId: number, a: Prepared): Promise<Prepared> {
  switch (a.type) {
    case 'custom': {
      const def: FieldDef | undefined = (await listFields(trx, baseId, { forShare: true })).find((d) => d.key === a.key);
      if (!def) throw invalidField('action.field', 'field_unknown', { key: a.key });
      const c = coerceValue(def, a.raw);
      if (!c.ok) throw invalidField('action.value', c.key, c.params);
      if (c.value === null && def.required) throw invalidField('action.field', 'bulk_field_required', { field: `fields.${a.key}` });
      return { ...a, value: c.value };
    }
    case 'addTags': {
      const rows = await sql<{ id: number }>`SELECT id FROM tags WHERE base_id = ${baseId} AND id = ANY(${a.tagIds}::bigint[]) FOR KEY SHARE`.execute(trx);
      const known = new Set(rows.rows.map((r) => Number(r.id)));
      const gone = a.tagIds.find((id) => !known.has(id));
      if (gone !== undefined) throw invalidField('action.tagIds', 'filter_tag_unknown', { value: gone });
      return a;
    }
    case 'addToSegment': {
      const r = await sql<{ kind: string }>`SELECT kind FROM segments WHERE base_id = ${baseId} AND id = ${a.segmentId} FOR KEY SHARE`.execute(trx);
      if (!r.rows[0]) throw invalidField('action.segmentId', 'filter_segment_unknown', { value: a.segmentId });
      if (r.rows[0].kind !== 'manual') throw invalidField('action.segmentId', 'bulk_segment_dynamic', { value: a.segmentId });
      return a;
    }
    default:
      return a;
  }
}

// ---------------------------------------------------------------------------
// applying one batch: one set-based statement
// ---------------------------------------------------------------------------

interface BatchResult {
  /** Targets in this batch (including profiles deleted meanwhile). */
  n: number;
  /** The last profile id of the batch: the next cursor. */
  last: number | null;
  /** Profiles whose stored data changed. */
  changed: number;
}

interface Scope {
  baseId: number;
  jobId: number;
  actor: string;
}

// name: bulk-batch
// The next targets after the cursor. A change of profiles goes through the one profile writer (locks in
// id order, only what changes is written, one 'updated' event per changed profile); deleting and
// segment membership are set-based statements here.
async function applyBatch(trx: Conn, s: Scope, a: Prepared, cursor: number, limit: number | null): Promise<BatchResult> {
  const b = s.baseId;
  const targets = sql`SELECT profile_id FROM job_targets WHERE base_id = ${b} AND job_id = ${s.jobId} AND profile_id > ${cursor} ORDER BY profile_id ${limit === null ? sql`` : sql`LIMIT ${limit}`}`;
  if (a.type === 'column' || a.type === 'custom' || a.type === 'addTags' || a.type === 'removeTags') {
    const plan: WritePlan = { baseId: b, actor: s.actor, mode: 'update', columns: {}, customKeys: [], defaults: {}, regSource: 'api', source: { job: s.jobId } };
    let change: Parameters<typeof writeTargets>[3];
    if (a.type === 'column') {
      const f = standardField(a.key);
      if (!f || f.readOnly || NOT_MASS_EDITABLE.has(f.key)) throw new Error(`not a mass-editable field: ${a.key}`);
      plan.columns[f.column] = 'overwrite';
      change = a.value === null ? { values: {}, clear: [f.column] } : { values: { [f.column]: a.value } };
    } else if (a.type === 'custom') {
      plan.customKeys = [a.key];
      if (a.freeList) plan.freeLists = [a.key];
      change = a.value === null ? { values: {}, fClear: [a.key] } : { values: {}, fOver: { [a.key]: a.value } };
    } else {
      change = a.type === 'addTags' ? { values: {}, tagsAdd: a.tagIds } : { values: {}, tagsRemove: a.tagIds };
    }
    const r = await writeTargets(trx, plan, targets, change);
    const last = r.outcomes.at(-1)?.line ?? null;
    return { n: r.outcomes.length, last, changed: r.updated };
  }
  const locked = (strength: 'UPDATE' | 'KEY SHARE') =>
    sql`SELECT p.id FROM profiles p JOIN t ON t.profile_id = p.id WHERE p.base_id = ${b} ORDER BY p.id FOR ${sql.raw(strength)} OF p`;
  let change: RawBuilder<unknown>;
  switch (a.type) {
    case 'addToSegment':
      change = sql`l AS (${locked('KEY SHARE')}),
        c AS (INSERT INTO segment_members (base_id, segment_id, profile_id) SELECT ${b}, ${a.segmentId}, l.id FROM l
              ON CONFLICT DO NOTHING RETURNING profile_id)`;
      break;
    case 'removeFromSegment':
      change = sql`c AS (DELETE FROM segment_members sm USING t
              WHERE sm.base_id = ${b} AND sm.segment_id = ${a.segmentId} AND sm.profile_id = t.profile_id RETURNING sm.profile_id)`;
      break;
    case 'delete':
      change = sql`l AS (${locked('UPDATE')}),
        c AS (DELETE FROM profiles p USING l WHERE p.base_id = ${b} AND p.id = l.id RETURNING p.id)`;
      break;
  }
  const r = await sql<{ n: number; last: number | null; changed: number }>`
    WITH t AS (${targets}), ${change}
    SELECT (SELECT count(*) FROM t)::int AS n, (SELECT max(profile_id) FROM t) AS last, (SELECT count(*) FROM c)::int AS changed`.execute(trx);
  const row = r.rows[0]!;
  if ((a.type === 'addToSegment' || a.type === 'removeFromSegment') && row.changed > 0) {
    // name: refresh-segment-count
    // A manual segment's stored count follows its membership in the same transaction.
    await sql`UPDATE segments SET count = (SELECT count(*) FROM segment_members WHERE base_id = ${b} AND segment_id = ${a.segmentId}), counted_at = now()
      WHERE base_id = ${b} AND id = ${a.segmentId}`.execute(trx);
  }
  return { n: row.n, last: row.last === null ? null : Number(row.last), changed: row.changed };
}

// ---------------------------------------------------------------------------
// starting an action
// ---------------------------------------------------------------------------

interface JobParams {
  action: Prepared;
  batchSize: number;
}

export type BulkOutcome = { status: 200; changed: number; total: number } | { status: 202; jobId: number; total: number };

export async function startBulk(db: Db, baseId: number, body: BulkBodyInput, principal: Principal, limits: BulkLimits): Promise<BulkOutcome> {
  const base = await getBase(db, baseId);
  if (!base) throw notFound('base', baseId);
  const errs = new FieldErrors();
  const { ids, query } = body.target;
  let where: RawBuilder<SqlBool> | undefined;
  if ((ids === undefined) === (query === undefined)) errs.add('target', 'bulk_target_one');
  else if (ids !== undefined) where = sql<SqlBool>`p.id = ANY(${[...new Set(ids)]}::bigint[])`;
  else {
    const local = new FieldErrors();
    const compiled = await compileQuery(query as Query, await compileContext(db, baseId, viewerOf(principal)), { errs: local });
    for (const e of local.list) errs.add(`target.query.${e.field}`, e.key, e.params);
    where = compiled.sql;
  }
  const action = await prepareAction(db, baseId, base.phone_region, body.action, errs);
  errs.throwIfAny();
  if (!where || !action) throw new Error('unreachable: validation passed without a target or an action');

  if (body.action.type === 'delete') {
    const d = authorize(principal, 'profiles.delete', baseId);
    if (!d.ok) throw new AppError('forbidden', { detail: 'forbidden.permission', params: { permission: 'profiles.delete' } });
    if (body.action.confirm !== 'DELETE') {
      throw new AppError('conflict', { detail: 'bulk_delete_confirm', errors: [{ field: 'action.confirm', key: 'bulk_delete_confirm' }] });
    }
  }

  return db.transaction().execute(async (trx) => {
    const params: JobParams = { action, batchSize: limits.batchSize };
    const job = await jobRows.insertJob(trx, { baseId, kind: 'bulk', params, actor: principal.actor });
    // name: bulk-fix-targets
    // The profiles the action applies to, fixed now: what the user saw.
    const inserted = await sql`
      INSERT INTO job_targets (base_id, job_id, profile_id)
      SELECT ${baseId}, ${job.id}, m.id FROM (${idsSql(baseId, where)}) AS m`.execute(trx);
    const total = Number(inserted.numAffectedRows ?? 0n);
    if (body.action.type === 'delete' && total !== body.action.expectedCount) {
      const params = { count: total, expected: body.action.expectedCount };
      throw new AppError('conflict', {
        detail: 'bulk_delete_count',
        params,
        errors: [{ field: 'action.expectedCount', key: 'bulk_delete_count', params }],
        extra: { count: total },
      });
    }
    if (total > limits.syncLimit) {
      await jobRows.saveProgress(trx, job.id, { done: 0, total, cursor: 0, changed: 0 } satisfies Progress);
      return { status: 202, jobId: job.id, total };
    }
    const checked = await recheck(trx, baseId, action);
    const r = await applyBatch(trx, { baseId, jobId: job.id, actor: principal.actor }, checked, 0, null);
    const result = { changed: r.changed, total };
    await trx
      .updateTable('jobs')
      .set({
        status: 'done',
        attempts: 1,
        progress: JSON.stringify({ done: r.n, total, cursor: r.last ?? 0, changed: r.changed }),
        result: JSON.stringify(result),
        started_at: sql<Date>`now()`,
        heartbeat_at: sql<Date>`now()`,
        finished_at: sql<Date>`now()`,
      })
      .where('id', '=', job.id)
      .execute();
    await jobRows.deleteTargets(trx, job.id);
    return { status: 200, ...result };
  });
}

// ---------------------------------------------------------------------------
// the job
// ---------------------------------------------------------------------------

function jobParams(raw: unknown): JobParams {
  const p = raw as Partial<JobParams> | null;
  if (!p || typeof p !== 'object' || !p.action || typeof p.action.type !== 'string' || !Number.isSafeInteger(p.batchSize) || p.batchSize! < 1) {
    throw new Error('bulk job: malformed params');
  }
  return p as JobParams;
}

/** Works through the fixed targets from the saved cursor, batch by batch, until none are left. */
export async function bulkJob(run: JobRun): Promise<{ changed: number; total: number }> {
  const { action, batchSize } = jobParams(run.params);
  const baseId = run.baseId;
  if (baseId === null) throw new Error('bulk job without a base');
  const scope = { baseId, jobId: run.id, actor: run.actor };
  for (;;) {
    let n = 0;
    await run.batch(async (trx, cur) => {
      const checked = await recheck(trx, baseId, action);
      const r = await applyBatch(trx, scope, checked, Number(cur.cursor ?? 0), batchSize);
      n = r.n;
      return { done: cur.done + r.n, total: cur.total, cursor: r.last ?? Number(cur.cursor ?? 0), changed: Number(cur.changed ?? 0) + r.changed };
    });
    if (n < batchSize) break;
  }
  return { changed: Number(run.progress.changed ?? 0), total: run.progress.total };
}

registerJobHandler('bulk', bulkJob);
