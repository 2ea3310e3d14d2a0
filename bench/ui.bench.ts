// npm run bench -- ui --profiles 1000000 [--runs 7] [--city Казань]
// The web UI in a real browser (Debian's Chromium driven by playwright-core, as test/ui.e2e.ts) on the
// cached base of N generated profiles (bench/dataset.ts), served by the real server (`kartoteka serve`
// as a child process on DATABASE_URL):
//   first_rows: a fresh tab, already signed in, opens #/bases/ID; from the start of the navigation
//     to the first frame painted with data rows in the clients table;
//   filter: on the loaded table, the filter builder gets «city = <city>»; from the click on «Применить»
//     to the first frame painted with the filtered rows and the new found count.
// Both are timed inside the page (performance.now(): the navigation's start, the click event; a
// MutationObserver sees the rows, then the next frame is painted). The baseline, measured in the same
// run on the same tab, is the bare API request the screen makes (POST .../profiles/search with the
// clients table's body), done with fetch from inside the page, JSON parsed. Each run is a new tab
// (the browser's HTTP cache is kept, as for a returning user); one warm-up run is not counted.
// Also: the page's live JS heap (after a forced GC) once the rows are shown and after the filter.
// The web UI is built first if there is no build (scripts/build-ui.ts --if-missing): run
// `npm run build` before to measure the current web/src.
import { spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { deleteSession, findUserByLogin, insertSession, insertUser } from '../src/auth/auth.repo.ts';
import { hashPassword, SESSION_COOKIE, sha256 } from '../src/auth/auth.service.ts';
import { startServer } from '../test/server.ts';
import { BROWSER_ARGS, CHROMIUM } from '../test/ui.ts';
import { dataset, type Dataset } from './dataset.ts';
import { emit, median, NODE_FLAGS } from './emit.ts';
import { DEFAULT_SETTINGS } from '../src/table/table.service.ts';
import { searchColumns } from '../web/src/clients/columns.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
/** As web/src/clients/Clients.tsx asks for the first page of the clients table, for a user with the default columns. */
const searchBody = (filter?: unknown) => ({ ...(filter ? { filter } : {}), limit: 200, columns: searchColumns(DEFAULT_SETTINGS), sort: DEFAULT_SETTINGS.sort, withTotal: true });

const log = (m: string) => process.stderr.write(`[ui] ${m}\n`);

interface Expect {
  total: number;
  /** The first row's name as the table shows it. */
  name: string;
}

interface PageResult {
  ms: number;
  total: number;
  name: string;
}

/** The server as `npm start` runs it, on the dataset's database; resolves once it listens. */
async function startBenchServer(databaseUrl: string, dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const { child, url } = await startServer({ dataDir, args: ['--no-demo'], nodeFlags: NODE_FLAGS, env: { DATABASE_URL: databaseUrl } });
  return { child, url };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(t);
}

/** A user and a session of the bench's own (no one-time password to change), straight in the database. */
async function signIn(ds: Dataset): Promise<{ token: string; hash: string }> {
  const login = 'ui-bench';
  await insertUser(ds.db, { login, name: 'UI bench', passwordHash: await hashPassword(crypto.randomBytes(16).toString('hex')), mustChangePassword: false });
  const user = await findUserByLogin(ds.db, login);
  if (!user) throw new Error('could not create the bench user');
  const token = crypto.randomBytes(30).toString('base64url');
  const hash = sha256(token);
  await insertSession(ds.db, hash, user.id, new Date(Date.now() + 24 * 3600 * 1000));
  return { token, hash };
}

/**
 * The in-page half, installed in every document before its scripts (as JavaScript source: the root
 * tsconfig, which covers bench/, has no DOM types). Times are performance.now(): ms since the
 * navigation started. A change is "painted" at a task after the next animation frame.
 *  - firstRowsAt: when the first data row of the clients table was painted;
 *  - watchApply(total, name): arms a watch on the filter builder's «Применить» button; its click
 *    event starts the clock, which stops once the found count is `total` and the first row shows
 *    `name` (applyMs);
 *  - search(url, body): the bare request, with the page's cookie, as web/src/shared/api.ts sends it;
 *  - timing(): DOMContentLoaded and the /auth/me and search requests (Resource Timing).
 */
const IN_PAGE = String.raw`(() => {
  const painted = (set) => requestAnimationFrame(() => setTimeout(() => set(performance.now()), 0));
  const b = (window.__ktBench = { firstRowsAt: undefined, applyMs: undefined });
  const hasRows = () => document.querySelector('[data-testid="rows"] [role="row"][data-index]') !== null;
  const mo = new MutationObserver(() => {
    if (!hasRows()) return;
    mo.disconnect();
    painted((t) => (b.firstRowsAt = t));
  });
  mo.observe(document, { childList: true, subtree: true });

  b.watchApply = (total, name) => {
    const btn = [...document.querySelectorAll('[data-testid="filter-builder"] button')].find((x) => x.textContent.trim() === 'Применить');
    if (!btn) throw new Error('no «Применить» button in the filter builder');
    b.applyMs = undefined;
    let clickAt;
    const done = () => {
      const count = (document.querySelector('[data-testid="found-count"]')?.textContent ?? '').replace(/\D/g, '');
      const row = document.querySelector('[data-testid="rows"] [role="row"][data-index]')?.textContent ?? '';
      return count === String(total) && row.includes(name);
    };
    const watch = new MutationObserver(() => {
      if (!done()) return;
      watch.disconnect();
      painted((t) => (b.applyMs = t - clickAt));
    });
    const onClick = (e) => {
      if (!btn.contains(e.target)) return;
      window.removeEventListener('click', onClick, true);
      clickAt = performance.now();
      watch.observe(document.body, { childList: true, subtree: true, characterData: true });
    };
    window.addEventListener('click', onClick, true);
  };

  b.search = async (url, body) => {
    const t = performance.now();
    const r = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'accept-language': localStorage.getItem('lang') ?? 'ru', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const j = await r.json();
    const ms = performance.now() - t;
    if (!r.ok) throw new Error('search: ' + r.status + ' ' + JSON.stringify(j));
    const p = j.items[0];
    // The default columns put the three name parts side by side, so the row's text holds them joined.
    return { ms, total: j.total, name: p ? [p.lastName, p.firstName, p.middleName].filter(Boolean).join('') : '' };
  };

  b.timing = () => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const span = (suffix) => {
      const r = res.find((x) => x.name.endsWith(suffix));
      return r ? [r.startTime, r.responseEnd] : [0, 0];
    };
    return { dcl: nav ? nav.domContentLoadedEventEnd : 0, me: span('/auth/me'), search: span('/profiles/search') };
  };
})();`;

/** Calls window.__ktBench.NAME(...args) in the page. */
const call = <T>(page: Page, name: string, ...args: unknown[]): Promise<T> =>
  page.evaluate(`window.__ktBench.${name}(...${JSON.stringify(args)})`) as Promise<T>;

/** The bare request, from inside the page with its cookie. */
const baseline = (page: Page, url: string, body: unknown) => call<PageResult>(page, 'search', url, body);

const digits = (s: string | null) => (s ?? '').replace(/\D/g, '');

/** Opens the base in a new tab; the time from navigation start to the first rows painted. */
async function openBase(context: BrowserContext, url: string, baseId: number, expect: Expect): Promise<{ page: Page; ms: number }> {
  const page = await context.newPage();
  const t0 = performance.now();
  await page.goto(`${url}/#/bases/${baseId}`);
  const handle = await page.waitForFunction('window.__ktBench.firstRowsAt', undefined, { timeout: 120_000 });
  const ms = (await handle.jsonValue()) as number;
  const outside = performance.now() - t0;
  // The table and the count are the API's: the measured frame had the right rows.
  const rows = page.getByTestId('rows').locator('[role=row][data-index]');
  const first = (await rows.first().textContent()) ?? '';
  if (!first.includes(expect.name)) throw new Error(`first row «${first}», expected «${expect.name}»`);
  const count = digits(await page.getByTestId('found-count').textContent());
  if (count !== String(expect.total)) throw new Error(`found count ${count}, expected ${expect.total}`);
  // Where the time went: the document, the bundle, and the table's request (Resource Timing).
  const parts = await call<{ dcl: number; me: number[]; search: number[] }>(page, 'timing');
  const span = (x: number[]) => `${x[0]!.toFixed(0)}–${x[1]!.toFixed(0)}`;
  log(`first rows at ${ms.toFixed(0)} ms (playwright saw them at ${outside.toFixed(0)} ms): DOMContentLoaded ${parts.dcl.toFixed(0)}, /auth/me ${span(parts.me)}, search ${span(parts.search)}`);
  return { page, ms };
}

/**
 * Sets «city = <city>» in the filter builder (not timed), then clicks «Применить»; the time from the
 * click event to the first frame painted with the expected first row and found count.
 */
async function applyFilter(page: Page, city: string, expect: Expect): Promise<number> {
  const fb = page.getByTestId('filter-builder');
  await fb.getByRole('button', { name: 'Добавить условие' }).click();
  await fb.getByLabel('Значение').first().fill(city);
  const apply = fb.getByRole('button', { name: 'Применить' });
  await call(page, 'watchApply', expect.total, expect.name);
  await apply.click();
  const handle = await page.waitForFunction('window.__ktBench.applyMs', undefined, { timeout: 120_000 });
  return (await handle.jsonValue()) as number;
}

/** The page's live JS heap after a forced garbage collection, in MB. */
async function heapMb(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    const h = await cdp.send('Runtime.getHeapUsage');
    return h.usedSize / 1e6;
  } finally {
    await cdp.detach();
  }
}

