import { z } from 'zod';

export const MIN_WIDTH = 40;
export const MAX_WIDTH = 1200;

const field = z.string().min(1).max(100);

export const SortKey = z.strictObject({ field, dir: z.enum(['asc', 'desc']).default('asc') });

export const TableSettings = z.strictObject({
  columns: z
    .array(field)
    .min(1)
    .max(100)
    .describe('Visible columns in order: standard API names, "fields.<key>" for custom fields, "tags", "fullName", "id"'),
  pinned: z.array(field).max(100).describe('Columns pinned to the left (at most 5, each one of columns)'),
  sort: z.array(SortKey).max(5).describe('Sort keys in order (as /profiles/search takes them)'),
  widths: z
    .record(field, z.number().int().min(MIN_WIDTH).max(MAX_WIDTH))
    .optional()
    .describe(`Widths in pixels the user set by dragging a header's edge (${MIN_WIDTH}–${MAX_WIDTH}); a column not named fits its content`),
});
export type TableSettingsT = z.infer<typeof TableSettings>;

export const TableSettingsOut = z.object({
  columns: z.array(z.string()),
  pinned: z.array(z.string()),
  sort: z.array(z.object({ field: z.string(), dir: z.enum(['asc', 'desc']) })),
  widths: z.record(z.string(), z.number()).optional().describe('Present when the user has set a width'),
});

export const BaseParams = z.object({ baseId: z.coerce.number().int().positive() });
