// Durable background jobs: rows in `jobs`, one worker loop per process claiming
// one job at a time. Handlers work in batches; each batch commits together with
// the saved progress, so a job whose process died resumes from its cursor on the
// next claim and never applies a batch twice. Cancelling takes effect between batches.
import path from 'node:path';
import { getBase } from '../bases/bases.service.ts';
import type { Db, Trx } from '../db/db.ts';
import { AppError, notFound, isRetryable, type MessageKey, type MessageParams } from '../errors/errors.ts';
import { isMessageKey, t, type Lang } from '../i18n/messages.ts';
import * as repo from './jobs.repo.ts';
import type { JobRow } from './jobs.repo.ts';
import { JOB_KINDS, type Job, type JobKind, type JobStatus } from './jobs.schema.ts';

export type { JobRow } from './jobs.repo.ts';

/**
 * The job row as the domains that start and run jobs reach it (issue 10: never jobs.repo):
 * create one, read it, save a handler's progress outside JobRun.batch, cancel it as is
 * (no 409, targets kept: cancelJob below is the API's), drop its targets. Claiming,
 * heartbeats and finishing stay with the worker in this file.
 */
export const jobRows = {
  insertJob: repo.insertJob,
  getJob: repo.getJob,
  saveProgress: repo.saveProgress,
  othersInPhase: repo.othersInPhase,
  cancelJob: repo.cancelJob,
  deleteTargets: repo.deleteTargets,
};

/** What a job has done so far; handlers may keep more (a cursor, counters) next to done/total. */
export interface Progress {
  done: number;
  total: number;
  [extra: string]: unknown;
}

/** One claimed run of a job, as its handler sees it. */
export interface JobRun {
  readonly id: number;
  readonly baseId: number | null;
  readonly kind: string;
  readonly params: unknown;
  readonly actor: string;
  /** For work outside the batch transactions (a dry run's own transaction, reading files' records). */
  readonly db: Db;
  /** The data folder: uploaded and exported files live under its files/. */
  readonly dataDir: string;
  /** The last saved progress (as of the claim, then after every batch). */
  readonly progress: Progress;
  /**
   * One unit of work in one transaction: the job row is locked, checked to be still
   * running and still this run's, `work` gets the saved progress and returns the new
   * one, which is saved with a heartbeat, and everything commits together. Throws
   * JobStopped when the job was cancelled, taken over or the worker is stopping
   * (then nothing of this batch is applied).
   */
  batch(work: (trx: Trx, progress: Progress) => Promise<Progress>): Promise<Progress>;
  /**
   * Saves progress outside a batch (a handler's own long work: a bulk load and its index builds, a dry
   * run) after checking that this run still owns the job: JobStopped('lost') when another run took it
   * over. Tells whether the job was cancelled meanwhile (the handler decides how to stop). In `trx`
   * when given (its lock on the job row is then held to its end), else in a transaction of its own.
   */
  checkpoint(progress: Progress, trx?: Trx): Promise<{ cancelled: boolean }>;
}

/** Returns the job's result (stored as `result`); throw to fail it. */
export type JobHandler = (run: JobRun) => Promise<unknown>;

