// `kartoteka import FILE --base ID`: against a running server (--url/--token or
// KARTOTEKA_URL/KARTOTEKA_TOKEN), or directly on the data folder / DATABASE_URL.
// Either way the same import service runs; --json ends with the accounting.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { progressBar } from '../cli/progress.ts';
import { remote, remoteTarget } from '../cli/remote.ts';
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/database.ts';
import { getJob, runOnce } from '../jobs/jobs.service.ts';
import type { Mapping } from './mapping.ts';
import { StartBody, type StartBodyInput } from './import.schema.ts';
import * as service from './import.service.ts';

interface Opts {
  base: string;
  mode: 'create' | 'update' | 'upsert';
  mapping?: string;
  template?: string;
  policy?: string;
  duplicates: 'merge' | 'report';
  tags?: string;
  segment?: string;
  sheet?: string;
  dryRun?: boolean;
  errors?: string;
  json?: boolean;
  url?: string;
  token?: string;
}

type Summary = { rows: number; created: number; updated: number; unchanged: number; failed: number; errorsFile: string | null };

const parseJson = (flag: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    throw new Error(`${flag}: not valid JSON`);
  }
};

const FLAG_OF: Record<string, string> = { mapping: '--mapping', mode: '--mode', policy: '--policy', duplicates: '--duplicates', tagIds: '--tags', segmentId: '--segment' };

