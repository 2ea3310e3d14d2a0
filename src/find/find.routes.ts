import { principalOf, type Api, type AppContext } from '../http/types.ts';
import { OPS_BY_TYPE } from './filter.fields.ts';
import { BaseParams, CountBody, CountOut, FieldKeyParams, FilterFieldOut, SearchBody, SearchOut, ValueCountsOut } from './find.schema.ts';
import * as service from './find.service.ts';
import { z } from 'zod';
import type { Query } from './filter.ts';

const tags = ['search'];

export function registerFindRoutes(app: Api, ctx: AppContext) {
  app.post(
    '/bases/:baseId/profiles/search',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: {
        tags,
        summary: 'Find profiles: quick search, pasted list, AND/OR filter; sorted, keyset-paginated, with the exact total',
        params: BaseParams,
        body: SearchBody,
        response: { 200: SearchOut },
      },
    },
    async (req) => service.search(ctx.db, req.params.baseId, req.body as Parameters<typeof service.search>[2], service.viewerOf(principalOf(req))),
  );

  app.post(
    '/bases/:baseId/profiles/count',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'Exact count of what a query finds, and how long counting took', params: BaseParams, body: CountBody, response: { 200: CountOut } },
    },
    async (req) => service.countMatching(ctx.db, req.params.baseId, req.body as Query, service.viewerOf(principalOf(req))),
  );

  app.get(
    '/bases/:baseId/filter-fields',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'Every field a filter can use, with its type and operators', params: BaseParams, response: { 200: z.object({ items: z.array(FilterFieldOut) }) } },
    },
    async (req) => {
      const c = await service.compileContext(ctx.db, req.params.baseId);
      return {
        items: [...c.fields.values()].map((f) => ({
          field: f.key,
          type: f.type,
          ops: [...OPS_BY_TYPE[f.type]],
          label: f.label,
          ...(f.values ? { values: [...f.values] } : {}),
        })),
      };
    },
  );

  app.get(
    '/bases/:baseId/fields/:key/values',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'Values of a custom field really used, with counts (for filter checkboxes)', params: FieldKeyParams, response: { 200: ValueCountsOut } },
    },
    async (req) => ({ items: await service.fieldValues(ctx.db, req.params.baseId, req.params.key) }),
  );
}
