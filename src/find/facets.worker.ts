// Builds a base's count index off the main thread (issue 10: no event-loop stall over 50 ms). Reading a
// million rows is mostly parsing them and collecting the garbage: here both happen on this thread's own
// heap, and the finished arrays are moved to the main thread without copying. One build at a time.
import { parentPort } from 'node:worker_threads';
import pg from 'pg';
import '../db/db.ts'; // the same type parsers as the main thread (int8 as numbers, dates as text)
import { packStore, Store, type ColumnPlan } from './facets.store.ts';

export interface BuildRequest {
  id: number;
  url: string;
  baseId: number;
  /** The select list (`p.id` first), compiled with its parameters $1..$k. */
  list: { sql: string; parameters: readonly unknown[] };
  plan: ColumnPlan[];
  page: number;
}

export type BuildReply =
  | { id: number; ok: true; snapshot: string; xmin: string; packed: ReturnType<typeof packStore>['packed'] }
  | { id: number; ok: false; message: string };

async function build(req: BuildRequest): Promise<{ store: Store; snapshot: string; xmin: string }> {
  // The server's session settings (see createPool): UTC, no parallel plans.
  // Bounded waits: a build that hangs would hold every base's builds queued behind it (one worker).
  const client = new pg.Client({
    connectionString: req.url,
    application_name: 'kartoteka count index',
    connectionTimeoutMillis: 30_000,
    options: '-c TimeZone=UTC -c max_parallel_workers_per_gather=0 -c statement_timeout=300000',
  });
  // A dropped connection fails the query in progress (this build), not the worker.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = (await client.query<{ s: string; x: string }>('SELECT pg_current_snapshot()::text AS s, pg_snapshot_xmin(pg_current_snapshot())::text AS x')).rows[0]!;
    const total = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM profiles WHERE base_id = $1', [req.baseId])).rows[0]!.n;
    const store = new Store();
    for (const c of req.plan) store.addColumn(c.key, c.kind);
    store.reserve(total);
    const k = req.list.parameters.length;
    const text = `SELECT ${req.list.sql} FROM profiles p WHERE p.base_id = $${k + 1} AND p.id > $${k + 2} ORDER BY p.id LIMIT ${req.page}`;
    for (let after = 0; ; ) {
      const page = await client.query<Record<string, unknown>>(text, [...req.list.parameters, req.baseId, after]);
      if (!page.rows.length) break;
      await store.apply(page.rows, req.plan);
      after = Number(page.rows[page.rows.length - 1]!.id);
    }
    await client.query('COMMIT');
    return { store, snapshot: snap.s, xmin: snap.x };
  } finally {
    await client.end().catch(() => undefined);
  }
}

parentPort!.on('message', (req: BuildRequest) => {
  build(req).then(
    ({ store, snapshot, xmin }) => {
      const { packed, transfer } = packStore(store);
      parentPort!.postMessage({ id: req.id, ok: true, snapshot, xmin, packed } satisfies BuildReply, transfer);
    },
    (e: unknown) => parentPort!.postMessage({ id: req.id, ok: false, message: e instanceof Error ? e.message : String(e) } satisfies BuildReply),
  );
});
