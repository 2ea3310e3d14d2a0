// Profiles: normalization on every write, identity rules (seed 002), the
// subscriber -> member merge, set-once registration data, and the event log.
import { getBase, nextCardSeq } from '../bases/bases.service.ts';
import type { Conn, Db } from '../db/db.ts';
import type { NewProfileRow, ProfileRow } from '../db/schema.ts';
import type { CustomValue, FieldDef } from '../fields/fields.schema.ts';
import { coerceValue, listFields } from '../fields/fields.service.ts';
import { STANDARD_FIELDS, type StandardField } from '../fields/standard.ts';
import { AppError, FieldErrors, invalidField, notFound, violation } from '../errors/errors.ts';
import * as N from './normalize.ts';
import * as repo from './profiles.repo.ts';
import type { Profile, ProfileInput } from './profiles.schema.ts';
import { WRITE_FIELDS, writeProfiles, type Kind, type RowOutcome, type WriteFailure, type WritePlan, type WriteRow } from './profiles.write.ts';

// Other domains reach profile rows through this service (issue 10): a row as stored (getProfile below is the
// API view), and the bulk import's load table (import.job.ts).
export { getProfile as getProfileRow } from './profiles.repo.ts';
export { analyzeBase, attachLoaded, clientCounts, buildLoadIndex, createLoadTable, dropLoadTable, isEmptyBase, loadIndexStatements, loadTable } from './profiles.repo.ts';

type Columns = Omit<NewProfileRow, 'base_id' | 'id' | 'created_at' | 'updated_at' | 'fields' | 'tags' | 'birth_md' | 'search'>;
type ColumnName = keyof Columns & string;


export function toProfile(r: ProfileRow): Profile {
  // Every standard field by its API key, as stored; times as ISO strings (the API schema checks the shape).
  const out: Record<string, unknown> = { id: r.id, baseId: r.base_id };
  for (const f of STANDARD_FIELDS) {
    const v = (r as unknown as Record<string, unknown>)[f.column] ?? null;
    out[f.key] = v instanceof Date ? v.toISOString() : v;
  }
  return { ...out, fields: r.fields, tags: r.tags.map(Number) } as Profile;
}

/** One standard value to its stored form; undefined means "invalid" (an error was recorded). */
export function normalizeStandard(f: StandardField, raw: string, region: string, errs: FieldErrors): string | null | undefined {
  const v = raw.trim();
  if (v === '') return null;
  const bad = (key: Parameters<FieldErrors['add']>[1]) => (errs.add(f.key, key, { value: raw.slice(0, 100) }), undefined);
  switch (f.type) {
    case 'phone':
      return N.normalizePhone(v, region) ?? bad('phone_invalid');
    case 'email':
      return N.normalizeEmail(v) ?? bad('email_invalid');
    case 'card':
      return N.normalizeCardNumber(v) ?? bad('card_invalid');
    case 'date':
      return N.parseBirthDate(v) ?? bad('birth_date_invalid');
    case 'gender':
      return N.parseGender(v) ?? bad('gender_invalid');
    case 'enum':
      return f.values?.includes(v) ? v : (errs.add(f.key, 'invalid_enum', { values: f.values?.join(', ') ?? '' }), undefined);
    case 'string': {
      const s = f.key === 'carNumber' ? v.replace(/[\s-]/g, '').toUpperCase() : N.normalizeName(v);
      if (s && f.maxLength && s.length > f.maxLength) return (errs.add(f.key, 'too_long', { max: f.maxLength }), undefined);
      return s;
    }
    default:
      return v;
  }
}

interface Prepared {
  cols: Partial<Record<ColumnName, string | null>>;
  custom: Record<string, CustomValue | null>;
}

/** Normalizes what the client sent; collects every error instead of stopping at the first. */
function prepare(input: ProfileInput, region: string, defs: Map<string, FieldDef>, errs: FieldErrors): Prepared {
  const cols: Prepared['cols'] = {};
  const record = input as Record<string, unknown>;
  for (const f of WRITE_FIELDS) {
    const raw = record[f.key];
    if (raw === undefined) continue;
    const v = raw === null ? null : normalizeStandard(f, String(raw), region, errs);
    if (v !== undefined) cols[f.column as ColumnName] = v;
  }
  const custom: Prepared['custom'] = {};
  for (const [key, raw] of Object.entries(input.fields ?? {})) {
    const def = defs.get(key);
    if (!def) {
      errs.add(`fields.${key}`, 'field_unknown', { key });
      continue;
    }
    const c = coerceValue(def, raw);
    if (c.ok) custom[key] = c.value;
    else errs.add(`fields.${key}`, c.key, c.params);
  }
  return { cols, custom };
}

