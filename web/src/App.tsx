// The shell: who is signed in decides the screen (sign in, the one-time password change, the
// bases, a base's clients). The address keeps the open base (#/bases/ID) so a reload stays there.
import { Alert, AppShell, Button, Group, SegmentedControl, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { call, ApiError } from './api.ts';
import { Bases } from './Bases.tsx';
import { Clients } from './Clients.tsx';
import { ChangePassword, SignIn } from './SignIn.tsx';

function useHashBase(): [number | null, (id: number | null) => void] {
  const read = () => {
    const m = /^#\/bases\/(\d+)/.exec(window.location.hash);
    return m ? Number(m[1]) : null;
  };
  const [id, setId] = useState(read);
  useEffect(() => {
    const on = () => setId(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return [id, (next) => (window.location.hash = next === null ? '' : `#/bases/${next}`)];
}

export function App() {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const me = useQuery({ queryKey: ['me'], queryFn: () => call('GET /auth/me') });
  const [baseId, setBaseId] = useHashBase();
  const setLang = (lang: string) => {
    localStorage.setItem('lang', lang);
    void i18n.changeLanguage(lang);
    void qc.invalidateQueries();
  };
  const signedOut = me.error instanceof ApiError && me.error.status === 401;
  let body;
  if (me.isPending) body = null;
  else if (signedOut) body = <SignIn onDone={() => void qc.invalidateQueries({ queryKey: ['me'] })} />;
  else if (me.error) body = <Alert color="red">{me.error.message}</Alert>;
  else if (me.data.mustChangePassword) body = <ChangePassword onDone={() => void qc.invalidateQueries({ queryKey: ['me'] })} />;
  else if (baseId === null) body = <Bases onOpen={setBaseId} />;
  else body = <Clients baseId={baseId} onBack={() => setBaseId(null)} />;
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
                  setBaseId(null);
                  void qc.invalidateQueries({ queryKey: ['me'] });
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
