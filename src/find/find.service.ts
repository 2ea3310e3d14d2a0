// Search: quick search + pasted list + filter, compiled to one WHERE; a page in
// any sort order with keyset cursors; the exact total in the same round trip.
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Conn, Db } from '../db/db.ts';
import type { FieldRow, ProfileRow } from '../db/schema.ts';
import type { Principal } from '../auth/permissions.ts';
import { phoneRegion } from '../bases/bases.service.ts';
import { toFieldDef } from '../fields/fields.service.ts';
import { FieldErrors, invalidField, notFound, isBadValue } from '../errors/errors.ts';
import { toProfile } from '../profiles/profiles.service.ts';
import type { Profile } from '../profiles/profiles.schema.ts';
import { compileList, compileQuery, compileSearch, LIMITS, parseList, searchTerms, type Compiled, type CompileContext, type Query, type SegmentInfo } from './filter.ts';
import { facetIndex } from './facets.ts';
import { filterFieldMap, type FilterField } from './filter.fields.ts';

export interface SortKey {
  field: string;
  dir: 'asc' | 'desc';
}

export interface SearchInput extends Query {
  sort?: SortKey[];
  limit?: number;
  cursor?: string;
  columns?: string[];
  withTotal?: boolean;
}

/** Who is asking: private segments of other users are invisible to them (the env admin token sees all). */
export interface Viewer {
  userId: number | null;
  all: boolean;
}

export const viewerOf = (p: Principal): Viewer => ({ userId: p.userId, all: p.kind === 'env' });

// name: compile-context
// Everything a compile needs about one base, in one round trip: region, field definitions, tag ids.
export async function compileContext(db: Conn, baseId: number, viewer?: Viewer): Promise<CompileContext & { defsCount: number }> {
  const r = await sql<{ phone_region: string; defs: FieldRow[] | null; tags: number[] | null }>`
    SELECT b.phone_region,
      (SELECT json_agg(f ORDER BY f.position, f.created_at) FROM fields f WHERE f.base_id = b.id) AS defs,
      (SELECT array_agg(t.id) FROM tags t WHERE t.base_id = b.id) AS tags
    FROM bases b WHERE b.id = ${baseId}`.execute(db);
  const base = r.rows[0];
  if (!base) throw notFound('base', baseId);
  const defs = (base.defs ?? []).map((f) => toFieldDef({ ...f, created_at: new Date(f.created_at), updated_at: new Date(f.updated_at) }));
  const cache = new Map<number, SegmentInfo | undefined>();
  return {
    baseId,
    region: base.phone_region,
    fields: filterFieldMap(defs),
    tagIds: new Set((base.tags ?? []).map(Number)),
    defsCount: defs.length,
    async segment(id) {
      if (!cache.has(id)) {
        let q = db.selectFrom('segments').select(['id', 'kind', 'query']).where('base_id', '=', baseId).where('id', '=', id);
        if (viewer && !viewer.all) q = q.where((eb) => eb.or([eb('shared', '=', true), ...(viewer.userId !== null ? [eb('owner_id', '=', viewer.userId)] : [])]));
        const s = await q.executeTakeFirst();
        cache.set(id, s && { id: s.id, kind: s.kind as SegmentInfo['kind'], query: (s.query as Query | null) ?? null });
      }
      return cache.get(id);
    },
  };
}

export async function compileFor(db: Conn, baseId: number, query: Query, viewer?: Viewer): Promise<{ compiled: Compiled; ctx: CompileContext }> {
  const ctx = await compileContext(db, baseId, viewer);
  return { compiled: await compileQuery(query, ctx), ctx };
}

// name: count-matching
// The exact number of profiles of a base a compiled query matches.
export function countSql(baseId: number, where: RawBuilder<SqlBool>) {
  return sql<{ n: number }>`SELECT count(*)::bigint AS n FROM profiles p WHERE p.base_id = ${baseId} AND ${where}`;
}

// name: matching-ids
// The ids a compiled query matches, as a subquery for set-based mass actions.
export function idsSql(baseId: number, where: RawBuilder<SqlBool>) {
  return sql<{ id: number }>`SELECT p.id FROM profiles p WHERE p.base_id = ${baseId} AND ${where}`;
}

