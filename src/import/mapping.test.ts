import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FieldDef } from '../fields/fields.schema.ts';
import { CATEGORIES, csvHeader, generateProfileAt, generateProfiles, profileToCsvCells } from '../generate/generate.ts';
import { catalogs, type MessageKey } from '../i18n/messages.ts';
import { normalizePhone } from '../profiles/normalize.ts';
import { applyMapping, checkMapping, guessMapping, normalizeHeader, remapTemplate, SYNONYM_COUNT, templateMatches, type Mapping, type Target } from './mapping.ts';

const def = (key: string, type: FieldDef['type'], ru: string, en: string, extra: Partial<FieldDef> = {}): FieldDef => ({
  key,
  type,
  label: { ru, en },
  required: false,
  default: null,
  listMode: null,
  options: [],
  showInSubscriptionManager: false,
  position: 0,
  ...extra,
});

/** The custom fields of the demo base (what the generator's last three columns hold). */
const DEMO_FIELDS: FieldDef[] = [
  def('loyaltyScore', 'int', 'Оценка', 'Score'),
  def('favoriteCategory', 'list', 'Любимая категория', 'Favourite category', { listMode: 'static', options: [...CATEGORIES] }),
  def('visits', 'int', 'Визиты', 'Visits'),
];
const ctx = { region: 'RU', customFields: DEMO_FIELDS };

const TAIL: Target[] = [
  'gender', 'phone', 'email', 'cardNumber', 'birthDate', 'city', 'carNumber', 'registrationSource', 'pointOfSale',
  'utmSource', 'utmMedium', 'utmCampaign', 'tags', 'fields.loyaltyScore', 'fields.favoriteCategory', 'fields.visits',
];
const CLEAN_TARGETS: Target[] = ['lastName', 'firstName', 'middleName', ...TAIL];
const DIRTY_TARGETS: Target[] = ['fullName', ...TAIL];

/** header -> target, for readable failures. */
function guessed(headers: string[], fields: FieldDef[] = []): Record<string, Target> {
  const { mapping } = guessMapping(headers, fields);
  return Object.fromEntries(headers.map((h, i) => [`${i}:${h}`, mapping.columns[i] ?? null]));
}
function expected(headers: string[], targets: Target[]): Record<string, Target> {
  return Object.fromEntries(headers.map((h, i) => [`${i}:${h}`, targets[i] ?? null]));
}

describe('normalizeHeader', () => {
  it('folds case, ё, spaces, punctuation, №, e-mail spellings, camelCase and digits', () => {
    assert.equal(normalizeHeader('  Моб.  Телефон\u00a0'), 'моб телефон');
    assert.equal(normalizeHeader('Ё-моё'), 'е мое');
    assert.equal(normalizeHeader('Карта №'), 'карта номер');
    assert.equal(normalizeHeader('№карты'), 'номер карты');
    for (const e of ['E-mail', 'e mail', 'Е-mail', 'E_MAIL', 'email', 'е-мейл']) assert.equal(normalizeHeader(e), 'email', e);
    assert.equal(normalizeHeader('lastName'), 'last name');
    assert.equal(normalizeHeader('utm_source'), 'utm source');
    assert.equal(normalizeHeader('Доп. ключ1'), 'доп ключ 1');
    assert.equal(normalizeHeader('\ufeffФ.И.О.'), 'ф и о');
  });
});

