import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../test/context.ts';

const ctx = await testContext();

describe('profile bases', () => {
  it('creates, reads, lists, updates and deletes a base', async () => {
    const created = await ctx.api('POST', '/api/v1/bases', {
      name: 'Постоянные клиенты',
      description: 'Все, у кого есть карта',
      tags: ['retail'],
      subscriptionManager: { title: 'Наши рассылки', language: 'ru' },
      sender: { name: 'Магазин', email: 'News@Shop.RU', replyTo: 'help@shop.ru' },
      emailsConsented: true,
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.name, 'Постоянные клиенты');
    assert.equal(created.body.sender.email, 'news@shop.ru');
    assert.equal(created.body.phoneRegion, 'RU');
    const id = created.body.id;
    const read = await ctx.api('GET', `/api/v1/bases/${id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.tags, ['retail']);
    const list = await ctx.api('GET', '/api/v1/bases');
    assert.ok(list.body.items.some((b: { id: number }) => b.id === id));
    const upd = await ctx.api('PATCH', `/api/v1/bases/${id}`, { observer: true, phoneRegion: 'kz' });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.observer, true);
    assert.equal(upd.body.phoneRegion, 'KZ');
    assert.equal(upd.body.name, 'Постоянные клиенты');
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${id}`)).status, 204);
    assert.equal((await ctx.api('GET', `/api/v1/bases/${id}`)).status, 404);
  });

  it('refuses to save without the email consent confirmation, in Russian by default', async () => {
    const r = await ctx.api('POST', '/api/v1/bases', { name: 'Без согласия', emailsConsented: false });
    assert.equal(r.status, 400);
    assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(r.body.code, 'validation_failed');
    assert.deepEqual(r.body.errors, [{ field: 'emailsConsented', message: 'Подтвердите, что все email в базе согласились получать рассылки' }]);
    assert.equal((await ctx.api('GET', '/api/v1/bases')).body.items.filter((b: { name: string }) => b.name === 'Без согласия').length, 0);
  });

  it('names every bad field at once, in English when asked', async () => {
    const r = await ctx.api('POST', '/api/v1/bases', { name: '', sender: { email: 'not-an-email' }, phoneRegion: 'XX', emailsConsented: true }, { 'accept-language': 'en-US,en;q=0.9' });
    assert.equal(r.status, 400);
    const fields = r.body.errors.map((e: { field: string }) => e.field).sort();
    assert.deepEqual(fields, ['name']);
    const r2 = await ctx.api('POST', '/api/v1/bases', { name: 'Ok', sender: { email: 'not-an-email' }, phoneRegion: 'XX', emailsConsented: true }, { 'accept-language': 'en' });
    assert.deepEqual(
      r2.body.errors.map((e: { field: string }) => e.field).sort(),
      ['phoneRegion', 'sender.email'],
    );
    assert.match(r2.body.errors.find((e: { field: string }) => e.field === 'sender.email').message, /Not an email address/);
  });

  it('keeps names unique regardless of case: 409 naming the field', async () => {
    await ctx.newBase({ name: 'VIP-клиенты' });
    const r = await ctx.api('POST', '/api/v1/bases', { name: 'vip-КЛИЕНТЫ', emailsConsented: true });
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'conflict');
    assert.equal(r.body.errors[0].field, 'name');
  });

  it('rejects unknown properties instead of ignoring them', async () => {
    const r = await ctx.api('POST', '/api/v1/bases', { name: 'X1', emailsConsented: true, colour: 'red' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.errors, [{ field: 'colour', message: 'Неизвестное поле' }]);
  });
});
