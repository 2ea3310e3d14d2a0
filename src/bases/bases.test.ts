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
    const listed = async () => (await ctx.api('GET', '/api/v1/bases')).body.items.find((b: { id: number }) => b.id === id);
    assert.deepEqual([(await listed()).clients, (await listed()).clientsExact], [0, true], 'the list says how many clients a base holds');
    for (const phone of ['+79161110001', '+79161110002']) assert.equal((await ctx.api('POST', `/api/v1/bases/${id}/profiles`, { phone })).status, 201);
    assert.equal((await listed()).clients, 2);
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

  it('checks card settings: the prefix leaves room for a number and the check digit', async () => {
    for (const cards of [{ prefix: '123456', length: 6 }, { prefix: '1234567', length: 6 }, { prefix: '12345', length: 6 }, { prefix: '123456789012' }]) {
      const r = await ctx.api('POST', '/api/v1/bases', { name: `Карты ${JSON.stringify(cards)}`, emailsConsented: true, cards });
      assert.equal(r.status, 400, JSON.stringify(cards));
      assert.equal(r.body.errors.length, 1);
      assert.equal(r.body.errors[0].field, 'cards.prefix');
      assert.match(r.body.errors[0].message, /^Не длиннее \d+ символов$/);
      assert.equal((await ctx.api('GET', '/api/v1/bases')).body.items.filter((b: { name: string }) => b.name.startsWith('Карты')).length, 0);
    }
    const base = await ctx.newBase({ cards: { prefix: '20245', length: 8 } });
    assert.deepEqual((base as unknown as { cards: unknown }).cards, { prefix: '20245', length: 8 });
    const p = await ctx.newProfile(base.id, { generateCard: true });
    assert.match(p.cardNumber, /^20245\d{3}$/);
    // Shrinking the length below what the prefix needs names the length; nothing changes.
    const shrink = await ctx.api('PATCH', `/api/v1/bases/${base.id}`, { cards: { length: 5 } });
    assert.equal(shrink.status, 400);
    assert.equal(shrink.body.errors[0].field, 'cards.length');
    const short = await ctx.api('PATCH', `/api/v1/bases/${base.id}`, { cards: { length: 6 }, name: 'Короткие карты' });
    assert.equal(short.status, 400);
    assert.deepEqual(short.body.errors, [{ field: 'cards.length', message: 'Не меньше 7' }]);
    const longPrefix = await ctx.api('PATCH', `/api/v1/bases/${base.id}`, { cards: { prefix: '1234567' } });
    assert.equal(longPrefix.status, 400);
    assert.deepEqual(longPrefix.body.errors, [{ field: 'cards.prefix', message: 'Не длиннее 6 символов' }]);
    const read = await ctx.api('GET', `/api/v1/bases/${base.id}`);
    assert.deepEqual(read.body.cards, { prefix: '20245', length: 8 });
    assert.equal(read.body.name, base.name);
    const ok = await ctx.api('PATCH', `/api/v1/bases/${base.id}`, { cards: { prefix: '777', length: 10 } });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.cards, { prefix: '777', length: 10 });
  });

  it('refuses emailsConsented: false on change and leaves the base as it was', async () => {
    const base = await ctx.newBase({ description: 'до' });
    const r = await ctx.api('PATCH', `/api/v1/bases/${base.id}`, { emailsConsented: false, description: 'после' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.errors, [{ field: 'emailsConsented', message: 'Подтвердите, что все email в базе согласились получать рассылки' }]);
    const read = await ctx.api('GET', `/api/v1/bases/${base.id}`);
    assert.equal(read.body.emailsConsented, true);
    assert.equal(read.body.description, 'до');
    const ok = await ctx.api('PATCH', `/api/v1/bases/${base.id}`, { emailsConsented: true, description: 'после' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.description, 'после');
  });

  it('validates and normalises the reply-to address; an empty one clears it', async () => {
    const bad = await ctx.api('POST', '/api/v1/bases', { name: 'Ответы', emailsConsented: true, sender: { email: 'news@shop.ru', replyTo: 'help at shop' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field), ['sender.replyTo']);
    const base = await ctx.newBase({ sender: { name: 'Магазин', email: 'news@shop.ru', replyTo: ' Help@Shop.RU ' } });
    const created = await ctx.api('GET', `/api/v1/bases/${base.id}`);
    assert.deepEqual(created.body.sender, { name: 'Магазин', email: 'news@shop.ru', replyTo: 'help@shop.ru' });
    const badPatch = await ctx.api('PATCH', `/api/v1/bases/${base.id}`, { sender: { replyTo: 'nope@' } });
    assert.equal(badPatch.status, 400);
    assert.equal(badPatch.body.errors[0].field, 'sender.replyTo');
    assert.equal((await ctx.api('GET', `/api/v1/bases/${base.id}`)).body.sender.replyTo, 'help@shop.ru');
    const rename = await ctx.api('PATCH', `/api/v1/bases/${base.id}`, { sender: { name: 'Лавка' } });
    assert.deepEqual(rename.body.sender, { name: 'Лавка', email: 'news@shop.ru', replyTo: 'help@shop.ru' });
    const cleared = await ctx.api('PATCH', `/api/v1/bases/${base.id}`, { sender: { replyTo: '' } });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.sender.replyTo, null);
    assert.equal(cleared.body.sender.email, 'news@shop.ru');
  });

  it('answers 404 for an unknown base on read, change and delete', async () => {
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const r = await ctx.api(method, '/api/v1/bases/987654', method === 'PATCH' ? { name: 'X' } : undefined);
      assert.equal(r.status, 404, method);
      assert.equal(r.body.detail, 'База профилей 987654 не найдена');
    }
  });
});
