import { z } from 'zod';
import type { Api, AppContext } from '../http/types.ts';
import * as repo from './bases.repo.ts';
import { clientCounts } from '../profiles/profiles.service.ts';
import { BaseCreateBody, BaseListItem, BaseOut, BaseParams, BaseUpdateBody } from './bases.schema.ts';
import * as service from './bases.service.ts';

const tags = ['bases'];

export function registerBaseRoutes(app: Api, ctx: AppContext) {
  app.get(
    '/bases',
    { config: { permission: 'bases.read' }, schema: { tags, summary: 'List profile bases, each with its number of clients (estimated from 100,000 on)', response: { 200: z.object({ items: z.array(BaseListItem) }) } } },
    async () => {
      const [bases, counts] = await Promise.all([repo.listBases(ctx.db), clientCounts(ctx.db)]);
      return { items: bases.map((b) => ({ ...service.toBase(b), clients: counts.get(b.id)?.count ?? 0, clientsExact: counts.get(b.id)?.exact ?? true })) };
    },
  );

  app.post(
    '/bases',
    { config: { permission: 'bases.manage' }, schema: { tags, summary: 'Create a profile base', body: BaseCreateBody, response: { 201: BaseOut } } },
    async (req, reply) => {
      const base = await service.createBase(ctx.db, req.body);
      reply.code(201);
      return base;
    },
  );

  app.get(
    '/bases/:baseId',
    { config: { permission: 'bases.read', base: 'baseId' }, schema: { tags, summary: 'Read a profile base', params: BaseParams, response: { 200: BaseOut } } },
    async (req) => service.toBase(await service.getBaseOrThrow(ctx.db, req.params.baseId)),
  );

  app.patch(
    '/bases/:baseId',
    {
      config: { permission: 'bases.manage', base: 'baseId' },
      schema: { tags, summary: 'Change a profile base', params: BaseParams, body: BaseUpdateBody, response: { 200: BaseOut } },
    },
    async (req) => service.updateBase(ctx.db, req.params.baseId, req.body),
  );

  app.delete(
    '/bases/:baseId',
    {
      config: { permission: 'bases.manage', base: 'baseId' },
      schema: { tags, summary: 'Delete a profile base with all its profiles', params: BaseParams, response: { 204: z.null() } },
    },
    async (req, reply) => {
      await service.deleteBase(ctx.db, req.params.baseId, ctx.config.dataDir);
      reply.code(204);
      return null;
    },
  );
}
