// Segments: saved filters (dynamic: whatever the query finds now) and manual
// segments (static membership). Per base; shared with everyone or private to
// their owner (the admin env token sees all). Counts are stored with when they
// were taken and how long counting took.
import type { z } from 'zod';
import { getBase } from '../bases/bases.service.ts';
import type { Principal } from '../auth/permissions.ts';
import type { Conn, Db } from '../db/db.ts';
import { compileQuery, type Compiled, type Query } from '../find/filter.ts';
import { compileContext, countMatching, idsSql, type Viewer } from '../find/find.service.ts';
import { AppError, FieldErrors, invalid, notFound, fromDb, type FieldError } from '../errors/errors.ts';
import * as repo from './segments.repo.ts';
import type { MembersBody, Segment, SegmentCreateBody, SegmentUpdateBody } from './segments.schema.ts';

export { viewerOf, type Viewer } from '../find/find.service.ts';
// A segment row as stored, for other domains (issue 10); getSegment below is the API view, checked against a viewer.
export { getSegment as getSegmentRow } from './segments.repo.ts';

const visible = (r: { shared: boolean; owner_id: number | null }, v: Viewer) => v.all || r.shared || (r.owner_id !== null && r.owner_id === v.userId);
const isOwner = (r: { owner_id: number | null }, v: Viewer) => v.all || r.owner_id === v.userId;

export function toSegment(r: repo.SegmentRow): Segment {
  return {
    id: Number(r.id),
    name: r.name,
    kind: r.kind as Segment['kind'],
    query: (r.query as Record<string, unknown> | null) ?? null,
    shared: r.shared,
    ownerId: r.owner_id === null ? null : Number(r.owner_id),
    count: r.count === null ? null : Number(r.count),
    countedAt: r.counted_at?.toISOString() ?? null,
    countMs: r.count_ms,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

const segmentNotFound = (id: number) => new AppError('not_found', { detail: 'not_found.segment', params: { id } });

async function baseOrThrow(db: Conn, baseId: number) {
  if (!(await getBase(db, baseId))) throw notFound('base', baseId);
}

/** The segment if it exists in the base and the viewer may see it; 404 otherwise (a private segment of someone else does not exist for you). */
async function visibleOrThrow(db: Conn, baseId: number, id: number, v: Viewer, opts: { forUpdate?: boolean } = {}): Promise<repo.SegmentRow> {
  const row = await repo.getSegment(db, baseId, id, opts);
  if (row && visible(row, v)) return row;
  await baseOrThrow(db, baseId);
  throw segmentNotFound(id);
}

function nameConflict(e: unknown, name: string | undefined): never {
  throw fromDb(e, { value: name ?? '' });
}

/** Field errors of a query named from the request body: `filter.and[0].field` becomes `query.filter.and[0].field`. */
const prefixed = (errors: FieldError[], prefix: string): FieldError[] => errors.map((e) => ({ ...e, field: `${prefix}.${e.field}` }));

/** Re-throws a query validation error with its fields under `prefix`. */
async function underPrefix<T>(prefix: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof AppError && e.code === 'validation_failed') throw invalid(prefixed(e.errors, prefix));
    throw e;
  }
}

// ---------------------------------------------------------------------------
// references between segments
// ---------------------------------------------------------------------------

/** Every `{field: 'segment', value}` condition of a filter, with the path the compiler would name. */
export function segmentRefs(n: unknown, path = 'filter', out: { id: number; path: string }[] = []): { id: number; path: string }[] {
  if (typeof n !== 'object' || n === null || Array.isArray(n)) return out;
  const o = n as Record<string, unknown>;
  for (const k of ['and', 'or'] as const) {
    if (Array.isArray(o[k])) (o[k] as unknown[]).forEach((c, i) => segmentRefs(c, `${path}.${k}[${i}]`, out));
  }
  if ('not' in o) segmentRefs(o.not, `${path}.not`, out);
  if (o.field === 'segment') {
    const v = typeof o.value === 'string' && /^\d+$/.test(o.value) ? Number(o.value) : o.value;
    if (typeof v === 'number' && Number.isSafeInteger(v)) out.push({ id: v, path: `${path}.value` });
  }
  return out;
}

/**
 * Compiles a query the way search will, reporting every problem under `query.`:
 * unknown fields, bad values, segments the caller cannot see, and (with `selfId`)
 * a reference back to the segment being saved, directly or through others.
 */
async function checkQuery(db: Conn, baseId: number, query: Query, v: Viewer, selfId?: number): Promise<Compiled> {
  const ctx = await compileContext(db, baseId);
  const errs = new FieldErrors();
  const compiled = await compileQuery(query, ctx, { errs, visiting: new Set(selfId === undefined ? [] : [selfId]) });
  const refs = segmentRefs(query.filter);
  if (refs.length) {
    const rows = await db
      .selectFrom('segments')
      .select(['id', 'shared', 'owner_id'])
      .where('base_id', '=', baseId)
      .where('id', 'in', [...new Set(refs.map((r) => r.id))])
      .execute();
    const hidden = new Set(rows.filter((r) => !visible(r, v)).map((r) => Number(r.id)));
    for (const r of refs) if (hidden.has(r.id)) errs.add(r.path, 'filter_segment_unknown', { value: r.id });
  }
  if (errs.list.length) throw invalid(prefixed(errs.list, 'query'));
  return compiled;
}

async function countOf(db: Conn, row: { base_id: number; id: number; kind: string; query: unknown }): Promise<{ count: number; ms: number }> {
  if (row.kind === 'dynamic') return underPrefix('query', () => countMatching(db, row.base_id, (row.query ?? {}) as Query));
  const t0 = performance.now();
  const count = await repo.countMembers(db, row.base_id, row.id);
  return { count, ms: Math.round(performance.now() - t0) };
}

