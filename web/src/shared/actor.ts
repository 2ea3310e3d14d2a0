// Who did something, as the server records it ("user:3", "token:7", "env", "cli"), in words: the
// signed-in user by login, others by kind and number. Shared by the card's history and the logs.
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { meQuery } from './api.ts';

export function useActorName(): (actor: string) => string {
  const { t } = useTranslation();
  const me = useQuery(meQuery);
  return (actor) => {
    const [kind, n] = actor.split(':');
    if (kind === 'user' && n !== undefined) return me.data && String(me.data.id) === n ? me.data.login : t('cd_actor_user', { id: n });
    if (kind === 'token' && n !== undefined) return t('cd_actor_token', { id: n });
    if (kind === 'env' || kind === 'cli') return t(`cd_actor_${kind}`);
    return actor;
  };
}
