// An in-process count index per base, beside PostgreSQL. Exact counts of big
// result sets are what PostgreSQL is slow at (it must visit every matching
// row); here each column a filter has used is held as dictionary codes (or
// times, or tag bitsets), a condition becomes a bitset, and a count is a
// popcount. Meaning comes from the filter compiler's JS twin, so the index and
// the SQL cannot disagree on semantics (the property test checks all three).
//
// Exactness: every count runs in one REPEATABLE READ transaction. It first
// reads the rows written by transactions its last snapshot did not see
// (profiles.writer, profile_tombstones: migration 0003), then evaluates; any
// part it cannot evaluate in memory (quick search, pasted lists, unique
// columns) runs as SQL returning ids in that same transaction. The count is
// exact for that transaction's snapshot.
//
// Memory and time (issue 10): all bases' indexes together stay within a budget
// (KARTOTEKA_COUNT_INDEX_MB; the least recently counted base's index goes first); a
// build runs in a worker thread (facets.worker.ts: reading, parsing and its garbage off
// the main thread, the arrays moved back without a copy) while counts go to SQL, never
// waiting behind it; on the main thread only rows written since the last count are
// applied (more than a page of them: a rebuild instead), yielding to the event loop
// every few ms (facets.store.ts); tombstones are pruned once applied
// (bases.tombstones_pruned tells an index elsewhere, older than that, to rebuild); an
// index with many deleted slots is rebuilt; a failed build is logged and shown in /health.
import { Worker } from 'node:worker_threads';
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Conn, Db } from '../db/db.ts';
import { compileQuery, fold, fragment, identifiersFragment, phoneStartsSearched, searchTerms, type Compiled, type CompileContext, type FilterNode, type Query } from './filter.ts';
import type { FilterField, Row } from './filter.fields.ts';
import { STANDARD_FIELDS } from '../fields/standard.ts';
import { connectionString } from '../db/db.ts';
import { popcount, unpackStore, Store, type Bits, type Column, type ColumnKind, type ColumnPlan } from './facets.store.ts';
import type { BuildReply, BuildRequest } from './facets.worker.ts';

/** Beyond this many distinct values a column is left to SQL: testing each value would cost more. */
const MAX_DICT = 200_000;

/** Deleted slots past which an index is rebuilt rather than kept: a quarter of its slots, at least this many. */
let rebuildMinDead = 50_000;
/** How often an index prunes the tombstones it has applied. */
let pruneEveryMs = 60_000;

/** Column sources: a standard column, a custom field, or several standard columns read together. */
interface Source {
  key: string;
  /** SQL select list producing one value per column, aliased c0, c1, … */
  select: RawBuilder<unknown>[];
  /** Puts the loaded values into a row the JS twin can read. */
  toRow(vals: unknown[]): Row;
  /** Emptiness only: values are reduced to null, '', or one representative non-empty value. */
  emptiness: boolean;
}

/** Rows read per statement while loading (a page at a time: no million-row result in memory at once). */
let page = 10_000;

/** Thrown inside evaluation when a part cannot be evaluated in memory at all. */
class Unsupported extends Error {}

/** What a column is read from: its kind and its SQL (one expression per value; a dictionary may read several). */
interface ColumnSql {
  kind: ColumnKind;
  select: RawBuilder<unknown>[];
}

const STALE = Symbol('stale');

export class FacetIndex {
  readonly baseId: number;
  private store = new Store();
  /** The SQL of every column the store holds (re-read for rows written since, and for a rebuild). */
  private sources = new Map<string, ColumnSql>();
  private snapshot: string | null = null;
  private xmin: string | null = null;
  /** Set when the store missed changes it cannot catch up with in place: a rebuild replaces it. */
  private stale = false;
  private lock: Promise<unknown> = Promise.resolve();
  private prunedAt = Date.now();
  /** The build running, and the columns it builds. */
  private run: { keys: Set<string>; done: Promise<void> } | null = null;
  /** The build queued after it, with every column asked for meanwhile. */
  private next: { want: Map<string, ColumnSql>; done: Promise<void> } | null = null;
  builtAt = Date.now();
  /** Set once the index is (being) built: counts of this base go through it. */
  warm = false;
  /** When a count last went through this index (the budget evicts the least recent first). */
  lastUsed = Date.now();
  /** The last pruning of tombstones started (awaited by tests). */
  pruning: Promise<void> = Promise.resolve();
  /** The last build that failed, for /health. */
  failure: { message: string; at: string } | null = null;

