// `kartoteka serve`: open the database (embedded by default), make sure an
// administrator exists, seed the demo base on a fresh embedded install, listen.
import { buildApp } from './app.ts';
import { ensureAdmin } from './auth/auth.service.ts';
import type { Config } from './config.ts';
import { openDatabase, type Database } from './db/database.ts';
import { createDemoBase } from './demo/demo.service.ts';
import type { Api } from './http/types.ts';
import { releaseOrphanedJobs, startWorker } from './jobs/jobs.service.ts';

export interface Running {
  app: Api;
  database: Database;
  url: string;
  stop(): Promise<void>;
}

const say = (m: string) => process.stdout.write(`[kartoteka] ${m}\n`);

export async function serve(config: Config, opts: { demo?: boolean } = {}): Promise<Running> {
  const database = await openDatabase(config, { log: say });
  try {
    say(`Database: ${database.engine} PostgreSQL ${database.version}${database.engine === 'embedded' ? ` in ${config.dataDir}` : ''}`);
    const admin = await ensureAdmin(database.db);
    if (admin) {
      say('');
      say('  An administrator was created. Sign in with:');
      say(`    login:    ${admin.login}`);
      say(`    password: ${admin.password}`);
      say('  This one-time password is shown only now; you will be asked to change it.');
      say('');
    }
    const wantDemo = (opts.demo ?? config.demo) && database.engine === 'embedded';
    if (wantDemo && !(await database.db.selectFrom('bases').select('id').limit(1).executeTakeFirst())) {
      const t0 = Date.now();
      const demo = await createDemoBase(database.db, { profiles: 10_000 });
      say(`Demo base «${demo.name}» (id ${demo.baseId}) created with ${demo.profiles} profiles in ${((Date.now() - t0) / 1000).toFixed(1)} s (disable with --no-demo or KARTOTEKA_DEMO=0)`);
    }
    // The embedded folder is locked to this process: a job still "running" was left by a killed
    // predecessor, so it is resumed now instead of after its heartbeat goes stale.
    if (database.engine === 'embedded') await releaseOrphanedJobs(database.db);
    const app = await buildApp({ db: database.db, config, engine: database.engine, version: database.version }, { logger: config.logLevel !== 'silent' });
    // Background jobs (large mass actions); throws here if a job kind has no handler.
    const worker = startWorker(database.db, { pollMs: 1000, dataDir: config.dataDir, log: (m, err) => say(`${m}${err ? `: ${err instanceof Error ? err.message : String(err)}` : ''}`) });
    let address: string;
    try {
      address = await app.listen({ port: config.port, host: config.host });
    } catch (e) {
      await worker.stop();
      throw e;
    }
    const port = new URL(address).port;
    const url = `http://localhost:${port}`;
    say(`Listening on ${url}  (API docs: ${url}/api/docs)`);
    let stopping: Promise<void> | undefined;
    return {
      app,
      database,
      url,
      stop: () =>
        (stopping ??= (async () => {
          await app.close();
          await worker.stop(); // a job in progress stops after its batch and goes back to the queue
          await database.close();
        })()),
    };
  } catch (e) {
    await database.close();
    throw e;
  }
}
