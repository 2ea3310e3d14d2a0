// The filter language: nested {and}/{or}/{not} groups of {field, op, value}
// conditions, plus quick search (q) and pasted lists (list). Compiling yields
// both one SQL predicate with bound parameters and a JS predicate over a row
// with the same meaning: the SQL runs, the JS twin lets tests check the SQL.
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { FieldErrors, type MessageKey, type MessageParams } from '../errors/errors.ts';
import { STANDARD_FIELDS } from '../fields/standard.ts';
import { normalizeCardNumber, normalizeEmail, normalizeIp, normalizePhone, parseDate } from '../profiles/normalize.ts';
import { OPS_BY_TYPE, type FilterField, type Row } from './filter.fields.ts';

export type FilterNode = { and: FilterNode[] } | { or: FilterNode[] } | { not: FilterNode } | Condition;
export interface Condition {
  field: string;
  op: string;
  value?: unknown;
}

/** What a dynamic segment stores and a search sends: every part optional, all ANDed. */
export interface Query {
  q?: string | string[];
  list?: string | string[];
  filter?: FilterNode;
}

export interface Compiled {
  sql: RawBuilder<SqlBool>;
  test(row: Row): boolean;
}

export interface SegmentInfo {
  id: number;
  kind: 'dynamic' | 'manual';
  query: Query | null;
}

export interface CompileContext {
  baseId: number;
  region: string;
  fields: Map<string, FilterField>;
  tagIds: ReadonlySet<number>;
  segment(id: number): Promise<SegmentInfo | undefined>;
  /** Members of a manual segment: needed only by the JS evaluator (tests). */
  members?(segmentId: number): ReadonlySet<number>;
  today?: Date;
}

export const LIMITS = { depth: 10, conditions: 200, listValues: 1000, pastedEntries: 10_000 } as const;

const TRUE: Compiled = { sql: sql<SqlBool>`true`, test: () => true };

// ---------------------------------------------------------------------------
// folding and small helpers, mirrored in SQL
// ---------------------------------------------------------------------------

/**
 * The JS twin of SQL lower(): simple case mapping, letter by letter. JS's own
 * toLowerCase maps 'İ' to 'i' + a combining dot and a word-final 'Σ' to 'ς';
 * PostgreSQL gives 'i' and 'σ'.
 */
export function lower(s: string): string {
  if (!/[İΣ]/.test(s)) return s.toLowerCase();
  let out = '';
  for (const c of s) out += c === 'İ' ? 'i' : c.toLowerCase();
  return out;
}

/** The JS twin of SQL kt_fold: lower case, ё = е. */
export function fold(s: string): string {
  return lower(s.replace(/[Ёё]/g, 'е'));
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => '\\' + c);
const likeContains = (s: string) => `%${escapeLike(s)}%`;
const likeStarts = (s: string) => `${escapeLike(s)}%`;

/**
 * A Russian number typed from its start with the trunk prefix 8 (8 916 12…) is
 * the start of +7 916 12…: that stored prefix, or null when the input is not such.
 */
function trunkPrefix(raw: string, digits: string, region: string): string | null {
  return region === 'RU' && digits.length >= 4 && digits.startsWith('8') && !raw.trim().startsWith('+') ? `+7${digits.slice(1)}` : null;
}
export const phoneStarts = (prefix: string): Compiled => ({
  sql: sql<SqlBool>`p.phone LIKE ${likeStarts(prefix)}`,
  test: (r) => typeof r.phone === 'string' && r.phone.startsWith(prefix),
});

/**
 * Quick search's «8 916 12…»: a phone starting +7 916 12, found through the identifiers' trigram index
 * (the phone's digits are in `search`) and then checked exactly. A bare `phone LIKE '+7…%'` has no index
 * to use beside the trigram ones in the same OR, and turned the whole search into a scan (5-10 s at 1M).
 */
export const phoneStartsSearched = (prefix: string): Compiled => ({
  sql: sql<SqlBool>`(p.search LIKE ${likeContains(prefix.slice(1))} AND p.phone LIKE ${likeStarts(prefix)})`,
  test: phoneStarts(prefix).test,
});

