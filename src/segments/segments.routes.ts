import { z } from 'zod';
import { principalOf, type Api, type AppContext } from '../http/types.ts';
import { BaseParams, MembersBody, MembersOut, SegmentCreateBody, SegmentOut, SegmentParams, SegmentUpdateBody } from './segments.schema.ts';
import * as service from './segments.service.ts';

const tags = ['segments'];

export function registerSegmentRoutes(app: Api, ctx: AppContext) {
  app.get(
    '/bases/:baseId/segments',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'Segments of a base: shared ones and my private ones, with their last counts', params: BaseParams, response: { 200: z.object({ items: z.array(SegmentOut) }) } },
    },
    async (req) => ({ items: await service.listSegments(ctx.db, req.params.baseId, service.viewerOf(principalOf(req))) }),
  );

  app.post(
    '/bases/:baseId/segments',
    {
      config: { permission: 'profiles.write', base: 'baseId' },
      schema: {
        tags,
        summary: 'Save a filter as a dynamic segment, or create a manual one; counted at once',
        params: BaseParams,
        body: SegmentCreateBody,
        response: { 201: SegmentOut },
      },
    },
    async (req, reply) => {
      const s = await service.createSegment(ctx.db, req.params.baseId, req.body, service.viewerOf(principalOf(req)));
      reply.code(201);
      return s;
    },
  );

  app.get(
    '/bases/:baseId/segments/:id',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'Read a segment', params: SegmentParams, response: { 200: SegmentOut } },
    },
    async (req) => service.getSegment(ctx.db, req.params.baseId, req.params.id, service.viewerOf(principalOf(req))),
  );

  app.patch(
    '/bases/:baseId/segments/:id',
    {
      config: { permission: 'profiles.write', base: 'baseId' },
      schema: { tags, summary: 'Rename a segment, change its filter (recounts) or who sees it', params: SegmentParams, body: SegmentUpdateBody, response: { 200: SegmentOut } },
    },
    async (req) => service.updateSegment(ctx.db, req.params.baseId, req.params.id, req.body, service.viewerOf(principalOf(req))),
  );

  app.delete(
    '/bases/:baseId/segments/:id',
    {
      config: { permission: 'profiles.write', base: 'baseId' },
      schema: { tags, summary: 'Delete a segment (409 while another segment filters on it)', params: SegmentParams, response: { 204: z.null() } },
    },
    async (req, reply) => {
      await service.deleteSegment(ctx.db, req.params.baseId, req.params.id, service.viewerOf(principalOf(req)));
      reply.code(204);
      return null;
    },
  );

  app.post(
    '/bases/:baseId/segments/:id/count',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'Count the segment now', params: SegmentParams, response: { 200: SegmentOut } },
    },
    async (req) => service.recount(ctx.db, req.params.baseId, req.params.id, service.viewerOf(principalOf(req))),
  );

  app.post(
    '/bases/:baseId/segments/:id/members',
    {
      config: { permission: 'profiles.write', base: 'baseId' },
      schema: {
        tags,
        summary: 'Add profiles to a manual segment: by ids, or everything a query finds',
        params: SegmentParams,
        body: MembersBody,
        response: { 200: MembersOut },
      },
    },
    async (req) => service.changeMembers(ctx.db, req.params.baseId, req.params.id, req.body, service.viewerOf(principalOf(req)), 'add'),
  );

  app.delete(
    '/bases/:baseId/segments/:id/members',
    {
      config: { permission: 'profiles.write', base: 'baseId' },
      schema: {
        tags,
        summary: 'Remove profiles from a manual segment: by ids, or everything a query finds',
        params: SegmentParams,
        body: MembersBody,
        response: { 200: MembersOut },
      },
    },
    async (req) => service.changeMembers(ctx.db, req.params.baseId, req.params.id, req.body, service.viewerOf(principalOf(req)), 'remove'),
  );
}
