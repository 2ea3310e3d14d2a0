import { z } from 'zod';
import type { Api, AppContext } from '../http/types.ts';
import { pickLang } from '../i18n/messages.ts';
import { BaseParams, JobListQuery, JobOut, JobParams } from './jobs.schema.ts';
import * as service from './jobs.service.ts';

const tags = ['jobs'];

export function registerJobRoutes(app: Api, ctx: AppContext) {
  app.get(
    '/jobs/:jobId',
    {
      config: { permission: 'profiles.read' },
      schema: { tags, summary: 'A background job (a large mass action): status, progress, result', params: JobParams, response: { 200: JobOut } },
    },
    async (req) => service.getJob(ctx.db, req.params.jobId, pickLang(req.headers['accept-language'])),
  );

  app.post(
    '/jobs/:jobId/cancel',
    {
      config: { permission: 'profiles.write' },
      schema: {
        tags,
        summary: 'Cancel a queued or running job: it stops between batches (what is done stays done); 409 when it already finished',
        params: JobParams,
        response: { 200: JobOut },
      },
    },
    async (req) => service.cancelJob(ctx.db, req.params.jobId, pickLang(req.headers['accept-language'])),
  );

  app.get(
    '/bases/:baseId/jobs',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: {
        tags,
        summary: 'Recent jobs of a base, newest first',
        params: BaseParams,
        querystring: JobListQuery,
        response: { 200: z.object({ items: z.array(JobOut) }) },
      },
    },
    async (req) => ({ items: await service.listJobs(ctx.db, req.params.baseId, req.query.limit, pickLang(req.headers['accept-language'])) }),
  );
}