/** The import's settings from the flags, checked by the same schema the API checks them with; a bad flag is named. */
function settingsOf(o: Opts, mapping: Mapping): StartBodyInput {
  const raw = {
    mapping,
    mode: o.mode,
    policy: parseJson('--policy', o.policy) ?? {},
    duplicates: o.duplicates,
    tagIds: o.tags ? o.tags.split(',').map((x) => Number(x.trim())) : [],
    segmentId: o.segment ? Number(o.segment) : null,
    dryRun: !!o.dryRun,
  };
  const r = StartBody.safeParse(raw);
  if (r.success) return r.data;
  throw new Error(r.error.issues.map((i) => `${FLAG_OF[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('\n'));
}

/** Every flag checked before anything is uploaded: a typo leaves no upload behind. */
function checkFlags(o: Opts): void {
  if (!/^[1-9]\d*$/.test(o.base)) throw new Error('--base: must be a base id');
  if (o.template !== undefined && !/^[1-9]\d*$/.test(o.template)) throw new Error('--template: must be a template id');
  parseJson('--mapping', o.mapping);
  settingsOf(o, { columns: [] });
}

const errorsPath = (file: string, o: Opts, format: string) => o.errors ?? path.join(path.dirname(file), `${path.basename(file, path.extname(file))}.errors.${format === 'xlsx' ? 'xlsx' : 'csv'}`);

async function viaServer(file: string, o: Opts, target: NonNullable<ReturnType<typeof remoteTarget>>): Promise<Summary> {
  const api = remote(target);
  const baseId = Number(o.base);
  const up = await api.call('POST /bases/{baseId}/imports', {
    path: { baseId },
    query: { fileName: path.basename(file), ...(o.sheet ? { sheet: o.sheet } : {}) },
    upload: api.fileBody(file),
  });
  const importId = up.import.id;
  let mapping = (parseJson('--mapping', o.mapping) as Mapping | undefined) ?? up.mapping;
  if (o.template && !o.mapping) mapping = (await api.call('POST /bases/{baseId}/imports/{importId}/preview', { path: { baseId, importId }, body: { templateId: Number(o.template) } })).mapping;
  const started = await api.call('POST /bases/{baseId}/imports/{importId}/start', { path: { baseId, importId }, body: settingsOf(o, mapping) });
  const bar = o.json ? undefined : progressBar('import', 0);
  await api.waitJob(started.jobId!, (done, total) => bar?.update(done, total));
  bar?.done();
  const r = await api.call('GET /bases/{baseId}/imports/{importId}', { path: { baseId, importId } });
  let errorsFile: string | null = null;
  if (r.errorsUrl) await api.save(await api.raw('GET /bases/{baseId}/imports/{importId}/errors', { path: { baseId, importId } }), (errorsFile = errorsPath(file, o, r.format)));
  return { rows: r.rows, created: r.created, updated: r.updated, unchanged: r.unchanged, failed: r.failed, errorsFile };
}

async function direct(file: string, o: Opts): Promise<Summary> {
  const config = loadConfig();
  const database = await openDatabase(config);
  const { db } = database;
  try {
    const baseId = Number(o.base);
    const imp = await service.upload(db, config.dataDir, baseId, 'cli', fs.createReadStream(file), {
      fileName: path.basename(file),
      ...(o.sheet ? { sheet: o.sheet } : {}),
      maxBytes: config.importMaxBytes,
    });
    const pv = await service.preview(db, config.dataDir, baseId, imp.id, o.template && !o.mapping ? { templateId: Number(o.template) } : {}, 'ru');
    const mapping = (parseJson('--mapping', o.mapping) as Mapping | undefined) ?? pv.mapping;
    const started = await service.start(db, baseId, imp.id, settingsOf(o, mapping), 'cli', 'ru');
    const bar = o.json ? undefined : progressBar('import', 0);
    // Only its own job: another base's queued import is the server's to run. A server may have taken
    // this one meanwhile: then the bar follows its progress until it ends.
    for (;;) {
      const j = (await runOnce(db, { only: started.jobId!, dataDir: config.dataDir, afterBatch: (p) => bar?.update(p.done, p.total) })) ?? (await getJob(db, started.jobId!, 'ru'));
      if (!j || !['queued', 'running'].includes(j.status)) break;
      const p = j.progress as { done?: number; total?: number } | null;
      bar?.update(p?.done ?? 0, p?.total ?? 0);
      await new Promise((r) => setTimeout(r, 500));
    }
    bar?.done();
    const r = await service.getImport(db, baseId, imp.id);
    if (r.status !== 'done') throw new Error(`import ${r.status}`);
    let errorsFile: string | null = null;
    if (r.failed > 0) {
      errorsFile = errorsPath(file, o, r.format);
      await service.writeErrorFile(db, baseId, imp.id, fs.createWriteStream(errorsFile));
    }
    return { rows: r.rows, created: r.created, updated: r.updated, unchanged: r.unchanged, failed: r.failed, errorsFile };
  } finally {
    await database.close();
  }
}

export function registerImportCommand(program: Command): void {
  program
    .command('import <file>')
    .description('Import a CSV or XLSX file into a base (against a server with --url, else directly on the database)')
    .requiredOption('--base <id>', 'the base to import into')
    .option('--mode <mode>', 'create | update | upsert', 'upsert')
    .option('--mapping <json>', 'column targets, e.g. {"columns":["fullName","phone",null]} (default: matched by headers)')
    .option('--template <id>', 'a saved mapping template')
    .option('--policy <json>', 'per target: overwrite | fill | skip, e.g. {"city":"fill"}')
    .option('--duplicates <policy>', 'rows repeated in the file: merge | report', 'merge')
    .option('--tags <ids>', 'tag ids to put on every imported client, comma-separated')
    .option('--segment <id>', 'a manual segment to add every imported client to')
    .option('--sheet <name>', 'XLSX: the sheet (name or 0-based index)')
    .option('--dry-run', 'report what would happen; write nothing')
    .option('--errors <file>', 'where to write the failed rows (default: FILE.errors.csv|xlsx beside the file)')
    .option('--json', 'print the accounting as one JSON object')
    .option('--url <url>', 'a running server (or KARTOTEKA_URL)')
    .option('--token <token>', 'an API key for --url (or KARTOTEKA_TOKEN)')
    .action(async (file: string, o: Opts) => {
      if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
      checkFlags(o);
      const target = remoteTarget({ ...(o.url ? { url: o.url } : {}), ...(o.token ? { token: o.token } : {}) });
      const s = target ? await viaServer(file, o, target) : await direct(file, o);
      if (o.json) process.stdout.write(JSON.stringify(s) + '\n');
      else {
        console.log(`${s.rows} rows: ${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged, ${s.failed} failed`);
        if (s.errorsFile) console.log(`failed rows with reasons: ${s.errorsFile}`);
      }
    });
}
