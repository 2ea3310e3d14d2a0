// The one profile writer (issue 10). Every write of a profile goes through here: a single create or
// update from the API (a batch of one), an import batch, a mass edit, a tag change. Rows arrive
// normalized (normalize.ts; the callers' validation); this module applies them set-based and enforces
// what depends on the stored data:
//  * identity: a phone and a card belong to one profile per base, an email may repeat; a row is
//    matched by phone, then card, then a subscriber's email, and an email-only row also by a member's
//    email (a subscriber signing up with a member's email is that member: it only fills the member);
//  * set-once registration data (source, point of sale) is filled, never overwritten;
//  * kinds: a subscriber given a phone or card becomes a member; a member never turns back;
//  * a member written with the email of a subscriber takes the subscriber in (seed 002): empty values
//    filled, tags, segments and history moved over, the subscriber's row kept in profile_merges;
//  * required custom fields and defaults on creation;
//  * history: one event per profile written, in one format (created: the values; updated: from → to;
//    merged: whom, why, what was filled), with where the write came from.
// Rows are staged in a temporary table and applied in rounds: a round takes the pending rows that share
// no phone, card, subscriber email or matched profile with an earlier pending row, so repeats inside a
// batch are applied one after another (the second sees what the first wrote) and every statement stays
// set-based. The caller owns the transaction.
import { sql, type RawBuilder } from 'kysely';
import { copyInto, copyText, type Conn } from '../db/db.ts';
import { addListOptions } from '../fields/fields.service.ts';
import { STANDARD_FIELDS, type StandardField } from '../fields/standard.ts';
import { refreshStatistics } from './profiles.repo.ts';

/** The standard fields a write sets (kind follows the identity rules; created/updated are the system's). */
export const WRITE_FIELDS: readonly StandardField[] = STANDARD_FIELDS.filter((f) => !f.readOnly && f.key !== 'kind');
export const WRITE_COLUMNS: readonly string[] = WRITE_FIELDS.map((f) => f.column);
const KEY_OF: ReadonlyMap<string, string> = new Map(WRITE_FIELDS.map((f) => [f.column, f.key]));
const SET_ONCE: ReadonlySet<string> = new Set(WRITE_FIELDS.filter((f) => f.setOnce).map((f) => f.column));

export type Policy = 'overwrite' | 'fill' | 'skip';
export type Mode = 'create' | 'update' | 'upsert';
export type Kind = 'member' | 'subscriber';

/** One row to write: normalized values, and how it may change a stored profile. */
export interface WriteRow {
  /** Its position in the batch (an import's file line): order, and the key of its outcome. */
  line: number;
  /** What the row is: a member has a phone or card, a subscriber an email only. */
  kind: Kind;
  /** A kind asked for explicitly (the API's `kind`); checked against the stored profile. */
  setKind?: Kind | null;
  /** The profile to write (an update by id); otherwise the row is matched by identity. */
  target?: number | null;
  /** Standard columns given, normalized. A missing key leaves the column alone. */
  values: Partial<Record<string, string | null>>;
  /** Standard columns to empty (an explicit null). Set-once columns once set stay. */
  clear?: string[] | null;
  /** Custom values by policy: overwrite, fill when empty, and only when the row creates a profile. */
  fOver?: Record<string, unknown> | null;
  fFill?: Record<string, unknown> | null;
  fCreate?: Record<string, unknown> | null;
  /** Custom keys to remove. */
  fClear?: string[] | null;
  /** Profile tags: the whole list, or ids to add and to take off. */
  tagsSet?: number[] | null;
  tagsAdd?: number[] | null;
  tagsRemove?: number[] | null;
  /** An earlier line of the same file with the same phone, card or subscriber email (a repeat). */
  dupFirst?: number | null;
  /** Required custom fields (labels) the row leaves empty: a failure only when it creates a profile. */
  missing?: string[] | null;
}

export interface WritePlan {
  baseId: number;
  actor: string;
  mode: Mode;
  /** The standard columns this batch writes, each by its policy; the others are left alone. */
  columns: Partial<Record<string, Policy>>;
  /** Custom keys this batch may write (defaults included): named in the history. */
  customKeys: readonly string[];
  /** Custom defaults, for created profiles. */
  defaults: Record<string, unknown>;
  /** Registration source of created profiles that do not give one. */
  regSource: string;
  /** Where the write came from, kept with each event: {} (API), {import} (each row adds its line), {job}. */
  source: Record<string, unknown>;
  /** Keys of free lists among the custom keys: their new values join the field's options. */
  freeLists?: readonly string[];
  /** A manual segment every written profile joins (import). */
  segmentId?: number | null;
}

/** Why a row was not written. `field` is the API key the reason is about. */
export type WriteFailure =
  | { code: 'exists'; field: 'phone' | 'cardNumber' | 'email'; id: number }
  | { code: 'not_found' }
  | { code: 'required'; fields: string[] }
  | { code: 'taken'; field: 'phone' | 'cardNumber'; value: string; id: number }
  | { code: 'kind'; field: string; key: 'invalid_enum' | 'member_needs_identity' | 'subscriber_needs_email' | 'subscriber_only_email' }
  | { code: 'conflict' };

export interface RowOutcome {
  line: number;
  outcome: 'created' | 'updated' | 'unchanged' | 'failed';
  /** The profile written (after a fold, the member). */
  id: number | null;
  failure: WriteFailure | null;
  /** Subscribers folded into this row's profile by this write. */
  mergedFrom: number[];
}

