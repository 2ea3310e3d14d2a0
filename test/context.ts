// Test context: a fresh database cloned from the migrated template, the app on
// top of it, and small factories. One per test file (see scripts/test.ts).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { insertUser } from '../src/auth/auth.repo.ts';
import { hashPassword, login, SESSION_COOKIE } from '../src/auth/auth.service.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { createDb, createPool, type Db } from '../src/db/db.ts';
import type { Api } from '../src/http/types.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

let counter = 0;

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run tests with npm test (scripts/test.ts), which provides the database`);
  return v;
}

export interface TestContext {
  db: Db;
  pool: pg.Pool;
  app: Api;
  config: Config;
  url: string;
  /** HTTP call through app.inject as the admin token; returns status and parsed JSON body. */
  api<T = any>(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T; headers: Record<string, unknown> }>;
  newBase(overrides?: Record<string, unknown>): Promise<{ id: number; name: string }>;
  newProfile(baseId: number, body: Record<string, unknown>): Promise<any>;
  /** A new user row with a session; its `api` calls with that session cookie instead of the admin token. */
  signedInUser(login: string): Promise<{ id: number; api: TestContext['api'] }>;
}

/** Creates a fresh database for this test file; dropped when the file's tests end. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = env('KARTOTEKA_TEST_ADMIN_URL');
  const template = env('KARTOTEKA_TEST_TEMPLATE');
  const runPid = template.split('_').pop();
  const name = `kt_t_${runPid}_${process.pid}_${++counter}_${crypto.randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
      break;
    } catch (e) {
      // Two files cloning the template at the same instant: wait and retry.
      if (attempt > 20 || !/being accessed/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Every error the API returns is problem+json with its status, and no stack trace or SQL in it. */
export function assertCleanProblem(what: string, status: number, contentType: unknown, body: any): void {
  assert.equal(contentType, 'application/problem+json; charset=utf-8', `${what}: ${status} is not problem+json`);
  assert.equal(body?.status, status, `${what}: problem status`);
  assert.ok(!('stack' in body), `${what}: the error body has a stack`);
  const text = JSON.stringify(body);
  assert.doesNotMatch(text, /\bat [^ ]+ \(|\.ts:\d+/, `${what}: a stack frame leaked: ${text}`);
  assert.doesNotMatch(text, /\b(SELECT|INSERT|UPDATE|DELETE FROM|duplicate key|violates)\b/, `${what}: SQL leaked: ${text}`);
}

export async function testContext(configOverrides: Record<string, string> = {}): Promise<TestContext> {
  const { url, drop } = await createTestDatabase();
  const pool = createPool(url, 5);
  const db = createDb(pool);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-test-data-'));
  const config = loadConfig({ KARTOTEKA_ADMIN_TOKEN: ADMIN_TOKEN, KARTOTEKA_LOG_LEVEL: 'silent', DATABASE_URL: url, KARTOTEKA_DATA_DIR: dataDir, ...configOverrides });
  const version = (await pool.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
  const app = await buildApp({ db, config, engine: 'external', version });
  after(async () => {
    await app.close();
    await db.destroy();
    await drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  /** Calls through app.inject with the given credentials; every error must be a clean problem+json. */
  const caller = (auth: Record<string, string>): TestContext['api'] => async (method, path, body, headers = {}) => {
    const res = await app.inject({
      method: method as 'GET',
      url: path,
      headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    let parsed: any = res.body;
    try {
      parsed = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      // not JSON
    }
    if (res.statusCode >= 400) assertCleanProblem(`${method} ${path}`, res.statusCode, res.headers['content-type'], parsed);
    return { status: res.statusCode, body: parsed, headers: res.headers };
  };
  const api = caller({ authorization: `Bearer ${ADMIN_TOKEN}` });
  let bases = 0;
  return {
    db,
    pool,
    app,
    config,
    url,
    api,
    async newBase(overrides = {}) {
      const r = await api('POST', '/api/v1/bases', { name: `База ${++bases} ${crypto.randomBytes(2).toString('hex')}`, emailsConsented: true, ...overrides });
      if (r.status !== 201) throw new Error(`newBase: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async signedInUser(name) {
      const password = 'long-enough-password';
      const u = await insertUser(db, { login: name, name, passwordHash: await hashPassword(password), mustChangePassword: false });
      assert.ok(u, `user ${name} exists already`);
      const { token } = await login(db, name, password);
      return { id: Number(u.id), api: caller({ cookie: `${SESSION_COOKIE}=${token}` }) };
    },
    async newProfile(baseId, body) {
      const r = await api('POST', `/api/v1/bases/${baseId}/profiles`, body);
      if (r.status !== 201 && r.status !== 200) throw new Error(`newProfile: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
  };
}
