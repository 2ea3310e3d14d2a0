import { sql, type RawBuilder } from 'kysely';
import type { Conn } from '../db/db.ts';

export interface SegmentRow {
  base_id: number;
  id: number;
  name: string;
  kind: string;
  query: unknown;
  owner_id: number | null;
  shared: boolean;
  count: number | null;
  counted_at: Date | null;
  count_ms: number | null;
  created_at: Date;
  updated_at: Date;
}

/** Segments of a base a user sees: shared ones and their own (`all`: every one). */
export async function listSegments(db: Conn, baseId: number, viewer: { userId: number | null; all: boolean }): Promise<SegmentRow[]> {
  let q = db.selectFrom('segments').selectAll().where('base_id', '=', baseId);
  if (!viewer.all) {
    const uid = viewer.userId;
    q = q.where((eb) => (uid === null ? eb('shared', '=', true) : eb.or([eb('shared', '=', true), eb('owner_id', '=', uid)])));
  }
  return (await q.orderBy(sql`lower(name)`).orderBy('id').execute()) as SegmentRow[];
}

export async function getSegment(db: Conn, baseId: number, id: number, opts: { forUpdate?: boolean } = {}): Promise<SegmentRow | undefined> {
  let q = db.selectFrom('segments').selectAll().where('base_id', '=', baseId).where('id', '=', id);
  if (opts.forUpdate) q = q.forUpdate();
  return (await q.executeTakeFirst()) as SegmentRow | undefined;
}

export async function dynamicSegments(db: Conn, baseId: number): Promise<{ id: number; name: string; query: unknown }[]> {
  return db.selectFrom('segments').select(['id', 'name', 'query']).where('base_id', '=', baseId).where('kind', '=', 'dynamic').orderBy('id').execute();
}

export async function insertSegment(
  db: Conn,
  v: { baseId: number; name: string; kind: string; query: unknown; ownerId: number | null; shared: boolean; count: number; countMs: number },
): Promise<SegmentRow> {
  return (await db
    .insertInto('segments')
    .values({
      base_id: v.baseId,
      name: v.name,
      kind: v.kind,
      query: v.query === null ? null : JSON.stringify(v.query),
      owner_id: v.ownerId,
      shared: v.shared,
      count: v.count,
      counted_at: new Date(),
      count_ms: v.countMs,
    })
    .returningAll()
    .executeTakeFirstOrThrow()) as SegmentRow;
}

export async function updateSegment(
  db: Conn,
  baseId: number,
  id: number,
  v: { name?: string; query?: unknown; shared?: boolean; count?: { count: number; ms: number } },
): Promise<SegmentRow | undefined> {
  const set: Record<string, unknown> = {};
  if (v.name !== undefined) set.name = v.name;
  if (v.query !== undefined) set.query = JSON.stringify(v.query);
  if (v.shared !== undefined) set.shared = v.shared;
  if (Object.keys(set).length) set.updated_at = new Date();
  if (v.count) Object.assign(set, { count: v.count.count, count_ms: v.count.ms, counted_at: new Date() });
  if (!Object.keys(set).length) return getSegment(db, baseId, id);
  return (await db.updateTable('segments').set(set).where('base_id', '=', baseId).where('id', '=', id).returningAll().executeTakeFirst()) as SegmentRow | undefined;
}

export async function deleteSegment(db: Conn, baseId: number, id: number): Promise<boolean> {
  const r = await db.deleteFrom('segments').where('base_id', '=', baseId).where('id', '=', id).executeTakeFirst();
  return r.numDeletedRows > 0n;
}

export async function countMembers(db: Conn, baseId: number, segmentId: number): Promise<number> {
  const r = await db
    .selectFrom('segment_members')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('base_id', '=', baseId)
    .where('segment_id', '=', segmentId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

// name: segment-add-ids
// Adds the given profiles of the base to a manual segment; ids of other bases or unknown ids add nothing.
export async function addMemberIds(db: Conn, baseId: number, segmentId: number, ids: number[]): Promise<number> {
  const r = await sql`
    INSERT INTO segment_members (base_id, segment_id, profile_id)
    SELECT p.base_id, ${segmentId}::bigint, p.id FROM profiles p WHERE p.base_id = ${baseId} AND p.id = ANY(${ids}::bigint[])
    ON CONFLICT DO NOTHING`.execute(db);
  return Number(r.numAffectedRows ?? 0n);
}

// name: segment-add-query
// Adds everything a compiled query finds, in one statement; `ids` is its subquery of profile ids (find's idsSql).
export async function addMemberQuery(db: Conn, baseId: number, segmentId: number, ids: RawBuilder<{ id: number }>): Promise<number> {
  const r = await sql`
    INSERT INTO segment_members (base_id, segment_id, profile_id)
    SELECT ${baseId}::bigint, ${segmentId}::bigint, m.id FROM (${ids}) m
    ON CONFLICT DO NOTHING`.execute(db);
  return Number(r.numAffectedRows ?? 0n);
}

export async function removeMemberIds(db: Conn, baseId: number, segmentId: number, ids: number[]): Promise<number> {
  const r = await sql`
    DELETE FROM segment_members WHERE base_id = ${baseId} AND segment_id = ${segmentId} AND profile_id = ANY(${ids}::bigint[])`.execute(db);
  return Number(r.numAffectedRows ?? 0n);
}

// name: segment-remove-query
// Removes every member a compiled query finds; `ids` is its subquery of profile ids (find's idsSql).
export async function removeMemberQuery(db: Conn, baseId: number, segmentId: number, ids: RawBuilder<{ id: number }>): Promise<number> {
  const r = await sql`
    DELETE FROM segment_members sm WHERE sm.base_id = ${baseId} AND sm.segment_id = ${segmentId}
      AND sm.profile_id IN (${ids})`.execute(db);
  return Number(r.numAffectedRows ?? 0n);
}

/** Serializes changes of segment definitions in a base, so two concurrent edits cannot build a reference cycle. */
export async function lockDefinitions(db: Conn, baseId: number): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext('kartoteka.segments'), ${baseId}::int)`.execute(db);
}