/**
 * The base and its field definitions, read inside the write's transaction. The definitions stay
 * share-locked until commit, so a concurrent type change or field delete waits for this write.
 */
async function loadContext(trx: Conn, baseId: number) {
  const base = await getBase(trx, baseId);
  if (!base) throw notFound('base', baseId);
  const defs = new Map((await listFields(trx, baseId, { forShare: true })).map((d) => [d.key, d]));
  return { base, defs };
}

/** Tag ids must be tags of this base (share-locked until commit: a concurrent delete waits); stored sorted and unique. */
async function checkTags(trx: Conn, baseId: number, ids: number[] | undefined, errs: FieldErrors): Promise<number[] | undefined> {
  if (ids === undefined) return undefined;
  const uniq = [...new Set(ids)].sort((a, b) => a - b);
  if (!uniq.length) return [];
  const known = new Set((await trx.selectFrom('tags').select('id').where('base_id', '=', baseId).where('id', 'in', uniq).forShare().execute()).map((t) => t.id));
  for (const id of uniq) if (!known.has(id)) errs.add('tags', 'filter_tag_unknown', { value: id });
  return uniq;
}

async function issueCard(db: Conn, baseId: number): Promise<string> {
  for (;;) {
    const { seq, prefix, length } = await nextCardSeq(db, baseId);
    const free = length - 1 - prefix.length;
    if (String(seq).length > free) throw new AppError('conflict', { detail: 'conflict.cards_exhausted', params: { length, prefix } });
    const card = N.generateCardNumber(prefix, length, seq);
    if (!(await repo.cardTaken(db, baseId, card))) return card; // skip numbers somebody typed in by hand
  }
}

function conflict(field: 'phone' | 'cardNumber' | 'email', value: string, existingId: number | null): AppError {
  const params = { value, existingId: existingId ?? '?' };
  return new AppError('conflict', {
    detail: `conflict.${field}`,
    params,
    errors: [{ field, key: `conflict.${field}`, params }],
    extra: { existingId },
  });
}

/** A unique violation that got past the writer's checks (a race) becomes 409 naming the field and the profile that holds the value. */
async function identityConflict(db: Db, baseId: number, e: unknown, cols: Prepared['cols']): Promise<AppError | undefined> {
  const hit = violation(e);
  if (!hit?.column) return undefined;
  const value = cols[hit.column] ?? '';
  const existing = (await repo.findBy(db, baseId, hit.column, value)).find((r) => hit.column !== 'email' || r.kind === 'subscriber');
  return conflict(hit.field as 'phone' | 'cardNumber' | 'email', value, existing?.id ?? null);
}

async function withConflicts<T>(db: Db, baseId: number, cols: Prepared['cols'], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw (await identityConflict(db, baseId, e, cols)) ?? e;
  }
}

/**
 * What every single write starts with: the base and its definitions (share-locked), the input
 * normalized into `cols` and custom values, the tags checked; every error collected, none thrown yet.
 */
async function beginWrite(trx: Conn, baseId: number, input: ProfileInput, cols: Prepared['cols']) {
  const { base, defs } = await loadContext(trx, baseId);
  const errs = new FieldErrors();
  const prepared = prepare(input, base.phone_region, defs, errs);
  Object.assign(cols, prepared.cols);
  const tags = await checkTags(trx, baseId, input.tags, errs);
  if (input.generateCard && cols.card_number) errs.add('cardNumber', 'card_both');
  return { defs, errs, custom: prepared.custom, tags };
}

export interface SingleWriteResult {
  profile: Profile;
  created: boolean;
  mergedFrom: number[];
}

/** A single write as a batch of one for the writer: the given columns overwrite, a null clears. */
function singleRow(
  line: { kind: Kind; setKind: Kind | null; target: number | null },
  cols: Prepared['cols'],
  custom: Prepared['custom'],
  tags: number[] | undefined,
): WriteRow {
  const values: WriteRow['values'] = {};
  const clear: string[] = [];
  for (const [c, v] of Object.entries(cols)) {
    if (v === null || v === undefined) clear.push(c);
    else values[c] = v;
  }
  const fOver: Record<string, unknown> = {};
  const fClear: string[] = [];
  for (const [k, v] of Object.entries(custom)) {
    if (v === null) fClear.push(k);
    else fOver[k] = v;
  }
  return { line: 1, ...line, values, clear, fOver, fClear, tagsSet: tags ?? null };
}

