import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../test/context.ts';
import { coerceValue } from './fields.service.ts';

const ctx = await testContext();

type FieldOut = { key: string; type: string; standard: boolean; label: { ru: string; en: string }; default: unknown; required: boolean; options: string[]; listMode: string | null; showInSubscriptionManager: boolean };
type ErrorItem = { field: string; message: string };

let phones = 0;
const nextPhone = () => `+7916${String(1_000_000 + ++phones).slice(1).padStart(7, '0')}`;

const fieldsUrl = (baseId: number, key?: string) => `/api/v1/bases/${baseId}/fields${key === undefined ? '' : `/${encodeURIComponent(key)}`}`;

async function addField(baseId: number, body: Record<string, unknown>): Promise<FieldOut> {
  const r = await ctx.api('POST', fieldsUrl(baseId), { label: { ru: `Поле ${String(body.key)}` }, ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function listFields(baseId: number): Promise<FieldOut[]> {
  const r = await ctx.api('GET', fieldsUrl(baseId));
  assert.equal(r.status, 200);
  return r.body.items;
}

async function field(baseId: number, key: string): Promise<FieldOut | undefined> {
  return (await listFields(baseId)).find((f) => f.key === key);
}

/** Creates a profile with a fresh phone and the given custom values; returns its id. */
async function profileWith(baseId: number, fields: Record<string, unknown>): Promise<number> {
  const p = await ctx.newProfile(baseId, { phone: nextPhone(), fields });
  return p.id;
}

async function readFields(baseId: number, id: number): Promise<Record<string, unknown>> {
  const r = await ctx.api('GET', `/api/v1/bases/${baseId}/profiles/${id}`);
  assert.equal(r.status, 200);
  return r.body.fields;
}

const errorFields = (body: { errors?: ErrorItem[] }) => (body.errors ?? []).map((e) => e.field).sort();

const STANDARD = [
  'lastName', 'firstName', 'middleName', 'phone', 'email', 'cardNumber', 'birthDate', 'gender', 'city', 'carNumber',
  'extraKey1', 'extraKey2', 'extraKey3', 'extraKey4', 'extraKey5', 'extraKey6', 'registrationSource', 'pointOfSale',
  'utmSource', 'utmMedium', 'utmCampaign', 'utmContent', 'utmTerm', 'referralId', 'createdAt', 'updatedAt', 'kind',
];

describe('field list', () => {
  it('lists the fixed standard fields with labels, then the custom ones', async () => {
    const base = await ctx.newBase();
    const before = await listFields(base.id);
    assert.deepEqual(before.map((f) => f.key).sort(), [...STANDARD].sort());
    assert.ok(before.every((f) => f.standard === true));
    const phone = before.find((f) => f.key === 'phone')!;
    assert.deepEqual(phone.label, { ru: 'Телефон', en: 'Phone' });
    assert.ok(before.every((f) => f.label.ru.length > 0 && f.label.en.length > 0));

    await addField(base.id, { key: 'score', type: 'int', label: { ru: 'Баллы', en: 'Score' } });
    const after = await listFields(base.id);
    assert.equal(after.length, STANDARD.length + 1);
    const score = after.find((f) => f.key === 'score')!;
    assert.equal(score.standard, false);
    assert.equal(score.type, 'int');
    assert.deepEqual(score.label, { ru: 'Баллы', en: 'Score' });
  });

  it('answers 404 for an unknown base and an unknown field key', async () => {
    const base = await ctx.newBase();
    for (const [method, body] of [['GET', undefined], ['POST', { key: 'x', type: 'int', label: { ru: 'X' } }]] as const) {
      const r = await ctx.api(method, fieldsUrl(999_999), body);
      assert.equal(r.status, 404, method);
      assert.equal(r.body.code, 'not_found');
      assert.match(r.body.detail, /999999/);
    }
    assert.equal((await ctx.api('PATCH', fieldsUrl(999_999, 'x'), { label: { ru: 'Y' } })).status, 404);
    assert.equal((await ctx.api('DELETE', fieldsUrl(999_999, 'x'))).status, 404);
    const patch = await ctx.api('PATCH', fieldsUrl(base.id, 'nope'), { label: { ru: 'Y' } });
    assert.equal(patch.status, 404);
    assert.equal(patch.body.detail, 'Поле nope не найдено');
    assert.equal((await ctx.api('DELETE', fieldsUrl(base.id, 'nope'))).status, 404);
    // Reserved names that are no field at all are simply not found.
    assert.equal((await ctx.api('DELETE', fieldsUrl(base.id, 'id'))).status, 404);
    assert.equal((await ctx.api('PATCH', fieldsUrl(base.id, 'tags'), { label: { ru: 'Y' } })).status, 404);
  });
});

describe('standard fields are fixed', () => {
  it('refuses to delete a standard field, with a clear message, and keeps it', async () => {
    const base = await ctx.newBase();
    const r = await ctx.api('DELETE', fieldsUrl(base.id, 'phone'));
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'validation_failed');
    assert.deepEqual(r.body.errors, [{ field: 'key', message: 'Стандартные поля нельзя удалить, переименовать или сменить их тип' }]);
    assert.ok(await field(base.id, 'phone'));
  });

  it('refuses to retype or rename a standard field', async () => {
    const base = await ctx.newBase();
    const retype = await ctx.api('PATCH', fieldsUrl(base.id, 'email'), { type: 'int' }, { 'accept-language': 'en' });
    assert.equal(retype.status, 400);
    assert.deepEqual(retype.body.errors, [{ field: 'type', message: 'Standard fields cannot be deleted, renamed or retyped' }]);
    assert.equal((await field(base.id, 'email'))!.type, 'email');
    const rename = await ctx.api('PATCH', fieldsUrl(base.id, 'firstName'), { key: 'name' });
    assert.equal(rename.status, 400);
    assert.equal(rename.body.errors[0].field, 'key');
  });

  it('refuses a custom field whose key is a standard one', async () => {
    const base = await ctx.newBase();
    for (const key of ['phone', 'createdAt', 'extraKey1']) {
      const r = await ctx.api('POST', fieldsUrl(base.id), { key, type: 'string', label: { ru: 'Дубль' } });
      assert.equal(r.status, 400, key);
      assert.deepEqual(r.body.errors, [{ field: 'key', message: `«${key}» — стандартное поле` }]);
    }
    assert.equal((await listFields(base.id)).filter((f) => !f.standard).length, 0);
  });
});

describe('field keys', () => {
  it('validates the key format', async () => {
    const base = await ctx.newBase();
    for (const key of ['1abc', 'with space', 'Кириллица', '', '_x', 'Upper', 'a-b', 'a'.repeat(64)]) {
      const r = await ctx.api('POST', fieldsUrl(base.id), { key, type: 'string', label: { ru: 'Поле' } });
      assert.equal(r.status, 400, key);
      assert.deepEqual(errorFields(r.body), ['key'], key);
    }
    assert.equal((await listFields(base.id)).filter((f) => !f.standard).length, 0);
    await addField(base.id, { key: 'a'.repeat(63), type: 'string' });
    await addField(base.id, { key: 'loyalty_level2', type: 'string' });
  });

  it('keeps keys unique in a base (409), but two bases may share a key', async () => {
    const a = await ctx.newBase();
    const b = await ctx.newBase();
    await addField(a.id, { key: 'score', type: 'int' });
    const dup = await ctx.api('POST', fieldsUrl(a.id), { key: 'score', type: 'string', label: { ru: 'Снова' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'conflict');
    assert.deepEqual(dup.body.errors, [{ field: 'key', message: 'Поле с ключом «score» уже есть в этой базе' }]);
    assert.equal((await field(a.id, 'score'))!.type, 'int');
    const other = await addField(b.id, { key: 'score', type: 'string' });
    assert.equal(other.type, 'string');
  });

  it('never changes a key: a PATCH with another key is refused and nothing changes', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'score', type: 'int', label: { ru: 'Баллы' } });
    const r = await ctx.api('PATCH', fieldsUrl(base.id, 'score'), { key: 'points', label: { ru: 'Очки' } });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.errors, [{ field: 'key', message: 'Ключ поля нельзя изменить' }]);
    const keys = (await listFields(base.id)).map((f) => f.key);
    assert.ok(keys.includes('score') && !keys.includes('points'));
    assert.equal((await field(base.id, 'score'))!.label.ru, 'Баллы');
    const same = await ctx.api('PATCH', fieldsUrl(base.id, 'score'), { key: 'score', label: { ru: 'Очки' } });
    assert.equal(same.status, 200);
    assert.equal(same.body.label.ru, 'Очки');
  });
});

