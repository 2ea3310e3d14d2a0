// The one typed client of the API, used by the web UI and by the CLI against a server. Routes are
// named as in the OpenAPI document ("GET /bases/{baseId}"); their parameters, bodies and answers
// are typed by api.gen.ts, generated from that document. Errors come back as ApiError carrying
// the problem's status, code, message (in the caller's language) and field errors.
import type { Endpoints } from './api.gen.ts';

type BodyInit = NonNullable<RequestInit['body']>;

export type { Endpoints };
export type Route = keyof Endpoints;
/** What a route answers. */
export type Res<R extends Route> = Endpoints[R]['response'];
/** What a route takes as its JSON body. */
export type Req<R extends Route> = Endpoints[R]['body'];

type Part<K extends string, T> = [T] extends [never] ? { [P in K]?: never } : {} extends T ? { [P in K]?: T } : { [P in K]: T };
/** A call's arguments: path and query parameters, and the body, each required when the route needs it. */
export type Args<R extends Route> = Part<'path', Endpoints[R]['path']> &
  Part<'query', Endpoints[R]['query']> &
  Part<'body', Endpoints[R]['body']> & {
    /** A raw request body instead of JSON (an upload: a File, a stream), sent as application/octet-stream. */
    upload?: BodyInit;
    signal?: AbortSignal;
  };
type OptionalArgs<R extends Route> = {} extends Args<R> ? [args?: Args<R>] : [args: Args<R>];

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly fields: FieldError[];
  /** The problem's other members (a 409 of identity names `existingId`, the client holding the value). */
  readonly extra: Record<string, unknown>;
  constructor(status: number, message: string, code?: string, fields: FieldError[] = [], extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.extra = extra;
  }
}

export interface ClientOptions {
  /** The server's origin ('' in the browser: same origin). */
  baseUrl: string;
  /** Headers for each request (language, authorization). */
  headers?: () => Record<string, string>;
  /** fetch options for each request (credentials in the browser, a dispatcher in Node). */
  init?: RequestInit;
}

/** "/bases/{baseId}/fields/{key}" with { baseId: 1, key: 'vip' } → "/api/v1/bases/1/fields/vip?…". */
export function routeUrl(route: Route, path?: Record<string, unknown>, query?: Record<string, unknown>): string {
  const template = route.slice(route.indexOf(' ') + 1);
  const filled = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = path?.[name];
    if (v === undefined || v === null) throw new Error(`${route}: path parameter ${name} is missing`);
    return encodeURIComponent(String(v));
  });
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) q.set(k, String(v));
  const qs = q.toString();
  return `/api/v1${filled}${qs ? `?${qs}` : ''}`;
}

export async function problemOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let p: { detail?: string; title?: string; code?: string; errors?: FieldError[]; [extra: string]: unknown } = {};
  try {
    p = JSON.parse(text) as typeof p;
    if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new Error('not a problem document');
  } catch {
    p = { detail: `${res.status} ${res.statusText}${text ? `: ${text.slice(0, 300)}` : ''}` };
  }
  const { detail, title, code, errors, type: _type, status: _status, instance: _instance, ...extra } = p;
  return new ApiError(res.status, detail ?? title ?? res.statusText, code, errors ?? [], extra);
}

export interface Client {
  /** Calls a route; resolves with its parsed JSON answer (undefined for 204), throws ApiError. */
  call<R extends Route>(route: R, ...args: OptionalArgs<R>): Promise<Res<R>>;
  /** Calls a route and returns the raw response (downloads); throws ApiError when it is not 2xx. */
  raw<R extends Route>(route: R, ...args: OptionalArgs<R>): Promise<Response>;
  /** The address of a route (for links the browser follows itself). */
  url<R extends Route>(route: R, ...args: OptionalArgs<R>): string;
}

export function createClient(opts: ClientOptions): Client {
  type Loose = { path?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown; upload?: BodyInit; signal?: AbortSignal };
  const send = async (route: Route, a: Loose = {}): Promise<Response> => {
    const method = route.slice(0, route.indexOf(' '));
    const headers: Record<string, string> = { ...opts.headers?.() };
    let body: BodyInit | undefined;
    if (a.upload !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = a.upload;
    } else if (a.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(a.body);
    }
    const url = opts.baseUrl + routeUrl(route, a.path, a.query);
    const init: RequestInit & { duplex?: 'half' } = { ...opts.init, method, headers, body, signal: a.signal };
    // A stream body (the CLI's upload) must say it is sent half-duplex.
    if (body && typeof (body as ReadableStream).getReader === 'function') init.duplex = 'half';
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      const cause = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
      throw new ApiError(0, `cannot reach ${opts.baseUrl || 'the server'}: ${cause}`, 'unreachable');
    }
    if (!res.ok) throw await problemOf(res);
    return res;
  };
  return {
    async call(route, ...args) {
      const res = await send(route, args[0] as Loose);
      if (res.status === 204) return undefined as never;
      return (await res.json()) as never;
    },
    raw: (route, ...args) => send(route, args[0] as Loose),
    url(route, ...args) {
      const a = (args[0] ?? {}) as Loose;
      return opts.baseUrl + routeUrl(route, a.path, a.query);
    },
  };
}
