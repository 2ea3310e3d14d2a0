import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryClient } from '@tanstack/react-query';
import { updateRow, withValues } from './rows.ts';

describe('a changed client in the loaded table', () => {
  it('takes the new values of the columns the row holds, and no others', () => {
    const row = { id: 7, lastName: 'Иванов', tags: [1], fields: { level: 'Silver' } };
    const p = { id: 7, lastName: 'Иванов', email: 'a@b.ru', tags: [1, 3], fields: { level: 'Gold', score: 5 } };
    assert.deepEqual(withValues(row as never, p as never), { id: 7, lastName: 'Иванов', tags: [1, 3], fields: { level: 'Gold' } });
  });

  it('changes that row in every loaded page of the base, not other bases, and reads nothing again', () => {
    const qc = new QueryClient();
    const page = (ids: number[]) => ({ items: ids.map((id) => ({ id, tags: [] as number[] })), nextCursor: null });
    qc.setQueryData(['clients', 1, { q: ['a'] }], { pages: [page([1, 2]), page([7])], pageParams: [null, 'c'] });
    qc.setQueryData(['clients', 1, {}], { pages: [page([7, 8])], pageParams: [null] });
    qc.setQueryData(['clients', 2, {}], { pages: [page([7])], pageParams: [null] });
    updateRow(qc, 1, { id: 7, tags: [5] });
    const tagsOf = (key: unknown[]) => (qc.getQueryData(key) as { pages: { items: { id: number; tags: number[] }[] }[] }).pages.flatMap((p) => p.items).filter((r) => r.id === 7).map((r) => r.tags);
    assert.deepEqual(tagsOf(['clients', 1, { q: ['a'] }]), [[5]]);
    assert.deepEqual(tagsOf(['clients', 1, {}]), [[5]]);
    assert.deepEqual(tagsOf(['clients', 2, {}]), [[]], 'another base is left alone');
    assert.equal(qc.isFetching(), 0);
  });
});
