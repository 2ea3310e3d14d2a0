// Import, the write side: one batch of prepared rows is staged in a temporary table
// and applied with a handful of set-based statements, in rounds. A round takes, of
// the rows still pending, those that share no phone, card, subscriber email or
// matched profile with an earlier pending row; so repeated rows of one batch are
// applied one after another (the second sees what the first wrote), while every
// statement stays set-based. The caller owns the transaction.
import { sql, type RawBuilder } from 'kysely';
import type { Conn } from '../db/db.ts';
import type { MessageKey, MessageParams } from '../http/errors.ts';
import { refreshStatistics } from '../profiles/profiles.repo.ts';

/** Standard columns a file can write (kind is derived, system columns are not targets). */
export const STAGE_COLUMNS = [
  'last_name', 'first_name', 'middle_name', 'phone', 'email', 'card_number', 'birth_date', 'gender', 'city', 'car_number',
  'extra_key_1', 'extra_key_2', 'extra_key_3', 'extra_key_4', 'extra_key_5', 'extra_key_6',
  'reg_source', 'point_of_sale', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term', 'referral_id',
] as const;
export type StageColumn = (typeof STAGE_COLUMNS)[number];

/** Registration source and point of sale are set once (seed 002): an import only fills them. */
const SET_ONCE: ReadonlySet<StageColumn> = new Set(['reg_source', 'point_of_sale']);

export type Policy = 'overwrite' | 'fill' | 'skip';
export type Mode = 'create' | 'update' | 'upsert';

/** One file row ready to apply: normalized values; custom values split by their field's policy. */
export interface StageRow extends Partial<Record<StageColumn, string | null>> {
  line: number;
  kind: 'member' | 'subscriber';
  f_over: Record<string, unknown> | null;
  f_fill: Record<string, unknown> | null;
  f_create: Record<string, unknown> | null;
  tag_ids: number[] | null;
  /** Line of an earlier row of the same file with the same phone, card or subscriber email. */
  dup_first: number | null;
  /** Required custom fields the row leaves empty (a problem only when it creates a profile). */
  missing: string | null;
}

export interface RowFailure {
  line: number;
  errors: { key: MessageKey; params?: MessageParams; column?: string }[];
}

export interface ApplyPlan {
  baseId: number;
  importId: number;
  actor: string;
  mode: Mode;
  /** Policy per mapped standard column; columns not mapped are left alone. */
  columns: Partial<Record<StageColumn, Policy>>;
  /** Custom field defaults, applied to created profiles. */
  defaults: Record<string, unknown>;
  segmentId: number | null;
}

export interface ApplyResult {
  created: number;
  updated: number;
  unchanged: number;
  failures: RowFailure[];
  /** Ids of created, updated and unchanged profiles (for the caller's bookkeeping). */
  touched: number;
}

const ident = (c: string) => sql.ref(c);

/** The new value of one column of a matched profile `q` from staged row `s`, by policy. */
function updateExpr(c: StageColumn, policy: Policy): RawBuilder<unknown> {
  const s = sql.ref(`s.${c}`);
  const q = sql.ref(`q.${c}`);
  // A subscriber turning member must receive its identifiers whatever the policy says.
  if (c === 'phone' || c === 'card_number') {
    const normal = policy === 'overwrite' ? sql`coalesce(${s}, ${q})` : policy === 'fill' ? sql`coalesce(${q}, ${s})` : q;
    return sql`CASE WHEN q.kind = 'subscriber' THEN coalesce(${s}, ${q}) ELSE ${normal} END`;
  }
  if (SET_ONCE.has(c) || policy === 'fill') return sql`coalesce(${q}, ${s})`;
  if (policy === 'skip') return q;
  return sql`coalesce(${s}, ${q})`;
}

