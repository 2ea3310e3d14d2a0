// The one way the UI shows what went wrong. An API error names fields: a form shows each message at
// its input (`splitError`), and everything else — the messages of fields it has no input for, a
// refusal without fields, a network failure — in one red alert (`ErrorAlert`), with «Повторить» when
// the caller can retry.
import { Alert, Button } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ApiError } from './api.ts';

export type FieldMessages = Record<string, string>;

/** An array item's path names its input: `tags[2]` and `tags.2` are at `tags`. */
const inputOf = (path: string) => path.replace(/(\.\d+|\[\d+\])$/, '');

/**
 * An error as messages at the inputs `at` accepts (several for one input joined) and the lines left
 * for the alert: the other fields' messages, or the error's own message when no field took one.
 */
export function splitError(e: unknown, at: readonly string[] | ((field: string) => boolean) = []): { fields: FieldMessages; lines: string[] } {
  if (!e) return { fields: {}, lines: [] };
  if (!(e instanceof ApiError)) return { fields: {}, lines: [e instanceof Error ? e.message : String(e)] };
  const has = typeof at === 'function' ? at : (f: string) => at.includes(f);
  const fields: FieldMessages = {};
  const lines: string[] = [];
  for (const f of e.fields) {
    const input = inputOf(f.field);
    if (has(input)) fields[input] = fields[input] ? `${fields[input]}; ${f.message}` : f.message;
    else if (!lines.includes(f.message)) lines.push(f.message);
  }
  if (!Object.keys(fields).length && !lines.length) lines.push(e.message);
  return { fields, lines };
}

/** The message of one field of an error (for an input outside a form helper), or undefined. */
export const fieldError = (e: unknown, field: string) => (e instanceof ApiError ? e.fields.find((f) => inputOf(f.field) === field)?.message : undefined);

/** The lines of an error a form has no inputs for, as one alert; nothing when there are none. */
export function ErrorAlert({ error, at, retry, onClose, mb }: { error: unknown; at?: readonly string[] | ((field: string) => boolean); retry?: () => void; onClose?: () => void; mb?: string }) {
  const { t } = useTranslation();
  const { lines } = splitError(error, at);
  if (!lines.length) return null;
  return (
    <Alert color="red" role="alert" mb={mb} withCloseButton={!!onClose} onClose={onClose} data-testid="error-alert">
      {lines.map((l, i) => (
        <div key={i}>{l}</div>
      ))}
      {retry && (
        <Button size="xs" variant="white" mt={4} onClick={retry}>
          {t('retry')}
        </Button>
      )}
    </Alert>
  );
}
