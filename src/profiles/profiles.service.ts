// Profiles: normalization on every write, identity rules (seed 002), the
// subscriber -> member merge, set-once registration data, and the event log.
import { getBase, nextCardSeq } from '../bases/bases.repo.ts';
import type { Conn, Db } from '../db/db.ts';
import type { NewProfileRow, ProfileRow, ProfileUpdate } from '../db/schema.ts';
import { addListOptions, listFields } from '../fields/fields.repo.ts';
import type { CustomValue, FieldDef } from '../fields/fields.schema.ts';
import { coerceValue } from '../fields/fields.service.ts';
import { STANDARD_FIELDS, type StandardField } from '../fields/standard.ts';
import { AppError, FieldErrors, invalidField, notFound, pgCode, pgConstraint } from '../http/errors.ts';
import * as N from './normalize.ts';
import * as repo from './profiles.repo.ts';
import type { Profile, ProfileInput } from './profiles.schema.ts';

type Columns = Omit<NewProfileRow, 'base_id' | 'id' | 'created_at' | 'updated_at' | 'fields' | 'tags' | 'birth_md' | 'search'>;
type ColumnName = keyof Columns & string;

const WRITABLE = STANDARD_FIELDS.filter((f) => !f.readOnly && f.key !== 'kind');
const BY_COLUMN = new Map(STANDARD_FIELDS.map((f) => [f.column, f]));
/** Columns a merge may fill on the member: everything but identity and bookkeeping. */
const MERGE_FILL = WRITABLE.map((f) => f.column as ColumnName).filter((c) => c !== 'phone' && c !== 'card_number');

