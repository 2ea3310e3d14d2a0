// The demo base: a clearly named base with generated Russian clients, so a new
// installation has something to look at. Rows go in as multi-row INSERTs.
import type { Db } from '../db/db.ts';
import type { NewProfileRow } from '../db/schema.ts';
import { insertField } from '../fields/fields.service.ts';
import { CATEGORIES, generateProfiles, TAGS } from '../generate/generate.ts';

export const DEMO_NAME = 'Демо';

async function freeName(db: Db): Promise<string> {
  const names = new Set((await db.selectFrom('bases').select('name').execute()).map((r) => r.name.toLowerCase()));
  if (!names.has(DEMO_NAME.toLowerCase())) return DEMO_NAME;
  for (let i = 2; ; i++) if (!names.has(`${DEMO_NAME} ${i}`.toLowerCase())) return `${DEMO_NAME} ${i}`;
}

export async function createDemoBase(
  db: Db,
  opts: { profiles: number; seed?: number; onProgress?: (done: number) => void },
): Promise<{ baseId: number; name: string; profiles: number }> {
  const name = await freeName(db);
  const base = await db
    .insertInto('bases')
    .values({
      name,
      description: 'Демонстрационная база со сгенерированными клиентами. Её можно удалить.',
      tags: ['demo'],
      emails_consented: true,
      sender_name: 'Картотека',
      card_prefix: '2',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const baseId = base.id;
  const field = (key: string, type: 'int' | 'list', ru: string, en: string, extra: { listMode?: 'static' | 'free'; options?: string[] } = {}) =>
    insertField(db, baseId, {
      key,
      type,
      label: { ru, en },
      required: false,
      default: null,
      listMode: extra.listMode ?? null,
      options: extra.options ?? [],
      showInSubscriptionManager: false,
      position: 0,
    });
  await field('loyaltyScore', 'int', 'Оценка', 'Score');
  await field('favoriteCategory', 'list', 'Любимая категория', 'Favourite category', { listMode: 'static', options: [...CATEGORIES] });
  await field('visits', 'int', 'Визиты', 'Visits');
  const COLOURS = ['#e03131', '#2f9e44', '#1971c2', '#f08c00', '#868e96', '#9c36b5', '#0c8599', '#5c940d'];
  const tagIds = new Map<string, number>();
  for (const [i, name] of TAGS.entries()) {
    const t = await db.insertInto('tags').values({ base_id: baseId, name, color: COLOURS[i % COLOURS.length]! }).returning('id').executeTakeFirstOrThrow();
    tagIds.set(name, t.id);
  }

  const BATCH = 1000;
  let batch: NewProfileRow[] = [];
  let done = 0;
  const flush = async () => {
    if (!batch.length) return;
    await db.insertInto('profiles').values(batch).execute();
    done += batch.length;
    batch = [];
    opts.onProgress?.(done);
  };
  // A few generated rows have no phone, card or email (neither member nor subscriber): skip them and
  // draw more, so the base gets exactly the number asked for.
  let wanted = opts.profiles;
  for (const p of generateProfiles(opts.profiles + Math.ceil(opts.profiles / 100) + 10, { seed: opts.seed ?? 1 })) {
    if (wanted === 0) break;
    const fields: Record<string, unknown> = { visits: p.fields.visits };
    if (p.fields.loyaltyScore !== null) fields.loyaltyScore = p.fields.loyaltyScore;
    if (p.fields.favoriteCategory !== null) fields.favoriteCategory = p.fields.favoriteCategory;
    const member = !!(p.phone || p.cardNumber);
    if (!member && !p.email) continue;
    wanted--;
    batch.push({
      base_id: baseId,
      kind: member ? 'member' : 'subscriber',
      phone: p.phone,
      email: p.email,
      card_number: p.cardNumber,
      last_name: p.lastName,
      first_name: p.firstName,
      middle_name: p.middleName,
      birth_date: p.birthDate,
      gender: p.gender,
      city: p.city,
      car_number: p.carNumber,
      reg_source: p.registrationSource,
      point_of_sale: p.pointOfSale,
      utm_source: p.utmSource,
      utm_medium: p.utmMedium,
      utm_campaign: p.utmCampaign,
      fields: JSON.stringify(fields),
      tags: p.tags.map((t) => tagIds.get(t)!).sort((a, b) => a - b),
    });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return { baseId, name, profiles: done };
}
