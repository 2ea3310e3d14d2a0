// The filter builder: conditions joined by AND or OR, and groups of conditions with their own AND/OR
// (one level deep: "city is Москва AND (birthday this month OR tag VIP)"). Fields and their operators
// come from the API (/filter-fields); a filter can be saved as a segment, and a saved one opened.
import { Alert, Button, Card, Group, SegmentedControl, Select, Stack, Text, TextInput } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { call, ApiError, type Res } from './api.ts';

type FilterField = Res<'GET /bases/{baseId}/filter-fields'>['items'][number];
interface Cond {
  kind: 'cond';
  field: string;
  op: string;
  value: string;
}
interface Grp {
  kind: 'group';
  join: 'and' | 'or';
  items: Cond[];
}
type Segment = Res<'GET /bases/{baseId}/segments'>['items'][number];
export type ApiFilter = Record<string, unknown>;

const NO_VALUE = new Set(['isEmpty', 'isNotEmpty', 'birthdayThisMonth']);
const LIST_OPS = new Set(['in', 'notIn', 'hasAny', 'hasAll', 'hasNone', 'birthMonthIn']);
const NUMERIC = new Set(['number']);
const NUMBER_OPS = new Set(['withinLastDays', 'olderThanDays', 'birthdayInNextDays']);

function toApi(c: Cond, fields: Map<string, FilterField>): ApiFilter {
  const f = fields.get(c.field);
  const num = (v: string) => (NUMERIC.has(f?.type ?? '') || NUMBER_OPS.has(c.op) || c.op === 'birthMonthIn' ? Number(v.replace(',', '.')) : v.trim());
  if (NO_VALUE.has(c.op)) return { field: c.field, op: c.op };
  if (LIST_OPS.has(c.op)) return { field: c.field, op: c.op, value: c.value.split(/[,;]/).map((v) => num(v)).filter((v) => v !== '') };
  if (c.op === 'between') return { field: c.field, op: c.op, value: c.value.split(/\.\.|[,;]/).map((v) => num(v)) };
  return { field: c.field, op: c.op, value: num(c.value) };
}

