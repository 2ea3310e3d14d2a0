// The in-memory count index stays exact while the base changes: every count it
// gives equals what SQL counts at that moment, through creates, edits, merges,
// mass actions, deletes, field changes and transactions still in flight.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { testContext } from '../../test/context.ts';
import { compileQuery, type Query } from './filter.ts';
import { createDb, createPool } from '../db/db.ts';
import { configureFacets, dropFacetIndex, FacetIndex, facetIndex, facetsHealth } from './facets.ts';
import { compileContext, countSql } from './find.service.ts';

const ctx = await testContext({ KARTOTEKA_FACETS: 'on' });

async function both(baseId: number, query: Query): Promise<{ facets: number; sql: number }> {
  const c = await compileContext(ctx.db, baseId);
  const facets = await facetIndex(baseId).count(ctx.db, query, c);
  const compiled = await compileQuery(query, c);
  const n = Number((await countSql(baseId, compiled.sql).execute(ctx.db)).rows[0]!.n);
  assert.notEqual(facets, undefined, `the index should answer ${JSON.stringify(query)}`);
  return { facets: facets!, sql: n };
}

async function agree(baseId: number, query: Query, expected?: number) {
  const r = await both(baseId, query);
  assert.equal(r.facets, r.sql, `facets vs SQL for ${JSON.stringify(query)}`);
  if (expected !== undefined) assert.equal(r.sql, expected, JSON.stringify(query));
  // and the API's total agrees
  const api = await ctx.api('POST', `/api/v1/bases/${baseId}/profiles/count`, query);
  assert.equal(api.body.count, r.sql);
}

let seq = 0;
const phone = () => `+7926${String(1_000_000 + ++seq).padStart(7, '0')}`;

