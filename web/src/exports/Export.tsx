// The export dialog: the selected clients (ids) or everything a search finds (a query; {} is the
// whole base) to XLSX or CSV for Russian Excel, with the columns chosen (by default the ones the
// table shows); the job's progress; the file to download when it is ready; the export log.
import { Alert, Anchor, Button, Checkbox, Group, Modal, Progress, ScrollArea, SegmentedControl, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../shared/errors.tsx';
import { useJob } from '../shared/useJob.ts';
import type { SortKey } from '../clients/columns.ts';
import { searchColumns } from '../clients/columns.ts';
import { formatDateTime, formatSize, useLang, labelOf } from '../shared/i18n.ts';
import { useActorName } from '../shared/actor.ts';
import { call, type Res, type SearchQuery, filterFieldsQuery, tableSettingsQuery } from '../shared/api.ts';

type Created = Res<'POST /bases/{baseId}/exports'>;

/** What to export: the selected clients, or everything a search finds. */
export type ExportTarget = { ids: number[] } | { query: SearchQuery };

/** The table's standard columns, when the user's table settings are not at hand. */
const TABLE_COLUMNS = ['lastName', 'firstName', 'middleName', 'phone', 'email', 'cardNumber', 'city', 'birthDate'];
/** Filter fields that are not export columns. */
const NOT_COLUMNS = new Set(['fullName', 'segment']);

export function ExportDialog({
  baseId,
  target,
  count,
  sort,
  opened,
  onClose,
}: {
  baseId: number;
  target: ExportTarget;
  /** The table's order: the file's rows come in it. */
  sort?: SortKey[] | undefined;
  /** How many clients the target holds, when the caller knows. */
  count?: number;
  opened: boolean;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const lang = useLang();
  const source = target;
  const [format, setFormat] = useState<'xlsx' | 'csv'>('xlsx');
  const [chosen, setChosen] = useState<string[] | null>(null);
  const [created, setCreated] = useState<Created | null>(null);
  const followed = useJob(created?.jobId ?? null);
  const job = created ? (followed.data ?? null) : null;
  const [error, setError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const qc = useQueryClient();
  const meta = useQuery({ ...filterFieldsQuery(baseId), enabled: opened });
  const table = useQuery({ ...tableSettingsQuery(baseId), enabled: opened });
  const columns = (meta.data?.items ?? []).filter((f) => !NOT_COLUMNS.has(f.field));
  const known = new Set(columns.map((c) => c.field));
  // As the table shows them: its columns (the full name as its three parts), else the standard ones.
  const tableColumns = (() => {
    if (table.isPending) return [];
    const cols = searchColumns({ columns: table.data?.columns ?? TABLE_COLUMNS, pinned: [], sort: [] }).filter((c) => known.has(c));
    return [...new Set(cols.length ? cols : TABLE_COLUMNS.filter((c) => known.has(c)))];
  })();
  const selected = chosen ?? tableColumns;
  // In the table's order, then the others in the API's order.
  const rank = (c: string) => (tableColumns.includes(c) ? tableColumns.indexOf(c) : 1000 + columns.findIndex((x) => x.field === c));
  const ordered = columns
    .map((c) => c.field)
    .filter((c) => selected.includes(c))
    .sort((a, b) => rank(a) - rank(b));

  useEffect(() => {
    if (job?.status === 'done') void qc.invalidateQueries({ queryKey: ['exports', baseId] });
  }, [job?.status, baseId, qc]);
  const reset = () => {
    setCreated(null);
    setError(null);
  };
  const close = () => {
    reset();
    onClose();
  };
  const start = async () => {
    setError(null);
    setStarting(true);
    try {
      setCreated(
        await call('POST /bases/{baseId}/exports', {
          path: { baseId },
          body: {
            format,
            ...(format === 'csv' ? { dialect: 'excel-ru' as const } : {}),
            // Without the field list (it failed to load) the API's default columns: everything.
            ...(meta.isSuccess ? { columns: ordered } : {}),
            ...('ids' in source ? { ids: source.ids } : { query: source.query }),
            ...(sort?.length ? { sort } : {}),
          },
        }),
      );
    } catch (e) {
      setError(e);
    } finally {
      setStarting(false);
    }
  };
  const pct = job ? (job.status === 'done' ? 100 : job.progress.total ? (100 * job.progress.done) / job.progress.total : 0) : 0;
  const searching = 'query' in source && !!(source.query.q?.length || source.query.list?.length || source.query.filter);
  const what =
    'ids' in source ? t('act_exp_selected', { count: source.ids.length }) : !searching ? t('exp_all') : count !== undefined ? t('act_exp_found', { count }) : t('exp_found');
  const noColumns = meta.isSuccess && ordered.length === 0;
  return (
    <Modal opened={opened} onClose={close} title={t('exp_title')} size="lg" closeButtonProps={{ 'aria-label': t('act_close') }}>
      <Stack>
        <ErrorAlert error={error ?? followed.error} />
        <Text size="sm">{what}</Text>
        {!created && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (!noColumns && !starting) void start();
            }}
          >
            <Stack>
              <SegmentedControl
                aria-label={t('act_exp_format')}
                value={format}
                onChange={(v) => setFormat(v as 'xlsx' | 'csv')}
                data={[
                  { value: 'xlsx', label: 'Excel (XLSX)' },
                  { value: 'csv', label: t('exp_csv') },
                ]}
              />
              <ErrorAlert error={meta.error} retry={() => void meta.refetch()} />
              {meta.isSuccess && (
                <Checkbox.Group label={t('act_exp_columns')} value={ordered} onChange={setChosen} error={noColumns ? t('act_exp_columns_empty') : undefined} data-testid="export-columns">
                  <Group gap="xs" my={4}>
                    <Text size="xs" c="dimmed">
                      {t('act_exp_columns_chosen', { count: ordered.length })}
                    </Text>
                    <Button size="compact-xs" variant="subtle" onClick={() => setChosen(null)}>
                      {t('act_exp_columns_table')}
                    </Button>
                    <Button size="compact-xs" variant="subtle" onClick={() => setChosen(columns.map((c) => c.field))}>
                      {t('act_exp_columns_all')}
                    </Button>
                    <Button size="compact-xs" variant="subtle" onClick={() => setChosen([])}>
                      {t('act_exp_columns_none')}
                    </Button>
                  </Group>
                  <ScrollArea.Autosize mah={260} type="auto">
                    <SimpleGrid cols={{ base: 1, xs: 2, sm: 3 }} spacing={6} verticalSpacing={6}>
                      {columns.map((c) => (
                        <Checkbox key={c.field} value={c.field} label={labelOf(c.label, lang, c.field)} size="xs" />
                      ))}
                    </SimpleGrid>
                  </ScrollArea.Autosize>
                </Checkbox.Group>
              )}
              <Button type="submit" disabled={noColumns || meta.isPending || table.isPending} loading={starting}>
                {t('exp_start')}
              </Button>
            </Stack>
          </form>
        )}
        {created && (
          <Stack data-testid="export-result">
            <Progress value={pct} animated={job?.status !== 'done'} aria-label={t('act_exp_progress', { done: job?.progress.done ?? 0, total: job?.progress.total ?? 0 })} />
            {job && job.status !== 'done' && (
              <Text size="sm">{t('act_exp_progress', { done: job.progress.done, total: job.progress.total })}</Text>
            )}
            {job?.status === 'done' && (
              <Anchor href={created.link} download={created.fileName}>
                {t('exp_download', { name: created.fileName })}
              </Anchor>
            )}
            {(job?.status === 'failed' || job?.status === 'cancelled') && <Alert color="red">{job.error ?? t('exp_failed')}</Alert>}
            {(job?.status === 'done' || job?.status === 'failed' || job?.status === 'cancelled') && (
              <Button variant="default" onClick={reset}>
                {t('act_exp_again')}
              </Button>
            )}
          </Stack>
        )}
        {opened && <ExportLog baseId={baseId} />}
      </Stack>
    </Modal>
  );
}

