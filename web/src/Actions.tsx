// Actions on the selected clients or on everything found: add a tag (an existing one, or a new
// name created on the spot with its colour) and delete, which asks to type «УДАЛИТЬ» and shows how
// many clients will go (the API refuses if that number changed meanwhile).
import { Alert, Autocomplete, Button, Group, Modal, Stack, Text, TextInput } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { call, ApiError, type Req, type Res } from './api.ts';

type Tag = Res<'POST /bases/{baseId}/tags'>;
export type Target = Req<'POST /bases/{baseId}/profiles/bulk'>['target'];

export function ActionBar({ baseId, target, count, onDone }: { baseId: number; target: Target; count: number; onDone: (message: string) => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const tags = useQuery({ queryKey: ['tags', baseId], queryFn: () => call('GET /bases/{baseId}/tags', { path: { baseId } }) });
  const [tagName, setTagName] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (action: Req<'POST /bases/{baseId}/profiles/bulk'>['action']) => {
    setBusy(true);
    setError(null);
    try {
      const r = await call('POST /bases/{baseId}/profiles/bulk', { path: { baseId }, body: { target, action } });
      void qc.invalidateQueries({ queryKey: ['clients', baseId] });
      onDone('jobId' in r ? t('bulk_queued', { count: r.total }) : t('bulk_done', { count: r.total }));
      return true;
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const addTag = async () => {
    const name = tagName.trim();
    if (!name) return;
    let id = tags.data?.items.find((x) => x.name.toLowerCase() === name.toLowerCase())?.id;
    if (id === undefined) {
      try {
        id = (await call('POST /bases/{baseId}/tags', { path: { baseId }, body: { name } })).id;
        void qc.invalidateQueries({ queryKey: ['tags', baseId] });
      } catch (e) {
        setError(e instanceof ApiError ? e.message : String(e));
        return;
      }
    }
    if (await run({ type: 'addTags', tagIds: [id] })) setTagName('');
  };
  return (
    <Stack gap="xs" mb="xs" data-testid="action-bar">
      <Group>
        <Text size="sm" fw={600}>
          {t('selected', { count })}
        </Text>
        <Autocomplete
          size="xs"
          placeholder={t('bulk_tag_placeholder')}
          aria-label={t('bulk_tag_placeholder')}
          data={(tags.data?.items ?? []).map((x) => x.name)}
          value={tagName}
          onChange={setTagName}
        />
        <Button size="xs" loading={busy} onClick={() => void addTag()}>
          {t('bulk_add_tag')}
        </Button>
        <Button size="xs" color="red" variant="light" onClick={() => (setTyped(''), setConfirming(true))}>
          {t('bulk_delete')}
        </Button>
      </Group>
      {error && <Alert color="red">{error}</Alert>}
      <Modal opened={confirming} onClose={() => setConfirming(false)} title={t('bulk_delete_title', { count })}>
        <Stack>
          <Text>{t('bulk_delete_text', { count })}</Text>
          <TextInput label={t('bulk_delete_type')} value={typed} onChange={(e) => setTyped(e.currentTarget.value)} />
          {error && <Alert color="red">{error}</Alert>}
          <Button
            color="red"
            disabled={typed.trim().toUpperCase() !== 'УДАЛИТЬ' && typed.trim().toUpperCase() !== 'DELETE'}
            loading={busy}
            onClick={async () => {
              if (await run({ type: 'delete', confirm: 'DELETE', expectedCount: count })) setConfirming(false);
            }}
          >
            {t('bulk_delete_confirm', { count })}
          </Button>
        </Stack>
      </Modal>
    </Stack>
  );
}
