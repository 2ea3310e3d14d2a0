import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../test/context.ts';

const ctx = await testContext();

async function newTag(baseId: number, body: Record<string, unknown>) {
  const r = await ctx.api('POST', `/api/v1/bases/${baseId}/tags`, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as { id: number; name: string; color: string };
}

let phones = 0;
const phone = () => `+7916${String(10_000_000 + ++phones).slice(1)}`;

describe('tags', () => {
  it('creates tags with a name and a colour: trimmed, lower-cased, grey by default', async () => {
    const base = await ctx.newBase();
    const vip = await ctx.api('POST', `/api/v1/bases/${base.id}/tags`, { name: '  VIP  ', color: '#FF8800' });
    assert.equal(vip.status, 201);
    assert.equal(vip.body.name, 'VIP');
    assert.equal(vip.body.color, '#ff8800');
    assert.match(vip.body.createdAt, /^\d{4}-\d\d-\d\dT/);
    const plain = await newTag(base.id, { name: 'Опт' });
    assert.equal(plain.color, '#868e96');
    const list = await ctx.api('GET', `/api/v1/bases/${base.id}/tags`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.items.map((t: { name: string }) => t.name), ['VIP', 'Опт']);
    assert.equal(list.body.items[0].count, undefined, 'no counts unless asked');
  });

  it('refuses a duplicate name regardless of case (409 naming name) and a bad colour (400), in Russian and English', async () => {
    const base = await ctx.newBase();
    await newTag(base.id, { name: 'Постоянный' });
    const dup = await ctx.api('POST', `/api/v1/bases/${base.id}/tags`, { name: ' постоянный ' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'conflict');
    assert.deepEqual(dup.body.errors, [{ field: 'name', message: 'Тег «постоянный» уже есть в этой базе' }]);
    const bad = await ctx.api('POST', `/api/v1/bases/${base.id}/tags`, { name: 'Красный', color: 'red' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors, [{ field: 'color', message: 'Цвет в виде #rrggbb, например #868e96' }]);
    const en = await ctx.api('POST', `/api/v1/bases/${base.id}/tags`, { name: '', color: '#12345' }, { 'accept-language': 'en' });
    assert.equal(en.status, 400);
    assert.deepEqual(en.body.errors.map((e: { field: string }) => e.field).sort(), ['color', 'name']);
    assert.equal(en.body.errors.find((e: { field: string }) => e.field === 'color').message, 'A colour as #rrggbb, e.g. #868e96');
    const tooLong = await ctx.api('POST', `/api/v1/bases/${base.id}/tags`, { name: 'я'.repeat(101) });
    assert.deepEqual(tooLong.body.errors, [{ field: 'name', message: 'Не длиннее 100 символов' }]);
    // The same name in another base is fine.
    const other = await ctx.newBase();
    assert.equal((await ctx.api('POST', `/api/v1/bases/${other.id}/tags`, { name: 'ПОСТОЯННЫЙ' })).status, 201);
    assert.equal((await ctx.api('GET', `/api/v1/bases/${base.id}/tags`)).body.items.length, 1);
  });

  it('renames and recolours a tag; a taken name is 409, an unknown tag 404', async () => {
    const base = await ctx.newBase();
    const a = await newTag(base.id, { name: 'Новичок' });
    await newTag(base.id, { name: 'Лояльный' });
    const upd = await ctx.api('PATCH', `/api/v1/bases/${base.id}/tags/${a.id}`, { name: 'Новый клиент', color: '#00AA00' });
    assert.equal(upd.status, 200);
    assert.deepEqual([upd.body.id, upd.body.name, upd.body.color], [a.id, 'Новый клиент', '#00aa00']);
    const recolour = await ctx.api('PATCH', `/api/v1/bases/${base.id}/tags/${a.id}`, { color: '#000000' });
    assert.deepEqual([recolour.body.name, recolour.body.color], ['Новый клиент', '#000000']);
    const taken = await ctx.api('PATCH', `/api/v1/bases/${base.id}/tags/${a.id}`, { name: 'лояльный' });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.errors[0].field, 'name');
    assert.equal((await ctx.api('GET', `/api/v1/bases/${base.id}/tags`)).body.items.find((t: { id: number }) => t.id === a.id).name, 'Новый клиент');
    const missing = await ctx.api('PATCH', `/api/v1/bases/${base.id}/tags/987654`, { name: 'X' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.detail, 'Тег 987654 не найден');
    // A tag of another base is not found through this one.
    const other = await ctx.newBase();
    const foreign = await ctx.api('PATCH', `/api/v1/bases/${other.id}/tags/${a.id}`, { name: 'Чужой' }, { 'accept-language': 'en' });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.detail, `Tag ${a.id} not found`);
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${other.id}/tags/${a.id}`)).status, 404);
    assert.equal((await ctx.api('GET', '/api/v1/bases/987654/tags')).status, 404);
  });

  it('puts tags on a profile and takes them off; unknown ids are 400 naming add or remove, and nothing changes', async () => {
    const base = await ctx.newBase();
    const [vip, opt, kid] = [await newTag(base.id, { name: 'VIP' }), await newTag(base.id, { name: 'Опт' }), await newTag(base.id, { name: 'Дети' })];
    const other = await ctx.newBase();
    const foreign = await newTag(other.id, { name: 'Чужой' });
    const p = await ctx.newProfile(base.id, { phone: phone(), lastName: 'Иванов' });
    const url = `/api/v1/bases/${base.id}/profiles/${p.id}/tags`;
    const add = await ctx.api('POST', url, { add: [opt.id, vip.id, vip.id] });
    assert.equal(add.status, 200);
    assert.deepEqual(add.body.tags, [vip.id, opt.id].sort((x, y) => x - y));
    assert.equal(add.body.lastName, 'Иванов');
    const swap = await ctx.api('POST', url, { add: [kid.id], remove: [vip.id] });
    assert.deepEqual(swap.body.tags, [opt.id, kid.id].sort((x, y) => x - y));
    const badAdd = await ctx.api('POST', url, { add: [foreign.id, opt.id], remove: [987654] });
    assert.equal(badAdd.status, 400);
    assert.deepEqual(badAdd.body.errors, [
      { field: 'add', message: `В базе нет тега ${foreign.id}` },
      { field: 'remove', message: 'В базе нет тега 987654' },
    ]);
    const both = await ctx.api('POST', url, { add: [opt.id], remove: [opt.id] });
    assert.equal(both.status, 400);
    assert.equal(both.body.errors[0].field, 'remove');
    const read = await ctx.api('GET', `/api/v1/bases/${base.id}/profiles/${p.id}`);
    assert.deepEqual(read.body.tags, [opt.id, kid.id].sort((x, y) => x - y));
    // The card's timeline records the changes.
    const events = await ctx.api('GET', `/api/v1/bases/${base.id}/profiles/${p.id}/events`);
    const tagEvents = events.body.items.filter((e: { changes: Record<string, unknown> }) => e.changes.tags);
    assert.equal(tagEvents.length, 2);
    assert.equal((await ctx.api('POST', `/api/v1/bases/${base.id}/profiles/987654/tags`, { add: [opt.id] })).status, 404);
    assert.equal((await ctx.api('POST', url, { add: ['x'] })).status, 400);
  });

  it('sets the whole list through PATCH of the profile; an unknown tag id is 400 naming tags', async () => {
    const base = await ctx.newBase();
    const a = await newTag(base.id, { name: 'A' });
    const b = await newTag(base.id, { name: 'B' });
    const other = await ctx.newBase();
    const foreign = await newTag(other.id, { name: 'C' });
    const p = await ctx.newProfile(base.id, { phone: phone(), tags: [b.id] });
    assert.deepEqual(p.tags, [b.id]);
    const set = await ctx.api('PATCH', `/api/v1/bases/${base.id}/profiles/${p.id}`, { tags: [b.id, a.id, a.id] });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body.tags, [a.id, b.id]);
    const bad = await ctx.api('PATCH', `/api/v1/bases/${base.id}/profiles/${p.id}`, { tags: [a.id, foreign.id], city: 'Тверь' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors, [{ field: 'tags', message: `В базе нет тега ${foreign.id}` }]);
    const read = await ctx.api('GET', `/api/v1/bases/${base.id}/profiles/${p.id}`);
    assert.deepEqual(read.body.tags, [a.id, b.id]);
    assert.equal(read.body.city, null);
    const cleared = await ctx.api('PATCH', `/api/v1/bases/${base.id}/profiles/${p.id}`, { tags: [] });
    assert.deepEqual(cleared.body.tags, []);
  });

  it('counts profiles per tag, and deleting a tag takes it off every profile at once', async () => {
    const base = await ctx.newBase();
    const [vip, opt, none] = [await newTag(base.id, { name: 'VIP' }), await newTag(base.id, { name: 'Опт' }), await newTag(base.id, { name: 'Пустой' })];
    const ps = [];
    for (let i = 0; i < 5; i++) ps.push(await ctx.newProfile(base.id, { phone: phone(), tags: i < 3 ? [vip.id, opt.id] : [opt.id] }));
    // Another base with its own tags is untouched by counts and deletes here.
    const other = await ctx.newBase();
    const otherTag = await newTag(other.id, { name: 'VIP' });
    const q = await ctx.newProfile(other.id, { phone: phone(), tags: [otherTag.id] });
    const counted = await ctx.api('GET', `/api/v1/bases/${base.id}/tags?withCounts=true`);
    assert.equal(counted.status, 200);
    const byName = Object.fromEntries(counted.body.items.map((t: { name: string; count: number }) => [t.name, t.count]));
    assert.deepEqual(byName, { VIP: 3, Опт: 5, Пустой: 0 });
    assert.equal((await ctx.api('GET', `/api/v1/bases/${base.id}/tags?withCounts=maybe`)).status, 400);

    const del = await ctx.api('DELETE', `/api/v1/bases/${base.id}/tags/${vip.id}`);
    assert.equal(del.status, 204);
    assert.equal(del.body, undefined);
    for (const p of ps) {
      const r = await ctx.api('GET', `/api/v1/bases/${base.id}/profiles/${p.id}`);
      assert.deepEqual(r.body.tags, [opt.id]);
    }
    const after = await ctx.api('GET', `/api/v1/bases/${base.id}/tags?withCounts=true`);
    assert.deepEqual(after.body.items.map((t: { name: string; count: number }) => [t.name, t.count]), [['Опт', 5], ['Пустой', 0]]);
    // Filtering on the deleted tag now names it as unknown.
    const s = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles/search`, { filter: { field: 'tags', op: 'hasAny', value: [vip.id] } });
    assert.equal(s.status, 400);
    assert.equal(s.body.errors[0].field, 'filter.value');
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}/tags/${vip.id}`)).status, 404);
    assert.deepEqual((await ctx.api('GET', `/api/v1/bases/${other.id}/profiles/${q.id}`)).body.tags, [otherTag.id]);
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}/tags/${none.id}`)).status, 204);
  });

  it('refuses to delete a tag a saved filter uses, naming the segment; free once the filter changes', async () => {
    const base = await ctx.newBase();
    const vip = await newTag(base.id, { name: 'VIP' });
    const seg = await ctx.api('POST', `/api/v1/bases/${base.id}/segments`, {
      name: 'Важные',
      kind: 'dynamic',
      query: { filter: { or: [{ field: 'city', op: 'eq', value: 'Тула' }, { field: 'tags', op: 'hasAny', value: [vip.id] }] } },
    });
    assert.equal(seg.status, 201);
    const refused = await ctx.api('DELETE', `/api/v1/bases/${base.id}/tags/${vip.id}`);
    assert.equal(refused.status, 409);
    assert.match(refused.body.detail, /Тег используется в сохранённых фильтрах: «Важные»/);
    assert.equal((await ctx.api('GET', `/api/v1/bases/${base.id}/tags`)).body.items.length, 1);
    await ctx.api('PATCH', `/api/v1/bases/${base.id}/segments/${seg.body.id}`, { query: { filter: { field: 'city', op: 'eq', value: 'Тула' } } });
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}/tags/${vip.id}`)).status, 204);
  });

  it('needs authentication', async () => {
    const base = await ctx.newBase();
    const r = await ctx.app.inject({ method: 'GET', url: `/api/v1/bases/${base.id}/tags` });
    assert.equal(r.statusCode, 401);
  });
});
