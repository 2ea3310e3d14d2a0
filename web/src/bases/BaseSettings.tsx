// A profile base's settings after its creation, in the wizard's sections as tabs: basic settings,
// fields (the standard ones locked, the custom ones edited, added and deleted), sender. «Сохранить
// изменения» sends what changed (the base, then each new or changed field) and shows what is about to
// change; the API's errors appear at their input, on the first tab that has one. Deleting a field or
// the base asks first; the base only once its name is typed.
import { Alert, Button, Group, Loader, Modal, Paper, Stack, Tabs, Text, TextInput, VisuallyHidden } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../shared/errors.tsx';
import { labelOf, useLang } from '../shared/i18n.ts';
import { call, baseQuery, fieldsQuery } from '../shared/api.ts';
import { BASIC_INPUTS, BasicSettings, SENDER_INPUTS, SenderSettings, baseBody, baseDraftOf, errorsOf, firstSectionWithErrors, type BaseDraft, type Errors, type Section } from './BaseForm.tsx';
import { FieldsTable, fieldDraftOf, isDirty, saveFields, type FieldDraft, type FieldErrors } from './FieldEditor.tsx';


/** Asks before something that cannot be undone; with `typed`, only once that text is typed. */
function ConfirmDanger({ title, text, confirm, typed, onConfirm, onClose }: { title: string; text: string; confirm: string; typed?: { label: string; expected: string }; onConfirm: () => Promise<void>; onClose: () => void }) {
  const { t } = useTranslation();
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
    } catch (e) {
      setError(errorsOf(e, []).general);
      setBusy(false);
    }
  };
  return (
    <Modal opened onClose={onClose} title={title} closeButtonProps={{ 'aria-label': t('bs_close') }}>
      <Stack>
        <Text>{text}</Text>
        {typed && <TextInput label={typed.label} value={value} onChange={(e) => setValue(e.currentTarget.value)} data-autofocus />}
        {error && <Alert color="red" role="alert">{error}</Alert>}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>{t('bs_cancel')}</Button>
          <Button color="red" loading={busy} disabled={typed !== undefined && value.trim() !== typed.expected.trim()} onClick={() => void run()}>
            {confirm}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

export function BaseSettings({ baseId, onClose, onDeleted }: { baseId: number; onClose: () => void; onDeleted: () => void }) {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const base = useQuery(baseQuery(baseId));
  const fields = useQuery(fieldsQuery(baseId));
  const [tab, setTab] = useState<Section>('basic');
  // Edits over what the API said (null: nothing edited yet).
  const [edited, setEdited] = useState<BaseDraft | null>(null);
  const [editedFields, setEditedFields] = useState<FieldDraft[] | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [deletingField, setDeletingField] = useState<FieldDraft | null>(null);
  const [deletingBase, setDeletingBase] = useState(false);

  const loaded = base.data ? baseDraftOf(base.data) : null;
  const draft = edited ?? loaded;
  const drafts = editedFields ?? fields.data?.items.filter((f) => !f.standard).map((f) => fieldDraftOf(f)) ?? [];
  const standard = fields.data?.items.filter((f) => f.standard) ?? [];

  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const senderChanged = !!draft && !!loaded && !same(draft.sender, loaded.sender);
  const basicChanged = !!draft && !!loaded && !same(baseBody({ ...draft, sender: loaded.sender }), baseBody(loaded));
  const changedFields = drafts.filter((d) => d.orig && isDirty(d)).length;
  const newFields = drafts.filter((d) => !d.orig).length;
  const changes = [
    basicChanged && t('bs_ch_basic'),
    changedFields + newFields > 0 && t('bs_ch_fields', { changed: changedFields, added: newFields }),
    senderChanged && t('bs_ch_sender'),
  ].filter(Boolean);

  const refresh = () => {
    for (const key of ['bases', 'fields', 'filter-fields', 'clients']) void qc.invalidateQueries({ queryKey: key === 'bases' ? [key] : [key, baseId] });
  };
  const save = async () => {
    if (!draft) return;
    setBusy(true);
    setSaved(false);
    let baseErrors: Errors = {};
    let message: string | null = null;
    if (basicChanged || senderChanged) {
      try {
        qc.setQueryData(['base', baseId], await call('PATCH /bases/{baseId}', { path: { baseId }, body: baseBody(draft) }));
        setEdited(null);
      } catch (e) {
        ({ fields: baseErrors, general: message } = errorsOf(e, [...BASIC_INPUTS, ...SENDER_INPUTS]));
      }
    }
    // Each field's own error is kept at its row; nothing else here throws.
    const result = await saveFields(baseId, drafts).finally(() => setBusy(false));
    setEditedFields(result.drafts);
    setErrors(baseErrors);
    setFieldErrors(result.errors);
    setGeneral(message);
    refresh();
    const at = firstSectionWithErrors(baseErrors, result.errors);
    if (at) setTab(at);
    setSaved(!at && !message);
  };
  const deleteField = async (d: FieldDraft) => {
    await call('DELETE /bases/{baseId}/fields/{key}', { path: { baseId, key: d.orig?.key ?? d.key } });
    setEditedFields(drafts.filter((x) => x.id !== d.id));
    setDeletingField(null);
    refresh();
  };
  const deleteBase = async () => {
    await call('DELETE /bases/{baseId}', { path: { baseId } });
    qc.removeQueries({ queryKey: ['base', baseId] });
    void qc.invalidateQueries({ queryKey: ['bases'] });
    onDeleted();
  };

  const tabLabel = (section: Section, label: string, hasErrors: boolean): ReactNode => (
    <Tabs.Tab value={section} c={hasErrors ? 'red' : undefined}>
      {label}
      {hasErrors && (
        <>
          <span aria-hidden> •</span>
          <VisuallyHidden>{t('bs_tab_errors')}</VisuallyHidden>
        </>
      )}
    </Tabs.Tab>
  );
  const errorAt = (section: Section) => (section === 'fields' ? drafts.some((d) => fieldErrors[d.id]) : Object.keys(errors).some((k) => k.startsWith('sender') === (section === 'sender')));

  return (
    <Modal opened onClose={onClose} size="80rem" title={t('bs_settings_of', { name: base.data?.name ?? '' })} closeButtonProps={{ 'aria-label': t('bs_close') }}>
      {base.isPending && <Loader aria-label={t('loading')} />}
      <ErrorAlert error={base.error} retry={() => void base.refetch()} />
      {draft && (
        <>
          <Tabs value={tab} onChange={(v) => v && setTab(v as Section)} keepMounted={false}>
            <Tabs.List>
              {tabLabel('basic', t('bw_step1'), errorAt('basic'))}
              {tabLabel('fields', t('bw_step2'), errorAt('fields'))}
              {tabLabel('sender', t('bw_step3'), errorAt('sender'))}
            </Tabs.List>
            <Tabs.Panel value="basic" pt="md">
              <BasicSettings value={draft} onChange={setEdited} errors={errors} />
              <Paper withBorder p="md" mt="xl" style={{ borderColor: 'var(--mantine-color-red-6)' }}>
                <Group justify="space-between">
                  <Stack gap={2}>
                    <Text fw={600} c="red">{t('bs_danger')}</Text>
                    <Text size="sm">{t('bs_delete_base_text')}</Text>
                  </Stack>
                  <Button color="red" variant="outline" onClick={() => setDeletingBase(true)}>{t('bs_delete_base')}</Button>
                </Group>
              </Paper>
            </Tabs.Panel>
            <Tabs.Panel value="fields" pt="md">
              {fields.isPending && <Loader aria-label={t('loading')} />}
              <ErrorAlert error={fields.error} retry={() => void fields.refetch()} />
              {fields.data && <FieldsTable standard={standard} drafts={drafts} errors={fieldErrors} onChange={setEditedFields} onDelete={setDeletingField} />}
            </Tabs.Panel>
            <Tabs.Panel value="sender" pt="md">
              <SenderSettings value={draft} onChange={setEdited} errors={errors} />
            </Tabs.Panel>
          </Tabs>
          {general && <Alert color="red" role="alert" mt="md">{general}</Alert>}
          <Group justify="space-between" mt="lg" py="sm" style={{ position: 'sticky', bottom: 0, zIndex: 2, background: 'var(--mantine-color-body)', borderTop: '1px solid var(--mantine-color-default-border)' }}>
            <Text size="sm" c={saved && !changes.length ? 'green' : 'dimmed'} aria-live="polite" data-testid="settings-status">
              {saved && !changes.length ? t('saved') : changes.length ? t('bs_changes', { list: changes.join(', ') }) : t('bs_changes_none')}
            </Text>
            <Button loading={busy} disabled={!changes.length} onClick={() => void save()}>{t('save')}</Button>
          </Group>
        </>
      )}
      {deletingField && (
        <ConfirmDanger
          title={t('bs_delete_field_title', { name: labelOf(deletingField.orig?.label, lang, deletingField.key) })}
          text={t('bs_delete_field_text')}
          confirm={t('bs_delete_field_confirm')}
          onConfirm={() => deleteField(deletingField)}
          onClose={() => setDeletingField(null)}
        />
      )}
      {deletingBase && base.data && (
        <ConfirmDanger
          title={t('bs_delete_base_title', { name: base.data.name })}
          text={t('bs_delete_base_text')}
          confirm={t('bs_delete_base_confirm')}
          typed={{ label: t('bs_delete_base_type', { name: base.data.name }), expected: base.data.name }}
          onConfirm={deleteBase}
          onClose={() => setDeletingBase(false)}
        />
      )}
    </Modal>
  );
}
