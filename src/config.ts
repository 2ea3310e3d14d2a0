import path from 'node:path';
import { z } from 'zod';

const bool = z
  .string()
  .transform((v) => !['0', 'false', 'no', 'off', ''].includes(v.trim().toLowerCase()));

/** `FOO=` in the environment means "not set". */
const emptyAsUnset = <T extends z.ZodType>(t: T) => z.preprocess((v) => (v === '' ? undefined : v), t);

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: emptyAsUnset(z.url().optional()),
  KARTOTEKA_DATA_DIR: z.string().default('./data'),
  KARTOTEKA_ADMIN_TOKEN: emptyAsUnset(z.string().min(16, 'must be at least 16 characters').optional()),
  KARTOTEKA_DEMO: bool.default(true),
  KARTOTEKA_BODY_LIMIT: z.coerce.number().int().positive().default(1_048_576),
  KARTOTEKA_BULK_SYNC_LIMIT: z.coerce.number().int().positive().default(5000),
  KARTOTEKA_BULK_BATCH_SIZE: z.coerce.number().int().positive().default(5000),
  KARTOTEKA_FACETS: z.enum(['auto', 'on', 'off']).default('auto'),
  KARTOTEKA_IMPORT_MAX_MB: z.coerce.number().int().positive().default(2048),
  KARTOTEKA_IMPORT_BATCH_SIZE: z.coerce.number().int().positive().default(10_000),
  KARTOTEKA_IMPORT_BULK_MIN_MB: z.coerce.number().min(0).default(5),
  KARTOTEKA_COUNT_INDEX_MB: z.coerce.number().min(0).default(512),
  KARTOTEKA_EXPORT_TTL_HOURS: z.coerce.number().positive().max(24 * 365).default(24),
  KARTOTEKA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  demo: boolean;
  bodyLimit: number;
  logLevel: string;
  /** Mass actions up to this many profiles run at once; larger ones become jobs. */
  bulkSyncLimit: number;
  /** Profiles per batch (one transaction each) of a mass-action job. */
  bulkBatchSize: number;
  /** The in-memory count index: auto (after a slow count), on, off. */
  facets: 'auto' | 'on' | 'off';
  /** Memory the count indexes of all bases may take together; the least recently counted base's goes first. */
  countIndexBytes: number;
  /** Hours an export's file (and its download link) is kept after it is written. */
  /** Largest import upload, in bytes. */
  importMaxBytes: number;
  /** File rows per batch (one transaction each) of an import. */
  importBatchSize: number;
  /** An import of a file this large into an empty base loads a bare table and indexes it after (the bulk way). */
  importBulkMinBytes: number;
  exportTtlHours: number;
}

/** Parses the environment once; a bad key fails start-up with the list of what is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return {
    port: c.PORT,
    host: c.HOST,
    databaseUrl: c.DATABASE_URL,
    dataDir: path.resolve(c.KARTOTEKA_DATA_DIR),
    adminToken: c.KARTOTEKA_ADMIN_TOKEN,
    demo: c.KARTOTEKA_DEMO,
    bodyLimit: c.KARTOTEKA_BODY_LIMIT,
    logLevel: c.KARTOTEKA_LOG_LEVEL,
    bulkSyncLimit: c.KARTOTEKA_BULK_SYNC_LIMIT,
    bulkBatchSize: c.KARTOTEKA_BULK_BATCH_SIZE,
    facets: c.KARTOTEKA_FACETS,
    countIndexBytes: Math.round(c.KARTOTEKA_COUNT_INDEX_MB * 1048576),
    importMaxBytes: c.KARTOTEKA_IMPORT_MAX_MB * 1048576,
    importBatchSize: c.KARTOTEKA_IMPORT_BATCH_SIZE,
    importBulkMinBytes: Math.round(c.KARTOTEKA_IMPORT_BULK_MIN_MB * 1048576),
    exportTtlHours: c.KARTOTEKA_EXPORT_TTL_HOURS,
  };
}