/** SQL of the words half of quick search (migration 0008): names, city, point of sale, UTM. */
export const WORDS_SQL = sql.raw(`kt_words(${STANDARD_FIELDS.filter((f) => f.words).map((f) => `p.${f.column}`).join(', ')})`);

/** The row columns of the words half, in kt_words' order. */
export const WORD_COLUMNS: readonly string[] = STANDARD_FIELDS.filter((f) => f.words).map((f) => f.column);

const utf8 = new TextEncoder();
/** jsonb's key order: shorter keys first, then byte order. */
function jsonbKeyOrder(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/**
 * Custom text values as PostgreSQL prints the jsonb array kt_search_ids builds of them: ["a", "b"]
 * in jsonb key order, JSON escapes included (so a search for a quote or a bracket finds what SQL finds).
 */
export function customText(fields: Record<string, unknown>): string | null {
  const keys = Object.keys(fields).filter((k) => typeof fields[k] === 'string').sort(jsonbKeyOrder);
  return keys.length ? '[' + keys.map((k) => JSON.stringify(fields[k])).join(', ') + ']' : null;
}

/** The JS twin of what quick search looks at: SQL kt_words OR kt_search_ids (migration 0008). */
export function searchText(r: Row): string {
  const parts = [...WORD_COLUMNS, 'email', 'card_number', 'car_number', 'extra_key_1', 'extra_key_2', 'extra_key_3', 'extra_key_4', 'extra_key_5', 'extra_key_6', 'referral_id']
    .map((c) => r[c])
    .filter((x): x is string => typeof x === 'string');
  const custom = customText(r.fields);
  if (custom !== null) parts.push(custom);
  if (typeof r.phone === 'string') parts.push(r.phone.replace(/^[+]+/, ''));
  return fold(parts.join(' '));
}

const and = (parts: Compiled[]): Compiled =>
  parts.length === 0 ? TRUE : parts.length === 1 ? parts[0]! : { sql: sql<SqlBool>`(${sql.join(parts.map((p) => p.sql), sql` AND `)})`, test: (r) => parts.every((p) => p.test(r)) };
const or = (parts: Compiled[]): Compiled =>
  parts.length === 0 ? { sql: sql<SqlBool>`false`, test: () => false } : parts.length === 1 ? parts[0]! : { sql: sql<SqlBool>`(${sql.join(parts.map((p) => p.sql), sql` OR `)})`, test: (r) => parts.some((p) => p.test(r)) };
// NOT over SQL's unknown (a NULL comparison) means true, as in JS: two-valued logic throughout.
const not = (p: Compiled): Compiled => ({ sql: sql<SqlBool>`NOT coalesce(${p.sql}, false)`, test: (r) => !p.test(r) });

// ---------------------------------------------------------------------------
// values
// ---------------------------------------------------------------------------

class Bad extends Error {
  readonly key: MessageKey;
  readonly params: MessageParams;
  constructor(key: MessageKey, params: MessageParams = {}) {
    super(key);
    this.key = key;
    this.params = params;
  }
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '').slice(0, 100);

function asList(v: unknown): unknown[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > LIMITS.listValues) throw new Bad('filter_value_list', { max: LIMITS.listValues });
  return v;
}
function asPair(v: unknown): [unknown, unknown] {
  if (!Array.isArray(v) || v.length !== 2) throw new Bad('filter_value_pair');
  return [v[0], v[1]];
}
function asDays(v: unknown): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 36500) throw new Bad('filter_value_days');
  return n;
}
function asText(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string' || v.trim() === '' || v.length > 500) throw new Bad('filter_value_text');
  return v.trim();
}
function asNumber(v: unknown): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v.replace(',', '.')) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new Bad('filter_value_number', { value: show(v) });
  return n;
}
function asDate(v: unknown): string {
  const d = typeof v === 'string' ? parseDate(v) : null;
  if (!d) throw new Bad('filter_value_date', { value: show(v) });
  return d;
}

