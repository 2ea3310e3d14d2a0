import { z } from 'zod';
import { QueryBody } from '../find/find.schema.ts';

export const MAX_IDS = 100_000;

export const BulkTarget = z
  .strictObject({
    ids: z.array(z.number().int().positive()).min(1).max(MAX_IDS).optional().describe('Only the selected profiles (ids not in the base are ignored)'),
    query: z.strictObject(QueryBody).optional().describe('Everything a search with this q / list / filter finds ({} is the whole base)'),
  })
  .describe('Exactly one of ids or query');

const field = z.string().min(1).max(200).describe('A standard field (city, utmSource, extraKey1, …) or a custom one as fields.<key>');
const tagIds = z.array(z.number().int().positive()).min(1).max(500);

export const ACTION_TYPES = ['setField', 'clearField', 'addTags', 'removeTags', 'addToSegment', 'removeFromSegment', 'delete'] as const;

export const BulkAction = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('setField'),
      field,
      value: z.unknown().describe('Normalized and validated exactly as a single profile write would; null or "" clears'),
    }),
    z.strictObject({ type: z.literal('clearField'), field }),
    z.strictObject({ type: z.literal('addTags'), tagIds }),
    z.strictObject({ type: z.literal('removeTags'), tagIds }),
    z.strictObject({ type: z.literal('addToSegment'), segmentId: z.number().int().positive().describe('A manual segment') }),
    z.strictObject({ type: z.literal('removeFromSegment'), segmentId: z.number().int().positive().describe('A manual segment') }),
    z.strictObject({
      type: z.literal('delete'),
      confirm: z.string().max(100).describe('Must be exactly DELETE'),
      expectedCount: z.number().int().min(0).describe('The number of profiles the user saw and agreed to delete; a different current count is refused'),
    }),
  ],
  { error: () => 'bulk_action_type' },
);
export type BulkActionInput = z.infer<typeof BulkAction>;

export const BulkBody = z.strictObject({ target: BulkTarget, action: BulkAction });
export type BulkBodyInput = z.infer<typeof BulkBody>;

export const BulkDoneOut = z.object({
  changed: z.number().describe('Profiles whose stored data actually changed'),
  total: z.number().describe('Profiles the action applied to'),
});
export const BulkQueuedOut = z.object({
  jobId: z.number().describe('Follow it at GET /api/v1/jobs/{jobId}'),
  total: z.number(),
});

export const BaseParams = z.object({ baseId: z.coerce.number().int().positive() });
