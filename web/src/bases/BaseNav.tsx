// The head of every screen of a base: its name, the way back to all bases, and its screens as links
// (start page, clients, segments) that open in a new tab too; the screen's own buttons on the right.
import { Anchor, Group, Tabs, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import type { MouseEvent, ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { baseQuery } from '../shared/api.ts';
import { clientsRoute, formatRoute, type Route } from '../shared/route.ts';
import { navigate } from '../shared/router.ts';

/** A link to a screen of the app: a real address (a middle click opens a tab), followed in place on a plain click. */
export function Link({ to, children, ...rest }: { to: Route; children: ReactNode; 'data-testid'?: string; 'aria-label'?: string }) {
  const href = formatRoute(to);
  const onClick = (e: MouseEvent) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <Anchor href={href} onClick={onClick} {...rest}>
      {children}
    </Anchor>
  );
}

export type BaseScreen = 'base' | 'clients' | 'segments';

export function BaseNav({ baseId, screen, children }: { baseId: number; screen: BaseScreen; children?: ReactNode }) {
  const { t } = useTranslation();
  const base = useQuery(baseQuery(baseId));
  const routes: Record<BaseScreen, Route> = { base: { screen: 'base', baseId }, clients: clientsRoute(baseId), segments: { screen: 'segments', baseId } };
  return (
    <>
      <Group justify="space-between" mb="xs" wrap="nowrap">
        <Group gap="sm" wrap="nowrap" style={{ minWidth: 0 }}>
          <Link to={{ screen: 'bases' }} data-testid="to-bases">
            ← {t('back')}
          </Link>
          <Title order={2} style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }} data-testid="base-name">
            {base.data?.name ?? ''}
          </Title>
        </Group>
        <Group gap="xs" wrap="nowrap">
          {children}
        </Group>
      </Group>
      <Tabs value={screen} onChange={(v) => v && v !== screen && navigate(routes[v as BaseScreen])} mb="sm" activateTabWithKeyboard={false}>
        <Tabs.List>
          <Tabs.Tab value="base">{t('nav_home')}</Tabs.Tab>
          <Tabs.Tab value="clients">{t('nav_clients')}</Tabs.Tab>
          <Tabs.Tab value="segments">{t('nav_segments')}</Tabs.Tab>
        </Tabs.List>
      </Tabs>
    </>
  );
}