/** Normalizes one scalar comparison value the way the field stores it. */
function scalar(f: FilterField, op: string, v: unknown, region: string): string | number | boolean {
  switch (f.type) {
    case 'text':
    case 'fullName':
      return fold(asText(v));
    case 'exact':
      // a car number is stored without spaces and hyphens, in upper case: compared the same way
      return f.key === 'carNumber' ? asText(v).replace(/[\s-]/g, '').toUpperCase() : asText(v);
    case 'customText':
      return asText(v);
    case 'phone': {
      const s = asText(v);
      if (op === 'contains' || op === 'startsWith') {
        let d = s.replace(/[^0-9]/g, '');
        if (!d || /[^0-9\s()+\-.]/.test(s)) throw new Bad('filter_value_digits', { value: show(v) });
        if (op === 'startsWith' && region === 'RU' && d.startsWith('8') && !s.trim().startsWith('+')) d = '7' + d.slice(1);
        return d;
      }
      const p = normalizePhone(s, region);
      if (!p) throw new Bad('phone_invalid', { value: show(v) });
      return p;
    }
    case 'email': {
      const s = asText(v);
      if (op === 'contains' || op === 'startsWith') return lower(s);
      const e = normalizeEmail(s);
      if (!e) throw new Bad('email_invalid', { value: show(v) });
      return e;
    }
    case 'card': {
      const s = asText(v);
      if (op === 'contains' || op === 'startsWith') return s.replace(/[\s-]/g, '').toUpperCase();
      const c = normalizeCardNumber(s);
      if (!c) throw new Bad('card_invalid', { value: show(v) });
      return c;
    }
    case 'enum': {
      const s = asText(v);
      if (!f.values?.includes(s)) throw new Bad('filter_value_enum', { values: f.values?.join(', ') ?? '' });
      return s;
    }
    case 'list': {
      const s = asText(v);
      return f.values?.find((o) => o.toLowerCase() === s.toLowerCase()) ?? s;
    }
    case 'ip': {
      const ip = typeof v === 'string' ? normalizeIp(v) : null;
      if (!ip) throw new Bad('field_ip', { value: show(v) });
      return ip;
    }
    case 'date':
    case 'birthDate':
      return asDate(v);
    case 'datetime': {
      const s = typeof v === 'string' ? v.trim() : '';
      const d = parseDate(s.slice(0, 10)) ?? null;
      if (!d || Number.isNaN(Date.parse(s.length > 10 ? s : d))) throw new Bad('filter_value_date', { value: show(v) });
      return s.length > 10 ? new Date(s).toISOString() : d;
    }
    case 'number':
      return asNumber(v);
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      throw new Bad('filter_value_boolean');
    default:
      return asText(v);
  }
}

// ---------------------------------------------------------------------------
// conditions
// ---------------------------------------------------------------------------

type Scalar = string | number | boolean;

/** How a plain column or a custom (jsonb) field is compared, in SQL and in JS. */
interface Access {
  /** SQL of the comparable value (folded text, numeric, date …). */
  value: RawBuilder<unknown>;
  /** The comparable value of a row, or null. */
  read(r: Row): Scalar | null;
  /** Equality that can use an index: custom fields compare by jsonb containment. */
  eq(v: Scalar): RawBuilder<SqlBool>;
  isNull: RawBuilder<SqlBool>;
}

function access(f: FilterField): Access {
  const k = f.jsonKey;
  if (k !== undefined) {
    const raw = (r: Row) => (r.fields[k] ?? null) as Scalar | null;
    const num = f.type === 'number';
    const dateLike = f.type === 'date';
    const value = num
      ? sql.raw(`(CASE WHEN jsonb_typeof(p.fields -> '${k}') = 'number' THEN (p.fields ->> '${k}')::numeric END)`)
      : dateLike
        ? sql.raw(`((p.fields ->> '${k}')::date)`)
        : f.type === 'customText' || f.type === 'list'
          ? sql.raw(`(p.fields ->> '${k}')`)
          : sql.raw(`(p.fields ->> '${k}')`);
    return {
      value,
      read: (r) => {
        const x = raw(r);
        if (x === null) return null;
        if (num) return typeof x === 'number' ? x : null;
        return x;
      },
      eq: (v) => sql<SqlBool>`p.fields @> ${JSON.stringify({ [k]: v })}::jsonb`,
      isNull: sql.raw(`NOT (p.fields ? '${k}')`) as RawBuilder<SqlBool>,
    };
  }
  const folded = f.type === 'text' || f.type === 'fullName';
  const value = folded && f.type === 'text' ? sql`kt_fold(${f.expr})` : f.expr;
  const read = (r: Row): Scalar | null => {
    const x = f.read(r);
    if (x === null || x === undefined || x === '') return null;
    if (x instanceof Date) return x.toISOString();
    if (folded) return fold(String(x));
    return x as Scalar;
  };
  // '' is as empty as NULL (the JS read says null for both), for columns that can hold text
  const textual = folded || f.type === 'exact' || f.type === 'email';
  const isNull = textual ? sql<SqlBool>`coalesce(${f.expr}, '') = ''` : sql<SqlBool>`${f.expr} IS NULL`;
  return { value, read, eq: (v) => sql<SqlBool>`${value} = ${v}`, isNull };
}