export interface WriteResult {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  /** Every row's outcome, in line order. */
  outcomes: RowOutcome[];
}

// ---------------------------------------------------------------------------
// staging
// ---------------------------------------------------------------------------

const STAGE = 'kt_write';
const ROW_COLUMNS = [
  'line', 'kind', 'set_kind', 'target', ...WRITE_COLUMNS, 'clear', 'f_over', 'f_fill', 'f_create', 'f_clear',
  'tags_set', 'tags_add', 'tags_remove', 'dup_first', 'missing',
] as const;

/**
 * The staging table lives for the session (created once per connection) and is emptied at each
 * commit and at each write: no catalog churn for a single write.
 */
async function stage(db: Conn): Promise<void> {
  const cols = WRITE_FIELDS.map((f) => sql`${sql.ref(f.column)} ${sql.raw(f.type === 'date' ? 'date' : 'text')}`);
  await sql`CREATE TEMP TABLE IF NOT EXISTS kt_write (
      line bigint PRIMARY KEY, kind text NOT NULL, set_kind text, target bigint,
      ${sql.join(cols)},
      clear text[], f_over jsonb, f_fill jsonb, f_create jsonb, f_clear text[],
      tags_set bigint[], tags_add bigint[], tags_remove bigint[], dup_first bigint, missing text[],
      round integer, outcome text, failure jsonb, conflicts integer NOT NULL DEFAULT 0, matched text, merged_from bigint[]
    ) ON COMMIT DELETE ROWS`.execute(db);
  // Statements join staged rows to profiles both ways: the staged side is reached by line or by profile.
  await sql`CREATE INDEX IF NOT EXISTS kt_write_target ON kt_write (target)`.execute(db);
  // DELETE, not TRUNCATE: a truncated temp table gets new files, and pg_class a new row, at every write.
  await sql`DELETE FROM kt_write`.execute(db);
}

