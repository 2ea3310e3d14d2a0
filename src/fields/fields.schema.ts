import { z } from 'zod';

export const FIELD_TYPES = ['int', 'float', 'string', 'date', 'boolean', 'list', 'ip', 'tags'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
export type CustomValue = number | string | boolean | string[];

/** A custom field definition as services use it. */
export interface FieldDef {
  key: string;
  type: FieldType;
  label: { ru: string; en: string };
  required: boolean;
  default: CustomValue | null;
  listMode: 'static' | 'free' | null;
  options: string[];
  showInSubscriptionManager: boolean;
  position: number;
}

const Label = z.strictObject({ ru: z.string().trim().min(1).max(200), en: z.string().trim().max(200).default('') });
const Options = z.array(z.string().trim().min(1).max(200)).max(1000);
const DefaultValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]).nullable();

export const FieldCreateBody = z.strictObject({
  key: z.string().describe('Immutable key: a Latin letter, then letters, digits or _'),
  type: z.enum(FIELD_TYPES),
  label: Label,
  required: z.boolean().default(false),
  default: DefaultValue.optional(),
  listMode: z.enum(['static', 'free']).optional().describe('For lists: static options, or free values that accumulate'),
  options: Options.optional(),
  showInSubscriptionManager: z.boolean().default(false),
  position: z.number().int().min(0).max(10_000).default(0),
});

export const FieldUpdateBody = z.strictObject({
  key: z.string().optional().describe('Must equal the current key: keys are immutable'),
  type: z.enum(FIELD_TYPES).optional().describe('Allowed only when every stored value converts'),
  label: z.strictObject({ ru: z.string().trim().min(1).max(200).optional(), en: z.string().trim().max(200).optional() }).optional(),
  required: z.boolean().optional(),
  default: DefaultValue.optional(),
  listMode: z.enum(['static', 'free']).optional(),
  options: Options.optional(),
  showInSubscriptionManager: z.boolean().optional(),
  position: z.number().int().min(0).max(10_000).optional(),
});

export const FieldOut = z.object({
  key: z.string(),
  type: z.string(),
  standard: z.boolean(),
  label: z.object({ ru: z.string(), en: z.string() }),
  required: z.boolean(),
  default: DefaultValue,
  listMode: z.enum(['static', 'free']).nullable(),
  options: z.array(z.string()),
  showInSubscriptionManager: z.boolean(),
  position: z.number(),
  setOnce: z.boolean(),
  readOnly: z.boolean(),
});

export const FieldParams = z.object({ baseId: z.coerce.number().int().positive(), key: z.string().max(100) });
export const BaseParams = z.object({ baseId: z.coerce.number().int().positive() });
