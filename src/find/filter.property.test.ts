// The filter language has two twins: the SQL predicate the API runs and the JS
// predicate test(row). This file checks they agree: random profiles in a fresh
// base, random filter trees (values drawn from the data so they match
// sometimes), random quick searches and pasted lists; the ids the search
// endpoint returns, its total and the count endpoint must all equal the ids
// whose row passes test(row).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { testContext } from '../../test/context.ts';
import { normalizePhone } from '../profiles/normalize.ts';
import { compileQuery, fold, lower, type FilterNode, type Query } from './filter.ts';
import type { Row } from './filter.fields.ts';
import { compileContext } from './find.service.ts';

// Totals and counts come from the in-memory count index (facets: on), ids from SQL, expectations from the JS twin.
const ctx = await testContext({ KARTOTEKA_FACETS: 'on' });

// ---------------------------------------------------------------------------
// the base: custom fields of every type, tags
// ---------------------------------------------------------------------------

const LEVELS = ['Gold', 'Silver', 'Bronze'] as const;
const LABELS = ['a', 'b', 'VIP', 'Ёж', 'ёж'] as const;
const TAG_NAMES = ['VIP', 'Новичок', 'Оптовик', 'Отток'] as const;

let baseId = 0;
let tagIds: number[] = [];

async function setUpBase() {
  const b = await ctx.newBase();
  baseId = b.id;
  const defs: Record<string, unknown>[] = [
    { key: 'score', type: 'int' },
    { key: 'ratio', type: 'float' },
    { key: 'note', type: 'string' },
    { key: 'since', type: 'date' },
    { key: 'vip', type: 'boolean' },
    { key: 'level', type: 'list', listMode: 'static', options: [...LEVELS] },
    { key: 'ip', type: 'ip' },
    { key: 'labels', type: 'tags' },
  ];
  for (const d of defs) {
    const r = await ctx.api('POST', `/api/v1/bases/${baseId}/fields`, { label: { ru: String(d.key), en: String(d.key) }, ...d });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const tags = await ctx.db
    .insertInto('tags')
    .values(TAG_NAMES.map((name) => ({ base_id: baseId, name })))
    .returning('id')
    .execute();
  tagIds = tags.map((t) => t.id);
}

// ---------------------------------------------------------------------------
// random profiles (rows as stored: normalized values, snake_case)
// ---------------------------------------------------------------------------

const LAST = ['Иванов', 'İnce', 'ΟΔΥΣΣΕΑΣ', 'Иванова', 'иванов', 'ИВАНОВА', 'Иванов-Петров', 'Ёлкин', 'Елкин', 'Королёв', 'Королев', 'Семёнова', 'Фёдоров', 'Smith', "O'Brien", 'Ли', 'Петров'];
const FIRST = ['Анна', 'Иван', 'Пётр', 'Петр', 'Алёна', 'ЁЖИК', 'John', 'Мария', 'Ли Мин'];
const MIDDLE = ['Сергеевна', 'Иванович', 'Семёнович', 'Петровна'];
const CITIES = ['Москва', 'москва', 'Орёл', 'Орел', 'Санкт-Петербург', 'Нижний Новгород', 'London'];
const POS = ['ТЦ Европейский', 'Магазин №1', 'магазин №2'];
const UTM = ['vk', 'VK', 'yandex', 'google_ads', 'tg'];
const NOTES = ['Любит кофе', 'любит КОФЕ', 'Ёлка 2024', 'елка', 'VIP client', '50%_off\\deal', 'Иванов друг', 'a_b%c', 'Сказал "да"'];
const EMAILS = ['ivanov@mail.ru', 'anna.s@yandex.ru', 'john@example.com', 'ёлкин@почта.рф', 'family@mail.ru', 'x_y%z@test.org'];
const IPS = ['10.0.0.1', '192.168.1.20', '2001:db8::1', '127.0.0.1'];
const CODES = ['916', '903', '925', '999', '495', '812'];
const SPECIAL_DAYS = ['02-29', '12-30', '12-31', '01-01', '01-02'];

const DAY = 86_400_000;
const NOW = Date.now();
const pad = (n: number, w: number) => String(n).padStart(w, '0');
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const maybe = <T>(a: fc.Arbitrary<T>, nullFreq = 1, valueFreq = 3): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: fc.constant(null), weight: nullFreq }, { arbitrary: a, weight: valueFreq });

