// The one error type of the domain. Services throw AppError with a code from a
// closed list; src/http/problem.ts maps it to HTTP in exactly one place.
import type { MessageKey } from '../i18n/messages.ts';

export type { MessageKey } from '../i18n/messages.ts';

export const ERROR_CODES = [
  'validation_failed',
  'bad_request',
  'unauthorized',
  'forbidden',
  'password_change_required',
  'not_found',
  'conflict',
  'gone',
  'payload_too_large',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type MessageParams = Record<string, string | number>;

/** A problem with one input field: `field` is the path as the client sent it (`phone`, `fields.score`). */
export interface FieldError {
  field: string;
  key: MessageKey;
  params?: MessageParams;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detailKey: MessageKey | undefined;
  readonly params: MessageParams;
  readonly errors: FieldError[];
  readonly extra: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    opts: { detail?: MessageKey; params?: MessageParams; errors?: FieldError[]; extra?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(opts.detail ?? code, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.detailKey = opts.detail;
    this.params = opts.params ?? {};
    this.errors = opts.errors ?? [];
    this.extra = opts.extra ?? {};
  }
}

export const notFound = (what: 'base' | 'profile' | 'field' | 'token' | 'user' | 'import' | 'import_template', id: string | number) =>
  new AppError('not_found', { detail: `not_found.${what}`, params: { id } });

export const invalid = (errors: FieldError[]) => new AppError('validation_failed', { errors });

export const invalidField = (field: string, key: MessageKey, params?: MessageParams) =>
  invalid([{ field, key, ...(params ? { params } : {}) }]);

/** Collects field errors so a request reports every bad field at once, not the first only. */
export class FieldErrors {
  readonly list: FieldError[] = [];
  add(field: string, key: MessageKey, params?: MessageParams): void {
    this.list.push({ field, key, ...(params ? { params } : {}) });
  }
  throwIfAny(): void {
    if (this.list.length) throw invalid(this.list);
  }
}

/** PostgreSQL error codes we translate. */
export function pgCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

/**
 * The constraint an error names, as declared on the parent table: a base's partition of profiles names
 * its indexes after the parent's with the base as a suffix (profiles_phone_key_b7, migration 0008).
 */
export function pgConstraint(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('constraint' in e)) return undefined;
  return String((e as { constraint: unknown }).constraint).replace(/_b[0-9]+$/, '');
}