  constructor(baseId: number) {
    this.baseId = baseId;
  }

  /** A build (first load, columns added, or a rebuild) is running: counts go to SQL meanwhile. */
  get building(): boolean {
    return this.run !== null || this.next !== null;
  }

  get size(): number {
    return popcount(this.store.live);
  }

  /** Slots of deleted profiles. */
  get dead(): number {
    return this.store.n - this.size;
  }

  bytes(): number {
    return this.store.bytes();
  }

  /** Runs `work` alone: catching up mutates the store, and evaluations must not see it half-done. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** The select list of `cols` (`p.id` first), each value under its own alias. */
  private selectList(cols: Map<string, ColumnSql>): RawBuilder<unknown> {
    const parts: RawBuilder<unknown>[] = [sql`p.id`];
    for (const [key, c] of cols) c.select.forEach((s, i) => parts.push(sql`${s} AS ${sql.ref(`${alias_(key)}_${i}`)}`));
    return sql.join(parts);
  }

  private planOf(cols: Map<string, ColumnSql>): ColumnPlan[] {
    return [...cols].map(([key, c]) => ({ key, kind: c.kind, names: c.select.map((_, i) => `${alias_(key)}_${i}`) }));
  }

  /** Whether the store can answer a query needing `keys` once caught up. */
  private ready(keys: Iterable<string>): boolean {
    if (this.stale || this.snapshot === null) return false;
    for (const k of keys) if (!this.store.columns.has(k)) return false;
    return true;
  }

  /**
   * Brings the store to the snapshot of `trx` (REPEATABLE READ): deletions, then the rows written since
   * (an id deleted and written again stays alive). False when it cannot in place — an index elsewhere
   * pruned tombstones this one has not applied, or more rows changed than a page (a big import: the
   * worker rebuilds rather than the main thread parsing them).
   */
  private async catchUp(trx: Conn): Promise<boolean> {
    const snap = (await sql<{ s: string; x: string }>`SELECT pg_current_snapshot()::text AS s, pg_snapshot_xmin(pg_current_snapshot())::text AS x`.execute(trx)).rows[0]!;
    const h = await sql<{ behind: boolean }>`SELECT tombstones_pruned > ${this.xmin}::xid8 AS behind FROM bases WHERE id = ${this.baseId}`.execute(trx);
    if (h.rows[0]?.behind) return false;
    const changed = await sql<Record<string, unknown>>`
      SELECT ${this.selectList(this.sources)} FROM profiles p
      WHERE p.base_id = ${this.baseId} AND p.writer >= ${this.xmin}::xid8 AND NOT pg_visible_in_snapshot(p.writer, ${this.snapshot}::pg_snapshot)
      LIMIT ${page + 1}`.execute(trx);
    if (changed.rows.length > page) return false;
    const gone = await sql<{ id: number }>`
      SELECT t.id FROM profile_tombstones t
      WHERE t.base_id = ${this.baseId} AND t.writer >= ${this.xmin}::xid8 AND NOT pg_visible_in_snapshot(t.writer, ${this.snapshot}::pg_snapshot)`.execute(trx);
    this.store.kill(gone.rows.map((r) => Number(r.id)));
    await this.store.apply(changed.rows, this.planOf(this.sources));
    this.snapshot = snap.s;
    this.xmin = snap.x;
    return true;
  }

  /**
   * Builds a new store in the worker — the columns held plus `want` — and puts it in place of the old
   * one. A build already running that covers `want` is waited for; otherwise `want` joins the one build
   * queued after it (a storm of different queries makes one more build, not one each). A failure is
   * logged and kept for /health.
   */
  private build(db: Db, want: Map<string, ColumnSql>): Promise<void> {
    if (this.run && [...want.keys()].every((k) => this.run!.keys.has(k))) return this.run.done;
    if (this.next) {
      for (const [k, c] of want) this.next.want.set(k, c);
      return this.next.done;
    }
    if (this.run) {
      const next: { want: Map<string, ColumnSql>; done: Promise<void> } = { want: new Map(want), done: Promise.resolve() };
      next.done = this.run.done.then(() => this.start(db, next.want));
      this.next = next;
      return next.done;
    }
    return this.start(db, want);
  }

