import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { changeField, changeOp, fieldGroup, fromApi, newCond, summarize, toApi, updateCond, type BuilderState, type Cond, type FieldMeta } from './filterState.ts';

const FIELDS: FieldMeta[] = [
  { field: 'city', type: 'text', ops: ['eq', 'ne', 'in', 'notIn', 'contains', 'startsWith', 'isEmpty', 'isNotEmpty'] },
  { field: 'birthDate', type: 'birthDate', ops: ['eq', 'gte', 'lt', 'between', 'birthdayThisMonth', 'birthMonthIn', 'birthdayInNextDays'] },
  { field: 'gender', type: 'enum', ops: ['eq', 'ne', 'in', 'notIn', 'isEmpty', 'isNotEmpty'], values: ['m', 'f'] },
  { field: 'tags', type: 'tags', ops: ['hasAny', 'hasAll', 'hasNone', 'isEmpty', 'isNotEmpty'] },
  { field: 'fields.level', type: 'list', ops: ['eq', 'ne', 'in', 'notIn', 'isEmpty', 'isNotEmpty'], values: ['Серебро', 'Золото'] },
  { field: 'fields.visits', type: 'number', ops: ['eq', 'gt', 'gte', 'lt', 'lte', 'between', 'in'] },
  { field: 'fields.vip', type: 'boolean', ops: ['eq', 'isEmpty', 'isNotEmpty'] },
];
const byKey = new Map(FIELDS.map((f) => [f.field, f]));
const f = (k: string) => byKey.get(k)!;
const cond = (field: string, op: string, value = '', values: string[] = []): Cond => ({ kind: 'cond', field, op, value, values });

describe('filter builder state', () => {
  it('a new condition starts with the operator people want: checkboxes for lists, tags and enums', () => {
    assert.equal(newCond(f('fields.level')).op, 'in');
    assert.equal(newCond(f('tags')).op, 'hasAny');
    assert.equal(newCond(f('gender')).op, 'in');
    assert.equal(newCond(f('city')).op, 'eq');
  });

  it('«city is Москва AND (birthday this month OR tag VIP)» becomes the API tree', () => {
    const s: BuilderState = {
      join: 'and',
      items: [cond('city', 'eq', ' Москва '), { kind: 'group', join: 'or', items: [cond('birthDate', 'birthdayThisMonth'), cond('tags', 'hasAny', '', ['7'])] }],
    };
    assert.deepEqual(toApi(s, byKey), {
      and: [{ field: 'city', op: 'eq', value: 'Москва' }, { or: [{ field: 'birthDate', op: 'birthdayThisMonth' }, { field: 'tags', op: 'hasAny', value: [7] }] }],
    });
    assert.equal(toApi({ join: 'and', items: [] }, byKey), null);
    assert.deepEqual(toApi({ join: 'or', items: [cond('city', 'isEmpty', 'ignored')] }, byKey), { field: 'city', op: 'isEmpty' }, 'one condition is not wrapped');
  });

  it('typed values: Russian dates to ISO, numbers with a comma or spaces, lists split, between as two ends', () => {
    assert.deepEqual(toApi({ join: 'and', items: [cond('birthDate', 'gte', '5.3.1990')] }, byKey), { field: 'birthDate', op: 'gte', value: '1990-03-05' });
    assert.deepEqual(toApi({ join: 'and', items: [cond('fields.visits', 'between', '1 000 .. 2,5')] }, byKey), { field: 'fields.visits', op: 'between', value: [1000, 2.5] });
    assert.deepEqual(toApi({ join: 'and', items: [cond('city', 'in', 'Москва, Казань;Тула')] }, byKey), { field: 'city', op: 'in', value: ['Москва', 'Казань', 'Тула'] });
    assert.deepEqual(toApi({ join: 'and', items: [cond('birthDate', 'birthdayInNextDays', '7')] }, byKey), { field: 'birthDate', op: 'birthdayInNextDays', value: 7 });
    assert.deepEqual(toApi({ join: 'and', items: [cond('fields.vip', 'eq', 'true')] }, byKey), { field: 'fields.vip', op: 'eq', value: true });
    assert.deepEqual(toApi({ join: 'and', items: [cond('fields.visits', 'gt', 'много')] }, byKey), { field: 'fields.visits', op: 'gt', value: 'много' }, 'left for the API to name the error');
  });

  it('ticked checkboxes are the list, not the typed text', () => {
    assert.deepEqual(toApi({ join: 'and', items: [cond('fields.level', 'in', 'stale', ['Золото'])] }, byKey), { field: 'fields.level', op: 'in', value: ['Золото'] });
    assert.deepEqual(toApi({ join: 'and', items: [cond('fields.level', 'eq', 'Золото', ['Серебро'])] }, byKey), { field: 'fields.level', op: 'eq', value: 'Золото' });
  });

  it('editing: a condition in a group changes alone; removing the last one removes the group', () => {
    const s: BuilderState = { join: 'and', items: [cond('city', 'eq', 'Москва'), { kind: 'group', join: 'or', items: [cond('city', 'eq', 'Тула')] }] };
    const changed = updateCond(s, [1, 0], cond('city', 'eq', 'Казань'));
    assert.deepEqual((changed.items[1] as { items: Cond[] }).items[0]!.value, 'Казань');
    assert.equal((s.items[1] as { items: Cond[] }).items[0]!.value, 'Тула', 'the old state is untouched');
    assert.equal(updateCond(s, [1, 0], null).items.length, 1);
    assert.equal(updateCond(s, [0], null).items[0]!.kind, 'group');
    assert.deepEqual(changeField(cond('city', 'eq', 'Москва'), f('fields.level')), cond('fields.level', 'in'));
    assert.deepEqual(changeOp(cond('fields.level', 'in', '', ['Золото']), 'notIn').values, ['Золото']);
    assert.deepEqual(changeOp(cond('fields.level', 'in', '', ['Золото']), 'isEmpty').values, []);
  });

  it('a saved filter opens back into the builder as it was built; a deeper one is refused', () => {
    assert.deepEqual(fromApi({ and: [{ field: 'birthDate', op: 'gte', value: '1990-03-05' }, { or: [{ field: 'fields.level', op: 'in', value: ['Золото'] }, { field: 'city', op: 'in', value: ['Москва', 'Тула'] }] }] }, byKey), {
      join: 'and',
      items: [cond('birthDate', 'gte', '05.03.1990'), { kind: 'group', join: 'or', items: [cond('fields.level', 'in', '', ['Золото']), cond('city', 'in', 'Москва, Тула')] }],
    });
    assert.equal(fromApi({ not: { field: 'city', op: 'eq', value: 'Москва' } }, byKey), null);
    assert.equal(fromApi({ and: [{ or: [{ and: [{ field: 'city', op: 'isEmpty' }] }] }] }, byKey), null);
  });

  it('what the builder sends opens back into the same filter (round trip)', () => {
    const text = fc.constantFrom('Москва', 'Тула', 'Санкт-Петербург');
    const arbCond = fc.oneof(
      fc.record({ kind: fc.constant('cond' as const), field: fc.constant('city'), op: fc.constantFrom('eq', 'ne', 'contains', 'isEmpty'), value: text, values: fc.constant([] as string[]) }),
      fc.record({ kind: fc.constant('cond' as const), field: fc.constant('fields.level'), op: fc.constantFrom('in', 'notIn'), value: fc.constant(''), values: fc.subarray(['Серебро', 'Золото'], { minLength: 1 }) }),
      fc.record({ kind: fc.constant('cond' as const), field: fc.constant('tags'), op: fc.constantFrom('hasAny', 'hasNone'), value: fc.constant(''), values: fc.subarray(['1', '2', '3'], { minLength: 1 }) }),
    );
    const arbState = fc.record({
      join: fc.constantFrom('and' as const, 'or' as const),
      items: fc.array(fc.oneof(arbCond, fc.record({ kind: fc.constant('group' as const), join: fc.constantFrom('and' as const, 'or' as const), items: fc.array(arbCond, { minLength: 2, maxLength: 3 }) })), { minLength: 2, maxLength: 4 }),
    });
    fc.assert(
      fc.property(arbState, (s) => {
        const api = toApi(s, byKey);
        const back = fromApi(api, byKey);
        assert.ok(back);
        assert.deepEqual(toApi(back, byKey), api);
      }),
    );
  });
});

describe('filter summary and field groups', () => {
  const words = { field: (x: string, _op: string) => ({ city: 'Город', tags: 'Теги', birthDate: 'Дата рождения' })[x] ?? x, op: (o: string) => ({ eq: 'равно', hasAny: 'есть любой из', birthdayThisMonth: 'день рождения в этом месяце' })[o] ?? o, value: (field: string, v: unknown) => (field === 'tags' ? `#${String(v)}` : String(v)), and: 'И', or: 'ИЛИ', not: 'НЕ' };

  it('reads a filter in one line, groups in brackets', () => {
    const tree = { and: [{ field: 'city', op: 'eq', value: 'Москва' }, { or: [{ field: 'birthDate', op: 'birthdayThisMonth' }, { field: 'tags', op: 'hasAny', value: [7, 9] }] }] };
    assert.equal(summarize(tree, words), 'Город равно Москва И (Дата рождения день рождения в этом месяце ИЛИ Теги есть любой из #7, #9)');
    assert.equal(summarize({ not: { field: 'city', op: 'eq', value: 'Тула' } }, words), 'НЕ Город равно Тула');
  });

  it('puts every field in a group people look for: ID among identifiers, not first', () => {
    assert.equal(fieldGroup('id'), 'ids');
    assert.equal(fieldGroup('extraKey3'), 'ids');
    assert.equal(fieldGroup('city'), 'personal');
    assert.equal(fieldGroup('utmSource'), 'utm');
    assert.equal(fieldGroup('createdAt'), 'reg');
    assert.equal(fieldGroup('fields.level'), 'custom');
    assert.equal(fieldGroup('tags'), 'tags');
  });
});
