// The import wizard: upload a CSV or XLSX (and pick its sheet), check the mapping on the first rows
// (normalized values, per-cell errors; a saved template applies itself to the same headers), choose
// the mode, per-column policies, what to do with repeats and which tags to put on every row, run it
// (or a dry run) with a live progress bar that can be stopped, and see the counts with the error file.
import { Alert, Anchor, Button, Checkbox, FileInput, Group, Modal, MultiSelect, Progress, SegmentedControl, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../shared/errors.tsx';
import { hasEnded, useFollow } from '../shared/useJob.ts';
import { defOf, fieldLabel, type FieldDef } from '../card/cardDraft.ts';
import { formatPhone } from '../shared/format.ts';
import { formatDate, formatDateTime, formatSize, useLang, labelOf } from '../shared/i18n.ts';
import { useActorName } from '../shared/actor.ts';
import { call, type Req, type Res, fieldsQuery, tagsQuery } from '../shared/api.ts';

type ImportRec = Res<'GET /bases/{baseId}/imports/{importId}'>;
type Preview = Res<'POST /bases/{baseId}/imports/{importId}/preview'>;
const POLICIES = ['overwrite', 'fill', 'skip'] as const;
type StartBody = Req<'POST /bases/{baseId}/imports/{importId}/start'>;
type Policy = (typeof POLICIES)[number];

export function ImportWizard({ baseId, opened, onClose }: { baseId: number; opened: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const lang = useLang();
  const fields = useQuery({ ...fieldsQuery(baseId), enabled: opened });
  const [preview, setPreview] = useState<Preview | null>(null);
  const [mapping, setMapping] = useState<(string | null)[]>([]);
  const [mode, setMode] = useState<'upsert' | 'create' | 'update'>('upsert');
  const [dryRun, setDryRun] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [started, setRunning] = useState<ImportRec | null>(null);
  // The run as last read: its rows, rate and time left, until it ends.
  const followed = useFollow(started ? ['import', baseId, started.id, started.jobId] : null, () => call('GET /bases/{baseId}/imports/{importId}', { path: { baseId, importId: started!.id } }));
  const running = started && followed.data?.id === started.id && !hasEnded(started.status) ? followed.data : started;
  const [file, setFile] = useState<File | null>(null);
  const [policy, setPolicy] = useState<Record<string, Policy>>({});
  const [duplicates, setDuplicates] = useState<'merge' | 'report'>('merge');
  const [tagIds, setTagIds] = useState<string[]>([]);
  const [templateName, setTemplateName] = useState('');
  // What the last run was started with: a dry run can then be run for real on the same file and settings.
  const [lastRun, setLastRun] = useState<{ file: File; sheet: string | null; body: StartBody } | null>(null);
  const templates = useQuery({ queryKey: ['import-templates', baseId], queryFn: () => call('GET /bases/{baseId}/import-templates', { path: { baseId } }), enabled: opened });
  const tags = useQuery({ ...tagsQuery(baseId), enabled: opened });

  const reset = () => {
    setPreview(null);
    setRunning(null);
    setError(null);
    setFile(null);
    setPolicy({});
    setTagIds([]);
    setTemplateName('');
    setDryRun(false);
    setLastRun(null);
  };
  const start = async (importId: number, body: StartBody) => {
    setRunning(await call('POST /bases/{baseId}/imports/{importId}/start', { path: { baseId, importId }, body }));
    if (body.saveTemplate) void qc.invalidateQueries({ queryKey: ['import-templates', baseId] });
  };
  const upload = (f: File, sheet?: string) =>
    act(async () => {
      const p = await call('POST /bases/{baseId}/imports', { path: { baseId }, query: { fileName: f.name, ...(sheet ? { sheet } : {}) }, upload: f });
      setFile(f);
      setPreview(p);
      setMapping(p.mapping.columns);
    });
  const usePreview = (p: Preview) => {
    setPreview(p);
    setMapping(p.mapping.columns);
  };
  const mapped = mapping.filter((m): m is string => !!m && m !== 'tags');
  const templateOf = (id: number | null) => templates.data?.items.find((x) => x.id === id);
  const targets = [
    { value: '', label: t('imp_skip') },
    { value: 'fullName', label: t('imp_fullName') },
    { value: 'tags', label: t('imp_tags') },
    ...(fields.data?.items ?? []).filter((f) => !f.readOnly && f.key !== 'kind').map((f) => ({ value: f.standard ? f.key : `fields.${f.key}`, label: labelOf(f.label, lang) })),
  ];
  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  // While the job runs, its record is read twice a second.
  const ended = running !== null && hasEnded(running.status);
  useEffect(() => {
    // A stopped or failed import keeps the batches it committed: the table shows them too.
    if (!ended) return;
    void qc.invalidateQueries({ queryKey: ['clients', baseId] });
    void qc.invalidateQueries({ queryKey: ['imports', baseId] });
  }, [ended, baseId, qc]);

  const pct = running ? (running.status === 'done' ? 100 : running.progress.total ? (100 * running.progress.rows) / running.progress.total : 0) : 0;
  return (
    <Modal opened={opened} onClose={() => (reset(), onClose())} size="90%" title={t('imp_title')}>
      <Stack>
        <ErrorAlert error={error ?? followed.error} />
        {!preview && !running && <ImportHistory baseId={baseId} />}
        {!preview && (
          <FileInput
            label={t('imp_file')}
            placeholder={t('imp_choose')}
            accept=".csv,.txt,.xlsx"
            disabled={busy}
            onChange={(f) => f && void upload(f)}
          />
        )}
        {preview && !running && (
          <>
            <Group align="flex-end">
              {(preview.import.sheets?.length ?? 0) > 1 && file && (
                <Select label={t('imp_sheet')} data={preview.import.sheets!} value={preview.import.sheet} onChange={(v) => v && void upload(file, v)} disabled={busy} w={220} />
              )}
              <Select
                label={t('imp_template')}
                placeholder={t('imp_template_none')}
                data={(templates.data?.items ?? []).map((x) => ({ value: String(x.id), label: x.name }))}
                value={preview.templateId ? String(preview.templateId) : null}
                onChange={(v) => v && void act(async () => usePreview(await call('POST /bases/{baseId}/imports/{importId}/preview', { path: { baseId, importId: preview.import.id }, body: { templateId: Number(v) } })))}
                disabled={busy || !templates.data?.items.length}
                w={260}
              />
              {templateOf(preview.templateId) && (
                <Text size="sm" c="dimmed">
                  {t('imp_template_applied', { name: templateOf(preview.templateId)!.name })}
                </Text>
              )}
            </Group>
            <Text size="sm">{t('imp_mapping_hint')}</Text>
            <Table withTableBorder striped data-testid="import-preview">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>#</Table.Th>
                  {preview.import.headers.map((h, i) => (
                    <Table.Th key={i}>
                      <Text size="xs" c="dimmed">{h}</Text>
                      <Select
                        size="xs"
                        aria-label={h}
                        data={targets}
                        value={mapping[i] ?? ''}
                        onChange={(v) => setMapping(mapping.map((m, j) => (j === i ? v || null : m)))}
                      />
                      {mode !== 'create' && mapping[i] && mapping[i] !== 'tags' && (
                        <Select
                          size="xs"
                          mt={4}
                          aria-label={t('imp_policy_of', { column: h })}
                          data={POLICIES.map((x) => ({ value: x, label: t(`imp_policy_${x}`) }))}
                          value={policy[mapping[i]!] ?? 'overwrite'}
                          onChange={(v) => v && setPolicy({ ...policy, [mapping[i]!]: v as Policy })}
                        />
                      )}
                    </Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {preview.rows.map((r) => (
                  <Table.Tr key={r.line}>
                    <Table.Td>{r.line}</Table.Td>
                    {preview.import.headers.map((_, i) => {
                      const err = r.errors.find((e) => e.column === i);
                      const target = mapping[i];
                      return (
                        <Table.Td key={i} style={err ? { background: 'var(--mantine-color-red-1)' } : undefined} title={err?.message}>
                          {err ? err.message : target ? <PreviewValue target={target} values={r.values} defs={fields.data?.items ?? []} /> : ''}
                        </Table.Td>
                      );
                    })}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            <Group>
              <Button variant="default" loading={busy} onClick={() => void act(async () => setPreview(await call('POST /bases/{baseId}/imports/{importId}/preview', { path: { baseId, importId: preview.import.id }, body: { mapping: { columns: mapping } } })))}>
                {t('imp_check')}
              </Button>
              <SegmentedControl value={mode} onChange={(v) => setMode(v as typeof mode)} data={[{ value: 'upsert', label: t('imp_upsert') }, { value: 'create', label: t('imp_create') }, { value: 'update', label: t('imp_update') }]} />
              <SegmentedControl value={duplicates} onChange={(v) => setDuplicates(v as typeof duplicates)} data={[{ value: 'merge', label: t('imp_dup_merge') }, { value: 'report', label: t('imp_dup_report') }]} aria-label={t('imp_dup')} />
            </Group>
            <Group align="flex-end">
              <MultiSelect
                label={t('imp_tags_all')}
                data={(tags.data?.items ?? []).map((x) => ({ value: String(x.id), label: x.name }))}
                value={tagIds}
                onChange={setTagIds}
                searchable
                w={320}
              />
              <TextInput label={t('imp_save_template')} placeholder={t('imp_template_name')} value={templateName} onChange={(e) => setTemplateName(e.currentTarget.value)} w={260} />
              <Checkbox label={t('imp_dry')} checked={dryRun} onChange={(e) => setDryRun(e.currentTarget.checked)} mb={8} />
              <Button
                loading={busy}
                onClick={() =>
                  void act(async () => {
                    const body: StartBody = {
                      mapping: { columns: mapping },
                      mode,
                      dryRun,
                      duplicates,
                      // Policies only for columns still mapped, and only where they differ from the default.
                      policy: Object.fromEntries(Object.entries(policy).filter(([k, v]) => mapped.includes(k) && v !== 'overwrite')),
                      tagIds: tagIds.map(Number),
                      ...(templateName.trim() ? { saveTemplate: templateName.trim() } : {}),
                    };
                    if (file) setLastRun({ file, sheet: preview.import.sheet, body });
                    await start(preview.import.id, body);
                  })
                }
              >
                {t('imp_start')}
              </Button>
            </Group>
          </>
        )}
        {running && (
          <Stack data-testid="import-result">
            <Progress value={pct} animated={!['done', 'failed', 'cancelled'].includes(running.status)} />
            {/* An estimate and a rate mean something while it runs; once it ended the counts below say it all. */}
            {['queued', 'running'].includes(running.status) && (
              <Text>
                {t('imp_progress', { rows: running.progress.rows, total: running.progress.total, rate: running.progress.rowsPerSecond })}
                {running.progress.etaSeconds ? ` · ${t('imp_eta', { s: running.progress.etaSeconds })}` : ''}
              </Text>
            )}
            {running.status === 'done' && (
              <Text fw={600}>
                {t(running.dryRun ? 'imp_done_dry' : 'imp_done', { rows: running.rows, created: running.created, updated: running.updated, unchanged: running.unchanged, failed: running.failed })}
              </Text>
            )}
            {running.status === 'failed' && <Alert color="red">{t('imp_failed')}</Alert>}
            {running.errorsUrl && running.status === 'done' && (
              <Anchor href={running.errorsUrl} download>
                {t('imp_errors')}
              </Anchor>
            )}
            <Group>
              {['queued', 'running'].includes(running.status) && (
                <Button color="red" variant="light" onClick={() => void act(async () => setRunning(await call('POST /bases/{baseId}/imports/{importId}/cancel', { path: { baseId, importId: running.id } })))}>
                  {t('imp_cancel')}
                </Button>
              )}
              {running.status === 'cancelled' && <Text c="orange">{t('imp_cancelled', { rows: running.rows })}</Text>}
              {running.status === 'done' && running.dryRun && lastRun && (
                <Button
                  loading={busy}
                  onClick={() =>
                    void act(async () => {
                      // The same file and settings, for real: a new upload record (each import is logged once).
                      const { file: f, sheet, body } = lastRun;
                      const up = await call('POST /bases/{baseId}/imports', { path: { baseId }, query: { fileName: f.name, ...(sheet ? { sheet } : {}) }, upload: f });
                      const real = { ...body, dryRun: false, saveTemplate: undefined };
                      setLastRun({ ...lastRun, body: real });
                      await start(up.import.id, real);
                    })
                  }
                >
                  {t('imp_for_real')}
                </Button>
              )}
              <Button variant="default" onClick={reset}>
                {t('imp_another')}
              </Button>
            </Group>
          </Stack>
        )}
      </Stack>
    </Modal>
  );
}


/**
 * A cell of the preview as the client's card will show it: phones and dates formatted, a «ФИО» column
 * as the three parts it is split into (so a wrong split is seen before the import, not after).
 */
function PreviewValue({ target, values, defs }: { target: string; values: Record<string, unknown>; defs: readonly FieldDef[] }) {

  const lang = useLang();
  const def = defOf(defs, target);
  if (target === 'fullName') {
    const parts = (['lastName', 'firstName', 'middleName'] as const).filter((k) => values[k]);
    return (
      <Stack gap={0} data-testid="preview-name">
        {parts.map((k) => (
          <Text key={k} size="sm">
            <Text span size="xs" c="dimmed">{fieldLabel(defs, k, lang)}:</Text> {String(values[k])}
          </Text>
        ))}
      </Stack>
    );
  }
  const custom = target.startsWith('fields.');
  const v = custom ? (values.fields as Record<string, unknown> | undefined)?.[target.slice('fields.'.length)] : values[target];
  if (v === undefined || v === null) return null;
  if (def?.type === 'phone') return <>{formatPhone(String(v))}</>;
  if (def?.type === 'date' && typeof v === 'string') return <>{formatDate(v)}</>;
  if (Array.isArray(v)) return <>{v.join(', ')}</>;
  return <>{String(v)}</>;
}

/** The import log: who imported which file when, with which settings, and with what result. */
export function ImportHistory({ baseId, limit = 10, full = false }: { baseId: number; limit?: number; full?: boolean }) {
  const { t } = useTranslation();
  const list = useQuery({ queryKey: ['imports', baseId, limit], queryFn: () => call('GET /bases/{baseId}/imports', { path: { baseId }, query: { limit } }) });
  const who = useActorName();
  const qc = useQueryClient();
  const [removeError, setRemoveError] = useState<unknown>(null);
  // An upload never started is only a stored file with personal data in it: it can go.
  const remove = async (id: number) => {
    setRemoveError(null);
    try {
      await call('DELETE /bases/{baseId}/imports/{importId}', { path: { baseId, importId: id } });
    } catch (e) {
      setRemoveError(e);
    }
    await qc.invalidateQueries({ queryKey: ['imports', baseId] });
  };
  if (list.isPending) return full ? <Text c="dimmed">{t('loading')}</Text> : null;
  if (list.error) return full ? <ErrorAlert error={list.error} retry={() => void list.refetch()} /> : null;
  if (!list.data.items.length) return full ? <Text c="dimmed">{t('log_no_imports')}</Text> : null;
  return (
    <>
    <ErrorAlert error={removeError} mb="xs" />
    <Table withTableBorder data-testid={full ? 'import-log' : 'import-history'}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{t('hist_when')}</Table.Th>
          <Table.Th>{t('hist_file')}</Table.Th>
          <Table.Th>{t('hist_who')}</Table.Th>
          {full && <Table.Th>{t('log_size')}</Table.Th>}
          <Table.Th>{t('hist_result')}</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {list.data.items.map((i) => (
          <Table.Tr key={i.id}>
            <Table.Td>{formatDateTime(i.uploadedAt)}</Table.Td>
            <Table.Td>{i.fileName}{i.dryRun ? ` (${t('hist_dry')})` : ''}</Table.Td>
            <Table.Td>{who(i.actor)}</Table.Td>
            {full && (
              <Table.Td title={`SHA-256 ${i.sha256}`}>
                {formatSize(i.size)} · {t('log_rows', { count: i.rows })}
              </Table.Td>
            )}
            <Table.Td>
              {i.status === 'done' ? t('hist_counts', { created: i.created, updated: i.updated, unchanged: i.unchanged, failed: i.failed }) : t(`status_${i.status}`, { defaultValue: i.status })}
              {full && i.status === 'uploaded' && (
                <>
                  {' · '}
                  <Anchor component="button" type="button" c="red" onClick={() => void remove(i.id)}>
                    {t('hist_remove')}
                  </Anchor>
                </>
              )}
              {i.errorsUrl && (
                <>
                  {' · '}
                  <Anchor href={i.errorsUrl} download>{t('hist_errors')}</Anchor>
                </>
              )}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
    </>
  );
}