describe('guessMapping', () => {
  it('lists a good number of synonyms', () => {
    assert.ok(SYNONYM_COUNT >= 150, String(SYNONYM_COUNT));
  });

  it("maps the generator's clean header fully", () => {
    const h = csvHeader(false);
    assert.deepEqual(guessed(h, DEMO_FIELDS), expected(h, CLEAN_TARGETS));
    const { confidence } = guessMapping(h, DEMO_FIELDS);
    assert.ok(confidence.every((c) => c >= 0.9), String(confidence));
  });

  it("maps the generator's dirty header fully («ФИО» → fullName)", () => {
    const h = csvHeader(true);
    assert.deepEqual(guessed(h, DEMO_FIELDS), expected(h, DIRTY_TARGETS));
  });

  it('leaves columns of unknown custom fields unmapped', () => {
    const h = csvHeader(false);
    assert.deepEqual(guessed(h), expected(h, [...CLEAN_TARGETS.slice(0, -3), null, null, null]));
  });

  it('1C-style header: «Клиент», mobile and landline, «Д.Р.», «Карта №»', () => {
    const h = ['Клиент', 'Моб. телефон', 'Телефон', 'Эл. почта', 'Д.Р.', 'Пол', 'Карта №', 'Город', 'Комментарий'];
    const g = guessMapping(h, []);
    assert.deepEqual(g.mapping.columns, ['fullName', 'phone', null, 'email', 'birthDate', 'gender', 'cardNumber', 'city', null]);
    assert.deepEqual(g.alternatives[2], ['phone']);
    assert.equal(g.confidence[2], 0);
    assert.equal(g.confidence[8], 0);
    assert.ok((g.confidence[1] ?? 0) > 0.9);
  });

  it('picks the mobile column for phone whatever the order', () => {
    for (const h of [
      ['Телефон', 'Мобильный телефон'],
      ['Телефон мобильный', 'Телефон'],
      ['Номер телефона', 'Сотовый'],
      ['Рабочий телефон', 'Тел.', 'Моб.'],
      ['Phone', 'Mobile'],
      ['Home phone', 'Cell phone'],
    ]) {
      const g = guessMapping(h, []);
      const mobile = h.findIndex((x) => /моб|сотов|mobile|cell/i.test(x));
      assert.equal(g.mapping.columns[mobile], 'phone', h.join(' | '));
      assert.equal(g.mapping.columns.filter((t) => t === 'phone').length, 1);
      h.forEach((_, i) => {
        if (i !== mobile) assert.deepEqual(g.alternatives[i], ['phone'], h.join(' | '));
      });
    }
    // The plain phone still beats a second, work or "2" phone.
    assert.deepEqual(guessMapping(['Телефон 2', 'Рабочий телефон', 'Телефон'], []).mapping.columns, [null, null, 'phone']);
    assert.deepEqual(guessMapping(['Доп. телефон'], []).mapping.columns, ['phone']);
  });

  it('amoCRM-style English header', () => {
    const h = ['Name', 'Phone', 'Mobile', 'E-mail', 'Date of birth', 'Gender', 'Card number', 'City', 'Tags', 'utm_source', 'UTM Medium', 'Responsible manager', 'Created'];
    assert.deepEqual(guessMapping(h, []).mapping.columns, [
      'fullName', null, 'phone', 'email', 'birthDate', 'gender', 'cardNumber', 'city', 'tags', 'utmSource', 'utmMedium', null, null,
    ]);
    const h2 = ['First name', 'Last name', 'Middle name', 'Birthday', 'Sex', 'Email address', 'Phone number', 'Car plate', 'Store', 'Referral', 'Extra key 2'];
    assert.deepEqual(guessMapping(h2, []).mapping.columns, [
      'firstName', 'lastName', 'middleName', 'birthDate', 'gender', 'email', 'phone', 'carNumber', 'pointOfSale', 'referralId', 'extraKey2',
    ]);
  });

  it('YCLIENTS-style header: one «Имя», discounts and categories are not ours', () => {
    const h = ['Имя', 'Телефон', 'Email', 'Категории', 'Пол', 'Дата рождения', 'Номер карты', 'Скидка', 'Сумма продаж', 'Комментарий'];
    assert.deepEqual(guessMapping(h, []).mapping.columns, ['firstName', 'phone', 'email', null, 'gender', 'birthDate', 'cardNumber', null, null, null]);
  });

  it('mixed case, stray spaces, ё, notes in parentheses, API keys', () => {
    const h = ['  фамилия ', 'ИМЯ', 'отчёство', 'ТЕЛЕФОН  МОБИЛЬНЫЙ', 'e mail', 'Дата рождения (ДД.ММ.ГГГГ)', 'Номер дисконтной карты', 'Госномер', 'Магазин', 'Источник', 'Метки', 'Доп. ключ 1', 'Населённый пункт'];
    assert.deepEqual(guessMapping(h, []).mapping.columns, [
      'lastName', 'firstName', 'middleName', 'phone', 'email', 'birthDate', 'cardNumber', 'carNumber', 'pointOfSale', 'utmSource', 'tags', 'extraKey1', 'city',
    ]);
    const keys = ['lastName', 'firstName', 'phone', 'email', 'cardNumber', 'birthDate', 'utm_campaign', 'referralId', 'extraKey6', 'fields.visits'];
    assert.deepEqual(guessMapping(keys, DEMO_FIELDS).mapping.columns, [
      'lastName', 'firstName', 'phone', 'email', 'cardNumber', 'birthDate', 'utmCampaign', 'referralId', 'extraKey6', 'fields.visits',
    ]);
    const more = ['Ф.И.О.', 'Тел.', 'Электронная почта', 'ДР', 'Пол клиента', 'Гос. номер', 'Филиал', 'UTM Source', 'Реферальный код', 'Теги'];
    assert.deepEqual(guessMapping(more, []).mapping.columns, [
      'fullName', 'phone', 'email', 'birthDate', 'gender', 'carNumber', 'pointOfSale', 'utmSource', 'referralId', 'tags',
    ]);
  });

  it('finds a synonym inside a longer header, but not in headers about something else', () => {
    assert.deepEqual(guessMapping(['Телефон для связи', 'Город проживания', 'ФИО клиента (полностью)', 'E-mail для рассылки'], []).mapping.columns, [
      'phone', 'city', 'fullName', 'email',
    ]);
    const other = ['ID клиента', 'Имя менеджера', 'Дата создания', 'Бонусы на карте', 'Статус клиента', 'Сумма покупок', 'Дата последнего визита', 'Код клиента', 'Комментарий', ''];
    assert.deepEqual(guessMapping(other, []).mapping.columns, other.map(() => null));
  });

  it('custom fields by ru label, en label or key; a custom label beats a mere synonym', () => {
    const fields = [def('bonusLevel', 'list', 'Уровень', 'Level', { listMode: 'free' }), def('vip', 'boolean', 'VIP-клиент', 'VIP'), def('leadSource', 'string', 'Источник', 'Lead source')];
    assert.deepEqual(guessMapping(['уровень', 'vip клиент', 'Источник', 'UTM source'], fields).mapping.columns, [
      'fields.bonusLevel', 'fields.vip', 'fields.leadSource', 'utmSource',
    ]);
    assert.deepEqual(guessMapping(['Level', 'VIP', 'bonusLevel'], fields).mapping.columns, ['fields.bonusLevel', 'fields.vip', null]);
    assert.deepEqual(guessMapping(['Level', 'VIP', 'bonusLevel'], fields).alternatives[2], ['fields.bonusLevel']);
  });

  it('uses a target at most once: the best header wins, the first one on a tie', () => {
    const g = guessMapping(['Email', 'Эл. почта', 'E-mail', 'Город', 'город'], []);
    assert.deepEqual(g.mapping.columns, ['email', null, null, 'city', null]);
    assert.deepEqual(g.alternatives, { 1: ['email'], 2: ['email'], 4: ['city'] });
    const g2 = guessMapping(['Почта', 'Email'], []);
    assert.deepEqual(g2.mapping.columns, [null, 'email']);
  });

  it('«ФИО» next to «Фамилия» and «Имя»: the separate columns win; alone with «Имя», «ФИО» wins', () => {
    const g = guessMapping(['Фамилия', 'Имя', 'ФИО', 'Отчество'], []);
    assert.deepEqual(g.mapping.columns, ['lastName', 'firstName', null, 'middleName']);
    assert.deepEqual(g.alternatives[2], ['fullName']);
    const g2 = guessMapping(['ФИО', 'Имя', 'Телефон'], []);
    assert.deepEqual(g2.mapping.columns, ['fullName', null, 'phone']);
    assert.deepEqual(g2.alternatives[1], ['firstName']);
  });

  it('every guess passes checkMapping (property)', () => {
    const pool = [
      ...csvHeader(false), 'ФИО', 'Клиент', 'Моб. телефон', 'Телефон', 'Phone', 'Mobile', 'Имя', 'Фамилия', 'Email', 'E-mail', 'Д.Р.',
      'Карта №', 'Комментарий', 'Уровень', 'Источник', 'Name', 'Full name', 'Доп. ключ 3', '',
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pool), { maxLength: 25 }), (headers) => {
        const g = guessMapping(headers, DEMO_FIELDS);
        assert.equal(g.mapping.columns.length, headers.length);
        assert.deepEqual(checkMapping(g.mapping, headers, DEMO_FIELDS), []);
        g.confidence.forEach((c, i) => assert.equal(c > 0, g.mapping.columns[i] !== null));
      }),
    );
  });
});

