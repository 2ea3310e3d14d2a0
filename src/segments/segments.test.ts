import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../test/context.ts';

const ctx = await testContext();

let phones = 0;
const phone = () => `+7916${String(10_000_000 + ++phones).slice(1)}`;

type Res = { status: number; body: any };
const signedInUser = (name: string) => ctx.signedInUser(name);

/** A base with people in three cities. */
async function cityBase() {
  const base = await ctx.newBase();
  const people: Record<string, number[]> = { Москва: [], Тверь: [], Казань: [] };
  for (const [city, n] of [['Москва', 4], ['Тверь', 3], ['Казань', 2]] as const) {
    for (let i = 0; i < n; i++) people[city]!.push((await ctx.newProfile(base.id, { phone: phone(), city, lastName: `${city}-${i}` })).id);
  }
  return { base, people };
}

async function newSegment(baseId: number, body: Record<string, unknown>) {
  const r = await ctx.api('POST', `/api/v1/bases/${baseId}/segments`, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function searchIds(baseId: number, filter: unknown): Promise<number[]> {
  const r = await ctx.api('POST', `/api/v1/bases/${baseId}/profiles/search`, { filter, limit: 1000 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items.map((p: { id: number }) => p.id).sort((a: number, b: number) => a - b);
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const city = (value: string) => ({ field: 'city', op: 'eq', value });

describe('segments', () => {
  it('saves a filter as a dynamic segment and counts it at once', async () => {
    const { base } = await cityBase();
    const s = await newSegment(base.id, { name: 'Москвичи', kind: 'dynamic', query: { filter: city('москва') } });
    assert.equal(s.kind, 'dynamic');
    assert.equal(s.count, 4);
    assert.equal(typeof s.countMs, 'number');
    assert.ok(s.countMs >= 0);
    assert.ok(Date.parse(s.countedAt) > Date.now() - 60_000);
    assert.deepEqual(s.query, { filter: city('москва') });
    assert.equal(s.shared, true);
    assert.equal(s.ownerId, null, 'the admin token owns no user id');
    const list = await ctx.api('GET', `/api/v1/bases/${base.id}/segments`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.items.map((x: { id: number; count: number }) => [x.id, x.count]), [[s.id, 4]]);
    const read = await ctx.api('GET', `/api/v1/bases/${base.id}/segments/${s.id}`);
    assert.equal(read.body.name, 'Москвичи');
    // Quick search and a pasted list are part of a saved query too.
    const q = await newSegment(base.id, { name: 'Тверь-0 по поиску', kind: 'dynamic', query: { q: 'тверь-0', filter: city('Тверь') } });
    assert.equal(q.count, 1);
  });

  it('names the exact path of a mistake in the query, and what a segment must have', async () => {
    const { base } = await cityBase();
    const bad = await ctx.api('POST', `/api/v1/bases/${base.id}/segments`, {
      name: 'Ошибки',
      kind: 'dynamic',
      query: { filter: { and: [{ field: 'town', op: 'eq', value: 'X' }, { field: 'birthDate', op: 'birthMonthIn', value: [13] }] } },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors, [
      { field: 'query.filter.and[0].field', message: 'Нет такого поля для фильтра: «town»' },
      { field: 'query.filter.and[1].value', message: 'Нужны номера месяцев от 1 до 12' },
    ]);
    const en = await ctx.api('POST', `/api/v1/bases/${base.id}/segments`, { name: 'E', kind: 'dynamic', query: { filter: { field: 'city', op: 'gt', value: 'A' } } }, { 'accept-language': 'en' });
    assert.equal(en.body.errors[0].field, 'query.filter.op');
    assert.match(en.body.errors[0].message, /^Operator “gt” does not apply to “city”/);
    const noQuery = await ctx.api('POST', `/api/v1/bases/${base.id}/segments`, { name: 'Без фильтра', kind: 'dynamic' });
    assert.equal(noQuery.status, 400);
    assert.deepEqual(noQuery.body.errors, [{ field: 'query', message: 'Обязательное поле' }]);
    const manualQuery = await ctx.api('POST', `/api/v1/bases/${base.id}/segments`, { name: 'Ручной', kind: 'manual', query: { q: 'x' } });
    assert.equal(manualQuery.status, 400);
    assert.equal(manualQuery.body.errors[0].field, 'query');
    const unknownKey = await ctx.api('POST', `/api/v1/bases/${base.id}/segments`, { name: 'Лишнее', kind: 'dynamic', query: { filters: {} } });
    assert.equal(unknownKey.status, 400);
    assert.equal(unknownKey.body.errors[0].field, 'query.filters');
    assert.equal((await ctx.api('GET', `/api/v1/bases/${base.id}/segments`)).body.items.length, 0, 'nothing was saved');
  });

  it('keeps names unique per base regardless of case (409 naming name)', async () => {
    const base = await ctx.newBase();
    await newSegment(base.id, { name: 'Отток', kind: 'manual' });
    const dup = await ctx.api('POST', `/api/v1/bases/${base.id}/segments`, { name: ' ОТТОК ', kind: 'dynamic', query: {} });
    assert.equal(dup.status, 409);
    assert.deepEqual(dup.body.errors, [{ field: 'name', message: 'Сегмент «ОТТОК» уже есть в этой базе' }]);
    const other = await newSegment(base.id, { name: 'Другой', kind: 'manual' });
    const rename = await ctx.api('PATCH', `/api/v1/bases/${base.id}/segments/${other.id}`, { name: 'отток' });
    assert.equal(rename.status, 409);
    assert.equal((await ctx.api('POST', `/api/v1/bases/${(await ctx.newBase()).id}/segments`, { name: 'Отток', kind: 'manual' })).status, 201);
  });

  it('recounts when the query changes or on request, not on a rename', async () => {
    const { base } = await cityBase();
    const s = await newSegment(base.id, { name: 'Город', kind: 'dynamic', query: { filter: city('Москва') } });
    const renamed = await ctx.api('PATCH', `/api/v1/bases/${base.id}/segments/${s.id}`, { name: 'Столица' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.name, 'Столица');
    assert.equal(renamed.body.countedAt, s.countedAt);
    const changed = await ctx.api('PATCH', `/api/v1/bases/${base.id}/segments/${s.id}`, { query: { filter: { field: 'city', op: 'in', value: ['Тверь', 'Казань'] } } });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.count, 5);
    assert.notEqual(changed.body.countedAt, s.countedAt);
    const badPatch = await ctx.api('PATCH', `/api/v1/bases/${base.id}/segments/${s.id}`, { query: { filter: { field: 'city', op: 'in', value: [] } } });
    assert.equal(badPatch.status, 400);
    assert.equal(badPatch.body.errors[0].field, 'query.filter.value');
    await ctx.newProfile(base.id, { phone: phone(), city: 'Казань' });
    const stale = await ctx.api('GET', `/api/v1/bases/${base.id}/segments/${s.id}`);
    assert.equal(stale.body.count, 5, 'a stored count until recounted');
    const recounted = await ctx.api('POST', `/api/v1/bases/${base.id}/segments/${s.id}/count`);
    assert.equal(recounted.status, 200);
    assert.equal(recounted.body.count, 6);
    assert.deepEqual(recounted.body.query, { filter: { field: 'city', op: 'in', value: ['Тверь', 'Казань'] } });
    assert.equal((await ctx.api('POST', `/api/v1/bases/${base.id}/segments/987654/count`)).status, 404);
  });

  it('adds and removes members of a manual segment by ids and by query', async () => {
    const { base, people } = await cityBase();
    const other = await ctx.newBase();
    const stranger = await ctx.newProfile(other.id, { phone: phone() });
    const s = await newSegment(base.id, { name: 'Ручной', kind: 'manual' });
    assert.equal(s.count, 0);
    assert.equal(s.query, null);
    const url = `/api/v1/bases/${base.id}/segments/${s.id}/members`;
    const [m1, m2] = people['Москва']!;
    const add = await ctx.api('POST', url, { ids: [m1, m2, m2, stranger.id, 987654] });
    assert.equal(add.status, 200);
    assert.deepEqual(add.body, { changed: 2, count: 2 });
    assert.deepEqual(await ctx.api('POST', url, { ids: [m1] }).then((r) => r.body), { changed: 0, count: 2 });
    const byQuery = await ctx.api('POST', url, { query: { filter: { field: 'city', op: 'in', value: ['Москва', 'Казань'] } } });
    assert.deepEqual(byQuery.body, { changed: 4, count: 6 });
    assert.equal((await ctx.api('GET', `/api/v1/bases/${base.id}/segments/${s.id}`)).body.count, 6);
    const rm = await ctx.api('DELETE', url, { ids: [m1, people['Тверь']![0]] });
    assert.deepEqual(rm.body, { changed: 1, count: 5 });
    const rmQuery = await ctx.api('DELETE', url, { query: { filter: city('Казань') } });
    assert.deepEqual(rmQuery.body, { changed: 2, count: 3 });
    assert.deepEqual(await searchIds(base.id, { field: 'segment', op: 'inSegment', value: s.id }), sorted(people['Москва']!.slice(1)));
    // Mistakes: neither or both of ids and query, a bad query, a dynamic segment, an unknown one.
    const neither = await ctx.api('POST', url, {});
    assert.equal(neither.status, 400);
    assert.deepEqual(neither.body.errors, [{ field: 'ids', message: 'Укажите либо ids, либо query' }]);
    assert.equal((await ctx.api('POST', url, { ids: [m1], query: {} })).status, 400);
    const badQuery = await ctx.api('POST', url, { query: { filter: { field: 'nope', op: 'eq', value: 1 } } });
    assert.equal(badQuery.status, 400);
    assert.equal(badQuery.body.errors[0].field, 'query.filter.field');
    const dyn = await newSegment(base.id, { name: 'Динамический', kind: 'dynamic', query: { filter: city('Москва') } });
    const toDyn = await ctx.api('POST', `/api/v1/bases/${base.id}/segments/${dyn.id}/members`, { ids: [m1] });
    assert.equal(toDyn.status, 409);
    assert.equal(toDyn.body.detail, 'Сегмент «Динамический» — сохранённый фильтр: его состав задаёт фильтр, добавлять и убирать клиентов вручную нельзя');
    const toDynEn = await ctx.api('DELETE', `/api/v1/bases/${base.id}/segments/${dyn.id}/members`, { ids: [m1] }, { 'accept-language': 'en' });
    assert.equal(toDynEn.status, 409);
    assert.match(toDynEn.body.detail, /is a saved filter/);
    assert.equal((await ctx.api('POST', `/api/v1/bases/${base.id}/segments/987654/members`, { ids: [m1] })).status, 404);
    // A manual segment has no filter to change.
    const patchQuery = await ctx.api('PATCH', `/api/v1/bases/${base.id}/segments/${s.id}`, { query: { q: 'x' } });
    assert.equal(patchQuery.status, 400);
    assert.equal(patchQuery.body.errors[0].field, 'query');
    // Deleting a profile takes it out; a recount shows it.
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}/profiles/${m2}`)).status, 204);
    assert.equal((await ctx.api('POST', `/api/v1/bases/${base.id}/segments/${s.id}/count`)).body.count, 2);
  });

  it('filters on segments with inSegment and notInSegment, manual and dynamic, also nested', async () => {
    const { base, people } = await cityBase();
    const all = sorted(Object.values(people).flat());
    const manual = await newSegment(base.id, { name: 'Избранные', kind: 'manual' });
    const picked = [people['Москва']![0]!, people['Тверь']![0]!, people['Казань']![0]!];
    await ctx.api('POST', `/api/v1/bases/${base.id}/segments/${manual.id}/members`, { ids: picked });
    const moscow = await newSegment(base.id, { name: 'Москва', kind: 'dynamic', query: { filter: city('Москва') } });
    assert.deepEqual(await searchIds(base.id, { field: 'segment', op: 'inSegment', value: manual.id }), sorted(picked));
    assert.deepEqual(await searchIds(base.id, { field: 'segment', op: 'notInSegment', value: manual.id }), all.filter((id) => !picked.includes(id)));
    assert.deepEqual(await searchIds(base.id, { field: 'segment', op: 'inSegment', value: moscow.id }), sorted(people['Москва']!));
    assert.deepEqual(await searchIds(base.id, { field: 'segment', op: 'notInSegment', value: String(moscow.id) }), sorted([...people['Тверь']!, ...people['Казань']!]));
    // A dynamic segment built on the other two: picked, but not from Moscow.
    const nested = await newSegment(base.id, {
      name: 'Избранные не из Москвы',
      kind: 'dynamic',
      query: { filter: { and: [{ field: 'segment', op: 'inSegment', value: manual.id }, { field: 'segment', op: 'notInSegment', value: moscow.id }] } },
    });
    assert.equal(nested.count, 2);
    assert.deepEqual(await searchIds(base.id, { field: 'segment', op: 'inSegment', value: nested.id }), sorted(picked.slice(1)));
    // Changing the inner segment changes the outer one's answer.
    await ctx.api('PATCH', `/api/v1/bases/${base.id}/segments/${moscow.id}`, { query: { filter: city('Тверь') } });
    assert.deepEqual(await searchIds(base.id, { field: 'segment', op: 'inSegment', value: nested.id }), sorted([people['Москва']![0]!, people['Казань']![0]!]));
    const count = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles/count`, { filter: { field: 'segment', op: 'inSegment', value: nested.id } });
    assert.equal(count.body.count, 2);
    // An unknown segment, or one of another base, is named.
    const otherBase = await ctx.newBase();
    const foreign = await newSegment(otherBase.id, { name: 'Чужой', kind: 'manual' });
    for (const value of [987654, foreign.id]) {
      const r = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles/search`, { filter: { field: 'segment', op: 'inSegment', value } });
      assert.equal(r.status, 400);
      assert.deepEqual(r.body.errors, [{ field: 'filter.value', message: `В базе нет сегмента ${value}` }]);
    }
  });

  it('refuses a segment that refers to itself, directly or through another one', async () => {
    const { base } = await cityBase();
    const a = await newSegment(base.id, { name: 'A', kind: 'dynamic', query: { filter: city('Москва') } });
    const self = await ctx.api('PATCH', `/api/v1/bases/${base.id}/segments/${a.id}`, { query: { filter: { or: [city('Тверь'), { field: 'segment', op: 'inSegment', value: a.id }] } } });
    assert.equal(self.status, 400);
    assert.deepEqual(self.body.errors, [{ field: 'query.filter.or[1].value', message: 'Сегмент ссылается сам на себя' }]);
    const b = await newSegment(base.id, { name: 'B', kind: 'dynamic', query: { filter: { field: 'segment', op: 'notInSegment', value: a.id } } });
    assert.equal(b.count, 5);
    const loop = await ctx.api('PATCH', `/api/v1/bases/${base.id}/segments/${a.id}`, { query: { filter: { field: 'segment', op: 'inSegment', value: b.id } } });
    assert.equal(loop.status, 400);
    assert.deepEqual(loop.body.errors, [{ field: 'query.filter.value', message: 'Сегмент ссылается сам на себя' }]);
    assert.deepEqual((await ctx.api('GET', `/api/v1/bases/${base.id}/segments/${a.id}`)).body.query, { filter: city('Москва') });
    // A cycle that got into storage anyway (written around the API) is a 400 on search, not a hang.
    await ctx.pool.query(`UPDATE segments SET query = $1 WHERE id = $2`, [JSON.stringify({ filter: { field: 'segment', op: 'inSegment', value: a.id } }), a.id]);
    const search = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles/search`, { filter: { field: 'segment', op: 'inSegment', value: a.id } });
    assert.equal(search.status, 400);
    assert.deepEqual(search.body.errors, [{ field: 'filter.value', message: 'Сегмент ссылается сам на себя' }]);
    const recount = await ctx.api('POST', `/api/v1/bases/${base.id}/segments/${a.id}/count`);
    assert.equal(recount.status, 400);
    assert.equal(recount.body.errors[0].field, 'query.filter.value');
  });

  it('deletes a segment unless another segment filters on it', async () => {
    const { base, people } = await cityBase();
    const manual = await newSegment(base.id, { name: 'Ручной', kind: 'manual' });
    await ctx.api('POST', `/api/v1/bases/${base.id}/segments/${manual.id}/members`, { ids: people['Москва'] });
    const user = await newSegment(base.id, { name: 'Зависимый', kind: 'dynamic', query: { filter: { not: { field: 'segment', op: 'inSegment', value: manual.id } } } });
    const refused = await ctx.api('DELETE', `/api/v1/bases/${base.id}/segments/${manual.id}`);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.detail, `Сегмент используется в фильтрах других сегментов: «Зависимый» (${user.id})`);
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}/segments/${user.id}`)).status, 204);
    const del = await ctx.api('DELETE', `/api/v1/bases/${base.id}/segments/${manual.id}`);
    assert.equal(del.status, 204);
    const gone = await ctx.api('GET', `/api/v1/bases/${base.id}/segments/${manual.id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.detail, `Сегмент ${manual.id} не найден`);
    const members = await ctx.pool.query('SELECT count(*)::int AS n FROM segment_members WHERE segment_id = $1', [manual.id]);
    assert.equal(members.rows[0].n, 0);
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}/segments/${manual.id}`)).status, 404);
    assert.equal((await ctx.api('GET', `/api/v1/bases/987654/segments`)).status, 404);
  });

  it('shows private segments to their owner only (and to the admin token); only the owner shares them', async () => {
    const { base } = await cityBase();
    const anna = await signedInUser('anna');
    const boris = await signedInUser('boris');
    const mine = await anna.api('POST', `/api/v1/bases/${base.id}/segments`, { name: 'Мой', kind: 'dynamic', query: { filter: city('Москва') }, shared: false });
    assert.equal(mine.status, 201);
    assert.equal(mine.body.ownerId, anna.id);
    assert.equal(mine.body.shared, false);
    const common = await anna.api('POST', `/api/v1/bases/${base.id}/segments`, { name: 'Общий', kind: 'manual' });
    assert.equal(common.body.shared, true);
    const names = (r: Res) => r.body.items.map((s: { name: string }) => s.name).sort();
    assert.deepEqual(names(await anna.api('GET', `/api/v1/bases/${base.id}/segments`)), ['Мой', 'Общий']);
    assert.deepEqual(names(await boris.api('GET', `/api/v1/bases/${base.id}/segments`)), ['Общий']);
    assert.deepEqual(names(await ctx.api('GET', `/api/v1/bases/${base.id}/segments`)), ['Мой', 'Общий']);
    for (const [method, suffix, body] of [['GET', ''], ['PATCH', '', { name: 'Чужой' }], ['DELETE', ''], ['POST', '/count']] as const) {
      const r = await boris.api(method, `/api/v1/bases/${base.id}/segments/${mine.body.id}${suffix}`, body);
      assert.equal(r.status, 404, `${method} ${suffix}`);
    }
    // Boris cannot build on Anna's private segment either.
    const onTop = await boris.api('POST', `/api/v1/bases/${base.id}/segments`, { name: 'Поверх', kind: 'dynamic', query: { filter: { field: 'segment', op: 'inSegment', value: mine.body.id } } });
    assert.equal(onTop.status, 400);
    assert.deepEqual(onTop.body.errors, [{ field: 'query.filter.value', message: `В базе нет сегмента ${mine.body.id}` }]);
    // …nor search with it, while Anna can.
    const bySeg = { filter: { field: 'segment', op: 'inSegment', value: mine.body.id } };
    const hidden = await boris.api('POST', `/api/v1/bases/${base.id}/profiles/search`, bySeg);
    assert.equal(hidden.status, 400);
    assert.deepEqual(hidden.body.errors, [{ field: 'filter.value', message: `В базе нет сегмента ${mine.body.id}` }]);
    assert.equal((await boris.api('POST', `/api/v1/bases/${base.id}/profiles/count`, bySeg)).status, 400);
    assert.equal((await anna.api('POST', `/api/v1/bases/${base.id}/profiles/search`, bySeg)).status, 200);
    // Only the owner makes a shared segment private.
    const hide = await boris.api('PATCH', `/api/v1/bases/${base.id}/segments/${common.body.id}`, { shared: false });
    assert.equal(hide.status, 403);
    assert.equal(hide.body.detail, 'Сделать сегмент личным или общим может только его владелец');
    assert.equal((await boris.api('PATCH', `/api/v1/bases/${base.id}/segments/${common.body.id}`, { name: 'Общий для всех' })).status, 200);
    const share = await anna.api('PATCH', `/api/v1/bases/${base.id}/segments/${mine.body.id}`, { shared: true });
    assert.equal(share.status, 200);
    assert.deepEqual(names(await boris.api('GET', `/api/v1/bases/${base.id}/segments`)), ['Мой', 'Общий для всех']);
  });
});