async function createStage(db: Conn): Promise<void> {
  await sql`CREATE TEMP TABLE kt_stage (
      line bigint PRIMARY KEY,
      kind text NOT NULL,
      last_name text, first_name text, middle_name text, phone text, email text, card_number text, birth_date date,
      gender text, city text, car_number text,
      extra_key_1 text, extra_key_2 text, extra_key_3 text, extra_key_4 text, extra_key_5 text, extra_key_6 text,
      reg_source text, point_of_sale text, utm_source text, utm_medium text, utm_campaign text, utm_content text, utm_term text, referral_id text,
      f_over jsonb, f_fill jsonb, f_create jsonb, tag_ids bigint[], dup_first bigint, missing text,
      target bigint, round integer, outcome text, reason jsonb
    ) ON COMMIT DROP`.execute(db);
}

const fail = (key: MessageKey, params: RawBuilder<unknown> = sql`'{}'::jsonb`) => sql`jsonb_build_array(jsonb_build_object('key', ${key}::text, 'params', ${params}))`;

/**
 * Applies one batch. Rows the database refuses get an outcome 'failed' with the reason;
 * a statement that fails unexpectedly throws (the caller retries the batch row by row).
 */
export async function applyBatch(db: Conn, plan: ApplyPlan, rows: StageRow[]): Promise<ApplyResult> {
  const b = plan.baseId;
  await createStage(db);
  try {
    await sql`INSERT INTO kt_stage SELECT * FROM json_populate_recordset(NULL::kt_stage, ${JSON.stringify(rows)}::json)`.execute(db);
    // A temporary table has no statistics until analyzed: without them the planner takes the staged
    // rows for a handful and joins them to the base by rescanning it once per row (3 ms for 10,000 rows).
    await sql`ANALYZE kt_stage`.execute(db);
    const mapped = STAGE_COLUMNS.filter((c) => plan.columns[c] !== undefined);
    for (let round = 1; ; round++) {
      // Match: phone, then card, then email (a subscriber's; an email-only row also a member's, never to join two members).
      // min(id + 0), not ORDER BY id LIMIT 1: that walks the whole base by id when the email is rare.
      await sql`
        UPDATE kt_stage s SET target = coalesce(
          (SELECT p.id FROM profiles p WHERE p.base_id = ${b} AND p.phone = s.phone),
          (SELECT p.id FROM profiles p WHERE p.base_id = ${b} AND p.card_number = s.card_number),
          (SELECT p.id FROM profiles p WHERE p.base_id = ${b} AND p.email = s.email AND p.kind = 'subscriber'),
          CASE WHEN s.kind = 'subscriber' THEN
            (SELECT min(p.id + 0) FROM profiles p WHERE p.base_id = ${b} AND p.email = s.email AND p.kind = 'member') END)
        WHERE s.outcome IS NULL`.execute(db);
      // This round: pending rows that share no key and no target with an earlier pending row.
      const picked = await sql<{ n: number }>`
        WITH w AS (
          SELECT line,
            CASE WHEN phone IS NULL THEN line ELSE min(line) OVER (PARTITION BY phone) END AS a,
            CASE WHEN card_number IS NULL THEN line ELSE min(line) OVER (PARTITION BY card_number) END AS c,
            CASE WHEN kind <> 'subscriber' THEN line ELSE min(line) OVER (PARTITION BY kind, email) END AS e,
            CASE WHEN target IS NULL THEN line ELSE min(line) OVER (PARTITION BY target) END AS t
          FROM kt_stage WHERE outcome IS NULL)
        UPDATE kt_stage s SET round = ${round} FROM w
        WHERE s.line = w.line AND w.line = least(w.a, w.c, w.e, w.t)`.execute(db);
      if (!Number(picked.numAffectedRows ?? 0)) break;

      // What the mode and the data forbid.
      if (plan.mode === 'create') {
        await sql`UPDATE kt_stage SET outcome = 'failed', reason = ${fail('import_exists', sql`jsonb_build_object('id', target)`)}
          WHERE round = ${round} AND outcome IS NULL AND target IS NOT NULL AND dup_first IS NULL`.execute(db);
      }
      if (plan.mode === 'update') {
        await sql`UPDATE kt_stage SET outcome = 'failed', reason = ${fail('import_not_found')}
          WHERE round = ${round} AND outcome IS NULL AND target IS NULL`.execute(db);
      }
      await sql`UPDATE kt_stage SET outcome = 'failed', reason = ${fail('import_required_missing', sql`jsonb_build_object('fields', missing)`)}
        WHERE round = ${round} AND outcome IS NULL AND target IS NULL AND missing IS NOT NULL`.execute(db);
      // A card (or phone) that another profile holds: taking it would join two clients.
      for (const [c, key] of [['card_number', 'import_conflict_card'], ['phone', 'import_conflict_phone']] as const) {
        if (plan.columns[c] === undefined || plan.columns[c] === 'skip') continue;
        await sql`UPDATE kt_stage s SET outcome = 'failed', reason = ${fail(key, sql`jsonb_build_object('value', s.${ident(c)}, 'id', o.id)`)}
          FROM profiles q, profiles o
          WHERE s.round = ${round} AND s.outcome IS NULL AND s.${ident(c)} IS NOT NULL
            AND q.base_id = ${b} AND q.id = s.target AND q.${ident(c)} IS DISTINCT FROM s.${ident(c)}
            AND (${plan.columns[c] === 'overwrite' ? sql`true` : sql`q.${ident(c)} IS NULL`} OR q.kind = 'subscriber')
            AND o.base_id = ${b} AND o.${ident(c)} = s.${ident(c)} AND o.id <> q.id`.execute(db);
      }

      // New profiles: ids first, so the staged row knows its profile.
      await sql`UPDATE kt_stage s SET target = n.id, outcome = 'created'
        FROM (SELECT line, nextval(pg_get_serial_sequence('profiles', 'id')) AS id
              FROM (SELECT line FROM kt_stage WHERE round = ${round} AND outcome IS NULL AND target IS NULL ORDER BY line) AS o) AS n
        WHERE s.line = n.line`.execute(db);
      const insertCols = mapped.filter((c) => c !== 'reg_source');
      await sql`
        INSERT INTO profiles (base_id, id, kind, ${sql.join(insertCols.map(ident))}, reg_source, fields, tags)
        SELECT ${b}, s.target, s.kind, ${sql.join(insertCols.map((c) => sql.ref(`s.${c}`)))},
          ${plan.columns.reg_source ? sql`coalesce(s.reg_source, 'import')` : sql`'import'`},
          ${JSON.stringify(plan.defaults)}::jsonb || coalesce(s.f_fill, '{}') || coalesce(s.f_create, '{}') || coalesce(s.f_over, '{}'),
          coalesce(s.tag_ids, '{}')
        FROM kt_stage s WHERE s.round = ${round} AND s.outcome = 'created'`.execute(db);
      // A base that just grew is analyzed before anything joins against it (the events' foreign key
      // checks included): see refreshStatistics.
      if (round === 1) await refreshStatistics(db, b);

      // Matched profiles: new values by policy; a row that changes nothing leaves the profile as it was.
      const cols = mapped.map((c) => ({ c, expr: updateExpr(c, plan.columns[c]!) }));
      const updated = await sql<{ id: number }>`
        UPDATE profiles p SET kind = n.kind, ${sql.join(cols.map(({ c }) => sql`${ident(c)} = n.${ident(c)}`))}${cols.length ? sql`,` : sql``}
          fields = n.fields, tags = n.tags, updated_at = now()
        FROM (
          SELECT s.target,
            CASE WHEN q.kind = 'subscriber' AND s.kind = 'member' THEN 'member' ELSE q.kind END AS kind,
            ${sql.join(cols.map(({ c, expr }) => sql`${expr} AS ${ident(c)}`))}${cols.length ? sql`,` : sql``}
            (coalesce(s.f_fill, '{}') || q.fields) || coalesce(s.f_over, '{}') AS fields,
            CASE WHEN s.tag_ids IS NULL THEN q.tags ELSE ARRAY(SELECT DISTINCT x FROM unnest(q.tags || s.tag_ids) AS x ORDER BY x) END AS tags
          FROM kt_stage s JOIN profiles q ON q.base_id = ${b} AND q.id = s.target
          WHERE s.round = ${round} AND s.outcome IS NULL) n
        WHERE p.base_id = ${b} AND p.id = n.target
          AND (p.kind, ${sql.join(cols.map(({ c }) => sql.ref(`p.${c}`)))}${cols.length ? sql`,` : sql``} p.fields, p.tags)
            IS DISTINCT FROM (n.kind, ${sql.join(cols.map(({ c }) => sql.ref(`n.${c}`)))}${cols.length ? sql`,` : sql``} n.fields, n.tags)
        RETURNING p.id`.execute(db);
      const ids = updated.rows.map((r) => r.id);
      await sql`UPDATE kt_stage SET outcome = CASE WHEN target = ANY(${ids}::bigint[]) THEN 'updated' ELSE 'unchanged' END
        WHERE round = ${round} AND outcome IS NULL`.execute(db);

      await foldSubscribers(db, b, round, plan.actor);
    }

    // Bookkeeping for every profile the batch wrote: the card's timeline, the segment.
    await sql`INSERT INTO profile_events (base_id, profile_id, actor, action, changes)
      SELECT ${b}, target, ${plan.actor}, outcome, jsonb_build_object('import', ${plan.importId}::bigint, 'line', line)
      FROM kt_stage s WHERE outcome IN ('created', 'updated')
        AND EXISTS (SELECT 1 FROM profiles p WHERE p.base_id = ${b} AND p.id = s.target)`.execute(db);
    if (plan.segmentId !== null) {
      await sql`INSERT INTO segment_members (base_id, segment_id, profile_id)
        SELECT DISTINCT ${b}::bigint, ${plan.segmentId}::bigint, target FROM kt_stage s
        WHERE outcome IN ('created', 'updated', 'unchanged')
          AND EXISTS (SELECT 1 FROM profiles p WHERE p.base_id = ${b} AND p.id = s.target)
        ON CONFLICT DO NOTHING`.execute(db);
    }
    const counts = await sql<{ outcome: string; n: number }>`SELECT outcome, count(*)::int AS n FROM kt_stage GROUP BY outcome`.execute(db);
    const failed = await sql<{ line: number; reason: RowFailure['errors'] }>`SELECT line, reason FROM kt_stage WHERE outcome = 'failed' ORDER BY line`.execute(db);
    const by = Object.fromEntries(counts.rows.map((r) => [r.outcome, r.n])) as Record<string, number>;
    return {
      created: by.created ?? 0,
      updated: by.updated ?? 0,
      unchanged: by.unchanged ?? 0,
      failures: failed.rows.map((r) => ({ line: Number(r.line), errors: r.reason })),
      touched: (by.created ?? 0) + (by.updated ?? 0) + (by.unchanged ?? 0),
    };
  } finally {
    await sql`DROP TABLE IF EXISTS kt_stage`.execute(db);
  }
}

