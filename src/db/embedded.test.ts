// The embedded server's own lifecycle: folder lock, stale pid files, orphans, persistence.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { processAlive, startEmbedded } from './embedded.ts';

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-emb-'));
  fs.chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function query(url: string, sql: string): Promise<any[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

describe('embedded PostgreSQL', () => {
  it('keeps committed data across stop and start, on a new port each time', async () => {
    const dir = tmpDir();
    const a = await startEmbedded({ dataDir: dir });
    await query(a.adminUrl, `CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')`);
    await a.stop();
    assert.equal(processAlive(a.pid), false);
    const b = await startEmbedded({ dataDir: dir });
    assert.deepEqual(await query(b.adminUrl, 'SELECT v FROM t'), [{ v: 'kept' }]);
    await b.stop();
  });

  it('refuses a second app on the same data folder with a clear message', async () => {
    const dir = tmpDir();
    const a = await startEmbedded({ dataDir: dir });
    await assert.rejects(startEmbedded({ dataDir: dir }), /Another Kartoteka process \(pid \d+\) is already using the data folder/);
    // The first one is untouched.
    assert.deepEqual(await query(a.adminUrl, 'SELECT 1 AS one'), [{ one: 1 }]);
    await a.stop();
  });

  it('recovers from a stale postmaster.pid that names a dead process', async () => {
    const dir = tmpDir();
    const a = await startEmbedded({ dataDir: dir });
    await query(a.adminUrl, `CREATE TABLE t (v int); INSERT INTO t VALUES (7)`);
    await a.stop();
    // A pid file left behind by a crash, naming a process that no longer exists.
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    fs.writeFileSync(path.join(dir, 'pg', 'postmaster.pid'), `${dead.pid}\n${path.join(dir, 'pg')}\n0\n5432\n\n\n`);
    const b = await startEmbedded({ dataDir: dir });
    assert.deepEqual(await query(b.adminUrl, 'SELECT v FROM t'), [{ v: 7 }]);
    await b.stop();
  });

  it('shuts down a server orphaned by a killed app and starts its own', async () => {
    const dir = tmpDir();
    // A child app that starts the server and is then SIGKILLed, leaving postgres running.
    const script = `import { startEmbedded } from ${JSON.stringify(path.resolve('src/db/embedded.ts'))};
      const s = await startEmbedded({ dataDir: ${JSON.stringify(dir)} });
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: s.adminUrl }); await c.connect();
      await c.query("CREATE TABLE t (v int); INSERT INTO t VALUES (42)"); await c.end();
      process.stdout.write('PID ' + s.pid + '\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    const orphanPid: number = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /PID (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (c) => reject(new Error(`child exited ${c}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    assert.equal(processAlive(orphanPid, 'postgres'), true, 'the orphan keeps running after the app is killed');
    const b = await startEmbedded({ dataDir: dir });
    assert.equal(processAlive(orphanPid), false, 'the orphan was shut down');
    assert.notEqual(b.pid, orphanPid);
    assert.deepEqual(await query(b.adminUrl, 'SELECT v FROM t'), [{ v: 42 }]);
    await b.stop();
  });
});
