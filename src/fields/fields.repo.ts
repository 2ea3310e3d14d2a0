import { sql } from 'kysely';
import type { Conn } from '../db/db.ts';
import type { FieldRow } from '../db/schema.ts';
import type { CustomValue, FieldDef, FieldType } from './fields.schema.ts';

export function toFieldDef(r: FieldRow): FieldDef {
  return {
    key: r.key,
    type: r.type as FieldType,
    label: { ru: r.label_ru, en: r.label_en },
    required: r.required,
    default: (r.default_value as CustomValue | null) ?? null,
    listMode: r.list_mode as FieldDef['listMode'],
    options: r.options,
    showInSubscriptionManager: r.in_sub_manager,
    position: r.position,
  };
}

function toRow(d: FieldDef) {
  return {
    type: d.type,
    label_ru: d.label.ru,
    label_en: d.label.en,
    required: d.required,
    default_value: d.default === null ? null : JSON.stringify(d.default),
    list_mode: d.listMode,
    options: JSON.stringify(d.options),
    in_sub_manager: d.showInSubscriptionManager,
    position: d.position,
  };
}

/** `forShare` makes a writer's transaction wait for (and block) concurrent definition changes. */
export async function listFields(db: Conn, baseId: number, opts: { forShare?: boolean } = {}): Promise<FieldDef[]> {
  let q = db.selectFrom('fields').selectAll().where('base_id', '=', baseId).orderBy('position').orderBy('created_at');
  if (opts.forShare) q = q.forShare();
  return (await q.execute()).map(toFieldDef);
}

export async function getField(db: Conn, baseId: number, key: string, opts: { forUpdate?: boolean } = {}): Promise<FieldDef | undefined> {
  let q = db.selectFrom('fields').selectAll().where('base_id', '=', baseId).where('key', '=', key);
  if (opts.forUpdate) q = q.forUpdate();
  const r = await q.executeTakeFirst();
  return r && toFieldDef(r);
}

export async function insertField(db: Conn, baseId: number, d: FieldDef): Promise<void> {
  await db.insertInto('fields').values({ base_id: baseId, key: d.key, ...toRow(d) }).execute();
}

export async function updateField(db: Conn, baseId: number, d: FieldDef): Promise<void> {
  await db.updateTable('fields').set({ ...toRow(d), updated_at: new Date() }).where('base_id', '=', baseId).where('key', '=', d.key).execute();
}

/** Deletes the definition and, set-based, every stored value of it. */
export async function deleteField(db: Conn, baseId: number, key: string): Promise<boolean> {
  const r = await db.deleteFrom('fields').where('base_id', '=', baseId).where('key', '=', key).executeTakeFirst();
  if (r.numDeletedRows === 0n) return false;
  await sql`UPDATE profiles SET fields = fields - ${key}::text WHERE base_id = ${baseId} AND fields ? ${key}::text`.execute(db);
  return true;
}

// name: distinct-field-values
// Every distinct stored value of one custom field, for a type-change check.
export async function distinctValues(db: Conn, baseId: number, key: string): Promise<{ value: unknown; n: number }[]> {
  const r = await sql<{ value: unknown; n: number }>`
    SELECT fields -> ${key}::text AS value, count(*)::int AS n
    FROM profiles WHERE base_id = ${baseId} AND fields ? ${key}::text
    GROUP BY 1`.execute(db);
  return r.rows;
}

// name: rewrite-field-values
// Replaces stored values by their converted form in one statement (pairs of old -> new jsonb);
// a value that converts to null (e.g. the string "," as tags) is removed, like any cleared value.
export async function rewriteValues(db: Conn, baseId: number, key: string, pairs: { from: unknown; to: unknown }[]): Promise<void> {
  if (!pairs.length) return;
  await sql`
    UPDATE profiles p SET fields = CASE WHEN m.new_value = 'null'::jsonb THEN p.fields - ${key}::text
                                        ELSE jsonb_set(p.fields, ARRAY[${key}::text], m.new_value) END
    FROM unnest(${pairs.map((x) => JSON.stringify(x.from))}::jsonb[], ${pairs.map((x) => JSON.stringify(x.to))}::jsonb[]) AS m(old_value, new_value)
    WHERE p.base_id = ${baseId} AND p.fields -> ${key}::text = m.old_value`.execute(db);
}

// name: accumulate-list-options
// Free lists remember every value used, so filters can offer them as checkboxes.
export async function addListOptions(db: Conn, baseId: number, key: string, values: string[]): Promise<void> {
  if (!values.length) return;
  await sql`
    UPDATE fields SET options = options || (
      SELECT coalesce(jsonb_agg(v), '[]'::jsonb) FROM unnest(${values}::text[]) AS v WHERE NOT options ? v)
    WHERE base_id = ${baseId} AND key = ${key} AND list_mode = 'free'
      AND NOT options ?& ${values}::text[]`.execute(db);
}
