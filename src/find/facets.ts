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
// build runs in the background while counts go to SQL, never waiting behind it; long
// loops yield to the event loop every CHUNK rows; tombstones are pruned once applied
// (bases.tombstones_pruned tells an index elsewhere, older than that, to rebuild); an
// index with many deleted slots is rebuilt; a failed build is logged and shown in /health.
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Conn, Db } from '../db/db.ts';
import { compileQuery, fold, fragment, identifiersFragment, phoneStartsSearched, searchTerms, type Compiled, type CompileContext, type FilterNode, type Query } from './filter.ts';
import type { FilterField, Row } from './filter.fields.ts';
import { STANDARD_FIELDS } from '../fields/standard.ts';

const WORD = 32;
/** Beyond this many distinct values a column is left to SQL: testing each value would cost more. */
const MAX_DICT = 200_000;

type Bits = Uint32Array;

/** Rows handled between two yields to the event loop (about 5-15 ms of work). */
const CHUNK = 16_384;
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Deleted slots past which an index is rebuilt rather than kept: a quarter of its slots, at least this many. */
let rebuildMinDead = 50_000;
/** How often an index prunes the tombstones it has applied. */
let pruneEveryMs = 60_000;

function popcount(b: Bits): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    let v = b[i]!;
    v -= (v >>> 1) & 0x55555555;
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    n += (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return n;
}

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

class DictColumn {
  codes: Int32Array;
  values: unknown[][] = [];
  lookup = new Map<string, number>();
  constructor(capacity: number) {
    this.codes = new Int32Array(capacity);
  }
  code(vals: unknown[]): number {
    const k = JSON.stringify(vals);
    let c = this.lookup.get(k);
    if (c === undefined) {
      c = this.values.length;
      this.values.push(vals);
      this.lookup.set(k, c);
    }
    return c;
  }
}

class TimeColumn {
  ms: Float64Array;
  constructor(capacity: number) {
    this.ms = new Float64Array(capacity);
  }
}

type Column = { kind: 'dict'; col: DictColumn; source: Source } | { kind: 'time'; col: TimeColumn; name: string } | { kind: 'tags'; bits: Map<number, Bits> };

/**
 * Profile id -> position, open addressing over typed arrays: a JS Map of a million numbers rehashes in
 * one long pause as it grows and is traced entry by entry by every major GC (2.4 s of a 26 s count storm
 * at 1M went to Map.set alone); this one is two flat arrays, sized ahead when the count is known.
 */
class IdMap {
  private keys = new Float64Array(0); // 0: empty (ids start at 1)
  private vals = new Int32Array(0);
  private mask = -1;
  size = 0;
  constructor(expected = 0) {
    this.resize(expected);
  }
  private resize(expected: number) {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    const [keys, vals] = [this.keys, this.vals];
    this.keys = new Float64Array(cap);
    this.vals = new Int32Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.set(keys[i]!, vals[i]!);
  }
  /** Makes room for `expected` entries without rehashing on the way. */
  reserve(expected: number) {
    if (expected * 2 > this.keys.length) this.resize(expected);
  }
  private slot(id: number): number {
    let i = Math.imul(id | 0, 0x9e3779b1) ^ Math.floor(id / 4294967296);
    i &= this.mask;
    while (this.keys[i] !== 0 && this.keys[i] !== id) i = (i + 1) & this.mask;
    return i;
  }
  get(id: number): number | undefined {
    const i = this.slot(id);
    return this.keys[i] === id ? this.vals[i] : undefined;
  }
  set(id: number, p: number) {
    if ((this.size + 1) * 2 > this.keys.length) this.resize(this.size + 1);
    const i = this.slot(id);
    if (this.keys[i] !== id) {
      this.keys[i] = id;
      this.size++;
    }
    this.vals[i] = p;
  }
  get byteLength(): number {
    return this.keys.byteLength + this.vals.byteLength;
  }
}

/** Rows read per statement while loading (a page at a time: no million-row result in memory at once). */
const PAGE = 50_000;

/** Thrown inside evaluation when a part cannot be evaluated in memory at all. */
class Unsupported extends Error {}

