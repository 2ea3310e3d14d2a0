// The count index's storage: profile positions, the live bitset and the columns (dictionary codes,
// times, tag bitsets), all in typed arrays. The same code fills it on the main thread (rows written
// since the last snapshot) and in the build worker (a whole base: facets.worker.ts), which hands the
// arrays over without copying them (packStore / unpackStore).

export const WORD = 32;

export type Bits = Uint32Array;

export function popcount(b: Bits): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    let v = b[i]!;
    v -= (v >>> 1) & 0x55555555;
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    n += (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return n;
}

/** A dictionary's key for a row's values: one plain value (most columns) by its type and text, JSON only for several together. */
function dictKey(vals: unknown[]): string {
  const v = vals[0];
  if (vals.length !== 1) return JSON.stringify(vals);
  return v === null || v === undefined ? 'n' : typeof v === 'string' ? 's' + v : typeof v === 'number' ? 'd' + v : JSON.stringify(vals);
}

export class DictColumn {
  codes: Int32Array;
  values: unknown[][] = [];
  /** Value key -> code; rebuilt on first use after a transfer (only the values travel). */
  private lookup: Map<string, number> | null = new Map();
  constructor(capacity: number) {
    this.codes = new Int32Array(capacity);
  }
  static of(codes: Int32Array, values: unknown[][]): DictColumn {
    const d = new DictColumn(0);
    d.codes = codes;
    d.values = values;
    d.lookup = null;
    return d;
  }
  code(vals: unknown[]): number {
    if (this.lookup === null) {
      this.lookup = new Map();
      for (let i = 0; i < this.values.length; i++) this.lookup.set(dictKey(this.values[i]!), i);
    }
    const k = dictKey(vals);
    let c = this.lookup.get(k);
    if (c === undefined) {
      c = this.values.length;
      this.values.push(vals);
      this.lookup.set(k, c);
    }
    return c;
  }
}

export class TimeColumn {
  ms: Float64Array;
  constructor(capacity: number) {
    this.ms = new Float64Array(capacity);
  }
}

export type Column = { kind: 'dict'; col: DictColumn } | { kind: 'time'; col: TimeColumn } | { kind: 'tags'; bits: Map<number, Bits> };
export type ColumnKind = Column['kind'];

/**
 * Profile id -> position, open addressing over typed arrays: a JS Map of a million numbers rehashes in
 * one long pause as it grows and is traced entry by entry by every major GC (2.4 s of a 26 s count storm
 * at 1M went to Map.set alone); this one is two flat arrays, sized ahead when the count is known.
 */
export class IdMap {
  keys: Float64Array = new Float64Array(0); // 0: empty (ids start at 1)
  vals: Int32Array = new Int32Array(0);
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
  /** The arrays as they are (for a transfer), and back. */
  static of(keys: Float64Array, vals: Int32Array, size: number): IdMap {
    const m = new IdMap();
    m.keys = keys;
    m.vals = vals;
    m.mask = keys.length - 1;
    m.size = size;
    return m;
  }
}

/** How a column is read from a row: its kind and the row's properties holding its value (a dictionary may read several). */
export interface ColumnPlan {
  key: string;
  kind: ColumnKind;
  names: readonly string[];
}

