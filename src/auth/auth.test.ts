import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN_TOKEN, testContext } from '../../test/context.ts';
import { buildApp, requirePermissionHook } from '../app.ts';
import { ensureAdmin, parseCookies, SESSION_COOKIE } from './auth.service.ts';
import { authorize, PERMISSIONS, type Principal } from './permissions.ts';

const ctx = await testContext();

type Res = { status: number; body: any; headers: Record<string, unknown> };

/** A call without the admin token: optional session cookie or Bearer token. */
async function call(method: string, url: string, opts: { cookie?: string; bearer?: string; body?: unknown; lang?: string } = {}): Promise<Res> {
  const res = await ctx.app.inject({
    method: method as 'GET',
    url,
    headers: {
      ...(opts.cookie !== undefined ? { cookie: opts.cookie } : {}),
      ...(opts.bearer !== undefined ? { authorization: `Bearer ${opts.bearer}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.lang ? { 'accept-language': opts.lang } : {}),
    },
    ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}),
  });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
}

function assertProblem(r: Res, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(r.body.code, code);
  assert.equal(r.body.status, status);
}

const fields = (r: Res) => (r.body.errors ?? []).map((e: { field: string }) => e.field).sort();

/** Signs in and returns the `name=value` pair to send back as Cookie. */
async function signIn(login: string, password: string): Promise<{ cookie: string; res: Res; setCookie: string }> {
  const res = await call('POST', '/api/v1/auth/login', { body: { login, password } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const raw = res.headers['set-cookie'];
  const setCookie = String(Array.isArray(raw) ? raw[0] : raw);
  return { cookie: setCookie.split(';')[0]!, res, setCookie };
}

let admin: { login: string; password: string };
const NEW_PASSWORD = 'correct horse battery staple';

describe('first start and sessions', () => {
  it('creates the first administrator once, with a scrypt-hashed one-time password', async () => {
    assert.equal((await ctx.db.selectFrom('users').select('id').execute()).length, 0, 'the template has no users');
    const created = await ensureAdmin(ctx.db);
    assert.ok(created);
    assert.equal(created.login, 'admin');
    assert.ok(created.password.length >= 12);
    admin = created;
    assert.equal(await ensureAdmin(ctx.db), undefined, 'the second start creates nobody');
    const rows = await ctx.db.selectFrom('users').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.must_change_password, true);
    assert.match(rows[0]!.password_hash, /^scrypt\$/);
    assert.ok(!rows[0]!.password_hash.includes(created.password));
  });

  it('refuses a wrong password or an unknown login with 401, in Russian', async () => {
    for (const body of [
      { login: admin.login, password: 'wrong-password' },
      { login: 'nobody', password: admin.password },
    ]) {
      const r = await call('POST', '/api/v1/auth/login', { body });
      assertProblem(r, 401, 'unauthorized');
      assert.equal(r.body.detail, 'Неверный логин или пароль');
      assert.equal(r.headers['set-cookie'], undefined);
    }
    const en = await call('POST', '/api/v1/auth/login', { body: { login: admin.login, password: 'wrong-password' }, lang: 'en' });
    assert.equal(en.body.detail, 'Wrong login or password');
  });

  it('signs in with an HttpOnly session cookie; logins ignore case', async () => {
    const { res, setCookie, cookie } = await signIn('ADMIN', admin.password);
    assert.match(setCookie, new RegExp(`^${SESSION_COOKIE}=[^;]{20,}`));
    assert.match(setCookie, /;\s*HttpOnly/i);
    assert.match(setCookie, /;\s*SameSite=Strict/i);
    assert.match(setCookie, /;\s*Path=\//i);
    assert.equal(res.body.login, 'admin');
    assert.equal(res.body.via, 'session');
    assert.equal(res.body.mustChangePassword, true);
    // Only a hash of the session token is stored.
    const token = parseCookies(cookie)[SESSION_COOKIE]!;
    const sessions = await ctx.db.selectFrom('sessions').selectAll().execute();
    assert.ok(sessions.length >= 1);
    assert.ok(!JSON.stringify(sessions).includes(token));
  });

  it('until the one-time password changes, only /auth routes work', async () => {
    const { cookie } = await signIn(admin.login, admin.password);
    const bases = await call('GET', '/api/v1/bases', { cookie });
    assertProblem(bases, 403, 'password_change_required');
    const tokens = await call('POST', '/api/v1/auth/tokens', { cookie, body: { name: 'early' } });
    assertProblem(tokens, 403, 'password_change_required');
    const me = await call('GET', '/api/v1/auth/me', { cookie });
    assert.equal(me.status, 200);
    assert.equal(me.body.mustChangePassword, true);
    assert.equal(me.body.login, 'admin');
    assert.equal(me.body.via, 'session');
  });

  it('changes the password: checks the current one and the length, then unlocks the API', async () => {
    const { cookie } = await signIn(admin.login, admin.password);
    const other = (await signIn(admin.login, admin.password)).cookie; // e.g. whoever else saw the one-time password
    const wrong = await call('POST', '/api/v1/auth/password', { cookie, body: { currentPassword: 'not-it', newPassword: NEW_PASSWORD } });
    assertProblem(wrong, 400, 'validation_failed');
    assert.deepEqual(wrong.body.errors, [{ field: 'currentPassword', message: 'Текущий пароль неверен' }]);
    const short = await call('POST', '/api/v1/auth/password', { cookie, body: { currentPassword: admin.password, newPassword: 'short' } });
    assertProblem(short, 400, 'validation_failed');
    assert.deepEqual(short.body.errors, [{ field: 'newPassword', message: 'Пароль — не короче 10 символов' }]);
    assert.equal((await call('GET', '/api/v1/auth/me', { cookie: other })).status, 200, 'failed attempts end no session');
    const both = await call('POST', '/api/v1/auth/password', { cookie, body: { currentPassword: 'not-it', newPassword: 'short' } });
    assert.deepEqual(fields(both), ['currentPassword', 'newPassword'], 'every problem at once');
    const same = await call('POST', '/api/v1/auth/password', { cookie, body: { currentPassword: admin.password, newPassword: admin.password } });
    assert.deepEqual(fields(same), ['newPassword'], 'the one-time password cannot be kept');
    assert.equal((await call('GET', '/api/v1/bases', { cookie })).status, 403, 'failed attempts change nothing');

    const ok = await call('POST', '/api/v1/auth/password', { cookie, body: { currentPassword: admin.password, newPassword: NEW_PASSWORD } });
    assert.equal(ok.status, 204);
    assert.equal((await call('GET', '/api/v1/bases', { cookie })).status, 200, 'the same session now works');
    assert.equal((await call('GET', '/api/v1/auth/me', { cookie })).body.mustChangePassword, false);
    assertProblem(await call('GET', '/api/v1/auth/me', { cookie: other }), 401, 'unauthorized');
    const row = await ctx.db.selectFrom('users').selectAll().executeTakeFirstOrThrow();
    assert.match(row.password_hash, /^scrypt\$/);
    assert.equal(row.must_change_password, false);

    const old = await call('POST', '/api/v1/auth/login', { body: { login: admin.login, password: admin.password } });
    assertProblem(old, 401, 'unauthorized');
    await signIn(admin.login, NEW_PASSWORD);
  });

  it('logout ends the session: the cookie is refused after', async () => {
    const { cookie } = await signIn(admin.login, NEW_PASSWORD);
    assert.equal((await call('GET', '/api/v1/bases', { cookie })).status, 200);
    const out = await call('POST', '/api/v1/auth/logout', { cookie });
    assert.equal(out.status, 204);
    assert.match(String(out.headers['set-cookie']), new RegExp(`^${SESSION_COOKIE}=;.*Max-Age=0`));
    const after = await call('GET', '/api/v1/bases', { cookie });
    assertProblem(after, 401, 'unauthorized');
    assertProblem(await call('GET', '/api/v1/auth/me', { cookie }), 401, 'unauthorized');
  });

  it('refuses made-up session cookies', async () => {
    assertProblem(await call('GET', '/api/v1/auth/me', { cookie: `${SESSION_COOKIE}=made-up` }), 401, 'unauthorized');
  });
});

describe('API tokens', () => {
  it('creates a token shown once, stores only its hash, accepts it as Bearer, revokes it', async () => {
    const { cookie } = await signIn(admin.login, NEW_PASSWORD);
    const created = await call('POST', '/api/v1/auth/tokens', { cookie, body: { name: '  CRM import ' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const token: string = created.body.token;
    assert.match(token, /^kt_[A-Za-z0-9_-]{30,}$/);
    assert.equal(created.body.name, 'CRM import');
    assert.ok(token.startsWith(created.body.prefix));
    assert.ok(created.body.prefix.length < token.length);
    assert.equal(created.body.lastUsedAt, null);

    const rows = await ctx.db.selectFrom('api_tokens').selectAll().where('id', '=', created.body.id).execute();
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0]!.token_hash, token);
    assert.ok(!JSON.stringify(rows[0]).includes(token), 'the token text is stored nowhere');

    const me = await call('GET', '/api/v1/auth/me', { bearer: token });
    assert.equal(me.status, 200);
    assert.equal(me.body.via, 'token');
    assert.equal(me.body.login, 'admin');
    assert.equal((await call('GET', '/api/v1/bases', { bearer: token })).status, 200);
    for (const near of [`${token}x`, token.slice(0, -1), token.toUpperCase()]) {
      assert.equal((await call('GET', '/api/v1/bases', { bearer: near })).status, 401, 'the exact token only');
    }

    const list = await call('GET', '/api/v1/auth/tokens', { bearer: token });
    assert.equal(list.status, 200);
    const item = list.body.items.find((x: { id: number }) => x.id === created.body.id);
    assert.ok(item);
    assert.equal(item.token, undefined);
    assert.ok(item.lastUsedAt, 'use is stamped');
    assert.ok(!JSON.stringify(list.body).includes(token), 'the list never reveals a token');

    const del = await call('DELETE', `/api/v1/auth/tokens/${created.body.id}`, { cookie });
    assert.equal(del.status, 204);
    assertProblem(await call('GET', '/api/v1/bases', { bearer: token }), 401, 'unauthorized');
    assertProblem(await call('DELETE', `/api/v1/auth/tokens/${created.body.id}`, { cookie }), 404, 'not_found');
    const after = await call('GET', '/api/v1/auth/tokens', { cookie });
    assert.ok(!after.body.items.some((x: { id: number }) => x.id === created.body.id), 'revoked tokens leave the list');
  });

  it('the env admin token manages the first administrator’s tokens', async () => {
    const created = await ctx.api('POST', '/api/v1/auth/tokens', { name: 'ops' });
    assert.equal(created.status, 201);
    const row = await ctx.db.selectFrom('api_tokens').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
    const adminRow = await ctx.db.selectFrom('users').select('id').where('login', '=', 'admin').executeTakeFirstOrThrow();
    assert.equal(row.user_id, adminRow.id);
    assert.equal((await ctx.api('DELETE', `/api/v1/auth/tokens/${created.body.id}`)).status, 204);
  });

  it('validates the token name and id', async () => {
    const r = await ctx.api('POST', '/api/v1/auth/tokens', { name: '   ' });
    assertProblem(r, 400, 'validation_failed');
    assert.deepEqual(fields(r), ['name']);
    const bad = await ctx.api('DELETE', '/api/v1/auth/tokens/abc');
    assertProblem(bad, 400, 'validation_failed');
    assert.deepEqual(fields(bad), ['params.id']);
  });
});

describe('authentication on every route', () => {
  it('accepts KARTOTEKA_ADMIN_TOKEN as the admin', async () => {
    const me = await call('GET', '/api/v1/auth/me', { bearer: ADMIN_TOKEN });
    assert.equal(me.status, 200);
    assert.equal(me.body.via, 'env');
    assert.equal(me.body.id, null);
    assert.equal((await call('GET', '/api/v1/bases', { bearer: ADMIN_TOKEN })).status, 200);
  });

  it('refuses a wrong or malformed Authorization header with 401 unauthorized', async () => {
    for (const authorization of [`Bearer ${ADMIN_TOKEN}x`, 'Bearer kt_not-a-real-token', `Basic ${Buffer.from('admin:x').toString('base64')}`, 'Bearer', '']) {
      const r = await ctx.app.inject({ method: 'GET', url: '/api/v1/bases', headers: { authorization } });
      assert.equal(r.statusCode, 401, authorization);
      assert.equal(r.json().code, 'unauthorized');
      assert.equal(r.json().detail, 'Сессия или API-ключ недействительны');
    }
  });

  it('a bad Bearer is not rescued by a good cookie', async () => {
    const { cookie } = await signIn(admin.login, NEW_PASSWORD);
    assert.equal((await call('GET', '/api/v1/bases', { cookie, bearer: 'kt_wrong' })).status, 401);
  });

  it('without credentials every API route is 401, except health, the OpenAPI document and login', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    const routes: [string, string][] = [];
    for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))) {
        routes.push([method.toUpperCase(), path.replace(/\{baseId\}|\{id\}/g, '1').replace(/\{\w+\}/g, 'x')]);
      }
    }
    // The document lists what the app serves; make sure it is not silently empty.
    for (const must of [
      'GET /api/v1/bases',
      'POST /api/v1/bases',
      'GET /api/v1/bases/1',
      'PATCH /api/v1/bases/1',
      'DELETE /api/v1/bases/1',
      'GET /api/v1/bases/1/fields',
      'POST /api/v1/bases/1/fields',
      'PATCH /api/v1/bases/1/fields/x',
      'DELETE /api/v1/bases/1/fields/x',
      'POST /api/v1/bases/1/profiles',
      'GET /api/v1/bases/1/profiles',
      'GET /api/v1/bases/1/profiles/lookup',
      'GET /api/v1/bases/1/profiles/1',
      'PATCH /api/v1/bases/1/profiles/1',
      'DELETE /api/v1/bases/1/profiles/1',
      'GET /api/v1/auth/me',
      'POST /api/v1/auth/password',
      'POST /api/v1/auth/logout',
      'GET /api/v1/auth/tokens',
      'POST /api/v1/auth/tokens',
      'DELETE /api/v1/auth/tokens/1',
    ]) {
      assert.ok(routes.some(([m, u]) => `${m} ${u}` === must), `route list lacks ${must}`);
    }
    // an export's download link: its token is the permission (checked in src/export/exports.test.ts)
    const open = new Set(['GET /api/v1/health', 'POST /api/v1/auth/login', 'GET /api/v1/exports/x/file']);
    for (const [method, url] of [...routes, ['GET', '/api/v1/openapi.json'] as [string, string]]) {
      const body = ['POST', 'PATCH', 'PUT'].includes(method) ? {} : undefined;
      const r = await call(method, url, { body });
      if (open.has(`${method} ${url}`) || url === '/api/v1/openapi.json') {
        assert.notEqual(r.status, 401, `${method} ${url} must be open`);
        continue;
      }
      assertProblem(r, 401, 'unauthorized');
      assert.equal(r.body.detail, 'Войдите или передайте API-ключ в заголовке Authorization: Bearer …', `${method} ${url}`);
    }
  });
});

describe('authorize', () => {
  const principal = (over: Partial<Principal> = {}): Principal => ({
    kind: 'session',
    userId: 1,
    login: 'admin',
    role: 'admin',
    mustChangePassword: false,
    actor: 'user:1',
    ...over,
  });

  it('lets an administrator do everything', () => {
    for (const p of PERMISSIONS) assert.deepEqual(authorize(principal(), p, 1), { ok: true }, p);
    for (const p of PERMISSIONS) assert.deepEqual(authorize(principal({ kind: 'env', userId: null, actor: 'env' }), p, undefined), { ok: true }, p);
  });

  it('holds everything but public and self until the password changes', () => {
    const p = principal({ mustChangePassword: true });
    for (const perm of PERMISSIONS) {
      const expected = perm === 'public' || perm === 'self' ? { ok: true } : { ok: false, reason: 'password_change_required' };
      assert.deepEqual(authorize(p, perm, 1), expected, perm);
    }
  });

  it('forbids roles it does not know', () => {
    const p = principal({ role: 'viewer' as 'admin' });
    assert.deepEqual(authorize(p, 'bases.read', 1), { ok: false, reason: 'forbidden' });
    assert.deepEqual(authorize(p, 'self', 1), { ok: true });
  });
});

describe('every API route declares a permission', () => {
  const handler = async () => null;

  it('requirePermissionHook refuses API routes without a valid declaration', () => {
    assert.throws(() => requirePermissionHook({ method: 'GET', url: '/api/v1/secret', config: {} }), /GET \/api\/v1\/secret declares no permission/);
    assert.throws(() => requirePermissionHook({ method: 'GET', url: '/api/v1/secret', config: undefined as never }), /declares no permission/);
    assert.throws(() => requirePermissionHook({ method: 'GET', url: '/api/v1/x', config: { permission: 'everything' as 'public' } }), /unknown permission/);
    assert.throws(
      () => requirePermissionHook({ method: 'GET', url: '/api/v1/bases/:id', config: { permission: 'bases.read', base: 'baseId' } }),
      /base parameter "baseId"/,
    );
    requirePermissionHook({ method: 'GET', url: '/api/v1/bases/:baseId', config: { permission: 'bases.read', base: 'baseId' } });
    requirePermissionHook({ method: 'GET', url: '/api/v1/health', config: { permission: 'public' } });
    requirePermissionHook({ method: 'GET', url: '/api/docs', config: {} });
    requirePermissionHook({ method: 'GET', url: '/api/v10', config: {} });
  });

  it('an app refuses to register an undeclared API route', async () => {
    const app = await buildApp({ db: ctx.db, config: ctx.config, engine: 'external', version: 'test' });
    try {
      assert.throws(() => app.get('/api/v1/undeclared', handler), /declares no permission/);
      assert.throws(() => app.post('/api/v1/bases/:baseId/x', { config: { permission: 'bases.manage', base: 'id' } }, handler), /base parameter/);
      app.get('/api/v1/declared', { config: { permission: 'public' } }, handler);
      app.get('/elsewhere', handler);
      await app.ready();
    } finally {
      await app.close();
    }
  });
});
