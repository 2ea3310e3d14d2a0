// The harness of the browser tests: the real server on a fresh embedded database (`kartoteka serve` on
// a temp data folder), Debian's Chromium through playwright-core, and (unless the test signs in on the
// screen itself) the admin signed in through the typed API client with the one-time password changed,
// that session's cookie handed to the browser. Screenshots go to test-results/ui/. Each test/ui*.e2e.ts
// starts here.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { WEB_DIR } from '../src/app.ts';
import { createClient, type Client } from '../src/client/client.ts';
import { startServer } from './server.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = path.resolve('test-results', 'ui');
export const BROWSER_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A count as the UI writes it in Russian: 10 000 (a no-break space groups the digits). */
export const ru = (n: number) => new Intl.NumberFormat('ru-RU').format(n);

export interface UiSession {
  url: string;
  /** The one-time password the first start printed. */
  password: string;
  browser: Browser;
  page: Page;
  /** The typed API client as the signed-in admin (without `signIn: false`). */
  client: Client;
  /** Calls the API from inside the page (its session): a path under /api/v1, or a whole URL; fails the test on a non-2xx answer. */
  api<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  /** A full-page screenshot as test-results/ui/NAME.png. */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Signs the one-time admin in and sets a password of its own: the client and the cookie of that session. */
async function adminSession(url: string, oneTime: string, newPassword: string): Promise<{ client: Client; cookie: { name: string; value: string; url: string } }> {
  const res = await createClient({ baseUrl: url }).raw('POST /auth/login', { body: { login: 'admin', password: oneTime } });
  const [name, value] = res.headers.get('set-cookie')!.split(';')[0]!.split('=') as [string, string];
  const client = createClient({ baseUrl: url, headers: () => ({ cookie: `${name}=${value}` }) });
  await client.call('POST /auth/password', { body: { currentPassword: oneTime, newPassword } });
  return { client, cookie: { name, value, url } };
}

/** Starts the server and the browser; with `signIn` (the default) the admin is signed in and the page is on the bases. */
export async function uiSession(opts: { name: string; demo?: boolean; env?: Record<string, string>; signIn?: boolean; viewport?: { width: number; height: number } }): Promise<UiSession> {
  assert.ok(fs.existsSync(path.join(WEB_DIR, 'index.html')), 'the UI is built (npm run build)');
  assert.ok(fs.existsSync(CHROMIUM), `Chromium at ${CHROMIUM} (apt-get install chromium)`);
  fs.mkdirSync(SHOTS, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `kt-ui-${opts.name}-`));
  fs.chmodSync(dataDir, 0o755);
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => {});
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const started = await startServer({ dataDir, args: opts.demo === false ? ['--no-demo'] : [], env: opts.env, ready: /password:\s+(\S+)/ });
    server = started.child;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 900 } });
    const password = started.found!;
    const session = opts.signIn === false ? null : await adminSession(started.url, password, `a-new-password-for-${opts.name}`);
    if (session) await context.addCookies([session.cookie]);
    const page = await context.newPage();
    const s: UiSession = {
      url: started.url,
      password,
      browser,
      page,
      client: session?.client ?? createClient({ baseUrl: started.url }),
      async api(method, p, body) {
        const r = await page.evaluate(
          async ([m, u, b]) => {
            const res = await fetch(u as string, { method: m as string, headers: b === undefined ? {} : { 'content-type': 'application/json' }, body: b === undefined ? undefined : JSON.stringify(b) });
            return { status: res.status, text: await res.text() };
          },
          [method, p.startsWith('http') ? p : `${started.url}/api/v1${p}`, body] as const,
        );
        assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
        return r.text ? JSON.parse(r.text) : undefined;
      },
      shot: async (name) => void (await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })),
      close,
    };
    if (session) {
      await page.goto(started.url);
      await page.getByRole('heading', { name: 'Базы профилей' }).waitFor();
    }
    return s;
  } catch (e) {
    await close();
    throw e;
  }
}
