// Tags: coloured labels per base, put on profiles through the card (PATCH
// profile `tags`), this service's add/remove, or mass edit. Deleting a tag takes
// it off every profile in the same transaction.
import type { z } from 'zod';
import { getBase } from '../bases/bases.service.ts';
import type { Db } from '../db/db.ts';
import { AppError, FieldErrors, notFound, fromDb } from '../errors/errors.ts';
import type { Profile } from '../profiles/profiles.schema.ts';
import { getProfileRow, toProfile } from '../profiles/profiles.service.ts';
import { writeProfiles, type Kind, type WritePlan } from '../profiles/profiles.write.ts';
import * as repo from './tags.repo.ts';
import type { AssignBody, Tag, TagCreateBody, TagUpdateBody } from './tags.schema.ts';

export function toTag(r: repo.TagRow): Tag {
  return {
    id: Number(r.id),
    name: r.name,
    color: r.color,
    createdAt: r.created_at.toISOString(),
    ...(r.count !== undefined ? { count: Number(r.count) } : {}),
  };
}

export const tagNotFound = (id: number) => new AppError('not_found', { detail: 'not_found.tag', params: { id } });

async function baseOrThrow(db: Db, baseId: number) {
  const base = await getBase(db, baseId);
  if (!base) throw notFound('base', baseId);
  return base;
}

function nameConflict(e: unknown, name: string | undefined, baseId: number): never {
  throw fromDb(e, { value: name ?? '', id: baseId }); // a base gone meanwhile: not found
}

export async function listTags(db: Db, baseId: number, withCounts: boolean): Promise<Tag[]> {
  await baseOrThrow(db, baseId);
  const rows = withCounts ? await repo.listTagsWithCounts(db, baseId) : await repo.listTags(db, baseId);
  return rows.map(toTag);
}

export async function createTag(db: Db, baseId: number, body: z.infer<typeof TagCreateBody>): Promise<Tag> {
  await baseOrThrow(db, baseId);
  try {
    return toTag(await repo.insertTag(db, baseId, body));
  } catch (e) {
    nameConflict(e, body.name, baseId);
  }
}

export async function updateTag(db: Db, baseId: number, id: number, body: z.infer<typeof TagUpdateBody>): Promise<Tag> {
  await baseOrThrow(db, baseId);
  let row: repo.TagRow | undefined;
  try {
    row = await repo.updateTag(db, baseId, id, body);
  } catch (e) {
    nameConflict(e, body.name, baseId);
  }
  if (!row) throw tagNotFound(id);
  return toTag(row);
}

/** Deletes the tag and takes it off every profile of the base, atomically. */
/** Whether a saved filter names the tag (a {field: 'tags'} condition listing its id), at any depth. */
export function filterUsesTag(n: unknown, id: number): boolean {
  if (Array.isArray(n)) return n.some((x) => filterUsesTag(x, id));
  if (typeof n !== 'object' || n === null) return false;
  const o = n as Record<string, unknown>;
  if (o.field === 'tags' && Array.isArray(o.value) && o.value.some((v) => Number(v) === id)) return true;
  return Object.values(o).some((v) => typeof v === 'object' && filterUsesTag(v, id));
}

export async function deleteTag(db: Db, baseId: number, id: number): Promise<void> {
  await baseOrThrow(db, baseId);
  await db.transaction().execute(async (trx) => {
    // A saved filter that names the tag would stop working: refuse, naming the segments.
    const dynamic = await trx.selectFrom('segments').select(['name', 'query']).where('base_id', '=', baseId).where('kind', '=', 'dynamic').forShare().execute();
    const users = dynamic.filter((sgm) => filterUsesTag((sgm.query as { filter?: unknown } | null)?.filter, id)).map((sgm) => `«${sgm.name}»`);
    if (users.length) throw new AppError('conflict', { detail: 'conflict.tag_in_use', params: { names: users.join(', ') } });
    if (!(await repo.deleteTag(trx, baseId, id))) throw tagNotFound(id);
    await repo.removeTagFromProfiles(trx, baseId, id);
  });
}

const uniq = (ids: number[] | undefined) => [...new Set(ids ?? [])];

/** Puts tags on one profile and takes others off; the tags stay locked until the write commits. */
export async function assignTags(db: Db, baseId: number, profileId: number, body: z.infer<typeof AssignBody>, actor: string): Promise<Profile> {
  const add = uniq(body.add);
  const remove = uniq(body.remove);
  const errs = new FieldErrors();
  for (const id of add) if (remove.includes(id)) errs.add('remove', 'tag_add_remove_both', { value: id });
  errs.throwIfAny();
  return db.transaction().execute(async (trx) => {
    const cur = await getProfileRow(trx, baseId, profileId, { forUpdate: true });
    if (!cur) {
      if (!(await getBase(trx, baseId))) throw notFound('base', baseId);
      throw notFound('profile', profileId);
    }
    const known = await repo.existingTagIds(trx, baseId, [...add, ...remove], { lock: true });
    for (const id of add) if (!known.has(id)) errs.add('add', 'filter_tag_unknown', { value: id });
    for (const id of remove) if (!known.has(id)) errs.add('remove', 'filter_tag_unknown', { value: id });
    errs.throwIfAny();
    const plan: WritePlan = { baseId, actor, mode: 'update', columns: {}, customKeys: [], defaults: {}, regSource: 'api', source: {} };
    const r = await writeProfiles(trx, plan, [{ line: 1, kind: cur.kind as Kind, target: profileId, values: {}, tagsAdd: add, tagsRemove: remove }]);
    if (r.outcomes[0]?.outcome !== 'updated') return toProfile(cur);
    const row = (await getProfileRow(trx, baseId, profileId))!;
    return toProfile(row);
  });
}
