import assert from 'node:assert/strict';
import fs from 'node:fs';
import { before, describe, it } from 'node:test';
import { currentDocument, generate, GENERATED } from '../../scripts/gen-client.ts';
import { ADMIN_TOKEN, testContext } from '../../test/context.ts';
import { ApiError, createClient, routeUrl, type Client } from './client.ts';

const ctx = await testContext();

describe('typed API client', () => {
  let client: Client;
  before(async () => {
    const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    client = createClient({ baseUrl: address, headers: () => ({ authorization: `Bearer ${ADMIN_TOKEN}`, 'accept-language': 'ru' }) });
  });

  it('is generated from the current OpenAPI document (run `npm run gen:client` after changing a route)', async () => {
    const fresh = generate(await currentDocument());
    assert.ok(fresh.includes('"POST /bases/{baseId}/profiles/search"'));
    assert.equal(fs.readFileSync(GENERATED, 'utf8'), fresh, 'src/client/api.gen.ts is stale: run `npm run gen:client`');
  });

  it('fills path and query parameters', () => {
    assert.equal(routeUrl('GET /bases/{baseId}/fields/{key}/values', { baseId: 7, key: 'любимый цвет' }), '/api/v1/bases/7/fields/%D0%BB%D1%8E%D0%B1%D0%B8%D0%BC%D1%8B%D0%B9%20%D1%86%D0%B2%D0%B5%D1%82/values');
    assert.equal(routeUrl('GET /bases/{baseId}/tags', { baseId: 1 }, { withCounts: true, skipped: undefined }), '/api/v1/bases/1/tags?withCounts=true');
    assert.throws(() => routeUrl('GET /bases/{baseId}', {}), /baseId/);
  });

  it('calls the real server: a base made through it is the base the API stores', async () => {
    const made = await client.call('POST /bases', { body: { name: 'Через клиента', emailsConsented: true } });
    const read = await client.call('GET /bases/{baseId}', { path: { baseId: made.id } });
    assert.equal(read.name, 'Через клиента');
    const profile = await client.call('POST /bases/{baseId}/profiles', { path: { baseId: made.id }, body: { phone: '8 (916) 123-45-67', firstName: 'Анна' } });
    const page = await client.call('POST /bases/{baseId}/profiles/search', { path: { baseId: made.id }, body: { q: '9161234567', withTotal: true } });
    assert.equal(page.total, 1);
    assert.equal(page.items[0]!.id, profile.id);
    assert.equal(page.items[0]!.phone, '+79161234567');
    // A phone already in the base: the error names the field and the client holding it (the form offers to open them).
    const taken = await client.call('POST /bases/{baseId}/profiles', { path: { baseId: made.id }, body: { phone: '+7 916 123 45 67' } }).catch((e: unknown) => e);
    assert.ok(taken instanceof ApiError && taken.status === 409, String(taken));
    assert.equal(taken.extra.existingId, profile.id);
    assert.deepEqual(taken.fields.map((f) => f.field), ['phone']);
    assert.equal(await client.call('DELETE /bases/{baseId}/profiles/{id}', { path: { baseId: made.id, id: profile.id } }), undefined);
  });

  it('raises the problem as ApiError with its code, message in the caller language and field errors', async () => {
    const err = await client.call('POST /bases', { body: { name: '', emailsConsented: true } }).catch((e: unknown) => e);
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'validation_failed');
    assert.ok(err.fields.some((f) => f.field === 'name'), JSON.stringify(err.fields));
    assert.match(err.fields[0]!.message, /[а-я]/i, 'Russian by default');
    const missing = await client.call('GET /bases/{baseId}', { path: { baseId: 999999 } }).catch((e: unknown) => e);
    assert.ok(missing instanceof ApiError && missing.status === 404 && missing.code === 'not_found');
  });

  it('says the server cannot be reached instead of a bare fetch failure', async () => {
    const dead = createClient({ baseUrl: 'http://127.0.0.1:9' });
    const err = await dead.call('GET /health').catch((e: unknown) => e);
    assert.ok(err instanceof ApiError && err.code === 'unreachable' && /cannot reach/.test(err.message));
  });
});
