// Actions on the selected clients or on everything found: edit a field (a value for its type, or
// clear it), add or remove tags (existing ones in their colours; a new name becomes a tag with a
// colour from the palette), add to a manual segment (an existing one or a new one), export, and
// delete, which asks to type «УДАЛИТЬ» and shows how many clients will go (the API refuses if that
// number changed meanwhile). Each dialog shows the count, submits with Enter and shows the API's
// errors; a large action runs as a job whose progress is followed until it ends.
import { Autocomplete, Button, Checkbox, Group, Modal, Progress, SegmentedControl, Select, Stack, TagsInput, Text, TextInput } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert, fieldError } from '../shared/errors.tsx';
import { hasEnded, useJob, type Job } from '../shared/useJob.ts';
import { useLang, labelOf } from '../shared/i18n.ts';
import { call, type Req, type Res, filterFieldsQuery, fieldsQuery, segmentsQuery, tagsQuery } from '../shared/api.ts';
import { ExportDialog, type ExportTarget } from '../exports/Export.tsx';
import type { SortKey } from './columns.ts';
import { findTag, nextColor, TagPicker, type Tag } from '../shared/TagPicker.tsx';

export type Target = Req<'POST /bases/{baseId}/profiles/bulk'>['target'];
type Action = Req<'POST /bases/{baseId}/profiles/bulk'>['action'];
type FilterField = Res<'GET /bases/{baseId}/filter-fields'>['items'][number];
type FieldDef = Res<'GET /bases/{baseId}/fields'>['items'][number];
type Outcome = { changed: number; total: number };
type Dialog = 'field' | 'addTags' | 'removeTags' | 'segment' | 'unsegment' | 'export' | 'delete';
/** The action bar's buttons, in order: the dialog each opens and its label. */
const ACTIONS: [Dialog, string][] = [
  ['field', 'act_edit_field'],
  ['addTags', 'act_add_tags'],
  ['removeTags', 'act_remove_tags'],
  ['segment', 'act_add_segment'],
  ['export', 'act_export'],
  ['delete', 'bulk_delete'],
];


// ---------------------------------------------------------------------------
// running an action: at once, or as a job followed to its end
// ---------------------------------------------------------------------------


function outcomeOf(j: Job): Outcome {
  const r = j.result as Partial<Outcome> | null;
  return { changed: Number(r?.changed ?? j.progress.done), total: Number(r?.total ?? j.progress.total) };
}

type Ended = { kind: 'done'; outcome: Outcome } | { kind: 'cancelled'; done: number; total: number };

function useBulk(baseId: number, target: Target) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // The job started (as the start answered, until its first read) and followed until it ends.
  const [started, setJob] = useState<Job | null>(null);
  const followed = useJob(started?.id ?? null);
  const job = started && followed.data?.id === started.id ? followed.data : started;
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    return () => void (alive.current = false);
  }, []);
  // run() waits for the job's end, which the follower reports.
  const waiting = useRef<{ resolve: (e: Ended) => void; reject: (e: unknown) => void } | null>(null);
  useEffect(() => {
    const w = waiting.current;
    const j = followed.data;
    if (!w) return;
    if (followed.error) w.reject(followed.error);
    else if (!j || j.id !== started?.id || !hasEnded(j.status)) return;
    else if (j.status === 'done') w.resolve({ kind: 'done', outcome: outcomeOf(j) });
    else if (j.status === 'failed') w.reject(new Error(t('act_job_failed', { error: j.error ?? '' })));
    else w.resolve({ kind: 'cancelled', done: j.progress.done, total: j.progress.total });
    waiting.current = null;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [followed.data, followed.error]);
  const follow = (first: Job) =>
    new Promise<Ended>((resolve, reject) => {
      waiting.current = { resolve, reject };
      setJob(first);
    });

  /** Runs the action; resolves with how it ended, or null after an error (kept in `error`). */
  const run = async (action: Action): Promise<Ended | null> => {
    setBusy(true);
    setError(null);
    try {
      const r = await call('POST /bases/{baseId}/profiles/bulk', { path: { baseId }, body: { target, action } });
      if (!('jobId' in r)) return { kind: 'done', outcome: r };
      return await follow({ id: r.jobId, status: 'queued', progress: { done: 0, total: r.total } } as Job);
    } catch (e) {
      if (alive.current) setError(e);
      return null;
    } finally {
      // What changed shows everywhere: the table, open cards, tag counts, segment counts, list options.
      for (const key of ['clients', 'profile', 'events', 'tags', 'segments', 'filter-fields', 'fields']) void qc.invalidateQueries({ queryKey: [key, baseId] });
      if (alive.current) {
        setBusy(false);
        setJob(null);
      }
    }
  };
  const stop = () => {
    if (job) void call('POST /jobs/{jobId}/cancel', { path: { jobId: job.id } }).catch(() => undefined);
  };
  return { busy, error, setError, job, run, stop };
}
type Bulk = ReturnType<typeof useBulk>;

