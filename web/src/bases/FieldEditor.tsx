// The fields of a profile base as an editable table, shared by the creation wizard (new fields only)
// and the settings editor (the standard fields locked, the custom ones editable, new ones added):
// key and type, the Russian and English names, required, the default (an input of the field's type),
// a list's options and mode. Saving sends each new field (POST) and each changed one (PATCH); the
// API's errors come back per row, at the input they concern.
import { Autocomplete, Badge, Button, Checkbox, CloseButton, Code, Group, NumberInput, Select, Stack, Table, Text, Textarea, TextInput, VisuallyHidden } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { labelOf, useLang } from '../shared/i18n.ts';
import { call, type Req, type Res } from '../shared/api.ts';
import { errorsOf, type Errors } from './BaseForm.tsx';
import { formatDate } from '../shared/format.ts';
import { LockIcon } from '../shared/icons.tsx';

export type Field = Res<'GET /bases/{baseId}/fields'>['items'][number];
export const FIELD_TYPES = ['string', 'int', 'float', 'date', 'boolean', 'list', 'ip', 'tags'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
type FieldBody = Req<'POST /bases/{baseId}/fields'>;

/** A custom field as the table edits it; `orig` is the field as the API has it (null: not created yet). */
export interface FieldDraft {
  id: string;
  orig: Field | null;
  key: string;
  type: FieldType;
  ru: string;
  en: string;
  required: boolean;
  /** The default as its input holds it ('' is none; 'true'/'false' for a boolean). */
  def: string;
  listMode: 'static' | 'free';
  /** The options, one per line. */
  options: string;
}
/** A row's errors: at its inputs, and the rest as one message. */
export interface RowErrors {
  fields: Errors;
  general: string | null;
}
export type FieldErrors = Record<string, RowErrors>;

let seq = 0;
export const newFieldDraft = (): FieldDraft => ({ id: `new-${++seq}`, orig: null, key: '', type: 'string', ru: '', en: '', required: false, def: '', listMode: 'static', options: '' });

export function fieldDraftOf(f: Field, id = `field-${f.key}`): FieldDraft {
  const v = f.default;
  const def = v === null ? '' : Array.isArray(v) ? v.join(', ') : f.type === 'date' && typeof v === 'string' ? formatDate(v, 'ru') : String(v);
  return { id, orig: f, key: f.key, type: f.type as FieldType, ru: f.label.ru, en: f.label.en, required: f.required, def, listMode: f.listMode ?? 'static', options: f.options.join('\n') };
}

/** Options one per line; a single line is split at commas. Unique regardless of case, as the API keeps them. */
export function parseOptions(text: string): string[] {
  const out: string[] = [];
  for (const o of text.split(text.includes('\n') ? '\n' : ',').map((x) => x.trim())) if (o && !out.some((x) => x.toLowerCase() === o.toLowerCase())) out.push(o);
  return out;
}

function defaultValue(d: FieldDraft): FieldBody['default'] {
  const s = d.def.trim();
  if (!s) return null;
  if (d.type === 'int' || d.type === 'float') return Number.isFinite(Number(s)) ? Number(s) : s;
  if (d.type === 'boolean') return s === 'true';
  if (d.type === 'tags') return s.split(',').map((x) => x.trim()).filter(Boolean);
  return s; // a date as typed (ДД.ММ.ГГГГ or ISO): the API reads both
}

const fieldBody = (d: FieldDraft) => ({
  type: d.type,
  label: { ru: d.ru, en: d.en },
  required: d.required,
  default: defaultValue(d),
  ...(d.type === 'list' ? { listMode: d.listMode, options: parseOptions(d.options) } : {}),
});

const signature = (d: FieldDraft) => JSON.stringify([d.key, d.type, d.ru, d.en, d.required, d.def, d.listMode, d.options]);
/** New, or changed since the API last said what it is. */
export const isDirty = (d: FieldDraft) => d.orig === null || signature(d) !== signature(fieldDraftOf(d.orig));

const FIELD_INPUTS = ['key', 'type', 'label', 'label.ru', 'label.en', 'required', 'default', 'listMode', 'options'] as const;

/** Creates the new fields and changes the changed ones; each saved row takes the API's answer, each refused one keeps its draft. */
export async function saveFields(baseId: number, drafts: FieldDraft[]): Promise<{ drafts: FieldDraft[]; errors: FieldErrors }> {
  const errors: FieldErrors = {};
  const next: FieldDraft[] = [];
  for (const d of drafts) {
    if (!isDirty(d)) {
      next.push(d);
      continue;
    }
    try {
      const out = d.orig
        ? await call('PATCH /bases/{baseId}/fields/{key}', { path: { baseId, key: d.orig.key }, body: fieldBody(d) })
        : await call('POST /bases/{baseId}/fields', { path: { baseId }, body: { key: d.key.trim(), ...fieldBody(d) } });
      next.push(fieldDraftOf(out, d.id));
    } catch (e) {
      const at = errorsOf(e, FIELD_INPUTS);
      // The API blames `type` when stored values do not fit; a list that kept its type lost an option they use.
      if (d.type === 'list' && d.orig?.type === 'list' && at.fields.type) {
        at.fields.options = at.fields.type;
        delete at.fields.type;
      }
      errors[d.id] = at;
      next.push(d);
    }
  }
  return { drafts: next, errors };
}

function DefaultInput({ d, set, error }: { d: FieldDraft; set: (def: string) => void; error: string | undefined }) {
  const { t } = useTranslation();
  const common = { 'aria-label': t('bs_default'), size: 'xs', error } as const;
  switch (d.type) {
    case 'int':
    case 'float':
      return <NumberInput {...common} value={d.def} allowDecimal={d.type === 'float'} onChange={(v) => set(String(v))} />;
    case 'boolean':
      return <Checkbox {...common} label={t('bs_default_true')} checked={d.def === 'true'} onChange={(e) => set(e.currentTarget.checked ? 'true' : '')} />;
    case 'list': {
      const data = parseOptions(d.options);
      if (d.listMode === 'free') return <Autocomplete {...common} data={data} value={d.def} onChange={set} />;
      return <Select {...common} data={data} value={d.def || null} clearable onChange={(v) => set(v ?? '')} />;
    }
    default:
      return <TextInput {...common} placeholder={d.type === 'date' ? t('bs_date_hint') : d.type === 'tags' ? t('flt_list_hint') : undefined} value={d.def} onChange={(e) => set(e.currentTarget.value)} />;
  }
}

function FieldRow({ d, errors, onChange, onRemove }: { d: FieldDraft; errors: RowErrors | undefined; onChange: (d: FieldDraft) => void; onRemove: () => void }) {
  const { t } = useTranslation();
  const lang = useLang();
  const e = errors?.fields ?? {};
  const set = (patch: Partial<FieldDraft>) => onChange({ ...d, ...patch });
  const name = labelOf(d, lang, d.key);
  return (
    <>
      <Table.Tr data-testid={`field-${d.orig?.key ?? d.id}`}>
        <Table.Td>
          {d.orig ? (
            <Stack gap={4} align="flex-start">
              <Code>{d.key}</Code>
              {e.key && <Text size="xs" c="red">{e.key}</Text>}
            </Stack>
          ) : (
            <Stack gap={4} align="flex-start">
              <TextInput size="xs" aria-label={t('bw_key')} value={d.key} onChange={(x) => set({ key: x.currentTarget.value })} error={e.key} />
              <Badge size="xs" variant="light">{t('bs_new_field')}</Badge>
            </Stack>
          )}
        </Table.Td>
        <Table.Td>
          <Select
            size="xs"
            aria-label={t('bw_type')}
            data={FIELD_TYPES.map((x) => ({ value: x, label: t(`type_${x}`) }))}
            value={d.type}
            allowDeselect={false}
            onChange={(v) => v && set({ type: v as FieldType, def: '' })}
            error={e.type}
          />
        </Table.Td>
        <Table.Td>
          <Stack gap={4}>
            <TextInput size="xs" aria-label={t('bw_label')} value={d.ru} onChange={(x) => set({ ru: x.currentTarget.value })} error={e['label.ru'] ?? e.label} />
            <TextInput size="xs" aria-label={t('bs_label_en')} placeholder="English" value={d.en} onChange={(x) => set({ en: x.currentTarget.value })} error={e['label.en']} />
          </Stack>
        </Table.Td>
        <Table.Td>
          <Checkbox aria-label={t('bs_required')} checked={d.required} onChange={(x) => set({ required: x.currentTarget.checked })} error={e.required} />
        </Table.Td>
        <Table.Td>
          <DefaultInput d={d} set={(def) => set({ def })} error={e.default} />
        </Table.Td>
        <Table.Td>
          {d.type === 'list' ? (
            <Stack gap={4}>
              <Select
                size="xs"
                aria-label={t('bs_list_mode')}
                data={[{ value: 'static', label: t('bs_mode_static') }, { value: 'free', label: t('bs_mode_free') }]}
                value={d.listMode}
                allowDeselect={false}
                onChange={(v) => v && set({ listMode: v as FieldDraft['listMode'] })}
                error={e.listMode}
              />
              <Textarea size="xs" aria-label={t('bs_options')} placeholder={t('bs_options')} autosize minRows={2} maxRows={8} value={d.options} onChange={(x) => set({ options: x.currentTarget.value })} error={e.options} />
            </Stack>
          ) : (
            <Text size="xs" c="dimmed">—</Text>
          )}
        </Table.Td>
        <Table.Td>
          <CloseButton c={d.orig ? 'red' : undefined} aria-label={d.orig ? t('bs_delete_field', { name }) : t('bs_remove_new')} onClick={onRemove} />
        </Table.Td>
      </Table.Tr>
      {errors?.general && (
        <Table.Tr>
          <Table.Td colSpan={7}>
            <Text size="xs" c="red" role="alert">{errors.general}</Text>
          </Table.Td>
        </Table.Tr>
      )}
    </>
  );
}

function StandardRow({ f }: { f: Field }) {
  const { t } = useTranslation();
  const lang = useLang();
  return (
    <Table.Tr data-testid={`field-${f.key}`} c="dimmed">
      <Table.Td>
        <Group gap={6} wrap="nowrap">
          <span role="img" aria-label={t('bs_locked')} title={t('bs_locked')}>
            <LockIcon />
          </span>
          <Code>{f.key}</Code>
        </Group>
      </Table.Td>
      <Table.Td>{t(`type_${f.type}`, { defaultValue: f.type })}</Table.Td>
      <Table.Td>{labelOf(f.label, lang)}</Table.Td>
      <Table.Td>
        <Checkbox aria-label={t('bs_required')} checked={f.required} disabled readOnly />
      </Table.Td>
      <Table.Td colSpan={3}>
        <Group gap="xs">
          <Badge size="xs" variant="outline" color="gray">{t('bs_standard_field')}</Badge>
          {f.options.length > 0 && <Text size="xs">{f.options.map((o) => t(`enum_${f.key}_${o}`, { defaultValue: o })).join(', ')}</Text>}
        </Group>
      </Table.Td>
    </Table.Tr>
  );
}

/**
 * The fields table: the standard fields (when given) locked, then the custom ones as drafts.
 * Removing a new row drops it; removing a saved field is the caller's (it asks first).
 */
export function FieldsTable({
  standard = [],
  drafts,
  errors,
  onChange,
  onDelete,
}: {
  standard?: Field[];
  drafts: FieldDraft[];
  errors: FieldErrors;
  onChange: (drafts: FieldDraft[]) => void;
  onDelete?: (d: FieldDraft) => void;
}) {
  const { t } = useTranslation();
  // Below the custom fields: in the table when the standard ones follow.
  const add = (
    <Button variant="light" w={220} onClick={() => onChange([...drafts, newFieldDraft()])}>
      {t('bw_add_field')}
    </Button>
  );
  return (
    <Stack>
      {drafts.length === 0 && <Text size="sm" c="dimmed">{t('bs_no_custom')}</Text>}
      {standard.length + drafts.length > 0 && (
        <Table.ScrollContainer minWidth={1000}>
          <Table verticalSpacing="xs" data-testid="fields-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th w={180}>{t('bw_key')}</Table.Th>
                <Table.Th w={150}>{t('bw_type')}</Table.Th>
                <Table.Th>{t('bs_col_label')}</Table.Th>
                <Table.Th w={40}>{t('bs_required')}</Table.Th>
                <Table.Th w={170}>{t('bs_default')}</Table.Th>
                <Table.Th w={230}>{t('bs_col_options')}</Table.Th>
                <Table.Th w={40}>
                  <VisuallyHidden>{t('bs_col_actions')}</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {drafts.map((d) => (
                <FieldRow
                  key={d.id}
                  d={d}
                  errors={errors[d.id]}
                  onChange={(next) => onChange(drafts.map((x) => (x.id === d.id ? next : x)))}
                  onRemove={() => (d.orig && onDelete ? onDelete(d) : onChange(drafts.filter((x) => x.id !== d.id)))}
                />
              ))}
              {standard.length > 0 && (
                <>
                  <Table.Tr>
                    <Table.Td colSpan={7}>{add}</Table.Td>
                  </Table.Tr>
                  <Table.Tr>
                    <Table.Td colSpan={7} pt="lg">
                      <Text size="sm" fw={600} c="dimmed">{t('bs_standard_fields')}</Text>
                    </Table.Td>
                  </Table.Tr>
                </>
              )}
              {standard.map((f) => (
                <StandardRow key={f.key} f={f} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {standard.length === 0 && add}
    </Stack>
  );
}