export type FacetMode = 'auto' | 'on' | 'off';
let facetMode: FacetMode = 'auto';
/** auto: a base gets an in-memory count index after its first slow SQL count; on: always; off: never. */
export function setFacetMode(mode: FacetMode): void {
  facetMode = mode;
}
const SLOW_COUNT_MS = 30;
/** In auto mode a count never waits for a build (SQL answers meanwhile); `on` (tests, benches) waits. */
const waitForBuild = () => ({ wait: facetMode === 'on' });

/** Whether counts of this base go through its in-memory index now (it needs a transaction of its own). */
function facetsUsable(db: Conn, baseId: number): boolean {
  return facetMode !== 'off' && !db.isTransaction && (facetMode === 'on' || facetIndex(baseId).warm);
}

/** The exact count: from the base's in-memory index when it has one and it helps, else in SQL. */
async function exactCount(db: Conn, query: Query, ctx: CompileContext, where: RawBuilder<SqlBool>): Promise<number> {
  const ix = facetIndex(ctx.baseId);
  // The index needs its own transaction; inside a caller's transaction SQL sees what the caller wrote.
  const usable = facetMode !== 'off' && !db.isTransaction;
  if (facetsUsable(db, ctx.baseId)) {
    const n = await ix.count(db as Db, query, ctx, waitForBuild());
    if (n !== undefined) return n;
  }
  const t0 = performance.now();
  const n = Number((await countSql(ctx.baseId, where).execute(db)).rows[0]!.n);
  if (usable && facetMode === 'auto' && !ix.warm && performance.now() - t0 > SLOW_COUNT_MS) {
    ix.warm = true; // built in the background (a failure is logged and shown in /health): later counts use it
    await ix.count(db as Db, query, ctx, { wait: false });
  }
  return n;
}

export async function countMatching(db: Conn, baseId: number, query: Query, viewer?: Viewer): Promise<{ count: number; ms: number }> {
  const t0 = performance.now();
  const { compiled, ctx } = await compileFor(db, baseId, query, viewer);
  const count = await exactCount(db, query, ctx, compiled.sql);
  return { count, ms: Math.round(performance.now() - t0) };
}

// ---------------------------------------------------------------------------
// sorting and keyset pagination
// ---------------------------------------------------------------------------

export interface SortColumn {
  key: string;
  dir: 'asc' | 'desc';
  expr: RawBuilder<unknown>;
  /** Never NULL: ordered without NULLS LAST, so the column's btree index gives the order. */
  notNull?: boolean;
}

const NOT_NULL = new Set(['id', 'kind', 'createdAt', 'updatedAt']);

const NOT_SORTABLE = new Set(['tags', 'segment', 'fullName']);

export function sortColumns(sort: SortKey[] | undefined, fields: Map<string, FilterField>, errs: FieldErrors): SortColumn[] {
  const keys = (sort ?? []).slice(0, 5);
  const out: SortColumn[] = [];
  // id is unique: keys after it never decide anything, and it is always the last column
  const idAt = keys.findIndex((k) => k.field === 'id');
  keys.forEach((k, i) => {
    const f = fields.get(k.field);
    if (!f || NOT_SORTABLE.has(f.key) || f.type === 'valueTags') {
      errs.add(`sort[${i}].field`, 'filter_field_unknown', { field: k.field });
      return;
    }
    if (f.key === 'id' || (idAt >= 0 && i > idAt)) return; // the tiebreaker below
    let expr: RawBuilder<unknown> = f.expr;
    if (f.jsonKey !== undefined) {
      const jk = f.jsonKey;
      expr =
        f.type === 'number'
          ? sql.raw(`(CASE WHEN jsonb_typeof(p.fields -> '${jk}') = 'number' THEN (p.fields ->> '${jk}')::numeric END)`)
          : f.type === 'date'
            ? sql.raw(`((p.fields ->> '${jk}')::date)`)
            : f.type === 'boolean'
              ? sql.raw(`((p.fields ->> '${jk}')::boolean)`)
              : sql.raw(`(p.fields ->> '${jk}')`);
    }
    out.push({ key: f.key, dir: k.dir, expr, notNull: NOT_NULL.has(f.key) && f.jsonKey === undefined });
  });
  // Ties are broken by id in the direction of the first key (newest first stays newest first), so
  // "created_at DESC, id DESC" is one backward walk of the (base_id, created_at, id) index.
  out.push({ key: 'id', dir: keys[idAt]?.dir ?? out[0]?.dir ?? 'asc', expr: sql.raw('p.id'), notNull: true });
  return out;
}

