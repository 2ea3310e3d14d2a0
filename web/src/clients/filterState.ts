// The filter builder's state and its translation to and from the API's filter tree. One level of
// groups, as staff build filters ("city is Москва AND (birthday this month OR tag VIP)"); a saved
// filter deeper than that still applies, it just cannot be edited here (fromApi gives null).
// Pure, so the component tests check it without a browser.

export interface FieldMeta {
  field: string;
  type: string;
  ops: string[];
  values?: string[];
}
export interface Cond {
  kind: 'cond';
  field: string;
  op: string;
  /** Typed text (one value, "a, b" for lists, "a .. b" for between). */
  value: string;
  /** Ticked values, for fields shown as checkboxes. */
  values: string[];
}
export interface Group {
  kind: 'group';
  join: 'and' | 'or';
  items: Cond[];
}
export interface BuilderState {
  join: 'and' | 'or';
  items: (Cond | Group)[];
}
export type ApiFilter = { and: ApiFilter[] } | { or: ApiFilter[] } | { not: ApiFilter } | { field: string; op: string; value?: unknown };

export const NO_VALUE = new Set(['isEmpty', 'isNotEmpty', 'birthdayThisMonth']);
export const LIST_OPS = new Set(['in', 'notIn', 'hasAny', 'hasAll', 'hasNone', 'birthMonthIn']);
const DAY_OPS = new Set(['withinLastDays', 'olderThanDays', 'birthdayInNextDays']);
const DATE_TYPES = new Set(['date', 'birthDate', 'datetime']);
/** Fields whose values are a known set: picked with checkboxes (with counts where the API gives them). */
const CHECKBOX_TYPES = new Set(['list', 'enum', 'tags', 'valueTags']);

export const isCheckboxCond = (c: Cond, f: FieldMeta | undefined) => !!f && CHECKBOX_TYPES.has(f.type) && LIST_OPS.has(c.op);

/** A new condition on a field, with the operator a user most likely wants. */
export function newCond(f: FieldMeta): Cond {
  const prefer = CHECKBOX_TYPES.has(f.type) ? ['in', 'hasAny'] : f.type === 'fullName' ? ['contains'] : ['eq', 'contains', 'gte'];
  const op = prefer.find((o) => f.ops.includes(o)) ?? f.ops[0] ?? 'eq';
  return { kind: 'cond', field: f.field, op, value: '', values: [] };
}

/** 05.03.2026 → 2026-03-05; anything else as typed (the API names what is wrong with it). */
const isoDate = (v: string) => {
  const m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(v.trim());
  return m ? `${m[3]}-${m[2]!.padStart(2, '0')}-${m[1]!.padStart(2, '0')}` : v.trim();
};

function scalar(c: Cond, f: FieldMeta | undefined, v: string): unknown {
  if (DAY_OPS.has(c.op) || c.op === 'birthMonthIn' || f?.type === 'number') {
    const n = Number(v.replace(/\s/g, '').replace(',', '.'));
    return v.trim() === '' || Number.isNaN(n) ? v.trim() : n;
  }
  if (f?.type === 'tags') return Number(v);
  if (f?.type === 'boolean') return v === 'true';
  if (f && DATE_TYPES.has(f.type)) return isoDate(v);
  return v.trim();
}

export function condToApi(c: Cond, f: FieldMeta | undefined): ApiFilter {
  if (NO_VALUE.has(c.op)) return { field: c.field, op: c.op };
  if (LIST_OPS.has(c.op)) {
    const raw = isCheckboxCond(c, f) ? c.values : c.value.split(/[,;\n]/).map((x) => x.trim()).filter(Boolean);
    return { field: c.field, op: c.op, value: raw.map((x) => scalar(c, f, x)) };
  }
  if (c.op === 'between') return { field: c.field, op: c.op, value: c.value.split(/\.\.|[;–—]/).map((x) => scalar(c, f, x)) };
  return { field: c.field, op: c.op, value: scalar(c, f, c.value) };
}

/** The API's filter for the builder, or null when it is empty. */
export function toApi(s: BuilderState, fields: Map<string, FieldMeta>): ApiFilter | null {
  const parts = s.items.map((it) => (it.kind === 'cond' ? condToApi(it, fields.get(it.field)) : ({ [it.join]: it.items.map((c) => condToApi(c, fields.get(c.field))) } as ApiFilter)));
  if (!parts.length) return null;
  return parts.length === 1 ? parts[0]! : ({ [s.join]: parts } as ApiFilter);
}

