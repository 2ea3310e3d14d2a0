// A base's clients: quick search with several values as chips (Enter adds one), a pasted list of
// phones, cards or emails, the filter builder, the exact count, the table (columns as this user set
// them), and actions on the selection or on everything found.
import { Alert, Badge, Button, CloseButton, Group, Modal, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useDebouncedValue } from '@mantine/hooks';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { call, type SearchQuery, filterFieldsQuery } from './api.ts';
import { ActionBar } from './Actions.tsx';
import { ClientCard } from './Card.tsx';
import { searchColumns } from './columns.ts';
import { ExportDialog } from './Export.tsx';
import { FilterBuilder, type ApiFilter } from './Filter.tsx';
import { ImportWizard } from './Import.tsx';
import { LogsDialog } from './Logs.tsx';
import { ClientsTable, useTableSettings } from './Table.tsx';

/** Entries of a pasted list: one per line, or separated by commas, semicolons or tabs. */
const listEntries = (text: string) => text.split(/[\n\r,;\t]+/).map((s) => s.trim()).filter(Boolean);

export function Clients({ baseId, onBack }: { baseId: number; onBack: () => void }) {
  const { t } = useTranslation();
  const [chips, setChips] = useState<string[]>([]);
  const [text, setText] = useState('');
  const [list, setList] = useState<string[]>([]);
  const [pasting, setPasting] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [importing, setImporting] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [logs, setLogs] = useState(false);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [allFound, setAllFound] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [filter, setFilter] = useState<{ filter: ApiFilter; label: string } | null>(null);
  const base = useQuery({ queryKey: ['base', baseId], queryFn: () => call('GET /bases/{baseId}', { path: { baseId } }) });
  const meta = useQuery(filterFieldsQuery(baseId));
  const table = useTableSettings(baseId);
  const settings = table.settings;
  // What is being typed searches once the typing pauses, not on every key.
  const [typed] = useDebouncedValue(text.trim(), 300);
  const values = typed ? [...chips, typed] : chips;
  const query: SearchQuery = { ...(values.length ? { q: values } : {}), ...(list.length ? { list } : {}), ...(filter ? { filter: filter.filter } : {}) };
  const searching = Object.keys(query).length > 0;
  const pages = useInfiniteQuery({
    queryKey: ['clients', baseId, query, settings?.sort, settings && searchColumns(settings)],
    enabled: settings !== undefined,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      call('POST /bases/{baseId}/profiles/search', {
        signal, // a search overtaken by the next one is dropped
        path: { baseId },
        body: { ...query, limit: 200, columns: searchColumns(settings!), sort: settings!.sort, withTotal: pageParam === null, ...(pageParam ? { cursor: pageParam } : {}) },
      }),
    getNextPageParam: (last) => last.nextCursor,
  });
  const rows = pages.data?.pages.flatMap((p) => p.items) ?? [];
  const total = pages.data?.pages[0]?.total;
  const notFound = pages.data?.pages[0]?.notFound ?? [];
  const searchKey = JSON.stringify(query);
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
  const error = pages.error ?? base.error ?? meta.error ?? table.error;
  const retry = () => {
    for (const q of [pages, base, meta]) if (q.error) void q.refetch();
    if (table.error) table.retry();
  };

  const empty = searching ? (
    <Text>{t('nothing')}</Text>
  ) : (
    <Group>
      <Text>{t('empty_base')}</Text>
      <Button size="xs" onClick={() => setImporting(true)}>
        {t('imp_open')}
      </Button>
    </Group>
  );

  return (
    <>
      <Group justify="space-between" mb="sm">
        <Title order={2}>{base.data?.name ?? ''}</Title>
        <Group>
          <Button onClick={() => setImporting(true)}>{t('imp_open')}</Button>
          <Button variant="light" onClick={() => setExporting(true)}>
            {t('exp_open')}
          </Button>
          <Button variant="default" onClick={() => setLogs(true)}>
            {t('logs_open')}
          </Button>
          <Button variant="default" onClick={onBack}>
            {t('back')}
          </Button>
        </Group>
      </Group>
      <Group gap="xs" mb="xs" wrap="nowrap">
        <TextInput
          style={{ flex: 1 }}
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
        />
        <Button variant="default" onClick={() => setPasting(list.join('\n'))}>
          {t('list_open')}
        </Button>
      </Group>
      <FilterBuilder baseId={baseId} query={values.length ? { q: values } : {}} onApply={(f, label) => setFilter(f ? { filter: f, label: label ?? t('filter_custom') } : null)} />
      <Group gap="xs" mb="xs">
        {filter && (
          <Badge color="grape" variant="light" tt="none" rightSection={<CloseButton size="xs" onClick={() => setFilter(null)} aria-label={t('remove')} />}>
            {t('filter_on', { label: filter.label })}
          </Badge>
        )}
        {list.length > 0 && (
          <Badge color="teal" variant="light" tt="none" rightSection={<CloseButton size="xs" onClick={() => setList([])} aria-label={t('remove')} />}>
            {t('list_on', { count: list.length })}
          </Badge>
        )}
        {chips.map((c, i) => (
          <Badge key={`${c}-${i}`} variant="light" tt="none" data-testid="search-chip" rightSection={<CloseButton size="xs" onClick={() => setChips(chips.filter((_, j) => j !== i))} aria-label={t('remove')} />}>
            {c}
          </Badge>
        ))}
        <Text size="sm" data-testid="found-count">
          {total !== undefined ? t('found', { count: total }) : pages.isFetching ? t('loading') : ''}
        </Text>
      </Group>
      {list.length > 0 && notFound.length > 0 && (
        <Alert color="yellow" mb="xs" title={t('list_missing', { count: notFound.length })} data-testid="not-found">
          {notFound.slice(0, 50).join(', ')}
          {notFound.length > 50 ? ' …' : ''}
        </Alert>
      )}
      {error && (
        <Alert color="red" mb="xs">
          {error.message}{' '}
          <Button size="xs" variant="white" onClick={retry}>
            {t('retry')}
          </Button>
        </Alert>
      )}
      {notice && (
        <Alert color="green" withCloseButton onClose={() => setNotice(null)} mb="xs">
          {notice}
        </Alert>
      )}
      <ActionBar
        baseId={baseId}
        count={chosen}
        target={allFound ? { query } : { ids: [...selected] }}
        onDone={(m) => {
          setNotice(m);
          setSelected(new Set());
          setAllFound(false);
        }}
      />
      {settings && meta.data ? (
        <ClientsTable
          baseId={baseId}
          fields={meta.data.items}
          settings={settings}
          onSettings={table.set}
          rows={rows}
          total={total}
          loading={pages.isPending || !!error}
          fetchingMore={pages.isFetchingNextPage}
          onNearEnd={() => pages.hasNextPage && !pages.isFetchingNextPage && void pages.fetchNextPage()}
          selected={selected}
          allFound={allFound}
          onToggle={toggle}
          onAllFound={(on) => {
            setAllFound(on);
            setSelected(new Set());
          }}
          onOpen={setOpen}
          empty={empty}
        />
      ) : (
        !error && <Text c="dimmed">{t('loading')}</Text>
      )}
      <Modal opened={pasting !== null} onClose={() => setPasting(null)} title={t('list_title')} size="lg">
        <Textarea
          autosize
          minRows={8}
          maxRows={20}
          label={t('list_label')}
          description={t('list_hint')}
          value={pasting ?? ''}
          onChange={(e) => setPasting(e.currentTarget.value)}
          data-autofocus
        />
        <Group justify="space-between" mt="sm">
          <Text size="sm" c="dimmed">
            {t('list_count', { count: listEntries(pasting ?? '').length })}
          </Text>
          <Group>
            <Button variant="default" onClick={() => (setList([]), setPasting(null))}>
              {t('flt_reset')}
            </Button>
            <Button onClick={() => (setList(listEntries(pasting ?? '').slice(0, 10_000)), setPasting(null))} disabled={!listEntries(pasting ?? '').length}>
              {t('list_find')}
            </Button>
          </Group>
        </Group>
      </Modal>
      <ClientCard baseId={baseId} id={open} onClose={() => setOpen(null)} onOpen={setOpen} />
      <ImportWizard baseId={baseId} opened={importing} onClose={() => setImporting(false)} />
      <LogsDialog baseId={baseId} opened={logs} onClose={() => setLogs(false)} />
      <ExportDialog baseId={baseId} target={{ query }} {...(total !== undefined ? { count: total } : {})} opened={exporting} onClose={() => setExporting(false)} />
    </>
  );
}