// Cursor values are the sort keys as PostgreSQL prints them (exact to the microsecond),
// compared back as untyped parameters that PostgreSQL reads as the column's type.
// The cursor names its sort, so a cursor of another sort order is refused, not misread.
const sortSignature = (cols: SortColumn[]) => cols.map((c) => `${c.key}:${c.dir}`).join(',');

function encodeCursor(cols: SortColumn[], values: (string | null)[]): string {
  return Buffer.from(JSON.stringify({ s: sortSignature(cols), v: values })).toString('base64url');
}

function decodeCursor(cursor: string, cols: SortColumn[]): (string | null)[] {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s?: unknown; v?: unknown };
    const v = c?.v;
    if (c?.s === sortSignature(cols) && Array.isArray(v) && v.length === cols.length && v.every((x) => x === null || typeof x === 'string')) return v;
  } catch {
    // fall through
  }
  throw invalidField('cursor', 'invalid_format');
}

/** Rows strictly after the cursor in ORDER BY k1 dir NULLS LAST, …, id. */
export function afterCursor(cols: SortColumn[], vals: (string | null)[]): RawBuilder<SqlBool> {
  const alternatives: RawBuilder<SqlBool>[] = [];
  for (let i = 0; i < cols.length; i++) {
    const parts: RawBuilder<SqlBool>[] = [];
    for (let j = 0; j < i; j++) {
      const v = vals[j];
      parts.push(v === null ? sql<SqlBool>`${cols[j]!.expr} IS NULL` : sql<SqlBool>`${cols[j]!.expr} = ${v}`);
    }
    const c = cols[i]!;
    const v = vals[i];
    if (v === null) continue; // nothing sorts after NULL within this key (NULLS LAST)
    const op = sql.raw(c.dir === 'asc' ? '>' : '<');
    parts.push(c.notNull ? sql<SqlBool>`${c.expr} ${op} ${v}` : sql<SqlBool>`(${c.expr} ${op} ${v} OR ${c.expr} IS NULL)`);
    alternatives.push(sql<SqlBool>`(${sql.join(parts, sql` AND `)})`);
  }
  return alternatives.length ? sql<SqlBool>`(${sql.join(alternatives, sql` OR `)})` : sql<SqlBool>`false`;
}

export function orderBy(cols: SortColumn[]): RawBuilder<unknown> {
  return sql.join(cols.map((c) => sql`${c.expr} ${sql.raw(c.dir === 'asc' ? 'ASC' : 'DESC')}${sql.raw(c.notNull ? '' : ' NULLS LAST')}`));
}

// ---------------------------------------------------------------------------
// search
// ---------------------------------------------------------------------------

export interface SearchResult {
  items: ProfileColumns[];
  total?: number;
  nextCursor: string | null;
  notFound?: string[];
}

/** A found profile: the columns asked for, and always its id. */
export type ProfileColumns = Partial<Profile> & { id: number };

function pickColumns(p: Profile, columns: string[] | undefined): ProfileColumns {
  if (!columns?.length) return p;
  const out: Record<string, unknown> = { id: p.id };
  const custom: Record<string, unknown> = {};
  for (const c of columns) {
    if (c.startsWith('fields.')) {
      const k = c.slice(7);
      if (k in p.fields) custom[k] = p.fields[k];
    } else if (c in p) out[c] = (p as Record<string, unknown>)[c];
  }
  if (columns.some((c) => c.startsWith('fields.') || c === 'fields')) out.fields = columns.includes('fields') ? p.fields : custom;
  return out as ProfileColumns;
}

