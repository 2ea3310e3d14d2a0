// What can be filtered on: every standard field, every custom field by its
// type, tags, segments. Each entry says its value type, its SQL expression and
// how to read the same value from a row (for the in-memory evaluator the tests
// compare SQL against). Later issues add fields (bonuses, RFM, consents) by
// adding entries here; the operators and the compiler stay as they are.
import { sql, type RawBuilder } from 'kysely';
import type { FieldDef } from '../fields/fields.schema.ts';
import { STANDARD_FIELDS, type StandardField } from '../fields/standard.ts';

export type FilterType =
  | 'text' // folded (case- and ё-insensitive) comparisons: names, city, point of sale
  | 'exact' // identifiers compared as stored: extra keys, UTM, referral, car number
  | 'phone'
  | 'email'
  | 'card'
  | 'enum'
  | 'date'
  | 'birthDate'
  | 'datetime'
  | 'number'
  | 'boolean'
  | 'customText'
  | 'list'
  | 'ip'
  | 'valueTags'
  | 'tags'
  | 'segment'
  | 'fullName';

/** A row as the evaluator sees it: snake_case columns as stored, plus tags and fields. */
export type Row = Record<string, unknown> & { fields: Record<string, unknown>; tags: number[] };

export interface FilterField {
  key: string;
  type: FilterType;
  /** SQL expression over the alias `p` (profiles). Only trusted text goes here, never user input. */
  expr: RawBuilder<unknown>;
  /** The same value read from a row. */
  read(row: Row): unknown;
  /** For custom fields: the jsonb key. */
  jsonKey?: string;
  /** For standard fields read from one column: its name. */
  column?: string;
  values?: readonly string[];
  label: { ru: string; en: string };
}

const col = (c: string, type: FilterType, key: string, label: { ru: string; en: string }, values?: readonly string[]): FilterField => ({
  key,
  column: c,
  type,
  expr: sql.raw(`p.${c}`),
  read: (r) => r[c] ?? null,
  label,
  ...(values ? { values } : {}),
});

const standardCol = (f: StandardField) => col(f.column, f.filter, f.key, f.label, f.values);

/** The standard filter fields, by API key. */
export const STANDARD_FILTER_FIELDS: readonly FilterField[] = [
  { ...col('id', 'number', 'id', { ru: 'ID', en: 'ID' }) },
  standardCol(STANDARD_FIELDS.find((f) => f.key === 'kind')!),
  {
    key: 'fullName',
    type: 'fullName',
    // NULL when there is no name at all (concat_ws alone would give '', never empty to isEmpty)
    expr: sql.raw(`kt_fold(nullif(concat_ws(' ', p.last_name, p.first_name, p.middle_name), ''))`),
    read: (r) => [r.last_name, r.first_name, r.middle_name].filter((x) => x !== null && x !== undefined).join(' '),
    label: { ru: 'ФИО', en: 'Full name' },
  },
  ...STANDARD_FIELDS.filter((f) => f.key !== 'kind').map(standardCol),
  { key: 'tags', type: 'tags', expr: sql.raw('p.tags'), read: (r) => r.tags, label: { ru: 'Теги', en: 'Tags' } },
  { key: 'segment', type: 'segment', expr: sql.raw('p.id'), read: (r) => r.id, label: { ru: 'Сегменты', en: 'Segments' } },
];

const CUSTOM_TYPE: Record<FieldDef['type'], FilterType> = {
  int: 'number',
  float: 'number',
  string: 'customText',
  date: 'date',
  boolean: 'boolean',
  list: 'list',
  ip: 'ip',
  tags: 'valueTags',
};

/** A custom field as a filter field: `fields.<key>`. Keys are validated identifiers, safe as SQL literals. */
export function customFilterField(d: FieldDef): FilterField {
  if (!/^[a-z][A-Za-z0-9_]{0,62}$/.test(d.key)) throw new Error(`unsafe field key ${d.key}`);
  return {
    key: `fields.${d.key}`,
    type: CUSTOM_TYPE[d.type],
    expr: sql.raw(`(p.fields -> '${d.key}')`),
    read: (r) => r.fields[d.key] ?? null,
    jsonKey: d.key,
    ...(d.type === 'list' ? { values: d.options } : {}),
    label: d.label,
  };
}

export function filterFieldMap(defs: Iterable<FieldDef>): Map<string, FilterField> {
  const m = new Map(STANDARD_FILTER_FIELDS.map((f) => [f.key, f]));
  for (const d of defs) m.set(`fields.${d.key}`, customFilterField(d));
  return m;
}

/** Which operators each type accepts. */
export const OPS_BY_TYPE: Record<FilterType, readonly string[]> = {
  text: ['eq', 'ne', 'in', 'notIn', 'contains', 'startsWith', 'isEmpty', 'isNotEmpty'],
  exact: ['eq', 'ne', 'in', 'notIn', 'contains', 'startsWith', 'isEmpty', 'isNotEmpty'],
  phone: ['eq', 'ne', 'in', 'notIn', 'contains', 'startsWith', 'isEmpty', 'isNotEmpty'],
  email: ['eq', 'ne', 'in', 'notIn', 'contains', 'startsWith', 'isEmpty', 'isNotEmpty'],
  card: ['eq', 'ne', 'in', 'notIn', 'contains', 'startsWith', 'isEmpty', 'isNotEmpty'],
  enum: ['eq', 'ne', 'in', 'notIn', 'isEmpty', 'isNotEmpty'],
  date: ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'isEmpty', 'isNotEmpty', 'withinLastDays', 'olderThanDays'],
  birthDate: [
    'eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'isEmpty', 'isNotEmpty', 'withinLastDays', 'olderThanDays',
    'birthdayInNextDays', 'birthdayThisMonth', 'birthMonthIn',
  ],
  datetime: ['gt', 'gte', 'lt', 'lte', 'between', 'withinLastDays', 'olderThanDays'],
  number: ['eq', 'ne', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'between', 'isEmpty', 'isNotEmpty'],
  boolean: ['eq', 'isEmpty', 'isNotEmpty'],
  customText: ['eq', 'ne', 'in', 'notIn', 'contains', 'startsWith', 'isEmpty', 'isNotEmpty'],
  list: ['eq', 'ne', 'in', 'notIn', 'isEmpty', 'isNotEmpty'],
  ip: ['eq', 'ne', 'in', 'notIn', 'isEmpty', 'isNotEmpty'],
  valueTags: ['hasAny', 'hasAll', 'hasNone', 'isEmpty', 'isNotEmpty'],
  tags: ['hasAny', 'hasAll', 'hasNone', 'isEmpty', 'isNotEmpty'],
  segment: ['inSegment', 'notInSegment'],
  fullName: ['contains', 'startsWith', 'isEmpty', 'isNotEmpty'],
};