describe('custom field types', () => {
  async function typedBase() {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'count', type: 'int' });
    await addField(base.id, { key: 'ratio', type: 'float' });
    await addField(base.id, { key: 'note', type: 'string' });
    await addField(base.id, { key: 'visited', type: 'date' });
    await addField(base.id, { key: 'vip', type: 'boolean' });
    await addField(base.id, { key: 'color', type: 'list', listMode: 'static', options: ['Красный', 'Blue'] });
    await addField(base.id, { key: 'town', type: 'list', listMode: 'free' });
    await addField(base.id, { key: 'addr', type: 'ip' });
    await addField(base.id, { key: 'labels', type: 'tags' });
    return base;
  }

  it('accepts valid values of every type and stores them normalised', async () => {
    const base = await typedBase();
    const id = await profileWith(base.id, {
      count: '1 000',
      ratio: '1,5',
      note: '  hello  ',
      visited: '05.03.2020',
      vip: 'да',
      color: 'красный',
      town: 'Москва',
      addr: '2001:DB8::1',
      labels: 'a, b, a',
    });
    assert.deepEqual(await readFields(base.id, id), {
      count: 1000,
      ratio: 1.5,
      note: 'hello',
      visited: '2020-03-05',
      vip: true,
      color: 'Красный',
      town: 'Москва',
      addr: '2001:db8::1',
      labels: ['a', 'b'],
    });
    const id2 = await profileWith(base.id, { count: -7, ratio: 2, vip: false, color: 'BLUE', addr: '10.0.0.1', labels: ['x', ' y '] });
    assert.deepEqual(await readFields(base.id, id2), { count: -7, ratio: 2, vip: false, color: 'Blue', addr: '10.0.0.1', labels: ['x', 'y'] });
  });

  it('rejects invalid values of every type, naming each field, and creates nothing', async () => {
    const base = await typedBase();
    const phone = nextPhone();
    const r = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles`, {
      phone,
      fields: {
        count: '1.5',
        ratio: 'abc',
        note: { nested: true },
        visited: '31.02.2020',
        vip: 'maybe',
        color: 'Зелёный',
        town: ['a', 'b'],
        addr: '300.1.1.1',
        labels: { a: 1 },
        unknownKey: 1,
      },
    });
    assert.equal(r.status, 400);
    const expected = ['count', 'ratio', 'note', 'visited', 'vip', 'color', 'town', 'addr', 'labels', 'unknownKey'].map((k) => `fields.${k}`);
    assert.deepEqual(errorFields(r.body), expected.sort());
    const msg = (k: string) => r.body.errors.find((e: ErrorItem) => e.field === `fields.${k}`).message;
    assert.equal(msg('count'), 'Ожидается целое число: «1.5»');
    assert.equal(msg('color'), 'Значения «Зелёный» нет в списке: Красный, Blue');
    assert.equal(msg('unknownKey'), 'В базе нет дополнительного поля «unknownKey»');
    const found = await ctx.api('GET', `/api/v1/bases/${base.id}/profiles/lookup?phone=${encodeURIComponent(phone)}`);
    assert.deepEqual(found.body.items, []);
  });

  it('rejects a JSON boolean given to an int, and an array given to a boolean', async () => {
    const base = await typedBase();
    for (const [key, value] of [['count', true], ['vip', ['да']], ['count', 1.5], ['ratio', '1e999']] as const) {
      const r = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles`, { phone: nextPhone(), fields: { [key]: value } });
      assert.equal(r.status, 400, `${key}=${JSON.stringify(value)}`);
      assert.deepEqual(errorFields(r.body), [`fields.${key}`]);
    }
  });

  it('a free list accumulates the values profiles use in its options, one spelling each', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'town', type: 'list', listMode: 'free' });
    assert.deepEqual((await field(base.id, 'town'))!.options, []);
    await profileWith(base.id, { town: 'Москва' });
    await profileWith(base.id, { town: 'Казань' });
    const third = await profileWith(base.id, { town: '  москва ' });
    assert.equal((await readFields(base.id, third)).town, 'Москва');
    assert.deepEqual((await field(base.id, 'town'))!.options, ['Москва', 'Казань']);
  });

  it('refuses a list without listMode, a static list without options, and options on a non-list', async () => {
    const base = await ctx.newBase();
    const cases: [Record<string, unknown>, string[]][] = [
      [{ key: 'a1', type: 'list' }, ['listMode']],
      [{ key: 'a2', type: 'list', listMode: 'static' }, ['options']],
      [{ key: 'a3', type: 'int', listMode: 'free', options: ['x'] }, ['listMode', 'options']],
    ];
    for (const [body, fields] of cases) {
      const r = await ctx.api('POST', fieldsUrl(base.id), { label: { ru: 'Поле' }, ...body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.deepEqual(errorFields(r.body), fields);
    }
    assert.equal((await listFields(base.id)).filter((f) => !f.standard).length, 0);
  });
});