export async function search(db: Db, baseId: number, input: SearchInput, viewer?: Viewer): Promise<SearchResult> {
  if (input.list !== undefined && input.q === undefined && input.filter === undefined) {
    const r = await searchList(db, baseId, input, input.list);
    if (r) return r;
  }
  if (input.q !== undefined && input.list === undefined && input.filter === undefined) {
    const r = await searchDigits(db, baseId, input, input.q);
    if (r) return r;
  }
  const ctx = await compileContext(db, baseId, viewer);
  const errs = new FieldErrors();
  const compiled = await compileQuery(input, ctx, { errs });
  const cols = sortColumns(input.sort, ctx.fields, errs);
  for (const [i, c] of (input.columns ?? []).entries()) {
    if (!ctx.fields.has(c) && !ALWAYS_COLUMNS.includes(c)) errs.add(`columns[${i}]`, 'filter_field_unknown', { field: c });
  }
  errs.throwIfAny();
  const limit = input.limit ?? 50;
  const cursorValues = input.cursor ? decodeCursor(input.cursor, cols) : null;
  const after = cursorValues ? afterCursor(cols, cursorValues) : sql<SqlBool>`true`;
  // In id order with a total wanted, the count index gives both the total and the page's ids.
  if (input.withTotal && cols.length === 1 && facetsUsable(db, baseId) && !input.list) {
    const r = await facetIndex(baseId).countAndPage(db, input, ctx, {
      limit: limit + 1,
      afterId: cursorValues ? Number(cursorValues[0]) : null,
      desc: cols[0]!.dir === 'desc',
      wait: waitForBuild().wait,
      fetch: async (trx, ids) =>
        (
          await sql<ProfileRow & { kt_cursor: (string | null)[] }>`
            SELECT p.*, ARRAY[p.id::text] AS kt_cursor FROM profiles p WHERE p.base_id = ${baseId} AND p.id = ANY(${ids}::bigint[])
            ORDER BY ${orderBy(cols)}`.execute(trx)
        ).rows,
    });
    if (r) return pageResult(r.rows, limit, cols, input.columns, r.count, undefined);
  }
  const [rows, total, listResult] = await Promise.all([
    pageRows(db, baseId, compiled.sql, { cols, limit, after, cursor: !!input.cursor }),
    input.withTotal ? exactCount(db, input, ctx, compiled.sql) : Promise.resolve(undefined),
    input.list !== undefined ? listNotFound(db, baseId, input.list, ctx.region) : Promise.resolve(undefined),
  ]);
  return pageResult(rows, limit, cols, input.columns, total, listResult?.notFound);
}

const STANDARD_ONLY = filterFieldMap([]);
const ALWAYS_COLUMNS = ['id', 'fields', 'tags', 'baseId', 'createdAt', 'updatedAt'];

interface Paging {
  cols: SortColumn[];
  limit: number;
  /** Rows strictly after the cursor (true on the first page). */
  after: RawBuilder<SqlBool>;
  cursor: boolean;
  /**
   * Few rows match (the count is known): read them all through the filter's indexes and sort them,
   * rather than walk the base in id order until a page is found — which PostgreSQL prefers when it
   * overestimates the matches (quick search «9161» at 1M: 98 ms walking 18,000 rows, 5 ms this way).
   */
  few?: boolean;
}

/** The page asked for when its sort and columns need only standard fields (the fast paths), else undefined. */
function standardPaging(input: SearchInput): Paging | undefined {
  const errs = new FieldErrors();
  const cols = sortColumns(input.sort, STANDARD_ONLY, errs);
  const columnsOk = (input.columns ?? []).every((c) => STANDARD_ONLY.has(c) || ALWAYS_COLUMNS.includes(c));
  if (errs.list.length || !columnsOk) return undefined;
  const cursorValues = input.cursor ? decodeCursor(input.cursor, cols) : null;
  return { cols, limit: input.limit ?? 50, after: cursorValues ? afterCursor(cols, cursorValues) : sql<SqlBool>`true`, cursor: !!input.cursor };
}

