// npm run bench -- find --profiles 1000000
// Count + first page (50 rows) for the canonical queries, through the
// product's search service, and the same questions as hand-written SQL on the
// same tables in the same run (the baseline).
import { sql } from 'kysely';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dropFacetIndex, facetsHealth } from '../src/find/facets.ts';
import { countMatching, search, setFacetMode } from '../src/find/find.service.ts';
import type { Query } from '../src/find/filter.ts';
import { dataset } from './dataset.ts';
import { emit, median, percentile } from './emit.ts';

interface Case {
  name: string;
  query: Query;
  /** Hand-written: the count and the first page, as an expert would write them on this schema. */
  baseline: { count: string; page: string; params: unknown[] };
  target: number;
  segment?: boolean;
}

export async function run(args: Record<string, string>) {
  const n = Number(args.profiles ?? 100_000);
  const runs = Number(args.runs ?? 15);
  const ds = await dataset(n);
  const { db, baseId } = ds;
  const vip = ds.tagIds['VIP']!;
  const novice = ds.tagIds['Новичок']!;
  const month = new Date().getUTCMonth() + 1;
  const phones = (await sql<{ phone: string }>`SELECT phone FROM profiles WHERE base_id = ${baseId} AND phone IS NOT NULL ORDER BY id LIMIT 1000 OFFSET 5000`.execute(db)).rows.map(
    (r) => r.phone,
  );
  const pasted = phones.map((p, i) => (i % 3 === 0 ? `8 (${p.slice(2, 5)}) ${p.slice(5, 8)}-${p.slice(8, 10)}-${p.slice(10)}` : p)).join('\n');
  const q1 = {
    and: [
      { field: 'city', op: 'eq', value: 'Москва' },
      { field: 'birthDate', op: 'birthdayThisMonth' },
      { field: 'email', op: 'isNotEmpty' },
    ],
  };
  const seg = await db
    .insertInto('segments')
    .values({ base_id: baseId, name: `bench ${Date.now()}`, kind: 'dynamic', query: JSON.stringify({ filter: q1 }) })
    .returning('id')
    .executeTakeFirstOrThrow();
  // quick search on this schema: the name parts or the identifiers (migration 0004), both trigram-indexed
  const names = (w: string) => `(kt_words(p.last_name, p.first_name, p.middle_name, p.city, p.point_of_sale, p.utm_source, p.utm_medium, p.utm_campaign, p.utm_content, p.utm_term) LIKE '%${w}%' OR p.search LIKE '%${w}%')`;
  const md = `p.birth_md BETWEEN ${month * 100 + 1} AND ${month * 100 + 31}`;
  const cases: Case[] = [
    {
      name: 'q1_city_birthmonth_email',
      query: { filter: q1 },
      baseline: { count: `SELECT count(*) FROM profiles p WHERE p.base_id = $1 AND kt_fold(p.city) = 'москва' AND ${md} AND p.email IS NOT NULL`, page: `SELECT * FROM profiles p WHERE p.base_id = $1 AND kt_fold(p.city) = 'москва' AND ${md} AND p.email IS NOT NULL ORDER BY p.id LIMIT 51`, params: [baseId] },
      target: 50,
    },
    {
      name: 'q2_tags_or_list',
      query: { filter: { or: [{ field: 'tags', op: 'hasAny', value: [vip, novice] }, { field: 'fields.favoriteCategory', op: 'eq', value: 'Обувь' }] } },
      baseline: {
        count: `SELECT count(*) FROM profiles p WHERE p.base_id = $1 AND (p.tags && $2::bigint[] OR p.fields @> '{"favoriteCategory":"Обувь"}')`,
        page: `SELECT * FROM profiles p WHERE p.base_id = $1 AND (p.tags && $2::bigint[] OR p.fields @> '{"favoriteCategory":"Обувь"}') ORDER BY p.id LIMIT 51`,
        params: [baseId, [vip, novice]],
      },
      target: 50,
    },
    {
      name: 'q3_number_and_recent',
      query: { filter: { and: [{ field: 'fields.loyaltyScore', op: 'gt', value: 80 }, { field: 'createdAt', op: 'withinLastDays', value: 90 }] } },
      baseline: {
        count: `SELECT count(*) FROM profiles p WHERE p.base_id = $1 AND (p.fields->>'loyaltyScore')::numeric > 80 AND p.created_at >= current_date - 90`,
        page: `SELECT * FROM profiles p WHERE p.base_id = $1 AND (p.fields->>'loyaltyScore')::numeric > 80 AND p.created_at >= current_date - 90 ORDER BY p.id LIMIT 51`,
        params: [baseId],
      },
      target: 50,
    },
    {
      name: 'q4_search_ivan',
      query: { q: 'иван' },
      baseline: { count: `SELECT count(*) FROM profiles p WHERE p.base_id = $1 AND ${names('иван')}`, page: `SELECT * FROM profiles p WHERE p.base_id = $1 AND ${names('иван')} ORDER BY p.id LIMIT 51`, params: [baseId] },
      target: 30,
    },
    {
      name: 'q5_search_phone_9161',
      query: { q: '9161' },
      baseline: { count: `SELECT count(*) FROM profiles p WHERE p.base_id = $1 AND ${names('9161')}`, page: `SELECT * FROM profiles p WHERE p.base_id = $1 AND ${names('9161')} ORDER BY p.id LIMIT 51`, params: [baseId] },
      target: 30,
    },
    {
      name: 'q6_pasted_1000_phones',
      query: { list: pasted },
      // The product answers which pasted entries were not found; so does the baseline: the found
      // phones give both the total and the not-found list.
      baseline: {
        count: `SELECT count(*) OVER () AS count, p.phone FROM profiles p WHERE p.base_id = $1 AND p.phone = ANY($2::text[])`,
        page: `SELECT * FROM profiles p WHERE p.base_id = $1 AND p.phone = ANY($2::text[]) ORDER BY p.id LIMIT 51`,
        params: [baseId, phones],
      },
      target: 50,
    },
    {
      name: 'q7_segment_count',
      query: { filter: { field: 'segment', op: 'inSegment', value: seg.id } },
      baseline: { count: `SELECT count(*) FROM profiles p WHERE p.base_id = $1 AND kt_fold(p.city) = 'москва' AND ${md} AND p.email IS NOT NULL`, page: '', params: [baseId] },
      target: 50,
      segment: true,
    },
  ];

  // The in-memory count index is built on a base's first slow count (facets: auto). Measure that
  // cold build once, for q1's columns, before the warm runs below.
  {
    dropFacetIndex(baseId);
    setFacetMode('on');
    const rss0 = process.memoryUsage().rss;
    const t = performance.now();
    await countMatching(db, baseId, cases[0]!.query);
    emit({ bench: 'find', case: 'facets_cold_build_q1', metric: 'ms', value: performance.now() - t, unit: 'ms', better: 'lower', profiles: n });
    emit({ bench: 'find', case: 'facets_cold_build_q1', metric: 'rss_growth_mb', value: (process.memoryUsage().rss - rss0) / 1e6, unit: 'MB', better: 'lower', profiles: n });
    setFacetMode('auto');
  }

  // A count storm on a cold index (facets: auto, as served): eight clients counting the filter cases at
  // once while the index builds in the background. Counts go to SQL until it is ready; the event loop
  // must never stall (issue 10: p99 delay under 50 ms). Then the index's memory per 1M profiles.
  {
    dropFacetIndex(baseId);
    const h = monitorEventLoopDelay({ resolution: 5 });
    const storm = cases.filter((c) => c.query.filter && !c.segment);
    h.enable();
    const t = performance.now();
    let counts = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        for (let i = 0; i < 12; i++) {
          await countMatching(db, baseId, storm[(k + i) % storm.length]!.query);
          counts++;
        }
      }),
    );
    h.disable();
    const secs = (performance.now() - t) / 1000;
    emit({ bench: 'find', case: 'count_storm', metric: 'event_loop_delay_p99_ms', value: h.percentile(99) / 1e6, unit: 'ms', target: 50, better: 'lower', profiles: n });
    emit({ bench: 'find', case: 'count_storm', metric: 'event_loop_delay_max_ms', value: h.max / 1e6, unit: 'ms', better: 'lower', profiles: n });
    emit({ bench: 'find', case: 'count_storm', metric: 'counts_per_s', value: counts / secs, unit: 'counts/s', better: 'higher', profiles: n });
    for (let i = 0; i < 100 && facetsHealth().building.length; i++) await new Promise((r) => setTimeout(r, 100));
    for (const c of storm) await countMatching(db, baseId, c.query); // every column the cases use, loaded
    const mb = facetsHealth().memoryMb;
    emit({ bench: 'find', case: 'count_index', metric: 'mb_per_1m_profiles', value: (mb * 1e6) / n, unit: 'MB', better: 'lower', profiles: n });
  }

  /** Counts go to SQL while the index builds what a case needs: measure each case once its columns are in. */
  const settle = async () => {
    for (let i = 0; i < 600 && facetsHealth().building.length; i++) await new Promise((r) => setTimeout(r, 100));
  };
  for (const c of cases) {
    const ours: number[] = [];
    const base: number[] = [];
    let total = -1;
    let baseTotal = -2;
    if (c.segment) await countMatching(db, baseId, c.query);
    else await search(db, baseId, { ...c.query, limit: 50, withTotal: true });
    await settle();
    for (let i = 0; i < runs + 2; i++) {
      // product path: count + first page, as the clients table asks for them
      let t = performance.now();
      if (c.segment) total = (await countMatching(db, baseId, c.query)).count;
      else total = (await search(db, baseId, { ...c.query, limit: 50, withTotal: true })).total!;
      const mine = performance.now() - t;
      // hand-written: the same two statements, run concurrently like the product does
      t = performance.now();
      const [cnt] = await Promise.all([
        ds.pool.query(c.baseline.count, c.baseline.params),
        c.baseline.page ? ds.pool.query(c.baseline.page, c.baseline.params) : Promise.resolve(undefined),
      ]);
      const theirs = performance.now() - t;
      baseTotal = Number(cnt.rows[0].count);
      if (i >= 2) {
        ours.push(mine);
        base.push(theirs);
      }
    }
    if (total !== baseTotal) throw new Error(`${c.name}: product counted ${total}, hand-written SQL ${baseTotal}`);
    const b50 = median(base);
    emit({ bench: 'find', case: c.name, metric: 'p50_ms', value: median(ours), unit: 'ms', baseline: b50, target: c.target, better: 'lower', profiles: n });
    emit({ bench: 'find', case: c.name, metric: 'p95_ms', value: percentile(ours, 95), unit: 'ms', baseline: percentile(base, 95), better: 'lower', profiles: n });
    emit({ bench: 'find', case: c.name, metric: 'count', value: total, unit: 'rows', better: 'higher', profiles: n });
  }
  emit({ bench: 'find', case: 'process', metric: 'rss_mb', value: process.memoryUsage().rss / 1e6, unit: 'MB', better: 'lower', profiles: n });
  await db.deleteFrom('segments').where('id', '=', seg.id).execute();
  await ds.close();
}
