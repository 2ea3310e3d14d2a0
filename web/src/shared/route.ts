// Every screen has an address: the bases list (/), a base's start page (/bases/12), its clients with
// the quick search, pasted list, filter, sort and open card (/bases/12/clients?q=916&card=345), and its
// segments (/bases/12/segments). The address is the screen's state: a reload restores it, Back and
// Forward walk it, a link opens the same screen for a colleague. Parsing and formatting are pure
// (route.test.ts); router.ts connects them to the browser's history.
import type { SortKey } from '../clients/columns.ts';
import type { ApiFilter } from '../clients/filterState.ts';

export interface ClientsView {
  /** Quick-search values (each a chip). */
  q: string[];
  /** What is in the search box, not yet a chip (it searches too). */
  text: string;
  /** A pasted list of phones, cards or emails (in the address only while short: see LIST_MAX). */
  list: string[];
  filter: ApiFilter | null;
  /** The segment the filter came from (its name labels the filter). */
  segment: number | null;
  /** The sort of this view; null: the user's saved one. */
  sort: SortKey[] | null;
  /** The open card: a client's id, or 'new' for the new-client form. */
  card: number | 'new' | null;
}

export type Route =
  | { screen: 'bases' }
  | { screen: 'base'; baseId: number }
  | ({ screen: 'clients'; baseId: number } & ClientsView)
  | { screen: 'segments'; baseId: number };

/** A pasted list longer than this (joined) stays out of the address: a reload would hit the server's request-line limit. */
export const LIST_MAX = 2000;

export const emptyView: ClientsView = { q: [], text: '', list: [], filter: null, segment: null, sort: null, card: null };

const positive = (s: string | null) => (s && /^\d{1,15}$/.test(s) && Number(s) > 0 ? Number(s) : null);

function json<T>(s: string | null, ok: (v: unknown) => boolean): T | null {
  if (!s) return null;
  try {
    const v: unknown = JSON.parse(s);
    return ok(v) ? (v as T) : null;
  } catch {
    return null;
  }
}

const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isSort = (v: unknown) => Array.isArray(v) && v.every((k) => isObject(k) && typeof k.field === 'string' && (k.dir === 'asc' || k.dir === 'desc'));

/** The route of an address (path and query); anything unknown is the bases list. */
export function parseRoute(pathname: string, search: string): Route {
  const m = /^\/bases\/(\d{1,15})(?:\/(clients|segments))?\/?$/.exec(pathname);
  const baseId = m ? positive(m[1]!) : null;
  if (!m || baseId === null) return { screen: 'bases' };
  if (m[2] === 'segments') return { screen: 'segments', baseId };
  if (m[2] !== 'clients') return { screen: 'base', baseId };
  const p = new URLSearchParams(search);
  const card = p.get('card');
  const list = p.get('list');
  return {
    screen: 'clients',
    baseId,
    q: p.getAll('q').filter((s) => s.trim() !== ''),
    text: p.get('text') ?? '',
    list: list ? list.split('\n').filter(Boolean) : [],
    filter: json<ApiFilter>(p.get('filter'), isObject),
    segment: positive(p.get('segment')),
    sort: json<SortKey[]>(p.get('sort'), isSort),
    card: card === 'new' ? 'new' : positive(card),
  };
}

/** The address of a route (path and query). */
export function formatRoute(r: Route): string {
  if (r.screen === 'bases') return '/';
  if (r.screen === 'base') return `/bases/${r.baseId}`;
  if (r.screen === 'segments') return `/bases/${r.baseId}/segments`;
  const p = new URLSearchParams();
  for (const v of r.q) p.append('q', v);
  if (r.text) p.set('text', r.text);
  const list = r.list.join('\n');
  if (list && list.length <= LIST_MAX) p.set('list', list);
  if (r.filter) p.set('filter', JSON.stringify(r.filter));
  if (r.segment !== null) p.set('segment', String(r.segment));
  if (r.sort) p.set('sort', JSON.stringify(r.sort));
  if (r.card !== null) p.set('card', String(r.card));
  const qs = p.toString();
  return `/bases/${r.baseId}/clients${qs ? `?${qs}` : ''}`;
}

/** The clients of a base with this view. */
export const clientsRoute = (baseId: number, view: Partial<ClientsView> = {}): Route => ({ screen: 'clients', baseId, ...emptyView, ...view });
