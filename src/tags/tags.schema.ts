import { z } from 'zod';

const name = z.string().trim().min(1).max(100).describe('Unique in the base, ignoring case');
const color = z
  .string()
  .trim()
  .regex(/^#[0-9a-fA-F]{6}$/, 'tag_color')
  .transform((c) => c.toLowerCase())
  .describe('#rrggbb; stored lower-case');

export const TagCreateBody = z.strictObject({ name, color: color.optional().describe('#rrggbb; #868e96 when omitted') });
export const TagUpdateBody = z.strictObject({ name: name.optional(), color: color.optional() });

export const TagOut = z.object({
  id: z.number(),
  name: z.string(),
  color: z.string(),
  createdAt: z.string(),
  count: z.number().optional().describe('Profiles carrying the tag (with ?withCounts=true)'),
});
export type Tag = z.infer<typeof TagOut>;

export const TagListQuery = z.strictObject({
  withCounts: z.enum(['true', 'false']).optional().describe('Also count the profiles that carry each tag'),
});

export const BaseParams = z.object({ baseId: z.coerce.number().int().positive() });
export const TagParams = z.object({ baseId: z.coerce.number().int().positive(), id: z.coerce.number().int().positive() });

export const AssignBody = z.strictObject({
  add: z.array(z.number().int().positive()).max(500).optional().describe('Tag ids to put on the profile'),
  remove: z.array(z.number().int().positive()).max(500).optional().describe('Tag ids to take off'),
});
