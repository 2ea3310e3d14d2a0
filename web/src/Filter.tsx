// The filter builder: conditions joined by AND or OR, and groups of conditions with their own AND/OR.
// Fields and operators come from the API (/filter-fields); values of lists, tags and enums are
// checkboxes with how many clients have each. A filter is saved as a segment; a saved one opens back
// into the builder. The state rules live in filterState.ts.
import { Alert, Button, Card, Checkbox, Group, ScrollArea, SegmentedControl, Select, Stack, Text, TextInput } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { call, ApiError, type SearchQuery, filterFieldsQuery } from './api.ts';
import { changeField, changeOp, fromApi, isCheckboxCond, LIST_OPS, newCond, NO_VALUE, toApi, updateCond, type ApiFilter, type BuilderState, type Cond, type FieldMeta } from './filterState.ts';
import { formatNumber } from './i18n.ts';
import type { FilterField } from './Table.tsx';
import { TagBadge } from './TagPicker.tsx';

export type { ApiFilter };

/** The values a checkbox condition offers: tags with colours, list options and used values with counts, enum values. */
function ValueChecks({ baseId, field, cond, onChange }: { baseId: number; field: FilterField; cond: Cond; onChange: (values: string[]) => void }) {
  const { t } = useTranslation();
  const custom = field.field.startsWith('fields.');
  const tags = useQuery({ queryKey: ['tags', baseId, 'counts'], enabled: field.type === 'tags', queryFn: () => call('GET /bases/{baseId}/tags', { path: { baseId }, query: { withCounts: 'true' } }) });
  const used = useQuery({
    queryKey: ['field-values', baseId, field.field],
    enabled: custom,
    queryFn: () => call('GET /bases/{baseId}/fields/{key}/values', { path: { baseId, key: field.field.slice(7) } }),
  });
  let options: { value: string; label: string; count?: number; color?: string }[];
  if (field.type === 'tags') options = (tags.data?.items ?? []).map((x) => ({ value: String(x.id), label: x.name, count: x.count, color: x.color }));
  else {
    const counts = new Map((used.data?.items ?? []).map((x) => [x.value, x.count]));
    const values = [...new Set([...(field.values ?? []), ...counts.keys()])];
    options = values.map((v) => ({ value: v, label: field.type === 'enum' ? t(`enum_${field.field}_${v}`, { defaultValue: v }) : v, ...(custom ? { count: counts.get(v) ?? 0 } : {}) }));
  }
  const pending = (field.type === 'tags' && tags.isPending) || (custom && used.isPending);
  if (pending) return <Text size="xs" c="dimmed">{t('loading')}</Text>;
  if (!options.length) return <Text size="xs" c="dimmed">{t('flt_no_values')}</Text>;
  return (
    <ScrollArea.Autosize mah={160} type="auto" w={320}>
      <Checkbox.Group value={cond.values} onChange={onChange} aria-label={t('flt_value')}>
        <Stack gap={4}>
          {options.map((o) => (
            <Checkbox
              key={o.value}
              size="xs"
              value={o.value}
              label={
                <Group gap={6} wrap="nowrap">
                  {o.color ? <TagBadge tag={{ name: o.label, color: o.color }} /> : <span>{o.label}</span>}
                  {o.count !== undefined && <Text span size="xs" c="dimmed">{formatNumber(o.count)}</Text>}
                </Group>
              }
            />
          ))}
        </Stack>
      </Checkbox.Group>
    </ScrollArea.Autosize>
  );
}