describe('checkMapping', () => {
  const h = ['ФИО', 'Фамилия', 'Телефон', 'Моб', 'Дата', 'X'];
  it('accepts a good mapping', () => {
    assert.deepEqual(checkMapping({ columns: ['fullName', null, 'phone', null, 'fields.visits', 'tags'] }, h, DEMO_FIELDS), []);
  });

  it('names each bad column with a message key', () => {
    const errs = checkMapping({ columns: ['fullName', 'lastName', 'phone', 'phone', 'fields.nope', 'createdAt'] }, h, DEMO_FIELDS);
    assert.deepEqual(errs, [
      { field: 'mapping.columns[3]', key: 'import_target_duplicate', params: { target: 'phone', other: 'Телефон' } },
      { field: 'mapping.columns[4]', key: 'import_target_unknown', params: { target: 'fields.nope', header: 'Дата' } },
      { field: 'mapping.columns[5]', key: 'import_target_read_only', params: { target: 'createdAt' } },
      { field: 'mapping.columns[1]', key: 'import_fullname_conflict', params: { other: 'ФИО' } },
    ]);
  });

  it('fullName with firstName conflicts, with middleName it does not', () => {
    assert.deepEqual(
      checkMapping({ columns: ['firstName', 'fullName'] }, ['Имя', 'ФИО'], []).map((e) => [e.field, e.key]),
      [['mapping.columns[0]', 'import_fullname_conflict']],
    );
    assert.deepEqual(checkMapping({ columns: ['fullName', 'middleName'] }, ['ФИО', 'Отчество'], []), []);
  });

  it('unknown targets of any kind, and a column count that differs from the file', () => {
    const errs = checkMapping({ columns: ['Phone', 'fields.', 'id', 7 as unknown as string] }, ['a', 'b', 'c'], []);
    assert.deepEqual(
      errs.map((e) => [e.field, e.key]),
      [
        ['mapping.columns', 'import_mapping_length'],
        ['mapping.columns[0]', 'import_target_unknown'],
        ['mapping.columns[1]', 'import_target_unknown'],
        ['mapping.columns[2]', 'import_target_read_only'],
        ['mapping.columns[3]', 'import_target_unknown'],
      ],
    );
    assert.deepEqual(errs[0]?.params, { expected: 3, actual: 4 });
  });
});


