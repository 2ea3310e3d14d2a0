import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../test/context.ts';
import { runOnce } from '../jobs/jobs.service.ts';

// Small limits so that a few dozen profiles make a job of several batches.

const ctx = await testContext({ KARTOTEKA_BULK_SYNC_LIMIT: '10', KARTOTEKA_BULK_BATCH_SIZE: '10' });


/** Errors are checked in ctx.api itself: problem+json, no stack, no SQL (test/context.ts). */
const api = ctx.api;

const bulk = (baseId: number, body: unknown, headers?: Record<string, string>) => api('POST', `/api/v1/bases/${baseId}/profiles/bulk`, body, headers);
const count = async (baseId: number, query: unknown) => {
  const r = await api('POST', `/api/v1/bases/${baseId}/profiles/count`, query);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.count as number;
};
const getProfile = async (baseId: number, id: number) => (await api('GET', `/api/v1/bases/${baseId}/profiles/${id}`)).body;
const errorsOf = (body: { errors?: { field: string; message: string }[] }) => body.errors ?? [];

let phoneSeq = 0;
const nextPhone = () => `+7916${8_000_000 + ++phoneSeq}`;

async function profiles(baseId: number, n: number, body: (i: number) => Record<string, unknown> = () => ({})): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push((await ctx.newProfile(baseId, { phone: nextPhone(), ...body(i) })).id);
  return ids;
}

