// The shell: who is signed in decides whether a screen shows (sign in, the one-time password
// change); the address decides which (route.ts): the bases, a base's start page, its clients, its
// segments.
import { AppShell, Button, Group, SegmentedControl, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from './shared/errors.tsx';
import { call, ApiError, meQuery } from './shared/api.ts';
import { Bases } from './bases/Bases.tsx';
import { Clients } from './clients/Clients.tsx';
import { ChangePassword, SignIn } from './auth/SignIn.tsx';
import { navigate, useRoute } from './shared/router.ts';
import { clientsRoute } from './shared/route.ts';
import { BaseHome } from './bases/BaseHome.tsx';
import { Segments } from './segments/Segments.tsx';

export function App() {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const me = useQuery(meQuery);
  const route = useRoute();
  const setLang = (lang: string) => {
    localStorage.setItem('lang', lang);
    // The data does not depend on the language (labels come in both): nothing is fetched again.
    void i18n.changeLanguage(lang);
  };
  const signedOut = me.error instanceof ApiError && me.error.status === 401;
  let body;
  if (me.isPending) body = null;
  else if (signedOut) body = <SignIn onDone={() => void qc.invalidateQueries({ queryKey: meQuery.queryKey })} />;
  else if (me.error) body = <ErrorAlert error={me.error} retry={() => void me.refetch()} />;
  else if (me.data.mustChangePassword) body = <ChangePassword onDone={() => void qc.invalidateQueries({ queryKey: meQuery.queryKey })} />;
  else if (route.screen === 'bases') body = <Bases onOpen={(id, clients) => navigate(clients ? clientsRoute(id) : { screen: 'base', baseId: id })} />;
  else if (route.screen === 'base') body = <BaseHome baseId={route.baseId} />;
  else if (route.screen === 'segments') body = <Segments baseId={route.baseId} />;
  else body = <Clients route={route} />;
  return (
    <AppShell header={{ height: 56 }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Title order={3}>{t('appName')}</Title>
          <Group>
            <SegmentedControl size="xs" value={i18n.language} onChange={setLang} data={[{ value: 'ru', label: 'RU' }, { value: 'en', label: 'EN' }]} />
            {me.data && (
              <Button
                variant="subtle"
                onClick={async () => {
                  await call('POST /auth/logout');
                  qc.clear();
                  navigate('/');
                  void qc.invalidateQueries({ queryKey: meQuery.queryKey });
                }}
              >
                {t('signOut')} ({me.data.login})
              </Button>
            )}
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Main>{body}</AppShell.Main>
    </AppShell>
  );
}