// ---------------------------------------------------------------------------
// definitions
// ---------------------------------------------------------------------------

export async function listSegments(db: Db, baseId: number, v: Viewer): Promise<Segment[]> {
  await baseOrThrow(db, baseId);
  return (await repo.listSegments(db, baseId, v)).map(toSegment);
}

export async function getSegment(db: Db, baseId: number, id: number, v: Viewer): Promise<Segment> {
  return toSegment(await visibleOrThrow(db, baseId, id, v));
}

export async function createSegment(db: Db, baseId: number, body: z.infer<typeof SegmentCreateBody>, v: Viewer): Promise<Segment> {
  await baseOrThrow(db, baseId);
  const errs = new FieldErrors();
  if (body.kind === 'dynamic' && body.query === undefined) errs.add('query', 'required');
  if (body.kind === 'manual' && body.query !== undefined) errs.add('query', 'segment_manual_query');
  errs.throwIfAny();
  try {
    return await db.transaction().execute(async (trx) => {
      await repo.lockDefinitions(trx, baseId);
      let counted = { count: 0, ms: 0 };
      if (body.kind === 'dynamic') {
        await checkQuery(trx, baseId, body.query as Query, v);
        counted = await underPrefix('query', () => countMatching(trx, baseId, body.query as Query));
      }
      const row = await repo.insertSegment(trx, {
        baseId,
        name: body.name,
        kind: body.kind,
        query: body.kind === 'dynamic' ? body.query : null,
        ownerId: v.userId,
        shared: body.shared ?? true,
        count: counted.count,
        countMs: counted.ms,
      });
      return toSegment(row);
    });
  } catch (e) {
    nameConflict(e, body.name);
  }
}

export async function updateSegment(db: Db, baseId: number, id: number, body: z.infer<typeof SegmentUpdateBody>, v: Viewer): Promise<Segment> {
  try {
    return await db.transaction().execute(async (trx) => {
      await repo.lockDefinitions(trx, baseId);
      const cur = await visibleOrThrow(trx, baseId, id, v, { forUpdate: true });
      if (body.shared !== undefined && body.shared !== cur.shared && !isOwner(cur, v)) {
        throw new AppError('forbidden', { detail: 'forbidden.segment_owner' });
      }
      let count: { count: number; ms: number } | undefined;
      if (body.query !== undefined) {
        if (cur.kind === 'manual') throw invalid([{ field: 'query', key: 'segment_manual_query' }]);
        await checkQuery(trx, baseId, body.query as Query, v, id);
        if (JSON.stringify(body.query) !== JSON.stringify(cur.query)) count = await underPrefix('query', () => countMatching(trx, baseId, body.query as Query));
      }
      const row = await repo.updateSegment(trx, baseId, id, { name: body.name, query: body.query, shared: body.shared, count });
      if (!row) throw segmentNotFound(id);
      return toSegment(row);
    });
  } catch (e) {
    if (e instanceof AppError) throw e;
    nameConflict(e, body.name);
  }
}

/** Deletes a segment no other segment's filter refers to (those would stop working). */
export async function deleteSegment(db: Db, baseId: number, id: number, v: Viewer): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await repo.lockDefinitions(trx, baseId);
    await visibleOrThrow(trx, baseId, id, v);
    const users = (await repo.dynamicSegments(trx, baseId)).filter((s) => Number(s.id) !== id && segmentRefs((s.query as Query | null)?.filter).some((r) => r.id === id));
    if (users.length) {
      throw new AppError('conflict', { detail: 'conflict.segment_in_use', params: { names: users.map((s) => `«${s.name}» (${s.id})`).join(', ') } });
    }
    await repo.deleteSegment(trx, baseId, id);
  });
}

/** Counts now and stores the count with when and how long. */
export async function recount(db: Db, baseId: number, id: number, v: Viewer): Promise<Segment> {
  const cur = await visibleOrThrow(db, baseId, id, v);
  const count = await countOf(db, cur);
  const row = await repo.updateSegment(db, baseId, id, { count });
  if (!row) throw segmentNotFound(id);
  return toSegment(row);
}

// ---------------------------------------------------------------------------
// manual membership
// ---------------------------------------------------------------------------

export async function changeMembers(
  db: Db,
  baseId: number,
  id: number,
  body: z.infer<typeof MembersBody>,
  v: Viewer,
  action: 'add' | 'remove',
): Promise<{ changed: number; count: number }> {
  if ((body.ids === undefined) === (body.query === undefined)) throw invalid([{ field: body.ids === undefined ? 'ids' : 'query', key: 'segment_members_one_of' }]);
  return db.transaction().execute(async (trx) => {
    // The row lock serializes membership changes of one segment, so the stored count is exact.
    const seg = await visibleOrThrow(trx, baseId, id, v, { forUpdate: true });
    if (seg.kind !== 'manual') throw new AppError('conflict', { detail: 'conflict.segment_dynamic', params: { name: seg.name } });
    let changed: number;
    if (body.ids !== undefined) {
      const ids = [...new Set(body.ids)];
      changed = action === 'add' ? await repo.addMemberIds(trx, baseId, id, ids) : await repo.removeMemberIds(trx, baseId, id, ids);
    } else {
      const ctx = await compileContext(trx, baseId);
      const compiled = await underPrefix('query', () => compileQuery(body.query as Query, ctx));
      const matching = idsSql(baseId, compiled.sql);
      changed = action === 'add' ? await repo.addMemberQuery(trx, baseId, id, matching) : await repo.removeMemberQuery(trx, baseId, id, matching);
    }
    const count = await countOf(trx, seg);
    await repo.updateSegment(trx, baseId, id, { count });
    return { changed, count: count.count };
  });
}
