import { z } from 'zod';

export const BaseParams = z.object({ baseId: z.coerce.number().int().positive() });
export const ImportParams = z.object({ baseId: z.coerce.number().int().positive(), importId: z.coerce.number().int().positive() });
export const TemplateParams = z.object({ baseId: z.coerce.number().int().positive(), templateId: z.coerce.number().int().positive() });

export const UploadQuery = z.strictObject({
  fileName: z.string().max(255).optional().describe('The original file name (kept in the import record)'),
  sheet: z.string().max(200).optional().describe('XLSX: the sheet by name or 0-based index; default the first visible one'),
});

export const MappingIn = z.strictObject({
  columns: z.array(z.string().max(100).nullable()).max(1000).describe("Target per column: a standard field key, 'fullName' (split in three), 'fields.<key>', 'tags' (names, comma-separated), or null to skip"),
});

export const PreviewBody = z.strictObject({
  mapping: MappingIn.optional(),
  templateId: z.number().int().positive().optional(),
});

const POLICIES = ['overwrite', 'fill', 'skip'] as const;
export const StartBody = z.strictObject({
  mapping: MappingIn,
  mode: z.enum(['create', 'update', 'upsert']).default('upsert').describe('create only / update only / create or update'),
  policy: z.record(z.string().max(100), z.enum(POLICIES)).default({}).describe('Per target: overwrite (default), fill (only if empty), skip (leave existing profiles alone)'),
  duplicates: z.enum(['merge', 'report']).default('merge').describe('Rows of the file with the same phone, card or subscriber email: combined into one profile, or failed'),
  tagIds: z.array(z.number().int().positive()).max(100).default([]),
  segmentId: z.number().int().positive().nullable().default(null).describe('A manual segment that receives every imported profile'),
  dryRun: z.boolean().default(false).describe('Apply in a transaction that is rolled back: exact counts and the error file, nothing written'),
  saveTemplate: z.string().trim().min(1).max(200).optional().describe('Also save this mapping as a template under this name'),
});
export type StartBodyInput = z.infer<typeof StartBody>;

export const ImportOut = z.object({
  id: z.number(),
  baseId: z.number(),
  jobId: z.number().nullable(),
  status: z.enum(['uploaded', 'queued', 'running', 'done', 'failed', 'cancelled']),
  actor: z.string(),
  fileName: z.string(),
  size: z.number(),
  sha256: z.string(),
  format: z.enum(['csv', 'xlsx']),
  encoding: z.string().nullable(),
  delimiter: z.string().nullable(),
  sheet: z.string().nullable(),
  sheets: z.array(z.string()).nullable(),
  headers: z.array(z.string()),
  mapping: z.object({ columns: z.array(z.string().nullable()) }).nullable(),
  settings: z.record(z.string(), z.unknown()).nullable(),
  dryRun: z.boolean(),
  rows: z.number(),
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  failed: z.number(),
  progress: z.object({
    rows: z.number(),
    total: z.number(),
    rowsPerSecond: z.number(),
    etaSeconds: z.number().nullable(),
    phase: z
      .enum(['rows', 'load', 'indexing', 'rest'])
      .describe('rows: applied batch by batch; the bulk way: load (rows into a bare table), indexing (its indexes built: minutes at 1M rows, no rows move), rest (the rows the load left)'),
  }),
  errorsUrl: z.string().nullable(),
  uploadedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
});

export const PreviewOut = z.object({
  import: ImportOut,
  mapping: z.object({ columns: z.array(z.string().nullable()) }),
  templateId: z.number().nullable(),
  confidence: z.array(z.number()).nullable(),
  alternatives: z.record(z.string(), z.array(z.string().nullable())),
  problems: z.array(z.object({ field: z.string(), message: z.string() })),
  rows: z.array(
    z.object({
      line: z.number(),
      cells: z.array(z.string()),
      values: z.record(z.string(), z.unknown()),
      errors: z.array(z.object({ column: z.number(), header: z.string(), message: z.string() })),
    }),
  ),
});

export const ImportListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });

export const TemplateBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  headers: z.array(z.string().max(500)).min(1).max(1000),
  mapping: MappingIn,
});
export const TemplateOut = z.object({
  id: z.number(),
  baseId: z.number(),
  name: z.string(),
  headers: z.array(z.string()),
  mapping: z.object({ columns: z.array(z.string().nullable()) }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
