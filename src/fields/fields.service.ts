import type { z } from 'zod';
import { getBase } from '../bases/bases.service.ts';
import type { Db } from '../db/db.ts';
import { AppError, FieldErrors, invalidField, notFound, fromDb } from '../errors/errors.ts';
import type { MessageKey, MessageParams } from '../errors/errors.ts';
import { normalizeIp, parseDate } from '../profiles/normalize.ts';
import * as repo from './fields.repo.ts';
import type { CustomValue, FieldCreateBody, FieldDef, FieldOut, FieldUpdateBody } from './fields.schema.ts';
import { STANDARD_FIELDS, STANDARD_KEYS } from './standard.ts';

// Other domains reach field definitions through this service (issue 10), never fields.repo.
export { addListOptions, insertField, listFields, toFieldDef } from './fields.repo.ts';

export type Coerced = { ok: true; value: CustomValue | null } | { ok: false; key: MessageKey; params?: MessageParams };

const MAX_STRING = 10_000;
const TRUE = new Set(['true', '1', 'yes', 'y', 'да', 'д', 'on', '+']);
const FALSE = new Set(['false', '0', 'no', 'n', 'нет', 'н', 'off', '-']);
const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v)).slice(0, 100);

/**
 * Converts an incoming value (JSON, or a string from a file) to the field's stored
 * form. null and '' clear the value. The same rules check a type change.
 */
export function coerceValue(def: Pick<FieldDef, 'type' | 'listMode' | 'options'>, raw: unknown): Coerced {
  if (raw === null || raw === undefined || (typeof raw === 'string' && raw.trim() === '')) return { ok: true, value: null };
  const fail = (key: MessageKey, extra: MessageParams = {}): Coerced => ({ ok: false, key, params: { value: show(raw), ...extra } });
  switch (def.type) {
    case 'int': {
      if (typeof raw === 'number') return Number.isSafeInteger(raw) ? { ok: true, value: raw } : fail('field_int');
      if (typeof raw !== 'string') return fail('field_int');
      const s = raw.replace(/[\s\u00a0]/g, '');
      if (!/^[+-]?\d{1,15}$/.test(s)) return fail('field_int');
      return { ok: true, value: Number(s) };
    }
    case 'float': {
      if (typeof raw === 'number') return Number.isFinite(raw) ? { ok: true, value: raw } : fail('field_float');
      if (typeof raw !== 'string') return fail('field_float');
      const s = raw.replace(/[\s\u00a0]/g, '').replace(',', '.');
      if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return fail('field_float');
      const n = Number(s);
      return Number.isFinite(n) ? { ok: true, value: n } : fail('field_float');
    }
    case 'string': {
      const s = Array.isArray(raw) ? raw.map(String).join(', ') : typeof raw === 'object' ? null : String(raw).trim();
      if (s === null || s.length > MAX_STRING) return { ok: false, key: 'field_string', params: { max: MAX_STRING } };
      return { ok: true, value: s };
    }
    case 'date': {
      if (typeof raw !== 'string') return fail('field_date');
      const d = parseDate(raw);
      return d ? { ok: true, value: d } : fail('field_date');
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { ok: true, value: raw };
      if (typeof raw !== 'string' && typeof raw !== 'number') return fail('field_boolean');
      const s = String(raw).trim().toLowerCase();
      if (TRUE.has(s)) return { ok: true, value: true };
      if (FALSE.has(s)) return { ok: true, value: false };
      return fail('field_boolean');
    }
    case 'list': {
      if (typeof raw !== 'string' && typeof raw !== 'number') return { ok: false, key: 'field_list_value' };
      const s = String(raw).trim().replace(/\s+/g, ' ');
      if (s.length > 200) return { ok: false, key: 'too_long', params: { max: 200 } };
      // A known option keeps its spelling (free lists too, so options never hold "Москва" and "москва").
      const hit = def.options.find((o) => o.toLowerCase() === s.toLowerCase());
      if (def.listMode === 'free') return { ok: true, value: hit ?? s };
      return hit !== undefined ? { ok: true, value: hit } : fail('field_list_option', { options: def.options.join(', ').slice(0, 300) });
    }
    case 'ip': {
      if (typeof raw !== 'string') return fail('field_ip');
      const ip = normalizeIp(raw);
      return ip ? { ok: true, value: ip } : fail('field_ip');
    }
    case 'tags': {
      const parts = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[,;]/) : null;
      if (!parts || parts.some((p) => typeof p !== 'string' && typeof p !== 'number')) return { ok: false, key: 'field_tags' };
      const tags = [...new Set(parts.map((p) => String(p).trim().replace(/\s+/g, ' ')).filter(Boolean))];
      if (tags.length > 100 || tags.some((x) => x.length > 100)) return { ok: false, key: 'field_tags' };
      // No tags is no value: it clears the field and does not satisfy `required`.
      return { ok: true, value: tags.length ? tags : null };
    }
  }
}

type FieldOutT = z.infer<typeof FieldOut>;

export function customToOut(d: FieldDef): FieldOutT {
  return { ...d, standard: false, setOnce: false, readOnly: false };
}

export function standardToOut(): FieldOutT[] {
  return STANDARD_FIELDS.map((f, i) => ({
    key: f.key,
    type: f.type,
    standard: true,
    label: f.label,
    required: false,
    default: null,
    listMode: null,
    options: f.values ? [...f.values] : [],
    showInSubscriptionManager: ['email', 'firstName', 'lastName', 'phone'].includes(f.key),
    position: i,
    setOnce: f.setOnce ?? false,
    readOnly: f.readOnly ?? false,
  }));
}