export function FilterBuilder({ baseId, query, onApply }: { baseId: number; query: { q?: string[] }; onApply: (filter: ApiFilter | null, label?: string) => void }) {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const lang = i18n.language === 'en' ? 'en' : 'ru';
  const meta = useQuery({ queryKey: ['filter-fields', baseId], queryFn: () => call('GET /bases/{baseId}/filter-fields', { path: { baseId } }) });
  const segments = useQuery({ queryKey: ['segments', baseId], queryFn: () => call('GET /bases/{baseId}/segments', { path: { baseId } }) });
  const fields = new Map((meta.data?.items ?? []).map((f) => [f.field, f]));
  const [join, setJoin] = useState<'and' | 'or'>('and');
  const [items, setItems] = useState<(Cond | Grp)[]>([]);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const newCond = (): Cond => ({ kind: 'cond', field: 'city', op: 'eq', value: '' });
  const build = (): ApiFilter | null => {
    if (!items.length) return null;
    const parts = items.map((it) => (it.kind === 'cond' ? toApi(it, fields) : { [it.join]: it.items.map((c) => toApi(c, fields)) }));
    return parts.length === 1 ? parts[0]! : { [join]: parts };
  };
  const fieldOptions = (meta.data?.items ?? []).filter((f) => f.type !== 'segment').map((f) => ({ value: f.field, label: f.label[lang] || f.field }));
  const condRow = (c: Cond, update: (c: Cond | null) => void) => {
    const f = fields.get(c.field);
    return (
      <Group gap="xs" wrap="nowrap">
        <Select size="xs" searchable aria-label={t('flt_field')} data={fieldOptions} value={c.field} onChange={(v) => v && update({ ...c, field: v, op: fields.get(v)?.ops[0] ?? 'eq' })} w={220} />
        <Select size="xs" aria-label={t('flt_op')} data={(f?.ops ?? []).map((o) => ({ value: o, label: t(`op_${o}`, { defaultValue: o }) }))} value={c.op} onChange={(v) => v && update({ ...c, op: v })} w={190} />
        {!NO_VALUE.has(c.op) && <TextInput size="xs" aria-label={t('flt_value')} placeholder={LIST_OPS.has(c.op) ? t('flt_list_hint') : c.op === 'between' ? t('flt_between_hint') : ''} value={c.value} onChange={(e) => update({ ...c, value: e.currentTarget.value })} w={220} />}
        <Button size="xs" variant="subtle" color="gray" onClick={() => update(null)} aria-label={t('flt_remove')}>
          ×
        </Button>
      </Group>
    );
  };
  return (
    <Card withBorder mb="xs" data-testid="filter-builder">
      <Stack gap="xs">
        <Group justify="space-between">
          <Group gap="xs">
            <Text size="sm" fw={600}>{t('flt_title')}</Text>
            {items.length > 1 && <SegmentedControl size="xs" value={join} onChange={(v) => setJoin(v as 'and' | 'or')} data={[{ value: 'and', label: t('flt_and') }, { value: 'or', label: t('flt_or') }]} />}
          </Group>
          <Select
            size="xs"
            placeholder={t('seg_open')}
            aria-label={t('seg_open')}
            data={(segments.data?.items ?? []).filter((s) => s.kind === 'dynamic').map((s) => ({ value: String(s.id), label: s.name }))}
            value={null}
            onChange={(v) => {
              const s = segments.data?.items.find((x) => String(x.id) === v);
              if (s?.query) onApply((s.query.filter as ApiFilter | undefined) ?? null, s.name);
            }}
          />
        </Group>
        {items.map((it, i) =>
          it.kind === 'cond' ? (
            <div key={i}>{condRow(it, (c) => setItems(c ? items.map((x, j) => (j === i ? c : x)) : items.filter((_, j) => j !== i)))}</div>
          ) : (
            <Card key={i} withBorder p="xs" bg="var(--mantine-color-gray-0)">
              <Stack gap="xs">
                <SegmentedControl size="xs" w={160} value={it.join} onChange={(v) => setItems(items.map((x, j) => (j === i ? { ...it, join: v as 'and' | 'or' } : x)))} data={[{ value: 'and', label: t('flt_and') }, { value: 'or', label: t('flt_or') }]} />
                {it.items.map((c, k) => (
                  <div key={k}>
                    {condRow(c, (n) => {
                      const group: Grp = { ...it, items: n ? it.items.map((x, m) => (m === k ? n : x)) : it.items.filter((_, m) => m !== k) };
                      setItems(group.items.length ? items.map((x, j) => (j === i ? group : x)) : items.filter((_, j) => j !== i));
                    })}
                  </div>
                ))}
                <Button size="xs" variant="subtle" w={200} onClick={() => setItems(items.map((x, j) => (j === i ? { ...it, items: [...it.items, newCond()] } : x)))}>
                  {t('flt_add')}
                </Button>
              </Stack>
            </Card>
          ),
        )}
        <Group gap="xs">
          <Button size="xs" variant="light" onClick={() => setItems([...items, newCond()])}>{t('flt_add')}</Button>
          <Button size="xs" variant="light" onClick={() => setItems([...items, { kind: 'group', join: 'or', items: [newCond(), newCond()] }])}>{t('flt_add_group')}</Button>
          <Button size="xs" onClick={() => onApply(build())}>{t('flt_apply')}</Button>
          <Button size="xs" variant="default" onClick={() => (setItems([]), onApply(null))}>{t('flt_reset')}</Button>
          <TextInput size="xs" placeholder={t('seg_name')} aria-label={t('seg_name')} value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <Button
            size="xs"
            variant="default"
            disabled={!name.trim()}
            onClick={async () => {
              setError(null);
              try {
                const filter = build();
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
        {saved && <Text size="sm" c="green">{t('seg_saved', { name: saved })}</Text>}
        {error && <Alert color="red">{error}</Alert>}
      </Stack>
    </Card>
  );
}
