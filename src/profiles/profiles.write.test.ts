// The one profile writer: the same change made through the API, an import and a mass action leaves
// the same profile and the same history. Each path works in a base of its own, set up alike.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN_TOKEN, testContext } from '../../test/context.ts';
import { runOnce } from '../jobs/jobs.service.ts';
import { writeProfiles, type WritePlan, type WriteRow } from './profiles.write.ts';

const ctx = await testContext();

interface Setup {
  id: number;
  vip: number;
}

async function setup(): Promise<Setup> {
  const b = await ctx.newBase();
  assert.equal((await ctx.api('POST', `/api/v1/bases/${b.id}/fields`, { key: 'score', type: 'int', label: { ru: 'Баллы' } })).status, 201);
  const vip = (await ctx.api('POST', `/api/v1/bases/${b.id}/tags`, { name: 'VIP' })).body;
  return { id: b.id, vip: vip.id };
}

/** One CSV through upload, start and the job: the import's counts. */
async function importCsv(baseId: number, csv: string, settings: Record<string, unknown> = {}) {
  const res = await ctx.app.inject({
    method: 'POST',
    url: `/api/v1/bases/${baseId}/imports?fileName=x.csv`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
    payload: Buffer.from(csv),
  });
  assert.equal(res.statusCode, 201, res.body);
  const up = JSON.parse(res.body);
  const st = await ctx.api('POST', `/api/v1/bases/${baseId}/imports/${up.import.id}/start`, { mapping: up.mapping, ...settings });
  assert.equal(st.status, 202, JSON.stringify(st.body));
  for (let i = 0; i < 20; i++) if ((await runOnce(ctx.db, { dataDir: ctx.config.dataDir }))?.id === st.body.jobId) break;
  const imp = (await ctx.api('GET', `/api/v1/bases/${baseId}/imports/${up.import.id}`)).body;
  assert.equal(imp.status, 'done', JSON.stringify(imp));
  return imp;
}

