// The standard field list (standard.ts) is the one place the standard fields are named: it must say
// exactly what the profiles table stores, and everything derived from it must cover it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../test/context.ts';
import { ProfileOut } from '../profiles/profiles.schema.ts';
import { WRITE_COLUMNS } from '../profiles/profiles.write.ts';
import { STANDARD_FIELDS } from './standard.ts';

const ctx = await testContext();

describe('the standard field list', () => {
  it('names every column of profiles a user sees, and no other', async () => {
    const r = await ctx.pool.query(
      `SELECT attname FROM pg_attribute WHERE attrelid = 'profiles'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
    );
    // Bookkeeping columns, not fields: the row's identity, its base, custom values, tags, the last writer.
    const system = new Set(['base_id', 'id', 'fields', 'tags', 'writer']);
    const stored = r.rows.map((x) => x.attname as string).filter((c) => !system.has(c)).sort();
    assert.deepEqual(STANDARD_FIELDS.map((f) => f.column).sort(), stored);
  });

  it('is what the API documents a profile to be (its hand-written schema), and what the writer may set', () => {
    const documented = Object.keys(ProfileOut.shape).filter((k) => !['id', 'baseId', 'fields', 'tags'].includes(k)).sort();
    assert.deepEqual(STANDARD_FIELDS.map((f) => f.key).sort(), documented);
    // The writer sets every field but the kind (identity rules) and the system's times.
    assert.deepEqual([...WRITE_COLUMNS].sort(), STANDARD_FIELDS.map((f) => f.column).filter((c) => !['kind', 'created_at', 'updated_at'].includes(c)).sort());
  });

  it('each profile the API returns carries every standard field by its key', async () => {
    const b = await ctx.newBase();
    const p = await ctx.newProfile(b.id, { phone: '+79160000001', city: 'Казань' });
    for (const f of STANDARD_FIELDS) assert.ok(f.key in p, f.key);
    assert.equal(p.city, 'Казань');
    assert.match(p.createdAt, /^\d{4}-\d\d-\d\dT/);
  });
});
