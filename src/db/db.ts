import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DB } from './schema.ts';

export type { DB } from './schema.ts';
export type Db = Kysely<DB>;
export type Trx = Transaction<DB>;
/** Either the pool-backed db or an open transaction: repo functions take this first. */
export type Conn = Kysely<DB> | Transaction<DB>;

// int8 ids and counts fit in a JS number for any realistic installation (< 2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
// Dates stay 'YYYY-MM-DD' strings: no time zone can shift a birthday.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export function createPool(url: string, max = 10): pg.Pool {
  // Sessions run in UTC: relative dates ("within the last 90 days") mean the same in SQL and in JS.
  // No parallel query plans: with fresh statistics PostgreSQL picks parallel bitmap scans for quick
  // search, and starting workers costs more than it saves at these sizes (1M profiles, 2 cores: «9161»
  // 56-65 ms parallel, 19.6-21 ms not; «иван» 722-1459 ms against 348-539 ms). Index builds keep their
  // own parallelism (max_parallel_maintenance_workers); big exports split themselves (export.service).
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'kartoteka', options: '-c TimeZone=UTC -c max_parallel_workers_per_gather=0' });
  pool.on('error', () => undefined); // an idle client's error is reported by the next query
  pool.on('connect', (client) => clients.set(backendPid(client), client));
  pool.on('remove', (client) => clients.delete(backendPid(client)));
  return pool;
}

/** Every pooled connection by its server process id: COPY needs the connection a transaction runs on. */
const clients = new Map<number, pg.PoolClient>();
const backendPid = (client: pg.PoolClient) => (client as unknown as { processID: number }).processID;

/**
 * COPY text rows into a table on the connection `conn` runs on, inside its transaction (Kysely cannot
 * stream COPY, and a transaction's connection is not otherwise reachable). Each row is one line of
 * COPY text format (see copyText); the columns are listed in the same order.
 */
export async function copyInto(conn: Conn, table: string, columns: readonly string[], lines: Iterable<string>, opts: { freeze?: boolean } = {}): Promise<void> {
  const pid = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(conn)).rows[0]!.pid;
  const client = clients.get(pid);
  if (!client) throw new Error(`copyInto: no pooled connection for server process ${pid}`);
  const target = `${table} (${columns.map((c) => `"${c}"`).join(', ')})`;
  // FREEZE (a table created in this transaction): rows written frozen and pages all-visible, so no
  // vacuum has to visit them again after the load.
  await pipeline(Readable.from(chunks(lines)), client.query(copyFrom(`COPY ${target} FROM STDIN${opts.freeze ? ' (FREEZE)' : ''}`)));
}

function* chunks(lines: Iterable<string>): Generator<string> {
  let buf = '';
  for (const line of lines) {
    buf += line;
    if (buf.length > 1 << 16) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

/** One value in COPY text format: \N for NULL; backslash, tab and line ends escaped. */
export function copyText(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : s;
}

const pools = new WeakMap<Db, pg.Pool>();

export function createDb(pool: pg.Pool): Db {
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

/** Where a db made by createDb connects (a worker thread opens its own connection there). */
export function connectionString(db: Db): string {
  const url = (poolOf(db).options as { connectionString?: string }).connectionString;
  if (!url) throw new Error('connectionString: the pool was made without a connection string');
  return url;
}

/** The pool under a db made by createDb: for COPY … TO STDOUT, which Kysely cannot stream. */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('poolOf: this db was not made by createDb');
  return pool;
}