async function bulk(baseId: number, ids: number[], action: Record<string, unknown>) {
  const r = await ctx.api('POST', `/api/v1/bases/${baseId}/profiles/bulk`, { target: { ids }, action });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** A base's profiles as a user compares them: everything but ids, times and bookkeeping; tags by name. */
async function rows(baseId: number) {
  const all = await ctx.db.selectFrom('profiles').selectAll().where('base_id', '=', baseId).orderBy('id').execute();
  const names = new Map((await ctx.db.selectFrom('tags').select(['id', 'name']).where('base_id', '=', baseId).execute()).map((t) => [Number(t.id), t.name]));
  return all.map(({ id: _i, base_id: _b, created_at: _c, updated_at: _u, writer: _w, tags, ...rest }) => ({ ...rest, tags: tags.map((t) => names.get(Number(t))) }));
}

/** Every event of a base, oldest first, without who and where (the paths differ there by design); tags by name. */
async function events(baseId: number, s: Setup) {
  const all = await ctx.db.selectFrom('profile_events').select(['action', 'changes']).where('base_id', '=', baseId).orderBy('id').execute();
  const name = (v: unknown) => (Array.isArray(v) ? v.map((t) => (Number(t) === s.vip ? 'VIP' : t)) : v);
  return all.map((e) => {
    const changes = { ...(e.changes as Record<string, unknown>) };
    const tags = changes.tags as { from?: unknown; to?: unknown } | unknown[] | undefined;
    if (Array.isArray(tags)) changes.tags = name(tags);
    else if (tags) changes.tags = { from: name(tags.from), to: name(tags.to) };
    // a merge names the subscriber by its id, which differs between bases
    if (e.action === 'merged') changes.from = (changes.from as unknown[]).length;
    return { action: e.action, changes };
  });
}

async function member(s: Setup, body: Record<string, unknown>) {
  const r = await ctx.api('POST', `/api/v1/bases/${s.id}/profiles`, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as number;
}

describe('one writer: API, import and mass action agree', () => {
  it('creating a client: the same row and the same «created» event through the API and an import', async () => {
    const [a, i] = [await setup(), await setup()];
    await member(a, { phone: '+79161110001', email: 'ann@x.ru', lastName: 'Смирнова', city: 'Казань', birthDate: '1990-05-06', fields: { score: 5 }, tags: [a.vip] });
    const imp = await importCsv(i.id, 'Телефон;Email;Фамилия;Город;Дата рождения;Баллы\n8 916 111-00-01;ANN@x.ru; Смирнова ;Казань;06.05.1990;5\n', { tagIds: [i.vip] });
    assert.deepEqual([imp.created, imp.rows], [1, 1]);
    const [ra, ri] = [await rows(a.id), await rows(i.id)];
    assert.equal(ra[0]!.reg_source, 'api');
    assert.equal(ri[0]!.reg_source, 'import');
    assert.deepEqual({ ...ri[0], reg_source: null }, { ...ra[0], reg_source: null });
    const strip = (es: Awaited<ReturnType<typeof events>>) => es.map((e) => ({ ...e, changes: { ...e.changes, registrationSource: null } }));
    assert.deepEqual(strip(await events(i.id, i)), strip(await events(a.id, a)));
  });

  it('changing a field: the same row and the same «updated» event through the API, an import and a mass action', async () => {
    const [a, i, m] = [await setup(), await setup(), await setup()];
    const ids = await Promise.all([a, i, m].map((s) => member(s, { phone: '+79162220002', city: 'Москва', fields: { score: 1 } })));
    assert.equal((await ctx.api('PATCH', `/api/v1/bases/${a.id}/profiles/${ids[0]}`, { city: 'Тула' })).status, 200);
    const imp = await importCsv(i.id, 'phone;city\n+79162220002;Тула\n', { mode: 'update' });
    assert.deepEqual([imp.updated, imp.created], [1, 0]);
    assert.equal((await bulk(m.id, [ids[2]!], { type: 'setField', field: 'city', value: 'Тула' })).changed, 1);
    const expected = [
      { action: 'created', changes: { kind: 'member', phone: '+79162220002', city: 'Москва', registrationSource: 'api', 'fields.score': 1 } },
      { action: 'updated', changes: { city: { from: 'Москва', to: 'Тула' } } },
    ];
    for (const s of [a, i, m]) assert.deepEqual(await events(s.id, s), expected);
    assert.deepEqual(await rows(i.id), await rows(a.id));
    assert.deepEqual(await rows(m.id), await rows(a.id));
  });

  it('set-once data: the point of sale stays whatever path tries to change it', async () => {
    const [a, i, m] = [await setup(), await setup(), await setup()];
    const ids = await Promise.all([a, i, m].map((s) => member(s, { phone: '+79163330003', pointOfSale: 'Магазин №1' })));
    assert.equal((await ctx.api('PATCH', `/api/v1/bases/${a.id}/profiles/${ids[0]}`, { pointOfSale: 'Магазин №2' })).body.pointOfSale, 'Магазин №1');
    assert.equal((await importCsv(i.id, 'phone;Точка продаж\n+79163330003;Магазин №2\n')).unchanged, 1);
    assert.equal((await bulk(m.id, [ids[2]!], { type: 'setField', field: 'pointOfSale', value: 'Магазин №2' })).changed, 0);
    for (const s of [a, i, m]) {
      assert.equal((await rows(s.id))[0]!.point_of_sale, 'Магазин №1');
      assert.equal((await events(s.id, s)).length, 1, 'only the creation');
    }
  });

  it('a member given a subscriber\'s email takes the subscriber in: the same merge through the API and an import', async () => {
    const [a, i] = [await setup(), await setup()];
    const ids: number[] = [];
    for (const s of [a, i]) {
      ids.push(await member(s, { phone: '+79164440004', firstName: 'Вера' }));
      const sub = await ctx.api('POST', `/api/v1/bases/${s.id}/profiles`, { email: 'vera@x.ru', city: 'Омск', lastName: 'Ким', fields: { score: 9 }, tags: [s.vip] });
      assert.equal(sub.body.kind, 'subscriber');
    }
    const patched = await ctx.api('PATCH', `/api/v1/bases/${a.id}/profiles/${ids[0]}`, { email: 'vera@x.ru' });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.mergedFrom.length, 1);
    const imp = await importCsv(i.id, 'phone;email\n+79164440004;vera@x.ru\n');
    assert.deepEqual([imp.updated, imp.created], [1, 0]);
    assert.deepEqual(await rows(i.id), await rows(a.id));
    assert.equal((await rows(a.id)).length, 1);
    assert.equal((await rows(a.id))[0]!.city, 'Омск');
    assert.deepEqual(await events(i.id, i), await events(a.id, a));
    const merges = async (s: Setup) =>
      (await ctx.db.selectFrom('profile_merges').select(['reason', 'snapshot']).where('base_id', '=', s.id).execute()).map((r) => ({
        reason: r.reason,
        snapshot: Object.fromEntries(Object.entries(r.snapshot as Record<string, unknown>).filter(([k]) => !['id', 'base_id', 'created_at', 'updated_at', 'tags'].includes(k))),
      }));
    assert.deepEqual(await merges(i), await merges(a));
    assert.equal((await merges(a))[0]!.reason, 'member_gained_email');
  });

  it('tags and custom fields: the same events through the API, an import and a mass action', async () => {
    const [a, i, m] = [await setup(), await setup(), await setup()];
    const ids = await Promise.all([a, i, m].map((s) => member(s, { phone: '+79165550005', fields: { score: 3 } })));
    assert.equal((await ctx.api('POST', `/api/v1/bases/${a.id}/profiles/${ids[0]}/tags`, { add: [a.vip] })).status, 200);
    await importCsv(i.id, 'phone\n+79165550005\n', { tagIds: [i.vip] });
    await bulk(m.id, [ids[2]!], { type: 'addTags', tagIds: [m.vip] });
    assert.equal((await ctx.api('PATCH', `/api/v1/bases/${a.id}/profiles/${ids[0]}`, { fields: { score: null } })).status, 200);
    await bulk(i.id, [ids[1]!], { type: 'clearField', field: 'fields.score' });
    await bulk(m.id, [ids[2]!], { type: 'clearField', field: 'fields.score' });
    const expected = [
      { action: 'created', changes: { kind: 'member', phone: '+79165550005', registrationSource: 'api', 'fields.score': 3 } },
      { action: 'updated', changes: { tags: { from: [], to: ['VIP'] } } },
      { action: 'updated', changes: { 'fields.score': { from: 3, to: null } } },
    ];
    for (const s of [a, i, m]) assert.deepEqual(await events(s.id, s), expected);
    assert.deepEqual(await rows(i.id), await rows(a.id));
    assert.deepEqual(await rows(m.id), await rows(a.id));
  });
});

describe('two writers at once', () => {
  it('a row another transaction beats to its phone is matched again, also in a batch with matched rows', async () => {
    const b = await ctx.newBase();
    const held = await ctx.newProfile(b.id, { phone: '+79160000201', city: 'Омск' });
    const plan: WritePlan = { baseId: b.id, actor: 'test', mode: 'upsert', columns: { phone: 'overwrite', city: 'overwrite' }, customKeys: [], defaults: {}, regSource: 'api', source: {} };
    const row = (line: number, phone: string, city: string): WriteRow => ({ line, kind: 'member', values: { phone, city } });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let written!: () => void;
    const firstWrote = new Promise<void>((r) => (written = r));
    // The first writer creates +79160000202 and holds its transaction open.
    const first = ctx.db.transaction().execute(async (trx) => {
      await writeProfiles(trx, plan, [row(1, '+79160000202', 'Тверь')]);
      written();
      await gate;
    });
    await firstWrote;
    // The second, unaware of it, creates the same phone beside an update of a stored client: its insert
    // waits on the first's row, then finds it taken.
    const second = ctx.db.transaction().execute((trx) => writeProfiles(trx, plan, [row(1, '+79160000202', 'Тула'), row(2, '+79160000201', 'Пермь')]));
    await new Promise((r) => setTimeout(r, 300));
    release();
    await first;
    const r = await second;
    assert.deepEqual(r.outcomes.map((o) => o.outcome), ['updated', 'updated']);
    const rows = await ctx.db.selectFrom('profiles').select(['id', 'phone', 'city']).where('base_id', '=', b.id).orderBy('phone').execute();
    assert.deepEqual(rows.map((p) => [p.phone, p.city]), [['+79160000201', 'Пермь'], ['+79160000202', 'Тула']]);
    assert.equal(r.outcomes[1]!.id, held.id);
  });
});
