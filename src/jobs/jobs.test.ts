import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../test/context.ts';
import { assertJobHandlers, jobRows, registerJobHandler, runOnce, startWorker } from './jobs.service.ts';


const ctx = await testContext({ KARTOTEKA_BULK_SYNC_LIMIT: '10', KARTOTEKA_BULK_BATCH_SIZE: '10' });

let phoneSeq = 0;
const nextPhone = () => `+7916${7_000_000 + ++phoneSeq}`;

/** A base with n profiles and a queued job setting utmSource on all of them. */
async function queuedJob(n: number): Promise<{ baseId: number; jobId: number }> {
  const b = await ctx.newBase();
  for (let i = 0; i < n; i++) await ctx.newProfile(b.id, { phone: nextPhone() });
  const r = await ctx.api('POST', `/api/v1/bases/${b.id}/profiles/bulk`, { target: { query: {} }, action: { type: 'setField', field: 'utmSource', value: 'job' } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return { baseId: b.id, jobId: r.body.jobId };
}

async function changedProfiles(baseId: number): Promise<number> {
  return (await ctx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM profiles WHERE base_id = $1 AND utm_source = 'job'`, [baseId])).rows[0]!.n;
}
async function eventCount(baseId: number): Promise<number> {
  return (await ctx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM profile_events WHERE base_id = $1 AND action = 'updated'`, [baseId])).rows[0]!.n;
}

describe('jobs', () => {
  it('start-up check: every job kind has exactly one handler', () => {
    assertJobHandlers(); // the bulk handler registered itself with the app
    assert.throws(() => assertJobHandlers(['bulk', 'export'], new Map([['bulk', 1]])), /no handler for job kinds: export/);
    assert.throws(() => assertJobHandlers(['bulk'], new Map([['bulk', 1], ['mail', 2]])), /handlers for unknown job kinds: mail/);
    assert.throws(() => registerJobHandler('bulk', async () => null), /already has a handler/);
    assert.throws(() => registerJobHandler('mail' as 'bulk', async () => null), /Unknown job kind/);
  });

  it('reads a job, lists a base’s jobs newest first, answers 404 in Russian for unknown ones', async () => {
    const a = await queuedJob(11);
    const r2 = await ctx.api('POST', `/api/v1/bases/${a.baseId}/profiles/bulk`, { target: { query: {} }, action: { type: 'clearField', field: 'utmSource' } });
    assert.equal(r2.status, 202);
    const list = await ctx.api('GET', `/api/v1/bases/${a.baseId}/jobs`);
    assert.deepEqual(list.body.items.map((j: { id: number }) => j.id), [r2.body.jobId, a.jobId]);
    assert.deepEqual(Object.keys(list.body.items[0]).sort(), ['baseId', 'createdAt', 'error', 'finishedAt', 'id', 'kind', 'progress', 'result', 'startedAt', 'status']);
    assert.equal((await ctx.api('GET', `/api/v1/bases/${a.baseId}/jobs?limit=1`)).body.items.length, 1);
    // Run both, in order.
    assert.equal((await runOnce(ctx.db))?.id, a.jobId);
    assert.equal((await runOnce(ctx.db))?.id, r2.body.jobId);
    assert.equal(await changedProfiles(a.baseId), 0);
    const missing = await ctx.api('GET', '/api/v1/jobs/987654');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.detail, 'Задание 987654 не найдено');
    assert.equal((await ctx.api('POST', '/api/v1/jobs/987654/cancel')).status, 404);
    assert.equal((await ctx.api('GET', '/api/v1/bases/987654/jobs')).status, 404);
    const bad = await ctx.api('GET', '/api/v1/jobs/abc');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, 'params.jobId');
    const anon = await ctx.app.inject({ method: 'GET', url: `/api/v1/jobs/${a.jobId}` });
    assert.equal(anon.statusCode, 401);
  });

  it('a stopping worker hands its job back to the queue between batches; the next run finishes it', async () => {
    const { baseId, jobId } = await queuedJob(25);
    const ctrl = new AbortController();
    const stopped = await runOnce(ctx.db, { signal: ctrl.signal, afterBatch: () => ctrl.abort() });
    assert.equal(stopped?.status, 'queued');
    assert.equal(stopped?.attempts, 0);
    assert.deepEqual((await ctx.api('GET', `/api/v1/jobs/${jobId}`)).body.progress, { done: 10, total: 25 });
    assert.equal(await changedProfiles(baseId), 10);
    const done = await runOnce(ctx.db);
    assert.equal(done?.status, 'done');
    assert.deepEqual(done?.result, { changed: 25, total: 25 });
    assert.equal(await eventCount(baseId), 25);
  });

  it('a worker whose job was taken over (its heartbeat went stale) stops without writing; no double application', async () => {
    const { baseId, jobId } = await queuedJob(35);
    let takenOver: Awaited<ReturnType<typeof runOnce>>;
    const slow = await runOnce(ctx.db, {
      afterBatch: async (p) => {
        if (p.done !== 10) return;
        // The first worker stalls; its heartbeat ages and a second worker claims and finishes the job.
        await ctx.pool.query(`UPDATE jobs SET heartbeat_at = now() - interval '1 minute' WHERE id = $1`, [jobId]);
        takenOver = await runOnce(ctx.db);
      },
    });
    assert.equal(takenOver!.status, 'done');
    assert.equal(takenOver!.attempts, 2);
    assert.equal(slow?.status, 'done');
    assert.deepEqual(slow?.result, { changed: 35, total: 35 });
    assert.equal(await changedProfiles(baseId), 35);
    assert.equal(await eventCount(baseId), 35);
  });

  it('gives up a job after too many attempts, and fails a job of an unknown kind, with a readable error', async () => {
    const { baseId, jobId } = await queuedJob(11);
    await ctx.pool.query(`UPDATE jobs SET status = 'running', attempts = 5, heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [jobId]);
    const failed = await runOnce(ctx.db);
    assert.equal(failed?.status, 'failed');
    const job = await ctx.api('GET', `/api/v1/jobs/${jobId}`);
    assert.equal(job.body.error, 'Задание не удалось выполнить за 5 попыток');
    assert.equal((await ctx.api('GET', `/api/v1/jobs/${jobId}`, undefined, { 'accept-language': 'en' })).body.error, 'The job could not be completed in 5 attempts');
    assert.equal(await changedProfiles(baseId), 0);
    const odd = await ctx.db.insertInto('jobs').values({ base_id: baseId, kind: 'mail', params: '{}', progress: '{}', actor: 'test' }).returning('id').executeTakeFirstOrThrow();
    assert.equal((await runOnce(ctx.db))?.status, 'failed');
    assert.equal((await ctx.api('GET', `/api/v1/jobs/${odd.id}`)).body.error, 'Неизвестный тип задания «mail»');
  });

  it('the worker loop picks up queued jobs by itself and stops cleanly', async () => {
    const worker = startWorker(ctx.db, { pollMs: 20 });
    try {
      const { baseId, jobId } = await queuedJob(23);
      const deadline = Date.now() + 20_000;
      let status = '';
      while (Date.now() < deadline) {
        status = (await ctx.api('GET', `/api/v1/jobs/${jobId}`)).body.status;
        if (status === 'done') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(status, 'done');
      assert.equal(await changedProfiles(baseId), 23);
    } finally {
      await worker.stop();
    }
    await worker.stop(); // twice is fine
  });
});

describe('another live run in a phase', () => {
  it('counts a cancelled run still sending heartbeats (a bulk load goes on to its attach), not a stopped one', async () => {
    const base = await ctx.newBase();
    const other = await jobRows.insertJob(ctx.db, { baseId: base.id, kind: 'import', params: {}, actor: 'test', progress: { done: 0, total: 0, phase: 'indexing' } });
    const me = await jobRows.insertJob(ctx.db, { baseId: base.id, kind: 'import', params: {}, actor: 'test', progress: { done: 0, total: 0 } });
    const busy = () => jobRows.othersInPhase(ctx.db, me.id, base.id, 'import', ['load', 'indexing']);
    assert.equal(await busy(), false, 'queued is not loading');
    for (const status of ['running', 'cancelled']) {
      await ctx.pool.query(`UPDATE jobs SET status = $2, heartbeat_at = now() WHERE id = $1`, [other.id, status]);
      assert.equal(await busy(), true, status);
    }
    await ctx.pool.query(`UPDATE jobs SET heartbeat_at = now() - interval '5 minutes' WHERE id = $1`, [other.id]);
    assert.equal(await busy(), false, 'no heartbeat: the run is gone');
    assert.equal(await jobRows.othersInPhase(ctx.db, other.id, base.id, 'import', ['indexing']), false, 'a run is not another to itself');
  });
});