/**
 * A member this round wrote whose email a subscriber has: the subscriber folds into the member
 * (seed 002) as a single write would fold it. The member keeps its values, empty ones are filled
 * from the subscriber, and the subscriber's whole row is kept in profile_merges.
 */
async function foldSubscribers(db: Conn, b: number, round: number, actor: string): Promise<void> {
  // Most bases hold no subscribers at all: one probe of the subscribers' email index says so, and
  // the join below (an index probe a written row) is skipped.
  const any = await sql<{ x: boolean }>`SELECT EXISTS (SELECT 1 FROM profiles WHERE base_id = ${b} AND kind = 'subscriber' AND email IS NOT NULL) AS x`.execute(db);
  if (!any.rows[0]!.x) return;
  const fill = STAGE_COLUMNS.filter((c) => c !== 'phone' && c !== 'card_number');
  // Only a row that wrote an email can meet a subscriber: a member's email already stored met its
  // subscriber (if any) when it was written, as every write folds them.
  await sql`
    WITH m AS (
      SELECT p.id, p.email FROM kt_stage s JOIN profiles p ON p.base_id = ${b} AND p.id = s.target
      WHERE s.round = ${round} AND s.email IS NOT NULL AND s.outcome IN ('created', 'updated', 'unchanged') AND p.kind = 'member' AND p.email IS NOT NULL),
    sub AS (
      SELECT DISTINCT ON (q.id) q.*, m.id AS into_id FROM m JOIN profiles q ON q.base_id = ${b} AND q.kind = 'subscriber' AND q.email = m.email
      ORDER BY q.id, m.id),
    snap AS (
      INSERT INTO profile_merges (base_id, into_id, from_id, reason, snapshot)
      SELECT ${b}, sub.into_id, sub.id, 'import', to_jsonb(sub) - 'into_id' - 'writer' FROM sub),
    ev AS (
      INSERT INTO profile_events (base_id, profile_id, actor, action, changes)
      SELECT ${b}, sub.into_id, ${actor}, 'merged', jsonb_build_object('from', jsonb_build_array(sub.id), 'reason', 'import') FROM sub),
    upd AS (
      UPDATE profiles p SET ${sql.join(fill.map((c) => sql`${ident(c)} = coalesce(p.${ident(c)}, sub.${ident(c)})`))},
        fields = sub.fields || p.fields,
        tags = ARRAY(SELECT DISTINCT x FROM unnest(p.tags || sub.tags) AS x ORDER BY x),
        updated_at = now()
      FROM sub WHERE p.base_id = ${b} AND p.id = sub.into_id)
    DELETE FROM profiles d USING sub WHERE d.base_id = ${b} AND d.id = sub.id`.execute(db);
}

