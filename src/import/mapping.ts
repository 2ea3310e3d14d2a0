// Import, step "mapping": which column of a file goes to which field. Headers
// of real Russian files (1C, amoCRM, YCLIENTS, hand-made Excel) are matched by
// synonyms; a mapping can be checked, applied to one row (for the preview and
// for the write), and a saved mapping re-applied to a file with reordered
// columns. Pure functions: no DB.
import type { FieldDef } from '../fields/fields.schema.ts';
import { coerceValue } from '../fields/fields.service.ts';
import { REG_SOURCE_LABELS, STANDARD_FIELDS, type StandardField } from '../fields/standard.ts';
import { FieldErrors, type FieldError, type MessageKey } from '../errors/errors.ts';
import { splitFullName } from '../profiles/normalize.ts';
import { normalizeStandard } from '../profiles/profiles.service.ts';

/** Target of one column: a standard field key ('phone', 'lastName', …), 'fullName' (split into three), 'fields.<key>' for a custom field, 'tags' (comma-separated tag names), or null (skip). */
export type Target = string | null;
export interface Mapping {
  columns: Target[];
}

export interface CellError {
  column: number;
  key: MessageKey;
  params?: Record<string, string | number>;
}

/** Standard fields a file may fill (system-maintained ones are not targets). */
const IMPORTABLE: readonly StandardField[] = STANDARD_FIELDS.filter((f) => !f.readOnly);
const STANDARD_BY_KEY: ReadonlyMap<string, StandardField> = new Map(IMPORTABLE.map((f) => [f.key, f]));
const READ_ONLY: ReadonlySet<string> = new Set([...STANDARD_FIELDS.filter((f) => f.readOnly).map((f) => f.key), 'id', 'baseId']);
const NAME_PARTS: ReadonlySet<string> = new Set(['lastName', 'firstName']);

// ---------------------------------------------------------------------------
// Header normalization
// ---------------------------------------------------------------------------

/**
 * One header to a canonical spelling: lower case, ё → е, «№» → «номер»,
 * «e-mail»/«e mail»/«е-мейл» → «email», camelCase and letter/digit runs split,
 * punctuation and every kind of space collapsed to one space.
 */
