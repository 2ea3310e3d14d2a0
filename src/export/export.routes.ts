import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { viewerOf } from '../find/find.service.ts';
import { principalOf, type Api, type AppContext } from '../http/types.ts';
import { pickLang } from '../i18n/messages.ts';
import {
  BaseParams,
  ExportBody,
  ExportCreatedOut,
  ExportLinkOut,
  ExportListQuery,
  ExportOut,
  ExportParams,
  PublicFileParams,
  PublicFileQuery,
} from './export.schema.ts';
import * as service from './export.service.ts';

const tags = ['export'];

const FILE_DOC = 'The file as an attachment (Content-Disposition with the name in UTF-8, RFC 5987). 409 while the job is running; 410 once expired (the file is deleted).';

function sendFile(reply: FastifyReply, f: service.Download) {
  return reply
    .header('content-type', f.contentType)
    .header('content-length', f.size)
    .header('content-disposition', f.disposition)
    .header('cache-control', 'private, no-store')
    .header('x-content-type-options', 'nosniff')
    .send(f.stream);
}

export function registerExportRoutes(app: Api, ctx: AppContext) {
  const dataDir = ctx.config.dataDir;

  app.post(
    '/bases/:baseId/exports',
    {
      config: { permission: 'profiles.export', base: 'baseId' },
      schema: {
        tags,
        summary: 'Export profiles to CSV or XLSX (a background job); the response carries a download link shown only once',
        description: [
          'Exactly one source: query { q?, list?, filter? } (exactly what POST /bases/{baseId}/profiles/search finds; {} is the whole base), ids (a selection) or segmentId.',
          'columns: id, standard fields by API name, tags (tag names), fields.<key>; default: id, every standard field, tags, every custom field. Headers are the fields\' labels in the Accept-Language language.',
          'csv dialects: excel-ru (UTF-8 with BOM, ";", CRLF, DD.MM.YYYY dates: opens in Russian Excel by double-click; the default) or plain (",", LF, ISO dates).',
          'Cells starting with = + - @ TAB or CR are neutralized (CSV: a leading apostrophe; XLSX: stored as text with Excel\'s quote-prefix), so no spreadsheet evaluates them. XLSX keeps phones and card numbers as text.',
          '202: the export record; follow the job at GET /api/v1/jobs/{jobId}, then download with `link` (no authentication) or `downloadUrl` (authenticated) until expiresAt (KARTOTEKA_EXPORT_TTL_HOURS, 24 h by default).',
        ].join('\n'),
        params: BaseParams,
        body: ExportBody,
        response: { 202: ExportCreatedOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const r = await service.startExport(ctx.db, req.params.baseId, req.body, { actor: p.actor, viewer: viewerOf(p) }, {
        lang: pickLang(req.headers['accept-language']),
        ttlHours: ctx.config.exportTtlHours,
        dataDir,
      });
      reply.code(202);
      return r;
    },
  );

  app.get(
    '/bases/:baseId/exports',
    {
      config: { permission: 'profiles.export', base: 'baseId' },
      schema: {
        tags,
        summary: 'The export log of a base, newest first: who, when, what (source, columns, format), rows, file size and SHA-256',
        params: BaseParams,
        querystring: ExportListQuery,
        response: { 200: z.object({ items: z.array(ExportOut) }) },
      },
    },
    async (req) => ({ items: await service.listExports(ctx.db, req.params.baseId, req.query.limit, dataDir) }),
  );

  app.get(
    '/bases/:baseId/exports/:exportId',
    {
      config: { permission: 'profiles.export', base: 'baseId' },
      schema: { tags, summary: 'One export of the log', params: ExportParams, response: { 200: ExportOut } },
    },
    async (req) => service.getExport(ctx.db, req.params.baseId, req.params.exportId, dataDir),
  );

  app.get(
    '/bases/:baseId/exports/:exportId/file',
    {
      config: { permission: 'profiles.export', base: 'baseId' },
      schema: { tags, summary: 'Download an export (authenticated)', description: FILE_DOC, params: ExportParams },
    },
    async (req, reply) => sendFile(reply, await service.downloadExport(ctx.db, req.params.baseId, req.params.exportId, dataDir)),
  );

  app.post(
    '/bases/:baseId/exports/:exportId/link',
    {
      config: { permission: 'profiles.export', base: 'baseId' },
      schema: {
        tags,
        summary: 'A new download link for a finished export (shown only now; the earlier link stops working); valid until the export expires',
        params: ExportParams,
        response: { 201: ExportLinkOut },
      },
    },
    async (req, reply) => {
      const r = await service.newLink(ctx.db, req.params.baseId, req.params.exportId, dataDir);
      reply.code(201);
      return r;
    },
  );

  app.get(
    '/exports/:exportId/file',
    {
      config: { permission: 'public' },
      schema: {
        tags,
        summary: 'Download an export by its link (no authentication: the token is the permission)',
        description: `${FILE_DOC} A wrong token is a 404.`,
        security: [],
        params: PublicFileParams,
        querystring: PublicFileQuery,
      },
    },
    async (req, reply) => sendFile(reply, await service.downloadByLink(ctx.db, req.params.exportId, req.query.token, dataDir)),
  );
}
