// A base's clients: quick search with several values as chips (Enter adds one), the exact count,
// and a virtualized table that loads pages by keyset cursor as it scrolls (a million rows scroll).
import { Alert, Badge, Button, Checkbox, CloseButton, Group, Loader, Text, TextInput, Title } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { call, type Base, type Page, type Profile } from './api.ts';
import { ActionBar } from './Actions.tsx';
import { ClientCard } from './Card.tsx';
import { FilterBuilder, type ApiFilter } from './Filter.tsx';
import { ExportDialog } from './Export.tsx';
import { ImportWizard } from './Import.tsx';
import { formatDate } from './i18n.ts';

const COLUMNS = ['lastName', 'firstName', 'middleName', 'phone', 'email', 'cardNumber', 'city', 'birthDate'];
const ROW = 36;
const GRID = '32px 2.2fr 1.3fr 2fr 1.2fr 1fr 1fr';

const fullName = (p: Profile) => [p.lastName, p.firstName, p.middleName].filter(Boolean).join(' ');

export function Clients({ baseId, onBack }: { baseId: number; onBack: () => void }) {
  const { t } = useTranslation();
  const [chips, setChips] = useState<string[]>([]);
  const [text, setText] = useState('');
  const [open, setOpen] = useState<number | null>(null);
  const [importing, setImporting] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [allFound, setAllFound] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [filter, setFilter] = useState<{ filter: ApiFilter; label: string } | null>(null);
  const base = useQuery({ queryKey: ['base', baseId], queryFn: () => call('GET /bases/{baseId}', { path: { baseId } }) });
  const values = text.trim() ? [...chips, text.trim()] : chips;
  const pages = useInfiniteQuery({
    queryKey: ['clients', baseId, values, filter?.filter],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      call('POST /bases/{baseId}/profiles/search', { path: { baseId }, body: {
        ...(values.length ? { q: values } : {}),
        ...(filter ? { filter: filter.filter } : {}),
        limit: 200,
        columns: COLUMNS,
        withTotal: pageParam === null,
        ...(pageParam ? { cursor: pageParam } : {}),
      } }),
    getNextPageParam: (last) => last.nextCursor,
  });
  const rows = pages.data?.pages.flatMap((p) => p.items) ?? [];
  const total = pages.data?.pages[0]?.total;
  const searchKey = JSON.stringify([values, filter]);
  useEffect(() => {
    setSelected(new Set());
    setAllFound(false);
  }, [searchKey]);
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (!next.delete(id)) next.add(id);
    setSelected(next);
    setAllFound(false);
  };
  const chosen = allFound ? (total ?? 0) : selected.size;
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 20 });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 50 && pages.hasNextPage && !pages.isFetchingNextPage) void pages.fetchNextPage();
  }, [last, rows.length, pages]);

  return (
    <>
      <Group justify="space-between" mb="sm">
        <Title order={2}>{base.data?.name ?? ''}</Title>
        <Group>
          <Button onClick={() => setImporting(true)}>{t('imp_open')}</Button>
          <Button variant="light" onClick={() => setExporting(true)}>{t('exp_open')}</Button>
          <Button variant="default" onClick={onBack}>
            {t('back')}
          </Button>
        </Group>
      </Group>
      <TextInput
        placeholder={t('search')}
        value={text}
        onChange={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && text.trim()) {
            setChips([...chips, text.trim()]);
            setText('');
          }
          if (e.key === 'Backspace' && !text && chips.length) setChips(chips.slice(0, -1));
        }}
        aria-label={t('search')}
        leftSection={chips.length ? undefined : null}
        mb="xs"
      />
      <FilterBuilder baseId={baseId} query={values.length ? { q: values } : {}} onApply={(f, label) => setFilter(f ? { filter: f, label: label ?? t('filter_custom') } : null)} />
      <Group gap="xs" mb="xs">
        {filter && (
          <Badge color="grape" variant="light" rightSection={<CloseButton size="xs" onClick={() => setFilter(null)} aria-label="×" />}>
            {t('filter_on', { label: filter.label })}
          </Badge>
        )}
        {chips.map((c, i) => (
          <Badge key={`${c}-${i}`} variant="light" rightSection={<CloseButton size="xs" onClick={() => setChips(chips.filter((_, j) => j !== i))} aria-label="×" />}>
            {c}
          </Badge>
        ))}
        <Text size="sm" data-testid="found-count">
          {total !== undefined ? t('found', { count: total }) : pages.isPending ? t('loading') : ''}
        </Text>
      </Group>
      {pages.error && <Alert color="red">{pages.error.message}</Alert>}
      {notice && (
        <Alert color="green" withCloseButton onClose={() => setNotice(null)} mb="xs">
          {notice}
        </Alert>
      )}
      {chosen > 0 && (
        <ActionBar
          baseId={baseId}
          count={chosen}
          target={allFound ? { query: { ...(values.length ? { q: values } : {}), ...(filter ? { filter: filter.filter } : {}) } } : { ids: [...selected] }}
          onDone={(m) => {
            setNotice(m);
            setSelected(new Set());
            setAllFound(false);
          }}
        />
      )}
      <div role="table" aria-rowcount={total ?? rows.length} style={{ border: '1px solid var(--mantine-color-gray-3)', borderRadius: 4 }}>
        <div role="row" style={{ display: 'grid', gridTemplateColumns: GRID, fontWeight: 600, padding: '6px 8px', borderBottom: '1px solid var(--mantine-color-gray-3)' }}>
          <Checkbox
            aria-label={t('selectAll')}
            title={t('selectAll')}
            checked={allFound}
            onChange={(e) => {
              setAllFound(e.currentTarget.checked);
              setSelected(new Set());
            }}
          />
          {['col_name', 'col_phone', 'col_email', 'col_card', 'col_city', 'col_birth'].map((k) => (
            <div role="columnheader" key={k}>
              {t(k)}
            </div>
          ))}
        </div>
        <div ref={scroller} style={{ height: 'calc(100vh - 260px)', minHeight: 300, overflow: 'auto' }} data-testid="rows">
          {rows.length === 0 && !pages.isPending && <Text p="md">{t('nothing')}</Text>}
          <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
            {items.map((v) => {
              const p = rows[v.index]!;
              return (
                <div
                  role="row"
                  key={p.id}
                  tabIndex={0}
                  onClick={() => setOpen(p.id)}
                  onKeyDown={(e) => e.key === 'Enter' && setOpen(p.id)}
                  style={{ cursor: 'pointer', position: 'absolute', top: 0, left: 0, right: 0, height: ROW, transform: `translateY(${v.start}px)`, display: 'grid', gridTemplateColumns: GRID, alignItems: 'center', padding: '0 8px', borderBottom: '1px solid var(--mantine-color-gray-1)', whiteSpace: 'nowrap', overflow: 'hidden' }}
                >
                  <div role="cell" onClick={(e) => e.stopPropagation()}>
                    <Checkbox aria-label={fullName(p)} checked={allFound || selected.has(p.id)} onChange={() => toggle(p.id)} disabled={allFound} />
                  </div>
                  <div role="cell">{fullName(p)}</div>
                  <div role="cell">{p.phone}</div>
                  <div role="cell">{p.email}</div>
                  <div role="cell">{p.cardNumber}</div>
                  <div role="cell">{p.city}</div>
                  <div role="cell">{formatDate(p.birthDate)}</div>
                </div>
              );
            })}
          </div>
          {pages.isFetchingNextPage && <Loader size="sm" m="sm" />}
        </div>
      </div>
      <ClientCard baseId={baseId} id={open} onClose={() => setOpen(null)} />
      <ImportWizard baseId={baseId} opened={importing} onClose={() => setImporting(false)} />
      <ExportDialog baseId={baseId} query={{ ...(values.length ? { q: values } : {}), ...(filter ? { filter: filter.filter } : {}) }} opened={exporting} onClose={() => setExporting(false)} />
    </>
  );
}