function condFromApi(n: ApiFilter, fields: Map<string, FieldMeta>): Cond | null {
  if (!('field' in n)) return null;
  const f = fields.get(n.field);
  const c: Cond = { kind: 'cond', field: n.field, op: n.op, value: '', values: [] };
  const show = (v: unknown) => (f && DATE_TYPES.has(f.type) && typeof v === 'string' && /^\d{4}-\d\d-\d\d$/.test(v) ? v.split('-').reverse().join('.') : String(v));
  if (Array.isArray(n.value)) {
    if (isCheckboxCond(c, f)) c.values = n.value.map(String);
    else c.value = n.value.map(show).join(n.op === 'between' ? ' .. ' : ', ');
  } else if (n.value !== undefined) c.value = show(n.value);
  return c;
}

/** The builder's state for a saved filter, or null when it is deeper than the builder shows. */
export function fromApi(n: ApiFilter | null | undefined, fields: Map<string, FieldMeta>): BuilderState | null {
  if (!n) return { join: 'and', items: [] };
  const join = 'and' in n ? 'and' : 'or' in n ? 'or' : null;
  const top = join ? (n as Record<string, ApiFilter[]>)[join]! : [n];
  const items: (Cond | Group)[] = [];
  for (const part of top) {
    const inner = 'and' in part ? 'and' : 'or' in part ? 'or' : null;
    if (inner) {
      const conds = (part as Record<string, ApiFilter[]>)[inner]!.map((x) => condFromApi(x, fields));
      if (conds.some((x) => x === null)) return null;
      items.push({ kind: 'group', join: inner, items: conds as Cond[] });
    } else {
      const c = condFromApi(part, fields);
      if (!c) return null;
      items.push(c);
    }
  }
  return { join: join ?? 'and', items };
}

/** Changes one condition: top-level at [i], or inside a group at [i, k]; null removes it (an emptied group goes too). */
export function updateCond(s: BuilderState, at: [number] | [number, number], next: Cond | null): BuilderState {
  const [i, k] = at;
  if (k === undefined) return { ...s, items: next ? s.items.map((x, j) => (j === i ? next : x)) : s.items.filter((_, j) => j !== i) };
  const g = s.items[i];
  if (!g || g.kind !== 'group') return s;
  const items = next ? g.items.map((x, m) => (m === k ? next : x)) : g.items.filter((_, m) => m !== k);
  return { ...s, items: items.length ? s.items.map((x, j) => (j === i ? { ...g, items } : x)) : s.items.filter((_, j) => j !== i) };
}

/** A condition changes field: the operator and values start over for that field. */
export function changeField(c: Cond, f: FieldMeta): Cond {
  return c.field === f.field ? c : newCond(f);
}

/** A condition changes operator: ticked values stay while the new operator also takes a list. */
export function changeOp(c: Cond, op: string): Cond {
  return { ...c, op, values: LIST_OPS.has(op) ? c.values : [] };
}

/** The groups of the field list, in the order the builder shows them. */
export const FIELD_GROUPS = ['personal', 'ids', 'reg', 'utm', 'custom', 'tags'] as const;
export type FieldGroup = (typeof FIELD_GROUPS)[number];

/** Where a field sits in the builder's list: personal data, identifiers, registration, UTM, custom fields, tags and segments. */
export function fieldGroup(field: string): FieldGroup {
  if (field.startsWith('fields.')) return 'custom';
  if (['lastName', 'firstName', 'middleName', 'fullName', 'birthDate', 'gender', 'city'].includes(field)) return 'personal';
  if (['phone', 'email', 'cardNumber', 'carNumber', 'id'].includes(field) || field.startsWith('extraKey')) return 'ids';
  if (field.startsWith('utm') || field === 'referralId') return 'utm';
  if (field === 'tags' || field === 'segment') return 'tags';
  return 'reg';
}

/** How a filter reads in one line: «Город равно Москва И (день рождения в этом месяце ИЛИ Теги есть любой из VIP)». */
export function summarize(
  n: ApiFilter,
  words: { field: (f: string, op: string) => string; op: (op: string) => string; value: (field: string, v: unknown) => string; and: string; or: string; not: string },
  top = true,
): string {
  if ('and' in n || 'or' in n) {
    const join = 'and' in n ? 'and' : 'or';
    const parts = (n as Record<string, ApiFilter[]>)[join]!.map((x) => summarize(x, words, false));
    const text = parts.join(` ${words[join]} `);
    return top || parts.length < 2 ? text : `(${text})`;
  }
  if ('not' in n) return `${words.not} ${summarize(n.not, words, false)}`;
  const v = n.value === undefined ? '' : Array.isArray(n.value) ? n.value.map((x) => words.value(n.field, x)).join(', ') : words.value(n.field, n.value);
  return [words.field(n.field, n.op), words.op(n.op), v].filter(Boolean).join(' ');
}
