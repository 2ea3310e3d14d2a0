// The API as the UI calls it: the session cookie, JSON in and out, problem+json errors
// carrying the server's message (in the UI's language) and the field errors.
export class ApiError extends Error {
  readonly status: number;
  readonly fields: { field: string; message: string }[];
  constructor(status: number, message: string, fields: { field: string; message: string }[] = []) {
    super(message);
    this.status = status;
    this.fields = fields;
  }
}

/** JSON in and out; a File or Blob body goes as it is (an upload, streamed by the browser). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const raw = body instanceof Blob;
  const res = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: {
      'accept-language': localStorage.getItem('lang') ?? 'ru',
      ...(body === undefined ? {} : { 'content-type': raw ? 'application/octet-stream' : 'application/json' }),
    },
    ...(body === undefined ? {} : { body: raw ? body : JSON.stringify(body) }),
  });
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => ({}))) as { detail?: string; title?: string; errors?: { field: string; message: string }[] };
  if (!res.ok) throw new ApiError(res.status, data.detail ?? data.title ?? res.statusText, data.errors ?? []);
  return data as T;
}

export interface Me {
  login: string;
  mustChangePassword: boolean;
}
export interface Base {
  id: number;
  name: string;
  description: string;
}
export interface Profile {
  id: number;
  lastName?: string | null;
  firstName?: string | null;
  middleName?: string | null;
  phone?: string | null;
  email?: string | null;
  cardNumber?: string | null;
  city?: string | null;
  birthDate?: string | null;
}
export interface Page {
  items: Profile[];
  total?: number;
  nextCursor: string | null;
}