  private start(db: Db, want: Map<string, ColumnSql>): Promise<void> {
    this.next = null;
    const cols = new Map([...this.sources, ...want]);
    const run = { keys: new Set(cols.keys()), done: Promise.resolve() };
    this.run = run;
    run.done = (async () => {
      try {
        const list = this.selectList(cols).compile(db);
        const reply = await buildInWorker({ url: connectionString(db), baseId: this.baseId, list: { sql: list.sql, parameters: list.parameters }, plan: this.planOf(cols), page });
        await this.exclusive(async () => {
          this.store = unpackStore(reply.packed);
          this.sources = cols;
          this.snapshot = reply.snapshot;
          this.xmin = reply.xmin;
          this.stale = false;
        });
        this.failure = null;
        this.builtAt = Date.now();
      } catch (e) {
        this.failure = { message: e instanceof Error ? e.message : String(e), at: new Date().toISOString() };
        this.warm = false;
        log(`count index of base ${this.baseId}: build failed`, e);
      } finally {
        if (this.run === run) this.run = null;
      }
      enforceBudget(this);
    })();
    return run.done;
  }

  /** Forgets everything (memory freed): the next count builds the index again. */
  private reset() {
    this.store = new Store();
    this.sources = new Map();
    this.snapshot = null;
    this.xmin = null;
    this.stale = false;
  }

  /**
   * Evaluates a query in one REPEATABLE READ transaction after bringing the index to its snapshot,
   * and hands the matching bits to `then` in that transaction. Undefined when nothing of the query
   * benefits from the index (the caller then asks SQL), or — unless `wait` — while the index builds
   * what the query needs. `ctx` comes from compileContext for this base.
   */
  private async evaluate<T>(
    db: Db,
    query: Query,
    ctx: CompileContext,
    then: (trx: Conn, bits: Bits) => Promise<T>,
    opts: { wait: boolean },
  ): Promise<T | undefined> {
    const plan = new Planner(ctx);
    try {
      await plan.query(query);
    } catch (e) {
      if (e instanceof Unsupported) return undefined;
      throw e;
    }
    if (!plan.inMemory) return undefined;
    this.lastUsed = Date.now();
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!this.ready(plan.columns.keys())) {
        const built = this.build(db, plan.columns);
        if (!opts.wait) return undefined;
        await built;
        if (this.failure) return undefined;
        continue;
      }
      const r = await this.exclusive(() =>
        db
          .transaction()
          .setIsolationLevel('repeatable read')
          .execute(async (trx) => {
            try {
              if (!this.ready(plan.columns.keys()) || !(await this.catchUp(trx))) {
                this.stale = true;
                return STALE;
              }
            } catch (e) {
              // Changes half applied would give wrong counts ever after: start afresh.
              this.reset();
              throw e;
            }
            return { value: await then(trx, await new Evaluator(this, trx, ctx).query(query)) };
          }),
      );
      if (r === STALE) continue;
      this.afterUse(db);
      return r.value;
    }
    return undefined;
  }

  /** After a count: prune applied tombstones now and then; rebuild when deleted slots pile up; keep to the budget. */
  private afterUse(db: Db) {
    if (this.dead > Math.max(rebuildMinDead, this.store.n / 4)) {
      retire(this);
      return;
    }
    // Not while a build runs: its snapshot is older than this one, and it would find its tombstones gone.
    if (Date.now() - this.prunedAt >= pruneEveryMs && this.xmin !== null && !this.building) {
      this.prunedAt = Date.now();
      this.pruning = pruneTombstones(db, this.baseId, this.xmin).catch((e) => log(`count index of base ${this.baseId}: pruning tombstones failed`, e));
    }
    enforceBudget(this);
  }

  /** The exact count of a query, or undefined when the index does not help (or, unless `wait`, is not built yet). */
  async count(db: Db, query: Query, ctx: CompileContext, opts = { wait: true }): Promise<number | undefined> {
    return this.evaluate(db, query, ctx, async (_trx, bits) => popcount(bits), opts);
  }

  /**
   * The count and, in the same snapshot, a page in id order (ids after `afterId`): the page needs no
   * second scan in PostgreSQL, only a fetch of the rows by id. Undefined when the index does not help.
   */
  async countAndPage<R>(
    db: Db,
    query: Query,
    ctx: CompileContext,
    page: { limit: number; afterId: number | null; desc: boolean; wait?: boolean; fetch: (trx: Conn, ids: number[]) => Promise<R[]> },
  ): Promise<{ count: number; rows: R[] } | undefined> {
    return this.evaluate(
      db,
      query,
      ctx,
      async (trx, bits) => {
        const ids = this.firstIds(bits, page.limit, page.afterId, page.desc);
        return { count: popcount(bits), rows: ids.length ? await page.fetch(trx, ids) : [] };
      },
      { wait: page.wait ?? true },
    );
  }

  /** The `limit` smallest (or largest) ids among the set bits, past `after`: a bounded heap, one pass. */
  private firstIds(bits: Bits, limit: number, after: number | null, desc: boolean): number[] {
    const heap: number[] = []; // worst kept id on top
    const worse = (a: number, b: number) => (desc ? a < b : a > b);
    const push = (id: number) => {
      heap.push(id);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[parent]!)) break;
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
    };
    const replaceTop = (id: number) => {
      heap[0] = id;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    };
    const ids = this.store.idAt;
    for (let w = 0; w < bits.length; w++) {
      let word = bits[w]!;
      while (word !== 0) {
        const bit = 31 - Math.clz32(word & -word);
        word &= word - 1;
        const id = ids[w * 32 + bit]!;
        if (after !== null && (desc ? id >= after : id <= after)) continue;
        if (heap.length < limit) push(id);
        else if (worse(heap[0]!, id)) replaceTop(id);
      }
    }
    return heap.sort((a, b) => (desc ? b - a : a - b));
  }

  // --- used by the evaluator -------------------------------------------------

  words(): number {
    return this.store.live.length;
  }
  liveBits(): Bits {
    return this.store.live;
  }
  column(key: string): Column | undefined {
    return this.store.columns.get(key);
  }
  count_(): number {
    return this.store.n;
  }
  positionOf(id: number): number | undefined {
    return this.store.pos.get(id);
  }
}