// name: search-page
// One page of the profiles matching `where`, past the cursor, in the sort order (one row more, to
// know whether there is a next page); each row carries its sort key values for the next cursor.
async function pageRows(db: Db, baseId: number, where: RawBuilder<SqlBool>, p: Paging): Promise<(ProfileRow & { kt_cursor: (string | null)[] })[]> {
  try {
    const r = await sql<ProfileRow & { kt_cursor: (string | null)[] }>`
      SELECT p.*, ARRAY[${sql.join(p.cols.map((c) => sql`(${c.expr})::text`))}] AS kt_cursor FROM profiles p
      WHERE p.base_id = ${baseId} AND ${where} AND ${p.after}
      ORDER BY ${p.few ? sql`${orderBy(p.cols.map((c) => ({ ...c, expr: sql`(${c.expr}) + 0` })))}` : orderBy(p.cols)} LIMIT ${p.limit + 1}`.execute(db);
    return r.rows;
  } catch (e) {
    // a cursor edited by hand: its values do not read as the sort columns' types
    if (p.cursor && isBadValue(e)) throw invalidField('cursor', 'invalid_format');
    throw e;
  }
}

/**
 * A pasted list alone (the cashier's "find these 1,000 phones"): its page and its found identifiers
 * (which give the total and the entries not found) start at once, with phones read as Russian, while
 * the base's settings load; a base in another region redoes them. Undefined when the sort or the
 * columns need custom fields (the general path handles those).
 */
async function searchList(db: Db, baseId: number, input: SearchInput, list: string | string[]): Promise<SearchResult | undefined> {
  const paging = standardPaging(input);
  if (!paging) return undefined;
  const { cols, limit } = paging;
  const run = (region: string) => {
    const parsed = parseList(list, region);
    if (parsed.entries.length > LIMITS.pastedEntries) throw invalidField('list', 'too_many', { max: LIMITS.pastedEntries });
    const where = compileList(parsed).sql;
    return Promise.all([
      pageRows(db, baseId, where, paging),
      // Only the identifier kinds the list holds come back (a list of phones: one short column).
      sql<FoundIds>`
        SELECT ${sql.raw(foundColumns(parsed))} FROM profiles p WHERE p.base_id = ${baseId} AND ${where}`.execute(db),
    ]).then(([page, found]) => ({ parsed, page, found: found.rows }));
  };
  // The guess's failure matters only if the guess is kept (an unknown base is reported first).
  const guess = run('RU').then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));
  // A list needs only the base's phone region (no fields, tags or segments).
  const region = await phoneRegion(db, baseId);
  const g = await guess;
  if (region === undefined) throw notFound('base', baseId);
  if (region === 'RU' && !g.ok) throw g.e;
  const r = region === 'RU' && g.ok ? g.v : await run(region);
  const missing = notFoundOf(r.parsed, r.found);
  return pageResult(r.page, limit, cols, input.columns, input.withTotal ? r.found.length : undefined, missing);
}

type FoundIds = { phone?: string | null; card_number?: string | null; email?: string | null };
const foundColumns = (l: ReturnType<typeof parseList>) =>
  [l.phones.length ? 'p.phone' : '', l.cards.length ? 'p.card_number' : '', l.emails.length ? 'p.email' : ''].filter(Boolean).join(', ') || 'p.id';

/** Up to this many matches a page is sorted from all of them (see Paging.few). */
const FEW_ROWS = 20_000;

/**
 * A quick search of phone-like values alone («9161», «8 916 12»): it needs only the base's phone
 * region (remembered), not its fields, tags or segments, and nothing of the in-memory index (digits
 * are never in names), so its count and first page go to PostgreSQL at once, side by side.
 * Undefined when it is not such a search, or its sort or columns need custom fields.
 */
