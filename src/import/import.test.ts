// Import end to end: real files (Windows-1251 with ';', UTF-8 with BOM, XLSX), the API,
// the job, the error file, resume after a killed run, and fuzzed input.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it, test } from 'node:test';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { ADMIN_TOKEN, assertCleanProblem, testContext, type TestContext } from '../../test/context.ts';
import { xlsxWriter } from '../formats/xlsx.write.ts';
import { writeCsv } from '../generate/generate.ts';
import { runOnce, startWorker } from '../jobs/jobs.service.ts';

const ctx = await testContext();

/** Windows-1251 bytes of a string (Cyrillic, Ё/ё, №; ASCII as is): what Russian Excel saves as «CSV». */
function cp1251(s: string): Buffer {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c >= 0x410 && c <= 0x44f) out.push(c - 0x410 + 0xc0);
    else if (c === 0x401) out.push(0xa8);
    else if (c === 0x451) out.push(0xb8);
    else if (c === 0x2116) out.push(0xb9);
    else out.push(0x3f);
  }
  return Buffer.from(out);
}

async function upload(c: TestContext, baseId: number, body: Buffer, fileName = 'clients.csv', query = '', lang = 'ru') {
  const res = await c.app.inject({
    method: 'POST',
    url: `/api/v1/bases/${baseId}/imports?fileName=${encodeURIComponent(fileName)}${query}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream', 'accept-language': lang },
    payload: body,
  });
  const parsed = res.body ? JSON.parse(res.body) : undefined;
  if (res.statusCode >= 400) assertCleanProblem('upload', res.statusCode, res.headers['content-type'], parsed);
  return { status: res.statusCode, body: parsed };
}

/** Runs queued jobs until the given one has finished. */
async function finish(c: TestContext, jobId: number) {
  for (let i = 0; i < 50; i++) {
    const j = await runOnce(c.db, { dataDir: c.config.dataDir });
    if (!j || j.id === jobId) break;
  }
  return c.db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
}

async function importFile(baseId: number, body: Buffer, settings: Record<string, unknown>, fileName = 'clients.csv') {
  const up = await upload(ctx, baseId, body, fileName);
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const mapping = settings.mapping ?? up.body.mapping;
  const st = await ctx.api('POST', `/api/v1/bases/${baseId}/imports/${up.body.import.id}/start`, { ...settings, mapping });
  assert.equal(st.status, 202, JSON.stringify(st.body));
  const job = await finish(ctx, st.body.jobId);
  assert.equal(job.status, 'done', JSON.stringify(job));
  const got = await ctx.api('GET', `/api/v1/bases/${baseId}/imports/${up.body.import.id}`);
  const r = got.body;
  assert.equal(r.created + r.updated + r.unchanged + r.failed, r.rows, `accounting: ${JSON.stringify(r)}`);
  return { up: up.body, imp: r };
}

async function errorFile(baseId: number, importId: number, lang = 'ru') {
  const res = await ctx.app.inject({ method: 'GET', url: `/api/v1/bases/${baseId}/imports/${importId}/errors`, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'accept-language': lang } });
  assert.equal(res.statusCode, 200);
  return { headers: res.headers, body: res.rawPayload };
}

/** Runs fn with imports reading this many rows per batch (read by the job when it starts). */
async function withBatchSize(n: number, fn: () => Promise<void>) {
  const prev = process.env.KARTOTEKA_IMPORT_BATCH_SIZE;
  process.env.KARTOTEKA_IMPORT_BATCH_SIZE = String(n);
  try {
    await fn();
  } finally {
    if (prev === undefined) delete process.env.KARTOTEKA_IMPORT_BATCH_SIZE;
    else process.env.KARTOTEKA_IMPORT_BATCH_SIZE = prev;
  }
}

const profilesOf = (baseId: number) => ctx.db.selectFrom('profiles').selectAll().where('base_id', '=', baseId).orderBy('id').execute();

describe('CSV in Windows-1251 with ";" (Russian Excel «CSV»)', () => {
  it('is detected, mapped by its Russian headers, previewed with normalized values and per-cell errors, and imported with exact accounting', async () => {
    const base = await ctx.newBase();
    const text = [
      'ФИО;Моб. телефон;E-mail;Дата рождения;Город;Пол',
      'Иванов Иван Иванович;8 (916) 123-45-67;IVANOV@Mail.ru;01.02.1985;Москва;м',
      'Петрова Анна;+7 926 000-11-22;anna@example.com;1990-12-31;Санкт-Петербург;ж',
      'Сидоров Пётр;12345;petr@example.com;31.02.1990;Казань;м',
      'Ёлкина Мария;8-903-555-66-77;;;Тула;ж',
    ].join('\r\n');
    const up = await upload(ctx, base.id, cp1251(text), 'клиенты.csv');
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.equal(up.body.import.encoding, 'windows-1251');
    assert.equal(up.body.import.delimiter, ';');
    assert.deepEqual(up.body.mapping.columns, ['fullName', 'phone', 'email', 'birthDate', 'city', 'gender']);
    assert.equal(up.body.rows.length, 4);
    assert.equal(up.body.rows[0].values.phone, '+79161234567');
    assert.equal(up.body.rows[0].values.email, 'ivanov@mail.ru');
    assert.equal(up.body.rows[0].values.middleName, 'Иванович');
    assert.equal(up.body.rows[3].values.lastName, 'Ёлкина');
    const bad = up.body.rows[2];
    assert.deepEqual(bad.errors.map((e: { header: string }) => e.header).sort(), ['Дата рождения', 'Моб. телефон']);

    const st = await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${up.body.import.id}/start`, { mapping: up.body.mapping });
    assert.equal(st.status, 202);
    await finish(ctx, st.body.jobId);
    const r = (await ctx.api('GET', `/api/v1/bases/${base.id}/imports/${up.body.import.id}`)).body;
    assert.deepEqual([r.status, r.rows, r.created, r.updated, r.unchanged, r.failed], ['done', 4, 3, 0, 0, 1]);
    assert.equal(r.fileName, 'клиенты.csv');
    assert.match(r.sha256, /^[0-9a-f]{64}$/);
    assert.ok(r.durationMs !== null && r.finishedAt);
    const rows = await profilesOf(base.id);
    assert.deepEqual(rows.map((p) => p.phone), ['+79161234567', '+79260001122', '+79035556677']);
    assert.equal(rows[0]!.birth_date, '1985-02-01');
    assert.equal(rows[0]!.reg_source, 'import');
    assert.equal(rows[2]!.email, null);

    // The error file: the same columns, the line and the reason, in the format of the upload.
    const ef = await errorFile(base.id, up.body.import.id);
    const csv = ef.body.toString('utf8');
    assert.ok(csv.startsWith('\uFEFF'), 'UTF-8 with BOM for Excel');
    const lines = csv.slice(1).trim().split('\r\n');
    assert.equal(lines.length, 2);
    assert.equal(lines[0], 'ФИО;Моб. телефон;E-mail;Дата рождения;Город;Пол;Строка;Ошибка');
    assert.match(lines[1]!, /^Сидоров Пётр;12345;petr@example\.com;31\.02\.1990;Казань;м;4;/);
    assert.match(lines[1]!, /Моб\. телефон/);
    assert.match(lines[1]!, /Дата рождения/);
  });
});