const alias_ = (key: string) => 'k_' + key.replace(/[^A-Za-z0-9]/g, '_');


// ---------------------------------------------------------------------------
// which columns a query needs, and whether the index helps at all
// ---------------------------------------------------------------------------

/**
 * Emptiness needs only three states (absent, empty, present); the twin gets a representative
 * value of the field's type for "present", so a unique column stays three dictionary entries.
 */
/** The standard fields of quick search's words half (kt_words: names, city, point of sale, UTM). */
const WORD_FIELDS: readonly string[] = STANDARD_FIELDS.filter((f) => f.words).map((f) => f.key);

const STATE_SQL = (present: string, empty: string) => sql.raw(`(CASE WHEN ${present} THEN 2 WHEN ${empty} THEN 1 ELSE 0 END)`);

function representative(f: FilterField): unknown {
  switch (f.type) {
    case 'number':
      return 0;
    case 'boolean':
      return true;
    case 'valueTags':
      return ['x'];
    case 'datetime':
      return new Date(0);
    default:
      return 'x';
  }
}

function sourceFor(f: FilterField, emptiness: boolean): Source {
  if (f.key === 'fullName') {
    return {
      key: 'fullName',
      select: [sql`p.last_name`, sql`p.first_name`, sql`p.middle_name`],
      toRow: ([a, b, c]) => ({ last_name: a, first_name: b, middle_name: c, fields: {}, tags: [] }) as Row,
      emptiness: false,
    };
  }
  if (f.jsonKey !== undefined) {
    const k = f.jsonKey;
    if (!/^[a-z][A-Za-z0-9_]{0,62}$/.test(k)) throw new Unsupported();
    const put = (v: unknown) => ({ fields: v === null || v === undefined ? {} : { [k]: v }, tags: [] }) as Row;
    if (emptiness) {
      const j = `p.fields -> '${k}'`;
      const rep = representative(f);
      return {
        key: `e:${k}`,
        select: [STATE_SQL(`${j} IS NOT NULL AND ${j} NOT IN ('""'::jsonb, '[]'::jsonb)`, `${j} IS NOT NULL`)],
        toRow: ([state]) => put(state === 2 ? rep : state === 1 ? (f.type === 'valueTags' ? [] : '') : null),
        emptiness: true,
      };
    }
    return { key: `f:${k}`, select: [sql`p.fields -> ${k}::text`], toRow: ([v]) => put(v), emptiness: false };
  }
  const col = f.column;
  if (!col || !/^[a-z_0-9]+$/.test(col)) throw new Unsupported();
  if (emptiness) {
    const rep = representative(f);
    return {
      key: `e:${col}`,
      select: [STATE_SQL(`p.${col} IS NOT NULL AND p.${col}::text <> ''`, `p.${col} IS NOT NULL`)],
      toRow: ([state]) => ({ [col]: state === 2 ? rep : state === 1 ? '' : null, fields: {}, tags: [] }) as Row,
      emptiness: true,
    };
  }
  return { key: `c:${col}`, select: [sql.raw(`p.${col}`)], toRow: ([v]) => ({ [col]: v, fields: {}, tags: [] }) as Row, emptiness: false };
}