describe('applyMapping', () => {
  const m = (columns: Target[]): Mapping => ({ columns });

  it('phones in every format become E.164', () => {
    const formats = ['8 (916) 123-45-67', '+7 916 123 45 67', '9161234567', '89161234567', '+7(916)123-45-67', '8-916-123-45-67', ' 7 916 1234567 ', '8\u00a0916\u00a0123\u201145\u201167'];
    for (const f of formats) {
      const r = applyMapping([f], m(['phone']), ctx);
      assert.deepEqual(r, { input: { phone: '+79161234567' }, errors: [] }, f);
    }
  });

  it('gender, birth date, email, card and car number as a write normalizes them', () => {
    const cols = m(['gender', 'birthDate', 'email', 'cardNumber', 'carNumber', 'city']);
    const cases: [string, 'm' | 'f'][] = [['М', 'm'], ['муж', 'm'], ['male', 'm'], ['Ж', 'f'], ['жен', 'f'], ['female', 'f'], ['ж.', 'f']];
    for (const [g, want] of cases) {
      const r = applyMapping([g, '05.03.1990', '  Ivan.Petrov@Mail.RU ', '123 4567 890128', 'а 123 вс 77', '  Нижний  Новгород '], cols, ctx);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.input, {
        gender: want,
        birthDate: '1990-03-05',
        email: 'ivan.petrov@mail.ru',
        cardNumber: '1234567890128',
        carNumber: 'А123ВС77',
        city: 'Нижний Новгород',
      });
    }
    assert.equal(applyMapping(['1990-03-05'], m(['birthDate']), ctx).input.birthDate, '1990-03-05');
  });

  it('splits «ФИО» into three parts; a separate name column wins over its part', () => {
    const cases: [string, Record<string, string>][] = [
      ['Иванов  Иван Иванович', { lastName: 'Иванов', firstName: 'Иван', middleName: 'Иванович' }],
      [' Иван Иванович Иванов ', { lastName: 'Иванов', firstName: 'Иван', middleName: 'Иванович' }],
      ['Петрова Анна', { lastName: 'Петрова', firstName: 'Анна' }],
      ['Анна', { firstName: 'Анна' }],
    ];
    for (const [cell, want] of cases) assert.deepEqual(applyMapping([cell], m(['fullName']), ctx), { input: want, errors: [] }, cell);
    assert.deepEqual(applyMapping(['Сергеевич', 'Иванов Иван Иванович'], m(['middleName', 'fullName']), ctx).input, {
      lastName: 'Иванов', firstName: 'Иван', middleName: 'Сергеевич',
    });
  });

  it('empty cells, skipped columns and missing trailing cells are not given', () => {
    const r = applyMapping(['', '   ', 'Москва', 'ignored'], m(['phone', 'email', 'city', null, 'lastName', 'fields.visits']), ctx);
    assert.deepEqual(r, { input: { city: 'Москва' }, errors: [] });
  });

  it('per-cell errors name the column and the message key of a write', () => {
    const cols = m(['fullName', 'phone', 'email', 'birthDate', 'gender', 'cardNumber', 'fields.visits', 'fields.favoriteCategory', 'registrationSource']);
    const r = applyMapping(['Иванов Иван', '8916123', 'ivan.mail.ru', '31.02.1990', 'x', 'карта-1', 'много', 'Игрушки', 'somewhere'], cols, ctx);
    assert.deepEqual(r.input, { lastName: 'Иванов', firstName: 'Иван' });
    const keys = r.errors.map((e) => [e.column, e.key]);
    assert.deepEqual(keys, [
      [1, 'phone_invalid'], [2, 'email_invalid'], [3, 'birth_date_invalid'], [4, 'gender_invalid'], [5, 'card_invalid'],
      [6, 'field_int'], [7, 'field_list_option'], [8, 'invalid_enum'],
    ]);
    assert.deepEqual(r.errors[0]?.params, { value: '8916123' });
    assert.equal(r.errors[5]?.params?.value, 'много');
    // future and too old birth dates, a phone with letters, an email with a space
    const more = applyMapping(['01.01.2999', '01.01.1850', '8 916 123-45-67 доб. 12', 'ivan @mail.ru'], m(['birthDate', 'extraKey1', 'phone', 'email']), ctx);
    assert.deepEqual(more.errors.map((e) => [e.column, e.key]), [[0, 'birth_date_invalid'], [2, 'phone_invalid'], [3, 'email_invalid']]);
    assert.deepEqual(more.input, { extraKey1: '01.01.1850' });
  });

  it('custom fields under `fields`, tags as names, enum labels to values', () => {
    const cols = m(['fields.loyaltyScore', 'fields.favoriteCategory', 'fields.visits', 'tags', 'registrationSource', 'kind', 'extraKey3']);
    const r = applyMapping([' 87 ', 'обувь', '0', 'VIP, Постоянный  клиент;VIP,', 'Точка продаж', 'Подписчик', ' abc '], cols, ctx);
    assert.deepEqual(r, {
      input: {
        fields: { loyaltyScore: 87, favoriteCategory: 'Обувь', visits: 0 },
        tags: ['VIP', 'Постоянный клиент'],
        registrationSource: 'pos',
        kind: 'subscriber',
        extraKey3: 'abc',
      },
      errors: [],
    });
    assert.deepEqual(applyMapping(['x'], m(['fields.gone']), ctx).errors, [{ column: 0, key: 'field_unknown', params: { key: 'gone' } }]);
    assert.equal(applyMapping(['A'.repeat(201)], m(['city']), ctx).errors[0]?.key, 'too_long');
    assert.equal(applyMapping(['Иванов ' + 'И'.repeat(201)], m(['fullName']), ctx).errors[0]?.key, 'too_long');
  });

  it('respects the base region', () => {
    assert.deepEqual(applyMapping(['030 1234567'], m(['phone']), { region: 'DE', customFields: [] }).input, { phone: '+49301234567' });
  });

  it("the generator's dirty rows: normalized values, and garbage found in the right column", () => {
    const header = csvHeader(true);
    const { mapping } = guessMapping(header, DEMO_FIELDS);
    const col = (t: string) => mapping.columns.indexOf(t);
    const seed = 7;
    const clean = [...generateProfiles(3000, { seed })];
    let garbage = 0;
    let checked = 0;
    let i = 0;
    for (const p of generateProfiles(3000, { seed, dirty: true })) {
      const c = clean[i++]!;
      const cells = profileToCsvCells(p, true);
      const r = applyMapping(cells, mapping, ctx);
      const { input } = r;
      const errors = r.errors;
      if (p.garbage) {
        garbage++;
        assert.equal(errors.length, 1, JSON.stringify({ p, errors }));
        const e = errors[0]!;
        const want: Record<string, MessageKey> = { phone: 'phone_invalid', email: 'email_invalid', birthDate: 'birth_date_invalid' };
        const field = mapping.columns[e.column]!;
        assert.equal(e.key, want[field], JSON.stringify({ p, errors }));
        assert.equal(input[field], undefined);
        continue;
      }
      assert.deepEqual(errors, [], JSON.stringify(p));
      if (p.duplicateOf !== null) continue;
      checked++;
      if (errors.length === r.errors.length) assert.equal(input.phone, c.phone ?? undefined);
      if (p.email !== null) assert.equal(input.email, c.email);
      if (p.birthDate !== null) assert.equal(input.birthDate, c.birthDate);
      if (p.cardNumber !== null) assert.equal(input.cardNumber, c.cardNumber);
      assert.equal(input.gender, p.gender === '' ? undefined : c.gender);
      const words = (xs: unknown[]) => xs.filter((x): x is string => typeof x === 'string').join(' ').toLowerCase().replaceAll('ё', 'е').split(' ').sort();
      // «ФИО» may be written «Имя Фамилия» or without the patronymic, rarely with a typo in the last name:
      // the same words (one may differ), the patronymic optional.
      const got = words([input.lastName, input.firstName, input.middleName]);
      const all = words([c.lastName, c.firstName, c.middleName]);
      assert.ok(got.length >= 2 && got.filter((w) => !all.includes(w)).length <= 1, JSON.stringify({ got, all }));
      assert.ok(got.includes(c.firstName.toLowerCase().replaceAll('ё', 'е')), JSON.stringify({ got, all }));
      assert.deepEqual(input.fields, { visits: c.fields.visits, ...(c.fields.loyaltyScore === null ? {} : { loyaltyScore: c.fields.loyaltyScore }), ...(c.fields.favoriteCategory === null ? {} : { favoriteCategory: c.fields.favoriteCategory }) });
    }
    assert.ok(garbage > 5, String(garbage));
    assert.ok(checked > 2500, String(checked));
    assert.ok(col('fullName') === 0 && col('phone') > 0);
  });

  it('reproduces a clean generated profile from its CSV cells (property)', () => {
    const header = csvHeader(false);
    const { mapping } = guessMapping(header, DEMO_FIELDS);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.nat(1_000_000), (seed, index) => {
        const p = generateProfileAt(index, { seed });
        const { input, errors } = applyMapping(profileToCsvCells(p, false), mapping, ctx);
        // every generated phone is a valid one (the generator avoids the sparse 930 0xx range)
        assert.ok(p.phone === null || normalizePhone(p.phone) === p.phone, p.phone ?? '');
        assert.deepEqual(errors, []);
        const want: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(p)) if (k !== 'fields' && k !== 'tags' && v !== null) want[k] = v;
        const fields: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(p.fields)) if (v !== null) fields[k] = v;
        want.fields = fields;
        if (p.tags.length) want.tags = p.tags;
        assert.deepEqual(input, want);
      }),
      { numRuns: 300 },
    );
  });
});