/** Dates near today (this month, the next days) as well as anywhere. */
const birthDateArb = fc.oneof(
  fc.integer({ min: -25_000, max: -3_000 }).map((d) => isoDate(NOW + d * DAY)),
  fc.tuple(fc.integer({ min: 1950, max: 2010 }), fc.integer({ min: -3, max: 40 })).map(([y, d]) => {
    const t = new Date(NOW + d * DAY);
    const md = `${pad(t.getUTCMonth() + 1, 2)}-${pad(t.getUTCDate(), 2)}`;
    return md === '02-29' ? `${y - (y % 4)}-02-29` : `${y}-${md}`;
  }),
  fc.tuple(fc.integer({ min: 487, max: 502 }), fc.constantFrom(...SPECIAL_DAYS)).map(([y4, md]) => `${y4 * 4}-${md}`),
);

/** A timestamp in the last two years with microseconds, as PostgreSQL text. */
const instantArb = fc.tuple(fc.integer({ min: 0, max: 730 * DAY }), fc.integer({ min: 0, max: 999 })).map(
  ([back, micros]) => new Date(NOW - back).toISOString().replace('Z', `${pad(micros, 3)}+00`),
);

const customArb = fc.record(
  {
    score: fc.integer({ min: -5, max: 100 }),
    ratio: fc.oneof(fc.double({ min: -10, max: 10, noNaN: true }), fc.constantFrom(0.1, 0.5, 2.5)),
    note: fc.constantFrom(...NOTES),
    since: fc.integer({ min: -800, max: 30 }).map((d) => isoDate(NOW + d * DAY)),
    vip: fc.boolean(),
    level: fc.constantFrom(...LEVELS),
    ip: fc.constantFrom(...IPS),
    labels: fc.uniqueArray(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 3 }),
  },
  { requiredKeys: [] },
);

interface GenProfile {
  id: number;
  kind: 'member' | 'subscriber';
  phone: string | null;
  card_number: string | null;
  email: string | null;
  last_name: string | null;
  first_name: string | null;
  middle_name: string | null;
  birth_date: string | null;
  gender: string | null;
  city: string | null;
  car_number: string | null;
  extra_key_1: string | null;
  reg_source: string | null;
  point_of_sale: string | null;
  utm_source: string | null;
  referral_id: string | null;
  fields: Record<string, unknown>;
  tags: number[];
  created_at: string;
  updated_at: string;
}

const profileArb = fc.record({
  subscriber: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  phone: maybe(fc.tuple(fc.constantFrom(...CODES), fc.integer({ min: 0, max: 9_999_999 })).map(([c, n]) => `+7${c}${pad(n, 7)}`), 1, 4),
  card: maybe(fc.integer({ min: 0, max: 99_999 }).map((n) => `46000${pad(n, 8)}`), 2, 1),
  email: maybe(fc.constantFrom(...EMAILS)),
  last: maybe(fc.constantFrom(...LAST), 1, 5),
  first: maybe(fc.constantFrom(...FIRST)),
  middle: maybe(fc.constantFrom(...MIDDLE), 2, 1),
  birth: maybe(birthDateArb, 1, 3),
  gender: maybe(fc.constantFrom('m', 'f')),
  city: maybe(fc.constantFrom(...CITIES)),
  car: maybe(fc.tuple(fc.constantFrom('А', 'В', 'Е', 'К'), fc.integer({ min: 100, max: 999 })).map(([l, n]) => `${l}${n}ВС77`), 2, 1),
  extra: maybe(fc.constantFrom('K-1', 'k-1', 'X_9', 'ext%1'), 2, 1),
  reg: maybe(fc.constantFrom('pos', 'form', 'interface', 'api', 'import'), 1, 4),
  pos: maybe(fc.constantFrom(...POS), 2, 1),
  utm: maybe(fc.constantFrom(...UTM)),
  referral: maybe(fc.constantFrom('R1', 'r1', 'R2'), 3, 1),
  fields: customArb,
  tags: fc.uniqueArray(fc.integer({ min: 0, max: TAG_NAMES.length - 1 }), { maxLength: 3 }),
  created: instantArb,
  updatedAfter: fc.integer({ min: 0, max: 30 * DAY }),
});