describe('facet index', () => {
  it('follows creates, edits, tag changes, deletes and mass actions', async () => {
    const b = await ctx.newBase();
    await ctx.api('POST', `/api/v1/bases/${b.id}/fields`, { key: 'score', type: 'int', label: { ru: 'Оценка' } });
    const vip = (await ctx.api('POST', `/api/v1/bases/${b.id}/tags`, { name: 'VIP' })).body.id;
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) ids.push((await ctx.newProfile(b.id, { phone: phone(), city: i % 2 ? 'Москва' : 'Тула', fields: { score: i } })).id);
    const moscow = { filter: { field: 'city', op: 'eq', value: 'москва' } };
    const high = { filter: { field: 'fields.score', op: 'gte', value: 6 } };
    const tagged = { filter: { field: 'tags', op: 'hasAny', value: [vip] } };
    const recent = { filter: { field: 'updatedAt', op: 'withinLastDays', value: 1 } };
    await agree(b.id, moscow, 6);
    await agree(b.id, high, 6);
    await agree(b.id, tagged, 0);
    await agree(b.id, recent, 12);
    // edits
    await ctx.api('PATCH', `/api/v1/bases/${b.id}/profiles/${ids[0]}`, { city: 'Москва', fields: { score: 100 } });
    await agree(b.id, moscow, 7);
    await agree(b.id, high, 7);
    // tags on one profile and through a mass action
    await ctx.api('POST', `/api/v1/bases/${b.id}/profiles/${ids[1]}/tags`, { add: [vip] });
    await agree(b.id, tagged, 1);
    await ctx.api('POST', `/api/v1/bases/${b.id}/profiles/bulk`, { target: { query: moscow }, action: { type: 'addTags', tagIds: [vip] } });
    await agree(b.id, tagged, 7);
    // deletes, one and many
    await ctx.api('DELETE', `/api/v1/bases/${b.id}/profiles/${ids[1]}`);
    await agree(b.id, tagged, 6);
    await agree(b.id, moscow, 6);
    await ctx.api('POST', `/api/v1/bases/${b.id}/profiles/bulk`, {
      target: { query: { filter: { field: 'city', op: 'eq', value: 'Тула' } } },
      action: { type: 'delete', confirm: 'DELETE', expectedCount: 5 },
    });
    await agree(b.id, { filter: { field: 'city', op: 'isNotEmpty' } }, 6);
    // a custom field deleted: its values leave every profile
    await ctx.api('DELETE', `/api/v1/bases/${b.id}/fields/score`);
    await agree(b.id, { filter: { not: { field: 'city', op: 'eq', value: 'Тула' } } }, 6);
  });

  it('does not count a transaction still in flight, and counts it once committed', async () => {
    const b = await ctx.newBase();
    await ctx.newProfile(b.id, { phone: phone(), city: 'Омск' });
    const omsk = { filter: { field: 'city', op: 'eq', value: 'Омск' } };
    await agree(b.id, omsk, 1);
    // A writer that has started (and holds an xid) but not committed when the index refreshes.
    const client = await ctx.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO profiles (base_id, kind, phone, city) VALUES ($1, 'member', $2, 'Омск')`, [b.id, phone()]);
      await agree(b.id, omsk, 1);
      // meanwhile another writer commits
      await ctx.newProfile(b.id, { phone: phone(), city: 'Омск' });
      await agree(b.id, omsk, 2);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await agree(b.id, omsk, 3);
  });

  it('pages in id order from the index, stable while profiles are added, both directions', async () => {
    const b = await ctx.newBase();
    const tula = { filter: { field: 'city', op: 'eq', value: 'Тула' } };
    const before: number[] = [];
    for (let i = 0; i < 10; i++) {
      const p = await ctx.newProfile(b.id, { phone: phone(), city: i % 3 ? 'Тула' : 'Омск' });
      if (i % 3) before.push(p.id);
    }
    for (const dir of ['asc', 'desc'] as const) {
      const seen: number[] = [];
      let cursor: string | undefined;
      for (let guard = 0; guard < 10; guard++) {
        const r = await ctx.api('POST', `/api/v1/bases/${b.id}/profiles/search`, { ...tula, limit: 2, withTotal: true, sort: [{ field: 'id', dir }], ...(cursor ? { cursor } : {}) });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        seen.push(...r.body.items.map((x: { id: number }) => x.id));
        // a new matching profile arrives between pages
        await ctx.newProfile(b.id, { phone: phone(), city: 'Тула' });
        if (!r.body.nextCursor) break;
        cursor = r.body.nextCursor;
      }
      assert.equal(new Set(seen).size, seen.length, 'no duplicates');
      for (const id of before) assert.ok(seen.includes(id), `pre-existing ${id} not skipped (${dir})`);
      const sorted = [...seen].sort((x, y) => (dir === 'asc' ? x - y : y - x));
      assert.deepEqual(seen, sorted);
    }
  });

  it('stays exact through random writes (property)', async () => {
    const b = await ctx.newBase();
    const cities = ['Москва', 'Тула', 'Омск', null];
    const queries: Query[] = [
      { filter: { field: 'city', op: 'eq', value: 'Москва' } },
      { filter: { field: 'city', op: 'isEmpty' } },
      { filter: { or: [{ field: 'city', op: 'in', value: ['Тула', 'Омск'] }, { field: 'createdAt', op: 'withinLastDays', value: 0 }] } },
      { filter: { not: { field: 'firstName', op: 'startsWith', value: 'ан' } } },
    ];
    const live: number[] = [];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('create' as const), city: fc.constantFrom(...cities), name: fc.constantFrom('Анна', 'Иван', null) }),
      fc.record({ kind: fc.constant('edit' as const), pick: fc.nat(), city: fc.constantFrom(...cities) }),
      fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('count' as const), q: fc.nat({ max: queries.length - 1 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), async (ops) => {
        for (const o of ops) {
          if (o.kind === 'create') live.push((await ctx.newProfile(b.id, { phone: phone(), city: o.city, firstName: o.name })).id);
          else if (o.kind === 'edit' && live.length) await ctx.api('PATCH', `/api/v1/bases/${b.id}/profiles/${live[o.pick % live.length]}`, { city: o.city });
          else if (o.kind === 'delete' && live.length) await ctx.api('DELETE', `/api/v1/bases/${b.id}/profiles/${live.splice(o.pick % live.length, 1)[0]}`);
          else if (o.kind === 'count') {
            const r = await both(b.id, queries[o.q]!);
            assert.equal(r.facets, r.sql);
          }
        }
        for (const q of queries) {
          const r = await both(b.id, q);
          assert.equal(r.facets, r.sql);
        }
      }),
      { numRuns: 15 },
    );
    const total = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM profiles WHERE base_id = ${b.id}`.execute(ctx.db)).rows[0]!.n;
    assert.equal(total, live.length);
  });
});