export class JobStopped extends Error {
  readonly reason: 'cancelled' | 'lost' | 'shutdown' | 'abandoned';
  constructor(reason: JobStopped['reason']) {
    super(`job stopped: ${reason}`);
    this.name = 'JobStopped';
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------
// handler registry
// ---------------------------------------------------------------------------

const handlers = new Map<string, JobHandler>();

export function registerJobHandler(kind: JobKind, handler: JobHandler): void {
  if (!(JOB_KINDS as readonly string[]).includes(kind)) throw new Error(`Unknown job kind "${kind}"`);
  if (handlers.has(kind)) throw new Error(`Job kind "${kind}" already has a handler`);
  handlers.set(kind, handler);
}

/** Start-up check: every kind in the closed list has exactly one handler, and nothing else has one. */
export function assertJobHandlers(kinds: readonly string[] = JOB_KINDS, registered: ReadonlyMap<string, unknown> = handlers): void {
  const missing = kinds.filter((k) => !registered.has(k));
  const unknown = [...registered.keys()].filter((k) => !kinds.includes(k));
  if (missing.length || unknown.length) {
    throw new Error(
      [missing.length ? `no handler for job kinds: ${missing.join(', ')}` : '', unknown.length ? `handlers for unknown job kinds: ${unknown.join(', ')}` : '']
        .filter(Boolean)
        .join('; '),
    );
  }
}

// ---------------------------------------------------------------------------
// running
// ---------------------------------------------------------------------------

/** A job that keeps failing to finish (its process dies every time) is given up after this many claims. */
export const MAX_ATTEMPTS = 5;

/** Stored in jobs.error: a message key with its params, rendered in the reader's language. */
function errorText(key: MessageKey, params: MessageParams = {}): string {
  return JSON.stringify({ key, params });
}

function errorOf(e: unknown): string {
  if (e instanceof AppError) {
    const first = e.errors[0];
    if (e.detailKey) return errorText(e.detailKey, e.params);
    if (first) return errorText(first.key, { ...first.params, field: first.field });
    return errorText(`title.${e.code}`);
  }
  return errorText('job_failed_internal');
}


export interface RunOptions {
  /** The data folder handed to handlers (imports and exports keep their files there). */
  dataDir?: string;
  /** Stops the run between batches; the job goes back to the queue. */
  signal?: AbortSignal;
  /**
   * Tests: after this many batches the run stops as if its process had been killed
   * (the job stays running with its last heartbeat; a later claim resumes it).
   */
  abandonAfterBatches?: number;
  /** Tests: called after each committed batch (to cancel a job between its batches, say). */
  afterBatch?: (progress: Progress) => Promise<void> | void;
  log?: (msg: string, err?: unknown) => void;
  /** Claims this job only (the CLI runs the import it started, not another base's queued job). */
  only?: number;
}

function makeRun(db: Db, job: JobRow, opts: RunOptions): JobRun & { progress: Progress } {
  let batches = 0;
  const run = {
    id: job.id,
    baseId: job.base_id,
    kind: job.kind,
    params: job.params,
    actor: job.actor,
    db,
    dataDir: opts.dataDir ?? path.resolve('data'),
    progress: { done: 0, total: 0, ...(job.progress as Partial<Progress>) } as Progress,
    async batch(work: (trx: Trx, progress: Progress) => Promise<Progress>): Promise<Progress> {
      if (opts.signal?.aborted) throw new JobStopped('shutdown');
      if (opts.abandonAfterBatches !== undefined && batches >= opts.abandonAfterBatches) throw new JobStopped('abandoned');
      let next: Progress | undefined;
      for (let attempt = 1; next === undefined; attempt++) {
        try {
          next = await db.transaction().execute(async (trx) => {
            const row = await repo.lockJob(trx, job.id);
            if (!row || row.status !== 'running' || row.attempts !== job.attempts) throw new JobStopped(row?.status === 'cancelled' ? 'cancelled' : 'lost');
            const saved = { done: 0, total: 0, ...(row.progress as Partial<Progress>) } as Progress;
            const p = await work(trx, saved);
            await repo.saveProgress(trx, job.id, p);
            return p;
          });
        } catch (e) {
          // A deadlock or serialization failure rolled the whole batch back: run it again.
          if (!(isRetryable(e) && attempt < 3)) throw e;
        }
      }
      batches++;
      run.progress = next;
      await opts.afterBatch?.(next);
      return next;
    },
    async checkpoint(progress: Progress, trx?: Trx): Promise<{ cancelled: boolean }> {
      const save = async (t: Trx) => {
        const row = await repo.lockJob(t, job.id);
        if (!row || row.attempts !== job.attempts || (row.status !== 'running' && row.status !== 'cancelled')) throw new JobStopped('lost');
        await repo.saveProgress(t, job.id, progress);
        run.progress = progress;
        return { cancelled: row.status === 'cancelled' };
      };
      return trx ? save(trx) : db.transaction().execute(save);
    },
  };
  return run;
}

/**
 * Claims one job (queued, or running with a stale heartbeat) and runs it to its end,
 * or until it is cancelled or the signal stops it. Returns the job as it is afterwards,
 * or undefined when there was nothing to do.
 */
export async function runOnce(db: Db, opts: RunOptions = {}): Promise<JobRow | undefined> {
  const job = await repo.claimNext(db, opts.only ?? null);
  if (!job) return undefined;
  const handler = handlers.get(job.kind);
  if (!handler) {
    await repo.finishJob(db, job.id, job.attempts, { status: 'failed', error: errorText('job_kind_unknown', { kind: job.kind }) });
    await repo.deleteTargets(db, job.id);
  } else if (job.attempts > MAX_ATTEMPTS) {
    await repo.finishJob(db, job.id, job.attempts, { status: 'failed', error: errorText('job_too_many_attempts', { attempts: MAX_ATTEMPTS }) });
    await repo.deleteTargets(db, job.id);
  } else {
    const run = makeRun(db, job, opts);
    try {
      const result = await handler(run);
      if (await repo.finishJob(db, job.id, job.attempts, { status: 'done', result: result ?? null, progress: run.progress })) await repo.deleteTargets(db, job.id);
      // Cancelled after its last batch: everything was applied, and the result says so.
      else await repo.setCancelledResult(db, job.id, result ?? null, run.progress);
    } catch (e) {
      if (e instanceof JobStopped) {
        if (e.reason === 'shutdown') await repo.requeueJob(db, job.id, job.attempts);
        if (e.reason === 'cancelled') await repo.setCancelledResult(db, job.id, resultSoFar(run.progress), run.progress);
        // 'lost': another worker owns it now; 'abandoned': left as a killed process would leave it.
      } else {
        opts.log?.(`job ${job.id} (${job.kind}) failed`, e);
        if (await repo.finishJob(db, job.id, job.attempts, { status: 'failed', error: errorOf(e) })) await repo.deleteTargets(db, job.id);
      }
    }
  }
  return repo.getJob(db, job.id);
}

/** What a stopped job had achieved: its progress without the internal cursor. */
function resultSoFar(p: Progress): Record<string, unknown> {
  const { cursor: _cursor, ...rest } = p;
  return rest;
}

/** Makes every running job claimable at once: for when no other process can be running them. */
export async function releaseOrphanedJobs(db: Db): Promise<void> {
  await repo.markRunningStale(db);
}

export interface Worker {
  /** Stops claiming; a job in progress stops after its current batch and goes back to the queue. */
  stop(): Promise<void>;
}

/** The worker loop: one job at a time; polls every pollMs when the queue is empty. */
export function startWorker(db: Db, opts: { pollMs?: number; dataDir?: string; log?: (msg: string, err?: unknown) => void } = {}): Worker {
  assertJobHandlers();
  const pollMs = opts.pollMs ?? 1000;
  const ctrl = new AbortController();
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const loop = (async () => {
    while (!ctrl.signal.aborted) {
      let ran: JobRow | undefined;
      try {
        ran = await runOnce(db, { signal: ctrl.signal, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), ...(opts.log ? { log: opts.log } : {}) });
      } catch (e) {
        opts.log?.('job worker: could not claim or finish a job', e);
      }
      if (!ran && !ctrl.signal.aborted) await sleep(pollMs);
    }
  })();
  return {
    async stop() {
      ctrl.abort();
      wake?.();
      await loop;
    },
  };
}

// ---------------------------------------------------------------------------
// reading and cancelling
// ---------------------------------------------------------------------------

function renderError(raw: string | null, lang: Lang): string | null {
  if (raw === null) return null;
  try {
    const e = JSON.parse(raw) as { key?: unknown; params?: MessageParams };
    if (typeof e.key === 'string' && isMessageKey(e.key)) return t(lang, e.key, e.params ?? {});
  } catch {
    // a plain text error
  }
  return raw;
}

export function toJob(r: JobRow, lang: Lang): Job {
  const p = (r.progress ?? {}) as Partial<Progress>;
  return {
    id: r.id,
    baseId: r.base_id,
    kind: r.kind,
    status: r.status as JobStatus,
    progress: { done: Number(p.done ?? 0), total: Number(p.total ?? 0) },
    result: r.result ?? null,
    error: renderError(r.error, lang),
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

const jobNotFound = (id: number) => new AppError('not_found', { detail: 'not_found.job', params: { id } });

export async function getJob(db: Db, id: number, lang: Lang): Promise<Job> {
  const row = await repo.getJob(db, id);
  if (!row) throw jobNotFound(id);
  return toJob(row, lang);
}

export async function listJobs(db: Db, baseId: number, limit: number, lang: Lang): Promise<Job[]> {
  if (!(await getBase(db, baseId))) throw notFound('base', baseId);
  return (await repo.listJobs(db, baseId, limit)).map((r) => toJob(r, lang));
}

/**
 * Cancels a queued or running job (a running one stops before its next batch; once
 * this returns no further batch is applied). Cancelling a cancelled job is a no-op;
 * a finished one is a 409.
 */
export async function cancelJob(db: Db, id: number, lang: Lang): Promise<Job> {
  const row = await db.transaction().execute(async (trx) => {
    const cancelled = await repo.cancelJob(trx, id);
    if (cancelled) await repo.deleteTargets(trx, id);
    return cancelled;
  });
  if (row) return toJob(row, lang);
  const cur = await repo.getJob(db, id);
  if (!cur) throw jobNotFound(id);
  if (cur.status === 'cancelled') return toJob(cur, lang);
  throw new AppError('conflict', { detail: 'conflict.job_finished', params: { id, status: cur.status } });
}
