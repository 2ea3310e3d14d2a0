import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { isSupportedCountry } from 'libphonenumber-js';
import type { Db } from '../db/db.ts';
import { dropFacetIndex } from '../find/facets.ts';
import type { BaseRow } from '../db/schema.ts';
import { AppError, FieldErrors, notFound, fromDb } from '../errors/errors.ts';
import { normalizeEmail } from '../profiles/normalize.ts';
import * as repo from './bases.repo.ts';
import type { BaseCreateBody, BaseOut, BaseUpdateBody } from './bases.schema.ts';

// Other domains reach bases through this service (issue 10: a domain calls a service, never another's repo).
export { getBase, nextCardSeq } from './bases.repo.ts';

type Create = z.infer<typeof BaseCreateBody>;
type Update = z.infer<typeof BaseUpdateBody>;

export function toBase(r: BaseRow): z.infer<typeof BaseOut> {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    tags: r.tags,
    accessGroup: r.access_group,
    subscriptionManager: { title: r.sub_manager_title, language: r.sub_manager_lang as 'ru' | 'en' },
    sender: { name: r.sender_name, email: r.sender_email, replyTo: r.reply_to_email },
    observer: r.observer,
    phoneRegion: r.phone_region,
    cards: { prefix: r.card_prefix, length: r.card_length },
    emailsConsented: r.emails_consented,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** Validates what zod cannot (emails, region, consent) and maps the body to columns. */
function toColumns(b: Update, errs: FieldErrors) {
  const email = (field: string, v: string | null | undefined) => {
    if (v === undefined) return undefined;
    if (v === null || v === '') return null;
    const e = normalizeEmail(v);
    if (!e) errs.add(field, 'email_invalid', { value: v });
    return e;
  };
  let region: string | undefined;
  if (b.phoneRegion !== undefined) {
    region = b.phoneRegion.toUpperCase();
    if (!isSupportedCountry(region)) errs.add('phoneRegion', 'region_invalid', { value: b.phoneRegion });
  }
  if (b.emailsConsented === false) errs.add('emailsConsented', 'email_consent_required');
  return {
    name: b.name,
    description: b.description,
    tags: b.tags ? [...new Set(b.tags)] : undefined,
    access_group: b.accessGroup,
    sub_manager_title: b.subscriptionManager?.title,
    sub_manager_lang: b.subscriptionManager?.language,
    sender_name: b.sender?.name,
    sender_email: email('sender.email', b.sender?.email),
    reply_to_email: email('sender.replyTo', b.sender?.replyTo),
    observer: b.observer,
    phone_region: region,
    emails_consented: b.emailsConsented,
    card_prefix: b.cards?.prefix,
    card_length: b.cards?.length,
  };
}

function nameConflict(e: unknown, name: string | undefined): never {
  throw fromDb(e, { value: name ?? '' });
}

/** What a new base gets when the body says nothing (the column defaults). */
const CARD_DEFAULTS = { prefix: '', length: 13 };

/**
 * A generated card is prefix + at least one sequence digit + the check digit, so the
 * prefix is at most length - 2 long. Blames the setting the caller changed.
 */
function checkCards(prefix: string, length: number, cards: Update['cards'], errs: FieldErrors): void {
  if (prefix.length <= length - 2) return;
  if (cards?.prefix !== undefined) errs.add('cards.prefix', 'too_long', { max: Math.max(length - 2, 0) });
  else errs.add('cards.length', 'too_small', { min: prefix.length + 2 });
}

const definedOnly = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export async function createBase(db: Db, body: Create) {
  const errs = new FieldErrors();
  const cols = toColumns(body, errs);
  checkCards(cols.card_prefix ?? CARD_DEFAULTS.prefix, cols.card_length ?? CARD_DEFAULTS.length, body.cards, errs);
  errs.throwIfAny();
  try {
    return toBase(await repo.insertBase(db, { ...definedOnly(cols), name: body.name, emails_consented: true }));
  } catch (e) {
    nameConflict(e, body.name);
  }
}

export async function updateBase(db: Db, id: number, body: Update) {
  const errs = new FieldErrors();
  const cols = toColumns(body, errs);
  try {
    // The row lock keeps two concurrent changes (one of the prefix, one of the length) from combining badly.
    const base = await db.transaction().execute(async (trx) => {
      const cur = await repo.getBase(trx, id, { forUpdate: true });
      if (!cur) throw notFound('base', id);
      checkCards(cols.card_prefix ?? cur.card_prefix, cols.card_length ?? cur.card_length, body.cards, errs);
      errs.throwIfAny();
      const row = await repo.updateBase(trx, id, definedOnly(cols));
      if (!row) throw notFound('base', id);
      return toBase(row);
    });
    // Forgotten once committed: a search in between would otherwise remember the old region again.
    regions.delete(id);
    return base;
  } catch (e) {
    if (e instanceof AppError) throw e;
    nameConflict(e, body.name);
  }
}

/**
 * Bases' phone regions, remembered for a few seconds: a cashier pasting list after list should not
 * make every search also read the base (a third statement on a busy server). This process forgets a
 * base it changes or deletes at once; a change made by another server applies within REGION_TTL_MS.
 */
const REGION_TTL_MS = 5_000;
const regions = new Map<number, { region: string; at: number }>();

export async function phoneRegion(db: Db, baseId: number): Promise<string | undefined> {
  const hit = regions.get(baseId);
  if (hit && Date.now() - hit.at < REGION_TTL_MS) return hit.region;
  const base = await repo.getBase(db, baseId);
  if (!base) {
    regions.delete(baseId);
    return undefined;
  }
  regions.set(baseId, { region: base.phone_region, at: Date.now() });
  return base.phone_region;
}

export async function getBaseOrThrow(db: Db, id: number) {
  const row = await repo.getBase(db, id);
  if (!row) throw notFound('base', id);
  return row;
}

/** Deletes a base with everything in it, the uploaded and exported files too (they hold personal data). */
export async function deleteBase(db: Db, id: number, dataDir: string) {
  const files = await repo.baseFiles(db, id);
  if (!(await repo.deleteBase(db, id))) throw notFound('base', id);
  dropFacetIndex(id); // its in-memory count index goes with it
  regions.delete(id);
  for (const f of files) fs.rmSync(path.resolve(dataDir, f), { force: true });
}