describe('facet index upkeep (issue 10)', () => {
  const tula = { filter: { field: 'city', op: 'eq', value: 'Тула' } };
  const base = async (n: number) => {
    const b = await ctx.newBase();
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push((await ctx.newProfile(b.id, { phone: phone(), city: i % 2 ? 'Тула' : 'Омск' })).id);
    return { b, ids, c: await compileContext(ctx.db, b.id) };
  };
  const settled = async (ix: FacetIndex) => {
    for (let i = 0; i < 200 && ix.building; i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('a count never waits for a build: SQL answers while it runs; a failed build is logged and shown in /health', async () => {
    const { b, c } = await base(6);
    dropFacetIndex(b.id);
    const ix = facetIndex(b.id);
    assert.equal(await ix.count(ctx.db, tula, c, { wait: false }), undefined, 'not built yet: the caller asks SQL');
    assert.equal(ix.building, true);
    assert.equal(facetsHealth().building.includes(b.id), true, 'what /health lists as building');
    await settled(ix);
    assert.equal(await ix.count(ctx.db, tula, c, { wait: false }), 3);

    dropFacetIndex(b.id);
    const logged: string[] = [];
    configureFacets({ log: (m) => logged.push(m) });
    const nowhere = createDb(createPool('postgres://nobody@127.0.0.1:1/none', 1));
    try {
      const broken = facetIndex(b.id);
      assert.equal(await broken.count(nowhere, tula, c, { wait: false }), undefined);
      await settled(broken);
      const health = (await ctx.api('GET', '/api/v1/health')).body;
      assert.equal(health.status, 'ok');
      const failed = health.countIndex.failed.find((f: { baseId: number }) => f.baseId === b.id);
      assert.ok(failed && failed.message.length > 0, JSON.stringify(health.countIndex));
      assert.ok(logged.some((m) => m.includes(`base ${b.id}: build failed`)), logged.join('; '));
      // the API still counts (through SQL)
      assert.equal((await ctx.api('POST', `/api/v1/bases/${b.id}/profiles/count`, tula)).body.count, 3);
    } finally {
      configureFacets({ log: (m, e) => console.error(m, e) });
      dropFacetIndex(b.id);
      await nowhere.destroy();
    }
  });

  it('tombstones are pruned once applied; an index elsewhere older than that rebuilds and stays exact', async () => {
    const { b, ids, c } = await base(10);
    const elsewhere = new FacetIndex(b.id); // as another process's index would be
    assert.equal(await elsewhere.count(ctx.db, tula, c), 5);
    for (const id of [ids[1], ids[3]]) assert.equal((await ctx.api('DELETE', `/api/v1/bases/${b.id}/profiles/${id}`)).status, 204);
    const tombstones = async () => (await ctx.pool.query(`SELECT count(*)::int AS n FROM profile_tombstones WHERE base_id = $1`, [b.id])).rows[0].n;
    assert.equal(await tombstones(), 2);
    configureFacets({ pruneEveryMs: 0 });
    try {
      dropFacetIndex(b.id);
      const ix = facetIndex(b.id);
      assert.equal(await ix.count(ctx.db, tula, c), 3);
      await ix.pruning;
      assert.equal(await tombstones(), 0, 'applied tombstones are gone');
      assert.equal(await elsewhere.count(ctx.db, tula, c), 3, 'the older index did not miss the deletions');
    } finally {
      configureFacets({ pruneEveryMs: 60_000 });
    }
  });

  it('an index with many deleted slots is replaced by a fresh one', async () => {
    const { b, ids, c } = await base(8);
    configureFacets({ rebuildMinDead: 0 });
    try {
      dropFacetIndex(b.id);
      const ix = facetIndex(b.id);
      assert.equal(await ix.count(ctx.db, tula, c), 4);
      for (const id of ids.slice(0, 4)) await ctx.api('DELETE', `/api/v1/bases/${b.id}/profiles/${id}`);
      assert.equal(await ix.count(ctx.db, tula, c), 2);
      assert.notEqual(facetIndex(b.id), ix, 'half its slots dead: retired');
      assert.equal(await facetIndex(b.id).count(ctx.db, tula, c), 2);
      assert.equal(facetIndex(b.id).dead, 0);
    } finally {
      configureFacets({ rebuildMinDead: 50_000 });
    }
  });

  it('more rows changed since the last count than a page: rebuilt in the worker (not parsed on the main thread), still exact', async () => {
    const { b, ids, c } = await base(6);
    dropFacetIndex(b.id);
    const ix = facetIndex(b.id);
    assert.equal(await ix.count(ctx.db, tula, c), 3);
    const built = ix.builtAt;
    configureFacets({ pageRows: 4 });
    try {
      await new Promise((r) => setTimeout(r, 5));
      // 3 rows changed (two of them from Омск): caught up in place
      for (const id of ids.slice(0, 3)) await ctx.api('PATCH', `/api/v1/bases/${b.id}/profiles/${id}`, { city: 'Тула' });
      assert.equal(await ix.count(ctx.db, tula, c), 5);
      assert.equal(ix.builtAt, built, 'a few changes are applied in place');
      // 5 more (over the page of 4): a rebuild
      for (let i = 0; i < 5; i++) await ctx.newProfile(b.id, { phone: phone(), city: 'Тула' });
      assert.equal(await ix.count(ctx.db, tula, c, { wait: false }), undefined, 'SQL answers while it rebuilds');
      await settled(ix);
      assert.equal(await ix.count(ctx.db, tula, c), 10);
      assert.ok(ix.builtAt > built, 'rebuilt');
    } finally {
      configureFacets({ pageRows: 10_000 });
    }
  });

  it('all bases\' indexes stay within the budget: the least recently counted base\'s goes first', async () => {
    const one = await base(6);
    const two = await base(6);
    dropFacetIndex(one.b.id);
    dropFacetIndex(two.b.id);
    const first = facetIndex(one.b.id);
    assert.equal(await first.count(ctx.db, tula, one.c), 3);
    configureFacets({ budgetBytes: Math.round(first.bytes() * 1.5) });
    try {
      const second = facetIndex(two.b.id);
      assert.equal(await second.count(ctx.db, tula, two.c), 3);
      assert.notEqual(facetIndex(one.b.id), first, 'the least recently counted index was evicted');
      assert.equal(facetIndex(two.b.id), second, 'the one just counted stays');
      assert.equal((await ctx.api('POST', `/api/v1/bases/${one.b.id}/profiles/count`, tula)).body.count, 3, 'the evicted base still counts');
    } finally {
      configureFacets({ budgetBytes: 512 * 1048576 });
    }
  });
});
