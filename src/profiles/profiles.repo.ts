import { sql } from 'kysely';
import type { Conn, Db } from '../db/db.ts';
import type { ProfileRow } from '../db/schema.ts';

export async function getProfile(db: Conn, baseId: number, id: number, opts: { forUpdate?: boolean } = {}): Promise<ProfileRow | undefined> {
  let q = db.selectFrom('profiles').selectAll().where('base_id', '=', baseId).where('id', '=', id);
  if (opts.forUpdate) q = q.forUpdate();
  return q.executeTakeFirst();
}

export async function deleteProfile(db: Conn, baseId: number, id: number): Promise<boolean> {
  const r = await db.deleteFrom('profiles').where('base_id', '=', baseId).where('id', '=', id).executeTakeFirst();
  return r.numDeletedRows > 0n;
}

export async function findBy(db: Conn, baseId: number, column: 'phone' | 'card_number' | 'email', value: string): Promise<ProfileRow[]> {
  return db.selectFrom('profiles').selectAll().where('base_id', '=', baseId).where(column, '=', value).orderBy('id').limit(100).execute();
}

export async function cardTaken(db: Conn, baseId: number, card: string): Promise<boolean> {
  return !!(await db.selectFrom('profiles').select('id').where('base_id', '=', baseId).where('card_number', '=', card).executeTakeFirst());
}

export async function listPage(db: Conn, baseId: number, after: number, limit: number): Promise<ProfileRow[]> {
  return db.selectFrom('profiles').selectAll().where('base_id', '=', baseId).where('id', '>', after).orderBy('id').limit(limit).execute();
}

