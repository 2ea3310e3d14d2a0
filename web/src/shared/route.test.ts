import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { clientsRoute, formatRoute, LIST_MAX, parseRoute, type Route } from './route.ts';

const parse = (url: string) => {
  const u = new URL(url, 'http://x');
  return parseRoute(u.pathname, u.search);
};

describe('addresses of screens', () => {
  it('a base, its clients, its segments, and the bases list for anything else', () => {
    assert.deepEqual(parse('/'), { screen: 'bases' });
    assert.deepEqual(parse('/bases/12'), { screen: 'base', baseId: 12 });
    assert.deepEqual(parse('/bases/12/segments'), { screen: 'segments', baseId: 12 });
    assert.equal(parse('/bases/12/clients').screen, 'clients');
    assert.deepEqual(parse('/bases/0/clients'), { screen: 'bases' });
    assert.deepEqual(parse('/bases/abc'), { screen: 'bases' });
    assert.deepEqual(parse('/nowhere'), { screen: 'bases' });
  });

  it('the clients view: search values, filter, its segment, sort and the open card', () => {
    const r = parse('/bases/3/clients?q=916&q=%D0%98%D0%B2%D0%B0%D0%BD&filter=%7B%22field%22%3A%22city%22%2C%22op%22%3A%22eq%22%2C%22value%22%3A%22%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0%22%7D&segment=4&sort=%5B%7B%22field%22%3A%22createdAt%22%2C%22dir%22%3A%22desc%22%7D%5D&card=345');
    assert.deepEqual(r, {
      screen: 'clients',
      baseId: 3,
      q: ['916', 'Иван'],
      text: '',
      list: [],
      filter: { field: 'city', op: 'eq', value: 'Москва' },
      segment: 4,
      sort: [{ field: 'createdAt', dir: 'desc' }],
      card: 345,
    });
    assert.equal(parse('/bases/3/clients?card=new').screen === 'clients' && (parse('/bases/3/clients?card=new') as { card: unknown }).card, 'new');
  });

  it('a damaged address opens the plain table, not an error', () => {
    const r = parse('/bases/3/clients?filter=%7Bbroken&sort=%5B1%5D&card=-1&segment=x&q=');
    assert.deepEqual(r, clientsRoute(3));
  });

  it('a long pasted list stays out of the address (a reload would exceed the request-line limit)', () => {
    const long = Array.from({ length: 500 }, (_, i) => `+7916${String(i).padStart(7, '0')}`);
    assert.ok(long.join('\n').length > LIST_MAX);
    assert.equal(formatRoute(clientsRoute(1, { list: long })), '/bases/1/clients');
    assert.deepEqual((parse(formatRoute(clientsRoute(1, { list: ['a@b.ru', '+79161234567'] }))) as { list: string[] }).list, ['a@b.ru', '+79161234567']);
  });

  it('any view survives its address unchanged', () => {
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => s.trim() !== '' && !s.includes('\n'));
    const view = fc.record({
      q: fc.array(text, { maxLength: 4 }),
      text: fc.string({ maxLength: 8 }),
      list: fc.array(text, { maxLength: 4 }),
      filter: fc.option(fc.record({ field: fc.constantFrom('city', 'fields.level'), op: fc.constantFrom('eq', 'contains'), value: text }, { noNullPrototype: true }), { nil: null }),
      segment: fc.option(fc.integer({ min: 1, max: 1e9 }), { nil: null }),
      sort: fc.option(fc.array(fc.record({ field: fc.constantFrom('createdAt', 'lastName'), dir: fc.constantFrom('asc' as const, 'desc' as const) }, { noNullPrototype: true }), { maxLength: 2 }), { nil: null }),
      card: fc.option(fc.oneof(fc.integer({ min: 1, max: 1e12 }), fc.constant('new' as const)), { nil: null }),
    }, { noNullPrototype: true });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), view, (baseId, v) => {
        const r: Route = { screen: 'clients', baseId, ...v };
        assert.deepEqual(parse(formatRoute(r)), r);
      }),
    );
  });
});