describe('modes, policies and repeats', () => {
  it('update only with «fill if empty»: existing clients gain what they lacked, unknown ones fail, nothing is created', async () => {
    const base = await ctx.newBase();
    await ctx.newProfile(base.id, { phone: '+79160000001', city: 'Москва' });
    await ctx.newProfile(base.id, { phone: '+79160000002' });
    const csv = '\uFEFFТелефон,Город,Фамилия\n+7 916 000-00-01,Тверь,Орлов\n+7 916 000-00-02,Тверь,\n+7 916 000-00-09,Омск,Новиков\n';
    const { imp } = await importFile(base.id, Buffer.from(csv), { mode: 'update', policy: { city: 'fill' } });
    assert.deepEqual([imp.rows, imp.created, imp.updated, imp.unchanged, imp.failed], [3, 0, 2, 0, 1]);
    const rows = await profilesOf(base.id);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((p) => [p.city, p.last_name]), [['Москва', 'Орлов'], ['Тверь', null]]);
    const ef = (await errorFile(base.id, imp.id, 'en')).body.toString('utf8');
    assert.match(ef, /\+7 916 000-00-09,Омск,Новиков,4,The client is not in the base and the import mode is “update only”/);
  });

  it('create only: existing clients fail with their id; the same file again changes nothing', async () => {
    const base = await ctx.newBase();
    const existing = await ctx.newProfile(base.id, { phone: '+79160000001' });
    const csv = 'phone;first name\n89160000001;Анна\n89160000003;Олег\n';
    const { imp } = await importFile(base.id, Buffer.from(csv), { mode: 'create' });
    assert.deepEqual([imp.created, imp.failed], [1, 1]);
    const ef = (await errorFile(base.id, imp.id)).body.toString('utf8');
    assert.ok(ef.includes(`(id ${existing.id})`), ef);
    const again = await importFile(base.id, Buffer.from(csv), { mode: 'upsert' });
    assert.deepEqual([again.imp.created, again.imp.updated, again.imp.unchanged, again.imp.failed], [0, 1, 1, 0]);
  });

  it('rows repeated in the file become one profile (merge) or fail naming the first line (report)', async () => {
    const csv = 'Телефон;Имя;Город;Номер карты\n+79161110000;Анна;;\n89161110000;;Казань;\n+79162220000;Олег;;1234567\n;Олег;Самара;1234567\n';
    const b1 = await ctx.newBase();
    const merged = await importFile(b1.id, Buffer.from(csv), { duplicates: 'merge' });
    assert.deepEqual([merged.imp.rows, merged.imp.created, merged.imp.updated, merged.imp.failed], [4, 2, 2, 0]);
    const rows = await profilesOf(b1.id);
    assert.deepEqual(rows.map((p) => [p.phone, p.first_name, p.city, p.card_number]), [
      ['+79161110000', 'Анна', 'Казань', null],
      ['+79162220000', 'Олег', 'Самара', '1234567'],
    ]);
    const b2 = await ctx.newBase();
    const reported = await importFile(b2.id, Buffer.from(csv), { duplicates: 'report' });
    assert.deepEqual([reported.imp.created, reported.imp.failed], [2, 2]);
    const ef = (await errorFile(b2.id, reported.imp.id)).body.toString('utf8');
    assert.match(ef, /;3;Повтор строки 2/);
    assert.match(ef, /;5;Повтор строки 4/);
  });

  it('repeats across batches are merged too, and every batch keeps the accounting', async () => {
    await withBatchSize(3, async () => {
    const base = await ctx.newBase();
    const lines = ['phone,email,city'];
    for (let i = 0; i < 10; i++) lines.push(`+7916333000${i % 4},u${i}@x.ru,City${i}`);
    const { imp } = await importFile(base.id, Buffer.from(lines.join('\n')), { mode: 'create' });
    assert.deepEqual([imp.rows, imp.created, imp.updated, imp.failed], [10, 4, 6, 0]);
    const rows = await profilesOf(base.id);
    assert.equal(rows.length, 4);
    assert.deepEqual(rows.map((p) => p.city), ['City8', 'City9', 'City6', 'City7']);
    });
  });

  it('a card held by another client fails the row instead of joining two clients; email never joins two members', async () => {
    const base = await ctx.newBase();
    const a = await ctx.newProfile(base.id, { phone: '+79164440001', cardNumber: '5550001' });
    await ctx.newProfile(base.id, { phone: '+79164440002', email: 'same@x.ru' });
    const csv = 'phone;card;email\n+79164440002;5550001;\n;;same@x.ru\n+79164440003;;same@x.ru\n';
    const { imp } = await importFile(base.id, Buffer.from(csv), {});
    assert.deepEqual([imp.created, imp.updated, imp.unchanged, imp.failed], [1, 0, 1, 1]);
    const ef = (await errorFile(base.id, imp.id)).body.toString('utf8');
    assert.ok(ef.includes(`Номер карты 5550001 принадлежит другому клиенту (id ${a.id})`), ef);
    assert.equal((await profilesOf(base.id)).length, 3, 'the member with the same email is a new profile, not merged');
  });

  it('an email-only row is a subscriber; a later member with that email takes the subscriber in, keeping its data', async () => {
    const base = await ctx.newBase();
    const sub = await ctx.newProfile(base.id, { email: 'fan@x.ru', city: 'Омск' });
    assert.equal(sub.kind, 'subscriber');
    const csv = 'phone;email;Имя\n+79165550001;fan@x.ru;Вера\n;new@x.ru;Лев\n';
    const { imp } = await importFile(base.id, Buffer.from(csv), {});
    // As a single write does it: the member is created and takes the subscriber in (its row kept).
    assert.deepEqual([imp.created, imp.updated], [2, 0]);
    const rows = await profilesOf(base.id);
    assert.deepEqual(rows.map((p) => [p.kind, p.phone, p.email, p.city, p.first_name]), [
      ['member', '+79165550001', 'fan@x.ru', 'Омск', 'Вера'],
      ['subscriber', null, 'new@x.ru', null, 'Лев'],
    ]);
    const merge = await ctx.db.selectFrom('profile_merges').select(['into_id', 'from_id', 'reason']).where('base_id', '=', base.id).execute();
    assert.deepEqual(merge, [{ into_id: rows[0]!.id, from_id: sub.id, reason: 'member_created_with_email' }]);
  });

  it('a subscriber the file made and a later batch folded into a member counts once: created equals the clients stored', async () => {
    for (const size of [1, 10]) {
      await withBatchSize(size, async () => {
        const base = await ctx.newBase();
        const csv = 'phone;email;Имя\n;fan@x.ru;Вера\n+79165550002;other@x.ru;Лев\n+79165550001;fan@x.ru;\n';
        const { imp } = await importFile(base.id, Buffer.from(csv), {});
        const rows = await profilesOf(base.id);
        assert.deepEqual(rows.map((p) => [p.kind, p.phone, p.email, p.first_name]).sort(), [
          ['member', '+79165550001', 'fan@x.ru', 'Вера'],
          ['member', '+79165550002', 'other@x.ru', 'Лев'],
        ]);
        assert.deepEqual([imp.rows, imp.created, imp.updated, imp.failed], [3, rows.length, 1, 0], `batch size ${size}`);
      });
    }
  });

  it('a member given a subscriber\'s email takes the subscriber in; the merge is recorded as the importer\'s', async () => {
    const base = await ctx.newBase();
    const member = await ctx.newProfile(base.id, { phone: '+79165550011' });
    const sub = await ctx.newProfile(base.id, { email: 'fold@x.ru', city: 'Омск' });
    const { imp } = await importFile(base.id, Buffer.from('phone;email\n+79165550011;fold@x.ru\n'), {});
    assert.deepEqual([imp.created, imp.updated], [0, 1]);
    const rows = await profilesOf(base.id);
    assert.deepEqual(rows.map((p) => [p.id, p.kind, p.email, p.city]), [[member.id, 'member', 'fold@x.ru', 'Омск']], 'the subscriber is gone into the member');
    const events = (await ctx.api('GET', `/api/v1/bases/${base.id}/profiles/${member.id}/events`)).body.items as { action: string; actor: string; changes: { from?: number[] } }[];
    const merged = events.find((e) => e.action === 'merged');
    assert.deepEqual(merged && [merged.actor, merged.changes.from], [imp.actor, [sub.id]]);
  });

  it('custom fields with policies, tags from a column and for the whole import, a manual segment, required fields', async () => {
    const base = await ctx.newBase();
    assert.equal((await ctx.api('POST', `/api/v1/bases/${base.id}/fields`, { key: 'score', type: 'int', label: { ru: 'Баллы' } })).status, 201);
    assert.equal((await ctx.api('POST', `/api/v1/bases/${base.id}/fields`, { key: 'level', type: 'list', listMode: 'free', label: { ru: 'Уровень' }, required: true })).status, 201);
    const vip = (await ctx.api('POST', `/api/v1/bases/${base.id}/tags`, { name: 'VIP' })).body;
    const seg = (await ctx.api('POST', `/api/v1/bases/${base.id}/segments`, { name: 'Из файла', kind: 'manual' })).body;
    const old = await ctx.newProfile(base.id, { phone: '+79167770001', fields: { score: 5, level: 'Серебро' } });
    const csv = 'Телефон;Баллы;Уровень;Теги\n+79167770001;50;Золото;Постоянный, vip\n+79167770002;7;Платина;\n+79167770003;8;;\n';
    const { imp } = await importFile(base.id, Buffer.from(csv), { policy: { 'fields.level': 'fill' }, tagIds: [vip.id], segmentId: seg.id });
    assert.deepEqual([imp.created, imp.updated, imp.failed], [1, 1, 1]);
    const rows = await profilesOf(base.id);
    assert.deepEqual(rows.map((p) => p.fields), [{ score: 50, level: 'Серебро' }, { score: 7, level: 'Платина' }]);
    const tags = await ctx.db.selectFrom('tags').select(['id', 'name']).where('base_id', '=', base.id).orderBy('id').execute();
    assert.deepEqual(tags.map((t) => t.name), ['VIP', 'Постоянный']);
    assert.deepEqual(rows[0]!.tags.map(Number), tags.map((t) => t.id));
    assert.deepEqual(rows[1]!.tags.map(Number), [vip.id]);
    const members = await ctx.db.selectFrom('segment_members').select('profile_id').where('segment_id', '=', seg.id).orderBy('profile_id').execute();
    assert.deepEqual(members.map((m) => m.profile_id), [old.id, rows[1]!.id]);
    const level = await ctx.db.selectFrom('fields').select('options').where('base_id', '=', base.id).where('key', '=', 'level').executeTakeFirstOrThrow();
    assert.ok((level.options as string[]).includes('Платина'), 'a free list learns the new value');
    const ef = (await errorFile(base.id, imp.id)).body.toString('utf8');
    assert.match(ef, /;4;Не заполнены обязательные поля: Уровень/);
    const events = await ctx.db.selectFrom('profile_events').select(['action', 'changes', 'source']).where('profile_id', '=', old.id).orderBy('id').execute();
    assert.deepEqual(events.at(-1), {
      action: 'updated',
      changes: { 'fields.score': { from: 5, to: 50 }, tags: { from: [], to: tags.map((t) => t.id) } },
      source: { import: imp.id, line: 2 },
    });
  });

  it('a dry run reports exactly what the import then does, and writes nothing', async () => {
    const base = await ctx.newBase();
    await ctx.newProfile(base.id, { phone: '+79168880001', city: 'Москва' });
    const csv = 'phone;city\n+79168880001;Москва\n+79168880002;Уфа\nbad;Уфа\n+79168880002;Пермь\n';
    const dry = await importFile(base.id, Buffer.from(csv), { dryRun: true });
    assert.equal(dry.imp.dryRun, true);
    assert.equal((await profilesOf(base.id)).length, 1, 'nothing written');
    const real = await importFile(base.id, Buffer.from(csv), {});
    const counts = (r: typeof real.imp) => [r.rows, r.created, r.updated, r.unchanged, r.failed];
    assert.deepEqual(counts(dry.imp), counts(real.imp));
    assert.deepEqual(counts(real.imp), [4, 1, 1, 1, 1]);
    assert.equal((await errorFile(base.id, dry.imp.id)).body.toString('utf8').trim().split('\r\n').length, 2, 'the dry run has its error file');
    assert.equal((await errorFile(base.id, dry.imp.id)).body.toString('utf8'), (await errorFile(base.id, real.imp.id)).body.toString('utf8'), 'the same failed rows, the same reasons');
    assert.deepEqual(fs.readdirSync(path.join(ctx.config.dataDir, 'files', 'tmp')), [], 'the spool of failed rows is gone');
  });

  it('a dry run where thousands of rows fail keeps every one of them in its error file', async () => {
    await withBatchSize(500, async () => {
      const base = await ctx.newBase();
      const lines = ['phone;city'];
      for (let i = 0; i < 12_000; i++) lines.push(i % 4 === 0 ? `+7916${String(i).padStart(7, '0')};Тула` : `bad-${i};Тула`);
      const dry = await importFile(base.id, Buffer.from(lines.join('\n')), { dryRun: true });
      assert.deepEqual([dry.imp.rows, dry.imp.created, dry.imp.failed], [12_000, 3_000, 9_000]);
      const file = (await errorFile(base.id, dry.imp.id)).body.toString('utf8').trim().split('\r\n');
      assert.equal(file.length, 9_001, 'a header and every failed row');
      assert.equal((await profilesOf(base.id)).length, 0);
    });
  });
});

