// An import's rows prepared: the mapping applied, identity decided (member or subscriber), repeats inside
// the file found — and the file read with its rows prepared, as the job's three ways take them.
import type { FieldDef } from '../fields/fields.schema.ts';
import { STANDARD_FIELDS } from '../fields/standard.ts';
import type { Lang } from '../i18n/messages.ts';
import { WRITE_COLUMNS, type Mode, type Policy, type WriteRow } from '../profiles/profiles.write.ts';
import type { CsvRow } from '../formats/csv.read.ts';
import { openFile, type Source } from '../formats/open.ts';
import type { RowFailure } from './import.repo.ts';
import { applyMapping, type Mapping } from './mapping.ts';

export interface ImportSettings {
  mapping: Mapping;
  mode: Mode;
  /** Per target ('phone', 'fields.score', …): overwrite (default), fill only if empty, or skip on existing profiles. */
  policy: Record<string, Policy>;
  /** Rows of the file with the same phone, card or subscriber email: combined into one profile, or reported as failed. */
  duplicates: 'merge' | 'report';
  tagIds: number[];
  segmentId: number | null;
  dryRun: boolean;
  /** The language of the reasons in the error file. */
  lang: Lang;
}

export const COLUMN_OF: ReadonlyMap<string, string> = new Map(STANDARD_FIELDS.filter((f) => WRITE_COLUMNS.includes(f.column)).map((f) => [f.key, f.column]));

// ---------------------------------------------------------------------------
// rows: mapping applied, identity decided, repeats found
// ---------------------------------------------------------------------------

/** Keys of the rows seen so far in the file: phone (as a number), card, subscriber email -> first line. */
export interface Seen {
  phone: Map<number, number>;
  card: Map<string, number>;
  email: Map<string, number>;
}

export interface RowContext {
  region: string;
  defs: FieldDef[];
  /** Required fields without a default. */
  required: FieldDef[];
  /** Custom field labels in the import's language, for the error file. */
  labels: Map<string, string>;
  settings: ImportSettings;
  headers: string[];
  seen: Seen;
}

export type Prepared = { ok: true; row: WriteRow; tagNames: string[] | null } | { ok: false; failure: RowFailure };

const phoneKey = (p: string) => Number(p.slice(1));

export function prepareRow(r: CsvRow, ctx: RowContext): Prepared {
  const { input, errors } = applyMapping(r.cells, ctx.settings.mapping, { region: ctx.region, customFields: ctx.defs });
  const fail = (errs: RowFailure['errors']): Prepared => ({ ok: false, failure: { line: r.line, errors: errs } });
  if (errors.length) return fail(errors.map((e) => ({ key: e.key, ...(e.params ? { params: e.params } : {}), column: ctx.headers[e.column] ?? `#${e.column + 1}` })));
  const phone = (input.phone as string | undefined) ?? null;
  const card = (input.cardNumber as string | undefined) ?? null;
  const email = (input.email as string | undefined) ?? null;
  if (!phone && !card && !email) return fail([{ key: 'import_no_identity' }]);
  const kind = phone || card ? 'member' : 'subscriber';
  if (input.kind === 'member' && kind === 'subscriber') return fail([{ key: 'member_needs_identity' }]);
  if (input.kind === 'subscriber' && kind === 'member') return fail([{ key: 'subscriber_only_email' }]);

  // Repeats inside the file, by the keys that identify a client.
  const pk = phone ? phoneKey(phone) : null;
  const ek = kind === 'subscriber' ? email : null;
  const firsts = [pk !== null ? ctx.seen.phone.get(pk) : undefined, card ? ctx.seen.card.get(card) : undefined, ek ? ctx.seen.email.get(ek) : undefined].filter(
    (x): x is number => x !== undefined,
  );
  const dupFirst = firsts.length ? Math.min(...firsts) : null;
  if (dupFirst !== null && ctx.settings.duplicates === 'report') return fail([{ key: 'import_duplicate', params: { line: dupFirst } }]);
  if (pk !== null && !ctx.seen.phone.has(pk)) ctx.seen.phone.set(pk, r.line);
  if (card && !ctx.seen.card.has(card)) ctx.seen.card.set(card.slice(), r.line);
  if (ek && !ctx.seen.email.has(ek)) ctx.seen.email.set(ek.slice(), r.line);

  const row: WriteRow = { line: r.line, kind, values: {}, dupFirst };
  for (const [key, v] of Object.entries(input)) {
    const c = COLUMN_OF.get(key);
    if (c) row.values[c] = v as string;
  }
  const custom = (input.fields ?? {}) as Record<string, unknown>;
  for (const [key, v] of Object.entries(custom)) {
    const policy = ctx.settings.policy[`fields.${key}`] ?? 'overwrite';
    const slot = policy === 'overwrite' ? 'fOver' : policy === 'fill' ? 'fFill' : 'fCreate';
    (row[slot] ??= {})[key] = v;
  }
  const missing = ctx.required.filter((d) => custom[d.key] === undefined).map((d) => d.key);
  if (missing.length) row.missing = missing;
  if (ctx.settings.tagIds.length) row.tagsAdd = [...ctx.settings.tagIds];
  const tagNames = Array.isArray(input.tags) ? (input.tags as string[]) : null;
  return { ok: true, row, tagNames };
}


// ---------------------------------------------------------------------------
// the reader: the file read and its rows prepared
// ---------------------------------------------------------------------------

/**
 * What reading and preparing a file needs. Measured and dropped (issue 10): the same in a worker thread
 * — 1M rows 158.6 s against 161.7 s here, peak RSS 749 against 712 MB (a second heap holding the
 * repeats' maps): PostgreSQL's COPY and the index builds share the two cores with it, so the thread
 * gave no time back.
 */
export interface ReaderInput {
  file: string;
  format: string;
  source: Source;
  ctx: Omit<RowContext, 'seen'>;
}

export interface PreparedFile {
  /** The data rows in batches, each row with its preparation; a file's error is thrown as the reader throws it. */
  batches: AsyncGenerator<{ rows: CsvRow[]; prepared: Prepared[] }, void, void>;
  /** Bytes of the file read so far (for an estimate of the rows to come). */
  bytesRead(): number;
  close(): Promise<void>;
}

/** Opens a stored upload for its rows, prepared in order (the repeats inside the file known from its start). */
export async function openPrepared(input: ReaderInput): Promise<PreparedFile> {
  const ctx: RowContext = { ...input.ctx, seen: { phone: new Map(), card: new Map(), email: new Map() } };
  const file = await openFile(input.file, input.format, input.source);
  async function* batches(): AsyncGenerator<{ rows: CsvRow[]; prepared: Prepared[] }, void, void> {
    for await (const rows of file.batches) yield { rows, prepared: rows.map((r) => prepareRow(r, ctx)) };
  }
  return { batches: batches(), bytesRead: () => file.bytesRead(), close: () => file.close() };
}