describe('default, required, subscription manager, labels', () => {
  it('applies the normalised default to new profiles that do not give a value', async () => {
    const base = await ctx.newBase();
    const f = await addField(base.id, { key: 'level', type: 'int', default: '1 000' });
    assert.equal(f.default, 1000);
    assert.equal((await field(base.id, 'level'))!.default, 1000);
    await addField(base.id, { key: 'agreed', type: 'boolean', default: false });
    const withDefault = await profileWith(base.id, {});
    assert.deepEqual(await readFields(base.id, withDefault), { level: 1000, agreed: false });
    const given = await profileWith(base.id, { level: 3 });
    assert.deepEqual(await readFields(base.id, given), { level: 3, agreed: false });
  });

  it('refuses a default that does not fit the type, at field default', async () => {
    const base = await ctx.newBase();
    const cases: Record<string, unknown>[] = [
      { key: 'd1', type: 'int', default: 'abc' },
      { key: 'd2', type: 'boolean', default: 'maybe' },
      { key: 'd3', type: 'date', default: '2020-13-01' },
      { key: 'd4', type: 'list', listMode: 'static', options: ['a', 'b'], default: 'c' },
      { key: 'd5', type: 'ip', default: 'localhost' },
    ];
    for (const body of cases) {
      const r = await ctx.api('POST', fieldsUrl(base.id), { label: { ru: 'Поле' }, ...body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.deepEqual(errorFields(r.body), ['default'], JSON.stringify(body));
    }
    assert.equal((await listFields(base.id)).filter((f) => !f.standard).length, 0);
    await addField(base.id, { key: 'score', type: 'int', default: 5 });
    const r = await ctx.api('PATCH', fieldsUrl(base.id, 'score'), { default: 'many' });
    assert.equal(r.status, 400);
    assert.deepEqual(errorFields(r.body), ['default']);
    assert.equal((await field(base.id, 'score'))!.default, 5);
  });

  it('requires a value for a required field when a profile is created', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'contract', type: 'string', required: true });
    for (const fields of [{}, { contract: null }, { contract: '   ' }]) {
      const r = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles`, { phone: nextPhone(), fields });
      assert.equal(r.status, 400, JSON.stringify(fields));
      assert.deepEqual(r.body.errors, [{ field: 'fields.contract', message: 'Обязательное поле' }]);
    }
    const id = await profileWith(base.id, { contract: 'Д-1' });
    assert.deepEqual(await readFields(base.id, id), { contract: 'Д-1' });
  });

  it('an empty tag list does not satisfy a required tags field', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'interests', type: 'tags', required: true });
    for (const interests of [[], ' , ;']) {
      const r = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles`, { phone: nextPhone(), fields: { interests } });
      assert.equal(r.status, 400, JSON.stringify(interests));
      assert.deepEqual(errorFields(r.body), ['fields.interests']);
    }
  });

  it('a required field with a default is filled by the default', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'tier', type: 'list', listMode: 'static', options: ['Silver', 'Gold'], default: 'silver', required: true });
    assert.equal((await field(base.id, 'tier'))!.default, 'Silver');
    const id = await profileWith(base.id, {});
    assert.deepEqual(await readFields(base.id, id), { tier: 'Silver' });
  });

  it('keeps labels in both languages and the subscription manager flag; PATCH changes only what is given', async () => {
    const base = await ctx.newBase();
    const created = await addField(base.id, { key: 'pet', type: 'string', label: { ru: 'Питомец', en: 'Pet' }, showInSubscriptionManager: true });
    assert.equal(created.showInSubscriptionManager, true);
    const r = await ctx.api('PATCH', fieldsUrl(base.id, 'pet'), { label: { en: 'Pet name' } });
    assert.equal(r.status, 200);
    const f = (await field(base.id, 'pet'))!;
    assert.deepEqual(f.label, { ru: 'Питомец', en: 'Pet name' });
    assert.equal(f.showInSubscriptionManager, true);
    assert.equal(f.type, 'string');
    await ctx.api('PATCH', fieldsUrl(base.id, 'pet'), { showInSubscriptionManager: false });
    assert.equal((await field(base.id, 'pet'))!.showInSubscriptionManager, false);
    const bad = await ctx.api('PATCH', fieldsUrl(base.id, 'pet'), { label: { ru: '' } });
    assert.equal(bad.status, 400);
    assert.equal((await field(base.id, 'pet'))!.label.ru, 'Питомец');
  });
});

