import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ADMIN_TOKEN, testContext } from '../../test/context.ts';
import { WEB_DIR } from '../app.ts';
import { catalogs, pickLang, t, type MessageKey } from '../i18n/messages.ts';

const ctx = await testContext();

type Json = Record<string, any>;

/** Resolves a local `#/...` JSON pointer in the OpenAPI document. */
function deref(doc: Json, schema: Json | undefined): Json | undefined {
  let s = schema;
  for (let i = 0; s && typeof s.$ref === 'string' && i < 20; i++) {
    assert.ok(s.$ref.startsWith('#/'), `only local refs expected, got ${s.$ref}`);
    s = s.$ref
      .slice(2)
      .split('/')
      .map((p: string) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o: Json | undefined, k: string) => o?.[k], doc);
  }
  return s;
}

/** Whether a schema (through refs, unions and intersections) declares the property. */
function hasProperty(doc: Json, schema: Json | undefined, name: string, depth = 0): boolean {
  const s = deref(doc, schema);
  if (!s || depth > 10) return false;
  if (s.properties && name in s.properties) return true;
  return ['anyOf', 'oneOf', 'allOf'].some((k) => Array.isArray(s[k]) && s[k].some((x: Json) => hasProperty(doc, x, name, depth + 1)));
}

/** Every `$ref` anywhere in the document points at something. */
function assertRefsResolve(doc: Json, node: unknown = doc, at = '#'): void {
  if (Array.isArray(node)) node.forEach((x, i) => assertRefsResolve(doc, x, `${at}/${i}`));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') assert.ok(deref(doc, { $ref: v }), `${at}: dangling $ref ${v}`);
      else assertRefsResolve(doc, v, `${at}/${k}`);
    }
  }
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function assertProblem(r: { status: number; body: any; headers: Record<string, unknown> }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(r.body.status, status);
  assert.equal(r.body.code, code);
  assert.equal(r.body.type, `https://kartoteka.dev/problems/${code}`);
  assert.equal(typeof r.body.title, 'string');
  assert.equal(typeof r.body.detail, 'string');
}

describe('health', () => {
  it('reports ok and the database without authentication', async () => {
    const r = await ctx.app.inject({ method: 'GET', url: '/api/v1/health' });
    assert.equal(r.statusCode, 200);
    const body = r.json();
    assert.equal(body.status, 'ok');
    assert.equal(body.database.engine, 'external');
    assert.match(body.database.version, /^\d+(\.\d+)?/);
    assert.equal(body.database.version, process.env.KARTOTEKA_TEST_PG_VERSION);
  });
});

describe('OpenAPI and docs', () => {
  it('serves a well-formed OpenAPI 3.1 document without authentication', async () => {
    const r = await ctx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const doc = r.json();
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(typeof doc.info?.title, 'string');
    assert.equal(typeof doc.info?.version, 'string');
    assert.ok(doc.components?.securitySchemes?.bearer);
    assert.ok(doc.components?.securitySchemes?.session);
    for (const p of ['/api/v1/bases', '/api/v1/bases/{baseId}/profiles', '/api/v1/bases/{baseId}/profiles/lookup', '/api/v1/bases/{baseId}/fields']) {
      assert.ok(doc.paths[p], `missing path ${p}; have ${Object.keys(doc.paths).join(', ')}`);
    }
    for (const [p, item] of Object.entries<Json>(doc.paths)) {
      assert.ok(p.startsWith('/api/'), p);
      assert.doesNotMatch(p, /:\w/, `${p}: path params must be {templated}`);
      for (const m of Object.keys(item).filter((k) => METHODS.includes(k))) {
        assert.ok(item[m].responses && Object.keys(item[m].responses).length > 0, `${m} ${p} documents no response`);
        for (const name of p.match(/\{(\w+)\}/g) ?? []) {
          const param = name.slice(1, -1);
          assert.ok(
            (item[m].parameters ?? []).some((x: Json) => deref(doc, x)?.in === 'path' && deref(doc, x)?.name === param),
            `${m} ${p} does not document path parameter ${param}`,
          );
        }
      }
    }
    assert.equal(doc.paths['/api/v1/openapi.json'], undefined, 'the document itself is hidden');
    assertRefsResolve(doc);

    // Request bodies are documented, not just declared.
    const createProfile = doc.paths['/api/v1/bases/{baseId}/profiles'].post;
    const profileSchema = createProfile.requestBody?.content?.['application/json']?.schema;
    assert.ok(profileSchema, 'profile create has a JSON request body');
    assert.ok(hasProperty(doc, profileSchema, 'phone'), 'profile create body has `phone`');
    const createBase = doc.paths['/api/v1/bases'].post;
    assert.ok(hasProperty(doc, createBase.requestBody?.content?.['application/json']?.schema, 'name'), 'base create body has `name`');
    const createField = doc.paths['/api/v1/bases/{baseId}/fields'].post;
    assert.ok(createField.requestBody?.content?.['application/json']?.schema, 'field create has a JSON request body');
    const lookup = doc.paths['/api/v1/bases/{baseId}/profiles/lookup'].get;
    assert.ok(lookup.parameters.some((x: Json) => deref(doc, x)?.in === 'query' && deref(doc, x)?.name === 'phone'), 'lookup documents ?phone');
  });

  it('serves the interactive docs as HTML', async () => {
    let url = '/api/docs';
    let r = await ctx.app.inject({ method: 'GET', url });
    for (let i = 0; i < 3 && r.statusCode >= 300 && r.statusCode < 400; i++) {
      url = new URL(String(r.headers.location), `http://localhost${url}`).pathname;
      r = await ctx.app.inject({ method: 'GET', url });
    }
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.match(r.body, /<html/i);
  });
});