/** Walks a query once to find the columns it needs; throws Unsupported for what the index cannot do. */
class Planner {
  readonly columns = new Map<string, ColumnSql>();
  inMemory = false;
  private readonly ctx: CompileContext;
  private depth = 0;
  constructor(ctx: CompileContext) {
    this.ctx = ctx;
  }

  async query(q: Query, top = true) {
    // Word terms use the name dictionaries. A search of phone-like terms alone is all SQL: the index
    // would only add its snapshot transaction to PostgreSQL's own count and first page (a trigram
    // bitmap scan and a top-N sort: q5 in docs/performance.md), so it is left to PostgreSQL.
    if (top && q.q !== undefined && q.filter === undefined && q.list === undefined && searchTerms(q.q, this.ctx.region).every((t) => 'digits' in t)) return;
    if (q.q !== undefined) {
      for (const key of WORD_FIELDS) {
        const source = sourceFor(this.ctx.fields.get(key)!, false);
        this.columns.set(source.key, { kind: 'dict', select: source.select });
      }
      this.inMemory = true;
    }
    if (q.filter !== undefined) await this.node(q.filter);
  }

  private async node(n: FilterNode) {
    if (++this.depth > 50) throw new Unsupported();
    const o = n as Record<string, unknown>;
    if (Array.isArray(o.and)) for (const c of o.and) await this.node(c as FilterNode);
    else if (Array.isArray(o.or)) for (const c of o.or) await this.node(c as FilterNode);
    else if (o.not !== undefined) await this.node(o.not as FilterNode);
    else await this.condition(o as { field: string; op: string; value?: unknown });
  }

  private async condition(c: { field: string; op: string; value?: unknown }) {
    const f = this.ctx.fields.get(c.field);
    if (!f) throw new Unsupported();
    if (f.type === 'segment') {
      const seg = await this.ctx.segment(Number(c.value));
      if (seg?.kind === 'dynamic') await this.query(seg.query ?? {}, false);
      return;
    }
    if (f.type === 'tags') {
      this.columns.set('tags', { kind: 'tags', select: [sql`p.tags`] });
      this.inMemory = true;
      return;
    }
    if (f.type === 'datetime') {
      const name = f.key === 'createdAt' ? 'created_at' : 'updated_at';
      // epoch ms floored as a Date holds it, selected as a number (no Date parsed per row)
      this.columns.set(`t:${name}`, { kind: 'time', select: [sql.raw(`floor(extract(epoch FROM p.${name}) * 1000)::float8`)] });
      this.inMemory = true;
      return;
    }
    // Unique identifiers and ids are left to SQL (indexed there; a dictionary would be as big as the base).
    if (['phone', 'email', 'card', 'number'].includes(f.type) && !(c.op === 'isEmpty' || c.op === 'isNotEmpty') && f.jsonKey === undefined) return;
    const emptiness = c.op === 'isEmpty' || c.op === 'isNotEmpty';
    const source = sourceFor(f, emptiness);
    this.columns.set(source.key, { kind: 'dict', select: source.select });
    this.inMemory = true;
  }
}

// ---------------------------------------------------------------------------
// evaluation
// ---------------------------------------------------------------------------

class Evaluator {
  private readonly ix: FacetIndex;
  private readonly trx: Conn;
  private readonly ctx: CompileContext;
  constructor(ix: FacetIndex, trx: Conn, ctx: CompileContext) {
    this.ix = ix;
    this.trx = trx;
    this.ctx = ctx;
  }

  private empty(): Bits {
    return new Uint32Array(this.ix.words());
  }
  private and(a: Bits, b: Bits): Bits {
    for (let i = 0; i < a.length; i++) a[i]! &= b[i]!;
    return a;
  }
  private or(a: Bits, b: Bits): Bits {
    for (let i = 0; i < a.length; i++) a[i]! |= b[i]!;
    return a;
  }
  private not(a: Bits): Bits {
    const live = this.ix.liveBits();
    for (let i = 0; i < a.length; i++) a[i] = ~a[i]! & live[i]!;
    return a;
  }