async function searchDigits(db: Db, baseId: number, input: SearchInput, q: string | string[]): Promise<SearchResult | undefined> {
  const paging = standardPaging(input);
  if (!paging) return undefined;
  const region = await phoneRegion(db, baseId);
  if (region === undefined) throw notFound('base', baseId);
  const terms = searchTerms(q, region);
  if (!terms.length || !terms.every((t) => 'digits' in t)) return undefined;
  const where = compileSearch(q, region).sql;
  const count = () => countSql(baseId, where).execute(db).then((r) => Number(r.rows[0]!.n));
  if (input.withTotal && paging.cols.length === 1 && paging.cols[0]!.key === 'id') {
    if (!paging.cursor) {
      // The first page and the total in one pass over the matches (the count visits them all anyway),
      // keeping only their ids: then the page's rows by id.
      const dir = sql.raw(paging.cols[0]!.dir === 'asc' ? 'ASC' : 'DESC');
      const r = await sql<ProfileRow & { kt_cursor: (string | null)[]; kt_total: string }>`
        WITH m AS MATERIALIZED (SELECT p.id FROM profiles p WHERE p.base_id = ${baseId} AND ${where}),
          top AS (SELECT id FROM m ORDER BY id ${dir} LIMIT ${paging.limit + 1})
        SELECT p.*, ARRAY[p.id::text] AS kt_cursor, (SELECT count(*) FROM m) AS kt_total
        FROM top JOIN profiles p ON p.base_id = ${baseId} AND p.id = top.id
        ORDER BY p.id ${dir}`.execute(db);
      const total = r.rows.length ? Number(r.rows[0]!.kt_total) : 0;
      return pageResult(r.rows.map(({ kt_total: _t, ...row }) => row), paging.limit, paging.cols, input.columns, total, undefined);
    }
    // A later page: the count first says whether the page is better read through the indexes.
    const total = await count();
    const page = await pageRows(db, baseId, where, { ...paging, few: total <= FEW_ROWS });
    return pageResult(page, paging.limit, paging.cols, input.columns, total, undefined);
  }
  const [page, total] = await Promise.all([pageRows(db, baseId, where, paging), input.withTotal ? count() : Promise.resolve(undefined)]);
  return pageResult(page, paging.limit, paging.cols, input.columns, total, undefined);
}

/** The pasted entries (as typed) that are no identifier or match none of the found values. */
function notFoundOf(parsed: ReturnType<typeof parseList>, rows: FoundIds[]): string[] {
  const found = new Set<string | null | undefined>();
  for (const r of rows) found.add(r.phone).add(r.card_number).add(r.email);
  const missing = new Set<string>();
  for (const e of parsed.entries) if (e.value === null || !found.has(e.value)) missing.add(e.raw);
  return [...missing];
}

function pageResult(
  rows: (ProfileRow & { kt_cursor: (string | null)[] })[],
  limit: number,
  cols: SortColumn[],
  columns: string[] | undefined,
  total: number | undefined,
  notFound: string[] | undefined,
): SearchResult {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map((r) => pickColumns(toProfile(r), columns)),
    ...(total !== undefined ? { total } : {}),
    nextCursor: more && last ? encodeCursor(cols, last.kt_cursor) : null,
    ...(notFound ? { notFound } : {}),
  };
}

// name: pasted-list-found
// Which pasted identifiers exist in the base at all, to report the ones that do not.
async function listNotFound(db: Db, baseId: number, list: string | string[], region: string): Promise<{ notFound: string[] }> {
  const parsed = parseList(list, region);
  const r = await sql<FoundIds>`
    SELECT ${sql.raw(foundColumns(parsed))} FROM profiles p
    WHERE p.base_id = ${baseId} AND ${compileList(parsed).sql}`.execute(db);
  return { notFound: notFoundOf(parsed, r.rows) };
}

/** Values of a list (or any custom string-like) field really used, with counts, for filter checkboxes. */
export async function fieldValues(db: Db, baseId: number, key: string): Promise<{ value: string; count: number }[]> {
  const ctx = await compileContext(db, baseId);
  const f = ctx.fields.get(key.startsWith('fields.') ? key : `fields.${key}`);
  if (!f?.jsonKey) throw notFound('field', key);
  if (f.type === 'valueTags') {
    const r = await sql<{ value: string; n: number }>`
      SELECT t AS value, count(*)::int AS n FROM profiles p, jsonb_array_elements_text(p.fields -> ${f.jsonKey}::text) AS t
      WHERE p.base_id = ${baseId} AND jsonb_typeof(p.fields -> ${f.jsonKey}::text) = 'array'
      GROUP BY t ORDER BY n DESC, t LIMIT 1000`.execute(db);
    return r.rows.map((x) => ({ value: x.value, count: x.n }));
  }
  const r = await sql<{ value: string; n: number }>`
    SELECT p.fields ->> ${f.jsonKey}::text AS value, count(*)::int AS n FROM profiles p
    WHERE p.base_id = ${baseId} AND p.fields ? ${f.jsonKey}::text
    GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1000`.execute(db);
  return r.rows.map((x) => ({ value: x.value, count: x.n }));
}