/** Compares a row value with a bound value the way SQL does for this type. */
function cmp(a: Scalar, b: Scalar): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/**
 * A datetime value as the span of time it names: a bare date its whole day
 * (UTC), an instant its millisecond (what the API shows; PostgreSQL keeps
 * microseconds). gt means after the span, lte up to its end, and so on.
 */
function span(v: Scalar): [number, number] {
  const s = String(v);
  if (s.length === 10) {
    const start = Date.parse(`${s}T00:00:00Z`);
    return [start, start + 86_400_000];
  }
  const t = Date.parse(s);
  return [t, t + 1];
}

/** A datetime column compared with the start or the end of a span: `x >= bound` or `x < bound`. */
function instantBound(f: FilterField, bound: number, op: '>=' | '<'): Compiled {
  const iso = new Date(bound).toISOString();
  return {
    sql: sql<SqlBool>`${f.expr} ${sql.raw(op)} ${iso}::timestamptz`,
    test: (r) => {
      const x = f.read(r);
      if (x === null || x === undefined) return false;
      const t = x instanceof Date ? x.getTime() : Date.parse(String(x));
      return op === '>=' ? t >= bound : t < bound;
    },
  };
}

function daysAgo(today: Date, n: number): string {
  const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - n));
  return d.toISOString().slice(0, 10);
}