const pgArray = (xs: readonly (string | number)[] | null | undefined) =>
  xs === null || xs === undefined ? null : '{' + xs.map((x) => (typeof x === 'number' ? String(x) : '"' + x.replace(/["\\]/g, '\\$&') + '"')).join(',') + '}';

function stageValues(r: WriteRow): unknown[] {
  return [
    r.line, r.kind, r.setKind ?? null, r.target ?? null, ...WRITE_COLUMNS.map((c) => r.values[c] ?? null), pgArray(r.clear),
    r.fOver ?? null, r.fFill ?? null, r.fCreate ?? null, pgArray(r.fClear), pgArray(r.tagsSet), pgArray(r.tagsAdd), pgArray(r.tagsRemove),
    r.dupFirst ?? null, pgArray(r.missing),
  ];
}

async function stageRows(db: Conn, rows: readonly WriteRow[]): Promise<void> {
  if (rows.length >= 50) {
    await copyInto(db, STAGE, ROW_COLUMNS, (function* () {
      for (const r of rows) yield stageValues(r).map(copyText).join('\t') + '\n';
    })());
    // A temporary table has no statistics until analyzed: without them the planner takes the staged
    // rows for a handful and joins them to the base by rescanning it once per row.
    if (rows.length >= 1000) await sql`ANALYZE kt_write`.execute(db);
    return;
  }
  const tuples = rows.map((r) => sql`(${sql.join(stageValues(r).map((v, i) => castFor(ROW_COLUMNS[i]!, v)))})`);
  await sql`INSERT INTO kt_write (${sql.join(ROW_COLUMNS.map((c) => sql.ref(c)))}) VALUES ${sql.join(tuples)}`.execute(db);
}

const DATE_COLUMNS = new Set(WRITE_FIELDS.filter((f) => f.type === 'date').map((f) => f.column));
function castFor(column: string, v: unknown): RawBuilder<unknown> {
  if (column === 'line' || column === 'target' || column === 'dup_first') return sql`${v}::bigint`;
  if (column.startsWith('f_') && column !== 'f_clear') return sql`${v === null ? null : JSON.stringify(v)}::jsonb`;
  if (column.startsWith('tags_')) return sql`${v}::bigint[]`;
  if (column === 'clear' || column === 'f_clear' || column === 'missing') return sql`${v}::text[]`;
  if (DATE_COLUMNS.has(column)) return sql`${v}::date`;
  return sql`${v}::text`;
}

// ---------------------------------------------------------------------------
// writing
// ---------------------------------------------------------------------------

const ident = (c: string) => sql.ref(c);
const json = (o: unknown) => sql`${JSON.stringify(o)}::jsonb`;

/** The new value of standard column `c` of a matched profile `q` from staged row `s`, by policy. */
function updateExpr(c: string, policy: Policy): RawBuilder<unknown> {
  const s = sql.ref(`s.${c}`);
  const q = sql.ref(`q.${c}`);
  // A subscriber turning member receives its identifiers whatever the policy says.
  if (c === 'phone' || c === 'card_number') {
    const normal = policy === 'overwrite' ? sql`CASE WHEN ${c} = ANY(s.clear) THEN NULL ELSE coalesce(${s}, ${q}) END` : policy === 'fill' ? sql`coalesce(${q}, ${s})` : q;
    return sql`CASE WHEN q.kind = 'subscriber' THEN coalesce(${s}, ${q}) ELSE ${normal} END`;
  }
  if (SET_ONCE.has(c) || policy === 'fill') return sql`coalesce(${q}, ${s})`;
  if (policy === 'skip') return q;
  // A subscriber row that met a member by email only fills it: the member's values win.
  return sql`CASE WHEN s.matched = 'member' THEN coalesce(${q}, ${s}) WHEN ${c} = ANY(s.clear) THEN NULL ELSE coalesce(${s}, ${q}) END`;
}

/** jsonb_build_object takes at most 50 pairs: build in parts and concatenate. */
function jsonObject(pairs: [string, RawBuilder<unknown>][]): RawBuilder<unknown> {
  if (!pairs.length) return sql`'{}'::jsonb`;
  const parts: RawBuilder<unknown>[] = [];
  for (let i = 0; i < pairs.length; i += 40) {
    parts.push(sql`jsonb_build_object(${sql.join(pairs.slice(i, i + 40).flatMap(([k, v]) => [sql`${k}::text`, v]))})`);
  }
  return sql.join(parts, sql` || `);
}

/** The event source of staged row `s`: the plan's, with the line for an import. */
function sourceExpr(plan: WritePlan): RawBuilder<unknown> {
  return plan.source.import !== undefined ? sql`${json(plan.source)} || jsonb_build_object('line', s.line)` : json(plan.source);
}

/** The first round a pending row may run in, and what it found: one statement per step. */
export async function writeProfiles(db: Conn, plan: WritePlan, rows: readonly WriteRow[]): Promise<WriteResult> {
  await stage(db);
  if (!rows.length) return { created: 0, updated: 0, unchanged: 0, failed: 0, outcomes: [] };
  await stageRows(db, rows);
  return applyStaged(db, plan, { validateKinds: rows.some(mayBreakKind) });
}

/** Only an emptied identifier or an asked-for kind can break the kind rules (a member keeps a phone or card…). */
const mayBreakKind = (r: Pick<WriteRow, 'clear' | 'setKind'>) =>
  (r.setKind ?? null) !== null || (r.clear ?? []).some((c) => c === 'phone' || c === 'card_number' || c === 'email');

/**
 * A mass edit: the same change for every profile `ids` selects (a query of one column of profile ids),
 * staged set-based; each row's line is its profile id.
 */
export async function writeTargets(db: Conn, plan: WritePlan, ids: RawBuilder<unknown>, change: Omit<WriteRow, 'line' | 'kind' | 'target'>): Promise<WriteResult> {
  await stage(db);
  const values = stageValues({ ...change, line: 0, kind: 'member', target: 0 });
  const rest = ROW_COLUMNS.map((c, i) => ({ c, v: values[i] })).filter(({ c }) => c !== 'line' && c !== 'kind' && c !== 'target');
  const staged = await sql`INSERT INTO kt_write (line, kind, target, ${sql.join(rest.map(({ c }) => sql.ref(c)))})
    SELECT t.id, 'member', t.id, ${sql.join(rest.map(({ c, v }) => castFor(c, v)))} FROM (${ids}) AS t(id)`.execute(db);
  if (Number(staged.numAffectedRows ?? 0) >= 1000) await sql`ANALYZE kt_write`.execute(db);
  return applyStaged(db, plan, { validateKinds: mayBreakKind(change) });
}

async function applyStaged(db: Conn, plan: WritePlan, opts: { validateKinds: boolean }): Promise<WriteResult> {
  const b = plan.baseId;
  const mapped = WRITE_COLUMNS.filter((c) => plan.columns[c] !== undefined);
  // Rows naming their profile: it must exist.
  await sql`UPDATE kt_write s SET outcome = 'failed', failure = ${json({ code: 'not_found' })}
    WHERE s.target IS NOT NULL AND NOT EXISTS (SELECT 1 FROM profiles p WHERE p.base_id = ${b} AND p.id = s.target)`.execute(db);
  const subscribersProbe = sql<{ x: boolean }>`SELECT EXISTS (SELECT 1 FROM profiles WHERE base_id = ${b} AND kind = 'subscriber') AS x`;
  let hasSubscribers = false;

  for (let round = 1; ; round++) {
    // name: write-match
    // Phone, then card, then a subscriber's email: a subscriber row's always, a member row's only in
    // 'update' mode (which creates nothing: the subscriber turns into the member); otherwise a member row
    // with a subscriber's email creates the member, and the fold below takes the subscriber in, keeping
    // its whole row (seed 002). An email-only row with a member's email is that member (the first
    // registered: min(id + 0), as ORDER BY id LIMIT 1 walks the whole base when the email is rare): it
    // only fills what the member lacks.
    await sql`
      UPDATE kt_write s SET target = split_part(m.hit, ' ', 2)::bigint, matched = split_part(m.hit, ' ', 1)
      FROM (SELECT line, coalesce(
          (SELECT 'phone ' || p.id FROM profiles p WHERE p.base_id = ${b} AND p.phone = w.phone),
          (SELECT 'cardNumber ' || p.id FROM profiles p WHERE p.base_id = ${b} AND p.card_number = w.card_number),
          CASE WHEN w.kind = 'subscriber' OR ${plan.mode === 'update'} THEN
            (SELECT 'email ' || p.id FROM profiles p WHERE p.base_id = ${b} AND p.email = w.email AND p.kind = 'subscriber') END,
          CASE WHEN w.kind = 'subscriber' THEN
            (SELECT 'member ' || min(p.id + 0) FROM profiles p WHERE p.base_id = ${b} AND p.email = w.email AND p.kind = 'member') END) AS hit
        FROM kt_write w WHERE w.outcome IS NULL AND (w.target IS NULL OR w.matched IS NOT NULL)) m
      WHERE s.line = m.line AND s.target IS DISTINCT FROM split_part(m.hit, ' ', 2)::bigint`.execute(db);
    // name: write-pick-round
    // This round: pending rows that share no key and no profile with an earlier pending row.
    const picked = await sql`
      WITH w AS (
        SELECT line,
          CASE WHEN phone IS NULL THEN line ELSE min(line) OVER (PARTITION BY phone) END AS a,
          CASE WHEN card_number IS NULL THEN line ELSE min(line) OVER (PARTITION BY card_number) END AS c,
          CASE WHEN kind <> 'subscriber' THEN line ELSE min(line) OVER (PARTITION BY kind, email) END AS e,
          CASE WHEN target IS NULL THEN line ELSE min(line) OVER (PARTITION BY target) END AS t
        FROM kt_write WHERE outcome IS NULL)
      UPDATE kt_write s SET round = ${round} FROM w
      WHERE s.line = w.line AND w.line = least(w.a, w.c, w.e, w.t)`.execute(db);
    if (!Number(picked.numAffectedRows ?? 0)) break;

    // What the mode and the data forbid. A subscriber row meeting a member only fills it, in any mode.
    const fail = (f: RawBuilder<unknown>, where: RawBuilder<unknown>) =>
      sql`UPDATE kt_write s SET outcome = 'failed', failure = ${f} WHERE s.round = ${round} AND s.outcome IS NULL AND ${where}`.execute(db);
    if (plan.mode === 'create') {
      await fail(sql`jsonb_build_object('code', 'exists', 'field', s.matched, 'id', s.target)`, sql`s.matched IN ('phone', 'cardNumber', 'email') AND s.dup_first IS NULL`);
    }
    if (plan.mode === 'update') await fail(json({ code: 'not_found' }), sql`s.target IS NULL`);
    await fail(sql`jsonb_build_object('code', 'required', 'fields', to_jsonb(s.missing))`, sql`s.target IS NULL AND s.missing IS NOT NULL`);
    // A card or phone another profile holds: taking it would join two clients.
    for (const [c, key] of [['card_number', 'cardNumber'], ['phone', 'phone']] as const) {
      const policy = plan.columns[c];
      if (policy === undefined || policy === 'skip') continue;
      await sql`UPDATE kt_write s SET outcome = 'failed', failure = jsonb_build_object('code', 'taken', 'field', ${key}::text, 'value', s.${ident(c)}, 'id', o.id)
        FROM profiles q, profiles o
        WHERE s.round = ${round} AND s.outcome IS NULL AND s.${ident(c)} IS NOT NULL
          AND q.base_id = ${b} AND q.id = s.target AND q.${ident(c)} IS DISTINCT FROM s.${ident(c)}
          AND (${policy === 'overwrite' ? sql`true` : sql`q.${ident(c)} IS NULL`} OR q.kind = 'subscriber')
          AND o.base_id = ${b} AND o.${ident(c)} = s.${ident(c)} AND o.id <> q.id`.execute(db);
    }

    await insertNew(db, plan, round, mapped);
    // A base that just grew is analyzed before anything joins against it: see refreshStatistics.
    if (round === 1) await refreshStatistics(db, b);
    await updateMatched(db, plan, round, mapped, opts.validateKinds);
    if (!hasSubscribers) hasSubscribers = (await subscribersProbe.execute(db)).rows[0]!.x;
    if (hasSubscribers) await foldSubscribers(db, plan, round);
  }

  await joinSegmentAndLists(db, plan);

  const out = await sql<{ line: number; outcome: RowOutcome['outcome']; target: number | null; failure: WriteFailure | null; merged_from: number[] | null }>`
    SELECT line, outcome, target, failure, merged_from FROM kt_write ORDER BY line`.execute(db);
  const res: WriteResult = { created: 0, updated: 0, unchanged: 0, failed: 0, outcomes: [] };
  for (const r of out.rows) {
    const outcome = r.outcome ?? 'failed';
    res[outcome]++;
    res.outcomes.push({
      line: Number(r.line),
      outcome,
      id: outcome === 'failed' || r.target === null ? null : Number(r.target),
      failure: outcome === 'failed' ? (r.failure ?? { code: 'conflict' }) : null,
      mergedFrom: (r.merged_from ?? []).map(Number),
    });
  }
  return res;
}

/** What every written profile brings along: the import's manual segment, new values of free lists. */
async function joinSegmentAndLists(db: Conn, plan: WritePlan): Promise<void> {
  const b = plan.baseId;
  if (plan.segmentId !== null && plan.segmentId !== undefined) {
    await sql`INSERT INTO segment_members (base_id, segment_id, profile_id)
      SELECT DISTINCT ${b}::bigint, ${plan.segmentId}::bigint, target FROM kt_write WHERE outcome IN ('created', 'updated', 'unchanged')
      ON CONFLICT DO NOTHING`.execute(db);
  }
  for (const key of plan.freeLists ?? []) {
    const vals = await sql<{ v: string }>`
      SELECT DISTINCT v COLLATE "C" AS v FROM kt_write s, LATERAL (VALUES (s.f_over ->> ${key}), (s.f_fill ->> ${key}), (s.f_create ->> ${key})) AS x(v)
      WHERE s.outcome IN ('created', 'updated', 'unchanged') AND v IS NOT NULL ORDER BY 1`.execute(db);
    await addListOptions(db, b, key, vals.rows.map((r) => r.v));
  }
}

/**
 * name: write-insert-staged
 * The staged rows `where` picks, as new profiles of `table` (profiles, or a bulk load's bare table),
 * with their 'created' events; the number inserted.
 */
async function insertStaged(
  db: Conn,
  plan: WritePlan,
  mapped: readonly string[],
  into: { table: string; where: RawBuilder<unknown>; onConflict: boolean },
): Promise<number> {
  const b = plan.baseId;
  const cols = mapped.filter((c) => c !== 'reg_source');
  const createdChanges = jsonObject([
    ['kind', sql`to_jsonb(i.kind)`],
    ...WRITE_COLUMNS.map((c): [string, RawBuilder<unknown>] => [KEY_OF.get(c)!, sql`to_jsonb(i.${ident(c)})`]),
    ...plan.customKeys.map((k): [string, RawBuilder<unknown>] => [`fields.${k}`, sql`i.fields -> ${k}::text`]),
  ]);
  const r = await sql<{ n: number }>`
    WITH i AS (
      INSERT INTO ${sql.table(into.table)} (base_id, id, kind, ${sql.join(cols.map(ident))}${cols.length ? sql`,` : sql``} reg_source, fields, tags)
      SELECT ${b}, s.target, coalesce(s.set_kind, s.kind), ${sql.join(cols.map((c) => sql.ref(`s.${c}`)))}${cols.length ? sql`,` : sql``}
        ${plan.columns.reg_source ? sql`coalesce(s.reg_source, ${plan.regSource}::text)` : sql`${plan.regSource}::text`},
        (${json(plan.defaults)} || coalesce(s.f_fill, '{}') || coalesce(s.f_create, '{}') || coalesce(s.f_over, '{}')) - coalesce(s.f_clear, '{}'),
        CASE WHEN s.tags_set IS NULL AND s.tags_add IS NULL THEN '{}'
          ELSE ARRAY(SELECT DISTINCT x FROM unnest(coalesce(s.tags_set, '{}') || coalesce(s.tags_add, '{}')) AS x
                     WHERE x <> ALL(coalesce(s.tags_remove, '{}')) ORDER BY x) END
      FROM kt_write s WHERE ${into.where}
      ${into.onConflict ? sql`ON CONFLICT DO NOTHING` : sql``}
      RETURNING *),
    ev AS (
      INSERT INTO profile_events (base_id, profile_id, actor, action, changes, source)
      SELECT ${b}, i.id, ${plan.actor}, 'created',
        jsonb_strip_nulls(${createdChanges}) || CASE WHEN cardinality(i.tags) > 0 THEN jsonb_build_object('tags', to_jsonb(i.tags)) ELSE '{}' END,
        ${sourceExpr(plan)}
      FROM i JOIN kt_write s ON s.target = i.id)
    SELECT count(*)::int AS n FROM i`.execute(db);
  return r.rows[0]!.n;
}

/**
 * A bulk load (issue 10): rows that share no phone, card or subscriber email with each other or with the
 * base — the caller guarantees it: member rows of a file, no repeats, into an empty base — created in
 * `table`, a bare table created in the caller's transaction (COPY FREEZE needs it) that becomes the
 * base's partition once indexed. Nothing to match, fold or check
 * against the base, so the rows and their 'created' events are COPYed straight in, computed here exactly
 * as insertNew computes them in SQL (import.test compares the two ways row by row and event by event).
 */
export async function loadNew(db: Conn, plan: WritePlan, rows: readonly WriteRow[], table: string): Promise<number> {
  if (!rows.length) return 0;
  const b = plan.baseId;
  const ids = (
    await sql<{ id: string }>`SELECT nextval(pg_get_serial_sequence('profiles', 'id')) AS id FROM generate_series(1, ${rows.length}) ORDER BY 1`.execute(db)
  ).rows.map((r) => Number(r.id));
  const mapped = WRITE_COLUMNS.filter((c) => plan.columns[c] !== undefined && c !== 'reg_source');
  const created = rows.map((r) => createdProfile(plan, r, mapped));
  await copyInto(db, table, ['base_id', 'id', 'kind', ...mapped, 'reg_source', 'fields', 'tags'], (function* () {
    for (let i = 0; i < created.length; i++) {
      const c = created[i]!;
      yield [b, ids[i], c.kind, ...mapped.map((m) => c.values[m] ?? null), c.regSource, c.fields, pgArray(c.tags)].map(copyText).join('\t') + '\n';
    }
  })(), { freeze: true });
  const withLine = plan.source.import !== undefined;
  await copyInto(db, 'profile_events', ['base_id', 'profile_id', 'actor', 'action', 'changes', 'source'], (function* () {
    for (let i = 0; i < created.length; i++) {
      const source = withLine ? { ...plan.source, line: rows[i]!.line } : plan.source;
      yield [b, ids[i], plan.actor, 'created', createdChanges(plan, created[i]!), source].map(copyText).join('\t') + '\n';
    }
  })());
  if (plan.segmentId !== null && plan.segmentId !== undefined) {
    await sql`INSERT INTO segment_members (base_id, segment_id, profile_id)
      SELECT ${b}::bigint, ${plan.segmentId}::bigint, unnest(${pgArray(ids)}::bigint[]) ON CONFLICT DO NOTHING`.execute(db);
  }
  for (const key of plan.freeLists ?? []) {
    const vals = new Set<string>();
    for (const r of rows) {
      for (const slot of [r.fOver, r.fFill, r.fCreate]) {
        const v = slot?.[key];
        if (v !== null && v !== undefined) vals.add(typeof v === 'string' ? v : JSON.stringify(v));
      }
    }
    await addListOptions(db, b, key, [...vals].sort()); // code-unit order, as the SQL way's COLLATE "C"
  }
  return rows.length;
}

/** A new profile from a row, as insertStaged builds it in SQL. */
function createdProfile(plan: WritePlan, r: WriteRow, mapped: readonly string[]) {
  const fields: Record<string, unknown> = { ...plan.defaults, ...r.fFill, ...r.fCreate, ...r.fOver };
  for (const k of r.fClear ?? []) delete fields[k];
  const tags = r.tagsSet || r.tagsAdd ? [...new Set([...(r.tagsSet ?? []), ...(r.tagsAdd ?? [])])].filter((t) => !(r.tagsRemove ?? []).includes(t)).sort((x, y) => x - y) : [];
  const values: Partial<Record<string, string | null>> = {};
  for (const c of mapped) values[c] = r.values[c] ?? null;
  const regSource = plan.columns.reg_source ? (r.values.reg_source ?? plan.regSource) : plan.regSource;
  return { kind: r.setKind ?? r.kind, values, regSource, fields, tags };
}

/** A created profile's event: its values, nulls left out (jsonb_strip_nulls), as insertStaged writes it. */
function createdChanges(plan: WritePlan, c: ReturnType<typeof createdProfile>): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: c.kind };
  for (const col of WRITE_COLUMNS) {
    const v = col === 'reg_source' ? c.regSource : c.values[col];
    if (v !== null && v !== undefined) out[KEY_OF.get(col)!] = v;
  }
  for (const k of plan.customKeys) {
    const v = stripNulls(c.fields[k]);
    if (v !== null && v !== undefined) out[`fields.${k}`] = v;
  }
  if (c.tags.length) out.tags = c.tags;
  return out;
}

const stripNulls = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(stripNulls)
  : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, stripNulls(x)]))
  : v;

