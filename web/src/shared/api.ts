// The API as the UI calls it: the one typed client (src/client, generated from the OpenAPI
// document) with the session cookie and the UI's language; errors are ApiError carrying the
// server's message in that language and the field errors.
import { ApiError, createClient, type Req, type Res } from '../../../src/client/client.ts';

export { ApiError };
export type { Req, Res };

const client = createClient({
  baseUrl: '',
  init: { credentials: 'same-origin' },
  headers: () => ({ 'accept-language': localStorage.getItem('lang') ?? 'ru' }),
});
export const call = client.call;

export type Me = Res<'GET /auth/me'>;
export type Base = Res<'GET /bases/{baseId}'>;
export type Page = Res<'POST /bases/{baseId}/profiles/search'>;
export type Profile = Page['items'][number];
export type SearchQuery = Omit<Req<'POST /bases/{baseId}/profiles/search'>, 'limit' | 'cursor' | 'columns' | 'withTotal' | 'sort'>;

/** Queries several screens share, one definition each (the same key must fetch the same thing). */
export const filterFieldsQuery = (baseId: number) => ({ queryKey: ['filter-fields', baseId], queryFn: () => call('GET /bases/{baseId}/filter-fields', { path: { baseId } }) });
export const tableSettingsQuery = (baseId: number) => ({ queryKey: ['table-settings', baseId], queryFn: () => call('GET /bases/{baseId}/table-settings', { path: { baseId } }) });
export const meQuery = { queryKey: ['me'], queryFn: () => call('GET /auth/me') };
export const baseQuery = (baseId: number) => ({ queryKey: ['base', baseId], queryFn: () => call('GET /bases/{baseId}', { path: { baseId } }) });
export const fieldsQuery = (baseId: number) => ({ queryKey: ['fields', baseId], queryFn: () => call('GET /bases/{baseId}/fields', { path: { baseId } }) });
export const tagsQuery = (baseId: number) => ({ queryKey: ['tags', baseId], queryFn: () => call('GET /bases/{baseId}/tags', { path: { baseId } }) });
export const segmentsQuery = (baseId: number) => ({ queryKey: ['segments', baseId], queryFn: () => call('GET /bases/{baseId}/segments', { path: { baseId } }) });