/** Month-day ranges (MMDD) covering today .. today + n days, split at the year end. */
export function birthdayRanges(today: Date, n: number): [number, number][] {
  const ranges: [number, number][] = [];
  const start = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
  if (n >= 365) return [[101, 1231]];
  const end = new Date(start.getTime() + n * 86_400_000);
  const md = (d: Date) => (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
  if (end.getUTCFullYear() === start.getUTCFullYear()) ranges.push([md(start), md(end)]);
  else ranges.push([md(start), 1231], [101, md(end)]);
  return ranges;
}

function birthMd(r: Row): number | null {
  const d = r.birth_date;
  if (typeof d !== 'string') return null;
  return Number(d.slice(5, 7)) * 100 + Number(d.slice(8, 10));
}

function mdRanges(ranges: [number, number][]): Compiled {
  return or(
    ranges.map(([a, b]) => ({
      sql: sql<SqlBool>`p.birth_md BETWEEN ${a} AND ${b}`,
      test: (r: Row) => {
        const m = birthMd(r);
        return m !== null && m >= a && m <= b;
      },
    })),
  );
}

function condition(f: FilterField, op: string, value: unknown, ctx: CompileContext): Compiled {
  const today = ctx.today ?? new Date();
  const a = access(f);
  const one = () => scalar(f, op, value, ctx.region);
  const many = () => [...new Set(asList(value).map((v) => scalar(f, op, v, ctx.region)))];
  const dateish = f.type === 'date' || f.type === 'birthDate' || f.type === 'datetime';
  switch (op) {
    case 'isEmpty':
    case 'isNotEmpty': {
      if (value !== undefined && value !== null) throw new Bad('filter_value_none');
      const isNull =
        f.type === 'tags'
          ? { sql: sql<SqlBool>`p.tags = '{}'::bigint[]`, test: (r: Row) => r.tags.length === 0 }
          : f.type === 'valueTags'
            ? { sql: a.isNull, test: (r: Row) => !Array.isArray(r.fields[f.jsonKey!]) || (r.fields[f.jsonKey!] as unknown[]).length === 0 }
            : { sql: a.isNull, test: (r: Row) => a.read(r) === null };
      return op === 'isEmpty' ? isNull : not(isNull);
    }
    case 'eq': {
      if (f.type === 'datetime') throw new Bad('filter_op_invalid');
      const v = one();
      return { sql: a.eq(v), test: (r) => a.read(r) === v };
    }
    case 'ne': {
      const v = one();
      return not({ sql: a.eq(v), test: (r) => a.read(r) === v });
    }
    case 'in':
    case 'notIn': {
      const vs = many();
      const inSet = new Set<Scalar>(vs);
      const test = (r: Row) => {
        const x = a.read(r);
        return x !== null && inSet.has(x);
      };
      const q =
        f.jsonKey !== undefined
          ? or(vs.map((v) => ({ sql: a.eq(v), test: () => false }))).sql
          : sql<SqlBool>`${a.value} = ANY(${vs})`;
      const pos = { sql: q, test };
      return op === 'in' ? pos : not(pos);
    }
    case 'contains':
    case 'startsWith': {
      const v = String(one());
      let target: RawBuilder<unknown> = a.value;
      let read = (r: Row) => a.read(r);
      if (f.type === 'phone') {
        target = sql`substr(${f.expr}, 2)`; // digits after '+'
        read = (r) => (typeof r.phone === 'string' ? r.phone.slice(1) : null);
      } else if (f.type === 'customText' || f.type === 'email' || f.type === 'exact' || f.type === 'card') {
        const lowered = f.type !== 'card';
        target = lowered ? sql`lower(${a.value})` : a.value;
        read = (r) => {
          const x = a.read(r);
          return x === null ? null : lowered ? lower(String(x)) : String(x);
        };
      }
      const needle = f.type === 'customText' || f.type === 'exact' ? lower(v) : v;
      const pat = op === 'contains' ? likeContains(needle) : likeStarts(needle);
      const like: Compiled = {
        sql: sql<SqlBool>`${target} LIKE ${pat}`,
        test: (r) => {
          const x = read(r);
          if (x === null) return false;
          const s = String(x);
          return op === 'contains' ? s.includes(needle) : s.startsWith(needle);
        },
      };
      // '8916123' contains: those digits anywhere, or the number 8 916 123… (+7 916 123…)
      const trunk = f.type === 'phone' && op === 'contains' ? trunkPrefix(String(value), v, ctx.region) : null;
      return trunk ? or([like, phoneStarts(trunk)]) : like;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const v = one();
      if (f.type === 'datetime') {
        const [start, end] = span(v);
        return op === 'gt' ? instantBound(f, end, '>=') : op === 'gte' ? instantBound(f, start, '>=') : op === 'lt' ? instantBound(f, start, '<') : instantBound(f, end, '<');
      }
      const sqlOp = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[op];
      return {
        sql: sql<SqlBool>`${a.value} ${sql.raw(sqlOp)} ${v}`,
        test: (r) => {
          const x = a.read(r);
          if (x === null) return false;
          const c = cmp(x, v);
          return op === 'gt' ? c > 0 : op === 'gte' ? c >= 0 : op === 'lt' ? c < 0 : c <= 0;
        },
      };
    }
    case 'between': {
      const [lo, hi] = asPair(value).map((x) => scalar(f, op, x, ctx.region)) as [Scalar, Scalar];
      // On a timestamp, from the start of the first span to the end of the second (a bare date is its whole day).
      if (f.type === 'datetime') return and([instantBound(f, span(lo)[0], '>='), instantBound(f, span(hi)[1], '<')]);
      return {
        sql: sql<SqlBool>`(${a.value} >= ${lo} AND ${a.value} <= ${hi})`,
        test: (r) => {
          const x = a.read(r);
          return x !== null && cmp(x, lo) >= 0 && cmp(x, hi) <= 0;
        },
      };
    }
    case 'withinLastDays':
    case 'olderThanDays': {
      if (!dateish) throw new Bad('filter_op_invalid');
      const n = asDays(value);
      const from = daysAgo(today, n);
      const within = op === 'withinLastDays';
      const bound = f.type === 'datetime' ? sql`${from}::date::timestamptz` : sql`${from}::date`;
      return {
        sql: within ? sql<SqlBool>`${a.value} >= ${bound}` : sql<SqlBool>`${a.value} < ${bound}`,
        test: (r) => {
          const x = a.read(r);
          if (x === null) return false;
          const c = f.type === 'datetime' ? Date.parse(String(x)) - Date.parse(`${from}T00:00:00Z`) : cmp(x, from);
          return within ? c >= 0 : c < 0;
        },
      };
    }
    case 'birthdayThisMonth': {
      if (value !== undefined && value !== null) throw new Bad('filter_value_none');
      const m = today.getUTCMonth() + 1;
      return mdRanges([[m * 100 + 1, m * 100 + 31]]);
    }
    case 'birthdayInNextDays':
      return mdRanges(birthdayRanges(today, asDays(value)));
    case 'birthMonthIn': {
      const months = asList(value).map((x) => Number(x));
      if (months.some((m) => !Number.isInteger(m) || m < 1 || m > 12)) throw new Bad('filter_value_month');
      return mdRanges([...new Set(months)].sort((x, y) => x - y).map((m) => [m * 100 + 1, m * 100 + 31] as [number, number]));
    }
    case 'hasAny':
    case 'hasAll':
    case 'hasNone': {
      if (f.type === 'tags') {
        const ids = [...new Set(asList(value).map((x) => Number(x)))];
        const unknown = ids.find((id) => !Number.isSafeInteger(id) || !ctx.tagIds.has(id));
        if (unknown !== undefined) throw new Bad('filter_tag_unknown', { value: show(unknown) });
        const any = { sql: sql<SqlBool>`p.tags && ${ids}::bigint[]`, test: (r: Row) => r.tags.some((t) => ids.includes(Number(t))) };
        if (op === 'hasAll') return { sql: sql<SqlBool>`p.tags @> ${ids}::bigint[]`, test: (r) => ids.every((t) => r.tags.map(Number).includes(t)) };
        return op === 'hasAny' ? any : not(any);
      }
      const vals = [...new Set(asList(value).map((x) => asText(x)))];
      const k = f.jsonKey!;
      const arr = (r: Row) => (Array.isArray(r.fields[k]) ? (r.fields[k] as string[]) : []);
      const any = { sql: sql<SqlBool>`coalesce((p.fields -> ${k}::text) ?| ${vals}::text[], false)`, test: (r: Row) => arr(r).some((t) => vals.includes(t)) };
      if (op === 'hasAll') return { sql: sql<SqlBool>`coalesce((p.fields -> ${k}::text) ?& ${vals}::text[], false)`, test: (r) => vals.every((t) => arr(r).includes(t)) };
      return op === 'hasAny' ? any : not(any);
    }
    default:
      throw new Bad('filter_op_invalid');
  }
}

// ---------------------------------------------------------------------------
// the tree
// ---------------------------------------------------------------------------

interface Walk {
  ctx: CompileContext;
  errs: FieldErrors;
  conditions: number;
  tooBig?: boolean;
  visiting: Set<number>;
}

async function node(n: unknown, path: string, depth: number, w: Walk): Promise<Compiled> {
  if (depth > LIMITS.depth || ++w.conditions > LIMITS.conditions) {
    // one error for the first node past the limit, not one for each of thousands
    if (!w.tooBig) w.errs.add(path, 'filter_too_deep', { max: depth > LIMITS.depth ? LIMITS.depth : LIMITS.conditions });
    w.tooBig = true;
    return TRUE;
  }
  if (typeof n !== 'object' || n === null || Array.isArray(n)) {
    w.errs.add(path, 'filter_shape');
    return TRUE;
  }
  const o = n as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && (keys[0] === 'and' || keys[0] === 'or')) {
    const list = o[keys[0]];
    if (!Array.isArray(list)) {
      w.errs.add(`${path}.${keys[0]}`, 'filter_shape');
      return TRUE;
    }
    const parts: Compiled[] = [];
    for (let i = 0; i < list.length; i++) parts.push(await node(list[i], `${path}.${keys[0]}[${i}]`, depth + 1, w));
    return keys[0] === 'and' ? and(parts) : or(parts);
  }
  if (keys.length === 1 && keys[0] === 'not') return not(await node(o.not, `${path}.not`, depth + 1, w));
  const extra = keys.filter((k) => k !== 'field' && k !== 'op' && k !== 'value');
  if (typeof o.field !== 'string' || typeof o.op !== 'string' || extra.length) {
    w.errs.add(path, 'filter_shape');
    return TRUE;
  }
  const f = w.ctx.fields.get(o.field);
  if (!f) {
    w.errs.add(`${path}.field`, 'filter_field_unknown', { field: o.field });
    return TRUE;
  }
  const ops = OPS_BY_TYPE[f.type];
  if (!ops.includes(o.op)) {
    w.errs.add(`${path}.op`, 'filter_op_invalid', { op: o.op, field: o.field, ops: ops.join(', ') });
    return TRUE;
  }
  try {
    if (f.type === 'segment') return await segmentCondition(o.op, o.value, `${path}.value`, w);
    return condition(f, o.op, o.value, w.ctx);
  } catch (e) {
    if (!(e instanceof Bad)) throw e;
    if (e.key === 'filter_op_invalid') w.errs.add(`${path}.op`, e.key, { op: o.op, field: o.field, ops: ops.join(', ') });
    else w.errs.add(`${path}.value`, e.key, e.params);
    return TRUE;
  }
}