async function addField(baseId: number, body: Record<string, unknown>) {
  const r = await api('POST', `/api/v1/bases/${baseId}/fields`, { label: { ru: String(body.key) }, ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function addTag(baseId: number, name: string): Promise<number> {
  const r = await ctx.db.insertInto('tags').values({ base_id: baseId, name }).returning('id').executeTakeFirstOrThrow();
  return Number(r.id);
}

async function addSegment(baseId: number, name: string, kind: 'manual' | 'dynamic'): Promise<number> {
  const r = await ctx.db
    .insertInto('segments')
    .values({ base_id: baseId, name, kind, query: kind === 'dynamic' ? JSON.stringify({ q: 'x' }) : null, count: null, counted_at: null, count_ms: null, owner_id: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(r.id);
}

async function events(baseId: number, action = 'updated'): Promise<{ profile_id: number; actor: string; changes: Record<string, unknown> }[]> {
  return (
    await ctx.pool.query('SELECT profile_id::int, actor, changes FROM profile_events WHERE base_id = $1 AND action = $2 ORDER BY id', [baseId, action])
  ).rows;
}

async function jobRow(id: number) {
  return ctx.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function targetsLeft(jobId: number): Promise<number> {
  return (await ctx.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM job_targets WHERE job_id = $1', [jobId])).rows[0]!.n;
}

describe('mass actions on selected profiles (synchronous)', () => {
  it('setField on selected ids normalizes the value as a single write, counts only real changes, logs one event each', async () => {
    const b = await ctx.newBase();
    const ids = await profiles(b.id, 5, (i) => (i === 0 ? { city: 'Тверь' } : {}));
    const other = await ctx.newBase();
    const [foreign] = await profiles(other.id, 1);
    const before = await getProfile(b.id, ids[1]!);
    const r = await bulk(b.id, { target: { ids: [ids[0], ids[1], ids[2], ids[2], foreign, 999999] }, action: { type: 'setField', field: 'city', value: '  Тверь  ' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // ids[0] already lives in Тверь; the foreign id and the unknown one are not targets.
    assert.deepEqual(r.body, { changed: 2, total: 3 });
    assert.equal(await count(b.id, { filter: { field: 'city', op: 'eq', value: 'Тверь' } }), 3);
    const after = await getProfile(b.id, ids[1]!);
    assert.equal(after.city, 'Тверь');
    assert.ok(after.updatedAt > before.updatedAt);
    assert.equal((await getProfile(other.id, foreign!)).city, null);
    const ev = await events(b.id);
    assert.deepEqual(
      ev.map((e) => e.profile_id).sort((x, y) => x - y),
      [ids[1], ids[2]],
    );
    assert.deepEqual(ev[0]!.changes, { city: { from: null, to: 'Тверь' } });
    assert.equal(ev[0]!.actor, 'env');
    // The same action again changes nothing.
    const again = await bulk(b.id, { target: { ids: ids.slice(0, 3) }, action: { type: 'setField', field: 'city', value: 'Тверь' } });
    assert.deepEqual(again.body, { changed: 0, total: 3 });
    assert.equal((await events(b.id)).length, 2);
    // The profile's own timeline shows it.
    const timeline = await api('GET', `/api/v1/bases/${b.id}/profiles/${ids[1]}/events`);
    assert.deepEqual(timeline.body.items[0].changes, { city: { from: null, to: 'Тверь' } });
  });

  it('setField and clearField on everything a filter finds; counts match what a search then returns', async () => {
    const b = await ctx.newBase();
    await profiles(b.id, 8, (i) => ({ city: i < 5 ? 'Казань' : 'Омск', lastName: i < 5 ? 'Иванов' : 'Семёнов', utmSource: i === 0 ? 'vk' : null }));
    const query = { filter: { field: 'city', op: 'eq', value: 'казань' } };
    const r = await bulk(b.id, { target: { query }, action: { type: 'setField', field: 'utmSource', value: 'vk' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { changed: 4, total: 5 });
    assert.equal(await count(b.id, { filter: { field: 'utmSource', op: 'eq', value: 'vk' } }), 5);
    const all = await bulk(b.id, { target: { query: {} }, action: { type: 'setField', field: 'birthDate', value: '01.02.1990' } });
    assert.deepEqual(all.body, { changed: 8, total: 8 });
    assert.equal(await count(b.id, { filter: { field: 'birthDate', op: 'eq', value: '1990-02-01' } }), 8);
    const cleared = await bulk(b.id, { target: { query: { q: 'семенов' } }, action: { type: 'clearField', field: 'birthDate' } });
    assert.deepEqual(cleared.body, { changed: 3, total: 3 });
    assert.equal(await count(b.id, { filter: { field: 'birthDate', op: 'isEmpty' } }), 3);
    const ev = (await events(b.id)).filter((e) => 'birthDate' in e.changes);
    assert.equal(ev.length, 11);
    assert.deepEqual(ev.at(-1)!.changes, { birthDate: { from: '1990-02-01', to: null } });
  });

  it('custom fields: values converted as on write, free-list values become options, required ones cannot be cleared', async () => {
    const b = await ctx.newBase();
    await addField(b.id, { key: 'level', type: 'int' });
    await addField(b.id, { key: 'hobby', type: 'list', listMode: 'free', options: ['Рыбалка'] });
    await addField(b.id, { key: 'code', type: 'string', required: true, default: 'A' });
    const ids = await profiles(b.id, 4, (i) => (i === 0 ? { fields: { level: 42 } } : {}));
    const set = await bulk(b.id, { target: { ids }, action: { type: 'setField', field: 'fields.level', value: ' 42 ' } });
    assert.deepEqual(set.body, { changed: 3, total: 4 });
    assert.equal(await count(b.id, { filter: { field: 'fields.level', op: 'eq', value: 42 } }), 4);
    assert.deepEqual((await getProfile(b.id, ids[1]!)).fields, { code: 'A', level: 42 });
    const ev = await events(b.id);
    assert.deepEqual(ev[0]!.changes, { 'fields.level': { from: null, to: 42 } });

    const hobby = await bulk(b.id, { target: { ids: ids.slice(0, 2) }, action: { type: 'setField', field: 'fields.hobby', value: 'рыбалка' } });
    assert.deepEqual(hobby.body, { changed: 2, total: 2 });
    assert.equal((await getProfile(b.id, ids[0]!)).fields.hobby, 'Рыбалка');
    await bulk(b.id, { target: { ids: ids.slice(2) }, action: { type: 'setField', field: 'fields.hobby', value: 'Шахматы' } });
    const defs = await api('GET', `/api/v1/bases/${b.id}/fields`);
    assert.deepEqual(defs.body.items.find((f: { key: string }) => f.key === 'hobby').options, ['Рыбалка', 'Шахматы']);

    const clear = await bulk(b.id, { target: { query: {} }, action: { type: 'clearField', field: 'fields.level' } });
    assert.deepEqual(clear.body, { changed: 4, total: 4 });
    assert.equal(await count(b.id, { filter: { field: 'fields.level', op: 'isNotEmpty' } }), 0);
    const nullSet = await bulk(b.id, { target: { ids }, action: { type: 'setField', field: 'fields.hobby', value: null } });
    assert.deepEqual(nullSet.body, { changed: 4, total: 4 });

    const required = await bulk(b.id, { target: { ids }, action: { type: 'clearField', field: 'fields.code' } });
    assert.equal(required.status, 400);
    assert.deepEqual(errorsOf(required.body), [{ field: 'action.field', message: 'Поле «fields.code» обязательное: его нельзя очистить' }]);
    const bad = await bulk(b.id, { target: { ids }, action: { type: 'setField', field: 'fields.level', value: 'abc' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(errorsOf(bad.body), [{ field: 'action.value', message: 'Ожидается целое число: «abc»' }]);
    assert.equal((await getProfile(b.id, ids[0]!)).fields.code, 'A');
  });

  it('refuses identity fields, unknown and read-only fields, bad values, naming the field in Russian (English when asked)', async () => {
    const b = await ctx.newBase();
    const ids = await profiles(b.id, 2);
    const cases: [unknown, { field: string; message: string }[]][] = [
      [{ type: 'setField', field: 'phone', value: '+79160000000' }, [{ field: 'action.field', message: 'Поле «phone» нельзя изменить массово' }]],
      [{ type: 'setField', field: 'email', value: 'a@b.ru' }, [{ field: 'action.field', message: 'Поле «email» нельзя изменить массово' }]],
      [{ type: 'clearField', field: 'cardNumber' }, [{ field: 'action.field', message: 'Поле «cardNumber» нельзя изменить массово' }]],
      [{ type: 'setField', field: 'kind', value: 'member' }, [{ field: 'action.field', message: 'Поле «kind» нельзя изменить массово' }]],
      [{ type: 'setField', field: 'createdAt', value: '2020-01-01' }, [{ field: 'action.field', message: 'Поле «createdAt» нельзя изменить массово' }]],
      [{ type: 'setField', field: 'colour', value: 'x' }, [{ field: 'action.field', message: 'Нет такого поля: «colour» (дополнительные поля — fields.<ключ>)' }]],
      [{ type: 'setField', field: 'fields.nope', value: 'x' }, [{ field: 'action.field', message: 'В базе нет дополнительного поля «nope»' }]],
      [{ type: 'setField', field: 'birthDate', value: '31.02.1990' }, [{ field: 'action.value', message: 'Дата рождения — реальная дата не раньше 1900 года и не в будущем: «31.02.1990»' }]],
      [{ type: 'setField', field: 'gender', value: 'x' }, [{ field: 'action.value', message: 'Пол: «м» или «ж» (male/female): «x»' }]],
      [{ type: 'setField', field: 'city', value: 'x'.repeat(201) }, [{ field: 'action.value', message: 'Не длиннее 200 символов' }]],
      [{ type: 'setField', field: 'city', value: 5 }, [{ field: 'action.value', message: 'Ожидается строка' }]],
      [{ type: 'setField', field: 'registrationSource', value: 'shop' }, [{ field: 'action.value', message: 'Допустимые значения: pos, form, interface, api, import' }]],
      [{ type: 'clearField', field: 'pointOfSale' }, [{ field: 'action.field', message: 'Задаётся один раз при регистрации и потом не меняется' }]],
      [{ type: 'setField', field: 'city' }, [{ field: 'action.value', message: 'Обязательное поле' }]],
      [{ type: 'rename', field: 'city' }, [{ field: 'action.type', message: 'Действие: setField, clearField, addTags, removeTags, addToSegment, removeFromSegment или delete' }]],
      [{ type: 'addTags', tagIds: [] }, [{ field: 'action.tagIds', message: 'Не меньше 1' }]],
    ];
    for (const [action, expected] of cases) {
      const r = await bulk(b.id, { target: { ids }, action });
      assert.equal(r.status, 400, JSON.stringify(action));
      assert.equal(r.body.code, 'validation_failed');
      assert.deepEqual(errorsOf(r.body), expected, JSON.stringify(action));
    }
    const en = await bulk(b.id, { target: { ids }, action: { type: 'setField', field: 'phone', value: '1' } }, { 'accept-language': 'en' });
    assert.deepEqual(errorsOf(en.body), [{ field: 'action.field', message: 'Field “phone” cannot be changed in bulk' }]);
    const targets: [unknown, string[]][] = [
      [{ ids, query: {} }, ['target']],
      [{}, ['target']],
      [{ ids: ['x'] }, ['target.ids.0']],
      [{ ids: [] }, ['target.ids']],
      [{ query: { filter: { field: 'nope', op: 'eq', value: 1 } } }, ['target.query.filter.field']],
      [{ query: { filter: { and: [{ field: 'city', op: 'hasAny', value: [1] }] } } }, ['target.query.filter.and[0].op']],
    ];
    for (const [target, fields] of targets) {
      const r = await bulk(b.id, { target, action: { type: 'setField', field: 'city', value: 'Ейск' } });
      assert.equal(r.status, 400, JSON.stringify(target));
      assert.deepEqual(errorsOf(r.body).map((e) => e.field), fields, JSON.stringify(r.body));
    }
    const oneOf = await bulk(b.id, { target: {}, action: { type: 'setField', field: 'city', value: 'Ейск' } });
    assert.equal(errorsOf(oneOf.body)[0]!.message, 'Укажите либо ids (выбранные клиенты), либо query (все найденные)');
    // Registration data set once: a mass action fills it where empty only.
    await ctx.newProfile(b.id, { phone: nextPhone(), pointOfSale: 'Склад' });
    const pos = await bulk(b.id, { target: { query: {} }, action: { type: 'setField', field: 'pointOfSale', value: 'Магазин 1' } });
    assert.deepEqual(pos.body, { changed: 2, total: 3 });
    assert.equal(await count(b.id, { filter: { field: 'pointOfSale', op: 'eq', value: 'Склад' } }), 1);
    assert.equal(await count(b.id, { filter: { field: 'city', op: 'isNotEmpty' } }), 0);
    assert.equal((await api('POST', '/api/v1/bases/987654/profiles/bulk', { target: { ids }, action: { type: 'delete', confirm: 'DELETE', expectedCount: 0 } })).status, 404);
  });

  it('adds and removes tags: those who already have (or lack) the tag do not count', async () => {
    const b = await ctx.newBase();
    const vip = await addTag(b.id, 'VIP');
    const new_ = await addTag(b.id, 'Новый');
    const ids = await profiles(b.id, 6, (i) => (i < 2 ? { tags: [vip] } : {}));
    const add = await bulk(b.id, { target: { ids: ids.slice(0, 4) }, action: { type: 'addTags', tagIds: [vip, new_, vip] } });
    assert.deepEqual(add.body, { changed: 4, total: 4 });
    assert.deepEqual((await getProfile(b.id, ids[0]!)).tags, [vip, new_].sort((x, y) => x - y));
    const onlyVip = await bulk(b.id, { target: { query: {} }, action: { type: 'addTags', tagIds: [vip] } });
    assert.deepEqual(onlyVip.body, { changed: 2, total: 6 });
    assert.equal(await count(b.id, { filter: { field: 'tags', op: 'hasAll', value: [vip] } }), 6);
    const remove = await bulk(b.id, { target: { query: { filter: { field: 'tags', op: 'hasAny', value: [new_] } } }, action: { type: 'removeTags', tagIds: [new_] } });
    assert.deepEqual(remove.body, { changed: 4, total: 4 });
    assert.equal(await count(b.id, { filter: { field: 'tags', op: 'hasAny', value: [new_] } }), 0);
    const none = await bulk(b.id, { target: { query: {} }, action: { type: 'removeTags', tagIds: [new_] } });
    assert.deepEqual(none.body, { changed: 0, total: 6 });
    const ev = await events(b.id);
    assert.equal(ev.length, 10);
    assert.deepEqual(ev.at(-1)!.changes, { tags: { from: [vip, new_].sort((x, y) => x - y), to: [vip] } });
    const unknown = await bulk(b.id, { target: { ids }, action: { type: 'addTags', tagIds: [vip, 987654] } });
    assert.equal(unknown.status, 400);
    assert.deepEqual(errorsOf(unknown.body), [{ field: 'action.tagIds', message: 'В базе нет тега 987654' }]);
  });

  it('adds to and removes from a manual segment; a dynamic one is refused', async () => {
    const b = await ctx.newBase();
    const seg = await addSegment(b.id, 'Акция', 'manual');
    const dyn = await addSegment(b.id, 'Фильтр', 'dynamic');
    const ids = await profiles(b.id, 5, (i) => ({ city: i < 3 ? 'Сочи' : 'Уфа' }));
    const inSeg = { filter: { field: 'segment', op: 'inSegment', value: seg } };
    const add = await bulk(b.id, { target: { ids: ids.slice(0, 2) }, action: { type: 'addToSegment', segmentId: seg } });
    assert.deepEqual(add.body, { changed: 2, total: 2 });
    const addFound = await bulk(b.id, { target: { query: { filter: { field: 'city', op: 'eq', value: 'Сочи' } } }, action: { type: 'addToSegment', segmentId: seg } });
    assert.deepEqual(addFound.body, { changed: 1, total: 3 });
    assert.equal(await count(b.id, inSeg), 3);
    // the segment's stored count follows, without a recount
    assert.equal((await api('GET', `/api/v1/bases/${b.id}/segments/${seg}`)).body.count, 3);
    const remove = await bulk(b.id, { target: { query: {} }, action: { type: 'removeFromSegment', segmentId: seg } });
    assert.deepEqual(remove.body, { changed: 3, total: 5 });
    assert.equal(await count(b.id, inSeg), 0);
    const refused = await bulk(b.id, { target: { ids }, action: { type: 'addToSegment', segmentId: dyn } });
    assert.equal(refused.status, 400);
    assert.equal(errorsOf(refused.body)[0]!.field, 'action.segmentId');
    assert.match(errorsOf(refused.body)[0]!.message, /сохранённый фильтр/);
    const missing = await bulk(b.id, { target: { ids }, action: { type: 'removeFromSegment', segmentId: 987654 } });
    assert.deepEqual(errorsOf(missing.body), [{ field: 'action.segmentId', message: 'В базе нет сегмента 987654' }]);
  });

  it('delete needs confirm DELETE and the count the user saw; a refusal deletes nothing', async () => {
    const b = await ctx.newBase();
    const ids = await profiles(b.id, 6, (i) => ({ city: i < 4 ? 'Вологда' : 'Ярославль' }));
    const query = { filter: { field: 'city', op: 'eq', value: 'Вологда' } };
    const seen = await count(b.id, query);
    assert.equal(seen, 4);
    const noConfirm = await bulk(b.id, { target: { query }, action: { type: 'delete', confirm: 'delete', expectedCount: seen } });
    assert.equal(noConfirm.status, 409);
    assert.equal(noConfirm.body.detail, 'Удаление не подтверждено: передайте confirm = "DELETE"');
    assert.equal(errorsOf(noConfirm.body)[0]!.field, 'action.confirm');
    // Someone adds a matching profile after the user looked: the count no longer matches.
    await ctx.newProfile(b.id, { phone: nextPhone(), city: 'Вологда' });
    const stale = await bulk(b.id, { target: { query }, action: { type: 'delete', confirm: 'DELETE', expectedCount: seen } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.detail, 'Сейчас под действие попадает клиентов: 5, а подтверждено удаление 4. Обновите поиск и подтвердите снова');
    assert.equal(stale.body.count, 5);
    const missing = await bulk(b.id, { target: { query }, action: { type: 'delete', confirm: 'DELETE' } });
    assert.equal(missing.status, 400);
    assert.deepEqual(errorsOf(missing.body), [{ field: 'action.expectedCount', message: 'Обязательное поле' }]);
    assert.equal(await count(b.id, {}), 7);
    const left = (await ctx.pool.query('SELECT count(*)::int AS n FROM job_targets')).rows[0].n;
    assert.equal(left, 0);

    const del = await bulk(b.id, { target: { query }, action: { type: 'delete', confirm: 'DELETE', expectedCount: 5 } });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.deepEqual(del.body, { changed: 5, total: 5 });
    assert.equal(await count(b.id, query), 0);
    assert.equal(await count(b.id, {}), 2);
    const sel = await bulk(b.id, { target: { ids: [ids[4], ids[0]] }, action: { type: 'delete', confirm: 'DELETE', expectedCount: 1 } });
    assert.deepEqual(sel.body, { changed: 1, total: 1 });
    assert.equal((await api('GET', `/api/v1/bases/${b.id}/profiles/${ids[4]}`)).status, 404);
    assert.equal(await count(b.id, {}), 1);
  });
});

describe('large mass actions run as jobs', () => {
  it('more targets than the sync limit: 202 with a job; the worker applies it in batches with the exact changed count', async () => {
    const b = await ctx.newBase();
    const ids = await profiles(b.id, 35, (i) => ({ city: i % 5 === 0 ? 'Пермь' : null }));
    const r = await bulk(b.id, { target: { query: {} }, action: { type: 'setField', field: 'city', value: 'Пермь' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.total, 35);
    const queued = await api('GET', `/api/v1/jobs/${r.body.jobId}`);
    assert.equal(queued.status, 200);
    assert.equal(queued.body.status, 'queued');
    assert.equal(queued.body.kind, 'bulk');
    assert.deepEqual(queued.body.progress, { done: 0, total: 35 });
    assert.equal(queued.body.result, null);
    // Nothing changed yet: the action waits for the worker.
    assert.equal(await count(b.id, { filter: { field: 'city', op: 'eq', value: 'Пермь' } }), 7);
    assert.equal(await targetsLeft(r.body.jobId), 35);

    const done = await runOnce(ctx.db);
    assert.equal(done?.id, r.body.jobId);
    const job = await api('GET', `/api/v1/jobs/${r.body.jobId}`);
    assert.equal(job.body.status, 'done');
    assert.deepEqual(job.body.result, { changed: 28, total: 35 });
    assert.deepEqual(job.body.progress, { done: 35, total: 35 });
    assert.ok(job.body.startedAt && job.body.finishedAt);
    assert.equal(await count(b.id, { filter: { field: 'city', op: 'eq', value: 'Пермь' } }), 35);
    assert.equal((await events(b.id)).length, 28);
    assert.equal(await targetsLeft(r.body.jobId), 0);
    assert.equal(await runOnce(ctx.db), undefined);
    const list = await api('GET', `/api/v1/bases/${b.id}/jobs`);
    assert.equal(list.body.items[0].id, r.body.jobId);
    assert.equal(ids.length, 35);
  });

  it('a job whose process died resumes from its cursor: no batch applied twice, counts exact', async () => {
    const b = await ctx.newBase();
    const tag = await addTag(b.id, 'Рассылка');
    await profiles(b.id, 35, (i) => (i % 7 === 0 ? { tags: [tag] } : {}));
    const r = await bulk(b.id, { target: { query: {} }, action: { type: 'addTags', tagIds: [tag] } });
    assert.equal(r.status, 202);
    // The first run commits one batch, then its process "dies".
    const first = await runOnce(ctx.db, { abandonAfterBatches: 1 });
    assert.equal(first?.status, 'running');
    assert.deepEqual((await api('GET', `/api/v1/jobs/${r.body.jobId}`)).body.progress, { done: 10, total: 35 });
    const afterFirst = await count(b.id, { filter: { field: 'tags', op: 'hasAny', value: [tag] } });
    assert.equal(afterFirst, 10 + 3); // the first ten, and three of the untouched ones had it already
    // Its heartbeat is fresh: nobody else takes it yet.
    assert.equal(await runOnce(ctx.db), undefined);
    await ctx.pool.query(`UPDATE jobs SET heartbeat_at = now() - interval '1 minute' WHERE id = $1`, [r.body.jobId]);
    const resumed = await runOnce(ctx.db);
    assert.equal(resumed?.id, r.body.jobId);
    assert.equal(resumed?.status, 'done');
    assert.equal(resumed?.attempts, 2);
    const job = await api('GET', `/api/v1/jobs/${r.body.jobId}`);
    assert.deepEqual(job.body.result, { changed: 30, total: 35 });
    assert.deepEqual(job.body.progress, { done: 35, total: 35 });
    assert.equal(await count(b.id, { filter: { field: 'tags', op: 'hasAny', value: [tag] } }), 35);
    const ev = await events(b.id);
    assert.equal(ev.length, 30);
    assert.equal(new Set(ev.map((e) => e.profile_id)).size, 30);
  });

  it('a killed delete job resumes without touching what a new search would add', async () => {
    const b = await ctx.newBase();
    await profiles(b.id, 25, () => ({ city: 'Орёл', lastName: 'Орлов' }));
    const r = await bulk(b.id, { target: { query: { q: 'орлов', filter: { field: 'city', op: 'eq', value: 'орел' } } }, action: { type: 'delete', confirm: 'DELETE', expectedCount: 25 } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await runOnce(ctx.db, { abandonAfterBatches: 2 });
    assert.equal(await count(b.id, {}), 5);
    // A profile created after the action started is not one of its targets.
    const late = await ctx.newProfile(b.id, { phone: nextPhone(), city: 'Орёл', lastName: 'Орлов' });
    await ctx.pool.query(`UPDATE jobs SET heartbeat_at = now() - interval '1 minute' WHERE id = $1`, [r.body.jobId]);
    const done = await runOnce(ctx.db);
    assert.equal(done?.status, 'done');
    assert.deepEqual(done?.result, { changed: 25, total: 25 });
    assert.equal(await count(b.id, {}), 1);
    assert.equal((await getProfile(b.id, late.id)).city, 'Орёл');
  });

  it('cancel stops a running job between batches; what was done stays, nothing more is applied', async () => {
    const b = await ctx.newBase();
    await profiles(b.id, 35);
    const r = await bulk(b.id, { target: { query: {} }, action: { type: 'setField', field: 'extraKey1', value: 'X-1' } });
    assert.equal(r.status, 202);
    let cancelled: any;
    const run = await runOnce(ctx.db, {
      afterBatch: async (p) => {
        if (p.done === 20) cancelled = await api('POST', `/api/v1/jobs/${r.body.jobId}/cancel`);
      },
    });
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'cancelled');
    assert.equal(run?.status, 'cancelled');
    const job = await api('GET', `/api/v1/jobs/${r.body.jobId}`);
    assert.equal(job.body.status, 'cancelled');
    assert.deepEqual(job.body.progress, { done: 20, total: 35 });
    assert.deepEqual(job.body.result, { done: 20, total: 35, changed: 20 });
    assert.equal(await count(b.id, { filter: { field: 'extraKey1', op: 'eq', value: 'X-1' } }), 20);
    assert.equal(await targetsLeft(r.body.jobId), 0);
    assert.equal(await runOnce(ctx.db), undefined);
    // Cancelling again is a no-op; a finished job cannot be cancelled.
    assert.equal((await api('POST', `/api/v1/jobs/${r.body.jobId}/cancel`)).body.status, 'cancelled');
    const small = await bulk(b.id, { target: { query: { list: [] } }, action: { type: 'setField', field: 'extraKey1', value: 'Y' } });
    assert.deepEqual(small.body, { changed: 0, total: 0 });
    const doneJob = (await api('GET', `/api/v1/bases/${b.id}/jobs`)).body.items[0];
    assert.equal(doneJob.status, 'done');
    const refused = await api('POST', `/api/v1/jobs/${doneJob.id}/cancel`);
    assert.equal(refused.status, 409);
    assert.match(refused.body.detail, /уже завершено/);
  });

  it('a queued job cancelled before any worker took it never runs', async () => {
    const b = await ctx.newBase();
    await profiles(b.id, 12);
    const r = await bulk(b.id, { target: { query: {} }, action: { type: 'setField', field: 'utmCampaign', value: 'spring' } });
    assert.equal(r.status, 202);
    const c = await api('POST', `/api/v1/jobs/${r.body.jobId}/cancel`);
    assert.equal(c.body.status, 'cancelled');
    assert.equal(await runOnce(ctx.db), undefined);
    assert.equal(await count(b.id, { filter: { field: 'utmCampaign', op: 'isNotEmpty' } }), 0);
    assert.equal((await jobRow(r.body.jobId)).status, 'cancelled');
  });

  it('a job fails clearly when what it depends on disappears before a batch', async () => {
    const b = await ctx.newBase();
    await addField(b.id, { key: 'score', type: 'int' });
    await profiles(b.id, 15);
    const r = await bulk(b.id, { target: { query: {} }, action: { type: 'setField', field: 'fields.score', value: 7 } });
    assert.equal(r.status, 202);
    assert.equal((await api('DELETE', `/api/v1/bases/${b.id}/fields/score`)).status, 204);
    const failed = await runOnce(ctx.db);
    assert.equal(failed?.status, 'failed');
    const job = await api('GET', `/api/v1/jobs/${r.body.jobId}`);
    assert.equal(job.body.error, 'В базе нет дополнительного поля «score»');
    const en = await api('GET', `/api/v1/jobs/${r.body.jobId}`, undefined, { 'accept-language': 'en' });
    assert.equal(en.body.error, 'The base has no custom field “score”');
    assert.equal((await ctx.pool.query(`SELECT count(*)::int AS n FROM profiles WHERE base_id = $1 AND fields ? 'score'`, [b.id])).rows[0].n, 0);
    assert.equal(await targetsLeft(r.body.jobId), 0);
  });
});
