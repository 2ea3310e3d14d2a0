import { z } from 'zod';
import type { Api, AppContext } from '../http/types.ts';
import { BaseParams, FieldCreateBody, FieldOut, FieldParams, FieldUpdateBody } from './fields.schema.ts';
import * as service from './fields.service.ts';

const tags = ['fields'];

export function registerFieldRoutes(app: Api, ctx: AppContext) {
  app.get(
    '/bases/:baseId/fields',
    {
      config: { permission: 'bases.read', base: 'baseId' },
      schema: { tags, summary: 'Standard (fixed) and custom fields of a base', params: BaseParams, response: { 200: z.object({ items: z.array(FieldOut) }) } },
    },
    async (req) => ({ items: await service.listAllFields(ctx.db, req.params.baseId) }),
  );

  app.post(
    '/bases/:baseId/fields',
    {
      config: { permission: 'bases.manage', base: 'baseId' },
      schema: { tags, summary: 'Add a custom field', params: BaseParams, body: FieldCreateBody, response: { 201: FieldOut } },
    },
    async (req, reply) => {
      const out = await service.createField(ctx.db, req.params.baseId, req.body);
      reply.code(201);
      return out;
    },
  );

  app.patch(
    '/bases/:baseId/fields/:key',
    {
      config: { permission: 'bases.manage', base: 'baseId' },
      schema: {
        tags,
        summary: 'Change a custom field (labels, default, required, options, type when every value converts)',
        params: FieldParams,
        body: FieldUpdateBody,
        response: { 200: FieldOut },
      },
    },
    async (req) => service.updateField(ctx.db, req.params.baseId, req.params.key, req.body),
  );

  app.delete(
    '/bases/:baseId/fields/:key',
    {
      config: { permission: 'bases.manage', base: 'baseId' },
      schema: { tags, summary: 'Delete a custom field and its values', params: FieldParams, response: { 204: z.null() } },
    },
    async (req, reply) => {
      await service.deleteField(ctx.db, req.params.baseId, req.params.key);
      reply.code(204);
      return null;
    },
  );
}
