// A base's start page: how many clients, how many came this week, how many can be reached by email
// and by phone — each number opens the table filtered to exactly those clients — and the last
// imports and exports. The quality and loyalty panels join these (a Card in the grid each).
import { Card, Group, SimpleGrid, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { call } from '../shared/api.ts';
import { ExportLog } from '../exports/Export.tsx';
import type { ApiFilter } from '../clients/filterState.ts';
import { ImportHistory } from '../imports/Import.tsx';
import { formatNumber } from '../shared/i18n.ts';
import { clientsRoute } from '../shared/route.ts';
import { BaseNav, Link } from './BaseNav.tsx';

/** The start page's numbers: each a filter of the clients table. */
export const TILES: { key: string; filter: ApiFilter | null }[] = [
  { key: 'home_total', filter: null },
  { key: 'home_week', filter: { field: 'createdAt', op: 'withinLastDays', value: 7 } },
  { key: 'home_email', filter: { field: 'email', op: 'isNotEmpty' } },
  { key: 'home_phone', filter: { field: 'phone', op: 'isNotEmpty' } },
];

function Tile({ baseId, label, filter }: { baseId: number; label: string; filter: ApiFilter | null }) {
  const { t } = useTranslation();
  const count = useQuery({
    queryKey: ['clients-count', baseId, filter],
    // The count alone (the count index answers it), not a page of rows.
    queryFn: () => call('POST /bases/{baseId}/profiles/count', { path: { baseId }, body: filter ? { filter } : {} }),
  });
  return (
    <Card withBorder padding="md" data-testid="home-tile">
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      {count.isPending ? (
        <Skeleton h={34} w={100} mt={4} />
      ) : count.error ? (
        <Text c="red" size="sm">
          {count.error.message}
        </Text>
      ) : (
        <Link to={clientsRoute(baseId, { filter })} aria-label={`${label}: ${formatNumber(count.data.count)}`} data-testid="home-count">
          <Text fz={28} fw={700} span>
            {formatNumber(count.data.count)}
          </Text>
        </Link>
      )}
      <Text size="xs" c="dimmed">
        {t('home_open_hint')}
      </Text>
    </Card>
  );
}

export function BaseHome({ baseId }: { baseId: number }) {
  const { t } = useTranslation();
  return (
    <>
      <BaseNav baseId={baseId} screen="base" />
      <Stack gap="md">
        <SimpleGrid cols={{ base: 2, md: 4 }}>
          {TILES.map((x) => (
            <Tile key={x.key} baseId={baseId} label={t(x.key)} filter={x.filter} />
          ))}
        </SimpleGrid>
        <SimpleGrid cols={{ base: 1, lg: 2 }}>
          <Card withBorder>
            <Group justify="space-between" mb="xs">
              <Title order={4}>{t('home_imports')}</Title>
            </Group>
            <ImportHistory baseId={baseId} limit={5} full />
          </Card>
          <Card withBorder>
            <Title order={4} mb="xs">
              {t('home_exports')}
            </Title>
            <ExportLog baseId={baseId} limit={5} full />
          </Card>
        </SimpleGrid>
      </Stack>
    </>
  );
}
