// Crash test: the real server on the embedded default is SIGKILLed in the middle
// of concurrent writes, several times. After each restart every acknowledged
// write is there, nothing is duplicated, and exactly one PostgreSQL runs on the
// data folder. Run by .ci/run: node --test test/crash.e2e.ts
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { processAlive } from '../src/db/embedded.ts';
import { startServer as start } from './server.ts';

const TOKEN = 'crash-test-admin-token-0123456789';
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-crash-'));
fs.chmodSync(dataDir, 0o755);
let current: ChildProcess | undefined;
after(async () => {
  if (current && current.exitCode === null) {
    current.kill('SIGTERM');
    await exited(current);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function startServer(env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
  const r = await start({ dataDir, args: ['--no-demo'], env: { KARTOTEKA_ADMIN_TOKEN: TOKEN, ...env } });
  current = r.child;
  return r;
}

async function call(url: string, method: string, p: string, body?: unknown) {
  const res = await fetch(url + p, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

/** Resolves when the child has exited, even if it already has. */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

function postgresPid(): number {
  return Number(fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

describe('crash safety of the embedded default', () => {
  it('survives SIGKILL mid-writes three times without losing or duplicating acknowledged profiles', { timeout: 300_000 }, async () => {
    let { child, url } = await startServer();
    const base = await call(url, 'POST', '/api/v1/bases', { name: 'Crash', emailsConsented: true });
    assert.equal(base.status, 201);
    const baseId = base.body.id;
    const acknowledged = new Map<string, number>(); // phone -> id
    let seq = 0;

    for (let round = 0; round < 3; round++) {
      let stop = false;
      const writer = async () => {
        while (!stop) {
          const phone = `+7916${String(1_000_000 + seq++).padStart(7, '0')}`;
          try {
            const r = await call(url, 'POST', `/api/v1/bases/${baseId}/profiles`, { phone, firstName: `R${round}` });
            if (r.status === 201) acknowledged.set(phone, r.body.id);
          } catch {
            return; // the server died under us: this write was never acknowledged
          }
        }
      };
      const writers = Array.from({ length: 4 }, writer);
      await new Promise((r) => setTimeout(r, 1200 + round * 300));
      const oldPg = postgresPid();
      child.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      await exited(child);
      assert.equal(processAlive(oldPg, 'postgres'), true, 'the killed app left its PostgreSQL running');

      ({ child, url } = await startServer());
      assert.equal(processAlive(oldPg), false, 'the orphaned PostgreSQL was shut down on restart');
      assert.notEqual(postgresPid(), oldPg);
      assert.ok(acknowledged.size > 0, 'some writes were acknowledged before the kill');

      // Every acknowledged profile is there, once, with the id the client was given.
      let found = 0;
      for (const [phone, id] of acknowledged) {
        const r = await call(url, 'GET', `/api/v1/bases/${baseId}/profiles/lookup?phone=${encodeURIComponent(phone)}`);
        assert.equal(r.status, 200);
        assert.equal(r.body.items.length, 1, `exactly one profile for ${phone}`);
        assert.equal(r.body.items[0].id, id);
        found++;
      }
      assert.equal(found, acknowledged.size);
    }
    // Nothing beyond what was sent exists, and phones are unique.
    let all: any[] = [];
    let cursor = '0';
    for (;;) {
      const page = await call(url, 'GET', `/api/v1/bases/${baseId}/profiles?limit=1000&after=${cursor}`);
      all = all.concat(page.body.items);
      if (!page.body.nextCursor) break;
      cursor = page.body.nextCursor;
    }
    assert.equal(new Set(all.map((p) => p.phone)).size, all.length, 'no duplicate phones');
    assert.ok(all.length >= acknowledged.size && all.length <= seq, `stored ${all.length}, acknowledged ${acknowledged.size}, sent ${seq}`);
    child.kill('SIGTERM');
    await exited(child);
    assert.equal(fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), false, 'a clean stop leaves no pid file');
  });
});

/** A new base and 100,000 rows (5.5 MB): every 50th repeats an earlier phone (merged into it), every 97th is bad; uploaded and started. */
async function startBigImport(url: string, name: string) {
  const base = await call(url, 'POST', '/api/v1/bases', { name, emailsConsented: true });
  assert.equal(base.status, 201);
  const baseId = base.body.id as number;
  const N = 100_000;
  const lines = ['ФИО;Телефон;Город'];
  let bad = 0;
  let repeats = 0;
  const phones = new Set<string>();
  for (let i = 0; i < N; i++) {
    if (i % 97 === 96) {
      lines.push(`Ошибочный ${i};не телефон;Омск`);
      bad++;
      continue;
    }
    const n = i % 50 === 49 ? i - 25 : i;
    if (i % 50 === 49 && phones.has(String(n))) repeats++;
    phones.add(String(n));
    lines.push(`Иванов Иван ${i};8 (916) ${String(n).padStart(7, '0')};Город ${i % 30}`);
  }
  const file = path.join(dataDir, 'big.csv');
  fs.writeFileSync(file, lines.join('\r\n'));
  const up = await fetch(`${url}/api/v1/bases/${baseId}/imports?fileName=big.csv`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/csv' },
    body: fs.readFileSync(file),
  });
  assert.equal(up.status, 201);
  const pv = (await up.json()) as any;
  const st = await call(url, 'POST', `/api/v1/bases/${baseId}/imports/${pv.import.id}/start`, { mapping: pv.mapping });
  assert.equal(st.status, 202);
  return { baseId, N, bad, repeats, importId: pv.import.id as number };
}

/** The import once it has ended: it must have ended done. */
async function finished(url: string, baseId: number, importId: number) {
  let done: any;
  for (let i = 0; i < 6000; i++) {
    done = (await call(url, 'GET', `/api/v1/bases/${baseId}/imports/${importId}`)).body;
    if (done.status === 'done' || done.status === 'failed') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(done.status, 'done', JSON.stringify(done));
  return done;
}

/** The counts of the big file exactly, and one profile per distinct phone in the base. */
async function exactly(url: string, baseId: number, done: any, f: { N: number; bad: number; repeats: number }) {
  assert.deepEqual(
    { rows: done.rows, created: done.created, repeated: done.updated + done.unchanged, failed: done.failed },
    { rows: f.N, created: f.N - f.bad - f.repeats, repeated: f.repeats, failed: f.bad },
  );
  const count = await call(url, 'POST', `/api/v1/bases/${baseId}/profiles/count`, {});
  assert.equal(count.body.count, f.N - f.bad - f.repeats, 'one profile per distinct phone');
}

describe('crash safety of a large import', () => {
  it('a 100k-row import SIGKILLed three times resumes each time: no duplicates, exact counts', { timeout: 600_000 }, async () => {
    // The row-by-row way (this file would take the bulk way, tested below).
    const rowByRow = { KARTOTEKA_IMPORT_BULK_MIN_MB: '1000' };
    let { child, url } = await startServer(rowByRow);
    const { baseId, N, bad, repeats, importId } = await startBigImport(url, 'Crash import');

    let lastRows = 0;
    let killedRunning = 0;
    for (let kill = 0; kill < 3; kill++) {
      // Let it commit some batches past the last kill, then kill at a random moment.
      const goal = lastRows + 5_000;
      for (;;) {
        const r = await call(url, 'GET', `/api/v1/bases/${baseId}/imports/${importId}`);
        if (r.body.rows >= goal || r.body.status === 'done') break;
        await new Promise((res) => setTimeout(res, 100));
      }
      await new Promise((res) => setTimeout(res, Math.floor(Math.random() * 1500)));
      if ((await call(url, 'GET', `/api/v1/bases/${baseId}/imports/${importId}`)).body.status !== 'done') killedRunning++;
      child.kill('SIGKILL');
      await exited(child);
      ({ child, url } = await startServer(rowByRow));
      const r = await call(url, 'GET', `/api/v1/bases/${baseId}/imports/${importId}`);
      assert.equal(r.body.created + r.body.updated + r.body.unchanged + r.body.failed, r.body.rows, 'the accounting holds at every commit');
      lastRows = r.body.rows;
    }
    const done = await finished(url, baseId, importId);
    assert.ok(killedRunning >= 2, `the import was killed while running ${killedRunning} times of 3: it resumed, not just finished`);
    await exactly(url, baseId, done, { N, bad, repeats });
    const errors = await fetch(`${url}/api/v1/bases/${baseId}/imports/${importId}/errors`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await errors.text();
    assert.equal(text.trim().split('\r\n').length, bad + 1, 'each bad row once in the error file');
    child.kill('SIGTERM');
    await exited(child);
  });
  it('the bulk way SIGKILLed while loading and while indexing starts over cleanly: no duplicates, exact counts', { timeout: 600_000 }, async () => {
    const bulkWay = { KARTOTEKA_IMPORT_BULK_MIN_MB: '1' };
    let { child, url } = await startServer(bulkWay);
    const { baseId, N, bad, repeats, importId } = await startBigImport(url, 'Crash bulk import');
    const killedIn: string[] = [];
    for (const phase of ['load', 'indexing']) {
      for (let i = 0; i < 3000; i++) {
        const r = (await call(url, 'GET', `/api/v1/bases/${baseId}/imports/${importId}`)).body;
        if (r.progress.phase === phase || r.status === 'done') {
          if (r.status !== 'done') killedIn.push(r.progress.phase);
          break;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
      child.kill('SIGKILL');
      await exited(child);
      ({ child, url } = await startServer(bulkWay));
    }
    const done = await finished(url, baseId, importId);
    assert.ok(killedIn.includes('load'), `killed in ${killedIn.join(', ')}: the load was never interrupted`);
    await exactly(url, baseId, done, { N, bad, repeats });
    child.kill('SIGTERM');
    await exited(child);
  });
});