/** Work between two yields to the event loop: counts of other bases and HTTP requests wait at most this long. */
const SLICE_MS = 8;
/** Rows handled between two looks at the clock. */
const CHUNK = 512;
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Store {
  n = 0;
  capacity = 0;
  pos = new IdMap();
  /** Position -> profile id (for pages in id order). */
  idAt: Float64Array = new Float64Array(0);
  live: Bits = new Uint32Array(0);
  columns = new Map<string, Column>();

  grow(min: number) {
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

  /** Room for `total` profiles ahead of a whole-base load. */
  reserve(total: number) {
    this.grow(total);
    this.pos.reserve(total);
  }

  /** Adds a column of `kind` (empty) for the positions there are. */
  addColumn(key: string, kind: ColumnKind) {
    this.columns.set(key, kind === 'dict' ? { kind, col: new DictColumn(this.capacity) } : kind === 'time' ? { kind, col: new TimeColumn(this.capacity) } : { kind, bits: new Map() });
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

  private setValue(c: Column, p: number, row: Record<string, unknown>, names: readonly string[]) {
    if (c.kind === 'dict') {
      const vals = new Array<unknown>(names.length);
      for (let i = 0; i < names.length; i++) vals[i] = row[names[i]!] ?? null;
      c.col.codes[p] = c.col.code(vals);
    } else if (c.kind === 'time') {
      c.col.ms[p] = Number(row[names[0]!]); // epoch ms floored as a Date holds it, selected as a number (no Date parsed per row)
    } else {
      const tags = (row[names[0]!] as (number | string)[]).map(Number);
      for (const [id, b] of c.bits) if (!tags.includes(id)) b[p >>> 5]! &= ~(1 << (p & 31));
      for (const id of tags) {
        let b = c.bits.get(id);
        if (!b) c.bits.set(id, (b = new Uint32Array(Math.ceil(this.capacity / WORD))));
        b[p >>> 5]! |= 1 << (p & 31);
      }
    }
  }

  /** Places rows (`id` and the plan's properties) as live with their values, yielding to the event loop every SLICE_MS. */
  async apply(rows: Record<string, unknown>[], plan: readonly ColumnPlan[]) {
    const cols = plan.map((c) => ({ c: this.columns.get(c.key)!, names: c.names }));
    let slice = performance.now();
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const p = this.position(Number(r.id));
      this.live[p >>> 5]! |= 1 << (p & 31);
      for (let j = 0; j < cols.length; j++) this.setValue(cols[j]!.c, p, r, cols[j]!.names);
      if (i % CHUNK === CHUNK - 1 && performance.now() - slice > SLICE_MS) {
        await breathe();
        slice = performance.now();
      }
    }
  }

  /** Clears the live bits of deleted profiles. */
  kill(ids: readonly number[]) {
    for (const id of ids) {
      const p = this.pos.get(id);
      if (p !== undefined) this.live[p >>> 5]! &= ~(1 << (p & 31));
    }
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
}

/** A store as a message: its arrays listed for transfer (moved, not copied), dictionaries cloned. */
export interface PackedStore {
  n: number;
  capacity: number;
  posKeys: Float64Array;
  posVals: Int32Array;
  posSize: number;
  idAt: Float64Array;
  live: Bits;
  columns: { key: string; kind: ColumnKind; codes?: Int32Array; values?: unknown[][]; ms?: Float64Array; bits?: [number, Bits][] }[];
}

export function packStore(s: Store): { packed: PackedStore; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const t = <A extends { buffer: ArrayBufferLike }>(a: A): A => (transfer.push(a.buffer as ArrayBuffer), a);
  const packed: PackedStore = {
    n: s.n,
    capacity: s.capacity,
    posKeys: t(s.pos.keys),
    posVals: t(s.pos.vals),
    posSize: s.pos.size,
    idAt: t(s.idAt),
    live: t(s.live),
    columns: [...s.columns].map(([key, c]) =>
      c.kind === 'dict' ? { key, kind: c.kind, codes: t(c.col.codes), values: c.col.values } : c.kind === 'time' ? { key, kind: c.kind, ms: t(c.col.ms) } : { key, kind: c.kind, bits: [...c.bits].map(([id, b]) => [id, t(b)] as [number, Bits]) },
    ),
  };
  return { packed, transfer };
}

export function unpackStore(p: PackedStore): Store {
  const s = new Store();
  s.n = p.n;
  s.capacity = p.capacity;
  s.pos = IdMap.of(p.posKeys, p.posVals, p.posSize);
  s.idAt = p.idAt;
  s.live = p.live;
  for (const c of p.columns) {
    if (c.kind === 'dict') {
      s.columns.set(c.key, { kind: 'dict', col: DictColumn.of(c.codes!, c.values!) });
    } else if (c.kind === 'time') {
      const col = new TimeColumn(0);
      col.ms = c.ms!;
      s.columns.set(c.key, { kind: 'time', col });
    } else s.columns.set(c.key, { kind: 'tags', bits: new Map(c.bits) });
  }
  return s;
}