/**
 * name: write-insert
 * New profiles: ids first (in line order), then one INSERT … ON CONFLICT DO NOTHING with their
 * 'created' events. A row another transaction beat to its phone or card goes back to pending and is
 * matched again in the next round; a second time, it fails.
 */
async function insertNew(db: Conn, plan: WritePlan, round: number, mapped: readonly string[]): Promise<void> {
  const b = plan.baseId;
  const assigned = await sql`UPDATE kt_write s SET target = n.id, outcome = 'created'
    FROM (SELECT line, nextval(pg_get_serial_sequence('profiles', 'id')) AS id
          FROM (SELECT line FROM kt_write WHERE round = ${round} AND outcome IS NULL AND target IS NULL ORDER BY line) AS o) AS n
    WHERE s.line = n.line`.execute(db);
  if (!Number(assigned.numAffectedRows ?? 0)) return;
  const inserted = await insertStaged(db, plan, mapped, { table: 'profiles', where: sql`s.round = ${round} AND s.outcome = 'created'`, onConflict: true });
  if (inserted === Number(assigned.numAffectedRows)) return;
  // Rows another transaction beat to a phone or card (probed by id: the staged rows' statistics are stale by now).
  await sql`
    UPDATE kt_write s SET outcome = CASE WHEN s.conflicts >= 1 THEN 'failed' END,
      failure = CASE WHEN s.conflicts >= 1 THEN ${json({ code: 'conflict' })} END,
      target = NULL, matched = NULL, conflicts = s.conflicts + 1,
      round = NULL -- out of this round: the later statements of the round must not take it as unchanged
    WHERE s.round = ${round} AND s.outcome = 'created' AND NOT EXISTS (SELECT 1 FROM profiles p WHERE p.base_id = ${b} AND p.id = s.target)`.execute(db);
}

