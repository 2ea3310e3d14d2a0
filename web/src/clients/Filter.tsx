// The filter builder: conditions joined by AND or OR, and groups of conditions with their own AND/OR.
// Fields and operators come from the API (/filter-fields); values of lists, tags and enums are
// checkboxes with how many clients have each. A filter is saved as a segment; a saved one opens back
// into the builder. The state rules live in filterState.ts.
import { Button, Card, Checkbox, Collapse, Group, ScrollArea, SegmentedControl, Select, Stack, Text, TextInput } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../shared/errors.tsx';
import { call, type SearchQuery, filterFieldsQuery, segmentsQuery, tagsQuery } from '../shared/api.ts';
import { changeField, changeOp, FIELD_GROUPS, fieldGroup, fromApi, summarize, isCheckboxCond, LIST_OPS, newCond, NO_VALUE, toApi, updateCond, type ApiFilter, type BuilderState, type Cond, type FieldMeta } from './filterState.ts';
import { formatDate, formatNumber, useLang, labelOf } from '../shared/i18n.ts';
import type { FilterField } from './Table.tsx';
import { TagBadge } from '../shared/TagPicker.tsx';

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
    <ScrollArea.Autosize mah={240} type="auto" w={340} style={{ border: '1px solid var(--mantine-color-default-border)', borderRadius: 4, padding: 6 }}>
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