  async query(q: Query): Promise<Bits> {
    let acc = this.not(this.empty()); // everything live
    if (q.q !== undefined) acc = this.and(acc, await this.search(q.q));
    if (q.list !== undefined) acc = this.and(acc, await this.viaSql({ list: q.list }));
    if (q.filter !== undefined) acc = this.and(acc, await this.node(q.filter));
    return acc;
  }

  /**
   * Quick search: a word occurs in a profile when it occurs in one of its name parts (decided here,
   * per distinct name) or in its identifiers (email, card, phone digits…: SQL's trigram index, which
   * returns few rows for a name-like word).
   */
  private async search(q: string | string[]): Promise<Bits> {
    const terms = searchTerms(q, this.ctx.region);
    if (!terms.length) return this.not(this.empty());
    const acc = this.empty();
    for (const t of terms) {
      let bits: Bits;
      if ('digits' in t) {
        const c: Compiled = t.trunk ? { sql: sql<SqlBool>`(${fragment(t.digits).sql} OR ${phoneStartsSearched(t.trunk).sql})`, test: () => false } : fragment(t.digits);
        bits = await this.viaCompiled(c.sql);
      } else {
        bits = this.not(this.empty());
        for (const word of t.words) this.and(bits, this.or(this.words(word), await this.viaCompiled(identifiersFragment(word))));
      }
      this.or(acc, bits);
    }
    return acc;
  }

  /** Profiles with `word` in one of their words-half values: each distinct value tested once; a column none of whose values match costs nothing. */
  private words(word: string): Bits {
    const bits = this.empty();
    const n = this.ix.count_();
    for (const key of WORD_FIELDS) {
      const source = sourceFor(this.ctx.fields.get(key)!, false);
      const col = this.ix.column(source.key);
      if (!col || col.kind !== 'dict') throw new Unsupported();
      let any = false;
      const pass = col.col.values.map(([v]) => (typeof v === 'string' && fold(v).includes(word) ? ((any = true), 1) : 0));
      if (!any) continue;
      const codes = col.col.codes;
      for (let p = 0; p < n; p++) if (pass[codes[p]!]) bits[p >>> 5]! |= 1 << (p & 31);
    }
    return this.and(bits, this.ix.liveBits());
  }

  private async node(n: FilterNode): Promise<Bits> {
    const o = n as Record<string, unknown>;
    if (Array.isArray(o.and)) {
      let acc = this.not(this.empty());
      for (const c of o.and) acc = this.and(acc, await this.node(c as FilterNode));
      return acc;
    }
    if (Array.isArray(o.or)) {
      let acc = this.empty();
      for (const c of o.or) acc = this.or(acc, await this.node(c as FilterNode));
      return acc;
    }
    if (o.not !== undefined) return this.not(await this.node(o.not as FilterNode));
    return this.condition(n as { field: string; op: string; value?: unknown });
  }

  /** Any part as SQL returning ids, in the same transaction (same snapshot) as the index. */
  private async viaSql(q: Query): Promise<Bits> {
    return this.viaCompiled((await compileQuery(q, this.ctx)).sql);
  }

  private async viaCompiled(where: RawBuilder<SqlBool>): Promise<Bits> {
    const r = await sql<{ id: number }>`SELECT p.id FROM profiles p WHERE p.base_id = ${this.ctx.baseId} AND ${where}`.execute(this.trx);
    const bits = this.empty();
    for (const row of r.rows) {
      const p = this.ix.positionOf(Number(row.id));
      if (p !== undefined) bits[p >>> 5]! |= 1 << (p & 31);
    }
    return bits;
  }

  private async condition(c: { field: string; op: string; value?: unknown }): Promise<Bits> {
    const f = this.ctx.fields.get(c.field)!;
    const single = { filter: c as FilterNode };
    if (f.type === 'segment') {
      const seg = await this.ctx.segment(Number(c.value));
      if (seg?.kind === 'dynamic') {
        const inner = await this.query(seg.query ?? {});
        return c.op === 'inSegment' ? inner : this.not(inner);
      }
      return this.viaSql(single);
    }
    if (f.type === 'tags') return this.tags(c);
    if (f.type === 'datetime') return this.time(f, c);
    const emptiness = c.op === 'isEmpty' || c.op === 'isNotEmpty';
    if (['phone', 'email', 'card', 'number'].includes(f.type) && !emptiness && f.jsonKey === undefined) return this.viaSql(single);
    const source = sourceFor(f, emptiness);
    const col = this.ix.column(source.key);
    if (!col || col.kind !== 'dict' || col.col.values.length > MAX_DICT) return this.viaSql(single);
    // The twin decides each distinct value once; rows take their value's answer.
    const { test } = await compileQuery(single, this.ctx);
    const pass = new Uint8Array(col.col.values.length);
    col.col.values.forEach((vals, i) => (pass[i] = test(source.toRow(vals)) ? 1 : 0));
    const bits = this.empty();
    const live = this.ix.liveBits();
    const codes = col.col.codes;
    const n = this.ix.count_();
    for (let p = 0; p < n; p++) if (pass[codes[p]!]) bits[p >>> 5]! |= 1 << (p & 31);
    return this.and(bits, live.slice());
  }

