import { z } from 'zod';

const Sender = z.strictObject({
  name: z.string().trim().max(200).optional(),
  email: z.string().trim().max(320).nullable().optional().describe('Sender email, validated'),
  replyTo: z.string().trim().max(320).nullable().optional().describe('Reply-to email; the sender email when empty'),
});

const fields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5000),
  tags: z.array(z.string().trim().min(1).max(100)).max(50),
  accessGroup: z.string().trim().max(200).nullable().describe('Access group (a plain value until access control lands)'),
  subscriptionManager: z.strictObject({ title: z.string().trim().max(200).optional(), language: z.enum(['ru', 'en']).optional() }),
  sender: Sender,
  observer: z.boolean().describe('Profiles of this base observe mailings (get copies)'),
  phoneRegion: z.string().trim().describe('Default phone region, ISO 3166 alpha-2 (RU)'),
  cards: z.strictObject({
    prefix: z.string().regex(/^\d{0,20}$/).optional().describe('Digits that start generated card numbers'),
    length: z.number().int().min(6).max(200).optional().describe('Length of generated card numbers, check digit included'),
  }),
};

export const BaseCreateBody = z.strictObject({
  ...fields,
  description: fields.description.optional(),
  tags: fields.tags.optional(),
  accessGroup: fields.accessGroup.optional(),
  subscriptionManager: fields.subscriptionManager.optional(),
  sender: fields.sender.optional(),
  observer: fields.observer.optional(),
  phoneRegion: fields.phoneRegion.optional(),
  cards: fields.cards.optional(),
  emailsConsented: z.boolean().describe('Must be true: every email in the base consented to mailings'),
});

export const BaseUpdateBody = z.strictObject({
  name: fields.name.optional(),
  description: fields.description.optional(),
  tags: fields.tags.optional(),
  accessGroup: fields.accessGroup.optional(),
  subscriptionManager: fields.subscriptionManager.optional(),
  sender: fields.sender.optional(),
  observer: fields.observer.optional(),
  phoneRegion: fields.phoneRegion.optional(),
  cards: fields.cards.optional(),
  emailsConsented: z.boolean().optional().describe('When given, must be true'),
});

export const BaseOut = z.object({
  id: z.number(),
  name: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  accessGroup: z.string().nullable(),
  subscriptionManager: z.object({ title: z.string(), language: z.enum(['ru', 'en']) }),
  sender: z.object({ name: z.string(), email: z.string().nullable(), replyTo: z.string().nullable() }),
  observer: z.boolean(),
  phoneRegion: z.string(),
  cards: z.object({ prefix: z.string(), length: z.number() }),
  emailsConsented: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** A base in the list: with how many clients it holds (estimated for a big base: `clientsExact` false). */
export const BaseListItem = BaseOut.extend({ clients: z.number(), clientsExact: z.boolean() });

export const BaseParams = z.object({ baseId: z.coerce.number().int().positive() });
