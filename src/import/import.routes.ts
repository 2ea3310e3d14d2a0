import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { contentDisposition } from '../export/export.service.ts';
import { principalOf, type Api, type AppContext } from '../http/types.ts';
import { pickLang } from '../i18n/messages.ts';
import {
  BaseParams,
  ImportListQuery,
  ImportOut,
  ImportParams,
  PreviewBody,
  PreviewOut,
  StartBody,
  TemplateBody,
  TemplateOut,
  TemplateParams,
  UploadQuery,
} from './import.schema.ts';
import * as service from './import.service.ts';

const tags = ['import'];
const lang = (req: { headers: Record<string, unknown> }) => pickLang(req.headers['accept-language'] as string | undefined);

export function registerImportRoutes(app: Api, ctx: AppContext) {
  const dataDir = ctx.config.dataDir;

  // The upload takes the file as the raw request body, streamed to disk: no parser buffers it.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
    (scope as unknown as Api).post(
      '/bases/:baseId/imports',
      {
        config: { permission: 'profiles.import', base: 'baseId' },
        schema: {
          tags,
          summary: 'Upload a CSV or XLSX file to import (the raw file as the request body); returns the import and a preview of its first 20 rows',
          description: [
            'CSV: any of ; , TAB |, quoted fields with line breaks, UTF-8 with or without BOM, Windows-1251 (detected). XLSX: the first visible sheet unless `sheet` is given.',
            'The file is stored and hashed; nothing is written to profiles until POST …/start. Columns are mapped by Russian and English synonyms, a saved template whose headers match, or custom field labels.',
          ].join('\n'),
          params: BaseParams,
          querystring: UploadQuery,
          response: { 201: PreviewOut },
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        const imp = await service.upload(ctx.db, dataDir, req.params.baseId, p.actor, req.raw, {
          fileName: req.query.fileName ?? 'file',
          ...(req.query.sheet !== undefined ? { sheet: req.query.sheet } : {}),
          maxBytes: ctx.config.importMaxBytes,
        });
        reply.code(201);
        return service.preview(ctx.db, dataDir, req.params.baseId, imp.id, {}, lang(req));
      },
    );
  });

  app.post(
    '/bases/:baseId/imports/:importId/preview',
    {
      config: { permission: 'profiles.import', base: 'baseId' },
      schema: {
        tags,
        summary: 'The first 20 rows under a mapping (or a template): normalized values and per-cell errors; nothing is written',
        params: ImportParams,
        body: PreviewBody,
        response: { 200: PreviewOut },
      },
    },
    async (req) => service.preview(ctx.db, dataDir, req.params.baseId, req.params.importId, req.body, lang(req)),
  );

  app.post(
    '/bases/:baseId/imports/:importId/start',
    {
      config: { permission: 'profiles.import', base: 'baseId' },
      schema: {
        tags,
        summary: 'Start the import job with a mapping, mode, per-field policy, duplicates policy, tags, segment; or a dry run',
        description:
          'Matching: phone, then card number, then email (a subscriber\'s; never joins two members). Follow GET …/imports/{importId} (rows, rows/s, ETA, counts) or GET /api/v1/jobs/{jobId}. created + updated + unchanged + failed = rows read, always.',
        params: ImportParams,
        body: StartBody,
        response: { 202: ImportOut },
      },
    },
    async (req, reply) => {
      reply.code(202);
      return service.start(ctx.db, req.params.baseId, req.params.importId, req.body, principalOf(req).actor, lang(req));
    },
  );

  app.get(
    '/bases/:baseId/imports',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'Every import of the base, newest first: who, when, file, hash, mapping, counts, duration', params: BaseParams, querystring: ImportListQuery, response: { 200: z.object({ items: z.array(ImportOut) }) } },
    },
    async (req) => ({ items: await service.listImports(ctx.db, req.params.baseId, req.query.limit) }),
  );

  app.get(
    '/bases/:baseId/imports/:importId',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'One import: status, progress (rows, rows/s, ETA), counts', params: ImportParams, response: { 200: ImportOut } },
    },
    async (req) => service.getImport(ctx.db, req.params.baseId, req.params.importId),
  );

  app.post(
    '/bases/:baseId/imports/:importId/cancel',
    {
      config: { permission: 'profiles.import', base: 'baseId' },
      schema: { tags, summary: 'Cancel a running import: it stops between batches; what was committed stays, and the counts say so', params: ImportParams, response: { 200: ImportOut } },
    },
    async (req) => service.cancel(ctx.db, req.params.baseId, req.params.importId),
  );

  app.get(
    '/bases/:baseId/imports/:importId/errors',
    {
      config: { permission: 'profiles.import', base: 'baseId' },
      schema: {
        tags,
        summary: 'The failed rows as a file in the format of the upload: the original columns, the line number and the reason',
        params: ImportParams,
      },
    },
    async (req, reply) => {
      const imp = await service.getImport(ctx.db, req.params.baseId, req.params.importId);
      const out = new PassThrough();
      service.writeErrorFile(ctx.db, req.params.baseId, req.params.importId, out, lang(req)).catch((e: unknown) => out.destroy(e as Error));
      return reply
        .header('content-type', imp.format === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv; charset=utf-8')
        .header('content-disposition', contentDisposition(service.errorFileName(imp)))
        .header('cache-control', 'private, no-store')
        .send(out);
    },
  );

  app.delete(
    '/bases/:baseId/imports/:importId',
    {
      config: { permission: 'profiles.import', base: 'baseId' },
      schema: { tags, summary: 'Remove an upload that was never started, with its file (409 once started: the log keeps what was imported)', params: ImportParams, response: { 204: z.null() } },
    },
    async (req, reply) => {
      await service.removeUpload(ctx.db, dataDir, req.params.baseId, req.params.importId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/bases/:baseId/import-templates',
    { config: { permission: 'profiles.read', base: 'baseId' }, schema: { tags, summary: 'Saved column mappings of the base', params: BaseParams, response: { 200: z.object({ items: z.array(TemplateOut) }) } } },
    async (req) => ({ items: await service.listTemplates(ctx.db, req.params.baseId) }),
  );

  app.post(
    '/bases/:baseId/import-templates',
    {
      config: { permission: 'profiles.import', base: 'baseId' },
      schema: { tags, summary: 'Save a column mapping; a file with the same headers (in any order) gets it automatically', params: BaseParams, body: TemplateBody, response: { 201: TemplateOut } },
    },
    async (req, reply) => {
      reply.code(201);
      return service.createTemplate(ctx.db, req.params.baseId, req.body);
    },
  );

  app.delete(
    '/bases/:baseId/import-templates/:templateId',
    { config: { permission: 'profiles.import', base: 'baseId' }, schema: { tags, summary: 'Delete a saved mapping', params: TemplateParams, response: { 204: z.null() } } },
    async (req, reply) => {
      await service.deleteTemplate(ctx.db, req.params.baseId, req.params.templateId);
      return reply.code(204).send(null);
    },
  );
}