  private tags(c: { op: string; value?: unknown }): Bits {
    const col = this.ix.column('tags');
    if (!col || col.kind !== 'tags') throw new Unsupported();
    const ids = Array.isArray(c.value) ? c.value.map(Number) : [];
    const anyOf = (list: number[]) => {
      const acc = this.empty();
      for (const id of list) {
        const b = col.bits.get(id);
        if (b) this.or(acc, b);
      }
      return this.and(acc, this.ix.liveBits());
    };
    switch (c.op) {
      case 'hasAny':
        return anyOf(ids);
      case 'hasNone':
        return this.not(anyOf(ids));
      case 'hasAll': {
        let acc = this.not(this.empty());
        for (const id of ids) {
          const b = col.bits.get(id);
          if (!b) return this.empty();
          acc = this.and(acc, b);
        }
        return acc;
      }
      case 'isNotEmpty':
        return anyOf([...col.bits.keys()]);
      case 'isEmpty':
        return this.not(anyOf([...col.bits.keys()]));
      default:
        throw new Unsupported();
    }
  }

  /** Times: the twin is monotone in time for every datetime operator, so a boundary search finds where it flips. */
  private async time(f: FilterField, c: { field: string; op: string; value?: unknown }): Promise<Bits> {
    const name = f.key === 'createdAt' ? 'created_at' : 'updated_at';
    const col = this.ix.column(`t:${name}`);
    if (!col || col.kind !== 'time') throw new Unsupported();
    const parts: { op: string; value: unknown }[] =
      c.op === 'between' && Array.isArray(c.value) ? [{ op: 'gte', value: c.value[0] }, { op: 'lte', value: c.value[1] }] : [{ op: c.op, value: c.value }];
    let lo = MIN_MS;
    let hi = MAX_MS;
    for (const part of parts) {
      const { test } = await compileQuery({ filter: { field: c.field, op: part.op, value: part.value } }, this.ctx);
      const at = (t: number) => test({ [name]: new Date(t), fields: {}, tags: [] } as unknown as Row);
      const rising = part.op === 'gt' || part.op === 'gte' || part.op === 'withinLastDays';
      // rising: false … false true … true; falling: true … true false … false. Find where it flips.
      const inside = rising ? at(MAX_MS) : at(MIN_MS);
      if (!inside) return this.empty();
      const edge = flip(rising ? (t) => !at(t) : at);
      if (rising) lo = Math.max(lo, at(MIN_MS) ? MIN_MS : edge + 1);
      else hi = Math.min(hi, at(MAX_MS) ? MAX_MS : edge);
    }
    const bits = this.empty();
    const ms = col.col.ms;
    const n = this.ix.count_();
    for (let p = 0; p < n; p++) {
      const t = ms[p]!;
      if (t >= lo && t <= hi) bits[p >>> 5]! |= 1 << (p & 31);
    }
    return this.and(bits, this.ix.liveBits());
  }
}

const MIN_MS = -8.64e15;
const MAX_MS = 8.64e15;

/** The last time t for which `holds` is true, given holds(MIN_MS) is true and it flips once. */
function flip(holds: (t: number) => boolean): number {
  let a = MIN_MS;
  let b = MAX_MS;
  if (holds(b)) return b;
  while (b - a > 1) {
    const m = Math.floor((a + b) / 2);
    if (holds(m)) a = m;
    else b = m;
  }
  return a;
}

// ---------------------------------------------------------------------------
// one index per base per process
// ---------------------------------------------------------------------------

/**
 * The one build worker (facets.worker.ts): started on the first build, builds one at a time, and does
 * not keep the process alive when idle.
 */
let worker: Worker | null = null;
let builds = 0;
let queue: Promise<unknown> = Promise.resolve();
const waiting = new Map<number, { resolve: (r: BuildReply & { ok: true }) => void; reject: (e: Error) => void }>();

