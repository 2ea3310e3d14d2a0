// The `kartoteka` command line.
import { Command, Option } from 'commander';
import { loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { createDemoBase } from './demo/demo.service.ts';
import { writeCsv } from './generate/generate.ts';
import { serve } from './server.ts';
import { progressBar } from './cli/progress.ts';
import { registerImportCommand } from './import/import.cli.ts';
import { remote, remoteErrorText, remoteTarget } from './cli/remote.ts';
import { exportToFile } from './export/export.service.ts';
import { ApiError } from './client/client.ts';
import { AppError } from './errors/errors.ts';
import { renderProblem } from './http/problem.ts';
import type { Lang } from './i18n/messages.ts';

/** Messages (and export headers) in English under an English locale, else in Russian, the API's default. */
const cliLang = (): Lang => (/^en/i.test(process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || '') ? 'en' : 'ru');

/** A domain error as the API would put it: the detail, then each field's message. */
function problemText(e: AppError, lang: Lang): string {
  const p = renderProblem(e, lang);
  return [p.detail, ...(p.errors ?? []).map((x) => `  ${x.field}: ${x.message}`)].join('\n');
}

const program = new Command();
program.name('kartoteka').description('Kartoteka — an open-source customer database').version('0.1.0');

const fail = (e: unknown) => {
  // A refusal reads as the API words it (its detail and each field), from a server or from this process.
  const text = e instanceof ApiError ? remoteErrorText(e) : e instanceof AppError ? problemText(e, cliLang()) : (e as Error).message;
  process.stderr.write(`kartoteka: ${text}\n`);
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

program
  .command('export')
  .description('Export profiles to CSV or XLSX: through a running server (--url/--token, KARTOTEKA_URL/KARTOTEKA_TOKEN) or directly on the database')
  .requiredOption('--base <id>', 'base id')
  .addOption(new Option('--format <format>', 'file format').choices(['csv', 'xlsx']).makeOptionMandatory())
  .requiredOption('--out <file>', 'output file')
  .option('--filter <json>', 'a filter as in the search API, e.g. \'{"field":"city","op":"eq","value":"Москва"}\'')
  .option('--q <text>', 'quick search text')
  .option('--columns <list>', 'comma-separated columns: id, standard fields, tags, fields.<key> (default: all)')
  .addOption(new Option('--dialect <dialect>', 'CSV dialect (default excel-ru)').choices(['excel-ru', 'plain']))
  .option('--url <url>', 'a running Kartoteka server (or KARTOTEKA_URL)')
  .option('--token <token>', 'its API key (or KARTOTEKA_TOKEN)')
  .action(async (o: { base: string; format: 'csv' | 'xlsx'; out: string; filter?: string; q?: string; columns?: string; dialect?: 'excel-ru' | 'plain'; url?: string; token?: string }) => {
    const baseId = Number(o.base);
    if (!Number.isSafeInteger(baseId) || baseId < 1) throw new Error('--base must be a base id');
    let filter: unknown;
    if (o.filter !== undefined) {
      try {
        filter = JSON.parse(o.filter);
      } catch {
        throw new Error('--filter is not valid JSON');
      }
    }
    const body = {
      format: o.format,
      ...(o.dialect ? { dialect: o.dialect } : {}),
      ...(o.columns ? { columns: o.columns.split(',').map((c) => c.trim()).filter(Boolean) } : {}),
      query: { ...(o.q !== undefined ? { q: o.q } : {}), ...(filter !== undefined ? { filter } : {}) },
    };
    const target = remoteTarget(o);
    const bar = progressBar('export', 0);
    let summary: { rows: number | null; size: number | null; sha256: string | null; id: number };
    if (target) {
      const api = remote(target);
      const created = await api.call('POST /bases/{baseId}/exports', { path: { baseId }, body });
      if (created.jobId !== null) await api.waitJob(created.jobId, (done, total) => total > 0 && bar.update(done, total));
      await api.save(await api.raw('GET /bases/{baseId}/exports/{exportId}/file', { path: { baseId, exportId: created.id } }), o.out);
      summary = await api.call('GET /bases/{baseId}/exports/{exportId}', { path: { baseId, exportId: created.id } });
    } else {
      const database = await openDatabase(loadConfig());
      try {
        summary = await exportToFile(database.db, baseId, body, { outFile: o.out, lang: cliLang(), onProgress: (done, total) => bar.update(done, total) });
      } finally {
        await database.close();
      }
    }
    bar.done();
    console.log(`${summary.rows} rows, ${summary.size} bytes, sha256 ${summary.sha256} -> ${o.out} (export ${summary.id})`);
  });

registerImportCommand(program);

program.parseAsync(process.argv).catch(fail);