export async function run(args: Record<string, string>) {
  const n = Number(args.profiles ?? 100_000);
  const runs = Number(args.runs ?? 7);
  const warmup = Number(args.warmup ?? 1);
  const city = args.city ?? 'Казань';
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or CHROMIUM_PATH)`);
  const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-ui.ts'), '--if-missing'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (built.status !== 0) throw new Error('building the web UI failed (scripts/build-ui.ts)');

  const ds = await dataset(n);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-ui-bench-'));
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let session: string | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await browser?.close().catch(() => undefined);
      if (server) await stopServer(server).catch(() => undefined);
      if (session) await deleteSession(ds.db, session).catch(() => undefined);
      await ds.close().catch(() => undefined);
      fs.rmSync(dataDir, { recursive: true, force: true });
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const db = new URL(ds.server.adminUrl);
    db.pathname = '/bench';
    const { token, hash } = await signIn(ds);
    session = hash;
    const started = await startBenchServer(db.toString(), dataDir);
    server = started.child;
    const url = started.url;
    log(`server at ${url}, base ${ds.baseId} of ${n} profiles`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      handleSIGINT: false,
      handleSIGTERM: false,
      args: BROWSER_ARGS,
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'ru-RU' });
    await context.addCookies([{ name: SESSION_COOKIE, value: token, url, httpOnly: true, sameSite: 'Strict' }]);
    await context.addInitScript({ content: IN_PAGE });

    const search = `${url}/api/v1/bases/${ds.baseId}/profiles/search`;
    const filter = { field: 'city', op: 'eq', value: city };
    // What the table must show: the API's answer to the same request.
    const probe = await context.newPage();
    await probe.goto(`${url}/`);
    const all = await baseline(probe, search, searchBody());
    const some = await baseline(probe, search, searchBody(filter));
    await probe.close();
    if (some.total === 0) throw new Error(`no client in «${city}»: pick another with --city`);
    if (some.total === all.total) throw new Error(`every client is in «${city}»: pick another with --city`);
    log(`${all.total} clients; ${some.total} in ${city}`);

    const t = { first: [] as number[], firstBase: [] as number[], filter: [] as number[], filterBase: [] as number[], heapRows: [] as number[], heapFilter: [] as number[] };
    for (let i = 0; i < warmup + runs; i++) {
      const { page, ms: first } = await openBase(context, url, ds.baseId, all);
      const firstBase = await baseline(page, search, searchBody());
      const heapRows = await heapMb(page);
      const filtered = await applyFilter(page, city, some);
      const filterBase = await baseline(page, search, searchBody(filter));
      const heapFilter = await heapMb(page);
      await page.close();
      log(`run ${i + 1}${i < warmup ? ' (warm-up)' : ''}: first_rows ${first.toFixed(0)} ms (API ${firstBase.ms.toFixed(0)}), filter ${filtered.toFixed(0)} ms (API ${filterBase.ms.toFixed(0)}), heap ${heapRows.toFixed(1)}/${heapFilter.toFixed(1)} MB`);
      if (i < warmup) continue;
      t.first.push(first);
      t.firstBase.push(firstBase.ms);
      t.filter.push(filtered);
      t.filterBase.push(filterBase.ms);
      t.heapRows.push(heapRows);
      t.heapFilter.push(heapFilter);
    }
    const max = (xs: number[]) => Math.max(...xs);
    for (const [name, ours, base, heap, target] of [
      ['first_rows', t.first, t.firstBase, t.heapRows, 1000],
      ['filter', t.filter, t.filterBase, t.heapFilter, 300],
    ] as const) {
      emit({ bench: 'ui', case: name, metric: 'p50_ms', value: median(ours), unit: 'ms', baseline: median(base), target, better: 'lower', profiles: n });
      emit({ bench: 'ui', case: name, metric: 'max_ms', value: max(ours), unit: 'ms', baseline: max(base), target, better: 'lower', profiles: n });
      emit({ bench: 'ui', case: name, metric: 'js_heap_mb', value: max(heap), unit: 'MB', better: 'lower', profiles: n });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}
