import { sql } from 'kysely';
import type { Conn } from '../db/db.ts';

export interface TagRow {
  base_id: number;
  id: number;
  name: string;
  color: string;
  created_at: Date;
  count?: number;
}

export async function listTags(db: Conn, baseId: number): Promise<TagRow[]> {
  return db.selectFrom('tags').selectAll().where('base_id', '=', baseId).orderBy(sql`lower(name)`).orderBy('id').execute();
}

// name: tags-with-counts
// Every tag of a base with how many profiles carry it: one pass over the base's profiles.
export async function listTagsWithCounts(db: Conn, baseId: number): Promise<TagRow[]> {
  const r = await sql<TagRow>`
    SELECT t.*, coalesce(c.n, 0)::int AS count
    FROM tags t
    LEFT JOIN (
      SELECT u.tag_id, count(*) AS n
      FROM profiles p, unnest(p.tags) AS u(tag_id)
      WHERE p.base_id = ${baseId}
      GROUP BY u.tag_id
    ) c ON c.tag_id = t.id
    WHERE t.base_id = ${baseId}
    ORDER BY lower(t.name), t.id`.execute(db);
  return r.rows;
}

export async function getTag(db: Conn, baseId: number, id: number): Promise<TagRow | undefined> {
  return db.selectFrom('tags').selectAll().where('base_id', '=', baseId).where('id', '=', id).executeTakeFirst();
}

export async function insertTag(db: Conn, baseId: number, values: { name: string; color?: string }): Promise<TagRow> {
  return db
    .insertInto('tags')
    .values({ base_id: baseId, name: values.name, ...(values.color ? { color: values.color } : {}) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateTag(db: Conn, baseId: number, id: number, values: { name?: string; color?: string }): Promise<TagRow | undefined> {
  const set = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
  if (!Object.keys(set).length) return getTag(db, baseId, id);
  return db.updateTable('tags').set(set).where('base_id', '=', baseId).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteTag(db: Conn, baseId: number, id: number): Promise<boolean> {
  const r = await db.deleteFrom('tags').where('base_id', '=', baseId).where('id', '=', id).executeTakeFirst();
  return r.numDeletedRows > 0n;
}

// name: tag-remove-from-profiles
// Takes a deleted tag off every profile of the base that carries it (the GIN index finds them).
export async function removeTagFromProfiles(db: Conn, baseId: number, id: number): Promise<number> {
  const r = await sql`
    UPDATE profiles SET tags = array_remove(tags, ${id}::bigint), updated_at = now()
    WHERE base_id = ${baseId} AND tags @> ARRAY[${id}::bigint]`.execute(db);
  return Number(r.numAffectedRows ?? 0n);
}

/** Which of `ids` are tags of the base; FOR SHARE keeps them from being deleted until the transaction ends. */
export async function existingTagIds(db: Conn, baseId: number, ids: number[], opts: { lock?: boolean } = {}): Promise<Set<number>> {
  if (!ids.length) return new Set();
  let q = db.selectFrom('tags').select('id').where('base_id', '=', baseId).where('id', 'in', ids);
  if (opts.lock) q = q.forShare();
  return new Set((await q.execute()).map((t) => Number(t.id)));
}
