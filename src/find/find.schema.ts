import { z } from 'zod';
import { ProfileOut } from '../profiles/profiles.schema.ts';
import { OPS_BY_TYPE } from './filter.fields.ts';

const opsDoc = Object.entries(OPS_BY_TYPE)
  .map(([type, ops]) => `- ${type}: ${ops.join(', ')}`)
  .join('\n');

export const FILTER_DOC = `A filter is a tree of groups and conditions:

    Filter    = { "and": [Filter, ...] } | { "or": [Filter, ...] } | { "not": Filter } | Condition
    Condition = { "field": string, "op": string, "value"?: any }

Fields: every standard field by its API name (lastName, phone, birthDate, city, utmSource, createdAt, …),
"fullName" (ФИО), every custom field as "fields.<key>", "tags" (tag ids), "segment" (segment id).
Operators by field type (GET /api/v1/bases/{baseId}/filter-fields lists each field's type and operators):
${opsDoc}

Values: in/notIn/hasAny/hasAll/hasNone take a list; between takes [from, to] (inclusive); withinLastDays,
olderThanDays and birthdayInNextDays take a number of days; birthMonthIn takes month numbers; isEmpty,
isNotEmpty and birthdayThisMonth take none. Text comparisons on names, city and point of sale ignore case and
ё/е; custom text fields compare exactly with eq, and ignore case with contains. ne and notIn include profiles
where the field is empty. Phones, emails and card numbers are normalized as on write. A mistake is a 400 that
names the exact path, e.g. filter.and[1].or[0].value. At most 10 levels and 200 conditions.
Dates and times are UTC. On createdAt/updatedAt a value is a span: a bare date (2026-03-10) is that whole day,
an instant is its millisecond; gt means after the span, gte from its start, lt before it, lte up to its end.

Example: {"and": [{"field": "lastName", "op": "startsWith", "value": "Иванов"},
  {"field": "phone", "op": "startsWith", "value": "+7916"},
  {"or": [{"field": "tags", "op": "hasAny", "value": [1]}, {"field": "birthDate", "op": "birthdayThisMonth"}]}]}`;

const Values = z.union([z.string().max(200_000), z.array(z.string().max(1000)).max(10_000)]);

export const QueryBody = {
  q: Values.optional().describe('Quick search over all searchable fields: one value or several (OR); words of one value must all occur; a phone fragment in any format matches phone digits'),
  list: Values.optional().describe('A pasted list of up to 10,000 phones, card numbers or emails (any separators, any phone format): exact matches; the entries not found come back as notFound'),
  filter: z.unknown().optional().describe(FILTER_DOC),
};

export const SortKey = z.strictObject({ field: z.string().max(100), dir: z.enum(['asc', 'desc']).default('asc') });

export const SearchBody = z.strictObject({
  ...QueryBody,
  sort: z.array(SortKey).max(5).optional().describe('Sort keys in order (NULLs last); the id breaks ties, in the first key\'s direction'),
  limit: z.number().int().min(1).max(1000).default(50),
  cursor: z.string().max(10_000).optional().describe('nextCursor of the previous page (keyset: stable under inserts)'),
  columns: z.array(z.string().max(100)).max(100).optional().describe('Fields to return (id always); e.g. ["lastName","phone","fields.level"]'),
  withTotal: z.boolean().default(false).describe('Also return the exact count of everything found'),
});

export const SearchOut = z.object({
  items: z.array(ProfileOut.partial().required({ id: true })),
  total: z.number().optional(),
  nextCursor: z.string().nullable(),
  notFound: z.array(z.string()).optional().describe('Pasted entries that match no profile of the base'),
});

export const CountBody = z.strictObject(QueryBody);
export const CountOut = z.object({ count: z.number(), ms: z.number() });

export const FilterFieldOut = z.object({
  field: z.string(),
  type: z.string(),
  ops: z.array(z.string()),
  label: z.object({ ru: z.string(), en: z.string() }),
  values: z.array(z.string()).optional(),
});

export const ValueCountsOut = z.object({ items: z.array(z.object({ value: z.string(), count: z.number() })) });
export const BaseParams = z.object({ baseId: z.coerce.number().int().positive() });
export const FieldKeyParams = z.object({ baseId: z.coerce.number().int().positive(), key: z.string().max(100) });