describe('mapping templates', () => {
  const saved = { headers: csvHeader(false), mapping: guessMapping(csvHeader(false), DEMO_FIELDS).mapping };

  it('matches the same headers in any order, spelling aside', () => {
    const h = csvHeader(false);
    assert.ok(templateMatches(h, [...h].reverse()));
    assert.ok(templateMatches(h, h.map((x) => `  ${x.toUpperCase().replaceAll('Ё', 'Е')} `)));
    assert.ok(templateMatches(['E-mail', 'Карта №'], ['№ карты'.replace('№ карты', 'карта №'), 'email']));
    assert.ok(!templateMatches(h, h.slice(1)));
    assert.ok(!templateMatches(h, [...h.slice(1), 'Комментарий']));
    assert.ok(!templateMatches(['Телефон', 'Телефон'], ['Телефон', 'Email']));
  });

  it('re-orders a saved mapping onto shuffled columns (property)', () => {
    const h = csvHeader(false);
    fc.assert(
      fc.property(fc.shuffledSubarray(h.map((_, i) => i), { minLength: h.length, maxLength: h.length }), (perm) => {
        const headers = perm.map((i) => h[i]!);
        assert.ok(templateMatches(saved.headers, headers));
        const mapping = remapTemplate(saved, headers);
        assert.deepEqual(mapping.columns, perm.map((i) => CLEAN_TARGETS[i]));
        assert.deepEqual(mapping, guessMapping(headers, DEMO_FIELDS).mapping);
      }),
    );
  });

  it('keeps a manual choice among repeated headers, and leaves new headers unmapped', () => {
    const t = { headers: ['Телефон', 'Комментарий', 'Телефон'], mapping: { columns: [null, 'extraKey1', 'phone'] } };
    assert.deepEqual(remapTemplate(t, ['телефон', 'ТЕЛЕФОН', 'комментарий']).columns, [null, 'phone', 'extraKey1']);
    assert.deepEqual(remapTemplate(t, ['Новая', 'Телефон']).columns, [null, null]);
  });
});

describe('import messages', () => {
  it('exist in both catalogs with the same placeholders', () => {
    const keys = Object.keys(catalogs.ru).filter((k) => k.startsWith('import_')) as MessageKey[];
    assert.ok(keys.length >= 5);
    const ph = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((x) => x[1]).sort();
    for (const k of keys) assert.deepEqual(ph(catalogs.en[k]), ph(catalogs.ru[k]), k);
  });
});