function buildInWorker(req: Omit<BuildRequest, 'id'>): Promise<BuildReply & { ok: true }> {
  const run = queue.then(
    () =>
      new Promise<BuildReply & { ok: true }>((resolve, reject) => {
        if (!worker) {
          const w = new Worker(new URL('./facets.worker.ts', import.meta.url));
          w.on('message', (m: BuildReply) => {
            const wait = waiting.get(m.id);
            waiting.delete(m.id);
            if (!waiting.size) w.unref();
            if (m.ok) wait?.resolve(m);
            else wait?.reject(new Error(m.message));
          });
          const fail = (e: Error) => {
            if (worker === w) worker = null;
            for (const wait of waiting.values()) wait.reject(e);
            waiting.clear();
          };
          w.on('error', fail);
          w.on('exit', (code) => fail(new Error(`the count index worker exited (${code})`)));
          worker = w;
        }
        const id = ++builds;
        waiting.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ ...req, id } satisfies BuildRequest);
      }),
  );
  queue = run.catch(() => undefined);
  return run;
}

const indexes = new Map<number, FacetIndex>();
let budget = 512 * 1048576;
let log: (msg: string, err?: unknown) => void = (msg, err) => console.error(msg, err);

/** The memory all bases' indexes may take together, where failures are logged (the server's logger); tests tune the rest. */
export function configureFacets(opts: { budgetBytes?: number; log?: (msg: string, err?: unknown) => void; rebuildMinDead?: number; pruneEveryMs?: number; pageRows?: number }): void {
  if (opts.pageRows !== undefined) page = opts.pageRows;
  if (opts.budgetBytes !== undefined) budget = opts.budgetBytes;
  if (opts.log) log = opts.log;
  if (opts.rebuildMinDead !== undefined) rebuildMinDead = opts.rebuildMinDead;
  if (opts.pruneEveryMs !== undefined) pruneEveryMs = opts.pruneEveryMs;
}

export function facetIndex(baseId: number): FacetIndex {
  let ix = indexes.get(baseId);
  if (!ix) indexes.set(baseId, (ix = new FacetIndex(baseId)));
  return ix;
}

export function dropFacetIndex(baseId: number): void {
  indexes.delete(baseId);
}

/** A fresh index takes the place of one with too many deleted slots; it builds on the next count. */
function retire(ix: FacetIndex) {
  if (indexes.get(ix.baseId) !== ix) return;
  const next = new FacetIndex(ix.baseId);
  next.warm = true;
  indexes.set(ix.baseId, next);
}

/** Evicts the least recently counted bases' indexes until all fit the budget (never `keep`, just used). */
function enforceBudget(keep: FacetIndex) {
  let total = 0;
  for (const ix of indexes.values()) total += ix.bytes();
  if (total <= budget) return;
  // The index just used stays even alone over the budget (evicting it would rebuild it on the next count).
  const order = [...indexes.values()].filter((ix) => ix !== keep).sort((a, b) => a.lastUsed - b.lastUsed);
  for (const ix of order) {
    if (total <= budget) break;
    if (ix.building) continue;
    total -= ix.bytes();
    indexes.delete(ix.baseId);
    log(`count index of base ${ix.baseId} evicted: the indexes exceed KARTOTEKA_COUNT_INDEX_MB (${Math.round(budget / 1048576)} MB)`);
  }
}

/**
 * Deletes the tombstones written before `xmin` (this index applied them all) and raises the base's
 * horizon so an index elsewhere that has not yet applied them rebuilds instead of missing a deletion.
 */
async function pruneTombstones(db: Db, baseId: number, xmin: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`UPDATE bases SET tombstones_pruned = greatest(tombstones_pruned, ${xmin}::xid8) WHERE id = ${baseId}`.execute(trx);
    await sql`DELETE FROM profile_tombstones WHERE base_id = ${baseId} AND writer < ${xmin}::xid8`.execute(trx);
  });
}

/** What /health shows of the count indexes. */
export function facetsHealth() {
  const list = [...indexes.values()];
  return {
    bases: list.filter((ix) => ix.warm).length,
    memoryMb: Math.round((list.reduce((s, ix) => s + ix.bytes(), 0) / 1048576) * 10) / 10,
    budgetMb: Math.round(budget / 1048576),
    building: list.filter((ix) => ix.building).map((ix) => ix.baseId),
    failed: list.flatMap((ix) => (ix.failure ? [{ baseId: ix.baseId, ...ix.failure }] : [])),
  };
}