/** Valid rows: unique phones and cards, identity rules of members and subscribers. */
type RawProfile = typeof profileArb extends fc.Arbitrary<infer T> ? T : never;

function toRows(raw: RawProfile[]): GenProfile[] {
  const phones = new Set<string>();
  const cards = new Set<string>();
  return raw.map((p, i) => {
    let phone = p.phone && normalizePhone(p.phone, 'RU') === p.phone && !phones.has(p.phone) ? p.phone : null;
    let card = p.card && !cards.has(p.card) ? p.card : null;
    let email = p.email;
    const subscriber = p.subscriber;
    if (subscriber) {
      phone = null;
      card = null;
      email = `sub${i}@example.com`;
    } else if (!phone && !card) card = `7700${pad(i, 9)}`;
    if (phone) phones.add(phone);
    if (card) cards.add(card);
    const created = p.created;
    const updated = new Date(Math.min(Date.parse(created.slice(0, 23) + 'Z') + p.updatedAfter, NOW)).toISOString();
    return {
      id: i + 1,
      kind: subscriber ? 'subscriber' : 'member',
      phone,
      card_number: card,
      email,
      last_name: p.last,
      first_name: p.first,
      middle_name: p.middle,
      birth_date: p.birth,
      gender: p.gender,
      city: p.city,
      car_number: p.car,
      extra_key_1: p.extra,
      reg_source: p.reg,
      point_of_sale: p.pos,
      utm_source: p.utm,
      referral_id: p.referral,
      fields: p.fields as Record<string, unknown>,
      tags: [...new Set(p.tags.map((t) => tagIds[t]!))].sort((a, b) => a - b),
      created_at: created,
      updated_at: updated,
    };
  });
}

const COLUMNS = 'id bigint, kind text, phone text, card_number text, email text, last_name text, first_name text, middle_name text, birth_date date, gender text, city text, car_number text, extra_key_1 text, reg_source text, point_of_sale text, utm_source text, referral_id text, fields jsonb, tags bigint[], created_at timestamptz, updated_at timestamptz';
const NAMES = COLUMNS.split(', ').map((c) => c.split(' ')[0]).join(', ');

async function load(rows: GenProfile[]): Promise<Row[]> {
  await ctx.pool.query('DELETE FROM profiles WHERE base_id = $1', [baseId]);
  if (rows.length) {
    await ctx.pool.query(
      `INSERT INTO profiles (base_id, ${NAMES}) SELECT $1, ${NAMES} FROM jsonb_to_recordset($2::jsonb) AS x(${COLUMNS})`,
      [baseId, JSON.stringify(rows)],
    );
  }
  return (await ctx.pool.query('SELECT * FROM profiles WHERE base_id = $1', [baseId])).rows as Row[];
}

// ---------------------------------------------------------------------------
// random queries, values drawn from the rows
// ---------------------------------------------------------------------------

/** Varies case and ё/е the way people type. */
const typed = (s: string) =>
  fc.constantFrom<(x: string) => string>(
    (x) => x,
    (x) => x.toLowerCase(),
    (x) => x.toUpperCase(),
    (x) => x.replace(/ё/g, 'е').replace(/Ё/g, 'Е'),
    (x) => x.replace(/е/g, 'ё'),
  ).map((f) => f(s));

/** A non-blank piece of s (or s itself). */
const piece = (s: string) =>
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => {
    const i = a % s.length;
    const p = s.slice(i, i + 1 + (b % (s.length - i)));
    return p.trim() ? p : s;
  });

