// A base's clients: quick search with several values as chips (Enter adds one), a pasted list of
// phones, cards or emails, the filter builder, the exact count, the table (columns as this user set
// them), and actions on the selection or on everything found. What is found and the open card are
// the address (route.ts): this screen reads its view from the route and changes it by navigating.
import { Alert, Badge, Button, CloseButton, Group, Modal, Text, Textarea, TextInput } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useDebouncedValue } from '@mantine/hooks';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../shared/errors.tsx';
import { call, type SearchQuery, filterFieldsQuery, segmentsQuery } from '../shared/api.ts';
import { BaseNav } from '../bases/BaseNav.tsx';
import { LIST_MAX, type ClientsView, type Route } from '../shared/route.ts';
import { canGoBack, navigate } from '../shared/router.ts';
import { ActionBar } from './Actions.tsx';
import { ClientCard } from '../card/Card.tsx';
import { searchColumns } from './columns.ts';
import { ExportDialog } from '../exports/Export.tsx';
import { FilterBuilder } from './Filter.tsx';
import { ImportWizard } from '../imports/Import.tsx';
import { LogsDialog } from '../imports/Logs.tsx';
import { ClientsTable, MATCH_FIELDS, useTableSettings } from './Table.tsx';

/** Entries of a pasted list: one per line, or separated by commas, semicolons or tabs. */
const listEntries = (text: string) => text.split(/[\n\r,;\t]+/).map((s) => s.trim()).filter(Boolean);

/** A search value as the new client's phone, email or card (a search that found nobody starts the form with it). */
function presetOf(values: string[]): Record<string, string> {
  const v = values[values.length - 1]?.trim() ?? '';
  if (/^\S+@\S+\.\S+$/.test(v)) return { email: v };
  if (/^[+\d][\d\s()-]{9,}$/.test(v)) return { phone: v };
  return {};
}