export function normalizeHeader(header: string): string {
  return header
    .replace(/[\u200b-\u200d\ufeff]/g, '')
    .replace(/№/g, ' номер ')
    .replace(/(\p{Ll})(\p{Lu})/gu, '$1 $2')
    .toLowerCase()
    .replace(/ё/g, 'е')
    .replace(/(?<![\p{L}\p{N}])[eе][\s._\-\u2010-\u2015]*(?:mail|мейл|мэйл)(?![\p{L}\p{N}])/gu, 'email')
    .replace(/(\p{L})(\p{N})/gu, '$1 $2')
    .replace(/(\p{N})(\p{L})/gu, '$1 $2')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** A light Russian stemmer: «карты»/«карта» → «карт», «телефона» → «телефон». Latin words stay. */
function stem(token: string): string {
  if (!/[а-я]/.test(token)) return token;
  let s = token;
  for (let k = 0; k < 2 && s.length > 4 && /[аеиоуыэюяйь]$/.test(s); k++) s = s.slice(0, -1);
  return s;
}

interface Prepared {
  stems: string[];
  /** Stems joined by one space. */
  key: string;
  /** Sorted stems joined: equal for the same words in another order. */
  bag: string;
  /** Normalized text without spaces: «д р» = «др», «last name» = «lastname». */
  compact: string;
}

function prepare(text: string): Prepared {
  const norm = normalizeHeader(text);
  const stems = norm === '' ? [] : norm.split(' ').map(stem);
  return { stems, key: stems.join(' '), bag: [...stems].sort().join(' '), compact: norm.replaceAll(' ', '') };
}

// ---------------------------------------------------------------------------
// Synonyms
// ---------------------------------------------------------------------------

/** Score of a synonym listed below unless it says otherwise; a field's own label or key scores 1. */
const SYNONYM_WEIGHT = 0.95;
const MOBILE = 1;
const PLAIN_PHONE = 0.97;
const OTHER_PHONE = 0.75;

/**
 * Synonyms per target. A string is a synonym with the default weight; `[text, weight]` sets the weight;
 * a leading '=' means "whole header only" (too generic to be found inside a longer header).
 * Labels (ru, en, each part of «UTM Source | Источник кампании») and API keys are added automatically.
 */
type Syn = string | readonly [string, number];
const SYNONYMS: Record<string, readonly Syn[]> = {
  fullName: [
    'ФИО', 'Ф.И.О.', 'Фамилия Имя Отчество', 'Фамилия, имя, отчество', 'Фамилия Имя', 'Имя Фамилия', 'Полное имя', 'ФИО клиента',
    'Клиент ФИО', 'ФИО покупателя', 'ФИО контакта', '=Клиент', '=Покупатель', '=Контакт', '=Контактное лицо', '=Наименование',
    'Full name', 'Fullname', '=Name', '=Client', '=Customer', '=Contact', 'Contact name', 'Customer name', 'Client name',
  ],
  lastName: ['Фамилия', 'Фамилия клиента', 'Last name', 'Surname', 'Family name'],
  firstName: ['Имя', 'Имя клиента', 'First name', 'Given name'],
  middleName: ['Отчество', 'Отчество клиента', 'Patronymic', 'Middle name'],
  phone: [
    ['Моб. телефон', MOBILE], ['Мобильный телефон', MOBILE], ['Телефон мобильный', MOBILE], ['Моб. тел.', MOBILE], ['Моб.', MOBILE],
    ['Мобильный', MOBILE], ['Мобильный номер', MOBILE], ['Номер мобильного', MOBILE], ['Номер мобильного телефона', MOBILE],
    ['Сотовый', MOBILE], ['Сотовый телефон', MOBILE], ['Телефон сотовый', MOBILE], ['Mobile', MOBILE], ['Mobile phone', MOBILE],
    ['Cell', MOBILE], ['Cell phone', MOBILE], ['Cellphone', MOBILE],
    ['Телефон', PLAIN_PHONE], ['Тел.', PLAIN_PHONE], ['Номер телефона', PLAIN_PHONE], ['Телефон клиента', PLAIN_PHONE],
    ['Контактный телефон', PLAIN_PHONE], ['Phone', PLAIN_PHONE], ['Phone number', PLAIN_PHONE], ['Telephone', PLAIN_PHONE], ['=Tel', PLAIN_PHONE],
    ['Рабочий телефон', OTHER_PHONE], ['Домашний телефон', OTHER_PHONE], ['Доп. телефон', OTHER_PHONE], ['Дополнительный телефон', OTHER_PHONE],
    ['Другой телефон', OTHER_PHONE], ['Второй телефон', OTHER_PHONE], ['Телефон 2', OTHER_PHONE], ['Work phone', OTHER_PHONE],
    ['Home phone', OTHER_PHONE], ['Other phone', OTHER_PHONE],
  ],
  email: [
    'Email', 'Эл. почта', 'Электронная почта', 'Адрес электронной почты', 'Эл. адрес', 'Электронный адрес', 'Емейл', 'Имейл',
    'Почта', 'Email клиента', 'Mail', 'Email address',
  ],
  cardNumber: [
    'Номер карты', '№ карты', 'Карта №', 'Карта', 'Карта клиента', 'Номер карты клиента', 'Карта лояльности', 'Номер карты лояльности',
    'Дисконтная карта', 'Бонусная карта', 'Клубная карта', 'Номер дисконтной карты', 'Номер бонусной карты', 'Card', 'Card number',
    'Loyalty card', 'Card No',
  ],
  birthDate: [
    'Дата рождения', 'Д.Р.', 'ДР', 'День рождения', 'Дата рожд.', 'Birthday', 'Date of birth', 'Birth date', 'Birthdate', 'DOB',
  ],
  gender: ['Пол', 'Пол клиента', 'Gender', 'Sex'],
  city: ['Город', 'Город клиента', 'Населённый пункт', 'City', 'Town'],
  carNumber: [
    'Номер авто', 'Номер автомобиля', 'Номер машины', 'Госномер', 'Гос. номер', 'Гос номер автомобиля', 'Автомобиль', '=Авто', 'Car',
    'Car number', 'Car plate', 'License plate', 'Plate number',
  ],
  registrationSource: ['Источник регистрации', 'Канал регистрации', 'Место регистрации'],
  pointOfSale: [
    'Точка продаж', 'Точка продажи', 'Магазин', 'Филиал', 'Салон', 'Торговая точка', 'Точка', 'Магазин регистрации', 'Store', 'Shop',
    'Branch', 'POS',
  ],
  utmSource: ['UTM Source', 'utm_source', 'Источник', 'Источник трафика', 'Source'],
  utmMedium: ['UTM Medium', 'utm_medium', 'Канал', 'Medium'],
  utmCampaign: ['UTM Campaign', 'utm_campaign', 'Кампания', 'Рекламная кампания', 'Campaign'],
  utmContent: ['UTM Content', 'utm_content'],
  utmTerm: ['UTM Term', 'utm_term'],
  referralId: ['Реферал', 'ID реферала', 'Реферальный код', 'Пригласивший', 'Кто пригласил', 'Referral', 'Referral code', 'Referrer'],
  tags: ['Теги', 'Тэги', 'Тег', 'Метки', 'Метка', 'Ярлыки', 'Tags', 'Tag', 'Labels'],
  ...Object.fromEntries(
    [1, 2, 3, 4, 5, 6].map((n) => [`extraKey${n}`, [`Доп. ключ ${n}`, `Дополнительный ключ ${n}`, `Extra key ${n}`]]),
  ),
};

/** Number of listed synonyms (labels and keys not counted). */
export const SYNONYM_COUNT = Object.values(SYNONYMS).reduce((n, xs) => n + xs.length, 0);

/**
 * Words that make a header about something else («Имя менеджера», «Дата первой покупки»,
 * «Бонусы на карте», «ID клиента»): a header holding a word starting like this matches
 * a synonym only if the synonym holds that word too.
 */
const FOREIGN = [
  'менеджер', 'ответствен', 'сотрудник', 'мастер', 'автор', 'компан', 'организац', 'manager', 'owner', 'employee', 'company', 'staff',
  'бонус', 'балл', 'баланс', 'скидк', 'сумм', 'колич', 'дат', 'date', 'created', 'updated', 'статус', 'status', 'тип', 'type', 'id', 'код',
  'code', 'коммент', 'примечан', 'comment', 'note', 'последн', 'перв', 'визит', 'покупк', 'заказ', 'order', 'факс', 'fax', 'инн', 'адрес',
];

interface Candidate {
  target: string;
  syn: Prepared;
  weight: number;
  exactOnly: boolean;
}

function candidatesFor(customFields: readonly FieldDef[]): Candidate[] {
  const byId = new Map<string, Candidate & { explicit: boolean }>();
  const add = (target: string, text: string, weight: number, opts: { exactOnly?: boolean; explicit?: boolean } = {}) => {
    const syn = prepare(text);
    if (syn.stems.length === 0) return;
    const id = `${target}\u0000${syn.key}\u0000${syn.compact}`;
    const had = byId.get(id);
    // A label repeats a plain synonym: it scores 1; a synonym with its own weight keeps it («Телефон» < «Моб. телефон»).
    if (had) {
      if (!had.explicit) had.weight = Math.max(had.weight, weight);
      return;
    }
    byId.set(id, { target, syn, weight, exactOnly: opts.exactOnly ?? false, explicit: opts.explicit ?? false });
  };
  for (const [target, syns] of Object.entries(SYNONYMS)) {
    for (const s of syns) {
      const [text, weight, explicit] = typeof s === 'string' ? [s, SYNONYM_WEIGHT, false] : [s[0], s[1], true];
      if (text.startsWith('=')) add(target, text.slice(1), weight, { exactOnly: true, explicit });
      else add(target, text, weight, { explicit });
    }
  }
  for (const f of IMPORTABLE) {
    for (const text of [...f.label.ru.split('|'), ...f.label.en.split('|'), f.key]) add(f.key, text, 1);
  }
  for (const d of customFields) {
    for (const text of [d.label.ru, d.label.en, d.key, `fields.${d.key}`]) if (text.trim() !== '') add(`fields.${d.key}`, text, 1);
  }
  return [...byId.values()];
}

const CONTAIN_MIN = 0.5;
const CONTAIN_SPAN = 0.35;
const BAG = 0.97;
const WITHOUT_PARENS = 0.95;
/** Below this a guess is not made (the column is left unmapped). */
const MIN_SCORE = 0.5;

function matchScore(h: Prepared, c: Candidate): number {
  const s = c.syn;
  if (h.key === s.key || h.compact === s.compact) return c.weight;
  if (h.bag === s.bag) return c.weight * BAG;
  if (c.exactOnly || s.stems.length >= h.stems.length) return 0;
  const rest = [...h.stems];
  for (const w of s.stems) {
    const i = rest.indexOf(w);
    if (i < 0) return 0;
    rest.splice(i, 1);
  }
  if (rest.some((w) => FOREIGN.some((f) => w.startsWith(f)))) return 0;
  return c.weight * (CONTAIN_MIN + (CONTAIN_SPAN * s.stems.length) / h.stems.length);
}

/** A header prepared once: as written, and without parenthesized notes («Дата рождения (ДД.ММ.ГГГГ)»). */
function prepareHeader(header: string): { full: Prepared; bare: Prepared | null } {
  const bare = header.replace(/\([^)]*\)|\[[^\]]*\]/g, ' ');
  return { full: prepare(header), bare: bare === header ? null : prepare(bare) };
}