function phoneFormats(p: string): string[] {
  if (!p.startsWith('+7') || p.length !== 12) return [p];
  const n = p.slice(2);
  return [p, `8 (${n.slice(0, 3)}) ${n.slice(3, 6)}-${n.slice(6, 8)}-${n.slice(8)}`, `+7 ${n.slice(0, 3)} ${n.slice(3)}`, n, `8${n}`];
}

function queryArb(rows: GenProfile[]): fc.Arbitrary<Query> {
  const col = <T>(get: (r: GenProfile) => T | null, fallback: T): fc.Arbitrary<T> => {
    const vals = rows.map(get).filter((v): v is T => v !== null && v !== undefined);
    return vals.length ? fc.oneof({ arbitrary: fc.constantFrom(...vals), weight: 4 }, { arbitrary: fc.constant(fallback), weight: 1 }) : fc.constant(fallback);
  };
  const field = (k: string) => (r: GenProfile) => (r.fields[k] ?? null) as never;
  const fullName = (r: GenProfile) => [r.last_name, r.first_name, r.middle_name].filter(Boolean).join(' ') || null;
  const textOps = (key: string, get: (r: GenProfile) => string | null, fallback: string, vary = true): fc.Arbitrary<FilterNode> => {
    const v = col(get, fallback).chain((s) => (vary ? typed(s) : fc.constant(s)));
    return fc.oneof(
      fc.record({ field: fc.constant(key), op: fc.constantFrom('eq', 'ne'), value: v }),
      fc.record({ field: fc.constant(key), op: fc.constantFrom('in', 'notIn'), value: fc.array(v, { minLength: 1, maxLength: 3 }) }),
      fc.record({ field: fc.constant(key), op: fc.constantFrom('contains', 'startsWith'), value: col(get, fallback).chain(piece).chain((s) => (vary ? typed(s) : fc.constant(s))) }),
      fc.record({ field: fc.constant(key), op: fc.constantFrom('isEmpty', 'isNotEmpty') }),
    );
  };
  const empty = (key: string) => fc.record({ field: fc.constant(key), op: fc.constantFrom('isEmpty', 'isNotEmpty') });
  const dateValue = (get: (r: GenProfile) => string | null) =>
    fc.oneof(col(get, '2000-01-01'), fc.integer({ min: -30_000, max: 100 }).map((d) => isoDate(NOW + d * DAY)));
  const dateOps = (key: string, get: (r: GenProfile) => string | null): fc.Arbitrary<FilterNode> =>
    fc.oneof(
      fc.record({ field: fc.constant(key), op: fc.constantFrom('eq', 'ne', 'gt', 'gte', 'lt', 'lte'), value: dateValue(get) }),
      fc.record({ field: fc.constant(key), op: fc.constant('between'), value: fc.tuple(dateValue(get), dateValue(get)) }),
      fc.record({ field: fc.constant(key), op: fc.constantFrom('withinLastDays', 'olderThanDays'), value: fc.oneof(fc.integer({ min: 0, max: 800 }), fc.integer({ min: 0, max: 36_500 })) }),
      empty(key),
    );
  const createdValue = (get: (r: GenProfile) => string) =>
    fc.oneof(
      // the instant as the API shows it (milliseconds), the bare day, or a random instant
      col((r) => new Date(Date.parse(get(r).slice(0, 23) + 'Z')).toISOString(), new Date(NOW).toISOString()),
      col((r) => get(r).slice(0, 10), '2025-01-01'),
      fc.integer({ min: 0, max: 800 * DAY }).map((b) => new Date(NOW - b).toISOString()),
    );
  const datetimeOps = (key: string, get: (r: GenProfile) => string): fc.Arbitrary<FilterNode> =>
    fc.oneof(
      fc.record({ field: fc.constant(key), op: fc.constantFrom('gt', 'gte', 'lt', 'lte'), value: createdValue(get) }),
      fc.record({ field: fc.constant(key), op: fc.constant('between'), value: fc.tuple(createdValue(get), createdValue(get)) }),
      fc.record({ field: fc.constant(key), op: fc.constantFrom('withinLastDays', 'olderThanDays'), value: fc.integer({ min: 0, max: 800 }) }),
    );
  const numberOps = (key: string, get: (r: GenProfile) => number | null, fallback: number): fc.Arbitrary<FilterNode> => {
    const v = fc.oneof(col(get, fallback), fc.integer({ min: -10, max: 110 }));
    return fc.oneof(
      fc.record({ field: fc.constant(key), op: fc.constantFrom('eq', 'ne', 'gt', 'gte', 'lt', 'lte'), value: v }),
      fc.record({ field: fc.constant(key), op: fc.constantFrom('in', 'notIn'), value: fc.array(v, { minLength: 1, maxLength: 4 }) }),
      fc.record({ field: fc.constant(key), op: fc.constant('between'), value: fc.tuple(v, v) }),
      empty(key),
    );
  };
  const enumOps = (key: string, values: readonly string[]): fc.Arbitrary<FilterNode> =>
    fc.oneof(
      fc.record({ field: fc.constant(key), op: fc.constantFrom('eq', 'ne'), value: fc.constantFrom(...values) }),
      fc.record({ field: fc.constant(key), op: fc.constantFrom('in', 'notIn'), value: fc.uniqueArray(fc.constantFrom(...values), { minLength: 1 }) }),
      empty(key),
    );
  const phoneOps: fc.Arbitrary<FilterNode> = fc.oneof(
    fc.record({ field: fc.constant('phone'), op: fc.constantFrom('eq', 'ne'), value: col((r) => r.phone, '+79160000000').chain((p) => fc.constantFrom(...phoneFormats(p))) }),
    fc.record({
      field: fc.constant('phone'),
      op: fc.constantFrom('in', 'notIn'),
      value: fc.array(col((r) => r.phone, '+79160000000').chain((p) => fc.constantFrom(...phoneFormats(p))), { minLength: 1, maxLength: 3 }),
    }),
    fc.record({
      field: fc.constant('phone'),
      op: fc.constantFrom('contains', 'startsWith'),
      value: col((r) => r.phone, '+79160000000').chain((p) =>
        fc.oneof(
          piece(p.slice(1)),
          fc.integer({ min: 2, max: 11 }).map((n) => `8${p.slice(2, 2 + n)}`),
          fc.integer({ min: 1, max: 11 }).map((n) => `+${p.slice(1, 1 + n)}`),
          fc.integer({ min: 3, max: 10 }).map((n) => `(${p.slice(2, 5)}) ${p.slice(5, 2 + n)}`),
        ),
      ),
    }),
    empty('phone'),
  );
  const tagsOps: fc.Arbitrary<FilterNode> = fc.oneof(
    fc.record({ field: fc.constant('tags'), op: fc.constantFrom('hasAny', 'hasAll', 'hasNone'), value: fc.uniqueArray(fc.constantFrom(...tagIds), { minLength: 1, maxLength: 3 }) }),
    empty('tags'),
  );
  const labelsOps: fc.Arbitrary<FilterNode> = fc.oneof(
    fc.record({ field: fc.constant('fields.labels'), op: fc.constantFrom('hasAny', 'hasAll', 'hasNone'), value: fc.uniqueArray(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 3 }) }),
    empty('fields.labels'),
  );
  const birthOps: fc.Arbitrary<FilterNode> = fc.oneof(
    dateOps('birthDate', (r) => r.birth_date),
    fc.constant({ field: 'birthDate', op: 'birthdayThisMonth' }),
    fc.record({ field: fc.constant('birthDate'), op: fc.constant('birthdayInNextDays'), value: fc.oneof(fc.integer({ min: 0, max: 45 }), fc.integer({ min: 0, max: 400 })) }),
    fc.record({ field: fc.constant('birthDate'), op: fc.constant('birthMonthIn'), value: fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }) }),
  );
  const condition: fc.Arbitrary<FilterNode> = fc.oneof(
    textOps('lastName', (r) => r.last_name, 'Иванов'),
    textOps('firstName', (r) => r.first_name, 'Анна'),
    textOps('middleName', (r) => r.middle_name, 'Петровна'),
    textOps('city', (r) => r.city, 'Москва'),
    textOps('pointOfSale', (r) => r.point_of_sale, 'Магазин'),
    textOps('carNumber', (r) => r.car_number, 'А123ВС77', false),
    textOps('extraKey1', (r) => r.extra_key_1, 'K-1', false),
    textOps('utmSource', (r) => r.utm_source, 'vk', false),
    textOps('referralId', (r) => r.referral_id, 'R1', false),
    textOps('fields.note', field('note'), 'кофе'),
    textOps('email', (r) => r.email, 'ivanov@mail.ru', false),
    textOps('cardNumber', (r) => r.card_number, '4600000000001', false),
    fc.record({ field: fc.constant('fullName'), op: fc.constantFrom('contains', 'startsWith'), value: col(fullName, 'Иванов Иван').chain(piece).chain(typed) }),
    empty('fullName'),
    phoneOps,
    enumOps('kind', ['member', 'subscriber']),
    enumOps('gender', ['m', 'f']),
    enumOps('registrationSource', ['pos', 'form', 'interface', 'api', 'import']),
    enumOps('fields.level', ['Gold', 'Silver', 'Bronze', 'gold']),
    enumOps('fields.ip', IPS),
    birthOps,
    dateOps('fields.since', field('since')),
    datetimeOps('createdAt', (r) => r.created_at),
    datetimeOps('updatedAt', (r) => r.updated_at.replace('Z', '+00')),
    numberOps('id', (r) => r.id, 1),
    numberOps('fields.score', field('score'), 50),
    numberOps('fields.ratio', field('ratio'), 0.5),
    fc.oneof(fc.record({ field: fc.constant('fields.vip'), op: fc.constant('eq'), value: fc.boolean() }), empty('fields.vip')),
    tagsOps,
    labelsOps,
  );
  const tree: fc.Arbitrary<FilterNode> = fc.letrec<{ node: FilterNode }>((tie) => ({
    node: fc.oneof(
      { maxDepth: 3, depthIdentifier: 'filter' },
      { arbitrary: condition, weight: 3 },
      { arbitrary: fc.record({ and: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }), weight: 1 },
      { arbitrary: fc.record({ or: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }), weight: 1 },
      { arbitrary: fc.record({ not: tie('node') }), weight: 1 },
    ),
  })).node;

  const quick = fc.oneof(
    col((r) => r.last_name, 'Иванов').chain(piece).chain(typed),
    col(fullName, 'Иванов Иван').chain(typed),
    col((r) => r.email, 'mail').chain(piece),
    col((r) => (r.fields.note as string | undefined) ?? null, 'кофе').chain(piece).chain(typed),
    col((r) => r.card_number, '4600').chain(piece),
    // every value of the card: city, point of sale, UTM, referral (migration 0008)
    col((r) => r.city, 'Москва').chain(piece).chain(typed),
    col((r) => r.point_of_sale, 'Магазин').chain(piece).chain(typed),
    col((r) => r.utm_source, 'vk').chain(piece),
    col((r) => r.referral_id, 'R1').chain(piece),
    // custom text is searched as PostgreSQL prints it in a jsonb array: quotes, brackets, backslashes
    fc.constantFrom('"да', 'да"', '["', '"]', '\\d', '"любит'),
    col((r) => r.phone, '+79161234567').chain((p) =>
      fc.constantFrom(p.slice(2, 8), `${p.slice(2, 5)} ${p.slice(5, 7)}`, `8${p.slice(2, 8)}`, `+7 (${p.slice(2, 5)})`, `8 ${p.slice(2, 5)} ${p.slice(5)}`, p.slice(-4)),
    ),
  );
  const pasted = fc.array(
    fc.oneof(
      col((r) => r.phone, '+79169999999').chain((p) => fc.constantFrom(...phoneFormats(p))),
      col((r) => r.email, 'nobody@example.com').chain(typed),
      col((r) => r.card_number, '4600999999999'),
      fc.constantFrom('garbage', '12', 'ivan@'),
    ),
    { minLength: 1, maxLength: 6 },
  );
  const q = fc.oneof(quick, fc.array(quick, { minLength: 1, maxLength: 3 }));
  const list = fc.tuple(pasted, fc.constantFrom('\n', ', ', ';', '\t')).map(([xs, sep]) => xs.join(sep));
  return fc.oneof(
    { arbitrary: fc.record({ filter: tree }), weight: 8 },
    { arbitrary: fc.record({ q }), weight: 3 },
    { arbitrary: fc.record({ list }), weight: 1 },
    { arbitrary: fc.record({ q, filter: tree }), weight: 1 },
    { arbitrary: fc.record({ list, filter: tree }), weight: 1 },
  );
}

