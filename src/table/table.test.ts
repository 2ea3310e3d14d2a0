import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../test/context.ts';

const ctx = await testContext();

type Res = { status: number; body: any };
const signedInUser = (name: string) => ctx.signedInUser(name);

const DEFAULTS = {
  columns: ['lastName', 'firstName', 'middleName', 'phone', 'email', 'cardNumber', 'city', 'tags', 'createdAt'],
  pinned: ['lastName'],
  sort: [{ field: 'createdAt', dir: 'desc' }],
};

const url = (baseId: number) => `/api/v1/bases/${baseId}/table-settings`;

describe('table settings', () => {
  it('needs a user to keep them: the admin token acts for the first administrator, and there is none yet', async () => {
    const base = await ctx.newBase();
    const r = await ctx.api('GET', url(base.id));
    assert.equal(r.status, 404);
    assert.equal(r.body.detail, 'Пользователь admin не найден');
  });

  it('starts from the defaults and keeps what a user saves, per base', async () => {
    const admin = await signedInUser('admin');
    const base = await ctx.newBase();
    const other = await ctx.newBase();
    const first = await admin.api('GET', url(base.id));
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, DEFAULTS);
    const field = await ctx.api('POST', `/api/v1/bases/${base.id}/fields`, { key: 'level', type: 'string', label: { ru: 'Уровень' } });
    assert.equal(field.status, 201, JSON.stringify(field.body));
    const mine = { columns: ['fullName', 'phone', 'fields.level', 'tags', 'id'], pinned: ['fullName', 'phone'], sort: [{ field: 'fields.level', dir: 'asc' }, { field: 'createdAt', dir: 'desc' }] };
    const put = await admin.api('PUT', url(base.id), mine);
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, mine);
    assert.deepEqual((await admin.api('GET', url(base.id))).body, mine);
    assert.deepEqual((await admin.api('GET', url(other.id))).body, DEFAULTS, 'another base keeps its own');
    // The admin env token is the first administrator: the same settings.
    assert.deepEqual((await ctx.api('GET', url(base.id))).body, mine);
    const viaToken = { columns: ['email', 'lastName'], pinned: [], sort: [] };
    assert.equal((await ctx.api('PUT', url(base.id), viaToken)).status, 200);
    assert.deepEqual((await admin.api('GET', url(base.id))).body, viaToken);
    // The sort direction defaults to ascending.
    const noDir = await admin.api('PUT', url(base.id), { columns: ['email'], pinned: ['email'], sort: [{ field: 'email' }] });
    assert.deepEqual(noDir.body.sort, [{ field: 'email', dir: 'asc' }]);
  });

  it('keeps two users apart', async () => {
    const vera = await signedInUser('vera');
    const gleb = await signedInUser('gleb');
    const base = await ctx.newBase();
    const veraTable = { columns: ['phone', 'city'], pinned: ['phone'], sort: [{ field: 'city', dir: 'asc' }] };
    assert.equal((await vera.api('PUT', url(base.id), veraTable)).status, 200);
    assert.deepEqual((await gleb.api('GET', url(base.id))).body, DEFAULTS);
    const glebTable = { columns: ['email'], pinned: [], sort: [{ field: 'id', dir: 'desc' }] };
    assert.equal((await gleb.api('PUT', url(base.id), glebTable)).status, 200);
    assert.deepEqual((await vera.api('GET', url(base.id))).body, veraTable);
    assert.deepEqual((await gleb.api('GET', url(base.id))).body, glebTable);
  });

  it('names every unknown column, too many or stray pinned columns, and sort fields it cannot sort by', async () => {
    const user = await signedInUser('dina');
    const base = await ctx.newBase();
    const saved = { columns: ['lastName', 'phone'], pinned: ['lastName'], sort: [] };
    await user.api('PUT', url(base.id), saved);
    const bad = await user.api('PUT', url(base.id), {
      columns: ['lastName', 'phone', 'email', 'shoeSize', 'fields.nope', 'phone'],
      pinned: ['lastName', 'city'],
      sort: [{ field: 'tags', dir: 'asc' }, { field: 'fullName', dir: 'asc' }, { field: 'createdAt', dir: 'desc' }],
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors, [
      { field: 'columns[3]', message: 'В базе нет поля «shoeSize»' },
      { field: 'columns[4]', message: 'В базе нет поля «fields.nope»' },
      { field: 'columns[5]', message: 'Колонка «phone» указана дважды' },
      { field: 'pinned', message: 'Закрепить можно только показанную колонку: «city» нет в columns' },
      { field: 'sort[0].field', message: 'По полю «tags» нельзя сортировать' },
      { field: 'sort[1].field', message: 'По полю «fullName» нельзя сортировать' },
    ]);
    const columns = ['lastName', 'firstName', 'middleName', 'phone', 'email', 'city'];
    const tooMany = await user.api('PUT', url(base.id), { columns, pinned: columns, sort: [] }, { 'accept-language': 'en' });
    assert.equal(tooMany.status, 400);
    assert.deepEqual(tooMany.body.errors, [{ field: 'pinned', message: 'At most 5 items' }]);
    const segment = await user.api('PUT', url(base.id), { columns: ['segment'], pinned: [], sort: [] }, { 'accept-language': 'en' });
    assert.deepEqual(segment.body.errors, [{ field: 'columns[0]', message: 'The base has no field “segment”' }]);
    assert.equal((await user.api('PUT', url(base.id), { columns: [], pinned: [], sort: [] })).status, 400);
    assert.equal((await user.api('PUT', url(base.id), { columns: ['phone'] })).status, 400);
    assert.deepEqual((await user.api('GET', url(base.id))).body, saved, 'nothing changed');
    assert.equal((await user.api('GET', url(987654))).status, 404);
  });

  it('keeps the widths a user dragged, refuses unknown columns and absurd widths, forgets a deleted field', async () => {
    const user = await signedInUser('fedor');
    const base = await ctx.newBase();
    await ctx.api('POST', `/api/v1/bases/${base.id}/fields`, { key: 'note', type: 'string', label: { ru: 'Заметка' } });
    const wide = { columns: ['phone', 'email', 'fields.note'], pinned: [], sort: [], widths: { phone: 180, email: 320, 'fields.note': 400, city: 90 } };
    assert.deepEqual((await user.api('PUT', url(base.id), wide)).body, wide);
    assert.deepEqual((await user.api('GET', url(base.id))).body, wide, 'a hidden column keeps its width for when it is shown again');
    const bad = await user.api('PUT', url(base.id), { ...wide, widths: { shoeSize: 100, phone: 5, email: 1e9, city: 1.5 } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), ['widths.city', 'widths.email', 'widths.phone']);
    const unknown = await user.api('PUT', url(base.id), { ...wide, widths: { shoeSize: 100 } });
    assert.deepEqual(unknown.body.errors, [{ field: 'widths.shoeSize', message: 'В базе нет поля «shoeSize»' }]);
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}/fields/note`)).status, 204);
    assert.deepEqual((await user.api('GET', url(base.id))).body, { columns: ['phone', 'email'], pinned: [], sort: [], widths: { phone: 180, email: 320, city: 90 } });
  });

  it('drops a deleted custom field from saved settings', async () => {
    const user = await signedInUser('egor');
    const base = await ctx.newBase();
    await ctx.api('POST', `/api/v1/bases/${base.id}/fields`, { key: 'score', type: 'int', label: { ru: 'Баллы' } });
    await user.api('PUT', url(base.id), { columns: ['lastName', 'fields.score'], pinned: ['fields.score'], sort: [{ field: 'fields.score', dir: 'desc' }] });
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}/fields/score`)).status, 204);
    assert.deepEqual((await user.api('GET', url(base.id))).body, { columns: ['lastName'], pinned: [], sort: [] });
  });
});