export function FilterBuilder({ baseId, query, onApply }: { baseId: number; query: SearchQuery; onApply: (filter: ApiFilter | null, label?: string) => void }) {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const lang = i18n.language === 'en' ? 'en' : 'ru';
  const meta = useQuery(filterFieldsQuery(baseId));
  const segments = useQuery({ queryKey: ['segments', baseId], queryFn: () => call('GET /bases/{baseId}/segments', { path: { baseId } }) });
  const fields = new Map<string, FilterField>((meta.data?.items ?? []).map((f) => [f.field, f]));
  const metas = fields as Map<string, FieldMeta>;
  const [state, setState] = useState<BuilderState>({ join: 'and', items: [] });
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const first = (): Cond => newCond(fields.get('city') ?? (meta.data?.items[0] as FieldMeta));
  const fieldOptions = (meta.data?.items ?? []).filter((f) => f.type !== 'segment').map((f) => ({ value: f.field, label: f.label[lang] || f.field }));

  const condRow = (c: Cond, at: [number] | [number, number]) => {
    const f = fields.get(c.field);
    const update = (next: Cond | null) => setState(updateCond(state, at, next));
    const checks = f && isCheckboxCond(c, f);
    return (
      <Group gap="xs" wrap="nowrap" align="flex-start">
        <Select size="xs" searchable aria-label={t('flt_field')} data={fieldOptions} value={c.field} onChange={(v) => v && fields.get(v) && update(changeField(c, fields.get(v)!))} w={220} />
        <Select size="xs" aria-label={t('flt_op')} data={(f?.ops ?? []).map((o) => ({ value: o, label: t(`op_${o}`, { defaultValue: o }) }))} value={c.op} onChange={(v) => v && update(changeOp(c, v))} w={190} />
        {checks && <ValueChecks baseId={baseId} field={f} cond={c} onChange={(values) => update({ ...c, values })} />}
        {!checks && !NO_VALUE.has(c.op) && f?.type === 'boolean' && (
          <Select size="xs" aria-label={t('flt_value')} data={[{ value: 'true', label: t('yes') }, { value: 'false', label: t('no') }]} value={c.value || null} onChange={(v) => update({ ...c, value: v ?? '' })} w={120} />
        )}
        {!checks && !NO_VALUE.has(c.op) && f?.type !== 'boolean' && (
          <TextInput
            size="xs"
            aria-label={t('flt_value')}
            placeholder={LIST_OPS.has(c.op) ? t('flt_list_hint') : c.op === 'between' ? t('flt_between_hint') : f && ['date', 'birthDate', 'datetime'].includes(f.type) ? t('flt_date_hint') : ''}
            value={c.value}
            onChange={(e) => update({ ...c, value: e.currentTarget.value })}
            onKeyDown={(e) => e.key === 'Enter' && onApply(toApi(state, metas))}
            w={220}
          />
        )}
        <Button size="xs" variant="subtle" color="gray" onClick={() => update(null)} aria-label={t('flt_remove')}>
          ×
        </Button>
      </Group>
    );
  };

  const joinControl = (value: 'and' | 'or', set: (v: 'and' | 'or') => void) => (
    <SegmentedControl size="xs" w={160} value={value} onChange={(v) => set(v as 'and' | 'or')} data={[{ value: 'and', label: t('flt_and') }, { value: 'or', label: t('flt_or') }]} />
  );

  return (
    <Card withBorder mb="xs" data-testid="filter-builder">
      <Stack gap="xs">
        <Group justify="space-between">
          <Group gap="xs">
            <Text size="sm" fw={600}>
              {t('flt_title')}
            </Text>
            {state.items.length > 1 && joinControl(state.join, (join) => setState({ ...state, join }))}
          </Group>
          <Select
            size="xs"
            placeholder={t('seg_open')}
            aria-label={t('seg_open')}
            data={(segments.data?.items ?? []).filter((s) => s.kind === 'dynamic').map((s) => ({ value: String(s.id), label: s.name }))}
            value={null}
            onChange={(v) => {
              const s = segments.data?.items.find((x) => String(x.id) === v);
              if (!s?.query) return;
              const filter = (s.query.filter as ApiFilter | undefined) ?? null;
              const opened = fromApi(filter, metas);
              setState(opened ?? { join: 'and', items: [] });
              setError(opened ? null : t('seg_not_editable'));
              onApply(filter, s.name);
            }}
          />
        </Group>
        {state.items.length === 0 && (
          <Text size="xs" c="dimmed">
            {t('flt_empty')}
          </Text>
        )}
        {state.items.map((it, i) =>
          it.kind === 'cond' ? (
            <div key={i}>{condRow(it, [i])}</div>
          ) : (
            <Card key={i} withBorder p="xs" bg="var(--mantine-color-gray-0)">
              <Stack gap="xs">
                {joinControl(it.join, (join) => setState({ ...state, items: state.items.map((x, j) => (j === i ? { ...it, join } : x)) }))}
                {it.items.map((c, k) => (
                  <div key={k}>{condRow(c, [i, k])}</div>
                ))}
                <Button size="xs" variant="subtle" w={200} onClick={() => setState({ ...state, items: state.items.map((x, j) => (j === i ? { ...it, items: [...it.items, first()] } : x)) })}>
                  {t('flt_add')}
                </Button>
              </Stack>
            </Card>
          ),
        )}
        <Group gap="xs">
          <Button size="xs" variant="light" disabled={!meta.data} onClick={() => setState({ ...state, items: [...state.items, first()] })}>
            {t('flt_add')}
          </Button>
          <Button size="xs" variant="light" disabled={!meta.data} onClick={() => setState({ ...state, items: [...state.items, { kind: 'group', join: 'or', items: [first(), first()] }] })}>
            {t('flt_add_group')}
          </Button>
          <Button size="xs" onClick={() => onApply(toApi(state, metas))}>
            {t('flt_apply')}
          </Button>
          <Button size="xs" variant="default" onClick={() => (setState({ join: 'and', items: [] }), onApply(null))}>
            {t('flt_reset')}
          </Button>
          <TextInput size="xs" placeholder={t('seg_name')} aria-label={t('seg_name')} value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <Button
            size="xs"
            variant="default"
            disabled={!name.trim()}
            onClick={async () => {
              setError(null);
              try {
                const filter = toApi(state, metas);
                await call('POST /bases/{baseId}/segments', { path: { baseId }, body: { name: name.trim(), kind: 'dynamic', query: { ...query, ...(filter ? { filter } : {}) } } });
                setSaved(name.trim());
                setName('');
                void qc.invalidateQueries({ queryKey: ['segments', baseId] });
              } catch (e) {
                setError(e instanceof ApiError ? [e.message, ...e.fields.map((f) => f.message)].join(' ') : String(e));
              }
            }}
          >
            {t('seg_save')}
          </Button>
        </Group>
        {saved && (
          <Text size="sm" c="green">
            {t('seg_saved', { name: saved })}
          </Text>
        )}
        {error && <Alert color="red">{error}</Alert>}
      </Stack>
    </Card>
  );
}