export class FacetIndex {
  readonly baseId: number;
  private n = 0;
  private capacity = 0;
  private pos = new IdMap();
  /** Position -> profile id (for pages in id order). */
  private idAt = new Float64Array(0);
  private live: Bits = new Uint32Array(0);
  private columns = new Map<string, Column>();
  private snapshot: string | null = null;
  private xmin: string | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  private prunedAt = Date.now();
  builtAt = Date.now();
  /** Set once the index is (being) built: counts of this base go through it. */
  warm = false;
  /** A build (first load, or a column loaded) is running: counts go to SQL meanwhile. */
  building = false;
  /** When a count last went through this index (the budget evicts the least recent first). */
  lastUsed = Date.now();
  /** The last pruning of tombstones started (awaited by tests). */
  pruning: Promise<void> = Promise.resolve();
  /** The last build that failed, for /health. */
  failure: { message: string; at: string } | null = null;

  constructor(baseId: number) {
    this.baseId = baseId;
  }

  get size(): number {
    return popcount(this.live);
  }

  /** Slots of deleted profiles. */
  get dead(): number {
    return this.n - this.size;
  }

  /** Bytes held, from the arrays' sizes (a dictionary value taken as 64 bytes). */
  bytes(): number {
    let b = this.live.byteLength + this.pos.byteLength + this.idAt.byteLength;
    for (const c of this.columns.values()) {
      if (c.kind === 'dict') b += c.col.codes.byteLength + c.col.values.length * 64;
      else if (c.kind === 'time') b += c.col.ms.byteLength;
      else for (const bits of c.bits.values()) b += bits.byteLength;
    }
    return b;
  }

  /** Runs `work` alone: a refresh mutates the index, and evaluations must not see it half-done. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private grow(min: number) {
    if (min <= this.capacity) return;
    const cap = Math.max(min, Math.ceil(this.capacity * 1.5), 1024);
    const live = new Uint32Array(Math.ceil(cap / WORD));
    live.set(this.live);
    this.live = live;
    const idAt = new Float64Array(cap);
    idAt.set(this.idAt);
    this.idAt = idAt;
    for (const c of this.columns.values()) {
      if (c.kind === 'dict') {
        const codes = new Int32Array(cap);
        codes.set(c.col.codes);
        c.col.codes = codes;
      } else if (c.kind === 'time') {
        const ms = new Float64Array(cap);
        ms.set(c.col.ms);
        c.col.ms = ms;
      } else {
        for (const [id, b] of c.bits) {
          const nb = new Uint32Array(Math.ceil(cap / WORD));
          nb.set(b);
          c.bits.set(id, nb);
        }
      }
    }
    this.capacity = cap;
  }

  private position(id: number): number {
    let p = this.pos.get(id);
    if (p === undefined) {
      p = this.n++;
      this.grow(this.n);
      this.pos.set(id, p);
      this.idAt[p] = id;
    }
    return p;
  }

  private setValue(c: Column, p: number, row: Record<string, unknown>, key: string) {
    if (c.kind === 'dict') {
      const vals = c.source.select.map((_, i) => row[`${key}_${i}`] ?? null);
      c.col.codes[p] = c.col.code(vals);
    } else if (c.kind === 'time') {
      c.col.ms[p] = Number(row[key]); // epoch ms floored as a Date holds it, selected as a number (no Date parsed per row)
    } else {
      const tags = (row[key] as (number | string)[]).map(Number);
      for (const [id, b] of c.bits) if (!tags.includes(id)) b[p >>> 5]! &= ~(1 << (p & 31));
      for (const id of tags) {
        let b = c.bits.get(id);
        if (!b) c.bits.set(id, (b = new Uint32Array(Math.ceil(this.capacity / WORD))));
        b[p >>> 5]! |= 1 << (p & 31);
      }
    }
  }

  private selectList(cols: [string, Column][]): RawBuilder<unknown> {
    const parts: RawBuilder<unknown>[] = [sql`p.id`];
    for (const [key, c] of cols) {
      const alias = alias_(key);
      if (c.kind === 'dict') c.source.select.forEach((s, i) => parts.push(sql`${s} AS ${sql.ref(`${alias}_${i}`)}`));
      else if (c.kind === 'time') parts.push(sql`floor(extract(epoch FROM ${sql.raw(`p.${c.name}`)}) * 1000)::float8 AS ${sql.ref(alias)}`);
      else parts.push(sql`p.tags AS ${sql.ref(alias)}`);
    }
    return sql.join(parts);
  }

  private async apply(rows: Record<string, unknown>[], cols: [string, Column][]) {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const p = this.position(Number(r.id));
      this.live[p >>> 5]! |= 1 << (p & 31);
      for (const [key, c] of cols) this.setValue(c, p, r, alias_(key));
      if (i % CHUNK === CHUNK - 1) await breathe();
    }
  }

  /** The base's rows in id order, PAGE at a time, each page handed to `each` before the next is read. */
  private async pages(trx: Conn, select: RawBuilder<unknown>, each: (rows: Record<string, unknown>[]) => Promise<void>) {
    for (let after = 0; ; ) {
      const page = await sql<Record<string, unknown>>`
        SELECT ${select} FROM profiles p WHERE p.base_id = ${this.baseId} AND p.id > ${after} ORDER BY p.id LIMIT ${PAGE}`.execute(trx);
      if (!page.rows.length) return;
      await each(page.rows);
      after = Number(page.rows[page.rows.length - 1]!.id);
      await breathe();
    }
  }

