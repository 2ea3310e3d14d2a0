// A small client of a running Kartoteka server for CLI commands that can work
// either against it (--url/--token or KARTOTEKA_URL/KARTOTEKA_TOKEN) or directly
// on the database. Node's global fetch; uploads stream the file as the raw body.
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface RemoteTarget {
  url: string;
  token: string | undefined;
}

/** The server to talk to, from flags or the environment; undefined when none is given (work in-process). */
export function remoteTarget(opts: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): RemoteTarget | undefined {
  const url = opts.url ?? (env.KARTOTEKA_URL || undefined);
  if (!url) return undefined;
  const token = opts.token ?? (env.KARTOTEKA_TOKEN || undefined);
  return { url: url.replace(/\/+$/, ''), token };
}

/** A request the server refused: the problem's status, code and detail (with the field errors). */
export class RemoteError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(status: number, message: string, code?: string) {
    super(message);
    this.name = 'RemoteError';
    this.status = status;
    this.code = code;
  }
}

export interface Remote {
  /** JSON in, parsed JSON out; a 4xx/5xx throws RemoteError with the problem's detail. */
  request<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  /** Streams a file as the raw request body (no buffering); returns the parsed JSON answer. */
  upload<T = any>(path: string, filePath: string, contentType: string): Promise<T>;
  /** Polls a job until it ends, reporting progress; throws when it failed or was cancelled. */
  waitJob<T = any>(jobId: number, onProgress?: (done: number, total: number) => void, pollMs?: number): Promise<T>;
  /** Streams a download to a file. */
  download(path: string, outFile: string): Promise<{ bytes: number }>;
}

async function problemOf(res: Response, method: string, path: string): Promise<RemoteError> {
  const text = await res.text().catch(() => '');
  try {
    const p = JSON.parse(text) as { detail?: string; title?: string; code?: string; errors?: { field: string; message: string }[] };
    const fields = (p.errors ?? []).map((e) => `\n  ${e.field}: ${e.message}`).join('');
    return new RemoteError(res.status, `${p.detail ?? p.title ?? res.statusText} (${res.status})${fields}`, p.code);
  } catch {
    return new RemoteError(res.status, `${method} ${path}: ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 300)}` : ''}`);
  }
}

export function remote(target: RemoteTarget, lang: 'ru' | 'en' = /^en/i.test(process.env.LC_ALL || process.env.LANG || '') ? 'en' : 'ru'): Remote {
  const headers = (extra: Record<string, string> = {}) => ({
    'accept-language': lang,
    ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
    ...extra,
  });
  const call = async (method: string, path: string, init: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(target.url + path, { method, ...init });
    } catch (e) {
      throw new Error(`cannot reach ${target.url}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`);
    }
    if (!res.ok) throw await problemOf(res, method, path);
    return res;
  };
  const json = async (res: Response): Promise<any> => (res.status === 204 ? undefined : res.json());

  const api: Remote = {
    async request(method, path, body) {
      const init: RequestInit =
        body === undefined ? { headers: headers() } : { headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify(body) };
      return json(await call(method, path, init));
    },
    async upload(path, filePath, contentType) {
      const size = fs.statSync(filePath).size;
      const body = Readable.toWeb(fs.createReadStream(filePath)) as ReadableStream<Uint8Array>;
      const init = { headers: headers({ 'content-type': contentType, 'content-length': String(size) }), body, duplex: 'half' } as RequestInit;
      return json(await call('POST', path, init));
    },
    async waitJob(jobId, onProgress, pollMs = 500) {
      for (;;) {
        const job = await api.request<{ status: string; progress: { done: number; total: number }; result: unknown; error: string | null }>('GET', `/api/v1/jobs/${jobId}`);
        onProgress?.(job.progress.done, job.progress.total);
        if (job.status === 'done') return job.result as any;
        if (job.status === 'failed') throw new Error(`job ${jobId} failed: ${job.error ?? 'unknown error'}`);
        if (job.status === 'cancelled') throw new Error(`job ${jobId} was cancelled`);
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    async download(path, outFile) {
      const res = await call('GET', path, { headers: headers() });
      if (!res.body) throw new Error(`GET ${path}: an empty answer`);
      const out = fs.createWriteStream(outFile);
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), out);
      return { bytes: out.bytesWritten };
    },
  };
  return api;
}