describe('many bases', () => {
  it('the same generated file into a first, second and third base: each gets the same clients and counts, none touches another, and the planner sees each base\'s real size', async () => {
    const file = path.join(os.tmpdir(), `kt-bases-${process.pid}.csv`);
    await writeCsv(file, 1500, { seed: 7, dirty: true });
    const body = fs.readFileSync(file);
    fs.rmSync(file);
    const [b1, b2, b3] = [await ctx.newBase(), await ctx.newBase(), await ctx.newBase()];
    const results: any[] = [];
    // Small batches: the later batches of each import match the profiles its earlier ones created.
    await withBatchSize(400, async () => {
      for (const b of [b1, b2, b3]) results.push((await importFile(b.id, body, { mode: 'upsert' })).imp);
    });
    const counts = results.map((r) => [r.rows, r.created, r.updated, r.unchanged, r.failed]);
    assert.ok(results[0].created > 1300 && results[0].updated > 0 && results[0].failed > 0, JSON.stringify(counts[0]));
    assert.deepEqual(counts[1], counts[0]);
    assert.deepEqual(counts[2], counts[0]);
    const strip = (rows: Awaited<ReturnType<typeof profilesOf>>) => rows.map((p) => [p.phone, p.card_number, p.email, p.last_name, p.city, p.birth_date, p.fields]);
    const [p1, p2, p3] = [await profilesOf(b1.id), await profilesOf(b2.id), await profilesOf(b3.id)];
    assert.equal(p1.length, results[0].created);
    assert.deepEqual(strip(p2), strip(p1));
    assert.deepEqual(strip(p3), strip(p1));
    // The same file once more into the second base changes nothing there, and nothing in the others.
    const before = (await profilesOf(b1.id)).map((p) => p.updated_at.getTime());
    const again = (await importFile(b2.id, body, { mode: 'upsert' })).imp;
    assert.equal(again.created, 0);
    assert.deepEqual((await profilesOf(b1.id)).map((p) => p.updated_at.getTime()), before);
    // Each base is a table of its own (migration 0008): a base that grew from empty is estimated at
    // its real size, not at the one row a shared table's statistics gave a new base.
    const plan = await ctx.pool.query(`EXPLAIN (FORMAT JSON) SELECT * FROM profiles WHERE base_id = $1`, [b3.id]);
    const estimate = plan.rows[0]['QUERY PLAN'][0].Plan['Plan Rows'] as number;
    assert.ok(estimate > p3.length / 3 && estimate < p3.length * 3, `estimated ${estimate} rows for ${p3.length}`);
  });
});