async function segmentCondition(op: string, value: unknown, path: string, w: Walk): Promise<Compiled> {
  const id = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  const seg = typeof id === 'number' && Number.isSafeInteger(id) ? await w.ctx.segment(id) : undefined;
  if (!seg) throw new Bad('filter_segment_unknown', { value: show(value) });
  let inSeg: Compiled;
  if (seg.kind === 'manual') {
    const members = () => {
      if (!w.ctx.members) throw new Error('segment members are not loaded for evaluation');
      return w.ctx.members(seg.id);
    };
    inSeg = {
      sql: sql<SqlBool>`EXISTS (SELECT 1 FROM segment_members sm WHERE sm.base_id = p.base_id AND sm.segment_id = ${seg.id} AND sm.profile_id = p.id)`,
      test: (r) => members().has(Number(r.id)),
    };
  } else {
    if (w.visiting.has(seg.id)) throw new Bad('filter_segment_cycle');
    w.visiting.add(seg.id);
    const errs = new FieldErrors();
    inSeg = await compileQuery(seg.query ?? {}, w.ctx, { errs, visiting: w.visiting, path });
    w.visiting.delete(seg.id);
    for (const e of errs.list) w.errs.add(path, e.key, e.params);
  }
  return op === 'inSegment' ? inSeg : not(inSeg);
}

