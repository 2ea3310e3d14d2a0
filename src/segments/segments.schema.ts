import { z } from 'zod';
import { QueryBody } from '../find/find.schema.ts';

export const SegmentQuery = z.strictObject(QueryBody).describe('What a dynamic segment finds: quick search, pasted list and filter, all ANDed (as in /profiles/search)');

const name = z.string().trim().min(1).max(200).describe('Unique in the base, ignoring case');

export const SegmentCreateBody = z.strictObject({
  name,
  kind: z.enum(['dynamic', 'manual']).describe('dynamic: a saved filter, recounted on demand; manual: profiles added and removed by hand'),
  query: SegmentQuery.optional().describe('Required for a dynamic segment, absent for a manual one'),
  shared: z.boolean().optional().describe('Visible to every user (default); false: only to its owner'),
});

export const SegmentUpdateBody = z.strictObject({
  name: name.optional(),
  query: SegmentQuery.optional().describe('Dynamic segments only; a change recounts'),
  shared: z.boolean().optional().describe('Only the owner changes it'),
});

export const SegmentOut = z.object({
  id: z.number(),
  name: z.string(),
  kind: z.enum(['dynamic', 'manual']),
  query: z.record(z.string(), z.unknown()).nullable(),
  shared: z.boolean(),
  ownerId: z.number().nullable().describe('The user who created it (null: the admin token)'),
  count: z.number().nullable().describe('Profiles in the segment when last counted'),
  countedAt: z.string().nullable(),
  countMs: z.number().nullable().describe('How long the last count took, ms'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Segment = z.infer<typeof SegmentOut>;

export const MembersBody = z.strictObject({
  ids: z.array(z.number().int().positive()).max(10_000).optional().describe('Profile ids; ids not in the base are ignored'),
  query: SegmentQuery.optional().describe('Everything this query finds'),
});

export const MembersOut = z.object({
  changed: z.number().describe('Profiles added (or removed) by this call'),
  count: z.number().describe('Members now'),
});

export const BaseParams = z.object({ baseId: z.coerce.number().int().positive() });
export const SegmentParams = z.object({ baseId: z.coerce.number().int().positive(), id: z.coerce.number().int().positive() });
