// The loaded pages of the clients table in the query cache: a change to one client (a tag put on in
// its card) redraws that row, without reading every loaded page again.
import type { InfiniteData, QueryClient } from '@tanstack/react-query';
import type { Page } from '../shared/api.ts';

type Row = Page['items'][number];

/** `row` with the values of `p` for the columns the row holds (and only those). */
export function withValues(row: Row, p: Partial<Row> & { fields?: Record<string, unknown> }): Row {
  const next: Record<string, unknown> = { ...row };
  for (const k of Object.keys(row)) {
    if (k === 'fields' && row.fields && p.fields) next.fields = Object.fromEntries(Object.keys(row.fields).map((f) => [f, p.fields![f] ?? null]));
    else if (k in p) next[k] = (p as Record<string, unknown>)[k];
  }
  return next as Row;
}

/** Puts a client's new values into every loaded page of this base's table that shows them. */
export function updateRow(qc: QueryClient, baseId: number, p: Partial<Row> & { id: number }) {
  qc.setQueriesData<InfiniteData<Page>>({ queryKey: ['clients', baseId] }, (old) =>
    old ? { ...old, pages: old.pages.map((page) => ({ ...page, items: page.items.map((row) => (row.id === p.id ? withValues(row, p) : row)) })) } : old,
  );
}
