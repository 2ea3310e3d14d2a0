// The test command: one PostgreSQL server for the whole run (embedded in a
// temp folder, or the server DATABASE_URL names), a migrated template database,
// and node's test runner over every *.test.ts; each test file clones the
// template into a fresh database of its own.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDatabaseSql } from '../src/db/database.ts';
import { createPool } from '../src/db/db.ts';
import { startEmbedded } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';

const args = process.argv.slice(2);
const patterns = args.length ? args : ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/src/**/*.test.ts'];

let adminUrl: string;
let stop = async () => {};
let tmp: string | undefined;
if (process.env.DATABASE_URL) {
  const u = new URL(process.env.DATABASE_URL);
  u.pathname = '/postgres';
  adminUrl = u.toString();
  console.log(`Tests on the external PostgreSQL at ${u.host}`);
} else {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kartoteka-test-'));
  fs.chmodSync(tmp, 0o755);
  const server = await startEmbedded({ dataDir: tmp, settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
  adminUrl = server.adminUrl;
  stop = server.stop;
  console.log(`Tests on embedded PostgreSQL (port ${server.port})`);
}

const template = `kt_tpl_${process.pid}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${template}`);
await admin.query(process.env.DATABASE_URL ? `CREATE DATABASE ${template}` : createDatabaseSql(template));
const version = (await admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
console.log(`PostgreSQL ${version}`);
{
  const u = new URL(adminUrl);
  u.pathname = `/${template}`;
  const pool = createPool(u.toString(), 1);
  await migrate(pool);
  await pool.end();
}

const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', ...patterns],
  {
    stdio: 'inherit',
    env: { ...process.env, KARTOTEKA_TEST_ADMIN_URL: adminUrl, KARTOTEKA_TEST_TEMPLATE: template, KARTOTEKA_TEST_PG_VERSION: version, DATABASE_URL: '' },
  },
);
const code: number = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));

// Drop what the run created (test files drop their own on success; this sweeps the rest).
const leftovers = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2`, [`kt_t_${process.pid}_%`, template]);
for (const { datname } of leftovers.rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
await admin.end();
await stop();
if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
process.exit(code);