/** The export log: when, who, what format, how many rows, the file while it is kept. */
export function ExportLog({ baseId, limit = 10, full = false }: { baseId: number; limit?: number; full?: boolean }) {
  const { t } = useTranslation();
  const who = useActorName();
  const log = useQuery({ queryKey: ['exports', baseId, limit], queryFn: () => call('GET /bases/{baseId}/exports', { path: { baseId }, query: { limit } }) });
  if (log.isPending) return full ? <Text c="dimmed">{t('loading')}</Text> : null;
  if (log.error) return full ? <ErrorAlert error={log.error} retry={() => void log.refetch()} /> : null;
  if (!log.data.items.length) return full ? <Text c="dimmed">{t('log_no_exports')}</Text> : null;
  return (
    <>
      {!full && <Text size="sm" fw={600}>{t('exp_log')}</Text>}
      <Table withTableBorder data-testid="export-log">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('hist_when')}</Table.Th>
            <Table.Th>{t('hist_who')}</Table.Th>
            <Table.Th>{t('log_format')}</Table.Th>
            <Table.Th>{t('hist_result')}</Table.Th>
            <Table.Th>{t('hist_file')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {log.data.items.map((e) => (
            <Table.Tr key={e.id}>
              <Table.Td>{formatDateTime(e.createdAt)}</Table.Td>
              <Table.Td>{who(e.actor)}</Table.Td>
              <Table.Td>{e.format.toUpperCase()}</Table.Td>
              <Table.Td>
                {e.rows === null ? t(`status_${e.status}`, { defaultValue: e.status }) : t('exp_rows', { count: e.rows })}
                {full && e.size !== null ? ` · ${formatSize(e.size)}` : ''}
              </Table.Td>
              <Table.Td title={e.sha256 ? `SHA-256 ${e.sha256}` : undefined}>
                {e.downloadUrl ? (
                  <Anchor href={e.downloadUrl} download>
                    {e.fileName}
                  </Anchor>
                ) : (
                  <Text span c="dimmed" size="sm">
                    {e.fileName}
                    {e.expired ? ` (${t('log_expired')})` : ''}
                  </Text>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </>
  );
}