/** Runs fn with imports of any size into an empty base taking the bulk way. */
async function withBulk(fn: () => Promise<void>) {
  const prev = process.env.KARTOTEKA_IMPORT_BULK_MIN_MB;
  process.env.KARTOTEKA_IMPORT_BULK_MIN_MB = '0';
  try {
    await fn();
  } finally {
    if (prev === undefined) delete process.env.KARTOTEKA_IMPORT_BULK_MIN_MB;
    else process.env.KARTOTEKA_IMPORT_BULK_MIN_MB = prev;
  }
}

describe('the bulk way (a large file into an empty base)', () => {
  const generated = async (n: number, seed: number) => {
    const file = path.join(os.tmpdir(), `kt-bulk-${process.pid}-${seed}.csv`);
    await writeCsv(file, n, { seed, dirty: true });
    const body = fs.readFileSync(file);
    fs.rmSync(file);
    return body;
  };
  const tagNames = async (baseId: number) => {
    const names = new Map((await ctx.db.selectFrom('tags').select(['id', 'name']).where('base_id', '=', baseId).execute()).map((t) => [String(t.id), t.name]));
    return (ids: unknown[] | undefined) => ids?.map((t) => names.get(String(t)) ?? `?${t}`);
  };
  /** Every stored value of a base's profiles but ids and times (tags by name), sorted. */
  const comparable = async (baseId: number) => {
    const tags = await tagNames(baseId);
    return sorted((await profilesOf(baseId)).map(({ id: _i, base_id: _b, created_at: _c, updated_at: _u, writer: _w, ...rest }) => ({ ...rest, tags: tags(rest.tags) })));
  };
  /** Every 'created' event's values and source (tags by name), sorted. */
  const createdEvents = async (baseId: number) => {
    const tags = await tagNames(baseId);
    const r = await ctx.pool.query(`SELECT changes, source - 'import' AS source, actor FROM profile_events WHERE base_id = $1 AND action = 'created'`, [baseId]);
    return sorted(r.rows.map((e) => ({ ...e, changes: { ...e.changes, tags: tags(e.changes.tags) } })));
  };
  const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
  /** The lines of `a` not in `b` (a short message, not two thousand rows). */
  const missing = (a: string[], b: string[]) => {
    const set = new Set(b);
    return a.filter((x) => !set.has(x)).slice(0, 3);
  };

  it('ends exactly where the row-by-row way ends: the same clients, counts, history and error file; the base is indexed as any other', async () => {
    const body = await generated(1500, 11);
    const [slow, fast] = [await ctx.newBase(), await ctx.newBase()];
    // A default, a free list, a segment and a tag on every row: the load computes them as the writer's SQL does.
    const setup = async (baseId: number) => {
      for (const f of [
        { key: 'tier', type: 'string', label: { ru: 'Уровень' }, default: 'base' },
        { key: 'visits', type: 'int', label: { ru: 'Визиты' } },
        { key: 'favoriteCategory', type: 'list', label: { ru: 'Категория' }, listMode: 'free', options: [] },
      ]) assert.equal((await ctx.api('POST', `/api/v1/bases/${baseId}/fields`, f)).status, 201);
      const tag = (await ctx.api('POST', `/api/v1/bases/${baseId}/tags`, { name: 'Импорт' })).body;
      const seg = (await ctx.api('POST', `/api/v1/bases/${baseId}/segments`, { name: 'Из файла', kind: 'manual' })).body;
      return { tagIds: [tag.id], segmentId: seg.id };
    };
    let a: any;
    let b: any;
    await withBatchSize(400, async () => {
      a = (await importFile(slow.id, body, await setup(slow.id))).imp;
      await withBulk(async () => {
        b = (await importFile(fast.id, body, await setup(fast.id))).imp;
      });
    });
    assert.ok(a.created > 1300 && a.updated > 0 && a.failed > 0, JSON.stringify(a));
    assert.deepEqual([b.rows, b.created, b.updated, b.unchanged, b.failed], [a.rows, a.created, a.updated, a.unchanged, a.failed]);
    // The progress says which way and phase: the row-by-row way, or the bulk way's last phase.
    assert.deepEqual([a.progress.phase, b.progress.phase, b.progress.rows, b.progress.total], ['rows', 'rest', b.rows, b.rows]);
    // The bulk way creates the repeats' first rows first: the same clients, maybe in another id order.
    const [rowsA, rowsB] = [await comparable(slow.id), await comparable(fast.id)];
    assert.ok(rowsA.some((r) => r.includes('"tier":"base"') && r.includes('favoriteCategory') && r.includes('Импорт')), rowsA[0]);
    assert.deepEqual([rowsB.length, missing(rowsB, rowsA), missing(rowsA, rowsB)], [rowsA.length, [], []]);
    const [evA, evB] = [await createdEvents(slow.id), await createdEvents(fast.id)];
    assert.equal(evA.length, a.created);
    assert.deepEqual([evB.length, missing(evB, evA), missing(evA, evB)], [evA.length, [], []]);
    const members = async (id: number) => Number((await ctx.pool.query(`SELECT count(*) AS n FROM segment_members WHERE base_id = $1`, [id])).rows[0].n);
    assert.equal(await members(fast.id), await members(slow.id));
    const options = async (id: number) => (await ctx.api('GET', `/api/v1/bases/${id}/fields`)).body.items?.find((f: { key: string }) => f.key === 'favoriteCategory')?.options;
    assert.deepEqual(await options(fast.id), await options(slow.id));
    const events = async (id: number) => (await ctx.pool.query(`SELECT action, count(*)::int AS n FROM profile_events WHERE base_id = $1 GROUP BY action ORDER BY action`, [id])).rows;
    assert.deepEqual(await events(fast.id), await events(slow.id));
    assert.equal((await errorFile(fast.id, b.id)).body.toString('utf8'), (await errorFile(slow.id, a.id)).body.toString('utf8'));
    // The loaded table became the base's partition with every index, named as a base's are.
    const indexes = (await ctx.pool.query(`SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY 1`, [`profiles_b${fast.id}`])).rows.map((r) => r.indexname);
    const expected = (await ctx.pool.query(`SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY 1`, [`profiles_b${slow.id}`])).rows.map((r) => r.indexname.replace(`_b${slow.id}`, `_b${fast.id}`));
    assert.deepEqual(indexes, expected);
    const taken = (await profilesOf(fast.id)).find((p) => p.phone)!;
    const again = await ctx.api('POST', `/api/v1/bases/${fast.id}/profiles`, { phone: taken.phone });
    assert.equal(again.status, 409);
    assert.equal(again.body.existingId, taken.id);
    const found = await ctx.api('POST', `/api/v1/bases/${fast.id}/profiles/search`, { q: taken.phone!.slice(-7) });
    assert.ok(found.body.items.some((p: { id: number }) => p.id === taken.id));
  });

  it('two imports into one empty base at once: one loads, the other waits and then goes row by row; both whole, nothing clashes', async () => {
    const files = [await generated(800, 14), await generated(700, 15)];
    const [together, apart] = [await ctx.newBase(), await ctx.newBase()];
    let phases: string[] = [];
    await withBatchSize(100, async () => {
      await withBulk(async () => {
        const imports: number[] = [];
        for (const body of files) {
          const up = await upload(ctx, together.id, body);
          await ctx.api('POST', `/api/v1/bases/${together.id}/imports/${up.body.import.id}/start`, { mapping: up.body.mapping });
          imports.push(up.body.import.id);
        }
        // Two workers, each taking one of the two jobs.
        const ran = await Promise.all([runOnce(ctx.db, { dataDir: ctx.config.dataDir }), runOnce(ctx.db, { dataDir: ctx.config.dataDir })]);
        assert.deepEqual(ran.map((j) => j?.status), ['done', 'done'], JSON.stringify(ran.map((j) => j?.error)));
        for (const id of imports) phases.push((await ctx.api('GET', `/api/v1/bases/${together.id}/imports/${id}`)).body.progress.phase);
      });
    });
    assert.deepEqual([...phases].sort(), ['rest', 'rows'], 'one took the bulk way, the other the incremental one after it');
    // The same two files one after the other, the loaded one first (a client in both: the later file's values win).
    const first = phases.indexOf('rest');
    await importFile(apart.id, files[first]!, {});
    await importFile(apart.id, files[1 - first]!, {});
    const [a, b] = [await comparable(apart.id), await comparable(together.id)];
    assert.deepEqual([b.length, missing(b, a), missing(a, b)], [a.length, [], []]);
  });

  it('killed after the load, it goes on with the rest of the file: no duplicates, exact counts', async () => {
    const body = await generated(900, 12);
    const [slow, fast] = [await ctx.newBase(), await ctx.newBase()];
    await withBatchSize(10, async () => {
      const a = (await importFile(slow.id, body, {})).imp;
      await withBulk(async () => {
        const up = await upload(ctx, fast.id, body);
        const st = await ctx.api('POST', `/api/v1/bases/${fast.id}/imports/${up.body.import.id}/start`, { mapping: up.body.mapping });
        const killed = await runOnce(ctx.db, { dataDir: ctx.config.dataDir, abandonAfterBatches: 1 });
        assert.equal(killed?.status, 'running');
        const mid = (await ctx.api('GET', `/api/v1/bases/${fast.id}/imports/${up.body.import.id}`)).body;
        assert.ok(mid.created > 800 && mid.rows < a.rows, JSON.stringify(mid));
        await ctx.pool.query(`UPDATE jobs SET heartbeat_at = now() - interval '1 minute' WHERE id = $1`, [st.body.jobId]);
        assert.equal((await finish(ctx, st.body.jobId)).status, 'done');
        const b = (await ctx.api('GET', `/api/v1/bases/${fast.id}/imports/${up.body.import.id}`)).body;
        assert.deepEqual([b.rows, b.created, b.updated, b.unchanged, b.failed], [a.rows, a.created, a.updated, a.unchanged, a.failed]);
      });
    });
    const n = await ctx.pool.query(`SELECT count(*)::int AS n, count(DISTINCT phone)::int AS d, count(phone)::int AS p FROM profiles WHERE base_id = $1`, [fast.id]);
    assert.equal(n.rows[0].d, n.rows[0].p);
    const [rowsA, rowsB] = [await comparable(slow.id), await comparable(fast.id)];
    assert.deepEqual([rowsB.length, missing(rowsB, rowsA), missing(rowsA, rowsB)], [rowsA.length, [], []]);
  });

  it('cancelled while loading, it keeps what it loaded, indexed and searchable', async () => {
    const body = await generated(3000, 13);
    const base = await ctx.newBase();
    await withBatchSize(10, async () => {
      await withBulk(async () => {
        const up = await upload(ctx, base.id, body);
        const st = await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${up.body.import.id}/start`, { mapping: up.body.mapping });
        const running = runOnce(ctx.db, { dataDir: ctx.config.dataDir });
        // Stop it once it has loaded a few hundred rows.
        for (;;) {
          const job = await ctx.db.selectFrom('jobs').select(['status', 'progress']).where('id', '=', st.body.jobId).executeTakeFirstOrThrow();
          if ((job.progress as { done?: number }).done! >= 300 || job.status !== 'running' && job.status !== 'queued') break;
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.equal((await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${up.body.import.id}/cancel`)).status, 200);
        await running;
        const r = (await ctx.api('GET', `/api/v1/bases/${base.id}/imports/${up.body.import.id}`)).body;
        assert.equal(r.status, 'cancelled');
        assert.ok(r.rows >= 300 && r.rows < 3000, JSON.stringify(r));
        assert.equal(r.created + r.updated + r.unchanged + r.failed, r.rows);
        const n = await ctx.pool.query(`SELECT count(*)::int AS n FROM profiles WHERE base_id = $1`, [base.id]);
        assert.equal(n.rows[0].n, r.created);
        const some = (await profilesOf(base.id))[0]!;
        const found = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles/search`, { q: some.last_name ?? some.email ?? '' });
        assert.ok(found.body.items.some((p: { id: number }) => p.id === some.id));
      });
    });
  });
});

describe('the job', () => {
  it('killed between batches, it resumes after the last committed line: no duplicates, exact counts', async () => {
    await withBatchSize(7, async () => {
    const base = await ctx.newBase();
    const lines = ['Телефон;Имя'];
    for (let i = 0; i < 100; i++) lines.push(`+7917${String(i % 80).padStart(7, '0')};Имя${i}`);
    lines.push('oops;Сбой');
    const up = await upload(ctx, base.id, Buffer.from(lines.join('\n')));
    const st = await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${up.body.import.id}/start`, { mapping: up.body.mapping });
    const killed = await runOnce(ctx.db, { dataDir: ctx.config.dataDir, abandonAfterBatches: 3 });
    assert.equal(killed?.status, 'running');
    const mid = (await ctx.api('GET', `/api/v1/bases/${base.id}/imports/${up.body.import.id}`)).body;
    assert.equal(mid.rows, 21);
    assert.equal(mid.progress.rows, 21);
    assert.ok(mid.progress.total >= mid.progress.rows, `estimated total ${mid.progress.total}`);
    await ctx.pool.query(`UPDATE jobs SET heartbeat_at = now() - interval '1 minute' WHERE id = $1`, [st.body.jobId]);
    const job = await finish(ctx, st.body.jobId);
    assert.equal(job.status, 'done');
    const r = (await ctx.api('GET', `/api/v1/bases/${base.id}/imports/${up.body.import.id}`)).body;
    assert.deepEqual([r.rows, r.created, r.updated, r.unchanged, r.failed], [101, 80, 20, 0, 1]);
    const n = await ctx.pool.query(`SELECT count(*)::int AS n, count(DISTINCT phone)::int AS d FROM profiles WHERE base_id = $1`, [base.id]);
    assert.deepEqual(n.rows[0], { n: 80, d: 80 });
    const errs = await ctx.pool.query(`SELECT count(*)::int AS n FROM import_errors WHERE import_id = $1`, [up.body.import.id]);
    assert.equal(errs.rows[0].n, 1);
    });
  });

  it('cancelled, it stops between batches and the counts say what was done', async () => {
    await withBatchSize(5, async () => {
    const base = await ctx.newBase();
    const lines = ['phone'];
    for (let i = 0; i < 30; i++) lines.push(`+7918${String(i).padStart(7, '0')}`);
    const up = await upload(ctx, base.id, Buffer.from(lines.join('\n')));
    const st = await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${up.body.import.id}/start`, { mapping: up.body.mapping });
    let cancelled = false;
    await runOnce(ctx.db, {
      dataDir: ctx.config.dataDir,
      afterBatch: async () => {
        if (cancelled) return;
        cancelled = true;
        assert.equal((await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${up.body.import.id}/cancel`)).status, 200);
      },
    });
    const r = (await ctx.api('GET', `/api/v1/bases/${base.id}/imports/${up.body.import.id}`)).body;
    assert.equal(r.status, 'cancelled');
    assert.deepEqual([r.rows, r.created], [5, 5]);
    assert.ok(r.finishedAt && r.durationMs !== null, 'a stopped import says when it ended');
    assert.equal((await profilesOf(base.id)).length, 5);
    const again = await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${up.body.import.id}/start`, { mapping: up.body.mapping });
    assert.equal(again.status, 409);
    void st;
    });
  });
});

describe('templates, XLSX, bad input', () => {
  it('a saved mapping is applied to a later file with the same headers in another order', async () => {
    const base = await ctx.newBase();
    const first = await upload(ctx, base.id, Buffer.from('Клиент;Мобильный;Заметка\nИванов Иван;89160000001;x\n'));
    const mapping = { columns: ['fullName', 'phone', null] };
    const st = await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${first.body.import.id}/start`, { mapping, saveTemplate: 'Из 1С' });
    assert.equal(st.status, 202);
    const list = await ctx.api('GET', `/api/v1/bases/${base.id}/import-templates`);
    assert.deepEqual(list.body.items.map((x: { name: string }) => x.name), ['Из 1С']);
    const second = await upload(ctx, base.id, Buffer.from('Заметка;Клиент;Мобильный\ny;Петров Пётр;89160000002\n'));
    assert.equal(second.body.templateId, list.body.items[0].id);
    assert.deepEqual(second.body.mapping.columns, [null, 'fullName', 'phone']);
    assert.equal(second.body.rows[0].values.firstName, 'Пётр');
    const dup = await ctx.api('POST', `/api/v1/bases/${base.id}/import-templates`, { name: 'из 1с', headers: ['a'], mapping: { columns: ['phone'] } });
    assert.equal(dup.status, 409);
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}/import-templates/${list.body.items[0].id}`)).status, 204);
  });

  it('an XLSX (our own writer) imports with phones as text and dates as Excel stores them', async () => {
    const base = await ctx.newBase();
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = xlsxWriter(out, [{ header: 'Телефон', kind: 'text' }, { header: 'Дата рождения', kind: 'date' }, { header: 'Баллы', kind: 'number' }]);
    await w.write(['+7 916 100-00-01', new Date(Date.UTC(1980, 4, 17)), 3]);
    await w.write(['89161000002', null, 4]);
    await w.write(['не телефон', null, 5]);
    await w.end();
    const { imp } = await importFile(base.id, Buffer.concat(chunks), { mapping: { columns: ['phone', 'birthDate', null] } }, 'clients.xlsx');
    assert.equal(imp.format, 'xlsx');
    assert.deepEqual([imp.rows, imp.created, imp.failed], [3, 2, 1]);
    const rows = await profilesOf(base.id);
    assert.deepEqual(rows.map((p) => [p.phone, p.birth_date]), [['+79161000001', '1980-05-17'], ['+79161000002', null]]);
    // The failed rows of an XLSX come back as an XLSX: the columns, the line, the reason.
    const ef = await errorFile(base.id, imp.id);
    assert.match(String(ef.headers['content-type']), /spreadsheetml/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(ef.body as unknown as ArrayBuffer);
    const sheet = wb.worksheets[0]!;
    assert.deepEqual((sheet.getRow(1).values as unknown[]).slice(1), ['Телефон', 'Дата рождения', 'Баллы', 'Строка', 'Ошибка']);
    const bad = (sheet.getRow(2).values as unknown[]).slice(1);
    assert.deepEqual([bad[0], bad[1] ?? '', bad[2], bad[3]], ['не телефон', '', '5', 4]);
    assert.match(String(bad[4]), /Колонка «Телефон»/);
  });

  it('an XLSX written by exceljs: the sheet chosen by name, numbers stored as numbers, and an unknown sheet named in the error', async () => {
    const base = await ctx.newBase();
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('Пусто');
    const ws = wb.addWorksheet('Клиенты');
    ws.addRow(['Телефон', 'Фамилия', 'Дата рождения']);
    ws.addRow([79161230001, 'Орлова', new Date(Date.UTC(1991, 0, 2))]);
    const buf = Buffer.from(await wb.xlsx.writeBuffer());
    const missing = await upload(ctx, base.id, buf, 'book.xlsx', '&sheet=Нет');
    assert.equal(missing.status, 400);
    assert.match(missing.body.detail, /Клиенты/);
    const up = await upload(ctx, base.id, buf, 'book.xlsx', `&sheet=${encodeURIComponent('Клиенты')}`);
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.deepEqual(up.body.import.sheets, ['Пусто', 'Клиенты']);
    assert.deepEqual(up.body.rows[0].values, { phone: '+79161230001', lastName: 'Орлова', birthDate: '1991-01-02' });
  });

  const office = ['libreoffice', 'soffice'].find((bin) => spawnSync('which', [bin]).status === 0);
  // CI installs LibreOffice (.ci/run) and must run this; elsewhere a machine without it says so.
  test('an XLSX saved by LibreOffice imports', { skip: office || process.env.CI ? false : 'LibreOffice is not installed (apt-get install libreoffice-calc-nogui)' }, async () => {
    assert.ok(office, 'LibreOffice is required in CI: .ci/run installs libreoffice-calc-nogui');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-lo-'));
    try {
      fs.writeFileSync(path.join(dir, 'clients.csv'), 'Телефон,Фамилия,Город\n89161110001,Зайцева,Пермь\n89161110002,Волков,Чита\n');
      const r = spawnSync(office, ['--headless', `-env:UserInstallation=file://${dir}/profile`, '--infilter=CSV:44,34,76,1', '--convert-to', 'xlsx', '--outdir', dir, path.join(dir, 'clients.csv')], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const base = await ctx.newBase();
      const { imp } = await importFile(base.id, fs.readFileSync(path.join(dir, 'clients.xlsx')), {}, 'clients.xlsx');
      assert.deepEqual([imp.rows, imp.created], [2, 2]);
      assert.deepEqual((await profilesOf(base.id)).map((p) => [p.phone, p.last_name, p.city]), [
        ['+79161110001', 'Зайцева', 'Пермь'],
        ['+79161110002', 'Волков', 'Чита'],
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // The walk-through: export to XLSX, fix phones in LibreOffice, save as CSV in Windows-1251, import
  // back with «update only», read the error file, see the export log.
  test('round trip through LibreOffice: export XLSX, edit, save as Windows-1251 CSV, update only', { skip: office || process.env.CI ? false : 'LibreOffice is not installed (apt-get install libreoffice-calc-nogui)' }, async () => {
    assert.ok(office, 'LibreOffice is required in CI: .ci/run installs libreoffice-calc-nogui');
    const base = await ctx.newBase();
    for (let i = 1; i <= 4; i++) await ctx.newProfile(base.id, { phone: `+7916300000${i}`, cardNumber: `77000${i}`, lastName: `Клиентов${i}`, city: 'Москва' });
    const ex = await ctx.api('POST', `/api/v1/bases/${base.id}/exports`, { format: 'xlsx', columns: ['cardNumber', 'lastName', 'phone', 'city'], query: {} });
    assert.equal(ex.status, 202, JSON.stringify(ex.body));
    await finish(ctx, ex.body.jobId);
    const file = await ctx.app.inject({ method: 'GET', url: ex.body.link });
    assert.equal(file.statusCode, 200);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-rt-'));
    try {
      fs.writeFileSync(path.join(dir, 'clients.xlsx'), file.rawPayload);
      const conv = spawnSync(office, ['--headless', `-env:UserInstallation=file://${dir}/profile`, '--convert-to', 'csv:Text - txt - csv (StarCalc):59,34,34,1', '--outdir', path.join(dir, 'out'), path.join(dir, 'clients.xlsx')], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(conv.status, 0, conv.stderr);
      const bytes = fs.readFileSync(path.join(dir, 'out', 'clients.csv'));
      assert.ok(bytes.includes(cp1251('Клиентов1')), 'LibreOffice wrote Windows-1251');
      // «Fix» phones as a person would: one new number typed with spaces, one typo, one left as it was.
      const text = [...bytes].map((b) => (b < 0x80 ? String.fromCharCode(b) : b >= 0xc0 ? String.fromCodePoint(0x410 + b - 0xc0) : '?')).join('');
      const edited = text.replace('+79163000001', '8 (926) 555-00-01').replace('+79163000002', '8916300000');
      const up = await upload(ctx, base.id, cp1251(edited), 'clients.csv');
      assert.equal(up.status, 201, JSON.stringify(up.body));
      assert.deepEqual([up.body.import.encoding, up.body.import.delimiter], ['windows-1251', ';']);
      assert.deepEqual(up.body.mapping.columns, ['cardNumber', 'lastName', 'phone', 'city']);
      const st = await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${up.body.import.id}/start`, { mapping: up.body.mapping, mode: 'update' });
      await finish(ctx, st.body.jobId);
      const r = (await ctx.api('GET', `/api/v1/bases/${base.id}/imports/${up.body.import.id}`)).body;
      assert.deepEqual([r.rows, r.updated, r.unchanged, r.failed], [4, 1, 2, 1]);
      const rows = await profilesOf(base.id);
      assert.deepEqual(rows.map((p) => p.phone), ['+79265550001', '+79163000002', '+79163000003', '+79163000004']);
      const ef = (await errorFile(base.id, up.body.import.id)).body.toString('utf8');
      assert.match(ef, /770002;Клиентов2;8916300000;Москва;3;Колонка «Телефон»/);
      const log = await ctx.api('GET', `/api/v1/bases/${base.id}/exports`);
      assert.equal(log.body.items.length, 1);
      assert.equal(log.body.items[0].rows, 4);
      assert.equal(log.body.items[0].format, 'xlsx');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad files and settings get clear errors naming the field, in Russian and English', async () => {
    const base = await ctx.newBase();
    const empty = await upload(ctx, base.id, Buffer.alloc(0));
    assert.equal(empty.status, 400);
    assert.match(empty.body.detail, /пустой/);
    const utf16 = await upload(ctx, base.id, Buffer.from([0xff, 0xfe, 0x41, 0x00]), 'x.csv', '', 'en');
    assert.equal(utf16.status, 400);
    assert.match(utf16.body.detail, /UTF-16/);
    const zip = await upload(ctx, base.id, Buffer.from('PK\u0003\u0004garbage'), 'x.xlsx');
    assert.equal(zip.status, 400);
    const up = await upload(ctx, base.id, Buffer.from('Имя;Город\nАнна;Омск\n'));
    const noId = await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${up.body.import.id}/start`, { mapping: up.body.mapping, policy: { phone: 'fill' }, tagIds: [999999] }, { 'accept-language': 'en' });
    assert.equal(noId.status, 400);
    assert.deepEqual(noId.body.errors.map((e: { field: string }) => e.field).sort(), ['mapping.columns', 'policy.phone', 'tagIds[0]']);
    assert.match(JSON.stringify(noId.body.errors), /Map at least one column to phone/);
    const badMap = await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${up.body.import.id}/preview`, { mapping: { columns: ['phone', 'createdAt'] } });
    assert.equal(badMap.status, 400);
    assert.equal(badMap.body.errors[0].field, 'mapping.columns[1]');
    assert.equal((await ctx.api('GET', `/api/v1/bases/${base.id}/imports/999999`)).status, 404);
    const list = await ctx.api('GET', `/api/v1/bases/${base.id}/imports`);
    assert.equal(list.body.items.length, 1, 'refused uploads leave no record');
    assert.equal(list.body.items[0].status, 'uploaded');
  });
});

describe('an upload never started', () => {
  it('is removed with its file; a started one stays, 409 in the user\'s language', async () => {
    const base = await ctx.newBase();
    const up = await upload(ctx, base.id, Buffer.from('phone\n+79163330002\n'));
    const row = await ctx.db.selectFrom('imports').select('file_path').where('id', '=', up.body.import.id).executeTakeFirstOrThrow();
    const file = path.join(ctx.config.dataDir, row.file_path);
    assert.equal(fs.existsSync(file), true);
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}/imports/${up.body.import.id}`)).status, 204);
    assert.equal(fs.existsSync(file), false, 'its file is gone');
    assert.equal((await ctx.api('GET', `/api/v1/bases/${base.id}/imports`)).body.items.length, 0);
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}/imports/${up.body.import.id}`)).status, 404);

    const { up: done } = await importFile(base.id, Buffer.from('phone\n+79163330003\n'), {});
    const refused = await ctx.api('DELETE', `/api/v1/bases/${base.id}/imports/${done.import.id}`, undefined, { 'accept-language': 'en' });
    assert.equal(refused.status, 409);
    assert.match(refused.body.detail, /has already been started/);
    assert.equal((await ctx.api('GET', `/api/v1/bases/${base.id}/imports`)).body.items.length, 1, 'the started import stays in the log');
  });
});

describe('deleting a base', () => {
  it('removes the files of its uploads with it (they hold personal data)', async () => {
    const base = await ctx.newBase();
    const up = await upload(ctx, base.id, Buffer.from('phone\n+79163330001\n'));
    assert.equal(up.status, 201);
    const row = await ctx.db.selectFrom('imports').select('file_path').where('id', '=', up.body.import.id).executeTakeFirstOrThrow();
    const file = path.join(ctx.config.dataDir, row.file_path);
    assert.ok(fs.existsSync(file));
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}`)).status, 204);
    assert.equal(fs.existsSync(file), false, 'the uploaded file is gone with the base');
    assert.equal((await ctx.api('DELETE', `/api/v1/bases/${base.id}`)).status, 404);
  });
});

