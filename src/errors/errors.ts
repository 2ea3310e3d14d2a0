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

// The one mapper of PostgreSQL's errors: its codes and constraint names are read here and nowhere else.

function pgCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

/** A serialization failure or a deadlock: the transaction may simply be run again. */
export const isRetryable = (e: unknown): boolean => pgCode(e) === '40001' || pgCode(e) === '40P01';

/** A value PostgreSQL could not read as its column's type (class 22: data exception). */
export const isBadValue = (e: unknown): boolean => pgCode(e)?.startsWith('22') ?? false;

/** A constraint a user's input can break, as the field it names and what the user reads. */
export interface Violation {
  code: ErrorCode;
  field: string;
  key: MessageKey;
  /** The profile column of an identity constraint (the caller looks up who holds the value). */
  column?: 'phone' | 'card_number' | 'email';
}

const CONSTRAINTS: Record<string, Violation> = {
  bases_name_key: { code: 'conflict', field: 'name', key: 'conflict.name' },
  bases_card_prefix_check: { code: 'validation_failed', field: 'cards', key: 'invalid_format' },
  bases_card_length_check: { code: 'validation_failed', field: 'cards', key: 'invalid_format' },
  fields_pkey: { code: 'conflict', field: 'key', key: 'conflict.key' },
  tags_name_key: { code: 'conflict', field: 'name', key: 'conflict.tag_name' },
  tags_base_id_fkey: { code: 'not_found', field: 'baseId', key: 'not_found.base' },
  segments_name_key: { code: 'conflict', field: 'name', key: 'conflict.segment_name' },
  import_templates_name_key: { code: 'conflict', field: 'name', key: 'conflict.import_template_name' },
  profiles_phone_key: { code: 'conflict', field: 'phone', key: 'conflict.phone', column: 'phone' },
  profiles_card_key: { code: 'conflict', field: 'cardNumber', key: 'conflict.cardNumber', column: 'card_number' },
  profiles_subscriber_email_key: { code: 'conflict', field: 'email', key: 'conflict.email', column: 'email' },
};

/**
 * The constraint an error broke, if it is one a user can break. A base's partition of profiles names
 * its indexes after the parent's with the base as a suffix (profiles_phone_key_b7, migration 0008).
 */
export function violation(e: unknown): Violation | undefined {
  const code = pgCode(e);
  if (code !== '23505' && code !== '23514' && code !== '23503') return undefined;
  if (typeof e !== 'object' || e === null || !('constraint' in e)) return undefined;
  return CONSTRAINTS[String((e as { constraint: unknown }).constraint).replace(/_b[0-9]+$/, '')];
}

/** A broken constraint as the AppError the user reads (params fill its message); anything else unchanged. */
export function fromDb(e: unknown, params: MessageParams = {}): unknown {
  const v = violation(e);
  if (!v) return e;
  if (v.code === 'not_found') return new AppError('not_found', { detail: v.key, params });
  const errors = [{ field: v.field, key: v.key, params }];
  return v.code === 'conflict' ? new AppError('conflict', { detail: v.key, params, errors }) : invalid(errors);
}
