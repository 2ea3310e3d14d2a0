import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
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
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'kartoteka', options: '-c TimeZone=UTC' });
  pool.on('error', () => undefined); // an idle client's error is reported by the next query
  return pool;
}

const pools = new WeakMap<Db, pg.Pool>();

export function createDb(pool: pg.Pool): Db {
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

/** The pool under a db made by createDb: for COPY … TO STDOUT, which Kysely cannot stream. */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('poolOf: this db was not made by createDb');
  return pool;
}
