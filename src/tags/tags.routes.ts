import { z } from 'zod';
import { principalOf, type Api, type AppContext } from '../http/types.ts';
import { ProfileOut, ProfileParams } from '../profiles/profiles.schema.ts';
import { AssignBody, BaseParams, TagCreateBody, TagListQuery, TagOut, TagParams, TagUpdateBody } from './tags.schema.ts';
import * as service from './tags.service.ts';

const tags = ['tags'];

export function registerTagRoutes(app: Api, ctx: AppContext) {
  app.get(
    '/bases/:baseId/tags',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'Tags of a base (with ?withCounts=true: how many profiles carry each)', params: BaseParams, querystring: TagListQuery, response: { 200: z.object({ items: z.array(TagOut) }) } },
    },
    async (req) => ({ items: await service.listTags(ctx.db, req.params.baseId, req.query.withCounts === 'true') }),
  );

  app.post(
    '/bases/:baseId/tags',
    {
      config: { permission: 'bases.manage', base: 'baseId' },
      schema: { tags, summary: 'Create a tag: a name and a colour', params: BaseParams, body: TagCreateBody, response: { 201: TagOut } },
    },
    async (req, reply) => {
      const tag = await service.createTag(ctx.db, req.params.baseId, req.body);
      reply.code(201);
      return tag;
    },
  );

  app.patch(
    '/bases/:baseId/tags/:id',
    {
      config: { permission: 'bases.manage', base: 'baseId' },
      schema: { tags, summary: 'Rename or recolour a tag', params: TagParams, body: TagUpdateBody, response: { 200: TagOut } },
    },
    async (req) => service.updateTag(ctx.db, req.params.baseId, req.params.id, req.body),
  );

  app.delete(
    '/bases/:baseId/tags/:id',
    {
      config: { permission: 'bases.manage', base: 'baseId' },
      schema: { tags, summary: 'Delete a tag; it disappears from every profile', params: TagParams, response: { 204: z.null() } },
    },
    async (req, reply) => {
      await service.deleteTag(ctx.db, req.params.baseId, req.params.id);
      reply.code(204);
      return null;
    },
  );

  app.post(
    '/bases/:baseId/profiles/:id/tags',
    {
      config: { permission: 'profiles.write', base: 'baseId' },
      schema: { tags, summary: 'Put tags on a profile and take others off', params: ProfileParams, body: AssignBody, response: { 200: ProfileOut } },
    },
    async (req) => service.assignTags(ctx.db, req.params.baseId, req.params.id, req.body, principalOf(req).actor),
  );
}