/** The filter of the table: a one-line summary of what is applied, and the builder folded under it. */
export function FilterBuilder({
  baseId,
  query,
  applied,
  segment,
  onApply,
}: {
  baseId: number;
  query: SearchQuery;
  /** The filter the table shows now (from the address). */
  applied: ApiFilter | null;
  /** The segment the applied filter came from. */
  segment: number | null;
  /** A new filter (null: none), with the segment it came from. */
  onApply: (filter: ApiFilter | null, segment?: number) => void;
}) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const lang = useLang();
  const meta = useQuery(filterFieldsQuery(baseId));
  const segments = useQuery(segmentsQuery(baseId));
  const tagList = useQuery(tagsQuery(baseId));
  const fields = new Map<string, FilterField>((meta.data?.items ?? []).map((f) => [f.field, f]));
  const metas = fields as Map<string, FieldMeta>;
  const [state, setState] = useState<BuilderState>({ join: 'and', items: [] });
  const [opened, setOpened] = useState(false);
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  // The builder shows the applied filter when it changes from outside (a link, Back, a segment).
  const appliedKey = JSON.stringify(applied);
  useEffect(() => {
    if (!meta.data || JSON.stringify(toApi(state, metas)) === appliedKey) return;
    const opened = fromApi(applied, metas);
    setState(opened ?? { join: 'and', items: [] });
    setError(opened ? null : t('seg_not_editable'));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [appliedKey, meta.data]);
  const apply = (f: ApiFilter | null, segment?: number) => {
    onApply(f, segment);
    setOpened(false);
  };
  const first = (): Cond => newCond(fields.get('city') ?? (meta.data?.items[0] as FieldMeta));
  // The field list in groups (personal data, identifiers, registration, UTM, custom, tags), each sorted by name, searchable.
  const fieldOptions = FIELD_GROUPS.map((g) => ({
    group: t(`flt_group_${g}`),
    items: (meta.data?.items ?? [])
      .filter((f) => f.type !== 'segment' && fieldGroup(f.field) === g)
      .map((f) => ({ value: f.field, label: labelOf(f.label, lang, f.field) }))
      .sort((a, b) => a.label.localeCompare(b.label, lang)),
  })).filter((g) => g.items.length);

  const tagName = (id: unknown) => tagList.data?.items.find((x) => x.id === Number(id))?.name ?? `#${String(id)}`;
  const summary = applied
    ? summarize(applied, {
        // «день рождения в этом месяце» and «в сегменте …» say their field themselves.
        field: (f, op) => (op.startsWith('birth') || f === 'segment' ? '' : labelOf(fields.get(f)?.label, lang, f)),
        op: (o) => t(`op_${o}`, { defaultValue: o }),
        value: (f, v) => {
          const type = fields.get(f)?.type;
          if (type === 'tags') return tagName(v);
          if (type === 'segment') return `«${segments.data?.items.find((x) => x.id === Number(v))?.name ?? `#${String(v)}`}»`;
          if (type === 'enum') return t(`enum_${f}_${String(v)}`, { defaultValue: String(v) });
          if (type === 'boolean') return v ? t('yes') : t('no');
          if (typeof v === 'string' && /^\d{4}-\d\d-\d\d$/.test(v)) return formatDate(v);
          return String(v);
        },
        and: t('flt_and'),
        or: t('flt_or'),
        not: t('flt_not'),
      })
    : t('flt_none');
  const chosenSegment = applied && segments.data?.items.some((s) => s.kind === 'dynamic' && s.id === segment) ? segment : null;

  const condRow = (c: Cond, at: [number] | [number, number]) => {
    const f = fields.get(c.field);
    const update = (next: Cond | null) => setState(updateCond(state, at, next));
    const checks = f && isCheckboxCond(c, f);
    return (
      <Group gap="xs" wrap="nowrap" align="flex-start">
        <Select
          size="xs"
          searchable
          aria-label={t('flt_field')}
          data={fieldOptions}
          value={c.field}
          onChange={(v) => v && fields.get(v) && update(changeField(c, fields.get(v)!))}
          w={230}
          maxDropdownHeight={360}
          // Typing replaces the field shown, rather than adding to its name.
          onFocus={(e) => e.currentTarget.select()}
          comboboxProps={{ width: 300 }}
          nothingFoundMessage={t('flt_no_field')}
        />
        <Select
          size="xs"
          aria-label={t('flt_op')}
          data={(f?.ops ?? []).map((o) => ({ value: o, label: t(`op_${o}`, { defaultValue: o }) }))}
          value={c.op}
          onChange={(v) => v && update(changeOp(c, v))}
          w={270}
          comboboxProps={{ width: 'max-content' }}
        />
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
            onKeyDown={(e) => e.key === 'Enter' && apply(toApi(state, metas))}
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
    <Card withBorder mb="xs" p="xs" data-testid="filter-builder">
      <Group justify="space-between" wrap="nowrap" gap="xs">
        <Group gap="xs" wrap="nowrap" style={{ minWidth: 0, flex: 1 }}>
          <Button size="xs" variant={opened ? 'filled' : 'light'} onClick={() => setOpened(!opened)} aria-expanded={opened} aria-controls="filter-panel">
            {opened ? t('flt_fold') : applied ? t('flt_edit') : t('flt_add_filter')}
          </Button>
          <Text size="sm" c={applied ? undefined : 'dimmed'} title={summary} data-testid="filter-summary" style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap', minWidth: 0 }}>
            {summary}
          </Text>
        </Group>
        <Select
          size="xs"
          w={240}
          searchable
          clearable
          placeholder={t('seg_open')}
          aria-label={t('seg_open')}
          data={(segments.data?.items ?? []).filter((s) => s.kind === 'dynamic').map((s) => ({ value: String(s.id), label: s.name }))}
          value={chosenSegment === null ? null : String(chosenSegment)}
          onChange={(v) => {
            if (v === null) return apply(null);
            const s = segments.data?.items.find((x) => String(x.id) === v);
            if (!s?.query) return;
            apply((s.query.filter as ApiFilter | undefined) ?? null, s.id);
          }}
        />
      </Group>
      <Collapse expanded={opened} id="filter-panel">
        <Stack gap="xs" pt="xs">
          {state.items.length === 0 && (
            <Text size="xs" c="dimmed">
              {t('flt_empty')}
            </Text>
          )}
          {state.items.length > 1 && joinControl(state.join, (join) => setState({ ...state, join }))}
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
            <Button size="xs" onClick={() => apply(toApi(state, metas))}>
              {t('flt_apply')}
            </Button>
            <Button size="xs" variant="default" onClick={() => (setState({ join: 'and', items: [] }), apply(null))}>
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
                  const made = await call('POST /bases/{baseId}/segments', { path: { baseId }, body: { name: name.trim(), kind: 'dynamic', query: { ...query, ...(filter ? { filter } : {}) } } });
                  setSaved(made.name);
                  setName('');
                  await qc.invalidateQueries({ queryKey: ['segments', baseId] });
                  // The saved segment is what the table shows now: the chip and the picker name it.
                  onApply(filter, made.id);
                } catch (e) {
                  setError(e);
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
          <ErrorAlert error={error} />
        </Stack>
      </Collapse>
    </Card>
  );
}
