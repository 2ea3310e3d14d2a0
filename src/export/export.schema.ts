import { z } from 'zod';
import { QueryBody, SortKey } from '../find/find.schema.ts';

export const EXPORT_FORMATS = ['csv', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const CSV_DIALECTS = ['excel-ru', 'plain'] as const;
export type CsvDialect = (typeof CSV_DIALECTS)[number];
export const EXPORT_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

export const MAX_EXPORT_IDS = 100_000;

export const ExportBody = z.strictObject({
  format: z.enum(EXPORT_FORMATS),
  dialect: z.enum(CSV_DIALECTS).optional().describe('CSV only: excel-ru (UTF-8 with BOM, ";", for double-clicking in Russian Excel; the default) or plain (",", no BOM)'),
  columns: z
    .array(z.string().max(200))
    .min(1)
    .max(500)
    .optional()
    .describe('Columns in order: id, any standard field (lastName, phone, birthDate, createdAt, …), tags (tag names), fields.<key>. Default: id, every standard field, tags, every custom field'),
  query: z.strictObject(QueryBody).optional().describe('Everything a search with this q / list / filter finds, exactly as POST /bases/{baseId}/profiles/search ({} is the whole base)'),
  ids: z.array(z.number().int().positive()).min(1).max(MAX_EXPORT_IDS).optional().describe('The selected profiles (ids not in the base are skipped)'),
  segmentId: z.number().int().positive().optional().describe('The members of a segment (manual or dynamic)'),
  sort: z.array(SortKey).max(5).optional().describe('Rows in this order, as /profiles/search sorts them (the table\'s order); default: by id'),
});
export type ExportBodyInput = z.infer<typeof ExportBody>;

/** What an export took its rows from, as recorded in the log: exactly one of query, ids, segmentId. */
export type ExportSource = ({ query: { q?: string | string[]; list?: string | string[]; filter?: unknown } } | { ids: number[] } | { segmentId: number }) & { sort?: { field: string; dir: 'asc' | 'desc' }[] };

export const ExportOut = z.object({
  id: z.number(),
  baseId: z.number(),
  jobId: z.number().nullable().describe('Follow it at GET /api/v1/jobs/{jobId}; null for an export the CLI ran in-process'),
  actor: z.string().describe('Who exported: user:<id>, token:<id>, env, or cli'),
  source: z.unknown().describe('{ query } | { ids } | { segmentId }, as sent, with the sort when one was asked for'),
  columns: z.array(z.string()),
  format: z.enum(EXPORT_FORMATS),
  dialect: z.enum(CSV_DIALECTS).nullable(),
  status: z.enum(EXPORT_STATUSES),
  rows: z.number().nullable(),
  fileName: z.string(),
  size: z.number().nullable().describe('Bytes'),
  sha256: z.string().nullable().describe('SHA-256 of exactly the bytes of the file'),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  expiresAt: z.string().nullable().describe('The file and its links are deleted after this'),
  expired: z.boolean(),
  downloadUrl: z.string().nullable().describe('Authenticated download (profiles.export) while the file is ready and not expired'),
});
export type ExportRecord = z.infer<typeof ExportOut>;

export const ExportCreatedOut = ExportOut.extend({
  link: z
    .string()
    .describe('A link that downloads the file without authentication once the job is done, until expiresAt. Shown only in this response (only its hash is stored)'),
});

export const ExportLinkOut = z.object({
  link: z.string().describe('Shown only now; replaces any earlier link of this export'),
  expiresAt: z.string(),
});

export const BaseParams = z.object({ baseId: z.coerce.number().int().positive() });
export const ExportParams = z.object({ baseId: z.coerce.number().int().positive(), exportId: z.coerce.number().int().positive() });
export const PublicFileParams = z.object({ exportId: z.coerce.number().int().positive() });
export const PublicFileQuery = z.object({ token: z.string().min(1).max(200) });
export const ExportListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });
