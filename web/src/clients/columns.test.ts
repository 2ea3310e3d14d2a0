import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canPin, cycleSort, displayOrder, fitWidth, MAX_FIT, MAX_PINNED, MIN_WIDTH, moveBy, moveColumn, searchColumns, setWidth, sortField, tableState, togglePin, toggleColumn, type TableSettings } from './columns.ts';

const base = (): TableSettings => ({ columns: ['fullName', 'phone', 'email', 'city', 'tags', 'createdAt'], pinned: ['fullName'], sort: [{ field: 'createdAt', dir: 'desc' }] });

describe('clients table column settings', () => {
  it('the gear hides a column (unpinning it) and shows it again at the end; the last column cannot be hidden', () => {
    const hidden = toggleColumn(base(), 'fullName');
    assert.deepEqual(hidden.columns, ['phone', 'email', 'city', 'tags', 'createdAt']);
    assert.deepEqual(hidden.pinned, []);
    assert.deepEqual(toggleColumn(hidden, 'fullName').columns, ['phone', 'email', 'city', 'tags', 'createdAt', 'fullName']);
    const one = { columns: ['phone'], pinned: [], sort: [] };
    assert.deepEqual(toggleColumn(one, 'phone'), one);
  });

  it('dragging a column onto another puts it in that place, both ways; the keyboard moves one place', () => {
    assert.deepEqual(moveColumn(base(), 'city', 'phone').columns, ['fullName', 'city', 'phone', 'email', 'tags', 'createdAt']);
    assert.deepEqual(moveColumn(base(), 'phone', 'tags').columns, ['fullName', 'email', 'city', 'tags', 'phone', 'createdAt']);
    assert.deepEqual(moveBy(base(), 'email', -1).columns, ['fullName', 'email', 'phone', 'city', 'tags', 'createdAt']);
    assert.deepEqual(moveBy(base(), 'createdAt', 1), base(), 'the last one stays last');
    assert.deepEqual(moveColumn(base(), 'nope', 'phone'), base());
  });

  it('pins up to five columns; the sixth is refused; pinned ones are drawn first', () => {
    let s: TableSettings = base();
    for (const c of ['phone', 'email', 'city', 'tags']) s = togglePin(s, c);
    assert.equal(s.pinned.length, MAX_PINNED);
    assert.equal(canPin(s, 'createdAt'), false);
    assert.deepEqual(togglePin(s, 'createdAt'), s);
    assert.equal(canPin(s, 'phone'), true, 'a pinned column can always be unpinned');
    assert.deepEqual(togglePin(s, 'phone').pinned, ['fullName', 'email', 'city', 'tags']);
    const mixed = togglePin(base(), 'city');
    assert.deepEqual(displayOrder(mixed), ['fullName', 'city', 'phone', 'email', 'tags', 'createdAt']);
  });

  it('a header click sorts ascending, then descending, then back to the default order', () => {
    let s = cycleSort(base(), 'city');
    assert.deepEqual(s.sort, [{ field: 'city', dir: 'asc' }]);
    s = cycleSort(s, 'city');
    assert.deepEqual(s.sort, [{ field: 'city', dir: 'desc' }]);
    assert.deepEqual(cycleSort(s, 'city').sort, []);
    assert.deepEqual(cycleSort(s, 'phone').sort, [{ field: 'phone', dir: 'asc' }], 'another header starts over');
    assert.equal(sortField('fullName', 'fullName'), 'lastName');
    assert.equal(sortField('tags', 'tags'), null);
    assert.equal(sortField('fields.colors', 'valueTags'), null);
    assert.equal(sortField('fields.level', 'list'), 'fields.level');
  });

  it('asks the search for the name parts the full name needs, and maps to TanStack state', () => {
    assert.deepEqual(searchColumns(base()), ['lastName', 'firstName', 'middleName', 'phone', 'email', 'city', 'tags', 'createdAt']);
    const st = tableState(base(), ['fullName', 'phone', 'email', 'city', 'tags', 'createdAt', 'gender']);
    assert.deepEqual(st.columnOrder, ['select', 'fullName', 'phone', 'email', 'city', 'tags', 'createdAt', 'gender']);
    assert.deepEqual(st.columnPinning, { left: ['select', 'fullName'] });
    assert.equal(st.columnVisibility.gender, false);
    assert.equal(st.columnVisibility.phone, true);
    assert.deepEqual(st.sorting, [{ id: 'createdAt', desc: true }]);
  });

  it('whatever the user does, the settings stay valid for the API (pins ≤ 5 and among the columns, no repeats)', () => {
    const all = ['fullName', 'phone', 'email', 'city', 'tags', 'createdAt', 'gender', 'birthDate', 'fields.level'];
    const op = fc.oneof(
      fc.record({ k: fc.constant('toggle' as const), c: fc.constantFrom(...all) }),
      fc.record({ k: fc.constant('pin' as const), c: fc.constantFrom(...all) }),
      fc.record({ k: fc.constant('move' as const), c: fc.constantFrom(...all), t: fc.constantFrom(...all) }),
      fc.record({ k: fc.constant('by' as const), c: fc.constantFrom(...all), d: fc.constantFrom(-1 as const, 1 as const) }),
      fc.record({ k: fc.constant('sort' as const), c: fc.constantFrom(...all) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        let s = base();
        for (const o of ops) {
          if (o.k === 'toggle') s = toggleColumn(s, o.c);
          else if (o.k === 'pin') s = togglePin(s, o.c);
          else if (o.k === 'move') s = moveColumn(s, o.c, o.t);
          else if (o.k === 'by') s = moveBy(s, o.c, o.d);
          else s = cycleSort(s, o.c);
        }
        assert.ok(s.columns.length >= 1);
        assert.equal(new Set(s.columns).size, s.columns.length);
        assert.ok(s.pinned.length <= MAX_PINNED);
        assert.ok(s.pinned.every((c) => s.columns.includes(c)));
        assert.ok(s.sort.length <= 1);
        assert.deepEqual([...displayOrder(s)].sort(), [...s.columns].sort());
      }),
    );
  });
});

describe('column widths', () => {
  it('a column fits the widest of its header and values, within bounds', () => {
    assert.equal(fitWidth(50, [120.2, 90]), 137);
    assert.equal(fitWidth(200, [10]), 216);
    assert.equal(fitWidth(10, []), 60);
    assert.equal(fitWidth(40, [5000]), MAX_FIT);
  });
  it('a dragged width is kept in bounds; a reset forgets it', () => {
    const s = { columns: ['phone'], pinned: [], sort: [] };
    assert.deepEqual(setWidth(s, 'phone', 10).widths, { phone: MIN_WIDTH });
    assert.deepEqual(setWidth(s, 'phone', 181.6).widths, { phone: 182 });
    assert.deepEqual(setWidth(setWidth(s, 'phone', 181.6), 'phone', null).widths, {});
  });
});