function headerScore(h: { full: Prepared; bare: Prepared | null }, c: Candidate): number {
  const full = matchScore(h.full, c);
  return h.bare === null ? full : Math.max(full, matchScore(h.bare, c) * WITHOUT_PARENS);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Guesses a target per header from synonyms (ru/en), standard labels and keys, and custom
 * field labels/keys. A target is used at most once: the best-scoring header wins (the first
 * on a tie), a mobile phone column beats «Телефон»; the losers get null and list the target
 * among their `alternatives`. `confidence` is 0..1 per column (0 = not mapped).
 */
export function guessMapping(
  headers: string[],
  customFields: FieldDef[],
): { mapping: Mapping; confidence: number[]; alternatives: Record<number, Target[]> } {
  const cands = candidatesFor(customFields);
  const targetOrder = new Map<string, number>();
  for (const c of cands) if (!targetOrder.has(c.target)) targetOrder.set(c.target, targetOrder.size);

  // Best score of every (column, target) pair.
  const pairs: { column: number; target: string; score: number }[] = [];
  headers.forEach((header, column) => {
    const h = prepareHeader(header);
    const best = new Map<string, number>();
    for (const c of cands) {
      const s = headerScore(h, c);
      if (s >= MIN_SCORE && s > (best.get(c.target) ?? 0)) best.set(c.target, s);
    }
    for (const [target, score] of best) pairs.push({ column, target, score: round(score) });
  });
  pairs.sort((a, b) => b.score - a.score || a.column - b.column || (targetOrder.get(a.target) ?? 0) - (targetOrder.get(b.target) ?? 0));

  // «ФИО» and separate «Фамилия» + «Имя» exclude each other: separate columns win when both exist.
  const columnsFor = (t: string) => new Set(pairs.filter((p) => p.target === t).map((p) => p.column));
  const lastCols = columnsFor('lastName');
  const firstCols = columnsFor('firstName');
  const preferParts = [...lastCols].some((a) => [...firstCols].some((b) => a !== b));
  const excluded = new Set<string>(preferParts ? ['fullName'] : columnsFor('fullName').size > 0 ? NAME_PARTS : []);

  const columns: Target[] = headers.map(() => null);
  const confidence: number[] = headers.map(() => 0);
  const used = new Set<string>();
  for (const p of pairs) {
    if (columns[p.column] !== null || used.has(p.target) || excluded.has(p.target)) continue;
    columns[p.column] = p.target;
    confidence[p.column] = p.score;
    used.add(p.target);
  }

  const alternatives: Record<number, Target[]> = {};
  for (const p of pairs) {
    if (columns[p.column] === p.target) continue;
    (alternatives[p.column] ??= []).push(p.target);
  }
  return { mapping: { columns }, confidence, alternatives };
}

// ---------------------------------------------------------------------------
// Checking a manual mapping
// ---------------------------------------------------------------------------

function isKnownTarget(t: string, custom: ReadonlySet<string>): boolean {
  if (t === 'fullName' || t === 'tags') return true;
  if (t.startsWith('fields.')) return custom.has(t.slice('fields.'.length));
  return STANDARD_BY_KEY.has(t);
}

/** Validates a manual mapping: every problem at once, each naming `mapping.columns[i]`. */
export function checkMapping(mapping: Mapping, headers: string[], customFields: FieldDef[]): FieldError[] {
  const errs = new FieldErrors();
  const cols = mapping.columns as unknown[];
  if (cols.length !== headers.length) errs.add('mapping.columns', 'import_mapping_length', { expected: headers.length, actual: cols.length });
  const custom = new Set(customFields.map((d) => d.key));
  const header = (i: number) => (headers[i] ?? `#${i + 1}`).slice(0, 100);
  const firstAt = new Map<string, number>();
  cols.forEach((raw, i) => {
    if (raw === null || raw === undefined) return;
    const field = `mapping.columns[${i}]`;
    const t = String(raw);
    if (typeof raw !== 'string' || !isKnownTarget(t, custom)) {
      if (typeof raw === 'string' && READ_ONLY.has(t)) errs.add(field, 'import_target_read_only', { target: t });
      else errs.add(field, 'import_target_unknown', { target: t.slice(0, 100), header: header(i) });
      return;
    }
    const prev = firstAt.get(t);
    if (prev !== undefined) errs.add(field, 'import_target_duplicate', { target: t, other: header(prev) });
    else firstAt.set(t, i);
  });
  const full = firstAt.get('fullName');
  if (full !== undefined) {
    cols.forEach((t, i) => {
      if (typeof t === 'string' && NAME_PARTS.has(t) && firstAt.get(t) === i) {
        errs.add(`mapping.columns[${i}]`, 'import_fullname_conflict', { other: header(full) });
      }
    });
  }
  return errs.list;
}

// ---------------------------------------------------------------------------
// Applying a mapping to one row
// ---------------------------------------------------------------------------

const TAGS_DEF = { type: 'tags', listMode: null, options: [] } as const satisfies Pick<FieldDef, 'type' | 'listMode' | 'options'>;

/** Enum cells as people write them: «Точка продаж» → pos, «Member» → member. */
const ENUM_ALIASES: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map([
  [
    'registrationSource',
    new Map(
      Object.entries(REG_SOURCE_LABELS).flatMap(([k, l]) => [
        [k, k],
        [l.ru.toLowerCase(), k],
        [l.en.toLowerCase(), k],
      ]),
    ),
  ],
  ['kind', new Map([['member', 'member'], ['subscriber', 'subscriber'], ['участник', 'member'], ['подписчик', 'subscriber']])],
]);

function enumValue(f: StandardField, raw: string): string {
  const aliases = ENUM_ALIASES.get(f.key);
  return aliases?.get(raw.trim().replace(/\s+/g, ' ').toLowerCase().replace(/ё/g, 'е')) ?? raw;
}

/** The definitions by key, built once per definitions array (applyMapping runs once per file row). */
const byKey = new WeakMap<readonly FieldDef[], ReadonlyMap<string, FieldDef>>();
function defsByKey(defs: readonly FieldDef[]): ReadonlyMap<string, FieldDef> {
  let m = byKey.get(defs);
  if (!m) byKey.set(defs, (m = new Map(defs.map((d) => [d.key, d]))));
  return m;
}

/**
 * Applies a mapping to one row: the profile input (API keys; custom values under
 * `fields`; tags as names, to be resolved by the importer) and per-cell errors.
 * Values are normalized exactly as a single-profile write normalizes them;
 * defaults, `required` and identity rules are the write's business. Empty cells
 * are "not given". A «ФИО» cell is split; a separate name column wins over its part.
 */
export function applyMapping(
  cells: string[],
  mapping: Mapping,
  ctx: { region: string; customFields: FieldDef[] },
): { input: Record<string, unknown>; errors: CellError[] } {
  const input: Record<string, unknown> = {};
  const errors: CellError[] = [];
  const defs = defsByKey(ctx.customFields);
  const fields: Record<string, unknown> = {};
  let tags: string[] | undefined;

  const standard = (column: number, f: StandardField, raw: string) => {
    const errs = new FieldErrors();
    const v = normalizeStandard(f, f.type === 'enum' ? enumValue(f, raw) : raw, ctx.region, errs);
    for (const e of errs.list) errors.push({ column, key: e.key, ...(e.params ? { params: e.params } : {}) });
    if (v !== undefined && v !== null) input[f.key] = v;
  };

  const order = mapping.columns.map((_, i) => i).sort((a, b) => Number(mapping.columns[b] === 'fullName') - Number(mapping.columns[a] === 'fullName'));
  for (const column of order) {
    const target = mapping.columns[column];
    const raw = cells[column] ?? '';
    if (target === null || target === undefined || raw.trim() === '') continue;
    if (target === 'fullName') {
      const parts = splitFullName(raw);
      for (const key of ['lastName', 'firstName', 'middleName'] as const) {
        const part = parts[key];
        const f = STANDARD_BY_KEY.get(key);
        if (part !== null && f) standard(column, f, part);
      }
    } else if (target === 'tags') {
      const c = coerceValue(TAGS_DEF, raw);
      if (!c.ok) errors.push({ column, key: c.key, ...(c.params ? { params: c.params } : {}) });
      else if (Array.isArray(c.value)) tags = [...new Set([...(tags ?? []), ...c.value])];
    } else if (target.startsWith('fields.')) {
      const key = target.slice('fields.'.length);
      const def = defs.get(key);
      if (!def) {
        errors.push({ column, key: 'field_unknown', params: { key } });
        continue;
      }
      const c = coerceValue(def, raw);
      if (!c.ok) errors.push({ column, key: c.key, ...(c.params ? { params: c.params } : {}) });
      else if (c.value !== null) fields[key] = c.value;
    } else {
      const f = STANDARD_BY_KEY.get(target);
      if (f) standard(column, f, raw);
      else errors.push({ column, key: READ_ONLY.has(target) ? 'import_target_read_only' : 'import_target_unknown', params: { target, header: `#${column + 1}` } });
    }
  }
  if (Object.keys(fields).length) input.fields = fields;
  if (tags !== undefined) input.tags = tags;
  return { input, errors };
}

// ---------------------------------------------------------------------------
// Saved mapping templates
// ---------------------------------------------------------------------------

const headerKey = (h: string) => normalizeHeader(h);

/** The same headers after normalization, in any order (duplicates counted). */
export function templateMatches(templateHeaders: string[], headers: string[]): boolean {
  if (templateHeaders.length !== headers.length) return false;
  const a = templateHeaders.map(headerKey).sort();
  const b = headers.map(headerKey).sort();
  return a.every((x, i) => x === b[i]);
}

/**
 * Re-orders a saved mapping onto a file whose columns come in another order: each
 * header takes the target of the same (normalized) header of the template; repeated
 * headers pair up in order; a header the template does not have gets null.
 */
export function remapTemplate(template: { headers: string[]; mapping: Mapping }, headers: string[]): Mapping {
  const byHeader = new Map<string, Target[]>();
  template.headers.forEach((h, i) => {
    const k = headerKey(h);
    const list = byHeader.get(k) ?? [];
    list.push(template.mapping.columns[i] ?? null);
    byHeader.set(k, list);
  });
  return { columns: headers.map((h) => byHeader.get(headerKey(h))?.shift() ?? null) };
}
