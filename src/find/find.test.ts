// Find through HTTP: every operator of every field type, quick search, pasted
// lists, sorting, keyset pages, columns, totals, value counts, and every bad
// input named by its exact path, in Russian and in English.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../test/context.ts';
import { generateProfiles } from '../generate/generate.ts';
import { birthdayRanges, compileQuery, type FilterNode, type Query } from './filter.ts';
import { compileContext, idsSql } from './find.service.ts';

const ctx = await testContext();


/** Errors are checked in ctx.api itself: problem+json, no stack, no SQL (test/context.ts). */
const api = ctx.api;

const B = (baseId: number) => `/api/v1/bases/${baseId}`;
const DAY = 86_400_000;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** The UTC date `days` from today, YYYY-MM-DD. */
const dayFromToday = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
/** The month `k` months from this one (UTC), '01'..'12'. */
const month = (k: number) => pad(((new Date().getUTCMonth() + k) % 12 + 12) % 12 + 1);

async function addField(baseId: number, body: Record<string, unknown>) {
  const r = await api('POST', `${B(baseId)}/fields`, { label: { ru: String(body.key), en: String(body.key) }, ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function addTag(baseId: number, name: string): Promise<number> {
  const t = await ctx.db.insertInto('tags').values({ base_id: baseId, name }).returning('id').executeTakeFirstOrThrow();
  return t.id;
}

/** Profile names by id, to assert on readable names instead of ids. */
const nameOf = new Map<number, string>();

async function person(baseId: number, name: string, body: Record<string, unknown>): Promise<number> {
  const p = await ctx.newProfile(baseId, body);
  nameOf.set(p.id, name);
  return p.id;
}

/** Runs a query through search (with the total) and count; they must agree. Returns the names found, sorted. */
async function who(baseId: number, query: Query): Promise<string[]> {
  const s = await api('POST', `${B(baseId)}/profiles/search`, { ...query, limit: 1000, withTotal: true });
  assert.equal(s.status, 200, `${JSON.stringify(query)}: ${JSON.stringify(s.body)}`);
  const c = await api('POST', `${B(baseId)}/profiles/count`, query);
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.equal(s.body.total, s.body.items.length, 'withTotal');
  assert.equal(c.body.count, s.body.items.length, 'count endpoint');
  assert.equal(typeof c.body.ms, 'number');
  return s.body.items.map((i: { id: number }) => nameOf.get(i.id) ?? `#${i.id}`).sort();
}

// ---------------------------------------------------------------------------
// one base with a profile for every situation
// ---------------------------------------------------------------------------

const base = await ctx.newBase();
const BASE = base.id;
for (const f of [
  { key: 'score', type: 'int' },
  { key: 'ratio', type: 'float' },
  { key: 'note', type: 'string' },
  { key: 'since', type: 'date' },
  { key: 'vip', type: 'boolean' },
  { key: 'level', type: 'list', listMode: 'static', options: ['Gold', 'Silver', 'Bronze'] },
  { key: 'ip', type: 'ip' },
  { key: 'labels', type: 'tags' },
]) {
  await addField(BASE, f);
}
const VIP = await addTag(BASE, 'VIP');
const NEW = await addTag(BASE, 'Новичок');
const CHURN = await addTag(BASE, 'Отток');

const IVANOV_BIRTH = `1990-${month(6)}-17`;
const ALL = ['elkin', 'ivanov', 'ivanova', 'smith', 'sub', 'yolkin'];
const but = (...names: string[]) => ALL.filter((n) => !names.includes(n));

const id = {
  ivanov: await person(BASE, 'ivanov', {
    lastName: 'Иванов',
    firstName: 'Иван',
    middleName: 'Петрович',
    phone: '8 (916) 123-45-67',
    email: 'Ivanov@Mail.ru',
    cardNumber: 'ab-12 34',
    birthDate: IVANOV_BIRTH,
    gender: 'м',
    city: 'Москва',
    carNumber: 'а 123 вс 77',
    extraKey1: 'K-1',
    utmSource: 'vk',
    registrationSource: 'pos',
    pointOfSale: 'ТЦ Европейский',
    fields: { score: 10, ratio: 2.5, note: 'Любит кофе', since: dayFromToday(-10), vip: true, level: 'Gold', ip: '10.0.0.1', labels: ['a', 'b'] },
    tags: [VIP],
  }),
  ivanova: await person(BASE, 'ivanova', {
    lastName: 'ИВАНОВА',
    firstName: 'Анна',
    phone: '+7 916 765 43 21',
    email: 'anna@yandex.ru',
    birthDate: `1985-${month(0)}-01`,
    gender: 'ж',
    city: 'москва',
    utmSource: 'VK',
    fields: { score: 50, note: 'любит ЧАЙ', level: 'Silver', ip: '2001:0db8::0001', labels: ['b'] },
    tags: [VIP, NEW],
  }),
  yolkin: await person(BASE, 'yolkin', {
    lastName: 'Ёлкин',
    firstName: 'Пётр',
    phone: '+7 903 111-22-33',
    email: 'yolkin@example.com',
    birthDate: `1970-${month(1)}-10`,
    gender: 'm',
    city: 'Орёл',
    fields: { score: 0, ratio: -1, since: dayFromToday(-40), vip: false, level: 'gold', labels: ['VIP'] },
    tags: [CHURN],
  }),
  elkin: await person(BASE, 'elkin', { lastName: 'Елкин', firstName: 'Петр', cardNumber: '4600 0000 0001 7', email: 'elkin@example.com', city: 'Орел', fields: { note: 'Ёлка' } }),
  smith: await person(BASE, 'smith', { lastName: 'Smith', firstName: 'John', phone: '+44 7911 123456', gender: 'male', fields: { score: 100, since: dayFromToday(-30) } }),
  sub: await person(BASE, 'sub', { email: 'sub@example.com' }),
};

const is = async (filter: FilterNode, expected: string[]) => assert.deepEqual(await who(BASE, { filter }), [...expected].sort(), JSON.stringify(filter));
const c = (field: string, op: string, value?: unknown): FilterNode => (value === undefined ? { field, op } : { field, op, value });

describe('find: every operator of every field type', () => {
  it('eq / ne / in / notIn: one profile has the value; ne and notIn include the profiles where the field is empty', async () => {
    const cases: [string, unknown, string][] = [
      ['lastName', 'иванов', 'ivanov'],
      ['firstName', 'ИВАН', 'ivanov'],
      ['middleName', 'петрович', 'ivanov'],
      ['pointOfSale', 'тц европейский', 'ivanov'],
      ['utmSource', 'vk', 'ivanov'],
      ['utmSource', 'VK', 'ivanova'],
      ['carNumber', 'А123ВС77', 'ivanov'],
      ['carNumber', 'а 123 вс-77', 'ivanov'],
      ['extraKey1', 'K-1', 'ivanov'],
      ['phone', '+79161234567', 'ivanov'],
      ['phone', '+447911123456', 'smith'],
      ['email', ' IVANOV@MAIL.RU', 'ivanov'],
      ['cardNumber', 'AB 12-34', 'ivanov'],
      ['cardNumber', '4600000000017', 'elkin'],
      ['gender', 'f', 'ivanova'],
      ['kind', 'subscriber', 'sub'],
      ['registrationSource', 'pos', 'ivanov'],
      ['birthDate', IVANOV_BIRTH, 'ivanov'],
      ['fields.since', dayFromToday(-10), 'ivanov'],
      ['fields.score', 10, 'ivanov'],
      ['fields.score', '50', 'ivanova'],
      ['fields.ratio', '2,5', 'ivanov'],
      ['fields.note', 'Любит кофе', 'ivanov'],
      ['fields.level', 'silver', 'ivanova'],
      ['fields.ip', '10.0.0.1', 'ivanov'],
      ['fields.ip', '2001:db8:0:0:0:0:0:1', 'ivanova'],
      ['id', id.smith, 'smith'],
    ];
    const noLists = new Set(['birthDate', 'fields.since']); // dates take ranges, not lists
    for (const [field, value, name] of cases) {
      await is(c(field, 'eq', value), [name]);
      await is(c(field, 'ne', value), but(name));
      if (noLists.has(field)) continue;
      await is(c(field, 'in', [value]), [name]);
      await is(c(field, 'notIn', [value]), but(name));
    }
    await is(c('lastName', 'in', ['иванов', 'SMITH', 'нет такого']), ['ivanov', 'smith']);
    await is(c('lastName', 'notIn', ['иванов', 'SMITH']), ['elkin', 'ivanova', 'sub', 'yolkin']);
    await is(c('fields.level', 'in', ['Gold', 'Silver']), ['ivanov', 'ivanova', 'yolkin']);
    await is(c('fields.level', 'notIn', ['gold']), but('ivanov', 'yolkin'));
    await is(c('fields.score', 'in', [0, 100, 7]), ['smith', 'yolkin']);
    await is(c('fields.score', 'notIn', [0, 100]), ['elkin', 'ivanov', 'ivanova', 'sub']);
    await is(c('gender', 'in', ['m', 'f']), ['ivanov', 'ivanova', 'smith', 'yolkin']);
    await is(c('gender', 'eq', 'm'), ['ivanov', 'smith', 'yolkin']);
    await is(c('registrationSource', 'in', ['api']), but('ivanov'));
    await is(c('id', 'in', [id.ivanov, id.sub, 999_999_999]), ['ivanov', 'sub']);
  });

  it('text: case and ё/е are ignored in names, city and point of sale', async () => {
    await is(c('lastName', 'eq', 'ЁЛКИН'), ['elkin', 'yolkin']);
    await is(c('lastName', 'eq', 'елкин'), ['elkin', 'yolkin']);
    await is(c('firstName', 'eq', 'петр'), ['elkin', 'yolkin']);
    await is(c('city', 'eq', 'МОСКВА'), ['ivanov', 'ivanova']);
    await is(c('city', 'eq', 'орел'), ['elkin', 'yolkin']);
    await is(c('city', 'ne', 'Москва'), ['elkin', 'smith', 'sub', 'yolkin']);
    await is(c('lastName', 'contains', 'ВАН'), ['ivanov', 'ivanova']);
    await is(c('lastName', 'startsWith', 'ив'), ['ivanov', 'ivanova']);
    await is(c('lastName', 'startsWith', 'Иванов'), ['ivanov', 'ivanova']);
    await is(c('lastName', 'contains', 'ёл'), ['elkin', 'yolkin']);
    await is(c('firstName', 'startsWith', 'пЁ'), ['elkin', 'yolkin']);
    await is(c('city', 'contains', 'РЁЛ'), ['elkin', 'yolkin']);
    await is(c('pointOfSale', 'contains', 'европ'), ['ivanov']);
    // LIKE wildcards in a value are plain characters
    await is(c('lastName', 'contains', '%'), []);
    await is(c('lastName', 'startsWith', '_'), []);
  });

  it('fullName: contains and startsWith over «Фамилия Имя Отчество», folded', async () => {
    await is(c('fullName', 'contains', 'иванов иван'), ['ivanov']);
    await is(c('fullName', 'contains', 'ИВАН ПЕТРОВИЧ'), ['ivanov']);
    await is(c('fullName', 'contains', 'пётр'), ['elkin', 'ivanov', 'yolkin']); // Петрович too
    await is(c('fullName', 'startsWith', 'елкин п'), ['elkin', 'yolkin']);
    await is(c('fullName', 'startsWith', 'иван'), ['ivanov', 'ivanova']);
    await is(c('fullName', 'contains', 'john'), ['smith']);
  });

  it('exact fields (UTM, extra keys, car number): eq is exact, contains and startsWith ignore case', async () => {
    await is(c('utmSource', 'eq', 'vk'), ['ivanov']);
    await is(c('utmSource', 'contains', 'V'), ['ivanov', 'ivanova']);
    await is(c('utmSource', 'startsWith', 'v'), ['ivanov', 'ivanova']);
    await is(c('extraKey1', 'eq', 'k-1'), []);
    await is(c('extraKey1', 'startsWith', 'k'), ['ivanov']);
    await is(c('carNumber', 'contains', 'вс 77'), ['ivanov']);
  });

  it('phone: eq in any format; contains and startsWith on digits, a leading 8 meaning +7', async () => {
    for (const v of ['8 (916) 123-45-67', '+7 916 1234567', '9161234567', '89161234567', 89161234567, '+7(916)123-45-67']) await is(c('phone', 'eq', v), ['ivanov']);
    await is(c('phone', 'in', ['89161234567', '+7 (903) 111-22-33']), ['ivanov', 'yolkin']);
    await is(c('phone', 'ne', '89161234567'), ['elkin', 'ivanova', 'smith', 'sub', 'yolkin']);
    await is(c('phone', 'contains', '916 12'), ['ivanov']);
    await is(c('phone', 'contains', '4567'), ['ivanov']);
    await is(c('phone', 'contains', '8916123'), ['ivanov']);
    await is(c('phone', 'contains', '8 (916)'), ['ivanov', 'ivanova']);
    await is(c('phone', 'contains', '89161234567'), ['ivanov']);
    await is(c('phone', 'contains', '123'), ['ivanov', 'smith']);
    await is(c('phone', 'contains', '(903) 111'), ['yolkin']);
    await is(c('phone', 'startsWith', '+7916'), ['ivanov', 'ivanova']);
    await is(c('phone', 'startsWith', '+7 (916)'), ['ivanov', 'ivanova']);
    await is(c('phone', 'startsWith', '8916'), ['ivanov', 'ivanova']);
    await is(c('phone', 'startsWith', '8 (903)'), ['yolkin']);
    await is(c('phone', 'startsWith', '7903'), ['yolkin']);
    await is(c('phone', 'startsWith', '+44'), ['smith']);
    await is(c('phone', 'startsWith', '+7'), ['ivanov', 'ivanova', 'yolkin']);
  });

  it('email and card number: eq normalized as on write; contains and startsWith', async () => {
    await is(c('email', 'contains', 'EXAMPLE'), ['elkin', 'sub', 'yolkin']);
    await is(c('email', 'startsWith', 'Anna'), ['ivanova']);
    await is(c('email', 'in', ['SUB@example.com', 'nobody@example.com']), ['sub']);
    await is(c('email', 'ne', 'sub@example.com'), but('sub'));
    await is(c('cardNumber', 'eq', 'ab1234'), ['ivanov']);
    await is(c('cardNumber', 'contains', '0000'), ['elkin']);
    await is(c('cardNumber', 'contains', '12 34'), ['ivanov']);
    await is(c('cardNumber', 'startsWith', 'ab'), ['ivanov']);
  });

  it('custom text: eq is exact, contains and startsWith ignore case', async () => {
    await is(c('fields.note', 'eq', 'любит кофе'), []);
    await is(c('fields.note', 'eq', ' Любит кофе '), ['ivanov']);
    await is(c('fields.note', 'contains', 'ЛЮБИТ'), ['ivanov', 'ivanova']);
    await is(c('fields.note', 'startsWith', 'любит к'), ['ivanov']);
    await is(c('fields.note', 'contains', 'ёлка'), ['elkin']);
    await is(c('fields.note', 'in', ['Ёлка', 'нет']), ['elkin']);
    await is(c('fields.note', 'contains', '%'), []);
  });

  it('birth date: comparisons, birthdayThisMonth, birthMonthIn, withinLastDays / olderThanDays', async () => {
    await is(c('birthDate', 'eq', `17.${month(6)}.1990`), ['ivanov']);
    await is(c('birthDate', 'gt', '1980-01-01'), ['ivanov', 'ivanova']);
    await is(c('birthDate', 'lt', '1980-01-01'), ['yolkin']);
    await is(c('birthDate', 'gte', IVANOV_BIRTH), ['ivanov']);
    await is(c('birthDate', 'lte', IVANOV_BIRTH), ['ivanov', 'ivanova', 'yolkin']);
    await is(c('birthDate', 'between', ['1970-01-01', '1985-12-31']), ['ivanova', 'yolkin']);
    await is(c('birthDate', 'between', ['01.01.1986', '31.12.1969']), []);
    await is(c('birthDate', 'birthdayThisMonth'), ['ivanova']);
    await is(c('birthDate', 'birthMonthIn', [Number(month(1)), Number(month(6))]), ['ivanov', 'yolkin']);
    await is(c('birthDate', 'birthMonthIn', [month(0)]), ['ivanova']);
    await is(c('birthDate', 'withinLastDays', 365 * 45), ['ivanov', 'ivanova']);
    await is(c('birthDate', 'olderThanDays', 365 * 45), ['yolkin']);
  });

  it('custom date: withinLastDays / olderThanDays count whole days back from today (the boundary day is within)', async () => {
    await is(c('fields.since', 'withinLastDays', 30), ['ivanov', 'smith']);
    await is(c('fields.since', 'withinLastDays', '29'), ['ivanov']);
    await is(c('fields.since', 'olderThanDays', 30), ['yolkin']);
    await is(c('fields.since', 'olderThanDays', 29), ['smith', 'yolkin']);
    await is(c('fields.since', 'withinLastDays', 0), []);
    await is(c('fields.since', 'gt', dayFromToday(-30)), ['ivanov']);
    await is(c('fields.since', 'between', [dayFromToday(-40), dayFromToday(-30)]), ['smith', 'yolkin']);
  });

  it('number: gt, gte, lt, lte, between on custom numbers, also given as text', async () => {
    await is(c('fields.score', 'gt', 10), ['ivanova', 'smith']);
    await is(c('fields.score', 'gte', '10'), ['ivanov', 'ivanova', 'smith']);
    await is(c('fields.score', 'lt', 10), ['yolkin']);
    await is(c('fields.score', 'lte', 0), ['yolkin']);
    await is(c('fields.score', 'between', [0, 50]), ['ivanov', 'ivanova', 'yolkin']);
    await is(c('fields.score', 'between', ['10', '99.5']), ['ivanov', 'ivanova']);
    await is(c('fields.ratio', 'gt', '2,4'), ['ivanov']);
    await is(c('fields.ratio', 'lt', 0), ['yolkin']);
    await is(c('id', 'gte', id.smith), ['smith', 'sub']);
  });

  it('boolean, list, ip', async () => {
    await is(c('fields.vip', 'eq', true), ['ivanov']);
    await is(c('fields.vip', 'eq', 'false'), ['yolkin']);
    await is(c('fields.level', 'eq', 'gold'), ['ivanov', 'yolkin']);
    await is(c('fields.level', 'ne', 'Gold'), but('ivanov', 'yolkin'));
    await is(c('fields.ip', 'in', ['10.0.0.1', '2001:db8::1']), ['ivanov', 'ivanova']);
  });

  it('value tags (custom tags field) and profile tags: hasAny, hasAll, hasNone', async () => {
    await is(c('fields.labels', 'hasAny', ['a', 'VIP']), ['ivanov', 'yolkin']);
    await is(c('fields.labels', 'hasAll', ['a', 'b']), ['ivanov']);
    await is(c('fields.labels', 'hasAll', ['b']), ['ivanov', 'ivanova']);
    await is(c('fields.labels', 'hasNone', ['b']), ['elkin', 'smith', 'sub', 'yolkin']);
    await is(c('fields.labels', 'hasAny', ['vip']), []);
    await is(c('tags', 'hasAny', [VIP]), ['ivanov', 'ivanova']);
    await is(c('tags', 'hasAny', [String(NEW), CHURN]), ['ivanova', 'yolkin']);
    await is(c('tags', 'hasAll', [VIP, NEW]), ['ivanova']);
    await is(c('tags', 'hasNone', [VIP]), ['elkin', 'smith', 'sub', 'yolkin']);
  });

  it('isEmpty and isNotEmpty on every type', async () => {
    const cases: [string, string[]][] = [
      ['lastName', ['sub']],
      ['firstName', ['sub']],
      ['middleName', but('ivanov')],
      ['fullName', ['sub']],
      ['city', ['smith', 'sub']],
      ['pointOfSale', but('ivanov')],
      ['carNumber', but('ivanov')],
      ['extraKey1', but('ivanov')],
      ['utmSource', ['elkin', 'smith', 'sub', 'yolkin']],
      ['referralId', ALL],
      ['phone', ['elkin', 'sub']],
      ['email', ['smith']],
      ['cardNumber', ['ivanova', 'smith', 'sub', 'yolkin']],
      ['gender', ['elkin', 'sub']],
      ['kind', []],
      ['registrationSource', []],
      ['birthDate', ['elkin', 'smith', 'sub']],
      ['id', []],
      ['fields.since', ['elkin', 'ivanova', 'sub']],
      ['fields.score', ['elkin', 'sub']],
      ['fields.ratio', ['elkin', 'ivanova', 'smith', 'sub']],
      ['fields.vip', ['elkin', 'ivanova', 'smith', 'sub']],
      ['fields.note', ['smith', 'sub', 'yolkin']],
      ['fields.level', ['elkin', 'smith', 'sub']],
      ['fields.ip', ['elkin', 'smith', 'sub', 'yolkin']],
      ['fields.labels', ['elkin', 'smith', 'sub']],
      ['tags', ['elkin', 'smith', 'sub']],
    ];
    for (const [field, empty] of cases) {
      await is(c(field, 'isEmpty'), empty);
      await is({ field, op: 'isNotEmpty', value: null }, ALL.filter((n) => !empty.includes(n)));
    }
  });

  it('createdAt: a bare date is its whole day, an instant its millisecond as the API shows it; withinLastDays', async () => {
    const set = async (name: keyof typeof id, at: string) => ctx.pool.query('UPDATE profiles SET created_at = $1 WHERE base_id = $2 AND id = $3', [at, BASE, id[name]]);
    await set('ivanov', '2024-03-10 08:00:00.123456+00');
    await set('ivanova', '2024-03-10 23:59:59.999999+00');
    await set('yolkin', '2024-03-11 00:00:00+00');
    await set('elkin', new Date(Date.now() - 5 * DAY).toISOString());
    await set('smith', new Date(Date.now() - 40 * DAY).toISOString());
    await set('sub', new Date(Date.now() - 400 * DAY).toISOString());
    const shown = (await api('GET', `${B(BASE)}/profiles/${id.ivanov}`)).body.createdAt;
    assert.equal(shown, '2024-03-10T08:00:00.123Z');
    await is(c('createdAt', 'between', ['2024-03-10', '2024-03-10']), ['ivanov', 'ivanova']);
    await is(c('createdAt', 'between', ['10.03.2024', '11.03.2024']), ['ivanov', 'ivanova', 'yolkin']);
    await is(c('createdAt', 'between', ['2024-03-10T12:00:00Z', '2024-03-11']), ['ivanova', 'yolkin']);
    await is(c('createdAt', 'gt', '2024-03-10'), ['elkin', 'smith', 'sub', 'yolkin']);
    await is(c('createdAt', 'gte', '2024-03-10'), ALL);
    await is(c('createdAt', 'lt', '2024-03-10'), []);
    await is(c('createdAt', 'lte', '2024-03-10'), ['ivanov', 'ivanova']);
    await is(c('createdAt', 'lt', '2024-03-11'), ['ivanov', 'ivanova']);
    // what the API shows is what a filter compares: gt the shown instant excludes that profile
    await is(c('createdAt', 'gt', shown), but('ivanov'));
    await is(c('createdAt', 'gte', shown), ALL);
    await is(c('createdAt', 'lte', shown), ['ivanov']);
    await is(c('createdAt', 'lt', shown), []);
    await is(c('createdAt', 'between', [shown, shown]), ['ivanov']);
    await is(c('createdAt', 'gt', '2024-03-10T11:00:00.123+03:00'), but('ivanov'));
    await is(c('createdAt', 'gt', '2024-03-10T11:00:00+03:00'), ALL);
    await is(c('createdAt', 'withinLastDays', 30), ['elkin']);
    await is(c('createdAt', 'withinLastDays', 60), ['elkin', 'smith']);
    await is(c('createdAt', 'olderThanDays', 60), ['ivanov', 'ivanova', 'sub', 'yolkin']);
    await is(c('updatedAt', 'withinLastDays', 1), ALL);
  });

  it('nested and / or / not; empty and matches all, empty or matches none', async () => {
    await is({ and: [{ or: [c('city', 'eq', 'москва'), c('city', 'eq', 'орел')] }, { not: { or: [c('tags', 'hasAny', [CHURN]), c('gender', 'eq', 'f')] } }] }, ['elkin', 'ivanov']);
    await is({ or: [{ and: [c('lastName', 'startsWith', 'иванов'), c('fields.score', 'gt', 20)] }, { not: c('email', 'isNotEmpty') }] }, ['ivanova', 'smith']);
    await is({ not: { not: c('tags', 'hasAny', [VIP]) } }, ['ivanov', 'ivanova']);
    await is({ not: c('fields.score', 'gt', 10) }, ['elkin', 'ivanov', 'sub', 'yolkin']);
    await is({ and: [] }, ALL);
    await is({ or: [] }, []);
    // ten levels deep is allowed
    let deep: FilterNode = c('lastName', 'eq', 'Иванов');
    for (let i = 0; i < 10; i++) deep = { not: deep };
    await is(deep, ['ivanov']);
  });

  it('filter-fields lists each field with its type, operators and labels', async () => {
    const r = await api('GET', `${B(BASE)}/filter-fields`);
    assert.equal(r.status, 200);
    const by = new Map(r.body.items.map((f: { field: string }) => [f.field, f]));
    assert.deepEqual(by.get('fields.level'), { field: 'fields.level', type: 'list', ops: ['eq', 'ne', 'in', 'notIn', 'isEmpty', 'isNotEmpty'], label: { ru: 'level', en: 'level' }, values: ['Gold', 'Silver', 'Bronze'] });
    assert.equal((by.get('fields.score') as { type: string }).type, 'number');
    assert.equal((by.get('fullName') as { label: { ru: string } }).label.ru, 'ФИО');
    assert.deepEqual((by.get('createdAt') as { ops: string[] }).ops, ['gt', 'gte', 'lt', 'lte', 'between', 'withinLastDays', 'olderThanDays']);
    for (const k of ['phone', 'tags', 'segment', 'birthDate', 'fields.labels', 'fields.vip', 'fields.ip']) assert.ok(by.has(k), k);
  });
});

describe('find: birthdays', () => {
  it('birthdayInNextDays crosses the year end (dates relative to today)', async () => {
    const b = await ctx.newBase();
    const today = new Date();
    const y = today.getUTCFullYear();
    const daysToNewYear = Math.round((Date.UTC(y + 1, 0, 1) - Date.UTC(y, today.getUTCMonth(), today.getUTCDate())) / DAY);
    const n = Math.min(daysToNewYear + 1, 364); // up to 2 January
    /** Days from today to the next birthday on month-day md (today is 0). */
    const until = (md: string) => {
      for (let d = 0; d < 400; d++) if (dayFromToday(d).slice(5) === md) return d;
      return Infinity;
    };
    const mds = new Set<string>(['12-31', '01-01', '01-02', '01-03', '12-30']);
    for (const off of [0, 1, 7, n, n + 1, -1, -10]) mds.add(dayFromToday(off).slice(5));
    mds.delete('02-29');
    const expected: string[] = [];
    for (const md of mds) {
      await person(b.id, `bd ${md}`, { phone: `+7916555${md.replace('-', '')}`, birthDate: `1988-${md}` });
      if (until(md) <= n) expected.push(`bd ${md}`);
    }
    assert.ok(expected.includes('bd 12-31') && expected.includes('bd 01-02') && !expected.includes('bd 01-03') || n === 364);
    assert.deepEqual(await who(b.id, { filter: c('birthDate', 'birthdayInNextDays', n) }), expected.sort());
    if (dayFromToday(0).slice(5) !== '02-29') assert.deepEqual(await who(b.id, { filter: c('birthDate', 'birthdayInNextDays', 0) }), [`bd ${dayFromToday(0).slice(5)}`]);
    assert.deepEqual(await who(b.id, { filter: c('birthDate', 'birthdayInNextDays', 365) }), [...mds].map((m) => `bd ${m}`).sort());
  });

  it('with a fixed today near the year end, ranges wrap to January and 29 February counts in a non-leap year', async () => {
    assert.deepEqual(birthdayRanges(new Date('2026-12-27T10:00:00Z'), 7), [[1227, 1231], [101, 103]]);
    assert.deepEqual(birthdayRanges(new Date('2026-03-01T00:00:00Z'), 30), [[301, 331]]);
    const b = await ctx.newBase();
    const mds = ['12-26', '12-27', '12-31', '01-01', '01-03', '01-04', '02-28', '02-29', '03-01', '03-02'];
    const ids = new Map<number, string>();
    for (const md of mds) ids.set((await ctx.newProfile(b.id, { phone: `+7916444${md.replace('-', '')}`, birthDate: `1988-${md}` })).id, md);
    const run = async (today: string, filter: FilterNode) => {
      const cc = { ...(await compileContext(ctx.db, b.id)), today: new Date(today) };
      const compiled = await compileQuery({ filter }, cc);
      const rows = (await idsSql(b.id, compiled.sql).execute(ctx.db)).rows;
      const all = (await ctx.pool.query('SELECT * FROM profiles WHERE base_id = $1', [b.id])).rows;
      const js = all.filter((r) => compiled.test(r)).map((r) => ids.get(Number(r.id))!).sort();
      const got = rows.map((r) => ids.get(Number(r.id))!).sort();
      assert.deepEqual(got, js, 'SQL and JS agree');
      return got;
    };
    assert.deepEqual(await run('2026-12-27T00:00:00Z', c('birthDate', 'birthdayInNextDays', 7)), ['01-01', '01-03', '12-27', '12-31']);
    assert.deepEqual(await run('2026-12-27T23:59:59Z', c('birthDate', 'birthdayInNextDays', 70)), ['01-01', '01-03', '01-04', '02-28', '02-29', '03-01', '03-02', '12-27', '12-31']);
    assert.deepEqual(await run('2027-02-27T00:00:00Z', c('birthDate', 'birthdayInNextDays', 2)), ['02-28', '02-29', '03-01']);
    assert.deepEqual(await run('2027-02-10T00:00:00Z', c('birthDate', 'birthdayThisMonth')), ['02-28', '02-29']);
    assert.deepEqual(await run('2027-02-10T00:00:00Z', c('birthDate', 'birthMonthIn', [12, 1])), ['01-01', '01-03', '01-04', '12-26', '12-27', '12-31']);
  });
});

describe('find: quick search', () => {
  const q = async (value: string | string[], filter?: FilterNode) => who(BASE, { q: value, ...(filter ? { filter } : {}) });

  it('finds by names in Cyrillic and Latin, any case, ё as е', async () => {
    assert.deepEqual(await q('иванов'), ['ivanov', 'ivanova']);
    assert.deepEqual(await q('ИВАНОВА'), ['ivanova']);
    assert.deepEqual(await q('ЁЛКИН'), ['elkin', 'yolkin']);
    assert.deepEqual(await q('елкин'), ['elkin', 'yolkin']);
    assert.deepEqual(await q('пётр'), ['elkin', 'ivanov', 'yolkin']); // Петрович too
    assert.deepEqual(await q('Smith'), ['smith']);
    assert.deepEqual(await q('JOHN'), ['smith']);
    assert.deepEqual(await q('нет такого'), []);
    assert.deepEqual(await q(''), ALL);
    assert.deepEqual(await q([]), ALL);
  });

  it('several values are alternatives; the words of one value must all occur, in any order', async () => {
    assert.deepEqual(await q(['Иванова', 'smith']), ['ivanova', 'smith']);
    assert.deepEqual(await q(['Иванова', 'нет такого']), ['ivanova']);
    assert.deepEqual(await q('иванов анна'), ['ivanova']);
    assert.deepEqual(await q('  Анна   Иванова '), ['ivanova']);
    assert.deepEqual(await q('иванов петрович'), ['ivanov']);
    assert.deepEqual(await q('иванов кофе'), ['ivanov']);
    assert.deepEqual(await q('иванов john'), []);
  });

  it('finds email, card, car number, custom string values; a phone fragment in any format', async () => {
    assert.deepEqual(await q('yandex'), ['ivanova']);
    assert.deepEqual(await q('@example.com'), ['elkin', 'sub', 'yolkin']);
    assert.deepEqual(await q('ab12'), ['ivanov']);
    assert.deepEqual(await q('а123вс'), ['ivanov']);
    assert.deepEqual(await q('кофе'), ['ivanov']);
    assert.deepEqual(await q('ЧАЙ'), ['ivanova']);
    assert.deepEqual(await q('елка'), ['elkin']);
    assert.deepEqual(await q('916 12'), ['ivanov']);
    assert.deepEqual(await q('8916123'), ['ivanov']);
    assert.deepEqual(await q('8 916 765'), ['ivanova']);
    assert.deepEqual(await q('+7 (916)'), ['ivanov', 'ivanova']);
    assert.deepEqual(await q('8 (916) 765-43-21'), ['ivanova']);
    assert.deepEqual(await q('+7 903 111-22-33'), ['yolkin']);
    assert.deepEqual(await q('4567'), ['ivanov']);
    assert.deepEqual(await q('7911 123'), ['smith']);
    assert.deepEqual(await q(['916 12', 'smith']), ['ivanov', 'smith']);
  });

  it('finds any value of the card: city, point of sale, UTM (seed 001: «любое значение, содержащееся в данных карты»)', async () => {
    assert.deepEqual(await q('москва'), ['ivanov', 'ivanova']);
    assert.deepEqual(await q('Орел'), ['elkin', 'yolkin']);
    assert.deepEqual(await q('европейский'), ['ivanov']);
    assert.deepEqual(await q('vk'), ['ivanov', 'ivanova']);
    assert.deepEqual(await q('орёл пётр'), ['yolkin', 'elkin'].sort());
    assert.deepEqual(await q('москва анна'), ['ivanova']);
  });

  it('is ANDed with a filter', async () => {
    assert.deepEqual(await q('иванов', c('gender', 'eq', 'f')), ['ivanova']);
    assert.deepEqual(await q('+7 (916)', c('tags', 'hasAll', [VIP, NEW])), ['ivanova']);
  });
});

describe('find: pasted lists', () => {
  const LIST = '8 (916) 123-45-67\n+7 903 111 22 33, 9167654321; ANNA@yandex.ru\r\nab-1234\n4600 0000 0001 7;+7 999 000 00 00\n\nnobody@example.com,not-a-thing;%%%\tSUB@example.com';
  const NOT_FOUND = ['+7 999 000 00 00', 'nobody@example.com', 'not-a-thing', '%%%'];

  it('finds phones in mixed formats, emails and card numbers; notFound lists the raw entries that match nobody', async () => {
    const s = await api('POST', `${B(BASE)}/profiles/search`, { list: LIST, withTotal: true });
    assert.equal(s.status, 200);
    assert.deepEqual(s.body.items.map((i: { id: number }) => nameOf.get(i.id)).sort(), ['elkin', 'ivanov', 'ivanova', 'sub', 'yolkin']);
    assert.equal(s.body.total, 5);
    assert.deepEqual(s.body.notFound, NOT_FOUND);
    assert.deepEqual(await who(BASE, { list: LIST }), ['elkin', 'ivanov', 'ivanova', 'sub', 'yolkin']);
    // as an array of lines
    const arr = await api('POST', `${B(BASE)}/profiles/search`, { list: ['89161234567', 'smith@nowhere.ru', '+44 7911 123456'] });
    assert.deepEqual(arr.body.items.map((i: { id: number }) => nameOf.get(i.id)).sort(), ['ivanov', 'smith']);
    assert.deepEqual(arr.body.notFound, ['smith@nowhere.ru']);
    // no list, no notFound
    assert.equal((await api('POST', `${B(BASE)}/profiles/search`, {})).body.notFound, undefined);
  });

  it('reads pasted phones by the base region (a German base: 030 1234567 is +49 30 1234567)', async () => {
    const de = await ctx.newBase({ phoneRegion: 'DE' });
    const p = await ctx.newProfile(de.id, { phone: '030 1234567' });
    assert.equal(p.phone, '+49301234567');
    const s = await api('POST', `${B(de.id)}/profiles/search`, { list: '030 1234567\n030 7654321', withTotal: true });
    assert.equal(s.status, 200);
    assert.deepEqual(s.body.items.map((i: { id: number }) => i.id), [p.id]);
    assert.equal(s.body.total, 1);
    assert.deepEqual(s.body.notFound, ['030 7654321']);
    assert.equal((await api('POST', `${B(987654)}/profiles/search`, { list: '+79161234567' })).status, 404);
  });

  it('combined with a filter and a quick search: found is narrowed, notFound still means absent from the base', async () => {
    const s = await api('POST', `${B(BASE)}/profiles/search`, { list: LIST, filter: c('gender', 'eq', 'm'), withTotal: true });
    assert.deepEqual(s.body.items.map((i: { id: number }) => nameOf.get(i.id)).sort(), ['ivanov', 'yolkin']);
    assert.deepEqual(s.body.notFound, NOT_FOUND);
    assert.deepEqual(await who(BASE, { list: LIST, filter: c('gender', 'eq', 'm') }), ['ivanov', 'yolkin']);
    assert.deepEqual(await who(BASE, { list: LIST, q: 'петр' }), ['elkin', 'ivanov', 'yolkin']);
  });
});

// ---------------------------------------------------------------------------
// sorting, pages, columns, totals, values
// ---------------------------------------------------------------------------

type Item = { id: number; lastName: string | null; city: string | null; birthDate: string | null; createdAt: string; fields: Record<string, unknown> };

async function page(baseId: number, body: Record<string, unknown>) {
  const r = await api('POST', `${B(baseId)}/profiles/search`, body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as { items: Item[]; nextCursor: string | null; total?: number };
}

/** All pages of a search, following nextCursor. */
async function allPages(baseId: number, body: Record<string, unknown>, between?: () => Promise<void>): Promise<Item[]> {
  const out: Item[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 200; i++) {
    const p = await page(baseId, { ...body, ...(cursor ? { cursor } : {}) });
    out.push(...p.items);
    if (!p.nextCursor) return out;
    assert.ok(p.items.length === body.limit, 'a page before the last one is full');
    cursor = p.nextCursor;
    if (between) await between();
  }
  throw new Error('too many pages');
}

/** The expected order: each key with NULLs last in both directions, then id. */
function sorted(items: Item[], keys: { field: string; dir: 'asc' | 'desc' }[]): number[] {
  const get = (it: Item, f: string): unknown => (f.startsWith('fields.') ? it.fields[f.slice(7)] : (it as Record<string, unknown>)[f]) ?? null;
  return [...items]
    .sort((a, b) => {
      // id breaks ties in the first key's direction (newest first stays newest first)
      for (const k of [...keys, { field: 'id', dir: keys[0]?.dir ?? ('asc' as const) }]) {
        const x = get(a, k.field);
        const y = get(b, k.field);
        if (x === y) continue;
        if (x === null) return 1;
        if (y === null) return -1;
        const d = (x as number | string) < (y as number | string) ? -1 : 1;
        return k.dir === 'asc' ? d : -d;
      }
      return 0;
    })
    .map((i) => i.id);
}

describe('find: sorting and keyset pages', () => {
  it('sorts by several keys incl. custom fields, NULLs last in both directions; pages of 3 give the same order', async () => {
    const b = await ctx.newBase();
    await addField(b.id, { key: 'score', type: 'int' });
    await addField(b.id, { key: 'nick', type: 'string' });
    const rows: [string | null, string | null, number | null, string | null, string | null][] = [
      ['Алексеев', 'Москва', 5, '1990-01-01', 'b'],
      ['Борисов', 'Москва', null, null, null],
      ['Алексеев', 'Казань', 7, '1985-05-05', 'a'],
      [null, 'Казань', 5, '1990-01-01', 'c'],
      ['Яковлев', null, 1, null, 'a'],
      ['Борисов', null, null, '2000-02-02', null],
      ['Волков', 'Москва', 9, '1970-07-07', 'b'],
      ['Алексеев', 'Тверь', 5, null, null],
      [null, null, null, null, null],
    ];
    let n = 0;
    for (const [lastName, city, score, birthDate, nick] of rows) {
      const fields: Record<string, unknown> = {};
      if (score !== null) fields.score = score;
      if (nick !== null) fields.nick = nick;
      await ctx.newProfile(b.id, { phone: `+7916777${pad(++n, 4)}`, lastName, city, birthDate, fields });
    }
    const everything = (await page(b.id, { limit: 1000 })).items;
    const sorts: { field: string; dir: 'asc' | 'desc' }[][] = [
      [{ field: 'fields.score', dir: 'desc' }],
      [{ field: 'fields.score', dir: 'asc' }],
      [{ field: 'city', dir: 'asc' }, { field: 'lastName', dir: 'desc' }],
      [{ field: 'city', dir: 'desc' }, { field: 'fields.score', dir: 'asc' }, { field: 'lastName', dir: 'asc' }],
      [{ field: 'birthDate', dir: 'desc' }, { field: 'fields.nick', dir: 'asc' }],
      [{ field: 'lastName', dir: 'asc' }, { field: 'birthDate', dir: 'asc' }],
      [{ field: 'fields.nick', dir: 'desc' }, { field: 'city', dir: 'desc' }],
    ];
    for (const sort of sorts) {
      const want = sorted(everything, sort);
      assert.deepEqual((await page(b.id, { sort, limit: 1000 })).items.map((i) => i.id), want, JSON.stringify(sort));
      assert.deepEqual((await allPages(b.id, { sort, limit: 3 })).map((i) => i.id), want, `pages of ${JSON.stringify(sort)}`);
    }
    // nulls really are last, both ways
    const desc = (await page(b.id, { sort: [{ field: 'fields.score', dir: 'desc' }], limit: 1000 })).items.map((i) => i.fields.score ?? null);
    assert.deepEqual(desc, [9, 7, 5, 5, 5, 1, null, null, null]);
    const asc = (await page(b.id, { sort: [{ field: 'fields.score', dir: 'asc' }], limit: 1000 })).items.map((i) => i.fields.score ?? null);
    assert.deepEqual(asc, [1, 5, 5, 5, 7, 9, null, null, null]);
    // id decides everything after it; createdAt desc pages too
    const byId = everything.map((i) => i.id).sort((x, y) => y - x);
    assert.deepEqual((await page(b.id, { sort: [{ field: 'id', dir: 'desc' }, { field: 'city', dir: 'asc' }], limit: 1000 })).items.map((i) => i.id), byId);
    assert.deepEqual((await allPages(b.id, { sort: [{ field: 'id', dir: 'desc' }, { field: 'city', dir: 'asc' }], limit: 2 })).map((i) => i.id), byId);
    assert.equal((await allPages(b.id, { sort: [{ field: 'createdAt', dir: 'desc' }], limit: 4 })).length, rows.length);
  });

  it('paging with limit 7 while profiles are inserted between pages: no duplicates, no pre-existing profile skipped', async () => {
    const b = await ctx.newBase();
    await addField(b.id, { key: 'score', type: 'int' });
    const NAMES = ['Андреев', 'Борисов', 'Васильев', 'Григорьев', 'Дмитриев', null];
    const before = new Set<number>();
    for (let i = 0; i < 45; i++) {
      const score = i % 4 === 0 ? null : (i * 7) % 11;
      const p = await ctx.newProfile(b.id, { phone: `+7916888${pad(i, 4)}`, lastName: NAMES[i % NAMES.length], fields: score === null ? {} : { score } });
      before.add(p.id);
    }
    let extra = 100;
    const insert = async () => {
      for (let k = 0; k < 3; k++) {
        extra++;
        await ctx.newProfile(b.id, { phone: `+7916888${pad(extra, 4)}`, lastName: NAMES[extra % NAMES.length], fields: extra % 3 ? { score: extra % 11 } : {} });
      }
    };
    for (const sort of [
      [{ field: 'lastName', dir: 'asc' }, { field: 'fields.score', dir: 'desc' }],
      [{ field: 'fields.score', dir: 'asc' }],
      [{ field: 'createdAt', dir: 'desc' }],
      [{ field: 'lastName', dir: 'desc' }],
    ]) {
      const got = (await allPages(b.id, { sort, limit: 7, columns: ['id'] }, insert)).map((i) => i.id);
      assert.equal(new Set(got).size, got.length, `duplicates in ${JSON.stringify(sort)}`);
      const missing = [...before].filter((x) => !got.includes(x));
      assert.deepEqual(missing, [], `skipped in ${JSON.stringify(sort)}`);
    }
  });

  it('columns trims each item to id and the named fields; withTotal gives the exact total beyond the page', async () => {
    const r = await page(BASE, { columns: ['lastName', 'phone', 'fields.level', 'tags'], sort: [{ field: 'id', dir: 'asc' }], limit: 2, withTotal: true });
    assert.equal(r.total, 6);
    assert.equal(r.items.length, 2);
    assert.ok(r.nextCursor);
    assert.deepEqual(r.items[0], { id: id.ivanov, lastName: 'Иванов', phone: '+79161234567', fields: { level: 'Gold' }, tags: [VIP] });
    assert.deepEqual(r.items[1], { id: id.ivanova, lastName: 'ИВАНОВА', phone: '+79167654321', fields: { level: 'Silver' }, tags: [VIP, NEW] });
    const noLevel = await page(BASE, { columns: ['fields.level'], filter: c('id', 'eq', id.smith) });
    assert.deepEqual(noLevel.items, [{ id: id.smith, fields: {} }]);
    const plain = await page(BASE, { limit: 1 });
    assert.equal(plain.total, undefined);
    assert.equal(plain.items[0]!.id, id.ivanov);
    assert.ok('fields' in plain.items[0]! && 'createdAt' in plain.items[0]!);
    const last = await page(BASE, { limit: 6, withTotal: true });
    assert.equal(last.nextCursor, null);
    assert.equal(last.total, 6);
    assert.equal((await page(BASE, { filter: c('lastName', 'eq', 'нет'), withTotal: true })).total, 0);
  });

  it('the values of a list or tags field with their counts', async () => {
    const level = await api('GET', `${B(BASE)}/fields/level/values`);
    assert.equal(level.status, 200);
    assert.deepEqual(level.body.items, [{ value: 'Gold', count: 2 }, { value: 'Silver', count: 1 }]);
    assert.deepEqual((await api('GET', `${B(BASE)}/fields/fields.level/values`)).body.items, level.body.items);
    const labels = await api('GET', `${B(BASE)}/fields/labels/values`);
    assert.deepEqual(
      [...labels.body.items].sort((x: { value: string }, y: { value: string }) => (x.value < y.value ? -1 : 1)),
      [{ value: 'VIP', count: 1 }, { value: 'a', count: 1 }, { value: 'b', count: 2 }],
    );
    assert.deepEqual(labels.body.items[0], { value: 'b', count: 2 });
    assert.deepEqual((await api('GET', `${B(BASE)}/fields/note/values`)).body.items.length, 3);
    assert.equal((await api('GET', `${B(BASE)}/fields/nope/values`)).status, 404);
    assert.equal((await api('GET', `${B(BASE)}/fields/lastName/values`)).status, 404);
  });
});

// ---------------------------------------------------------------------------
// bad input
// ---------------------------------------------------------------------------

describe('find: every bad input is a 400 naming the exact path', () => {
  const bad = async (body: unknown, lang?: string, path = 'profiles/search') => {
    const r = await api('POST', `${B(BASE)}/${path}`, body, lang ? { 'accept-language': lang } : undefined);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.code, 'validation_failed');
    return r.body as { detail: string; errors: { field: string; message: string }[] };
  };

  it('an unknown field, in Russian by default and in English on request', async () => {
    const body = { filter: { and: [c('lastName', 'eq', 'x'), { or: [c('nope', 'eq', 1)] }] } };
    const ru = await bad(body);
    assert.deepEqual(ru.errors, [{ field: 'filter.and[1].or[0].field', message: 'Нет такого поля для фильтра: «nope»' }]);
    assert.equal(ru.detail, 'Проверьте поля: filter.and[1].or[0].field');
    const en = await bad(body, 'en');
    assert.deepEqual(en.errors, [{ field: 'filter.and[1].or[0].field', message: 'No such field to filter on: “nope”' }]);
    assert.equal(en.detail, 'Check these fields: filter.and[1].or[0].field');
    assert.deepEqual((await bad(body, 'en-US,en;q=0.9', 'profiles/count')).errors, en.errors);
    assert.deepEqual((await bad({ filter: c('fields.unknown', 'eq', 1) })).errors, [{ field: 'filter.field', message: 'Нет такого поля для фильтра: «fields.unknown»' }]);
  });

  it('an operator that does not fit the field type', async () => {
    assert.deepEqual((await bad({ filter: { not: c('gender', 'contains', 'm') } })).errors, [
      { field: 'filter.not.op', message: 'Оператор «contains» не подходит к полю «gender»; можно: eq, ne, in, notIn, isEmpty, isNotEmpty' },
    ]);
    assert.deepEqual((await bad({ filter: c('createdAt', 'eq', '2024-01-01') }, 'en')).errors, [
      { field: 'filter.op', message: 'Operator “eq” does not apply to “createdAt”; allowed: gt, gte, lt, lte, between, withinLastDays, olderThanDays' },
    ]);
    for (const [field, op] of [['tags', 'eq'], ['fields.vip', 'ne'], ['fullName', 'eq'], ['fields.note', 'gt'], ['lastName', 'birthdayThisMonth'], ['fields.since', 'birthMonthIn'], ['phone', 'hasAny']]) {
      const e = await bad({ filter: { or: [c('lastName', 'eq', 'x'), c(field!, op!, 'x')] } });
      assert.equal(e.errors[0]!.field, 'filter.or[1].op', `${field} ${op}`);
    }
  });

  it('a malformed value', async () => {
    const cases: [FilterNode, string, string][] = [
      [c('phone', 'eq', 'позвонить'), 'Не похоже на номер телефона: «позвонить»', 'Not a phone number: “позвонить”'],
      [c('phone', 'contains', 'abc'), 'Нужны цифры номера телефона: «abc»', 'Phone digits are required: “abc”'],
      [c('email', 'eq', 'nope'), 'Не похоже на email: «nope»', 'Not an email address: “nope”'],
      [c('cardNumber', 'in', ['карта №1']), 'Номер карты — от 1 до 200 латинских букв и цифр: «карта №1»', 'A card number has 1 to 200 Latin letters and digits: “карта №1”'],
      [c('birthDate', 'gt', '31.02.2020'), 'Нужна дата ГГГГ-ММ-ДД или ДД.ММ.ГГГГ: «31.02.2020»', 'A date YYYY-MM-DD or DD.MM.YYYY is required: “31.02.2020”'],
      [c('createdAt', 'gt', 'вчера'), 'Нужна дата ГГГГ-ММ-ДД или ДД.ММ.ГГГГ: «вчера»', 'A date YYYY-MM-DD or DD.MM.YYYY is required: “вчера”'],
      [c('createdAt', 'between', ['2024-01-01']), 'Нужна пара значений [от, до]', 'A pair [from, to] is required'],
      [c('fields.score', 'gt', 'много'), 'Нужно число: «много»', 'A number is required: “много”'],
      [c('fields.vip', 'eq', 'да'), 'Нужно true или false', 'true or false is required'],
      [c('gender', 'eq', 'x'), 'Допустимые значения: m, f', 'Allowed values: m, f'],
      [c('lastName', 'in', []), 'Нужен непустой список значений (не больше 1000)', 'A non-empty list of values is required (at most 1000)'],
      [c('lastName', 'in', 'Иванов'), 'Нужен непустой список значений (не больше 1000)', 'A non-empty list of values is required (at most 1000)'],
      [c('lastName', 'eq', '   '), 'Нужен непустой текст до 500 символов', 'Non-empty text of at most 500 characters is required'],
      [c('lastName', 'eq'), 'Нужен непустой текст до 500 символов', 'Non-empty text of at most 500 characters is required'],
      [c('birthDate', 'birthMonthIn', [13]), 'Нужны номера месяцев от 1 до 12', 'Month numbers from 1 to 12 are required'],
      [c('fields.since', 'withinLastDays', -1), 'Нужно целое число дней от 0 до 36500', 'A whole number of days from 0 to 36500 is required'],
      [c('birthDate', 'birthdayInNextDays', 1.5), 'Нужно целое число дней от 0 до 36500', 'A whole number of days from 0 to 36500 is required'],
      [c('tags', 'hasAny', [999_999]), 'В базе нет тега 999999', 'The base has no tag 999999'],
      [c('lastName', 'isEmpty', 'x'), 'У этого оператора нет значения', 'This operator takes no value'],
      [c('birthDate', 'birthdayThisMonth', 3), 'У этого оператора нет значения', 'This operator takes no value'],
      [c('fields.ip', 'eq', '999.1.1.1'), 'Ожидается IP-адрес: «999.1.1.1»', 'Expected an IP address: “999.1.1.1”'],
      [c('fields.labels', 'hasAll', [{}]), 'Нужен непустой текст до 500 символов', 'Non-empty text of at most 500 characters is required'],
    ];
    for (const [filter, ru, en] of cases) {
      const body = { filter: { and: [c('lastName', 'eq', 'x'), { not: filter }] } };
      assert.deepEqual((await bad(body)).errors, [{ field: 'filter.and[1].not.value', message: ru }], JSON.stringify(filter));
      assert.deepEqual((await bad(body, 'en')).errors, [{ field: 'filter.and[1].not.value', message: en }], JSON.stringify(filter));
    }
    // every mistake at once, each by its path
    const many = await bad({ filter: { or: [c('phone', 'eq', 'x1'), c('nope', 'eq', 1), c('gender', 'gt', 'm'), c('fields.score', 'between', [1])] } });
    assert.deepEqual(many.errors.map((e) => e.field), ['filter.or[0].value', 'filter.or[1].field', 'filter.or[2].op', 'filter.or[3].value']);
  });

  it('a malformed tree: not a group or a condition, extra keys', async () => {
    const shape = 'Ожидается {"and": [...]}, {"or": [...]}, {"not": ...} или {"field", "op", "value"}';
    assert.deepEqual((await bad({ filter: { and: {} } })).errors, [{ field: 'filter.and', message: shape }]);
    assert.deepEqual((await bad({ filter: [] })).errors, [{ field: 'filter', message: shape }]);
    assert.deepEqual((await bad({ filter: 'lastName = Иванов' })).errors, [{ field: 'filter', message: shape }]);
    assert.deepEqual((await bad({ filter: { or: [{ field: 'lastName' }] } })).errors, [{ field: 'filter.or[0]', message: shape }]);
    assert.deepEqual((await bad({ filter: { field: 'lastName', op: 'eq', value: 'x', also: 1 } })).errors, [{ field: 'filter', message: shape }]);
    assert.deepEqual((await bad({ filter: { and: [], or: [] } })).errors, [{ field: 'filter', message: shape }]);
    assert.deepEqual((await bad({ filter: { not: null } })).errors, [{ field: 'filter.not', message: shape }]);
  });

  it('too deep or too long', async () => {
    let deep: FilterNode = c('lastName', 'eq', 'Иванов');
    for (let i = 0; i < 11; i++) deep = { not: deep };
    const path = 'filter' + '.not'.repeat(11);
    assert.deepEqual((await bad({ filter: deep })).errors, [{ field: path, message: 'Фильтр слишком глубокий или длинный (не больше 10)' }]);
    assert.deepEqual((await bad({ filter: deep }, 'en')).errors, [{ field: path, message: 'The filter is too deep or too long (at most 10)' }]);
    const long = { or: Array.from({ length: 500 }, (_, i) => c('lastName', 'eq', `x${i}`)) };
    assert.deepEqual((await bad({ filter: long })).errors, [{ field: 'filter.or[199]', message: 'Фильтр слишком глубокий или длинный (не больше 200)' }]);
    assert.equal((await api('POST', `${B(BASE)}/profiles/search`, { filter: { or: long.or.slice(0, 199) } })).status, 200);
  });

  it('a bad cursor, sort, columns or limit', async () => {
    const cursorBad = 'Неверный формат';
    assert.deepEqual((await bad({ cursor: 'garbage!' })).errors, [{ field: 'cursor', message: cursorBad }]);
    assert.deepEqual((await bad({ cursor: Buffer.from('[1,2]').toString('base64url') })).errors, [{ field: 'cursor', message: cursorBad }]);
    // a cursor of another sort order is refused, not misread
    const first = await page(BASE, { sort: [{ field: 'lastName', dir: 'asc' }], limit: 2 });
    assert.ok(first.nextCursor);
    assert.deepEqual((await bad({ sort: [{ field: 'city', dir: 'asc' }], limit: 2, cursor: first.nextCursor })).errors, [{ field: 'cursor', message: cursorBad }]);
    assert.deepEqual((await bad({ limit: 2, cursor: first.nextCursor }, 'en')).errors, [{ field: 'cursor', message: 'Invalid format' }]);
    // a cursor edited by hand: values that do not read as the column types are a 400, not a 500
    const sort = [{ field: 'fields.score', dir: 'asc' }, { field: 'createdAt', dir: 'desc' }];
    const p1 = await page(BASE, { sort, limit: 1 });
    const decoded = JSON.parse(Buffer.from(p1.nextCursor!, 'base64url').toString()) as { s: string; v: (string | null)[] };
    for (const v of [['много', '2024-01-01', '1'], ['1', 'вчера', '1'], ['1', '2024-01-01', 'x']]) {
      const forged = Buffer.from(JSON.stringify({ ...decoded, v })).toString('base64url');
      assert.deepEqual((await bad({ sort, limit: 1, cursor: forged })).errors, [{ field: 'cursor', message: cursorBad }], JSON.stringify(v));
    }
    // the same on the fast paths: a phone-fragment search and a pasted list
    const byDate = [{ field: 'createdAt', dir: 'desc' }];
    for (const q of [{ q: '916' }, { list: '+79161234567' }]) {
      const forged = Buffer.from(JSON.stringify({ s: 'createdAt:desc,id:desc', v: ['вчера', '1'] })).toString('base64url');
      assert.deepEqual((await bad({ ...q, sort: byDate, limit: 1, cursor: forged })).errors, [{ field: 'cursor', message: cursorBad }], JSON.stringify(q));
    }
    assert.deepEqual((await bad({ sort: [{ field: 'lastName' }, { field: 'fullName', dir: 'asc' }] })).errors, [{ field: 'sort[1].field', message: 'Нет такого поля для фильтра: «fullName»' }]);
    assert.deepEqual((await bad({ sort: [{ field: 'tags', dir: 'asc' }] })).errors.map((e) => e.field), ['sort[0].field']);
    assert.deepEqual((await bad({ sort: [{ field: 'lastName', dir: 'up' }] })).errors.map((e) => e.field), ['sort.0.dir']);
    assert.deepEqual((await bad({ columns: ['lastName', 'nope'] })).errors, [{ field: 'columns[1]', message: 'Нет такого поля для фильтра: «nope»' }]);
    assert.deepEqual((await bad({ limit: 0 })).errors.map((e) => e.field), ['limit']);
    assert.deepEqual((await bad({ limit: 1001 })).errors.map((e) => e.field), ['limit']);
    assert.deepEqual((await bad({ q: 5 })).errors.map((e) => e.field), ['q']);
    assert.deepEqual((await bad({ wat: 1 })).errors.map((e) => e.field), ['wat']);
    assert.deepEqual((await bad({ withTotal: true }, undefined, 'profiles/count')).errors.map((e) => e.field), ['withTotal']);
  });

  it('an unknown base is a 404', async () => {
    for (const [method, path, body] of [
      ['POST', 'profiles/search', {}],
      ['POST', 'profiles/count', {}],
      ['GET', 'filter-fields', undefined],
      ['GET', 'fields/level/values', undefined],
    ] as const) {
      const r = await api(method, `${B(987_654)}/${path}`, body);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.detail, 'База профилей 987654 не найдена');
    }
  });
});

// ---------------------------------------------------------------------------
// the user story
// ---------------------------------------------------------------------------

describe('find: the user story', () => {
  it('every «Иванов» (Иванова too) whose phone starts with +7916 and who has tag VIP or was born this month: the total equals a hand-written SQL count', async () => {
    const b = await ctx.newBase();
    await addField(b.id, { key: 'loyaltyScore', type: 'int' });
    await addField(b.id, { key: 'favoriteCategory', type: 'list', listMode: 'free' });
    await addField(b.id, { key: 'visits', type: 'int' });
    const tagIds = new Map<string, number>();
    const thisMonth = month(0);
    const seen = new Set<string>();
    let i = 0;
    for (const g of generateProfiles(200, { seed: 20261122 })) {
      // realistic people, a fifth of them made Ивановы with Moscow mobiles, VIPs or born this month
      const body: Record<string, unknown> = { ...g, tags: [] as number[] };
      if (i % 5 === 0) body.lastName = g.gender === 'f' ? 'Иванова' : 'Иванов';
      if (i % 10 === 0 && g.phone) body.phone = `+7916${pad(1_000_000 + i, 7)}`;
      if (i % 15 === 0 && g.birthDate) body.birthDate = `${g.birthDate.slice(0, 4)}-${thisMonth}-${thisMonth === '02' ? '14' : g.birthDate.slice(8)}`.replace(/-(3[01])$/, '-28');
      if (i % 7 === 0 && !g.tags.includes('VIP')) g.tags.push('VIP');
      if (i === 1) Object.assign(body, { lastName: 'Ivanov' }); // Latin: not «Иванов»
      if (i === 2) Object.assign(body, { lastName: 'Иваненко' });
      for (const t of g.tags) {
        if (!tagIds.has(t)) tagIds.set(t, await addTag(b.id, t));
        (body.tags as number[]).push(tagIds.get(t)!);
      }
      if (typeof body.phone === 'string' && seen.has(body.phone)) body.phone = null;
      if (typeof body.phone === 'string') seen.add(body.phone);
      if (!body.phone && !body.cardNumber) body.cardNumber = `99${pad(i, 11)}`;
      await ctx.newProfile(b.id, body);
      i++;
    }
    const vip = tagIds.get('VIP')!;
    const filter: FilterNode = {
      and: [
        { field: 'lastName', op: 'startsWith', value: 'Иванов' },
        { field: 'phone', op: 'startsWith', value: '+7916' },
        { or: [{ field: 'tags', op: 'hasAny', value: [vip] }, { field: 'birthDate', op: 'birthdayThisMonth' }] },
      ],
    };
    const r = await page(b.id, { filter, limit: 1000, withTotal: true, columns: ['lastName', 'phone', 'birthDate', 'tags'] });
    const hand = await ctx.pool.query<{ id: number }>(
      `SELECT id FROM profiles
        WHERE base_id = $1
          AND lower(replace(replace(last_name, 'Ё', 'Е'), 'ё', 'е')) LIKE 'иванов%'
          AND phone LIKE '+7916%'
          AND ($2 = ANY (tags) OR extract(month FROM birth_date) = extract(month FROM current_date))
        ORDER BY id`,
      [b.id, vip],
    );
    assert.equal((await ctx.pool.query('SELECT count(*)::int AS n FROM profiles WHERE base_id = $1', [b.id])).rows[0].n, 200);
    assert.equal(r.total, hand.rows.length);
    assert.deepEqual(r.items.map((x) => x.id), hand.rows.map((x) => Number(x.id)));
    assert.ok(hand.rows.length >= 3, `only ${hand.rows.length} found: the story is not exercised`);
    const count = await api('POST', `${B(b.id)}/profiles/count`, { filter });
    assert.equal(count.body.count, hand.rows.length);
    for (const p of r.items as unknown as { lastName: string; phone: string; birthDate: string | null; tags: number[] }[]) {
      assert.match(p.lastName, /^Иванова?$/);
      assert.ok(p.phone.startsWith('+7916'));
      assert.ok(p.tags.includes(vip) || p.birthDate?.slice(5, 7) === thisMonth);
    }
    // the narrower and wider neighbours differ, so each condition matters
    const ivanovs = await api('POST', `${B(b.id)}/profiles/count`, { filter: { field: 'lastName', op: 'startsWith', value: 'иванов' } });
    assert.ok(ivanovs.body.count > hand.rows.length);
  });
});