/** A listed standard field (reserved names such as `id` are no field at all: 404). */
const isStandardField = (key: string) => STANDARD_FIELDS.some((f) => f.key === key);

async function requireBase(db: Db, baseId: number) {
  const base = await getBase(db, baseId);
  if (!base) throw notFound('base', baseId);
  return base;
}

/** Checks a complete definition; reports every problem at once. */
function checkDefinition(d: FieldDef): void {
  const errs = new FieldErrors();
  if (d.type === 'list') {
    if (!d.listMode) errs.add('listMode', 'list_mode_required');
    else if (d.listMode === 'static' && d.options.length === 0) errs.add('options', 'list_options_required');
  } else {
    if (d.listMode) errs.add('listMode', 'list_only');
    if (d.options.length) errs.add('options', 'list_only');
  }
  if (d.default !== null && !(d.type === 'list' && !d.listMode)) {
    const c = coerceValue(d, d.default);
    if (!c.ok) errs.add('default', c.key, c.params);
    else d.default = c.value;
  }
  errs.throwIfAny();
}

export async function listAllFields(db: Db, baseId: number): Promise<FieldOutT[]> {
  await requireBase(db, baseId);
  return [...standardToOut(), ...(await repo.listFields(db, baseId)).map(customToOut)];
}

export async function createField(db: Db, baseId: number, body: z.infer<typeof FieldCreateBody>): Promise<FieldOutT> {
  await requireBase(db, baseId);
  if (STANDARD_KEYS.has(body.key)) throw invalidField('key', 'field_key_standard', { key: body.key });
  if (!/^[a-z][A-Za-z0-9_]{0,62}$/.test(body.key)) throw invalidField('key', 'field_key_invalid');
  const def: FieldDef = {
    key: body.key,
    type: body.type,
    label: { ru: body.label.ru, en: body.label.en },
    required: body.required,
    default: body.default ?? null,
    listMode: body.type === 'list' ? (body.listMode ?? null) : (body.listMode ?? null),
    options: dedupe(body.options ?? []),
    showInSubscriptionManager: body.showInSubscriptionManager,
    position: body.position,
  };
  checkDefinition(def);
  try {
    await repo.insertField(db, baseId, def);
  } catch (e) {
    throw fromDb(e, { value: body.key });
  }
  return customToOut(def);
}

/** Options are unique regardless of case; the first spelling given wins. */
const dedupe = (xs: string[]) => xs.filter((x, i) => xs.findIndex((y) => y.toLowerCase() === x.toLowerCase()) === i);

/**
 * Updates labels, default, required, options, position; the key never changes.
 * A type change (or narrowing a list) converts every stored value or changes nothing.
 */
export async function updateField(db: Db, baseId: number, key: string, body: z.infer<typeof FieldUpdateBody>): Promise<FieldOutT> {
  await requireBase(db, baseId);
  if (isStandardField(key)) throw invalidField(body.type ? 'type' : 'key', 'standard_fixed');
  if (body.key !== undefined && body.key !== key) throw invalidField('key', 'field_key_immutable');
  return db.transaction().execute(async (trx) => {
    const cur = await repo.getField(trx, baseId, key, { forUpdate: true });
    if (!cur) throw notFound('field', key);
    const next: FieldDef = {
      ...cur,
      type: body.type ?? cur.type,
      label: { ru: body.label?.ru ?? cur.label.ru, en: body.label?.en ?? cur.label.en },
      required: body.required ?? cur.required,
      default: body.default !== undefined ? body.default : cur.default,
      listMode: body.listMode ?? ((body.type ?? cur.type) === 'list' ? cur.listMode : null),
      options: body.options ? dedupe(body.options) : (body.type ?? cur.type) === 'list' ? cur.options : [],
      showInSubscriptionManager: body.showInSubscriptionManager ?? cur.showInSubscriptionManager,
      position: body.position ?? cur.position,
    };
    if (next.type === 'list' && next.listMode === 'free' && cur.listMode === 'free' && !body.options) next.options = cur.options;
    checkDefinition(next);
    const valuesMayBreak = next.type !== cur.type || (next.type === 'list' && next.listMode === 'static');
    if (valuesMayBreak) {
      const pairs: { from: unknown; to: unknown }[] = [];
      let bad = 0;
      let example: unknown;
      for (const { value, n } of await repo.distinctValues(trx, baseId, key)) {
        const c = coerceValue(next, value);
        // A field that becomes a free list offers the values profiles already hold, one spelling each,
        // as if they had just been written (coerceValue maps later case variants to the first one).
        if (c.ok && next.listMode === 'free' && typeof c.value === 'string' && !next.options.includes(c.value)) next.options.push(c.value);
        if (!c.ok) {
          bad += n;
          example ??= value;
        } else if (JSON.stringify(c.value) !== JSON.stringify(value)) pairs.push({ from: value, to: c.value });
      }
      if (bad > 0) {
        throw new AppError('conflict', {
          detail: 'conflict.type_change',
          errors: [{ field: 'type', key: 'field_type_convert', params: { count: bad, type: next.type, example: show(example) } }],
        });
      }
      await repo.rewriteValues(trx, baseId, key, pairs);
    }
    await repo.updateField(trx, baseId, next);
    return customToOut(next);
  });
}

export async function deleteField(db: Db, baseId: number, key: string): Promise<void> {
  await requireBase(db, baseId);
  if (isStandardField(key)) throw invalidField('key', 'standard_fixed');
  const ok = await db.transaction().execute((trx) => repo.deleteField(trx, baseId, key));
  if (!ok) throw notFound('field', key);
}
