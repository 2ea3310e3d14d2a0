import { Button, Card, Group, Loader, SimpleGrid, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../shared/errors.tsx';
import { call } from '../shared/api.ts';
import { BaseSettings } from './BaseSettings.tsx';
import { BaseWizard } from './BaseWizard.tsx';

/** `onOpen(id)`: a base's start page; a new base opens on its clients (where its first import starts). */
export function Bases({ onOpen }: { onOpen: (id: number, clients?: boolean) => void }) {
  const { t } = useTranslation();
  const bases = useQuery({ queryKey: ['bases'], queryFn: () => call('GET /bases') });
  const [creating, setCreating] = useState(false);
  const [settingsOf, setSettingsOf] = useState<number | null>(null);
  return (
    <>
      <Group justify="space-between" mb="md">
        <Title order={2}>{t('bases')}</Title>
        <Button onClick={() => setCreating(true)}>{t('bw_open')}</Button>
      </Group>
      <BaseWizard opened={creating} onClose={() => setCreating(false)} onCreated={(id) => (setCreating(false), onOpen(id, true))} />
      {settingsOf !== null && <BaseSettings baseId={settingsOf} onClose={() => setSettingsOf(null)} onDeleted={() => setSettingsOf(null)} />}
      {bases.isPending && <Loader aria-label={t('loading')} />}
      <ErrorAlert error={bases.error} retry={() => void bases.refetch()} />
      {bases.data && bases.data.items.length === 0 && <Text>{t('noBases')}</Text>}
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
        {bases.data?.items.map((b) => (
          <Card key={b.id} withBorder data-testid="base-card">
            <Group justify="space-between">
              <Title order={4}>{b.name}</Title>
              <Group gap="xs">
                <Button variant="default" aria-label={t('bs_settings_of', { name: b.name })} onClick={() => setSettingsOf(b.id)}>
                  {t('bs_settings')}
                </Button>
                <Button onClick={() => onOpen(b.id)}>{t('open')}</Button>
              </Group>
            </Group>
            <Text size="sm" data-testid="base-clients">
              {b.clientsExact ? t('bs_clients', { count: b.clients }) : t('bs_clients_about', { text: t('bs_clients', { count: b.clients }) })}
            </Text>
            {b.description && <Text size="sm" c="dimmed">{b.description}</Text>}
          </Card>
        ))}
      </SimpleGrid>
    </>
  );
}