export async function listEvents(db: Conn, baseId: number, profileId: number, limit = 200) {
  return db
    .selectFrom('profile_events')
    .select(['id', 'at', 'actor', 'action', 'changes', 'source'])
    .where('base_id', '=', baseId)
    .where('profile_id', '=', profileId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

export async function countProfiles(db: Conn, baseId: number): Promise<number> {
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM profiles WHERE base_id = ${baseId}`.execute(db);
  return r.rows[0]?.n ?? 0;
}

// name: refresh-base-statistics
// A base that grew from empty (or doubled) since PostgreSQL last analyzed its partition is analyzed
// now. Without statistics the planner estimates `base_id = N` at a default 0.5% of the partition, a
// handful of rows, and joins against the base become per-row rescans of it (an import into a second
// base took 150 times as long as into the first). Growth is read from the partition's size on disk,
// which is current at once; pg_stat counters lag behind. Cheap when nothing grew (one catalog read).
export async function refreshStatistics(db: Conn, baseId: number): Promise<boolean> {
  const part = `profiles_b${Math.trunc(baseId)}`;
  const r = await sql<{ grown: boolean }>`
    SELECT pg_relation_size(c.oid) / current_setting('block_size')::bigint > 2 * greatest(c.relpages, 0) + 8 AS grown
    FROM pg_class c WHERE c.oid = to_regclass(${part})`.execute(db);
  if (!r.rows[0]?.grown) return false;
  await analyzeBase(db, baseId);
  return true;
}

/** Fresh column statistics of a base's partition (a bulk-loaded one has none until analyzed). */
export async function analyzeBase(db: Conn, baseId: number): Promise<void> {
  await sql`ANALYZE ${sql.table(`profiles_b${Math.trunc(baseId)}`)}`.execute(db);
}

// ---------------------------------------------------------------------------
// a base's partition, loaded in bulk (migration 0008)
// ---------------------------------------------------------------------------

const partition = (baseId: number) => `profiles_b${Math.trunc(baseId)}`;
/** The bare table a bulk load fills before it becomes the base's partition. */
export const loadTable = (baseId: number) => `profiles_l${Math.trunc(baseId)}`;

/** Above this many rows (by the planner's statistics) a base's client count is the estimate, not a count(*). */
export const EXACT_COUNT_UNDER = 100_000;

/**
 * name: client-counts
 * Clients per base for the bases list: exact for a base under EXACT_COUNT_UNDER rows, else the partition's
 * row estimate (kept by ANALYZE/autovacuum; a million-row count(*) per base would make the list slow).
 */
export async function clientCounts(db: Conn): Promise<Map<number, { count: number; exact: boolean }>> {
  const r = await sql<{ id: number; n: number; exact: boolean }>`
    SELECT b.id,
      CASE WHEN coalesce(c.reltuples, -1) >= ${EXACT_COUNT_UNDER} THEN c.reltuples::bigint
           ELSE (SELECT count(*) FROM profiles p WHERE p.base_id = b.id) END AS n,
      coalesce(c.reltuples, -1) < ${EXACT_COUNT_UNDER} AS exact
    FROM bases b LEFT JOIN pg_class c ON c.oid = to_regclass('profiles_b' || b.id)`.execute(db);
  return new Map(r.rows.map((x) => [x.id, { count: Number(x.n), exact: x.exact }]));
}

export async function isEmptyBase(db: Conn, baseId: number): Promise<boolean> {
  const r = await sql<{ x: boolean }>`SELECT NOT EXISTS (SELECT 1 FROM profiles WHERE base_id = ${baseId}) AS x`.execute(db);
  return r.rows[0]!.x;
}

/** A bare table shaped like profiles (no index; its CHECK lets the attach skip a scan); any earlier one is dropped. */
export async function createLoadTable(db: Conn, baseId: number): Promise<void> {
  const t = sql.table(loadTable(baseId));
  await sql`DROP TABLE IF EXISTS ${t}`.execute(db);
  await sql`CREATE TABLE ${t} (LIKE profiles INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING STORAGE)`.execute(db);
  await sql`ALTER TABLE ${t} ADD CONSTRAINT ${sql.ref(`${loadTable(baseId)}_base`)} CHECK (base_id = ${sql.lit(Math.trunc(baseId))})`.execute(db);
}

export async function dropLoadTable(db: Conn, baseId: number): Promise<void> {
  await sql`DROP TABLE IF EXISTS ${sql.table(loadTable(baseId))}`.execute(db);
}

/** The statements that give the load table every index of profiles (named with a suffix of its own until the swap). */
export async function loadIndexStatements(db: Conn, baseId: number): Promise<string[]> {
  const r = await sql<{ stmt: string }>`SELECT kt_profiles_index_defs(${loadTable(baseId)}, ${`l${Math.trunc(baseId)}`}) AS stmt`.execute(db);
  return r.rows.map((x) => x.stmt);
}

/** One of loadIndexStatements, in a transaction of its own with room to sort in memory. */
export async function buildLoadIndex(db: Db, stmt: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`SET LOCAL maintenance_work_mem = '256MB'`.execute(trx);
    await sql.raw(stmt).execute(trx);
  });
}

/**
 * name: attach-loaded
 * The loaded table becomes the base's partition: the empty one is dropped (any profiles written to it
 * meanwhile move over first, so nothing is lost; a clash of identifiers fails the statement), the load
 * table and its indexes take the partition's names, and it is attached. Brief ACCESS EXCLUSIVE locks.
 */
export async function attachLoaded(trx: Conn, baseId: number): Promise<void> {
  const b = Math.trunc(baseId);
  const [part, load] = [partition(b), loadTable(b)];
  await sql`LOCK TABLE ${sql.table(part)} IN ACCESS EXCLUSIVE MODE`.execute(trx);
  // Every stored column but the generated ones, read from the catalog (the table's own definition).
  const cols = await sql<{ name: string }>`SELECT attname AS name FROM pg_attribute
    WHERE attrelid = ${part}::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`.execute(trx);
  const stored = cols.rows.map((c) => sql.ref(c.name));
  await sql`INSERT INTO ${sql.table(load)} (${sql.join(stored)}) SELECT ${sql.join(stored)} FROM ${sql.table(part)}`.execute(trx);
  await sql`DROP TABLE ${sql.table(part)}`.execute(trx);
  await sql`ALTER TABLE ${sql.table(load)} RENAME TO ${sql.table(part)}`.execute(trx);
  const names = await sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ${part}`.execute(trx);
  for (const { name } of names.rows) {
    if (name.endsWith(`_l${b}`)) await sql`ALTER INDEX ${sql.table(name)} RENAME TO ${sql.table(name.slice(0, -`_l${b}`.length) + `_b${b}`)}`.execute(trx);
  }
  await sql`ALTER TABLE profiles ATTACH PARTITION ${sql.table(part)} FOR VALUES IN (${sql.lit(b)})`.execute(trx);
  await sql`ALTER TABLE ${sql.table(part)} DROP CONSTRAINT ${sql.ref(`${load}_base`)}`.execute(trx);
}
