// Opens the database the configuration points to: the embedded server in the
// data folder by default, or an external PostgreSQL 15+ via DATABASE_URL.
import type pg from 'pg';
import type { Config } from '../config.ts';
import { createDb, createPool, type Db } from './db.ts';
import { startEmbedded, utf8Locale } from './embedded.ts';
import { migrate } from './migrate.ts';

export interface Database {
  db: Db;
  pool: pg.Pool;
  url: string;
  engine: 'embedded' | 'external';
  version: string;
  close(): Promise<void>;
}

const APP_DB = 'kartoteka';

/** A database whose letters are letters to pg_trgm, whatever the cluster was initialised with. */
export function createDatabaseSql(name: string): string {
  const loc = utf8Locale();
  return loc
    ? `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER libc LOCALE '${loc.replace(/'/g, '')}'`
    : `CREATE DATABASE ${name}`;
}

/** Whether quick search can use trigrams on Cyrillic here (false on a "C" ctype database). */
export async function cyrillicTrigrams(pool: pg.Pool): Promise<boolean> {
  const r = await pool.query<{ n: number }>(`SELECT coalesce(array_length(show_trgm('иван'), 1), 0) AS n`);
  return r.rows[0]!.n > 0;
}

export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  opts: { migrate?: boolean; log?: (m: string) => void } = {},
): Promise<Database> {
  let url: string;
  let stopServer: () => Promise<void> = async () => undefined;
  const engine = config.databaseUrl ? 'external' : 'embedded';
  if (config.databaseUrl) {
    url = config.databaseUrl;
  } else {
    const server = await startEmbedded({ dataDir: config.dataDir, log: opts.log });
    stopServer = server.stop;
    const admin = createPool(server.adminUrl, 1);
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [APP_DB]);
      if (exists.rowCount === 0) await admin.query(createDatabaseSql(APP_DB));
    } catch (e) {
      await admin.end();
      await stopServer();
      throw e;
    }
    await admin.end();
    const u = new URL(server.adminUrl);
    u.pathname = `/${APP_DB}`;
    url = u.toString();
  }
  const pool = createPool(url, 20);
  try {
    const version = (await pool.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
    const major = Number.parseInt(version, 10);
    if (major < 15) throw new Error(`PostgreSQL ${version} is too old: Kartoteka needs PostgreSQL 15 or newer`);
    if (opts.migrate !== false) {
      const res = await migrate(pool);
      if (res.applied.length) opts.log?.(`Applied migrations: ${res.applied.join(', ')}`);
    }
    if (!(await cyrillicTrigrams(pool))) {
      opts.log?.('Warning: this database has a "C" character type, so quick search cannot use its trigram index for Cyrillic text; create the database with a UTF-8 locale (e.g. LOCALE \'C.UTF-8\')');
    }
    const db = createDb(pool);
    return {
      db,
      pool,
      url,
      engine,
      version,
      close: async () => {
        await db.destroy();
        await stopServer();
      },
    };
  } catch (e) {
    await pool.end().catch(() => undefined);
    await stopServer();
    throw e;
  }
}