describe('type change', () => {
  it('converts every stored value when all convert: string "12", "7" -> int', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'code', type: 'string' });
    const a = await profileWith(base.id, { code: '12' });
    const b = await profileWith(base.id, { code: ' 7' });
    const c = await profileWith(base.id, {});
    const r = await ctx.api('PATCH', fieldsUrl(base.id, 'code'), { type: 'int' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.type, 'int');
    assert.equal((await field(base.id, 'code'))!.type, 'int');
    assert.deepEqual(await readFields(base.id, a), { code: 12 });
    assert.deepEqual(await readFields(base.id, b), { code: 7 });
    assert.deepEqual(await readFields(base.id, c), {});
    // New values now follow the int rules.
    const bad = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles`, { phone: nextPhone(), fields: { code: 'x' } });
    assert.deepEqual(errorFields(bad.body), ['fields.code']);
  });

  it('refuses with 409 when some value does not convert, and changes nothing', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'code', type: 'string' });
    const ok = await profileWith(base.id, { code: '12' });
    const bad1 = await profileWith(base.id, { code: 'abc' });
    await profileWith(base.id, { code: 'abc' });
    await profileWith(base.id, { code: 'xyz' });
    const r = await ctx.api('PATCH', fieldsUrl(base.id, 'code'), { type: 'int', label: { ru: 'Код' } });
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'conflict');
    assert.equal(r.body.errors[0].field, 'type');
    assert.match(r.body.errors[0].message, /^Не преобразуются в тип «int» сохранённые значения \(всего: 3\)/);
    const f = (await field(base.id, 'code'))!;
    assert.equal(f.type, 'string');
    assert.equal(f.label.ru, 'Поле code');
    assert.deepEqual(await readFields(base.id, ok), { code: '12' });
    assert.deepEqual(await readFields(base.id, bad1), { code: 'abc' });
  });

  it('int -> string turns numbers into strings; float -> int refuses fractions', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'n', type: 'int' });
    const a = await profileWith(base.id, { n: 12 });
    const r = await ctx.api('PATCH', fieldsUrl(base.id, 'n'), { type: 'string' });
    assert.equal(r.status, 200);
    assert.deepEqual(await readFields(base.id, a), { n: '12' });

    await addField(base.id, { key: 'x', type: 'float' });
    const b = await profileWith(base.id, { x: 1.5 });
    const refused = await ctx.api('PATCH', fieldsUrl(base.id, 'x'), { type: 'int' });
    assert.equal(refused.status, 409);
    assert.deepEqual(await readFields(base.id, b), { x: 1.5 });
    assert.equal((await field(base.id, 'x'))!.type, 'float');
  });

  it('string -> tags splits stored values; one that holds no tag is removed, not stored as null', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'interests', type: 'string' });
    const a = await profileWith(base.id, { interests: 'books; music, books' });
    const b = await profileWith(base.id, { interests: ' , ' });
    assert.deepEqual(await readFields(base.id, b), { interests: ',' });
    const r = await ctx.api('PATCH', fieldsUrl(base.id, 'interests'), { type: 'tags' });
    assert.equal(r.status, 200);
    assert.deepEqual(await readFields(base.id, a), { interests: ['books', 'music'] });
    assert.deepEqual(await readFields(base.id, b), {});
  });

  it('converts the default along with the type, or refuses when it does not fit', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'n', type: 'int', default: 5 });
    const r = await ctx.api('PATCH', fieldsUrl(base.id, 'n'), { type: 'string' });
    assert.equal(r.status, 200);
    assert.equal((await field(base.id, 'n'))!.default, '5');
    await addField(base.id, { key: 's', type: 'string', default: 'none' });
    const refused = await ctx.api('PATCH', fieldsUrl(base.id, 's'), { type: 'int' });
    assert.equal(refused.status, 400);
    assert.deepEqual(errorFields(refused.body), ['default']);
    assert.equal((await field(base.id, 's'))!.type, 'string');
  });

  it('a free list becomes static only with options covering every stored value', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'town', type: 'list', listMode: 'free' });
    const a = await profileWith(base.id, { town: 'Москва' });
    await profileWith(base.id, { town: 'Тверь' });
    const refused = await ctx.api('PATCH', fieldsUrl(base.id, 'town'), { listMode: 'static', options: ['Москва', 'Казань'] });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.errors[0].field, 'type');
    assert.match(refused.body.errors[0].message, /Тверь/);
    const still = (await field(base.id, 'town'))!;
    assert.equal(still.listMode, 'free');
    assert.deepEqual(still.options, ['Москва', 'Тверь']);
    const ok = await ctx.api('PATCH', fieldsUrl(base.id, 'town'), { listMode: 'static', options: ['МОСКВА', 'Тверь', 'Казань'] });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.listMode, 'static');
    assert.deepEqual(await readFields(base.id, a), { town: 'МОСКВА' });
    const outside = await ctx.api('POST', `/api/v1/bases/${base.id}/profiles`, { phone: nextPhone(), fields: { town: 'Омск' } });
    assert.deepEqual(errorFields(outside.body), ['fields.town']);
  });

  it('narrowing a static list refuses while a profile holds a removed option', async () => {
    const base = await ctx.newBase();
    const created = await addField(base.id, { key: 'tier', type: 'list', listMode: 'static', options: ['Gold', 'GOLD', 'Silver', 'Bronze'] });
    assert.deepEqual(created.options, ['Gold', 'Silver', 'Bronze']);
    const id = await profileWith(base.id, { tier: 'silver' });
    const refused = await ctx.api('PATCH', fieldsUrl(base.id, 'tier'), { options: ['Gold', 'Bronze'] });
    assert.equal(refused.status, 409);
    assert.match(refused.body.errors[0].message, /\(всего: 1\), например «Silver»/);
    assert.deepEqual((await field(base.id, 'tier'))!.options, ['Gold', 'Silver', 'Bronze']);
    const ok = await ctx.api('PATCH', fieldsUrl(base.id, 'tier'), { options: ['Gold', 'Silver'] });
    assert.equal(ok.status, 200);
    assert.deepEqual((await field(base.id, 'tier'))!.options, ['Gold', 'Silver']);
    assert.deepEqual(await readFields(base.id, id), { tier: 'Silver' });
  });

  it('a string field turned into a free list offers its stored values as options', async () => {
    const base = await ctx.newBase();
    await addField(base.id, { key: 'city2', type: 'string' });
    const a = await profileWith(base.id, { city2: 'Омск' });
    const b = await profileWith(base.id, { city2: 'омск' });
    await profileWith(base.id, { city2: 'Тула' });
    const r = await ctx.api('PATCH', fieldsUrl(base.id, 'city2'), { type: 'list', listMode: 'free' });
    assert.equal(r.status, 200);
    const options = (await field(base.id, 'city2'))!.options;
    assert.equal(options.length, 2);
    assert.deepEqual(options.map((o) => o.toLowerCase()).sort(), ['омск', 'тула']);
    // Both spellings of Omsk now read as the one option.
    const omsk = options.find((o) => o.toLowerCase() === 'омск');
    assert.deepEqual([(await readFields(base.id, a)).city2, (await readFields(base.id, b)).city2], [omsk, omsk]);
  });
});

describe('deleting a custom field', () => {
  it('removes its values from every profile of that base only', async () => {
    const a = await ctx.newBase();
    const b = await ctx.newBase();
    await addField(a.id, { key: 'score', type: 'int' });
    await addField(a.id, { key: 'keep', type: 'string' });
    await addField(b.id, { key: 'score', type: 'int' });
    const p1 = await profileWith(a.id, { score: 1, keep: 'k' });
    const p2 = await profileWith(a.id, { score: 2 });
    const other = await profileWith(b.id, { score: 9 });
    const r = await ctx.api('DELETE', fieldsUrl(a.id, 'score'));
    assert.equal(r.status, 204);
    assert.equal(await field(a.id, 'score'), undefined);
    assert.deepEqual(await readFields(a.id, p1), { keep: 'k' });
    assert.deepEqual(await readFields(a.id, p2), {});
    assert.deepEqual(await readFields(b.id, other), { score: 9 });
    // A new field with the same key starts empty.
    await addField(a.id, { key: 'score', type: 'string' });
    assert.deepEqual(await readFields(a.id, p2), {});
    assert.equal((await ctx.api('DELETE', fieldsUrl(a.id, 'keep'))).status, 204);
    assert.equal((await ctx.api('DELETE', fieldsUrl(a.id, 'keep'))).status, 404);
  });
});

describe('coerceValue', () => {
  const t = (type: string, raw: unknown, extra: Record<string, unknown> = {}) =>
    coerceValue({ type: type as 'int', listMode: null, options: [], ...extra }, raw);

  it('normalises values per type', () => {
    assert.deepEqual(t('int', '1 000'), { ok: true, value: 1000 });
    assert.deepEqual(t('int', '-5'), { ok: true, value: -5 });
    assert.deepEqual(t('float', '1,5'), { ok: true, value: 1.5 });
    assert.deepEqual(t('float', '1 000,25'), { ok: true, value: 1000.25 });
    assert.deepEqual(t('date', '05.03.2020'), { ok: true, value: '2020-03-05' });
    assert.deepEqual(t('boolean', 'Да'), { ok: true, value: true });
    assert.deepEqual(t('boolean', 'нет'), { ok: true, value: false });
    assert.deepEqual(t('boolean', 0), { ok: true, value: false });
    assert.deepEqual(t('ip', '2001:DB8::1'), { ok: true, value: '2001:db8::1' });
    assert.deepEqual(t('tags', 'a, b, a'), { ok: true, value: ['a', 'b'] });
    assert.deepEqual(t('string', 42), { ok: true, value: '42' });
    assert.deepEqual(t('list', 'gold', { listMode: 'static', options: ['Silver', 'Gold'] }), { ok: true, value: 'Gold' });
    assert.deepEqual(t('list', 'gold', { listMode: 'free', options: ['Gold'] }), { ok: true, value: 'Gold' });
    assert.deepEqual(t('list', 'new  one', { listMode: 'free', options: ['Gold'] }), { ok: true, value: 'new one' });
  });

  it('treats null, empty strings and empty tag lists as "no value"', () => {
    for (const type of ['int', 'float', 'string', 'date', 'boolean', 'ip', 'tags']) {
      assert.deepEqual(t(type, null), { ok: true, value: null }, type);
      assert.deepEqual(t(type, '  '), { ok: true, value: null }, type);
    }
    assert.deepEqual(t('tags', []), { ok: true, value: null });
    assert.deepEqual(t('tags', ', ;'), { ok: true, value: null });
  });

  it('rejects what does not fit', () => {
    for (const [type, raw] of [
      ['int', '1.5'], ['int', '1e3'], ['int', true], ['int', 2 ** 60], ['int', '1234567890123456'],
      ['float', 'abc'], ['float', Infinity], ['float', '1.2.3'],
      ['date', '2020-02-30'], ['date', 20200101],
      ['boolean', 'maybe'], ['boolean', ['да']], ['boolean', { a: 1 }],
      ['ip', '1.2.3'], ['ip', 'fe80::1%eth0'],
      ['tags', { a: 1 }], ['tags', [['nested']]],
      ['string', { a: 1 }],
    ] as const) {
      assert.equal(t(type, raw).ok, false, `${type} ${String(raw)}`);
    }
    assert.equal(t('list', 'x', { listMode: 'static', options: ['a'] }).ok, false);
    assert.equal(t('list', ['a'], { listMode: 'free', options: [] }).ok, false);
  });
});
