// Every error leaves the API here, as application/problem+json (RFC 9457),
// in the caller's language. No stack traces or SQL ever reach the client.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isMessageKey, pickLang, t, type Lang, type MessageKey } from '../i18n/messages.ts';
import { AppError, isRetryable, type ErrorCode, type FieldError } from '../errors/errors.ts';

const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  password_change_required: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  internal: 500,
};

export interface Problem {
  type: string;
  status: number;
  title: string;
  detail: string;
  code: ErrorCode;
  errors?: { field: string; message: string }[];
  requestId?: string;
  [extra: string]: unknown;
}

export function renderProblem(err: AppError, lang: Lang, requestId?: string): Problem {
  const status = STATUS[err.code];
  const errors = err.errors.map((e) => ({ field: e.field, message: t(lang, e.key, e.params) }));
  const detail = err.detailKey
    ? t(lang, err.detailKey, { ...err.params, requestId: requestId ?? '' })
    : err.code === 'validation_failed'
      ? t(lang, 'validation_failed', { fields: [...new Set(err.errors.map((e) => e.field))].join(', ') })
      : t(lang, `title.${err.code}`);
  return {
    type: `https://kartoteka.dev/problems/${err.code}`,
    status,
    title: t(lang, `title.${err.code}`),
    detail,
    code: err.code,
    ...(errors.length ? { errors } : {}),
    ...err.extra,
    ...(status >= 500 && requestId ? { requestId } : {}),
  };
}

type ZodIssueLike = { keyword: string; instancePath: string; message?: string; params: Record<string, unknown> };

/** zod issues (from the route schemas) to our field errors, translated by key. */
export function zodIssuesToFieldErrors(issues: ZodIssueLike[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    const path = issue.instancePath.split('/').filter(Boolean).join('.');
    const field = [prefix, path].filter(Boolean).join('.') || prefix || '(body)';
    const p = issue.params;
    switch (issue.keyword) {
      case 'invalid_type': {
        const expected = String(p.expected ?? 'string');
        if (issue.message?.includes('received undefined')) out.push({ field, key: 'required' });
        else {
          const typeKey = `type.${expected}`;
          out.push({ field, key: 'invalid_type', params: { expected: isMessageKey(typeKey) ? `@${typeKey}` : expected } });
        }
        break;
      }
      case 'too_big':
        out.push({
          field,
          key: p.origin === 'string' ? 'too_long' : p.origin === 'array' ? 'too_many' : 'too_big',
          params: { max: String(p.maximum) },
        });
        break;
      case 'too_small':
        out.push({
          field,
          key: p.origin === 'string' ? (Number(p.minimum) === 1 ? 'required' : 'too_short') : 'too_small',
          params: { min: String(p.minimum) },
        });
        break;
      case 'invalid_value':
        out.push({ field, key: 'invalid_enum', params: { values: ((p.values as unknown[]) ?? []).map(String).join(', ') } });
        break;
      case 'unrecognized_keys':
        for (const k of (p.keys as string[]) ?? []) out.push({ field: field === '(body)' ? k : `${field}.${k}`, key: 'unknown_key' });
        break;
      default:
        out.push({ field, key: issue.message && isMessageKey(issue.message) ? issue.message : 'invalid_format' });
    }
  }
  return out;
}

/** Second pass for messages whose params are message keys themselves (`@type.string`). */
function localizeParams(err: AppError, lang: Lang): AppError {
  for (const e of err.errors) {
    if (!e.params) continue;
    for (const [k, v] of Object.entries(e.params)) {
      if (typeof v === 'string' && v.startsWith('@') && isMessageKey(v.slice(1))) e.params[k] = t(lang, v.slice(1) as MessageKey);
    }
  }
  return err;
}

/** Turns anything thrown into an AppError. Unknown errors become `internal` (and are logged by the caller). */
export function toAppError(error: unknown, bodyLimit: number, contentType = ''): AppError {
  if (error instanceof AppError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const ctx = (error as { validationContext?: string }).validationContext;
    const prefix = ctx === 'querystring' ? 'query' : ctx === 'params' ? 'params' : ctx === 'headers' ? 'headers' : '';
    return new AppError('validation_failed', { errors: zodIssuesToFieldErrors(error.validation as ZodIssueLike[], prefix) });
  }
  const fe = error as FastifyError;
  switch (fe?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', { detail: 'payload_too_large', params: { limit: bodyLimit } });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('bad_request', { detail: 'bad_request.json' });
    case 'FST_ERR_BAD_URL':
      return new AppError('bad_request', { detail: 'bad_request.url' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('bad_request', { detail: 'bad_request.content_type', params: { type: contentType.split(';')[0]!.trim().slice(0, 100) || '-' } });
  }
  if (error instanceof SyntaxError && fe.statusCode === 400) return new AppError('bad_request', { detail: 'bad_request.json' });
  if (isRetryable(error)) return new AppError('conflict', { detail: 'conflict.base_changed' });
  if (typeof fe?.statusCode === 'number' && fe.statusCode === 413) {
    return new AppError('payload_too_large', { detail: 'payload_too_large', params: { limit: bodyLimit } });
  }
  // Any other client error Fastify raises itself (a wrong Content-Length, …): the client's fault, not ours.
  if (typeof fe?.code === 'string' && fe.code.startsWith('FST_') && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new AppError('bad_request', { cause: error });
  }
  return new AppError('internal', { detail: 'internal', cause: error });
}

export function sendProblem(req: FastifyRequest, reply: FastifyReply, error: unknown, bodyLimit: number): FastifyReply {
  const appErr = toAppError(error, bodyLimit, req.headers['content-type']);
  if (appErr.code === 'internal') req.log.error({ err: error }, 'unhandled error');
  const lang = pickLang(req.headers['accept-language']);
  const body = renderProblem(localizeParams(appErr, lang), lang, req.id);
  return reply
    .code(body.status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .header('content-language', lang)
    .serializer(JSON.stringify)
    .send(body);
}
