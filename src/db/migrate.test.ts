import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createTestDatabase } from '../../test/context.ts';
import { createPool } from './db.ts';
import { migrate } from './migrate.ts';

const { url, drop } = await createTestDatabase();
const pool = createPool(url, 2);
after(async () => {
  await pool.end();
  await drop();
});

function dirWith(files: Record<string, string>): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-mig-'));
  for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(d, name), sql);
  return d;
}

describe('migrations', () => {
  it('the template is fully migrated and a second run applies nothing', async () => {
    const r = await migrate(pool);
    assert.deepEqual(r.applied, []);
    const t = await pool.query(`SELECT to_regclass('profiles') AS p, (SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm')::int AS trgm`);
    assert.equal(t.rows[0].p, 'profiles');
    assert.equal(t.rows[0].trgm, 1);
  });

  it('a failing migration leaves the schema exactly as it was', async () => {
    const dir = dirWith({
      '001_ok.sql': 'CREATE TABLE mig_ok (id int);',
      '002_bad.sql': 'CREATE TABLE mig_half (id int); ALTER TABLE mig_missing ADD COLUMN x int;',
    });
    await assert.rejects(migrate(pool, dir), /Migration 002_bad.sql failed and was rolled back/);
    const r = await pool.query(`SELECT to_regclass('mig_ok') AS ok, to_regclass('mig_half') AS half`);
    assert.equal(r.rows[0].ok, 'mig_ok', 'the good migration before it stays applied');
    assert.equal(r.rows[0].half, null, 'nothing of the failed one remains');
    const done = await pool.query(`SELECT name FROM schema_migrations WHERE name IN ('001_ok.sql', '002_bad.sql')`);
    assert.deepEqual(done.rows.map((x) => x.name), ['001_ok.sql']);
  });

  it('refuses a migration that was edited after it was applied', async () => {
    const dir = dirWith({ '001_ok.sql': 'CREATE TABLE mig_ok (id int, changed int);' });
    await assert.rejects(migrate(pool, dir), /was changed after it was applied/);
  });
});