// ---------------------------------------------------------------------------
// the check
// ---------------------------------------------------------------------------

async function sqlIds(query: Query): Promise<{ ids: number[]; total: number; count: number }> {
  const s = await ctx.api('POST', `/api/v1/bases/${baseId}/profiles/search`, { ...query, limit: 1000, withTotal: true, columns: ['id'] });
  assert.equal(s.status, 200, `search ${JSON.stringify(query)}: ${JSON.stringify(s.body)}`);
  const c = await ctx.api('POST', `/api/v1/bases/${baseId}/profiles/count`, query);
  assert.equal(c.status, 200, `count ${JSON.stringify(query)}: ${JSON.stringify(c.body)}`);
  return { ids: s.body.items.map((x: { id: number }) => x.id).sort((a: number, b: number) => a - b), total: s.body.total, count: c.body.count };
}

async function jsIds(query: Query, rows: Row[]): Promise<number[]> {
  const compiled = await compileQuery(query, await compileContext(ctx.db, baseId));
  return rows.filter((r) => compiled.test(r)).map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** Both twins on one query; the message names the rows they disagree on. */
async function agree(query: Query, rows: Row[]): Promise<number> {
  const [got, want] = await Promise.all([sqlIds(query), jsIds(query, rows)]);
  const onlySql = got.ids.filter((id) => !want.includes(id));
  const onlyJs = want.filter((id) => !got.ids.includes(id));
  const show = (ids: number[]) => JSON.stringify(rows.filter((r) => ids.includes(Number(r.id))).map(({ search: _s, ...r }) => r));
  assert.deepEqual(got.ids, want, `${JSON.stringify(query)}\nonly SQL: ${show(onlySql)}\nonly JS: ${show(onlyJs)}`);
  assert.equal(got.total, want.length, 'withTotal');
  assert.equal(got.count, want.length, 'count endpoint');
  return want.length;
}

describe('filter: the SQL and its JS twin agree', () => {
  before(setUpBase);

  it('random profiles, random filter trees (depth ≤ 3), quick searches and pasted lists: same ids, total and count', async () => {
    const sizes: number[] = [];
    let n = 0;
    const t0 = Date.now();
    await fc.assert(
      fc.asyncProperty(
        fc.array(profileArb, { minLength: 5, maxLength: 40 }).chain((raw) => {
          const rows = toRows(raw);
          return fc.tuple(fc.constant(rows), fc.array(queryArb(rows), { minLength: 3, maxLength: 3 }));
        }),
        async ([gen, queries]) => {
          const rows = await load(gen);
          for (const q of queries) {
            const k = await agree(q, rows);
            sizes.push(k / rows.length);
            n++;
          }
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 100), endOnFailure: false },
    );
    // Not degenerate: many queries find some but not all profiles.
    const partial = sizes.filter((s) => s > 0 && s < 1).length;
    assert.ok(partial > n * 0.3, `only ${partial} of ${n} queries found some but not all profiles`);
    assert.ok(Date.now() - t0 < 60_000, 'the property takes too long');
  });
});

/** Letters whose lower case differs between simple and full (or contextual) case mapping, and friends. */
const TRICKY = [...'İIıiΣσςΑΣ ẞßǅǄǆKΩϴΪΰЁёЕеЙйAaZz1 -'];
/**
 * Latin, Greek and Cyrillic (U+0020..U+052F): scripts whose case mappings no Unicode
 * version changes. Letters newer than PostgreSQL's Unicode tables (Node's ICU is
 * often a version ahead) would lower-case in JS and not in SQL; names never hold them.
 */
const STABLE = fc.integer({ min: 0x20, max: 0x52f }).map((c) => String.fromCodePoint(c));

describe('fold: kt_fold and lower in SQL, fold and lower in JS', () => {
  it('agree on any text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.string({ unit: STABLE, maxLength: 12 }), fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 8 })), { minLength: 1, maxLength: 50 }), async (clean) => {
        const r = await ctx.pool.query<{ f: string[]; l: string[] }>(
          'SELECT array_agg(kt_fold(t) ORDER BY i) AS f, array_agg(lower(t) ORDER BY i) AS l FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i)',
          [clean],
        );
        assert.deepEqual(r.rows[0]!.f, clean.map(fold));
        assert.deepEqual(r.rows[0]!.l, clean.map(lower));
      }),
      { numRuns: Number(process.env.FC_FOLD_RUNS ?? 200) },
    );
  });
});

