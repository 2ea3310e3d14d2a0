// CLI commands that can work either against a running server (--url/--token or
// KARTOTEKA_URL/KARTOTEKA_TOKEN) or directly on the database talk to the server
// through the one typed client (src/client); this adds what only the CLI needs:
// streaming a file up and down, and following a job with a progress bar.
import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { ApiError, createClient, type Client } from '../client/client.ts';

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

/** A refusal as the CLI prints it: the message, the status, and each field's error on its own line. */
export function remoteErrorText(e: ApiError): string {
  return `${e.message}${e.status ? ` (${e.status})` : ''}${e.fields.map((f) => `\n  ${f.field}: ${f.message}`).join('')}`;
}

export interface Remote extends Client {
  /** A file as a request body, streamed (no buffering). */
  fileBody(filePath: string): ReadableStream<Uint8Array>;
  /** Polls a job until it ends, reporting progress; throws when it failed or was cancelled. */
  waitJob(jobId: number, onProgress?: (done: number, total: number) => void, pollMs?: number): Promise<unknown>;
  /** Streams a response's body to a file. */
  save(res: Response, outFile: string): Promise<{ bytes: number }>;
}

export function remote(target: RemoteTarget, lang: 'ru' | 'en' = /^en/i.test(process.env.LC_ALL || process.env.LANG || '') ? 'en' : 'ru'): Remote {
  const client = createClient({
    baseUrl: target.url,
    headers: () => ({ 'accept-language': lang, ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) }),
  });
  return {
    ...client,
    fileBody: (filePath) => Readable.toWeb(fs.createReadStream(filePath)) as ReadableStream<Uint8Array>,
    async waitJob(jobId, onProgress, pollMs = 500) {
      for (;;) {
        const job = await client.call('GET /jobs/{jobId}', { path: { jobId } });
        onProgress?.(job.progress.done, job.progress.total);
        if (job.status === 'done') return job.result;
        if (job.status === 'failed') throw new Error(`job ${jobId} failed: ${job.error ?? 'unknown error'}`);
        if (job.status === 'cancelled') throw new Error(`job ${jobId} was cancelled`);
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    async save(res, outFile) {
      if (!res.body) throw new Error(`${res.url}: an empty answer`);
      const out = fs.createWriteStream(outFile);
      await pipeline(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>), out);
      return { bytes: out.bytesWritten };
    },
  };
}
