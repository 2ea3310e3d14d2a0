// The `kartoteka` command line.
import { Command, Option } from 'commander';
import { loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { createDemoBase } from './demo/demo.service.ts';
import { writeCsv } from './generate/generate.ts';
import { serve } from './server.ts';
import { progressBar } from './cli/progress.ts';

const program = new Command();
program.name('kartoteka').description('Kartoteka — an open-source customer database').version('0.1.0');

const fail = (e: unknown) => {
  process.stderr.write(`kartoteka: ${(e as Error).message}\n`);
  process.exit(1);
};

program
  .command('serve')
  .description('Run the server (embedded PostgreSQL in KARTOTEKA_DATA_DIR unless DATABASE_URL is set)')
  .option('--no-demo', 'do not create the demo base on a fresh installation')
  .option('-p, --port <port>', 'port to listen on (PORT, default 8080)')
  .action(async (o: { demo: boolean; port?: string }) => {
    const env = { ...process.env, ...(o.port ? { PORT: o.port } : {}) };
    const config = loadConfig(env);
    const running = await serve(config, { demo: o.demo && config.demo });
    let signalled = false;
    const shutdown = (sig: string) => {
      if (signalled) return;
      signalled = true;
      process.stdout.write(`[kartoteka] ${sig}: shutting down\n`);
      running.stop().then(
        () => process.exit(0),
        (e) => fail(e),
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });

program
  .command('migrate')
  .description('Apply database migrations and exit')
  .action(async () => {
    const config = loadConfig();
    const database = await openDatabase(config, { log: (m) => console.log(m) });
    console.log(`Schema is current (${database.engine} PostgreSQL ${database.version})`);
    await database.close();
  });

program
  .command('demo')
  .description('Create a demo base with generated profiles')
  .option('--profiles <n>', 'how many profiles', '10000')
  .option('--seed <n>', 'generator seed', '1')
  .action(async (o: { profiles: string; seed: string }) => {
    const config = loadConfig();
    const database = await openDatabase(config);
    const total = Number(o.profiles);
    const bar = progressBar('demo', total);
    const r = await createDemoBase(database.db, { profiles: total, seed: Number(o.seed), onProgress: (n) => bar.update(n) });
    bar.done();
    console.log(`Base «${r.name}» (id ${r.baseId}) with ${r.profiles} profiles`);
    await database.close();
  });

program
  .command('generate')
  .description('Write generated Russian profiles to a CSV file (deterministic per seed)')
  .requiredOption('--profiles <n>', 'how many rows')
  .requiredOption('--out <file>', 'output CSV file')
  .option('--seed <n>', 'generator seed', '1')
  .addOption(new Option('--dirty', 'the mess real files have: ФИО in one column, six phone formats, ; and BOM, duplicates, typos'))
  .action(async (o: { profiles: string; out: string; seed: string; dirty?: boolean }) => {
    const total = Number(o.profiles);
    if (!Number.isSafeInteger(total) || total < 0) throw new Error('--profiles must be a whole number');
    const bar = progressBar('generate', total);
    const r = await writeCsv(o.out, total, { seed: Number(o.seed), dirty: !!o.dirty, onProgress: (n) => bar.update(n) });
    bar.done();
    console.log(`${r.rows} rows, ${(r.bytes / 1e6).toFixed(1)} MB in ${(r.ms / 1000).toFixed(1)} s -> ${o.out}`);
  });

program.parseAsync(process.argv).catch(fail);