describe('filter: examples the property found', () => {
  before(async () => {
    if (!baseId) await setUpBase();
  });
  const row = (id: number, over: Partial<GenProfile>): GenProfile => ({
    id,
    kind: 'member',
    phone: null,
    card_number: `5500${pad(id, 9)}`,
    email: null,
    last_name: null,
    first_name: null,
    middle_name: null,
    birth_date: null,
    gender: null,
    city: null,
    car_number: null,
    extra_key_1: null,
    reg_source: null,
    point_of_sale: null,
    utm_source: null,
    referral_id: null,
    fields: {},
    tags: [],
    created_at: '2025-05-10T14:33:40.118028+00',
    updated_at: '2025-05-10T14:33:40.118Z',
    ...over,
  });
  const ids = async (query: Query, rows: Row[]) => {
    await agree(query, rows);
    return jsIds(query, rows);
  };

  it('createdAt keeps microseconds, the API shows milliseconds: gt the shown instant excludes the profile in SQL too', async () => {
    const rows = await load([row(1, {}), row(2, { created_at: '2025-05-10T14:33:40.119+00' })]);
    assert.deepEqual(await ids({ filter: { field: 'createdAt', op: 'gt', value: '2025-05-10T14:33:40.118Z' } }, rows), [2]);
    assert.deepEqual(await ids({ filter: { field: 'createdAt', op: 'lte', value: '2025-05-10T14:33:40.118Z' } }, rows), [1]);
    assert.deepEqual(await ids({ filter: { not: { field: 'createdAt', op: 'between', value: ['2025-05-10T14:33:40.118Z', '2025-05-10T14:33:40.118Z'] } } }, rows), [2]);
  });

  it('fullName isEmpty: a profile without any name part', async () => {
    const rows = await load([row(1, {}), row(2, { first_name: 'Анна' }), row(3, { last_name: '' })]);
    assert.deepEqual(await ids({ filter: { field: 'fullName', op: 'isEmpty' } }, rows), [1, 3]);
    assert.deepEqual(await ids({ filter: { field: 'lastName', op: 'isEmpty' } }, rows), [1, 2, 3]);
    assert.deepEqual(await ids({ filter: { field: 'fullName', op: 'isNotEmpty' } }, rows), [2]);
  });

  it('İ and a word-final Σ fold the same in SQL and JS', async () => {
    const rows = await load([row(1, { last_name: 'İNCE' }), row(2, { last_name: 'ΟΔΥΣΣΕΑΣ' }), row(3, { fields: { note: 'İstanbul' } })]);
    assert.equal(fold('İNCE ΟΔΥΣΣΕΑΣ'), 'ince οδυσσεασ');
    assert.deepEqual(await ids({ filter: { field: 'lastName', op: 'eq', value: 'ince' } }, rows), [1]);
    assert.deepEqual(await ids({ filter: { field: 'lastName', op: 'eq', value: 'οδυσσεασ' } }, rows), [2]);
    assert.deepEqual(await ids({ filter: { field: 'fields.note', op: 'contains', value: 'İST' } }, rows), [3]);
    assert.deepEqual(await ids({ q: 'istanbul' }, rows), [3]);
  });
});