describe('errors as problem+json', () => {
  it('unknown route: 404 not_found naming the route, in the caller language', async () => {
    const r = await ctx.api('GET', '/api/v1/nope?x=1');
    assertProblem(r, 404, 'not_found');
    assert.equal(r.body.detail, 'Адрес GET /api/v1/nope не найден');
    assert.equal(r.headers['content-language'], 'ru');
    const en = await ctx.api('GET', '/api/v1/nope', undefined, { 'accept-language': 'en' });
    assertProblem(en, 404, 'not_found');
    assert.equal(en.body.detail, 'No route GET /api/v1/nope');
    assert.equal(en.headers['content-language'], 'en');
    // Outside the API too, and without credentials (a GET there is the web UI's own page address once it is built).
    const bare = await ctx.app.inject({ method: 'POST', url: '/definitely/not/here' });
    assert.equal(bare.statusCode, 404);
    assert.equal(bare.json().code, 'not_found');
    const page = await ctx.app.inject({ method: 'GET', url: '/definitely/not/here' });
    if (fs.existsSync(path.join(WEB_DIR, 'index.html'))) {
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<div id="root">/);
    } else assert.equal(page.statusCode, 404);
    // An unknown API address is never the UI's page.
    assert.equal((await ctx.app.inject({ method: 'GET', url: '/api/v1/nope' })).headers['content-type'], 'application/problem+json; charset=utf-8');
  });

  it('unknown id: 404 not_found', async () => {
    const r = await ctx.api('GET', '/api/v1/bases/987654321');
    assertProblem(r, 404, 'not_found');
    assert.match(r.body.detail, /987654321/);
    const base = await ctx.newBase();
    const p = await ctx.api('GET', `/api/v1/bases/${base.id}/profiles/987654321`);
    assertProblem(p, 404, 'not_found');
  });

  it('bad path and query parameters are named params.* and query.*', async () => {
    const r = await ctx.api('GET', '/api/v1/bases/abc');
    assertProblem(r, 400, 'validation_failed');
    assert.deepEqual(
      r.body.errors.map((e: { field: string }) => e.field),
      ['params.baseId'],
    );
    assert.match(r.body.detail, /params\.baseId/);
    const base = await ctx.newBase();
    const q = await ctx.api('GET', `/api/v1/bases/${base.id}/profiles/lookup?phone=${'9'.repeat(60)}`);
    assertProblem(q, 400, 'validation_failed');
    assert.deepEqual(q.body.errors, [{ field: 'query.phone', message: 'Не длиннее 50 символов' }]);
    const unknown = await ctx.api('GET', `/api/v1/bases/${base.id}/profiles/lookup?colour=red`);
    assertProblem(unknown, 400, 'validation_failed');
    assert.deepEqual(unknown.body.errors, [{ field: 'query.colour', message: 'Неизвестное поле' }]);
    const limit = await ctx.api('GET', `/api/v1/bases/${base.id}/profiles?limit=0`, undefined, { 'accept-language': 'en' });
    assertProblem(limit, 400, 'validation_failed');
    assert.deepEqual(limit.body.errors, [{ field: 'query.limit', message: 'At least 1' }]);
  });

  it('body fields are named by their path, without a prefix', async () => {
    const r = await ctx.api('POST', '/api/v1/bases', { name: 42, emailsConsented: true });
    assertProblem(r, 400, 'validation_failed');
    assert.deepEqual(r.body.errors, [{ field: 'name', message: 'Ожидается строка' }]);
  });

  it('oversized body: 413 payload_too_large', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(ctx.config.bodyLimit + 10), emailsConsented: true });
    const r = await ctx.api('POST', '/api/v1/bases', big);
    assertProblem(r, 413, 'payload_too_large');
    assert.match(r.body.detail, new RegExp(String(ctx.config.bodyLimit)));
  });

  it('malformed JSON: 400 bad_request', async () => {
    const r = await ctx.api('POST', '/api/v1/bases', '{"name": "x",');
    assertProblem(r, 400, 'bad_request');
    assert.equal(r.body.detail, 'Тело запроса — некорректный JSON');
    assert.equal(r.body.errors, undefined);
  });

  it('a bodiless DELETE with the usual JSON header just works; a bodiless POST names the missing body', async () => {
    const base = await ctx.newBase();
    const del = await ctx.app.inject({ method: 'DELETE', url: `/api/v1/bases/${base.id}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } });
    assert.equal(del.statusCode, 204);
    const post = await ctx.app.inject({ method: 'POST', url: '/api/v1/bases', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } });
    assert.equal(post.statusCode, 400);
    assert.equal(post.json().code, 'validation_failed');
  });

  it('unsupported content type: 400 bad_request naming the type', async () => {
    const r = await ctx.api('POST', '/api/v1/bases', 'name=x', { 'content-type': 'text/csv' });
    assertProblem(r, 400, 'bad_request');
    assert.match(r.body.detail, /text\/csv/);
  });

  it('a malformed URL or a wrong Content-Length is a 400 problem, not a crash', async () => {
    const url = await ctx.api('GET', '/api/v1/bases/%E0%A4%A');
    assertProblem(url, 400, 'bad_request');
    assert.equal(url.body.detail, 'Некорректный адрес: проверьте %-кодирование');
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/bases',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'content-length': '5' },
      payload: '{"name":"x","emailsConsented":true}',
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'bad_request');
  });

  it('a malformed cookie is a 401, not a crash', async () => {
    const r = await ctx.app.inject({ method: 'GET', url: '/api/v1/bases', headers: { cookie: 'kartoteka_session=%E0%A4%A' } });
    assert.equal(r.statusCode, 401);
    assert.equal(r.json().code, 'unauthorized');
  });
});

describe('internal errors', async () => {
  const broken = await testContext();
  // Kysely connects lazily and destroying an unused instance is a no-op: use it once, then destroy.
  await broken.db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
  await broken.db.destroy();

  it('500 with a generic message and the request id, no stack and no SQL', async () => {
    for (const lang of ['ru', 'en']) {
      const r = await broken.api('GET', '/api/v1/bases', undefined, { 'accept-language': lang });
      assertProblem(r, 500, 'internal');
      assert.equal(typeof r.body.requestId, 'string');
      assert.ok(r.body.requestId.length > 0);
      assert.equal(r.body.detail, t(lang as 'ru' | 'en', 'internal', { requestId: r.body.requestId }));
      assert.deepEqual(Object.keys(r.body).sort(), ['code', 'detail', 'requestId', 'status', 'title', 'type']);
      const text = JSON.stringify(r.body);
      assert.doesNotMatch(text, /\bat \S+:\d+|\.ts\b|node_modules/i, 'no stack trace');
      assert.doesNotMatch(text, /select|from\s+"?bases|destroyed|driver|kysely|pool/i, 'no SQL or driver text');
    }
  });

  it('health fails the same way when the database is gone', async () => {
    const r = await broken.app.inject({ method: 'GET', url: '/api/v1/health' });
    assert.equal(r.statusCode, 500);
    assert.equal(r.json().code, 'internal');
  });
});

describe('pickLang', () => {
  it('defaults to Russian', () => {
    assert.equal(pickLang(undefined), 'ru');
    assert.equal(pickLang(''), 'ru');
    assert.equal(pickLang('*'), 'ru');
  });
  it('picks English when preferred', () => {
    assert.equal(pickLang('en-US,en;q=0.9'), 'en');
    assert.equal(pickLang('en'), 'en');
    assert.equal(pickLang('EN-gb'), 'en');
    assert.equal(pickLang('ru;q=0.5,en;q=0.8'), 'en');
    assert.equal(pickLang('de-DE,de;q=0.9,en;q=0.5'), 'en');
  });
  it('keeps Russian when it is preferred, tied or nothing known is asked', () => {
    assert.equal(pickLang('de'), 'ru');
    assert.equal(pickLang('ru-RU,ru;q=0.9,en;q=0.8'), 'ru');
    assert.equal(pickLang('en;q=0.5,ru;q=0.8'), 'ru');
    assert.equal(pickLang('ru,en'), 'ru');
    assert.equal(pickLang('en,ru'), 'en', 'the first listed wins a tie');
  });
  it('ignores languages marked not acceptable and look-alike tags', () => {
    assert.equal(pickLang('en;q=0'), 'ru');
    assert.equal(pickLang('de,en;q=0'), 'ru');
    assert.equal(pickLang('enx'), 'ru');
    assert.equal(pickLang('rux,en;q=0.1'), 'en');
  });
});

describe('message catalogs', () => {
  const placeholders = (s: string) => [...new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!))].sort();

  it('have the same keys in ru and en', () => {
    assert.deepEqual(Object.keys(catalogs.en).sort(), Object.keys(catalogs.ru).sort());
  });

  it('have no empty message and the same placeholders in both languages', () => {
    for (const key of Object.keys(catalogs.ru) as MessageKey[]) {
      assert.ok(catalogs.ru[key].trim().length > 0, `ru ${key} is empty`);
      assert.ok(catalogs.en[key].trim().length > 0, `en ${key} is empty`);
      assert.deepEqual(placeholders(catalogs.en[key]), placeholders(catalogs.ru[key]), `placeholders differ for ${key}`);
    }
  });

  it('t substitutes params and leaves unknown ones visible', () => {
    assert.equal(t('ru', 'not_found.base', { id: 7 }), 'База профилей 7 не найдена');
    assert.equal(t('en', 'not_found.base', { id: 7 }), 'Profile base 7 not found');
    assert.equal(t('en', 'not_found.base'), 'Profile base {id} not found');
  });
});