export function toProfile(r: ProfileRow): Profile {
  return {
    id: r.id,
    baseId: r.base_id,
    kind: r.kind as Profile['kind'],
    phone: r.phone,
    email: r.email,
    cardNumber: r.card_number,
    lastName: r.last_name,
    firstName: r.first_name,
    middleName: r.middle_name,
    birthDate: r.birth_date,
    gender: r.gender as Profile['gender'],
    city: r.city,
    carNumber: r.car_number,
    extraKey1: r.extra_key_1,
    extraKey2: r.extra_key_2,
    extraKey3: r.extra_key_3,
    extraKey4: r.extra_key_4,
    extraKey5: r.extra_key_5,
    extraKey6: r.extra_key_6,
    registrationSource: r.reg_source as Profile['registrationSource'],
    pointOfSale: r.point_of_sale,
    utmSource: r.utm_source,
    utmMedium: r.utm_medium,
    utmCampaign: r.utm_campaign,
    utmContent: r.utm_content,
    utmTerm: r.utm_term,
    referralId: r.referral_id,
    fields: r.fields,
    tags: r.tags.map(Number),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
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
  for (const f of WRITABLE) {
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

/** Free-list values used by this write join the field's options (for filter checkboxes). */
async function accumulateOptions(db: Conn, baseId: number, defs: Map<string, FieldDef>, custom: Prepared['custom']) {
  for (const [key, v] of Object.entries(custom)) {
    const d = defs.get(key);
    if (d?.type === 'list' && d.listMode === 'free' && typeof v === 'string' && !d.options.includes(v)) await addListOptions(db, baseId, key, [v]);
  }
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

const IDENTITY_CONSTRAINTS: Record<string, { field: 'phone' | 'cardNumber' | 'email'; column: 'phone' | 'card_number' | 'email' }> = {
  profiles_phone_key: { field: 'phone', column: 'phone' },
  profiles_card_key: { field: 'cardNumber', column: 'card_number' },
  profiles_subscriber_email_key: { field: 'email', column: 'email' },
};

/** A unique violation becomes 409 naming the field and the profile that holds the value. */
async function identityConflict(db: Db, baseId: number, e: unknown, cols: Prepared['cols']): Promise<AppError | undefined> {
  if (pgCode(e) !== '23505') return undefined;
  const hit = IDENTITY_CONSTRAINTS[pgConstraint(e) ?? ''];
  if (!hit) return undefined;
  const value = cols[hit.column] ?? '';
  const existing = (await repo.findBy(db, baseId, hit.column, value)).find((r) => hit.field !== 'email' || r.kind === 'subscriber');
  const params = { value, existingId: existing?.id ?? '?' };
  return new AppError('conflict', {
    detail: `conflict.${hit.field}`,
    params,
    errors: [{ field: hit.field, key: `conflict.${hit.field}`, params }],
    extra: { existingId: existing?.id ?? null },
  });
}

async function withConflicts<T>(db: Db, baseId: number, cols: Prepared['cols'], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw (await identityConflict(db, baseId, e, cols)) ?? e;
  }
}

/**
 * Folds subscribers into a member: the member keeps every value it has, empty
 * ones are filled from the subscribers, and each subscriber's whole row is kept
 * in profile_merges. Returns the updated member.
 */
async function mergeSubscribers(trx: Conn, member: ProfileRow, subs: ProfileRow[], actor: string, reason: string): Promise<ProfileRow> {
  if (!subs.length) return member;
  const fill: Partial<Record<ColumnName, string | null>> = {};
  let fields = { ...member.fields };
  for (const s of subs) {
    for (const c of MERGE_FILL) {
      const mine = (fill[c] ?? member[c as keyof ProfileRow]) as unknown;
      const theirs = s[c as keyof ProfileRow] as unknown;
      if ((mine === null || mine === undefined) && theirs !== null && theirs !== undefined) fill[c] = theirs as string;
    }
    fields = { ...s.fields, ...fields };
    await repo.insertMerge(trx, member.base_id, member.id, s, reason);
  }
  const tags = [...new Set([...member.tags, ...subs.flatMap((s) => s.tags)].map(Number))].sort((a, b) => a - b);
  const updated = await repo.updateProfile(trx, member.base_id, member.id, { ...(fill as ProfileUpdate), fields: JSON.stringify(fields), tags });
  await repo.insertEvent(trx, member.base_id, member.id, actor, 'merged', { from: subs.map((s) => s.id), reason, filled: Object.keys(fill).map((c) => BY_COLUMN.get(c)?.key ?? c) });
  return updated;
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

export interface WriteResult {
  profile: Profile;
  created: boolean;
  mergedFrom: number[];
}

export async function createProfile(db: Db, baseId: number, input: ProfileInput, actor: string): Promise<WriteResult> {
  const cols: Prepared['cols'] = {}; // filled inside; a uniqueness conflict names the value from here
  return withConflicts(db, baseId, cols, () =>
    db.transaction().execute(async (trx) => {
      const { defs, errs, custom, tags } = await beginWrite(trx, baseId, input, cols);
      // Fields whose value was given but is invalid: they already have their error, and
      // must not get a second, misleading one ("required", "needs a phone").
      const failed = new Set(errs.list.map((e) => e.field));
      // Defaults for what was not given, then the required check.
      for (const d of defs.values()) {
        const given = input.fields !== undefined && Object.hasOwn(input.fields, d.key);
        if (!given && d.default !== null) custom[d.key] = d.default;
        if (d.required && !failed.has(`fields.${d.key}`) && (custom[d.key] === undefined || custom[d.key] === null)) errs.add(`fields.${d.key}`, 'required');
      }
      const hasId = !!(cols.phone || cols.card_number || input.generateCard);
      const idFailed = failed.has('phone') || failed.has('cardNumber');
      const kind = input.kind ?? (hasId || idFailed || !cols.email ? 'member' : 'subscriber');
      if (kind === 'member' && !hasId && !idFailed) errs.add('phone', 'member_needs_identity');
      if (kind === 'subscriber') {
        if (!cols.email && !failed.has('email')) errs.add('email', 'subscriber_needs_email');
        if (hasId) errs.add(cols.phone ? 'phone' : 'cardNumber', 'subscriber_only_email');
      }
      errs.throwIfAny();
      const values = Object.fromEntries(Object.entries(custom).filter(([, v]) => v !== null));
      if (input.generateCard) cols.card_number = await issueCard(trx, baseId);
      const row = await repo.insertProfile(trx, {
        ...cols,
        base_id: baseId,
        kind,
        reg_source: cols.reg_source ?? 'api',
        fields: JSON.stringify(values),
        ...(tags ? { tags } : {}),
      });
      await accumulateOptions(trx, baseId, defs, custom);
      await repo.insertEvent(trx, baseId, row.id, actor, 'created', changesOf({}, row));
      if (!row.email) return { profile: toProfile(row), created: true, mergedFrom: [] };
      if (kind === 'member') {
        const subs = await repo.takeSubscribersByEmail(trx, baseId, row.email, row.id);
        const merged = await mergeSubscribers(trx, row, subs, actor, 'member_created_with_email');
        return { profile: toProfile(merged), created: true, mergedFrom: subs.map((s) => s.id) };
      }
      // A subscription with the email of a registered member is that member (seed 002).
      const member = await repo.firstMemberByEmail(trx, baseId, row.email);
      if (!member) return { profile: toProfile(row), created: true, mergedFrom: [] };
      const subs = await repo.takeSubscribersByEmail(trx, baseId, row.email, member.id);
      const merged = await mergeSubscribers(trx, member, subs, actor, 'subscribed_with_member_email');
      return { profile: toProfile(merged), created: false, mergedFrom: subs.map((s) => s.id) };
    }),
  );
}

/** Which API fields differ between two rows, as { key: { from, to } } (created: { key: value }). */
function changesOf(before: Partial<ProfileRow>, after: ProfileRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const creating = Object.keys(before).length === 0;
  for (const f of STANDARD_FIELDS) {
    if (f.readOnly) continue;
    const a = after[f.column as keyof ProfileRow] ?? null;
    const b = creating ? null : (before[f.column as keyof ProfileRow] ?? null);
    if (a !== b) out[f.key] = creating ? a : { from: b, to: a };
  }
  const bt = creating ? [] : (before.tags ?? []).map(Number);
  const at = after.tags.map(Number);
  if (JSON.stringify(bt) !== JSON.stringify(at)) out.tags = creating ? at : { from: bt, to: at };
  const bf = (before.fields ?? {}) as Record<string, unknown>;
  for (const k of new Set([...Object.keys(bf), ...Object.keys(after.fields)])) {
    const a = after.fields[k] ?? null;
    const b = bf[k] ?? null;
    if (JSON.stringify(a) !== JSON.stringify(b)) out[`fields.${k}`] = creating ? a : { from: b, to: a };
  }
  return out;
}

export async function updateProfile(db: Db, baseId: number, id: number, input: ProfileInput, actor: string): Promise<WriteResult> {
  const cols: Prepared['cols'] = {}; // filled inside; a uniqueness conflict names the value from here
  return withConflicts(db, baseId, cols, () =>
    db.transaction().execute(async (trx) => {
      const { defs, errs, custom, tags } = await beginWrite(trx, baseId, input, cols);
      for (const [k, v] of Object.entries(custom)) if (v === null && defs.get(k)?.required) errs.add(`fields.${k}`, 'required');
      errs.throwIfAny();
      const cur = await repo.getProfile(trx, baseId, id, { forUpdate: true });
      if (!cur) throw notFound('profile', id);
      // Registration source and point of sale are set once: a later write only fills them if empty.
      if (cur.reg_source !== null) delete cols.reg_source;
      if (cur.point_of_sale !== null) delete cols.point_of_sale;
      if (input.generateCard && !cur.card_number) cols.card_number = await issueCard(trx, baseId);
      const next = { ...cur, ...cols } as ProfileRow;
      const hasId = !!(next.phone || next.card_number);
      // A subscriber who gives a phone or card registers as a member; a member never turns back.
      let kind = input.kind ?? (cur.kind === 'subscriber' && hasId ? 'member' : cur.kind);
      if (cur.kind === 'member' && kind === 'subscriber') throw invalidField('kind', 'invalid_enum', { values: 'member' });
      if (kind === 'member' && !hasId) throw invalidField(cols.card_number === null && cols.phone === undefined ? 'cardNumber' : 'phone', 'member_needs_identity');
      if (kind === 'subscriber' && !next.email) throw invalidField('email', 'subscriber_needs_email');
      // A subscriber has an email only: a phone or card without becoming a member is refused here, not by a CHECK (500).
      if (kind === 'subscriber' && hasId) throw invalidField(next.phone ? 'phone' : 'cardNumber', 'subscriber_only_email');
      const fields = { ...cur.fields };
      for (const [k, v] of Object.entries(custom)) {
        if (v === null) delete fields[k];
        else fields[k] = v;
      }
      const candidate = { ...next, kind, fields, tags: tags ?? cur.tags } as ProfileRow;
      const changes = changesOf(cur, candidate);
      if (Object.keys(changes).length === 0) return { profile: toProfile(cur), created: false, mergedFrom: [] };
      let row = await repo.updateProfile(trx, baseId, id, { ...cols, kind, fields: JSON.stringify(fields), ...(tags ? { tags } : {}) });
      await accumulateOptions(trx, baseId, defs, custom);
      await repo.insertEvent(trx, baseId, id, actor, 'updated', changes);
      let mergedFrom: number[] = [];
      if (row.kind === 'member' && row.email && (changes.email !== undefined || changes.kind !== undefined)) {
        const subs = await repo.takeSubscribersByEmail(trx, baseId, row.email, row.id);
        row = await mergeSubscribers(trx, row, subs, actor, 'member_gained_email');
        mergedFrom = subs.map((s) => s.id);
      } else if (row.kind === 'subscriber' && row.email && changes.email !== undefined) {
        // A subscriber now using a member's email is that member (seed 002): it folds in, and the member is returned.
        const member = await repo.firstMemberByEmail(trx, baseId, row.email);
        if (member) {
          const subs = await repo.takeSubscribersByEmail(trx, baseId, row.email, member.id);
          row = await mergeSubscribers(trx, member, subs, actor, 'subscriber_took_member_email');
          mergedFrom = subs.map((s) => s.id);
        }
      }
      return { profile: toProfile(row), created: false, mergedFrom };
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
  }));
}
