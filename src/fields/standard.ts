// The fixed standard fields of every base (seeds 000, 001, 002): they cannot be
// deleted, renamed or retyped. `key` is the API name, `column` the SQL column. This list is the one
// place they are named: the writer, the filters, the import's staging, the API's profile and the
// check against the table (standard.test.ts) are derived from it.

export type StandardType = 'string' | 'phone' | 'email' | 'card' | 'date' | 'gender' | 'enum' | 'datetime';

/** How a filter compares the field (src/find/filter.fields.ts): folded text, exact identifiers, or by type. */
export type StandardFilter = 'text' | 'exact' | 'phone' | 'email' | 'card' | 'enum' | 'birthDate' | 'datetime';

export interface StandardField {
  key: string;
  column: string;
  type: StandardType;
  filter: StandardFilter;
  label: { ru: string; en: string };
  /** Set once at creation, never overwritten by later writes. */
  setOnce?: boolean;
  /** Maintained by the system, not writable. */
  readOnly?: boolean;
  /** Read by quick search's words half (kt_words, migration 0008: these columns, in this order). */
  words?: true;
  maxLength?: number;
  values?: readonly string[];
}

export const REG_SOURCES = ['pos', 'form', 'interface', 'api', 'import'] as const;
export const KINDS = ['member', 'subscriber'] as const;

export const STANDARD_FIELDS: readonly StandardField[] = [
  { key: 'kind', column: 'kind', type: 'enum', filter: 'enum', values: KINDS, label: { ru: 'Тип клиента', en: 'Client kind' } },
  { key: 'lastName', words: true, column: 'last_name', type: 'string', filter: 'text', maxLength: 200, label: { ru: 'Фамилия', en: 'Last name' } },
  { key: 'firstName', words: true, column: 'first_name', type: 'string', filter: 'text', maxLength: 200, label: { ru: 'Имя', en: 'First name' } },
  { key: 'middleName', words: true, column: 'middle_name', type: 'string', filter: 'text', maxLength: 200, label: { ru: 'Отчество', en: 'Middle name' } },
  { key: 'phone', column: 'phone', type: 'phone', filter: 'phone', label: { ru: 'Телефон', en: 'Phone' } },
  { key: 'email', column: 'email', type: 'email', filter: 'email', label: { ru: 'E-mail', en: 'Email' } },
  { key: 'cardNumber', column: 'card_number', type: 'card', filter: 'card', maxLength: 200, label: { ru: 'Номер карты', en: 'Card number' } },
  { key: 'birthDate', column: 'birth_date', type: 'date', filter: 'birthDate', label: { ru: 'Дата рождения', en: 'Birth date' } },
  { key: 'gender', column: 'gender', type: 'gender', filter: 'enum', values: ['m', 'f'], label: { ru: 'Пол', en: 'Gender' } },
  { key: 'city', words: true, column: 'city', type: 'string', filter: 'text', maxLength: 200, label: { ru: 'Город', en: 'City' } },
  { key: 'carNumber', column: 'car_number', type: 'string', filter: 'exact', maxLength: 50, label: { ru: 'Номер автомобиля', en: 'Car number' } },
  ...[1, 2, 3, 4, 5, 6].map(
    (n): StandardField => ({ key: `extraKey${n}`, column: `extra_key_${n}`, type: 'string', filter: 'exact', maxLength: 500, label: { ru: `Дополнительный ключ ${n}`, en: `Extra key ${n}` } }),
  ),
  { key: 'registrationSource', column: 'reg_source', type: 'enum', filter: 'enum', values: REG_SOURCES, setOnce: true, label: { ru: 'Место регистрации', en: 'Registration source' } },
  { key: 'pointOfSale', words: true, column: 'point_of_sale', type: 'string', filter: 'text', maxLength: 200, setOnce: true, label: { ru: 'Точка продаж', en: 'Point of sale' } },
  { key: 'utmSource', words: true, column: 'utm_source', type: 'string', filter: 'exact', maxLength: 500, label: { ru: 'UTM Source | Источник кампании', en: 'UTM source' } },
  { key: 'utmMedium', words: true, column: 'utm_medium', type: 'string', filter: 'exact', maxLength: 500, label: { ru: 'UTM Medium | Тип трафика', en: 'UTM medium' } },
  { key: 'utmCampaign', words: true, column: 'utm_campaign', type: 'string', filter: 'exact', maxLength: 500, label: { ru: 'UTM Campaign | Название кампании', en: 'UTM campaign' } },
  { key: 'utmContent', words: true, column: 'utm_content', type: 'string', filter: 'exact', maxLength: 500, label: { ru: 'UTM Content | Объявление', en: 'UTM content' } },
  { key: 'utmTerm', words: true, column: 'utm_term', type: 'string', filter: 'exact', maxLength: 500, label: { ru: 'UTM Term | Ключевое слово', en: 'UTM term' } },
  { key: 'referralId', column: 'referral_id', type: 'string', filter: 'exact', maxLength: 200, label: { ru: 'ID реферала', en: 'Referral ID' } },
  { key: 'createdAt', column: 'created_at', type: 'datetime', filter: 'datetime', readOnly: true, label: { ru: 'Дата создания', en: 'Created' } },
  { key: 'updatedAt', column: 'updated_at', type: 'datetime', filter: 'datetime', readOnly: true, label: { ru: 'Дата обновления', en: 'Updated' } },
];

export const STANDARD_KEYS: ReadonlySet<string> = new Set([...STANDARD_FIELDS.map((f) => f.key), 'id', 'fields', 'tags', 'baseId']);

export const REG_SOURCE_LABELS: Record<(typeof REG_SOURCES)[number], { ru: string; en: string }> = {
  pos: { ru: 'Точка продаж', en: 'Point of sale' },
  form: { ru: 'Форма захвата', en: 'Capture form' },
  interface: { ru: 'Интерфейс', en: 'Interface' },
  api: { ru: 'API', en: 'API' },
  import: { ru: 'Импорт', en: 'Import' },
};