// ---------------------------------------------------------------------------
// import records, failed rows, templates
// ---------------------------------------------------------------------------

export async function insertErrors(db: Conn, baseId: number, importId: number, rows: { line: number; cells: string[]; errors: unknown }[]): Promise<void> {
  if (!rows.length) return;
  await sql`INSERT INTO import_errors (base_id, import_id, line, cells, errors)
    SELECT ${baseId}, ${importId}, r.line, r.cells, r.errors
    FROM json_populate_recordset(NULL::import_errors, ${JSON.stringify(rows)}::json) AS r
    ON CONFLICT DO NOTHING`.execute(db);
}

export async function* errorRows(db: Conn, baseId: number, importId: number, pageSize = 5000): AsyncGenerator<{ line: number; cells: string[]; errors: RowFailure['errors'] }[]> {
  let after = 0;
  for (;;) {
    const page = await db
      .selectFrom('import_errors')
      .select(['line', 'cells', 'errors'])
      .where('base_id', '=', baseId)
      .where('import_id', '=', importId)
      .where('line', '>', after)
      .orderBy('line')
      .limit(pageSize)
      .execute();
    if (!page.length) return;
    yield page.map((r) => ({ line: Number(r.line), cells: r.cells, errors: r.errors as RowFailure['errors'] }));
    after = Number(page[page.length - 1]!.line);
  }
}

export async function getImport(db: Conn, baseId: number, id: number) {
  return db.selectFrom('imports').selectAll().where('base_id', '=', baseId).where('id', '=', id).executeTakeFirst();
}

export async function listImports(db: Conn, baseId: number, limit: number) {
  return db.selectFrom('imports').selectAll().where('base_id', '=', baseId).orderBy('id', 'desc').limit(limit).execute();
}

export async function addCounts(db: Conn, id: number, d: { rows: number; created: number; updated: number; unchanged: number; failed: number }): Promise<void> {
  await sql`UPDATE imports SET rows = rows + ${d.rows}, created = created + ${d.created}, updated = updated + ${d.updated},
    unchanged = unchanged + ${d.unchanged}, failed = failed + ${d.failed} WHERE id = ${id}`.execute(db);
}