export function Clients({ route }: { route: Extract<Route, { screen: 'clients' }> }) {
  const { t } = useTranslation();
  const { baseId } = route;
  const setView = (patch: Partial<ClientsView>, opts?: { replace?: boolean }) => navigate({ ...route, ...patch }, opts);
  const chips = route.q;
  const setChips = (q: string[]) => setView({ q, text: '' });
  // The search box follows the address when it changes from outside (Back, a link), not while typing.
  const [text, setText] = useState(route.text);
  const written = useRef(route.text);
  useEffect(() => {
    if (route.text !== written.current) (written.current = route.text), setText(route.text);
  }, [route.text]);
  // A long pasted list is not in the address (LIST_MAX): the screen keeps it until it is cleared.
  const [pastedList, setPastedList] = useState<string[]>(route.list);
  const listKey = route.list.join('\n');
  useEffect(() => {
    if (route.list.length || pastedList.join('\n').length <= LIST_MAX) setPastedList(route.list);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [listKey]);
  const list = pastedList;
  const setList = (next: string[]) => (setPastedList(next), setView({ list: next }));
  const [pasting, setPasting] = useState<string | null>(null);
  const open = route.card;
  const setOpen = (id: number | 'new') => setView({ card: id });
  const closeCard = () => (canGoBack() ? window.history.back() : setView({ card: null }, { replace: true }));
  const [importing, setImporting] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [logs, setLogs] = useState(false);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [allFound, setAllFound] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const segments = useQuery(segmentsQuery(baseId));
  const segment = route.segment === null ? undefined : segments.data?.items.find((x) => x.id === route.segment);
  const segmentName = segment?.name ?? null;
  // A manual segment's members shown: the selection can be taken out of it.
  const f = route.filter as { field?: string; op?: string; value?: unknown } | null;
  const members = segment?.kind === 'manual' && f?.field === 'segment' && f.op === 'inSegment' && Number(f.value) === segment.id ? { id: segment.id, name: segment.name } : undefined;
  const filter = route.filter ? { filter: route.filter, label: segmentName !== null ? t('segment_on', { name: segmentName }) : t('filter_on', { label: t('filter_custom') }) } : null;
  const meta = useQuery(filterFieldsQuery(baseId));
  const table = useTableSettings(baseId);
  // The view's sort (from a link, or a header click) over the user's saved one.
  const settings = table.settings && (route.sort ? { ...table.settings, sort: route.sort } : table.settings);
  // What is being typed searches once the typing pauses, not on every key.
  const [typed] = useDebouncedValue(text.trim(), 300);
  useEffect(() => {
    if (typed === route.text.trim()) return;
    written.current = typed;
    setView({ text: typed }, { replace: true });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typed]);
  const valuesKey = JSON.stringify(typed ? [...chips, typed] : chips);
  const values = useMemo(() => JSON.parse(valuesKey) as string[], [valuesKey]);
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
        // A quick search also reads the identifiers, so a row found by one not shown says so.
        body: { ...query, limit: 200, columns: values.length ? [...new Set([...searchColumns(settings!), ...MATCH_FIELDS])] : searchColumns(settings!), sort: settings!.sort, withTotal: pageParam === null, ...(pageParam ? { cursor: pageParam } : {}) },
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
  const error = pages.error ?? meta.error ?? table.error;
  const retry = () => {
    for (const q of [pages, meta]) if (q.error) void q.refetch();
    if (table.error) table.retry();
  };

  const empty = searching ? (
    <Group>
      <Text>{route.filter || list.length ? t('nothing_filtered') : t('nothing')}</Text>
      {(route.filter || list.length > 0) && (
        <Button size="xs" variant="default" onClick={() => (setPastedList([]), setView({ filter: null, segment: null, list: [] }))}>
          {t('search_everywhere')}
        </Button>
      )}
      <Button size="xs" variant="light" onClick={() => setOpen('new')}>
        {t('nc_open')}
      </Button>
    </Group>
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
      <BaseNav baseId={baseId} screen="clients">
        <Button onClick={() => setOpen('new')}>{t('nc_open')}</Button>
        <Button variant="light" onClick={() => setImporting(true)}>
          {t('imp_open')}
        </Button>
        <Button variant="light" onClick={() => setExporting(true)}>
          {t('exp_open')}
        </Button>
        <Button variant="default" onClick={() => setLogs(true)}>
          {t('logs_open')}
        </Button>
      </BaseNav>
      <Group gap="xs" mb="xs" wrap="nowrap">
        <TextInput
          style={{ flex: 1 }}
          placeholder={t('search')}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && text.trim()) {
              written.current = '';
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
      <FilterBuilder
        baseId={baseId}
        query={values.length ? { q: values } : {}}
        applied={route.filter}
        segment={route.segment}
        onApply={(f, segment) => setView({ filter: f, segment: f ? (segment ?? null) : null })}
      />
      <Group gap="xs" mb="xs">
        {filter && (
          <Badge color="grape" variant="light" tt="none" data-testid="filter-chip" rightSection={<CloseButton size="xs" onClick={() => setView({ filter: null, segment: null })} aria-label={t('remove')} />}>
            {filter.label}
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
      <ErrorAlert error={error} retry={retry} mb="xs" />
      {notice && (
        <Alert color="green" withCloseButton onClose={() => setNotice(null)} mb="xs">
          {notice}
        </Alert>
      )}
      <ActionBar
        baseId={baseId}
        count={chosen}
        target={allFound ? { query } : { ids: [...selected] }}
        segment={members}
        sort={settings?.sort}
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
          onSettings={(next) => {
            table.set(next);
            // A new sort is the view's too (a link carries it); the saved one follows it.
            if (JSON.stringify(next.sort) !== JSON.stringify(settings.sort)) setView({ sort: next.sort.length ? next.sort : null }, { replace: true });
          }}
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
          search={values}
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
      <ClientCard
        baseId={baseId}
        id={open}
        preset={open === 'new' ? presetOf(values) : undefined}
        onClose={closeCard}
        onOpen={(id) => setView({ card: id }, { replace: true })}
      />
      <ImportWizard baseId={baseId} opened={importing} onClose={() => setImporting(false)} />
      <LogsDialog baseId={baseId} opened={logs} onClose={() => setLogs(false)} />
      <ExportDialog baseId={baseId} target={{ query }} sort={settings?.sort} {...(total !== undefined ? { count: total } : {})} opened={exporting} onClose={() => setExporting(false)} />
    </>
  );
}
