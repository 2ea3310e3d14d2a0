import { Button, Card, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { call } from '../shared/api.ts';
import { ErrorAlert, splitError } from '../shared/errors.tsx';
import { MIN_PASSWORD } from '../../../src/auth/password.ts';

/** A form's submit: busy while the call runs; its error split into messages at `inputs` and the rest. */
function useSubmit(onDone: () => void, work: () => Promise<unknown>, inputs: readonly string[]) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await work();
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const { fields } = splitError(error, inputs);
  const alert = <ErrorAlert error={error} at={inputs} />;
  return { alert, busy, submit, fieldError: (field: string) => fields[field] };
}

export function SignIn({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation();
  const [login, setLogin] = useState('admin');
  const [password, setPassword] = useState('');
  const s = useSubmit(onDone, () => call('POST /auth/login', { body: { login, password } }), ['login', 'password']);
  return (
    <Card withBorder maw={420} mx="auto" mt="xl" component="form" onSubmit={s.submit}>
      <Stack>
        <Title order={2}>{t('signIn')}</Title>
        {s.alert}
        <TextInput label={t('login')} value={login} onChange={(e) => setLogin(e.currentTarget.value)} error={s.fieldError('login')} autoFocus />
        <PasswordInput label={t('password')} value={password} onChange={(e) => setPassword(e.currentTarget.value)} error={s.fieldError('password')} />
        <Button type="submit" loading={s.busy}>
          {t('signIn')}
        </Button>
      </Stack>
    </Card>
  );
}

export function ChangePassword({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [differ, setDiffer] = useState(false);
  const s = useSubmit(onDone, () => call('POST /auth/password', { body: { currentPassword: current, newPassword: next } }), ['currentPassword', 'newPassword']);
  // A mistyped new password is caught here, before it becomes the only way in.
  const submit = (e: FormEvent) => {
    if (next !== repeat) {
      e.preventDefault();
      setDiffer(true);
      return;
    }
    setDiffer(false);
    return s.submit(e);
  };
  return (
    <Card withBorder maw={420} mx="auto" mt="xl" component="form" onSubmit={submit}>
      <Stack>
        <Title order={2}>{t('changePassword')}</Title>
        <Text size="sm">{t('changePasswordHint', { min: MIN_PASSWORD })}</Text>
        {s.alert}
        <PasswordInput label={t('currentPassword')} value={current} onChange={(e) => setCurrent(e.currentTarget.value)} error={s.fieldError('currentPassword')} />
        <PasswordInput label={t('newPassword')} value={next} onChange={(e) => setNext(e.currentTarget.value)} error={s.fieldError('newPassword')} />
        <PasswordInput label={t('repeatPassword')} value={repeat} onChange={(e) => setRepeat(e.currentTarget.value)} error={differ ? t('passwordsDiffer') : undefined} />
        <Button type="submit" loading={s.busy}>
          {t('changePassword')}
        </Button>
      </Stack>
    </Card>
  );
}