// ---------------------------------------------------------------------------
// quick search and pasted lists
// ---------------------------------------------------------------------------

const PHONEISH = /^[0-9\s()+\-.]+$/;

export type SearchTerm = { words: string[] } | { digits: string; trunk: string | null };

/** Quick search values as terms: several values ORed; a value's words must all occur; phone-like values match digits. */
export function searchTerms(q: string | string[] | undefined, region: string): SearchTerm[] {
  const values = (Array.isArray(q) ? q : q === undefined ? [] : [q]).map((v) => v.trim()).filter(Boolean);
  const terms: SearchTerm[] = [];
  for (const v of values.slice(0, 50)) {
    if (PHONEISH.test(v) && v.replace(/[^0-9]/g, '').length >= 3) {
      let d = v.replace(/[^0-9]/g, '');
      if (region === 'RU' && d.length === 11 && d.startsWith('8')) d = '7' + d.slice(1);
      // '8916123' is also the start of +7 916 123…
      terms.push({ digits: d, trunk: trunkPrefix(v, d, region) });
    } else {
      terms.push({ words: fold(v).split(/\s+/).filter(Boolean).slice(0, 10) });
    }
  }
  return terms;
}

/** One space-free fragment anywhere in the searchable text: the words or the identifiers (migration 0008). */
export function fragment(word: string): Compiled {
  const pat = likeContains(word);
  return {
    sql: sql<SqlBool>`(${WORDS_SQL} LIKE ${pat} OR p.search LIKE ${pat})`,
    test: (r) => searchText(r).includes(word),
  };
}

/** The identifiers half of a fragment (the words are the in-memory index's to decide). */
export function identifiersFragment(word: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`p.search LIKE ${likeContains(word)}`;
}