describe('the CLI', () => {
  const cli = (args: string[], env: Record<string, string>) =>
    spawnSync('npx', ['node', 'src/cli.ts', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });

  it('`kartoteka import FILE --base ID --json` works directly on the database, runs only its own job and prints the accounting', async () => {
    const base = await ctx.newBase();
    // Another base's import, queued for the server: the CLI must leave it alone.
    const other = await ctx.newBase();
    const up = await upload(ctx, other.id, Buffer.from('phone\n+79162000009\n'));
    const queued = (await ctx.api('POST', `/api/v1/bases/${other.id}/imports/${up.body.import.id}/start`, { mapping: up.body.mapping })).body.jobId;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-cli-'));
    try {
      const file = path.join(dir, 'clients.csv');
      fs.writeFileSync(file, cp1251('ФИО;Телефон\r\nИванова Ольга;8 (916) 200-00-01\r\nБез телефона;нет\r\n'));
      const r = cli(['import', file, '--base', String(base.id), '--json'], { DATABASE_URL: ctx.url, KARTOTEKA_DATA_DIR: ctx.config.dataDir, KARTOTEKA_LOG_LEVEL: 'silent' });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.deepEqual(out, { rows: 2, created: 1, updated: 0, unchanged: 0, failed: 1, errorsFile: path.join(dir, 'clients.errors.csv') });
      assert.match(fs.readFileSync(out.errorsFile, 'utf8'), /Без телефона;нет;3;/);
      assert.equal((await profilesOf(base.id))[0]!.first_name, 'Ольга');
      assert.equal((await ctx.api('GET', `/api/v1/jobs/${queued}`)).body.status, 'queued', 'the other base\'s import still waits for the server');
      assert.equal((await finish(ctx, queued)).status, 'done');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad flag is named before anything is uploaded; a refusal reads as words, not a message key', async () => {
    const base = await ctx.newBase();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-cli-'));
    const env = { DATABASE_URL: ctx.url, KARTOTEKA_DATA_DIR: ctx.config.dataDir, KARTOTEKA_LOG_LEVEL: 'silent', LANG: 'en_US.UTF-8', LC_ALL: '' };
    try {
      const file = path.join(dir, 'clients.csv');
      fs.writeFileSync(file, 'phone\n+79162000009\n');
      for (const [flags, named] of [
        [['--mode', 'bogus'], /--mode: /],
        [['--tags', 'x'], /--tags: /],
        [['--duplicates', 'keep'], /--duplicates: /],
      ] as const) {
        const r = cli(['import', file, '--base', String(base.id), ...flags], env);
        assert.equal(r.status, 1, r.stdout);
        assert.match(r.stderr, named);
      }
      const list = await ctx.api('GET', `/api/v1/bases/${base.id}/imports`);
      assert.deepEqual(list.body.items, [], 'nothing was uploaded');
      const missing = cli(['import', file, '--base', '999999'], env);
      assert.equal(missing.status, 1);
      assert.doesNotMatch(missing.stderr, /not_found\.base/);
      assert.match(missing.stderr, /kartoteka: .*999999/);
      assert.equal((await profilesOf(base.id)).length, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with --url and --token it imports through a running server, with the same result', async () => {
    const base = await ctx.newBase();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-cli-'));
    const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    const worker = startWorker(ctx.db, { pollMs: 50, dataDir: ctx.config.dataDir });
    try {
      const file = path.join(dir, 'clients.csv');
      fs.writeFileSync(file, 'phone,email\n+79162000002,a@x.ru\n+79162000002,b@x.ru\n');
      // Asynchronously: the server answering the CLI runs in this very process.
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn('npx', ['node', 'src/cli.ts', 'import', file, '--base', String(base.id), '--json', '--url', address, '--token', ADMIN_TOKEN]);
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (c: Buffer) => (stdout += c));
        p.stderr.on('data', (c: Buffer) => (stderr += c));
        p.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { rows: 2, created: 1, updated: 1, unchanged: 0, failed: 0, errorsFile: null });
      assert.equal((await profilesOf(base.id))[0]!.email, 'b@x.ru');
    } finally {
      await worker.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fuzzed CSV', () => {
  it('any bytes: a clean 400 at upload, or an import whose counts add up to the rows read', async () => {
    const base = await ctx.newBase();
    const cell = fc.oneof(
      fc.constantFrom('', '+7 916 123-45-67', '89161234567', 'a@b.ru', 'Иванов', '"', '""', ';', '\n', '\r\n', 'ё', '=1+2', '01.02.1990', '1234567'),
      fc.string({ maxLength: 8 }),
    );
    const file = fc.oneof(
      fc.array(fc.array(cell, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }).map((rows) => Buffer.from(['Телефон;Email;Имя;Карта', ...rows.map((r) => r.join(';'))].join('\n'))),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    );
    await fc.assert(
      fc.asyncProperty(file, async (buf) => {
        const up = await upload(ctx, base.id, buf);
        if (up.status !== 201) {
          assert.equal(up.status, 400, JSON.stringify(up.body));
          return;
        }
        const st = await ctx.api('POST', `/api/v1/bases/${base.id}/imports/${up.body.import.id}/start`, {
          mapping: { columns: up.body.import.headers.map((_: string, i: number) => ['phone', 'email', 'firstName', 'cardNumber'][i] ?? null) },
        });
        if (st.status !== 202) {
          assert.equal(st.status, 400, JSON.stringify(st.body));
          return;
        }
        const job = await finish(ctx, st.body.jobId);
        assert.equal(job.status, 'done', JSON.stringify(job));
        const r = (await ctx.api('GET', `/api/v1/bases/${base.id}/imports/${up.body.import.id}`)).body;
        assert.equal(r.created + r.updated + r.unchanged + r.failed, r.rows);
      }),
      { numRuns: 40 },
    );
  });
});