function singlePlan(baseId: number, actor: string, mode: 'create' | 'update', cols: Prepared['cols'], defs: Map<string, FieldDef>, customKeys: string[], defaults: Record<string, unknown>): WritePlan {
  return {
    baseId,
    actor,
    mode,
    columns: Object.fromEntries(Object.keys(cols).map((c) => [c, 'overwrite' as const])),
    customKeys: [...new Set([...customKeys, ...Object.keys(defaults)])],
    defaults,
    // Made by a person signed in to the web UI, or by a program with a key (or the admin token).
    regSource: actor.startsWith('user:') ? 'interface' : 'api',
    source: {},
    freeLists: customKeys.filter((k) => defs.get(k)?.type === 'list' && defs.get(k)?.listMode === 'free'),
  };
}

/** A row the writer refused, as the API error a single write gives. */
function refusal(f: WriteFailure, cols: Prepared['cols'], profileId: number | null): AppError {
  switch (f.code) {
    case 'exists':
      return conflict(f.field, cols[f.field === 'cardNumber' ? 'card_number' : f.field] ?? '', f.id);
    case 'taken':
      return conflict(f.field, f.value, f.id);
    case 'not_found':
      return notFound('profile', profileId ?? 0);
    case 'required': {
      const errs = new FieldErrors();
      for (const k of f.fields) errs.add(`fields.${k}`, 'required');
      return new AppError('validation_failed', { errors: errs.list });
    }
    case 'kind':
      return invalidField(f.field, f.key, f.key === 'invalid_enum' ? { values: 'member' } : {});
    case 'conflict':
      return new AppError('conflict', { detail: 'conflict.retry' });
  }
}

/** The profile a single write ended on, as the API shows it. */
async function written(trx: Conn, baseId: number, o: RowOutcome, cols: Prepared['cols'], profileId: number | null): Promise<SingleWriteResult> {
  if (o.outcome === 'failed' || o.id === null) throw refusal(o.failure ?? { code: 'conflict' }, cols, profileId);
  const row = await repo.getProfile(trx, baseId, o.id);
  if (!row) throw notFound('profile', o.id);
  return { profile: toProfile(row), created: o.outcome === 'created', mergedFrom: o.mergedFrom };
}

export async function createProfile(db: Db, baseId: number, input: ProfileInput, actor: string): Promise<SingleWriteResult> {
  const cols: Prepared['cols'] = {}; // filled inside; a uniqueness conflict names the value from here
  return withConflicts(db, baseId, cols, () =>
    db.transaction().execute(async (trx) => {
      const { defs, errs, custom, tags } = await beginWrite(trx, baseId, input, cols);
      // Fields whose value was given but is invalid: they already have their error, and
      // must not get a second, misleading one ("required", "needs a phone").
      const failed = new Set(errs.list.map((e) => e.field));
      // Defaults for what was not given; required fields left empty (a problem only if the write creates a profile).
      const defaults: Record<string, unknown> = {};
      const missing: string[] = [];
      for (const d of defs.values()) {
        const given = input.fields !== undefined && Object.hasOwn(input.fields, d.key);
        if (!given && d.default !== null) defaults[d.key] = d.default;
        if (d.required && !failed.has(`fields.${d.key}`) && (given ? custom[d.key] === null : d.default === null)) missing.push(d.key);
      }
      const hasId = !!(cols.phone || cols.card_number || input.generateCard);
      const idFailed = failed.has('phone') || failed.has('cardNumber');
      const kind = input.kind ?? (hasId || idFailed || !cols.email ? 'member' : 'subscriber');
      if (kind === 'member' && !hasId && !idFailed) errs.add('phone', 'member_needs_identity');
      if (kind === 'subscriber') {
        if (!cols.email && !failed.has('email')) errs.add('email', 'subscriber_needs_email');
        if (hasId) errs.add(cols.phone ? 'phone' : 'cardNumber', 'subscriber_only_email');
      }
      for (const k of missing) errs.add(`fields.${k}`, 'required');
      errs.throwIfAny();
      if (input.generateCard) cols.card_number = await issueCard(trx, baseId);
      const row = singleRow({ kind, setKind: null, target: null }, cols, custom, tags);
      const plan = singlePlan(baseId, actor, 'create', cols, defs, Object.keys(custom), defaults);
      const r = await writeProfiles(trx, plan, [row]);
      return written(trx, baseId, r.outcomes[0]!, cols, null);
    }),
  );
}