  /** Forgets everything: the next refresh builds the index again. */
  private reset() {
    this.n = 0;
    this.capacity = 0;
    this.pos = new IdMap();
    this.idAt = new Float64Array(0);
    this.live = new Uint32Array(0);
    this.columns = new Map();
    this.snapshot = null;
    this.xmin = null;
  }

  /**
   * Brings the index to the snapshot of `trx` (a REPEATABLE READ transaction) and loads any of
   * `want` not loaded yet. Rows written since the last snapshot are re-read; deletions are applied.
   */
  private async refresh(trx: Conn, want: Map<string, (capacity: number) => Column>) {
    try {
      await this.bringUp(trx, want);
    } catch (e) {
      // Half a column loaded, or changes half applied, would give wrong counts ever after: start afresh.
      this.reset();
      throw e;
    }
  }

  private async bringUp(trx: Conn, want: Map<string, (capacity: number) => Column>) {
    const snap = (await sql<{ s: string; x: string }>`SELECT pg_current_snapshot()::text AS s, pg_snapshot_xmin(pg_current_snapshot())::text AS x`.execute(trx)).rows[0]!;
    const fresh: [string, Column][] = [];
    const all = () => [...this.columns.entries()];
    if (this.xmin !== null) {
      // Tombstones this index has not applied were pruned by an index elsewhere: build again.
      const h = await sql<{ behind: boolean }>`SELECT tombstones_pruned > ${this.xmin}::xid8 AS behind FROM bases WHERE id = ${this.baseId}`.execute(trx);
      if (h.rows[0]?.behind) this.reset();
    }
    const fresh_: [string, (capacity: number) => Column][] = [...want].filter(([key]) => !this.columns.has(key));
    if (this.snapshot === null) {
      // First build: every live id, a page at a time in id order — with the wanted columns when there
      // are any (loading a column places its rows too: one pass over the base, not two).
      const total = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM profiles p WHERE p.base_id = ${this.baseId}`.execute(trx)).rows[0]!.n;
      this.grow(total);
      this.pos.reserve(total);
      if (!fresh_.length) {
        await this.pages(trx, sql`p.id`, async (rows) => {
          for (const r of rows) {
            const p = this.position(Number(r.id));
            this.live[p >>> 5]! |= 1 << (p & 31);
          }
        });
      }
    } else {
      // Deletions first, then the rows written since: an id deleted and written again stays alive.
      const gone = await sql<{ id: number }>`
        SELECT t.id FROM profile_tombstones t
        WHERE t.base_id = ${this.baseId} AND t.writer >= ${this.xmin}::xid8 AND NOT pg_visible_in_snapshot(t.writer, ${this.snapshot}::pg_snapshot)`.execute(trx);
      for (const r of gone.rows) {
        const p = this.pos.get(Number(r.id));
        if (p !== undefined) this.live[p >>> 5]! &= ~(1 << (p & 31));
      }
      const changed = await sql<Record<string, unknown>>`
        SELECT ${this.selectList(all())} FROM profiles p
        WHERE p.base_id = ${this.baseId} AND p.writer >= ${this.xmin}::xid8 AND NOT pg_visible_in_snapshot(p.writer, ${this.snapshot}::pg_snapshot)`.execute(trx);
      await this.apply(changed.rows, all());
    }
    for (const [key, make] of fresh_) fresh.push([key, make(this.capacity)]);
    if (fresh.length) {
      for (const [key, c] of fresh) this.columns.set(key, c);
      await this.pages(trx, this.selectList(fresh), (rows) => this.apply(rows, fresh));
    }
    this.snapshot = snap.s;
    this.xmin = snap.x;
  }

  /**
   * Evaluates a query in one REPEATABLE READ transaction after bringing the index to its snapshot,
   * and hands the matching bits to `then` in that transaction. Undefined when nothing of the query
   * benefits from the index (the caller then asks SQL). `ctx` comes from compileContext for this base.
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
    const missing = this.snapshot === null || [...plan.columns.keys()].some((k) => !this.columns.has(k));
    if (!opts.wait && (this.building || missing)) {
      // Not ready for this query: SQL answers it while the index builds what it lacks.
      if (!this.building) void this.build(db, plan.columns);
      return undefined;
    }
    const r = await this.exclusive(() =>
      db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => {
          await this.refresh(trx, plan.columns);
          return then(trx, await new Evaluator(this, trx, ctx).query(query));
        }),
    );
    this.afterUse(db);
    return r;
  }

  /** Builds what `want` needs in the background; a failure is logged and kept for /health. */
  private async build(db: Db, want: Map<string, (capacity: number) => Column>): Promise<void> {
    this.building = true;
    try {
      await this.exclusive(() => db.transaction().setIsolationLevel('repeatable read').execute((trx) => this.refresh(trx, want)));
      this.failure = null;
      this.builtAt = Date.now();
    } catch (e) {
      this.failure = { message: e instanceof Error ? e.message : String(e), at: new Date().toISOString() };
      this.warm = false;
      log(`count index of base ${this.baseId}: build failed`, e);
    } finally {
      this.building = false;
    }
    enforceBudget(this);
  }

  /** After a count: prune applied tombstones now and then; rebuild when deleted slots pile up; keep to the budget. */
  private afterUse(db: Db) {
    if (this.dead > Math.max(rebuildMinDead, this.n / 4)) {
      retire(this);
      return;
    }
    if (Date.now() - this.prunedAt >= pruneEveryMs && this.xmin !== null) {
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
    const ids = this.idAt;
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
    return this.live.length;
  }
  liveBits(): Bits {
    return this.live;
  }
  column(key: string): Column | undefined {
    return this.columns.get(key);
  }
  count_(): number {
    return this.n;
  }
  positionOf(id: number): number | undefined {
    return this.pos.get(id);
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
  readonly columns = new Map<string, (capacity: number) => Column>();
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
        this.columns.set(source.key, (cap) => ({ kind: 'dict', col: new DictColumn(cap), source }));
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
      this.columns.set('tags', () => ({ kind: 'tags', bits: new Map() }));
      this.inMemory = true;
      return;
    }
    if (f.type === 'datetime') {
      const name = f.key === 'createdAt' ? 'created_at' : 'updated_at';
      this.columns.set(`t:${name}`, (cap) => ({ kind: 'time', col: new TimeColumn(cap), name }));
      this.inMemory = true;
      return;
    }
    // Unique identifiers and ids are left to SQL (indexed there; a dictionary would be as big as the base).
    if (['phone', 'email', 'card', 'number'].includes(f.type) && !(c.op === 'isEmpty' || c.op === 'isNotEmpty') && f.jsonKey === undefined) return;
    const emptiness = c.op === 'isEmpty' || c.op === 'isNotEmpty';
    const source = sourceFor(f, emptiness);
    this.columns.set(source.key, (cap) => ({ kind: 'dict', col: new DictColumn(cap), source }));
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

const indexes = new Map<number, FacetIndex>();
let budget = 512 * 1048576;
let log: (msg: string, err?: unknown) => void = (msg, err) => console.error(msg, err);

/** The memory all bases' indexes may take together, where failures are logged (the server's logger); tests tune the rest. */
export function configureFacets(opts: { budgetBytes?: number; log?: (msg: string, err?: unknown) => void; rebuildMinDead?: number; pruneEveryMs?: number }): void {
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
