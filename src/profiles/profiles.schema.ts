import { z } from 'zod';
import { KINDS, REG_SOURCES } from '../fields/standard.ts';

const text = (max: number) => z.string().max(max).nullable().optional();
const idLike = (max: number) => z.union([z.string().max(max), z.number()]).nullable().optional();

/** Writable standard fields, shared by create and update. */
const writable = {
  kind: z.enum(KINDS).optional().describe('member (needs phone or card) or subscriber (email only); inferred when omitted'),
  phone: idLike(50).describe('Any common format; stored as E.164 by the base region: 8 (916) 123-45-67 -> +79161234567'),
  email: text(320).describe('Trimmed and lower-cased; may repeat across members'),
  cardNumber: idLike(250).describe('Up to 200 Latin letters and digits; unique in the base'),
  generateCard: z.boolean().optional().describe('Let the platform issue a card number (base prefix and length, Luhn check digit)'),
  lastName: text(200),
  firstName: text(200),
  middleName: text(200),
  birthDate: text(30).describe('YYYY-MM-DD or DD.MM.YYYY'),
  gender: text(20).describe('m/f, м/ж, male/female'),
  city: text(200),
  carNumber: text(50),
  extraKey1: text(500),
  extraKey2: text(500),
  extraKey3: text(500),
  extraKey4: text(500),
  extraKey5: text(500),
  extraKey6: text(500),
  registrationSource: z.enum(REG_SOURCES).nullable().optional().describe('Set once at creation (default api); later writes never change it'),
  pointOfSale: text(200).describe('Set once; later writes never change it'),
  utmSource: text(500),
  utmMedium: text(500),
  utmCampaign: text(500),
  utmContent: text(500),
  utmTerm: text(500),
  referralId: text(200),
  fields: z.record(z.string(), z.unknown()).optional().describe('Custom field values by key; null clears one'),
  tags: z.array(z.number().int().positive()).max(500).optional().describe('Tag ids of the base: the full list (replaces the current one)'),
};

export const ProfileCreateBody = z.strictObject(writable);
export const ProfileUpdateBody = z.strictObject(writable);
export type ProfileInput = z.infer<typeof ProfileCreateBody>;

export const ProfileOut = z.object({
  id: z.number(),
  baseId: z.number(),
  kind: z.enum(KINDS),
  phone: z.string().nullable(),
  email: z.string().nullable(),
  cardNumber: z.string().nullable(),
  lastName: z.string().nullable(),
  firstName: z.string().nullable(),
  middleName: z.string().nullable(),
  birthDate: z.string().nullable(),
  gender: z.enum(['m', 'f']).nullable(),
  city: z.string().nullable(),
  carNumber: z.string().nullable(),
  extraKey1: z.string().nullable(),
  extraKey2: z.string().nullable(),
  extraKey3: z.string().nullable(),
  extraKey4: z.string().nullable(),
  extraKey5: z.string().nullable(),
  extraKey6: z.string().nullable(),
  registrationSource: z.enum(REG_SOURCES).nullable(),
  pointOfSale: z.string().nullable(),
  utmSource: z.string().nullable(),
  utmMedium: z.string().nullable(),
  utmCampaign: z.string().nullable(),
  utmContent: z.string().nullable(),
  utmTerm: z.string().nullable(),
  referralId: z.string().nullable(),
  fields: z.record(z.string(), z.unknown()),
  tags: z.array(z.number()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Profile = z.infer<typeof ProfileOut>;

export const ProfileWriteOut = ProfileOut.extend({
  mergedFrom: z.array(z.number()).optional().describe('Subscribers merged into this member by this write'),
});

export const ProfileParams = z.object({ baseId: z.coerce.number().int().positive(), id: z.coerce.number().int().positive() });
export const BaseParams = z.object({ baseId: z.coerce.number().int().positive() });

export const LookupQuery = z.strictObject({
  phone: z.string().max(50).optional(),
  cardNumber: z.string().max(250).optional(),
  email: z.string().max(320).optional(),
});

export const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  after: z.coerce.number().int().min(0).optional().describe('Cursor: the last id of the previous page'),
});

export const ProfileEventOut = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.enum(['created', 'updated', 'merged']),
  changes: z.record(z.string(), z.unknown()).describe('created: the values set; updated: { key: { from, to } }; merged: { from: [ids], reason, filled: [keys] }'),
  source: z.object({ import: z.number().optional(), line: z.number().optional(), job: z.number().optional(), mergedFrom: z.number().optional() }).describe('Where the write came from: an import and its file line, a mass-action job; empty for a single write. mergedFrom: the event was a subscriber\'s, moved here when it merged into this profile'),
});
