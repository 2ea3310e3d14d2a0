// The clients table as each user set it up for a base: visible columns in
// order, pinned columns, sort. Stored server-side so it follows the user.
import { sql } from 'kysely';
import { getBase } from '../bases/bases.service.ts';
import type { Principal } from '../auth/permissions.ts';
import type { Conn, Db } from '../db/db.ts';
import { listFields } from '../fields/fields.service.ts';
import type { FieldDef } from '../fields/fields.schema.ts';
import { STANDARD_FIELDS } from '../fields/standard.ts';
import { FieldErrors, notFound } from '../errors/errors.ts';
import type { TableSettingsT } from './table.schema.ts';

export const MAX_PINNED = 5;

export const DEFAULT_SETTINGS: TableSettingsT = {
  columns: ['lastName', 'firstName', 'middleName', 'phone', 'email', 'cardNumber', 'city', 'tags', 'createdAt'],
  pinned: ['lastName'],
  sort: [{ field: 'createdAt', dir: 'desc' }],
};

const copy = (s: TableSettingsT): TableSettingsT => ({ columns: [...s.columns], pinned: [...s.pinned], sort: s.sort.map((k) => ({ ...k })) });

/** Whose settings: the signed-in user; the admin env token acts for the first administrator. */
export async function settingsUserId(db: Conn, p: Principal): Promise<number> {
  if (p.userId !== null) return p.userId;
  const first = await db.selectFrom('users').select('id').where('role', '=', 'admin').orderBy('id').executeTakeFirst();
  if (!first) throw notFound('user', 'admin');
  return Number(first.id);
}

/** What a column may show, and what the table may sort by, in this base. */
function fieldSets(defs: FieldDef[]): { columns: Set<string>; sortable: Set<string> } {
  const standard = STANDARD_FIELDS.map((f) => f.key);
  const custom = defs.map((d) => `fields.${d.key}`);
  const columns = new Set(['id', ...standard, 'fullName', 'tags', ...custom]);
  // As /profiles/search sorts: not by tag lists or the composed full name.
  const sortable = new Set(['id', ...standard, ...defs.filter((d) => d.type !== 'tags').map((d) => `fields.${d.key}`)]);
  return { columns, sortable };
}

async function defsOrThrow(db: Conn, baseId: number): Promise<FieldDef[]> {
  if (!(await getBase(db, baseId))) throw notFound('base', baseId);
  return listFields(db, baseId);
}

export async function getSettings(db: Db, baseId: number, p: Principal): Promise<TableSettingsT> {
  const defs = await defsOrThrow(db, baseId);
  const userId = await settingsUserId(db, p);
  const row = await db.selectFrom('table_settings').select('settings').where('user_id', '=', userId).where('base_id', '=', baseId).executeTakeFirst();
  if (!row) return copy(DEFAULT_SETTINGS);
  // A custom field deleted since the save simply drops out of the table.
  const saved = row.settings as TableSettingsT;
  const { columns: known, sortable } = fieldSets(defs);
  const columns = saved.columns.filter((c) => known.has(c));
  if (!columns.length) return copy(DEFAULT_SETTINGS);
  const widths = Object.entries(saved.widths ?? {}).filter(([c]) => known.has(c));
  return {
    columns,
    pinned: saved.pinned.filter((c) => columns.includes(c)),
    sort: saved.sort.filter((k) => sortable.has(k.field)),
    ...(widths.length ? { widths: Object.fromEntries(widths) } : {}),
  };
}

export async function putSettings(db: Db, baseId: number, p: Principal, body: TableSettingsT): Promise<TableSettingsT> {
  const defs = await defsOrThrow(db, baseId);
  const { columns: known, sortable } = fieldSets(defs);
  const errs = new FieldErrors();
  const seen = new Set<string>();
  body.columns.forEach((c, i) => {
    if (!known.has(c)) errs.add(`columns[${i}]`, 'table_column_unknown', { field: c });
    else if (seen.has(c)) errs.add(`columns[${i}]`, 'table_column_duplicate', { field: c });
    seen.add(c);
  });
  const pinned = [...new Set(body.pinned)];
  if (pinned.length > MAX_PINNED) errs.add('pinned', 'too_many', { max: MAX_PINNED });
  for (const c of pinned) if (!body.columns.includes(c)) errs.add('pinned', 'table_pinned_not_column', { field: c });
  const sorted = new Set<string>();
  body.sort.forEach((k, i) => {
    if (!sortable.has(k.field)) errs.add(`sort[${i}].field`, 'table_sort_field', { field: k.field });
    else if (sorted.has(k.field)) errs.add(`sort[${i}].field`, 'table_column_duplicate', { field: k.field });
    sorted.add(k.field);
  });
  // A width may stay for a hidden column: shown again, it comes back as the user left it.
  for (const c of Object.keys(body.widths ?? {})) if (!known.has(c)) errs.add(`widths.${c}`, 'table_column_unknown', { field: c });
  errs.throwIfAny();
  const userId = await settingsUserId(db, p);
  const widths = body.widths && Object.keys(body.widths).length ? { widths: body.widths } : {};
  const settings: TableSettingsT = { columns: body.columns, pinned, sort: body.sort, ...widths };
  await db
    .insertInto('table_settings')
    .values({ user_id: userId, base_id: baseId, settings: JSON.stringify(settings) })
    .onConflict((oc) => oc.columns(['user_id', 'base_id']).doUpdateSet({ settings: JSON.stringify(settings), updated_at: sql`now()` }))
    .execute();
  return settings;
}
