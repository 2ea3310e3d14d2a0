import { z } from 'zod';

/** Every kind of background job; each must have exactly one handler when the worker starts. */
export const JOB_KINDS = ['bulk', 'import', 'export'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JobOut = z.object({
  id: z.number(),
  baseId: z.number().nullable(),
  kind: z.string(),
  status: z.enum(JOB_STATUSES),
  progress: z.object({ done: z.number(), total: z.number() }).describe('Targets processed so far, of all'),
  result: z.unknown().describe('What the job produced when done (a mass action: { changed, total }); null before'),
  error: z.string().nullable().describe('Why the job failed, in the language asked for'),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type Job = z.infer<typeof JobOut>;

export const JobParams = z.object({ jobId: z.coerce.number().int().positive() });
export const BaseParams = z.object({ baseId: z.coerce.number().int().positive() });
export const JobListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
