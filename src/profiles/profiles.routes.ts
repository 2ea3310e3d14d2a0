import { z } from 'zod';
import { principalOf, type Api, type AppContext } from '../http/types.ts';
import {
  BaseParams,
  ListQuery,
  LookupQuery,
  ProfileCreateBody,
  ProfileEventOut,
  ProfileOut,
  ProfileParams,
  ProfileUpdateBody,
  ProfileWriteOut,
} from './profiles.schema.ts';
import * as service from './profiles.service.ts';

const tags = ['profiles'];

export function registerProfileRoutes(app: Api, ctx: AppContext) {
  app.post(
    '/bases/:baseId/profiles',
    {
      config: { permission: 'profiles.write', base: 'baseId' },
      schema: {
        tags,
        summary: 'Create a profile (201); a subscriber whose email a member already has merges into that member (200)',
        params: BaseParams,
        body: ProfileCreateBody,
        response: { 200: ProfileWriteOut, 201: ProfileWriteOut },
      },
    },
    async (req, reply) => {
      const r = await service.createProfile(ctx.db, req.params.baseId, req.body, principalOf(req).actor);
      reply.code(r.created ? 201 : 200);
      return { ...r.profile, ...(r.mergedFrom.length ? { mergedFrom: r.mergedFrom } : {}) };
    },
  );

  app.get(
    '/bases/:baseId/profiles',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: {
        tags,
        summary: 'Profiles by id, page by page (search and filters: see /profiles/search)',
        params: BaseParams,
        querystring: ListQuery,
        response: { 200: z.object({ items: z.array(ProfileOut), nextCursor: z.string().nullable() }) },
      },
    },
    async (req) => service.listProfiles(ctx.db, req.params.baseId, req.query.after ?? 0, req.query.limit),
  );

  app.get(
    '/bases/:baseId/profiles/lookup',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: {
        tags,
        summary: 'Find by one identifier: phone (any format), card number, or email (may match several)',
        params: BaseParams,
        querystring: LookupQuery,
        response: { 200: z.object({ items: z.array(ProfileOut) }) },
      },
    },
    async (req) => ({ items: await service.lookup(ctx.db, req.params.baseId, req.query) }),
  );

  app.get(
    '/bases/:baseId/profiles/:id',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'Read a profile', params: ProfileParams, response: { 200: ProfileOut } },
    },
    async (req) => service.getProfile(ctx.db, req.params.baseId, req.params.id),
  );

  app.patch(
    '/bases/:baseId/profiles/:id',
    {
      config: { permission: 'profiles.write', base: 'baseId' },
      schema: {
        tags,
        summary: 'Change some fields of a profile (null clears one)',
        params: ProfileParams,
        body: ProfileUpdateBody,
        response: { 200: ProfileWriteOut },
      },
    },
    async (req) => {
      const r = await service.updateProfile(ctx.db, req.params.baseId, req.params.id, req.body, principalOf(req).actor);
      return { ...r.profile, ...(r.mergedFrom.length ? { mergedFrom: r.mergedFrom } : {}) };
    },
  );

  app.delete(
    '/bases/:baseId/profiles/:id',
    {
      config: { permission: 'profiles.delete', base: 'baseId' },
      schema: { tags, summary: 'Delete a profile', params: ProfileParams, response: { 204: z.null() } },
    },
    async (req, reply) => {
      await service.deleteProfile(ctx.db, req.params.baseId, req.params.id);
      reply.code(204);
      return null;
    },
  );

  app.get(
    '/bases/:baseId/profiles/:id/events',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'Activity timeline of a profile', params: ProfileParams, response: { 200: z.object({ items: z.array(ProfileEventOut) }) } },
    },
    async (req) => ({ items: await service.listEvents(ctx.db, req.params.baseId, req.params.id) }),
  );
}