/**
 * name: write-update
 * Matched profiles, locked in id order first (so the new values are computed from what is stored now,
 * not from an older version another transaction has since changed); then the new values by policy, the
 * kind rules checked, and one UPDATE of the profiles that change, with their 'updated' events.
 */
async function updateMatched(db: Conn, plan: WritePlan, round: number, mapped: readonly string[], validateKinds: boolean): Promise<void> {
  const b = plan.baseId;
  const locked = await sql`SELECT p.id FROM profiles p JOIN kt_write s ON s.target = p.id
    WHERE p.base_id = ${b} AND s.round = ${round} AND s.outcome IS NULL ORDER BY p.id FOR UPDATE OF p`.execute(db);
  if (!locked.rows.length) return;
  const cols = mapped.map((c) => ({ c, expr: updateExpr(c, plan.columns[c]!) }));
  // The identifiers as they would be stored, written or not (the kind rules read them).
  const ids = ['phone', 'card_number', 'email'].filter((c) => !mapped.includes(c)).map((c) => ({ c, expr: sql.ref(`q.${c}`) }));
  // The row as it would be stored: v (columns by policy, o_* as they are), then its kind.
  const proposed = sql`
    SELECT v.*, CASE WHEN v.set_kind IS NOT NULL THEN v.set_kind
        WHEN v.o_kind = 'subscriber' AND (v.phone IS NOT NULL OR v.card_number IS NOT NULL) THEN 'member'
        ELSE v.o_kind END AS kind
    FROM (
      SELECT s.line, s.target, s.set_kind, s.clear AS s_clear, q.kind AS o_kind,
        ${sql.join([...cols, ...ids].map(({ c, expr }) => sql`q.${ident(c)} AS ${ident(`o_${c}`)}, ${expr} AS ${ident(c)}`))},
        q.fields AS o_fields,
        CASE WHEN s.matched = 'member' THEN (coalesce(s.f_over, '{}') || coalesce(s.f_fill, '{}')) || q.fields
          ELSE ((coalesce(s.f_fill, '{}') || q.fields) || coalesce(s.f_over, '{}')) - coalesce(s.f_clear, '{}') END AS fields,
        q.tags AS o_tags,
        CASE WHEN s.matched = 'member' THEN ARRAY(SELECT DISTINCT x FROM unnest(q.tags || coalesce(s.tags_set, '{}') || coalesce(s.tags_add, '{}')) AS x ORDER BY x)
          WHEN s.tags_add IS NULL AND s.tags_remove IS NULL THEN coalesce(s.tags_set, q.tags)
          ELSE ARRAY(SELECT DISTINCT x FROM unnest(coalesce(s.tags_set, q.tags) || coalesce(s.tags_add, '{}')) AS x
                     WHERE x <> ALL(coalesce(s.tags_remove, '{}')) ORDER BY x) END AS tags
      FROM kt_write s JOIN profiles q ON q.base_id = ${b} AND q.id = s.target
      WHERE s.round = ${round} AND s.outcome IS NULL) v`;
  if (validateKinds) {
    // name: write-kind-rules
    // A member never turns back; a member keeps a phone or a card; a subscriber keeps its email and has nothing else.
    await sql`
      UPDATE kt_write s SET outcome = 'failed', failure = jsonb_build_object('code', 'kind', 'field', n.field, 'key', n.key)
      FROM (
        SELECT line, CASE
            WHEN o_kind = 'member' AND kind = 'subscriber' THEN 'kind'
            WHEN kind = 'member' AND phone IS NULL AND card_number IS NULL THEN CASE WHEN 'card_number' = ANY(s_clear) AND NOT 'phone' = ANY(s_clear) THEN 'cardNumber' ELSE 'phone' END
            WHEN kind = 'subscriber' AND email IS NULL THEN 'email'
            WHEN kind = 'subscriber' AND phone IS NOT NULL THEN 'phone'
            WHEN kind = 'subscriber' AND card_number IS NOT NULL THEN 'cardNumber' END AS field,
          CASE
            WHEN o_kind = 'member' AND kind = 'subscriber' THEN 'invalid_enum'
            WHEN kind = 'member' AND phone IS NULL AND card_number IS NULL THEN 'member_needs_identity'
            WHEN kind = 'subscriber' AND email IS NULL THEN 'subscriber_needs_email'
            WHEN kind = 'subscriber' AND (phone IS NOT NULL OR card_number IS NOT NULL) THEN 'subscriber_only_email' END AS key
        FROM (${proposed}) AS pr) n
      WHERE s.line = n.line AND n.key IS NOT NULL`.execute(db);
  }
  // { key: { from, to } } for what differs (a null from or to is kept: it means empty).
  const changed = (key: string, from: RawBuilder<unknown>, to: RawBuilder<unknown>) =>
    sql`CASE WHEN ${from} IS DISTINCT FROM ${to} THEN jsonb_build_object(${key}::text, jsonb_build_object('from', ${from}, 'to', ${to})) ELSE '{}'::jsonb END`;
  const updatedChanges = sql.join([
    changed('kind', sql`to_jsonb(n.o_kind)`, sql`to_jsonb(n.kind)`),
    ...cols.map(({ c }) => changed(KEY_OF.get(c)!, sql`to_jsonb(n.${ident(`o_${c}`)})`, sql`to_jsonb(n.${ident(c)})`)),
    ...plan.customKeys.map((k) => changed(`fields.${k}`, sql`n.o_fields -> ${k}::text`, sql`n.fields -> ${k}::text`)),
    changed('tags', sql`to_jsonb(n.o_tags)`, sql`to_jsonb(n.tags)`),
  ], sql` || `);
  await sql`
    WITH n AS (${proposed}),
    u AS (
      UPDATE profiles p SET kind = n.kind, ${sql.join(cols.map(({ c }) => sql`${ident(c)} = n.${ident(c)}`))}${cols.length ? sql`,` : sql``}
        fields = n.fields, tags = n.tags, updated_at = now()
      FROM n
      WHERE p.base_id = ${b} AND p.id = n.target
        AND (p.kind, ${sql.join(cols.map(({ c }) => sql.ref(`p.${c}`)))}${cols.length ? sql`,` : sql``} p.fields, p.tags)
          IS DISTINCT FROM (n.kind, ${sql.join(cols.map(({ c }) => sql.ref(`n.${c}`)))}${cols.length ? sql`,` : sql``} n.fields, n.tags)
      RETURNING p.id, n.line, ${updatedChanges} AS changes),
    ev AS (
      INSERT INTO profile_events (base_id, profile_id, actor, action, changes, source)
      SELECT ${b}, u.id, ${plan.actor}, 'updated', u.changes, ${sourceExpr(plan)} FROM u JOIN kt_write s ON s.line = u.line)
    UPDATE kt_write s SET outcome = 'updated' FROM u WHERE s.line = u.line`.execute(db);
  await sql`UPDATE kt_write SET outcome = 'unchanged' WHERE round = ${round} AND outcome IS NULL`.execute(db);
}