export async function updateProfile(db: Db, baseId: number, id: number, input: ProfileInput, actor: string): Promise<SingleWriteResult> {
  const cols: Prepared['cols'] = {}; // filled inside; a uniqueness conflict names the value from here
  return withConflicts(db, baseId, cols, () =>
    db.transaction().execute(async (trx) => {
      const { defs, errs, custom, tags } = await beginWrite(trx, baseId, input, cols);
      for (const [k, v] of Object.entries(custom)) if (v === null && defs.get(k)?.required) errs.add(`fields.${k}`, 'required');
      errs.throwIfAny();
      const cur = await repo.getProfile(trx, baseId, id, { forUpdate: true });
      if (!cur) throw notFound('profile', id);
      if (input.generateCard && !cur.card_number) cols.card_number = await issueCard(trx, baseId);
      const row = singleRow({ kind: cur.kind as Kind, setKind: input.kind ?? null, target: id }, cols, custom, tags);
      const r = await writeProfiles(trx, singlePlan(baseId, actor, 'update', cols, defs, Object.keys(custom), {}), [row]);
      return written(trx, baseId, r.outcomes[0]!, cols, id);
    }),
  );
}

export async function getProfile(db: Db, baseId: number, id: number): Promise<Profile> {
  const row = await repo.getProfile(db, baseId, id);
  if (!row) {
    if (!(await getBase(db, baseId))) throw notFound('base', baseId);
    throw notFound('profile', id);
  }
  return toProfile(row);
}

export async function deleteProfile(db: Db, baseId: number, id: number): Promise<void> {
  if (await repo.deleteProfile(db, baseId, id)) return;
  if (!(await getBase(db, baseId))) throw notFound('base', baseId);
  throw notFound('profile', id);
}

/** Lookup by exactly one identifier, normalized the way it is stored. */
export async function lookup(db: Db, baseId: number, q: { phone?: string; cardNumber?: string; email?: string }): Promise<Profile[]> {
  const base = await getBase(db, baseId);
  if (!base) throw notFound('base', baseId);
  const given = (['phone', 'cardNumber', 'email'] as const).filter((k) => q[k] !== undefined);
  if (given.length !== 1) throw invalidField('query', 'invalid_enum', { values: 'phone | cardNumber | email' });
  const key = given[0]!;
  const f = STANDARD_FIELDS.find((s) => s.key === key)!;
  const raw = q[key]!;
  // An unencoded '+' in a query string arrives as a space (?phone=+44…, ?email=a+b@x.ru):
  // try the value with its '+' back first, then as it came.
  const plus = key === 'phone' && /^ \d/.test(raw) ? '+' + raw.slice(1) : key === 'email' && /\S \S/.test(raw.trim()) ? raw.trim().replace(/ /g, '+') : undefined;
  const restored = plus === undefined ? undefined : normalizeStandard(f, plus, base.phone_region, new FieldErrors());
  const errs = new FieldErrors();
  const v = restored ?? normalizeStandard(f, raw, base.phone_region, errs);
  if (v === undefined) throw new AppError('validation_failed', { errors: errs.list.map((e) => ({ ...e, field: `query.${e.field}` })) });
  if (v === null) return [];
  return (await repo.findBy(db, baseId, f.column as 'phone' | 'card_number' | 'email', v)).map(toProfile);
}

export async function listProfiles(db: Db, baseId: number, after: number, limit: number) {
  if (!(await getBase(db, baseId))) throw notFound('base', baseId);
  const rows = await repo.listPage(db, baseId, after, limit);
  return { items: rows.map(toProfile), nextCursor: rows.length === limit ? String(rows[rows.length - 1]!.id) : null };
}

export async function listEvents(db: Db, baseId: number, id: number) {
  await getProfile(db, baseId, id);
  return (await repo.listEvents(db, baseId, id)).map((e) => ({
    id: e.id,
    at: e.at.toISOString(),
    actor: e.actor,
    action: e.action as 'created' | 'updated' | 'merged',
    changes: e.changes as Record<string, unknown>,
    source: e.source as { import?: number; line?: number; job?: number; mergedFrom?: number },
  }));
}