function JobProgress({ job, onStop }: { job: Job; onStop: () => void }) {
  const { t } = useTranslation();
  const { done, total } = job.progress;
  const text = t('act_job_running', { done, total });
  return (
    <Stack gap={4} data-testid="job-progress">
      <Progress value={total ? (100 * done) / total : 0} animated aria-label={text} />
      <Group justify="space-between">
        <Text size="sm">{text}</Text>
        <Button size="compact-xs" variant="subtle" color="gray" onClick={onStop}>
          {t('act_job_stop')}
        </Button>
      </Group>
    </Stack>
  );
}

/** A dialog of one action: a form (Enter submits), the API's errors, the job's progress, the buttons. */
function ActionDialog({
  opened,
  onClose,
  title,
  bulk,
  submitLabel,
  canSubmit,
  onSubmit,
  color,
  errorsAtFields = [],
  extraError,
  testId,
  children,
}: {
  opened: boolean;
  onClose: () => void;
  title: string;
  bulk: Bulk;
  submitLabel: string;
  canSubmit: boolean;
  onSubmit: () => void;
  color?: string;
  /** Field errors shown at their inputs rather than above the buttons. */
  errorsAtFields?: readonly string[];
  extraError?: unknown;
  testId: string;
  children: ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <Modal opened={opened} onClose={onClose} title={title} size="lg" closeButtonProps={{ 'aria-label': t('act_close') }} data-testid={testId}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (canSubmit && !bulk.busy) onSubmit();
        }}
      >
        <Stack>
          {children}
          <ErrorAlert error={extraError} at={errorsAtFields} />
          <ErrorAlert error={bulk.error} at={errorsAtFields} />
          {bulk.job && (
            <>
              <JobProgress job={bulk.job} onStop={bulk.stop} />
              <Text size="xs" c="dimmed">
                {t('act_job_background')}
              </Text>
            </>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              {t('act_cancel')}
            </Button>
            <Button type="submit" color={color} disabled={!canSubmit} loading={bulk.busy}>
              {submitLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

// ---------------------------------------------------------------------------
// the bar
// ---------------------------------------------------------------------------

/**
 * Actions on the selection or on everything found. Always mounted: with nothing chosen it draws
 * nothing, but an action already running (a job) keeps its progress and result in view even when a
 * new search clears the selection.
 */
/** `segment`: the manual segment the table shows (its members can be taken out of it). */
export function ActionBar({
  baseId,
  target,
  count,
  segment,
  sort,
  onDone,
}: {
  baseId: number;
  target: Target;
  count: number;
  /** The table's order (an export of the selection keeps it). */
  sort?: SortKey[] | undefined;
  segment?: { id: number; name: string } | undefined;
  onDone: (message: string) => void;
}) {
  const { t } = useTranslation();
  const bulk = useBulk(baseId, target);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const open = (d: Dialog) => {
    bulk.setError(null);
    setDialog(d);
  };
  const close = () => {
    // An error stays with its dialog; one that comes after the dialog was closed (a job's) shows in the bar.
    if (!bulk.busy) bulk.setError(null);
    setDialog(null);
  };
  /**
   * After an action ended: the message for the clients it changed, and how many were already so
   * (a tag they had, the same value); the dialog closed.
   */
  const finish = (ended: Ended | null, message: (changed: number) => string, withUnchanged = true) => {
    if (!ended) return false;
    if (ended.kind === 'cancelled') onDone(t('act_job_cancelled', { done: ended.done, total: ended.total }));
    else {
      const { changed, total } = ended.outcome;
      onDone(withUnchanged && changed < total ? `${message(changed)}. ${t('act_unchanged', { count: total - changed })}` : message(changed));
    }
    setDialog(null);
    return true;
  };
  const exportTarget: ExportTarget = target.ids ? { ids: target.ids } : { query: target.query ?? {} };
  const props = { baseId, count, bulk, finish, onClose: close };
  if (count === 0 && !bulk.busy && dialog === null) return null;
  return (
    <Stack gap="xs" mb="xs" data-testid="action-bar">
      <Group gap="xs">
        <Text size="sm" fw={600}>
          {t('selected', { count })}
        </Text>
        {ACTIONS.map(([d, label]) => (
          // An export only reads: it may start while a change is running.
          <Button key={d} size="xs" variant="light" color={d === 'delete' ? 'red' : undefined} disabled={bulk.busy && d !== 'export'} onClick={() => open(d)}>
            {t(label)}
          </Button>
        ))}
        {segment && (
          <Button size="xs" variant="light" color="orange" disabled={bulk.busy} onClick={() => open('unsegment')}>
            {t('seg_remove_members')}
          </Button>
        )}
      </Group>
      {/* A job goes on after its dialog is closed: its progress and its end show here. */}
      {!dialog && bulk.job && <JobProgress job={bulk.job} onStop={bulk.stop} />}
      {!dialog && <ErrorAlert error={bulk.error} />}
      <FieldDialog {...props} opened={dialog === 'field'} />
      <TagsDialog {...props} mode="add" opened={dialog === 'addTags'} />
      <TagsDialog {...props} mode="remove" opened={dialog === 'removeTags'} />
      <SegmentDialog {...props} opened={dialog === 'segment'} />
      <DeleteDialog {...props} opened={dialog === 'delete'} />
      {segment && <UnsegmentDialog {...props} segment={segment} opened={dialog === 'unsegment'} />}
      <ExportDialog baseId={baseId} target={exportTarget} count={count} sort={sort} opened={dialog === 'export'} onClose={close} />
    </Stack>
  );
}

interface DialogProps {
  baseId: number;
  count: number;
  bulk: Bulk;
  opened: boolean;
  onClose: () => void;
  finish: (ended: Ended | null, message: (changed: number) => string, withUnchanged?: boolean) => boolean;
}

// ---------------------------------------------------------------------------
// edit a field
// ---------------------------------------------------------------------------

/** Not for mass edit: system fields, the identifiers (unique per client), the client kind, composed ones. */
const NOT_EDITABLE = new Set(['id', 'kind', 'fullName', 'phone', 'email', 'cardNumber', 'createdAt', 'updatedAt', 'tags', 'segment']);

type Editor = 'text' | 'number' | 'date' | 'boolean' | 'select' | 'free' | 'tags';

function editorOf(f: FilterField, def: FieldDef | undefined): Editor {
  if (def?.type === 'list') return def.listMode === 'free' ? 'free' : 'select';
  switch (f.type) {
    case 'number':
      return 'number';
    case 'date':
    case 'birthDate':
      return 'date';
    case 'boolean':
      return 'boolean';
    case 'enum':
    case 'list':
      return 'select';
    case 'valueTags':
      return 'tags';
    default:
      return 'text';
  }
}

function FieldDialog({ baseId, count, bulk, opened, onClose, finish }: DialogProps) {
  const { t } = useTranslation();
  const lang = useLang();
  const meta = useQuery({ ...filterFieldsQuery(baseId), enabled: opened });
  const defs = useQuery({ ...fieldsQuery(baseId), enabled: opened });
  const [key, setKey] = useState<string | null>(null);
  const [value, setValue] = useState('');
  const [list, setList] = useState<string[]>([]);
  const [clear, setClear] = useState(false);
  const defOf = (field: string) => defs.data?.items.find((d) => (d.standard ? d.key : `fields.${d.key}`) === field);
  const editable = (meta.data?.items ?? []).filter((f) => !NOT_EDITABLE.has(f.field) && !defOf(f.field)?.readOnly);
  const field = editable.find((f) => f.field === key);
  const def = field && defOf(field.field);
  const editor = field ? editorOf(field, def) : 'text';
  const label = (f: FilterField) => labelOf(f.label, lang, f.field);
  const noClear = !!def && (def.setOnce || def.required);
  const optionLabel = (v: string) =>
    field?.field === 'gender' || field?.field === 'registrationSource' ? t(`enum_${field.field}_${v}`, { defaultValue: v }) : v;
  const options = (field?.values ?? def?.options ?? []).map((v) => ({ value: v, label: optionLabel(v) }));
  const filled = editor === 'tags' ? list.length > 0 : value.trim() !== '';
  const canSubmit = !!field && (clear ? !noClear : filled);
  const valueError = fieldError(bulk.error, 'action.value');

  const pick = (k: string | null) => {
    setKey(k);
    setValue('');
    setList([]);
    setClear(false);
    bulk.setError(null);
  };
  const submit = async () => {
    if (!field) return;
    const name = label(field);
    const raw: unknown = editor === 'tags' ? list : editor === 'boolean' ? value === 'true' : value.trim();
    const action: Action = clear ? { type: 'clearField', field: field.field } : { type: 'setField', field: field.field, value: raw };
    const ended = await bulk.run(action);
    if (finish(ended, (n) => t(clear ? 'act_field_clear_done' : 'act_field_set_done', { field: name, count: n }))) pick(null);
  };

  const input = (() => {
    const common = { label: t('act_value'), disabled: clear, error: valueError };
    switch (editor) {
      case 'select':
        return <Select {...common} data={options} value={value || null} onChange={(v) => setValue(v ?? '')} searchable allowDeselect={false} comboboxProps={{ withinPortal: true }} />;
      case 'free':
        return <Autocomplete {...common} data={options.map((o) => o.value)} value={value} onChange={setValue} comboboxProps={{ withinPortal: true }} />;
      case 'boolean':
        return (
          <Select
            {...common}
            data={[
              { value: 'true', label: t('act_yes') },
              { value: 'false', label: t('act_no') },
            ]}
            value={value || null}
            onChange={(v) => setValue(v ?? '')}
            allowDeselect={false}
            comboboxProps={{ withinPortal: true }}
          />
        );
      case 'tags':
        return <TagsInput {...common} value={list} onChange={setList} />;
      case 'date':
        return <TextInput {...common} type="date" value={value} onChange={(e) => setValue(e.currentTarget.value)} />;
      case 'number':
        return <TextInput {...common} inputMode="decimal" value={value} onChange={(e) => setValue(e.currentTarget.value)} />;
      default:
        return <TextInput {...common} value={value} onChange={(e) => setValue(e.currentTarget.value)} />;
    }
  })();

  return (
    <ActionDialog
      testId="field-dialog"
      opened={opened}
      onClose={onClose}
      title={t('act_field_title', { count })}
      bulk={bulk}
      canSubmit={canSubmit}
      onSubmit={() => void submit()}
      submitLabel={t(clear ? 'act_field_clear' : 'act_field_apply', { count })}
      errorsAtFields={['action.value']}
      extraError={meta.error ?? defs.error}
    >
      <Select
        data-autofocus
        label={t('act_field')}
        placeholder={t('act_field_pick')}
        description={t('act_identifiers_hint')}
        data={editable.map((f) => ({ value: f.field, label: label(f) }))}
        value={key}
        onChange={pick}
        searchable
        allowDeselect={false}
        comboboxProps={{ withinPortal: true }}
      />
      {field && (
        <>
          {input}
          <Checkbox label={t('act_clear')} checked={clear} disabled={noClear} onChange={(e) => setClear(e.currentTarget.checked)} />
          {def?.setOnce && <Text size="xs" c="dimmed">{t('act_set_once_hint')}</Text>}
          {!def?.setOnce && def?.required && <Text size="xs" c="dimmed">{t('act_required_hint')}</Text>}
        </>
      )}
    </ActionDialog>
  );
}

// ---------------------------------------------------------------------------
// add or remove tags
// ---------------------------------------------------------------------------

const quoted = (names: string[], lang: string) => names.map((n) => (lang === 'en' ? `“${n}”` : `«${n}»`)).join(', ');

function TagsDialog({ baseId, count, bulk, opened, onClose, finish, mode }: DialogProps & { mode: 'add' | 'remove' }) {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const tags = useQuery(tagsQuery(baseId));
  const [names, setNames] = useState<string[]>([]);
  const [colors, setColors] = useState<Record<string, string>>({});
  // Tags created here before the list refetched (so a retry after an error does not create them again).
  const [created, setCreated] = useState<Tag[]>([]);
  const [createError, setCreateError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const all = [...(tags.data?.items ?? []), ...created.filter((c) => !tags.data?.items.some((x) => x.id === c.id))];

  const submit = async () => {
    setCreateError(null);
    const ids: number[] = [];
    const made: Tag[] = [];
    setCreating(true);
    try {
      for (const name of names) {
        const known = findTag([...all, ...made], name);
        if (known) ids.push(known.id);
        else {
          const tag = await call('POST /bases/{baseId}/tags', { path: { baseId }, body: { name, color: colors[name] ?? nextColor([]) } });
          made.push(tag);
          ids.push(tag.id);
        }
      }
    } catch (e) {
      setCreateError(e);
      return;
    } finally {
      setCreating(false);
      if (made.length) {
        setCreated((c) => [...c, ...made]);
        void qc.invalidateQueries({ queryKey: ['tags', baseId] });
      }
    }
    const ended = await bulk.run(mode === 'add' ? { type: 'addTags', tagIds: ids } : { type: 'removeTags', tagIds: ids });
    const shown = names.map((n) => findTag([...all, ...made], n)?.name ?? n);
    const key = mode === 'add' ? (shown.length === 1 ? 'act_tag_added' : 'act_tags_added') : shown.length === 1 ? 'act_tag_removed' : 'act_tags_removed';
    if (finish(ended, (n) => t(key, { tags: shown.length === 1 ? shown[0] : quoted(shown, i18n.language), count: n }))) {
      setNames([]);
      setColors({});
    }
  };
  return (
    <ActionDialog
      testId={mode === 'add' ? 'add-tags-dialog' : 'remove-tags-dialog'}
      opened={opened}
      onClose={onClose}
      title={t(mode === 'add' ? 'act_tags_add_title' : 'act_tags_remove_title', { count })}
      bulk={{ ...bulk, busy: bulk.busy || creating }}
      canSubmit={names.length > 0}
      onSubmit={() => void submit()}
      submitLabel={t(mode === 'add' ? 'act_tags_add_title' : 'act_tags_remove_title', { count })}
      errorsAtFields={['action.tagIds']}
      extraError={tags.error ?? createError}
    >
      <TagPicker
        tags={all}
        value={names}
        onChange={setNames}
        colors={colors}
        onColors={setColors}
        creatable={mode === 'add'}
        label={t('act_tags')}
        placeholder={t(mode === 'add' ? 'act_tags_add_placeholder' : 'act_tags_remove_placeholder')}
        error={fieldError(bulk.error, 'action.tagIds')}
      />
    </ActionDialog>
  );
}

// ---------------------------------------------------------------------------
// add to a manual segment
// ---------------------------------------------------------------------------

function SegmentDialog({ baseId, count, bulk, opened, onClose, finish }: DialogProps) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const segments = useQuery({ ...segmentsQuery(baseId), enabled: opened });
  const manual = (segments.data?.items ?? []).filter((s) => s.kind === 'manual');
  const [mode, setMode] = useState<'existing' | 'new' | null>(null);
  const [segmentId, setSegmentId] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [createError, setCreateError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const effective = mode ?? (segments.isSuccess && !manual.length ? 'new' : 'existing');
  const canSubmit = effective === 'new' ? name.trim() !== '' : segmentId !== null;

  const submit = async () => {
    setCreateError(null);
    let id = Number(segmentId);
    let segName = manual.find((s) => s.id === id)?.name ?? '';
    if (effective === 'new') {
      setCreating(true);
      try {
        const s = await call('POST /bases/{baseId}/segments', { path: { baseId }, body: { name: name.trim(), kind: 'manual' } });
        id = s.id;
        segName = s.name;
        // Made now: a retry after an error adds to it rather than creating another.
        qc.setQueryData(['segments', baseId], (old: Res<'GET /bases/{baseId}/segments'> | undefined) => (old ? { items: [...old.items, s] } : old));
        void qc.invalidateQueries({ queryKey: ['segments', baseId] });
        setMode('existing');
        setSegmentId(String(s.id));
        setName('');
      } catch (e) {
        setCreateError(e);
        return;
      } finally {
        setCreating(false);
      }
    }
    const ended = await bulk.run({ type: 'addToSegment', segmentId: id });
    if (finish(ended, (n) => t('act_segment_done', { name: segName, count: n }))) {
      setMode(null);
      setSegmentId(null);
    }
  };
  return (
    <ActionDialog
      testId="segment-dialog"
      opened={opened}
      onClose={onClose}
      title={t('act_segment_title', { count })}
      bulk={{ ...bulk, busy: bulk.busy || creating }}
      canSubmit={canSubmit}
      onSubmit={() => void submit()}
      submitLabel={t('act_segment_apply', { count })}
      errorsAtFields={['name']}
      extraError={segments.error ?? createError}
    >
      <SegmentedControl
        value={effective}
        onChange={(v) => setMode(v as 'existing' | 'new')}
        data={[
          { value: 'existing', label: t('act_segment_existing') },
          { value: 'new', label: t('act_segment_new') },
        ]}
      />
      {effective === 'existing' ? (
        manual.length || !segments.isSuccess ? (
          <Select
            data-autofocus
            label={t('act_segment')}
            placeholder={t('act_segment_pick')}
            data={manual.map((s) => ({ value: String(s.id), label: s.count === null ? s.name : `${s.name} (${t('act_segment_members', { count: s.count })})` }))}
            value={segmentId}
            onChange={setSegmentId}
            searchable
            allowDeselect={false}
            comboboxProps={{ withinPortal: true }}
          />
        ) : (
          <Text size="sm">{t('act_segment_none')}</Text>
        )
      ) : (
        <TextInput data-autofocus label={t('act_segment_name')} value={name} onChange={(e) => setName(e.currentTarget.value)} error={fieldError(createError, 'name')} />
      )}
    </ActionDialog>
  );
}

// ---------------------------------------------------------------------------
// take out of the manual segment the table shows
// ---------------------------------------------------------------------------

function UnsegmentDialog({ count, bulk, opened, onClose, finish, segment }: DialogProps & { segment: { id: number; name: string } }) {
  const { t } = useTranslation();
  const submit = async () => {
    const ended = await bulk.run({ type: 'removeFromSegment', segmentId: segment.id });
    finish(ended, (n) => t('seg_removed', { count: n }), false);
  };
  return (
    <ActionDialog
      testId="unsegment-dialog"
      opened={opened}
      onClose={onClose}
      title={t('seg_remove_title', { count, name: segment.name })}
      bulk={bulk}
      canSubmit
      onSubmit={() => void submit()}
      submitLabel={t('seg_remove_members')}
    >
      <Text size="sm">{t('seg_remove_text')}</Text>
    </ActionDialog>
  );
}

// ---------------------------------------------------------------------------
// delete
// ---------------------------------------------------------------------------

function DeleteDialog({ count, bulk, opened, onClose, finish }: DialogProps) {
  const { t } = useTranslation();
  const [typed, setTyped] = useState('');
  useEffect(() => {
    if (opened) setTyped('');
  }, [opened]);
  // The word of the UI's language, exactly as shown: a slip of case or language is not a confirmation.
  const word = t('bulk_delete_word');
  const submit = async () => {
    const ended = await bulk.run({ type: 'delete', confirm: 'DELETE', expectedCount: count });
    finish(ended, (n) => t('act_deleted', { count: n }), false);
  };
  return (
    <ActionDialog
      testId="delete-dialog"
      opened={opened}
      onClose={onClose}
      title={t('bulk_delete_title', { count })}
      bulk={bulk}
      color="red"
      canSubmit={typed.trim() === word}
      onSubmit={() => void submit()}
      submitLabel={t('bulk_delete_confirm', { count })}
    >
      <Text>{t('bulk_delete_text', { count })}</Text>
      <TextInput data-autofocus label={t('bulk_delete_type', { word })} value={typed} onChange={(e) => setTyped(e.currentTarget.value)} autoComplete="off" />
    </ActionDialog>
  );
}