/**
 * name: write-fold-subscribers
 * A subscriber and a member with one email are one person (seed 002): when this round wrote either, the
 * subscriber goes into the member (the first registered, if several share the email). The member keeps
 * its values and fills its empty ones from the subscriber; tags are united; the subscriber's history and
 * manual segments move to the member; its whole row is kept in profile_merges; one 'merged' event says
 * whom, why and what was filled. Rows of this write that named the subscriber now name the member.
 */
async function foldSubscribers(db: Conn, plan: WritePlan, round: number): Promise<void> {
  const b = plan.baseId;
  const fill = WRITE_COLUMNS.filter((c) => c !== 'phone' && c !== 'card_number');
  const filled = sql`array_remove(ARRAY[${sql.join(fill.map((c) => sql`CASE WHEN p.${ident(c)} IS NULL AND sub.${ident(c)} IS NOT NULL THEN ${KEY_OF.get(c)!}::text END`))}], NULL)
    || ARRAY(SELECT 'fields.' || k FROM jsonb_object_keys(sub.fields) AS k WHERE NOT p.fields ? k ORDER BY k)`;
  const folded = await sql<{ id: number; into_id: number }>`
    WITH w AS (
      SELECT p.id, p.kind, p.email, s.outcome FROM kt_write s JOIN profiles p ON p.base_id = ${b} AND p.id = s.target
      -- An unchanged row cannot have made a pair: its profile and email were already stored, folded then.
      WHERE s.round = ${round} AND s.outcome IN ('created', 'updated') AND p.email IS NOT NULL),
    pairs AS (
      -- A scalar lookup per written row (a subscriber's email is unique in its base): a join here is
      -- planned from the statistics, and a base bulk-loaded with members only has none of subscribers
      -- (36M comparisons for 10k rows at 1M, 5.6 s, instead of 10k index probes).
      SELECT (SELECT q.id FROM profiles q WHERE q.base_id = ${b} AND q.kind = 'subscriber' AND q.email = w.email) AS sub_id, w.id AS into_id,
        CASE WHEN w.outcome = 'created' THEN 'member_created_with_email' ELSE 'member_gained_email' END AS reason
      FROM w WHERE w.kind = 'member'
      UNION ALL
      SELECT w.id, (SELECT min(p.id + 0) FROM profiles p WHERE p.base_id = ${b} AND p.email = w.email AND p.kind = 'member'),
        CASE WHEN w.outcome = 'created' THEN 'subscribed_with_member_email' ELSE 'subscriber_took_member_email' END
      FROM w WHERE w.kind = 'subscriber'),
    sub AS (
      SELECT DISTINCT ON (q.id) q.*, pairs.into_id, pairs.reason
      FROM pairs JOIN profiles q ON q.base_id = ${b} AND q.id = pairs.sub_id
      WHERE pairs.into_id IS NOT NULL
      ORDER BY q.id, pairs.into_id),
    snap AS (
      INSERT INTO profile_merges (base_id, into_id, from_id, reason, snapshot)
      SELECT ${b}, sub.into_id, sub.id, sub.reason, to_jsonb(sub) - 'into_id' - 'reason' - 'writer' - 'search' FROM sub),
    ev AS (
      INSERT INTO profile_events (base_id, profile_id, actor, action, changes, source)
      SELECT ${b}, sub.into_id, ${plan.actor}, 'merged', jsonb_build_object('from', jsonb_build_array(sub.id), 'reason', sub.reason, 'filled', to_jsonb(${filled})), ${json(plan.source)}
      FROM sub JOIN profiles p ON p.base_id = ${b} AND p.id = sub.into_id),
    history AS (
      UPDATE profile_events e SET profile_id = sub.into_id, source = e.source || jsonb_build_object('mergedFrom', sub.id)
      FROM sub WHERE e.base_id = ${b} AND e.profile_id = sub.id),
    segments AS (
      INSERT INTO segment_members (base_id, segment_id, profile_id)
      SELECT ${b}, sm.segment_id, sub.into_id FROM sub JOIN segment_members sm ON sm.base_id = ${b} AND sm.profile_id = sub.id
      ON CONFLICT DO NOTHING),
    upd AS (
      UPDATE profiles p SET ${sql.join(fill.map((c) => sql`${ident(c)} = coalesce(p.${ident(c)}, sub.${ident(c)})`))},
        fields = sub.fields || p.fields,
        tags = ARRAY(SELECT DISTINCT x FROM unnest(p.tags || sub.tags) AS x ORDER BY x),
        updated_at = now()
      FROM sub WHERE p.base_id = ${b} AND p.id = sub.into_id)
    DELETE FROM profiles d USING sub WHERE d.base_id = ${b} AND d.id = sub.id RETURNING d.id, sub.into_id`.execute(db);
  if (!folded.rows.length) return;
  const from = folded.rows.map((r) => Number(r.id));
  const into = folded.rows.map((r) => Number(r.into_id));
  // A subscriber this write created and folded: its row's data lives on in the member.
  await sql`
    UPDATE kt_write s SET target = f.into_id, outcome = CASE WHEN s.outcome = 'created' THEN 'updated' ELSE s.outcome END
    FROM unnest(${from}::bigint[], ${into}::bigint[]) AS f(id, into_id) WHERE s.target = f.id`.execute(db);
  await sql`
    UPDATE kt_write s SET merged_from = f.ids
    FROM (SELECT into_id, array_agg(id ORDER BY id) AS ids FROM unnest(${from}::bigint[], ${into}::bigint[]) AS f(id, into_id) GROUP BY into_id) f
    WHERE s.target = f.into_id AND s.round = ${round}`.execute(db);
}
