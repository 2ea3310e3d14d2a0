// The client card's form as data (pure functions, tested without a browser): a profile becomes a
// draft of input values keyed as the API names its fields (`city`, `fields.level`); the user's edits
// are kept apart from it, so a refetched profile never wipes them; what differs from the profile
// becomes one PATCH body, custom fields under `fields`.
import type { Req, Res } from '../shared/api.ts';
import { formatDate, formatPhone } from '../shared/format.ts';

export type Profile = Res<'GET /bases/{baseId}/profiles/{id}'>;
export type FieldDef = Res<'GET /bases/{baseId}/fields'>['items'][number];
export type Patch = Req<'PATCH /bases/{baseId}/profiles/{id}'>;
/** One input's value: text, a number (or '' while empty), a checkbox, the values of a tags field. */
export type DraftValue = string | number | boolean | string[];
export type Draft = Record<string, DraftValue>;

export const PERSONAL = ['lastName', 'firstName', 'middleName', 'birthDate', 'gender', 'city'] as const;
export const IDENTIFIERS = ['phone', 'email', 'cardNumber', 'carNumber'] as const;
export const EXTRA_KEYS = ['extraKey1', 'extraKey2', 'extraKey3', 'extraKey4', 'extraKey5', 'extraKey6'] as const;
export const UTM = ['utmSource', 'utmMedium', 'utmCampaign', 'utmContent', 'utmTerm', 'referralId'] as const;
/** Every standard field the card edits (registrationSource is shown, not edited). */
export const STANDARD = [...PERSONAL, ...IDENTIFIERS, ...EXTRA_KEYS, 'pointOfSale', ...UTM] as const;
export type StandardKey = (typeof STANDARD)[number];

/** The custom fields of a base in their order. */
/** A field's definition by its API path (`city`, `fields.level`): standard and custom keys may coincide. */
export const defOf = (defs: readonly FieldDef[] | undefined, path: string): FieldDef | undefined => {
  const custom = path.startsWith('fields.');
  const key = custom ? path.slice('fields.'.length) : path;
  return defs?.find((d) => d.key === key && d.standard === !custom);
};

/** A field's label by its API path in `lang`, as the API's field list names it (the key when unknown). */
export const fieldLabel = (defs: readonly FieldDef[] | undefined, path: string, lang: 'ru' | 'en'): string => {
  const d = defOf(defs, path);
  return d ? d.label[lang] || d.label.ru || d.key : path.replace(/^fields\./, '');
};

export const customDefs = (defs: readonly FieldDef[]) => defs.filter((d) => !d.standard).sort((a, b) => a.position - b.position);

/** A stored custom value as its input shows it. */
export function customDraft(def: Pick<FieldDef, 'type'>, v: unknown): DraftValue {
  switch (def.type) {
    case 'int':
    case 'float':
      return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : '';
    case 'boolean':
      return v === true;
    case 'date':
      return typeof v === 'string' ? formatDate(v) : '';
    case 'tags':
      return Array.isArray(v) ? v.map(String) : typeof v === 'string' && v ? [v] : [];
    default:
      return v === null || v === undefined ? '' : String(v);
  }
}

/** The profile as the card's inputs show it: dates as ДД.ММ.ГГГГ, the phone as +7 916 123-45-67, empty values as ''. */
export function draftOf(p: Profile, defs: readonly FieldDef[]): Draft {
  const d: Draft = {};
  for (const k of STANDARD) d[k] = k === 'birthDate' ? formatDate(p.birthDate) : k === 'phone' ? formatPhone(p.phone) : (p[k] ?? '');
  for (const def of customDefs(defs)) d[`fields.${def.key}`] = customDraft(def, p.fields[def.key]);
  return d;
}

/** The new-client form's inputs: empty, custom fields at their defaults (the API stores those when a field is not sent). */
export function emptyDraft(defs: readonly FieldDef[]): Draft {
  const d: Draft = {};
  for (const k of STANDARD) d[k] = '';
  for (const def of customDefs(defs)) d[`fields.${def.key}`] = customDraft(def, def.default);
  return d;
}

/** Equal as the API would store them: surrounding spaces do not count. */
const norm = (v: DraftValue | undefined) => JSON.stringify(typeof v === 'string' ? v.trim() : (v ?? ''));
export const same = (a: DraftValue | undefined, b: DraftValue | undefined) => norm(a) === norm(b);

/** The keys whose edited value differs from the profile's. */
export const changedKeys = (initial: Draft, edits: Draft) => Object.keys(edits).filter((k) => k in initial && !same(edits[k], initial[k]));

/** An input's value as the API takes it: empty is null (clears the field); text is sent as typed. */
function apiValue(v: DraftValue): unknown {
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
  if (Array.isArray(v)) return v.length ? v : null;
  return v;
}

/** One PATCH body with only the changed fields; custom ones under `fields`. */
export function patchOf(initial: Draft, edits: Draft): Patch {
  const body: Record<string, unknown> = {};
  const fields: Record<string, unknown> = {};
  for (const k of changedKeys(initial, edits)) {
    const v = apiValue(edits[k]!);
    if (k.startsWith('fields.')) fields[k.slice('fields.'.length)] = v;
    else body[k] = v;
  }
  if (Object.keys(fields).length) body.fields = fields;
  return body as Patch;
}

/** A profile's full name, or null when it has none (the card then shows the phone or email). */
export function displayName(p: { lastName?: string | null; firstName?: string | null; middleName?: string | null }): string | null {
  const name = [p.lastName, p.firstName, p.middleName].filter(Boolean).join(' ').trim();
  return name || null;
}

/** An event's change of one field: `{ from, to }` for updates, the bare value at creation. */
export function fromTo(v: unknown): { from: unknown; to: unknown } | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && 'from' in v && 'to' in v ? (v as { from: unknown; to: unknown }) : null;
}

/** Tag ids added and removed between two lists. */
export function tagDiff(from: unknown, to: unknown): { added: number[]; removed: number[] } {
  const a = Array.isArray(from) ? from.map(Number) : [];
  const b = Array.isArray(to) ? to.map(Number) : [];
  return { added: b.filter((x) => !a.includes(x)), removed: a.filter((x) => !b.includes(x)) };
}