/** Quick search: several values ORed; within a value every word must occur. Phone fragments match digits. */
export function compileSearch(q: string | string[] | undefined, region: string): Compiled {
  const alternatives = searchTerms(q, region).map((t) =>
    'digits' in t ? (t.trunk ? or([fragment(t.digits), phoneStartsSearched(t.trunk)]) : fragment(t.digits)) : and(t.words.map(fragment)),
  );
  return alternatives.length ? or(alternatives) : TRUE;
}

export interface ParsedList {
  phones: string[];
  cards: string[];
  emails: string[];
  /** Each entry as typed, with what it normalized to (null: not an identifier). */
  entries: { raw: string; kind: 'phone' | 'cardNumber' | 'email' | null; value: string | null }[];
}

/**
 * A pasted list of phones, card numbers and emails, separated by new lines,
 * commas, semicolons or tabs (or spaces, when a chunk is several identifiers).
 */
export function parseList(text: string | string[], region: string): ParsedList {
  const chunks = (Array.isArray(text) ? text : [text]).flatMap((t) => t.split(/[\n\r,;\t]+/)).map((c) => c.trim()).filter(Boolean);
  const entries: ParsedList['entries'] = [];
  const classify = (raw: string): ParsedList['entries'][number] => {
    if (raw.includes('@')) {
      const e = normalizeEmail(raw);
      return { raw, kind: e ? 'email' : null, value: e };
    }
    if (PHONEISH.test(raw) && digitCount(raw) >= 10) {
      const p = normalizePhone(raw, region);
      if (p) return { raw, kind: 'phone', value: p };
    }
    const c = normalizeCardNumber(raw);
    return { raw, kind: c ? 'cardNumber' : null, value: c };
  };
  for (const chunk of chunks) {
    const whole = classify(chunk);
    if (whole.kind || !/\s/.test(chunk)) entries.push(whole);
    else for (const part of chunk.split(/\s+/)) entries.push(classify(part));
  }
  // One pass over up to 10,000 entries (this runs on every pasted-list search).
  const kinds = { phone: new Set<string>(), cardNumber: new Set<string>(), email: new Set<string>() };
  for (const e of entries) if (e.kind) kinds[e.kind].add(e.value!);
  return { phones: [...kinds.phone], cards: [...kinds.cardNumber], emails: [...kinds.email], entries };
}

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

export function compileList(list: ParsedList): Compiled {
  const { phones, cards, emails } = list;
  const ph = new Set(phones);
  const ca = new Set(cards);
  const em = new Set(emails);
  // Only the kinds the list has: each is one index probe per entry.
  const parts: RawBuilder<SqlBool>[] = [];
  if (phones.length) parts.push(sql<SqlBool>`p.phone = ANY(${phones}::text[])`);
  if (cards.length) parts.push(sql<SqlBool>`p.card_number = ANY(${cards}::text[])`);
  if (emails.length) parts.push(sql<SqlBool>`p.email = ANY(${emails}::text[])`);
  return {
    sql: parts.length ? sql<SqlBool>`(${sql.join(parts, sql` OR `)})` : sql<SqlBool>`false`,
    test: (r) => ph.has(r.phone as string) || ca.has(r.card_number as string) || em.has(r.email as string),
  };
}

/** Compiles a whole query (quick search AND pasted list AND filter); errors are named by path. */
export async function compileQuery(
  query: Query,
  ctx: CompileContext,
  opts: { errs?: FieldErrors; visiting?: Set<number>; path?: string } = {},
): Promise<Compiled> {
  const errs = opts.errs ?? new FieldErrors();
  const parts: Compiled[] = [];
  if (query.q !== undefined) parts.push(compileSearch(query.q, ctx.region));
  if (query.list !== undefined) {
    const parsed = parseList(query.list, ctx.region);
    if (parsed.entries.length > LIMITS.pastedEntries) errs.add('list', 'too_many', { max: LIMITS.pastedEntries });
    parts.push(compileList(parsed));
  }
  if (query.filter !== undefined) {
    const w: Walk = { ctx, errs, conditions: 0, visiting: opts.visiting ?? new Set() };
    parts.push(await node(query.filter, opts.path ?? 'filter', 0, w));
  }
  if (!opts.errs) errs.throwIfAny();
  return and(parts);
}
