// The client card: personal data edited in place and saved with «Сохранить изменения» (the API's
// errors shown at their fields), identifiers, kind, registration, created/updated, and the timeline.
import { Alert, Badge, Button, Drawer, Group, Loader, SimpleGrid, Stack, Text, TextInput, Timeline, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { call, ApiError, type Profile, type Res } from './api.ts';
import { formatDate as inputDate } from './format.ts';
import { formatDateTime } from './i18n.ts';

const EDITABLE = ['lastName', 'firstName', 'middleName', 'phone', 'email', 'cardNumber', 'birthDate', 'city'] as const;
type Editable = (typeof EDITABLE)[number];

type Event = Res<'GET /bases/{baseId}/profiles/{id}/events'>['items'][number];

export function ClientCard({ baseId, id, onClose }: { baseId: number; id: number | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const profile = useQuery({ queryKey: ['profile', baseId, id], enabled: id !== null, queryFn: () => call('GET /bases/{baseId}/profiles/{id}', { path: { baseId, id: id! } }) });
  const events = useQuery({ queryKey: ['events', baseId, id], enabled: id !== null, queryFn: () => call('GET /bases/{baseId}/profiles/{id}/events', { path: { baseId, id: id! } }) });
  const [form, setForm] = useState<Partial<Record<Editable, string>>>({});
  useEffect(() => {
    if (profile.data) setForm(Object.fromEntries(EDITABLE.map((k) => [k, (k === 'birthDate' ? inputDate(profile.data[k]) : profile.data[k]) ?? ''])));
  }, [profile.data]);
  const save = useMutation({
    mutationFn: () => {
      const p = profile.data!;
      const changed = EDITABLE.filter((k) => (form[k] ?? '') !== ((k === 'birthDate' ? inputDate(p[k]) : p[k]) ?? ''));
      return call('PATCH /bases/{baseId}/profiles/{id}', { path: { baseId, id: id! }, body: Object.fromEntries(changed.map((k) => [k, form[k] === '' ? null : form[k]])) });
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['profile', baseId, id] });
      void qc.invalidateQueries({ queryKey: ['events', baseId, id] });
      void qc.invalidateQueries({ queryKey: ['clients', baseId] });
    },
  });
  const err = save.error instanceof ApiError ? save.error : null;
  const fieldError = (k: string) => err?.fields.find((f) => f.field === k)?.message;
  const p = profile.data;
  return (
    <Drawer opened={id !== null} onClose={onClose} position="right" size="xl" title={<Title order={3}>{t('card')}</Title>}>
      {profile.isPending && <Loader />}
      {profile.error && <Alert color="red">{profile.error.message}</Alert>}
      {p && (
        <Stack>
          <Group gap="xs">
            <Badge>{t(`kind_${p.kind}`)}</Badge>
            {p.registrationSource && <Badge variant="outline">{t('regSource')}: {t(`rs_${p.registrationSource}`)}</Badge>}
            {p.pointOfSale && <Badge variant="outline">{p.pointOfSale}</Badge>}
          </Group>
          <SimpleGrid cols={2}>
            {EDITABLE.map((k) => (
              <TextInput key={k} label={t(`f_${k}`)} value={form[k] ?? ''} error={fieldError(k)} onChange={(e) => setForm({ ...form, [k]: e.currentTarget.value })} />
            ))}
          </SimpleGrid>
          {err && !err.fields.length && <Alert color="red">{err.message}</Alert>}
          {save.isSuccess && !save.isPending && <Text c="green">{t('saved')}</Text>}
          <Group>
            <Button onClick={() => save.mutate()} loading={save.isPending}>
              {t('save')}
            </Button>
          </Group>
          <Text size="sm" c="dimmed">
            {t('created')}: {formatDateTime(p.createdAt)} · {t('updated')}: {formatDateTime(p.updatedAt)}
          </Text>
          <Title order={4}>{t('timeline')}</Title>
          <Timeline bulletSize={14} lineWidth={2} data-testid="timeline">
            {events.data?.items.map((e) => (
              <Timeline.Item key={e.id} title={`${t(`ev_${e.action}`)} · ${formatDateTime(e.at)} · ${e.actor}`}>
                <Text size="xs" c="dimmed">
                  {Object.keys(e.changes).join(', ')}
                </Text>
              </Timeline.Item>
            ))}
          </Timeline>
        </Stack>
      )}
    </Drawer>
  );
}
