// The export dialog: what the table shows now (the current search, or the whole base) to XLSX or CSV
// for Russian Excel; the job's progress; the file to download when it is ready.
import { Alert, Anchor, Button, Modal, Progress, SegmentedControl, Stack, Table, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from './i18n.ts';
import { call, ApiError, type Res, type SearchQuery } from './api.ts';

type Created = Res<'POST /bases/{baseId}/exports'>;
type LogItem = Res<'GET /bases/{baseId}/exports'>['items'][number];
type Job = Res<'GET /jobs/{jobId}'>;

export function ExportDialog({ baseId, query, opened, onClose }: { baseId: number; query: SearchQuery; opened: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const [format, setFormat] = useState<'xlsx' | 'csv'>('xlsx');
  const [created, setCreated] = useState<Created | null>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const qc = useQueryClient();
  const log = useQuery({ queryKey: ['exports', baseId], enabled: opened, queryFn: () => call('GET /bases/{baseId}/exports', { path: { baseId } }) });
  useEffect(() => {
    if (job?.status === 'done') void qc.invalidateQueries({ queryKey: ['exports', baseId] });
  }, [job?.status, baseId, qc]);
  useEffect(() => {
    if (!created || created.jobId === null || job?.status === 'done' || job?.status === 'failed') return;
    const timer = setTimeout(() => void call('GET /jobs/{jobId}', { path: { jobId: created.jobId! } }).then(setJob), job ? 500 : 100);
    return () => clearTimeout(timer);
  }, [created, job]);
  const close = () => {
    setCreated(null);
    setJob(null);
    setError(null);
    onClose();
  };
  const start = async () => {
    setError(null);
    try {
      setCreated(await call('POST /bases/{baseId}/exports', { path: { baseId }, body: { format, ...(format === 'csv' ? { dialect: 'excel-ru' } : {}), query } }));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };
  const pct = job ? (job.status === 'done' ? 100 : job.progress.total ? (100 * job.progress.done) / job.progress.total : 0) : 0;
  return (
    <Modal opened={opened} onClose={close} title={t('exp_title')}>
      <Stack>
        {error && <Alert color="red">{error}</Alert>}
        <Text size="sm">{query.q?.length || query.filter ? t('exp_found') : t('exp_all')}</Text>
        {!created && (
          <>
            <SegmentedControl value={format} onChange={(v) => setFormat(v as 'xlsx' | 'csv')} data={[{ value: 'xlsx', label: 'Excel (XLSX)' }, { value: 'csv', label: t('exp_csv') }]} />
            <Button onClick={() => void start()}>{t('exp_start')}</Button>
          </>
        )}
        {created && (
          <Stack data-testid="export-result">
            <Progress value={pct} animated={job?.status !== 'done'} />
            {job?.status === 'done' && (
              <Anchor href={created.link} download={created.fileName}>
                {t('exp_download', { name: created.fileName })}
              </Anchor>
            )}
            {job?.status === 'failed' && <Alert color="red">{t('exp_failed')}</Alert>}
          </Stack>
        )}
        {!!log.data?.items.length && (
          <>
            <Text size="sm" fw={600}>{t('exp_log')}</Text>
            <Table withTableBorder data-testid="export-log">
              <Table.Tbody>
                {log.data.items.slice(0, 10).map((e) => (
                  <Table.Tr key={e.id}>
                    <Table.Td>{formatDateTime(e.createdAt)}</Table.Td>
                    <Table.Td>{e.actor}</Table.Td>
                    <Table.Td>{e.format.toUpperCase()}</Table.Td>
                    <Table.Td>{e.rows === null ? t(`status_${e.status}`, { defaultValue: e.status }) : t('exp_rows', { count: e.rows })}</Table.Td>
                    <Table.Td>{e.downloadUrl && <Anchor href={e.downloadUrl} download>{e.fileName}</Anchor>}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </>
        )}
      </Stack>
    </Modal>
  );
}
