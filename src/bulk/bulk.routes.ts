import { principalOf, type Api, type AppContext } from '../http/types.ts';
import { BaseParams, BulkBody, BulkDoneOut, BulkQueuedOut } from './bulk.schema.ts';
import * as service from './bulk.service.ts';

const tags = ['profiles'];

export function registerBulkRoutes(app: Api, ctx: AppContext) {
  app.post(
    '/bases/:baseId/profiles/bulk',
    {
      config: { permission: 'profiles.write', base: 'baseId' },
      schema: {
        tags,
        summary: 'A mass action on the selected profiles or on everything a search finds',
        description: [
          'target: { ids } (the selected profiles) or { query: { q?, list?, filter? } } (everything found; {} is the whole base).',
          'action: setField { field, value } | clearField { field } | addTags / removeTags { tagIds } | addToSegment / removeFromSegment { segmentId } (manual segments) |',
          'delete { confirm: "DELETE", expectedCount } (needs profiles.delete; refused with 409 unless expectedCount is the current number of targets).',
          'Values are normalized and validated as a single profile write would; phone, cardNumber, email and kind cannot be mass-edited.',
          'The targets are fixed when the action starts. Up to 5,000 (KARTOTEKA_BULK_SYNC_LIMIT) it runs at once: 200 { changed, total };',
          'more become a job: 202 { jobId, total }, progress at GET /api/v1/jobs/{jobId}. changed counts profiles whose data really changed.',
        ].join('\n'),
        params: BaseParams,
        body: BulkBody,
        response: { 200: BulkDoneOut, 202: BulkQueuedOut },
      },
    },
    async (req, reply) => {
      const r = await service.startBulk(ctx.db, req.params.baseId, req.body, principalOf(req), { syncLimit: ctx.config.bulkSyncLimit, batchSize: ctx.config.bulkBatchSize });
      reply.code(r.status);
      return r.status === 200 ? { changed: r.changed, total: r.total } : { jobId: r.jobId, total: r.total };
    },
  );
}
