// A base's segments: each with its kind, how many clients it held when last counted and when that
// was, who made it. Open shows its clients in the table (a manual segment's members can be removed
// there); recount, rename, duplicate and delete are here.
import { Badge, Button, Group, Menu, Modal, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert, splitError } from '../shared/errors.tsx';
import { call, segmentsQuery, type Res } from '../shared/api.ts';
import { useActorName } from '../shared/actor.ts';
import { BaseNav, Link } from '../bases/BaseNav.tsx';
import type { ApiFilter } from '../clients/filterState.ts';
import { formatDateTime, formatNumber } from '../shared/i18n.ts';
import { clientsRoute, type Route } from '../shared/route.ts';
import { navigate } from '../shared/router.ts';

type Segment = Res<'GET /bases/{baseId}/segments'>['items'][number];

/** The clients table showing a segment: a dynamic one's saved search, a manual one's members. */
export function segmentRoute(baseId: number, s: Segment): Route {
  if (s.kind === 'manual') return clientsRoute(baseId, { filter: { field: 'segment', op: 'inSegment', value: s.id }, segment: s.id });
  const q = s.query ?? {};
  return clientsRoute(baseId, {
    q: Array.isArray(q.q) ? q.q.map(String) : [],
    list: Array.isArray(q.list) ? q.list.map(String) : [],
    filter: (q.filter as ApiFilter | undefined) ?? null,
    segment: s.id,
  });
}

/** A name for a copy that the base does not have yet: «VIP (копия)», «VIP (копия 2)», … */
export function copyName(name: string, taken: readonly string[], word: string): string {
  const lower = new Set(taken.map((x) => x.toLowerCase()));
  for (let n = 1; ; n++) {
    const candidate = `${name} (${n === 1 ? word : `${word} ${n}`})`;
    if (!lower.has(candidate.toLowerCase())) return candidate;
  }
}

export function Segments({ baseId }: { baseId: number }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const who = useActorName();
  const list = useQuery(segmentsQuery(baseId));
  const [renaming, setRenaming] = useState<Segment | null>(null);
  const [name, setName] = useState('');
  const [deleting, setDeleting] = useState<Segment | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ['segments', baseId] });
  const act = useMutation({
    mutationFn: async (op: { recount: Segment } | { duplicate: Segment } | { rename: Segment; name: string } | { remove: Segment }) => {
      if ('recount' in op) return call('POST /bases/{baseId}/segments/{id}/count', { path: { baseId, id: op.recount.id } });
      if ('rename' in op) return call('PATCH /bases/{baseId}/segments/{id}', { path: { baseId, id: op.rename.id }, body: { name: op.name.trim() } });
      if ('remove' in op) return call('DELETE /bases/{baseId}/segments/{id}', { path: { baseId, id: op.remove.id } });
      const s = op.duplicate;
      const taken = (list.data?.items ?? []).map((x) => x.name);
      const copy = await call('POST /bases/{baseId}/segments', {
        path: { baseId },
        body: { name: copyName(s.name, taken, t('seg_copy')), kind: s.kind, ...(s.kind === 'dynamic' ? { query: s.query ?? {} } : {}), shared: s.shared },
      });
      // A manual segment's copy holds the same clients.
      if (s.kind === 'manual') await call('POST /bases/{baseId}/segments/{id}/members', { path: { baseId, id: copy.id }, body: { query: { filter: { field: 'segment', op: 'inSegment', value: s.id } } } });
      return copy;
    },
    onSuccess: (_r, op) => {
      if ('rename' in op) setRenaming(null);
      if ('remove' in op) setDeleting(null);
      void refresh();
    },
  });
  const items = [...(list.data?.items ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  // A refused name is said at its input; anything else above the list.
  const renameError = renaming ? splitError(act.error, () => true).fields.name ?? splitError(act.error).lines.join(' ') : undefined;

  return (
    <>
      <BaseNav baseId={baseId} screen="segments">
        <Button variant="light" onClick={() => navigate(clientsRoute(baseId))}>
          {t('seg_new')}
        </Button>
      </BaseNav>
      <ErrorAlert error={list.error} retry={() => void list.refetch()} />
      {!renaming && <ErrorAlert error={act.error} onClose={() => act.reset()} mb="xs" />}
      {list.data && items.length === 0 && <Text c="dimmed">{t('seg_none')}</Text>}
      {items.length > 0 && (
        <Table striped highlightOnHover data-testid="segments">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('seg_col_name')}</Table.Th>
              <Table.Th>{t('seg_col_kind')}</Table.Th>
              <Table.Th style={{ textAlign: 'right' }}>{t('seg_col_count')}</Table.Th>
              <Table.Th>{t('seg_col_counted')}</Table.Th>
              <Table.Th>{t('seg_col_owner')}</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((s) => (
              <Table.Tr key={s.id} data-testid="segment-row">
                <Table.Td>
                  <Link to={segmentRoute(baseId, s)} data-testid="segment-open">
                    {s.name}
                  </Link>
                  {!s.shared && (
                    <Badge size="xs" variant="light" color="gray" ml={6} tt="none">
                      {t('seg_private')}
                    </Badge>
                  )}
                </Table.Td>
                <Table.Td>{t(`seg_kind_${s.kind}`)}</Table.Td>
                <Table.Td style={{ textAlign: 'right' }} data-testid="segment-count">
                  {s.count === null ? '—' : formatNumber(s.count)}
                </Table.Td>
                <Table.Td>
                  {s.countedAt ? formatDateTime(s.countedAt) : t('seg_not_counted')}
                  {s.countMs !== null && (
                    <Text span size="xs" c="dimmed">
                      {' '}
                      · {t('seg_count_ms', { ms: formatNumber(s.countMs) })}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>{s.ownerId === null ? t('cd_actor_env') : who(`user:${s.ownerId}`)}</Table.Td>
                <Table.Td>
                  <Group gap={4} justify="flex-end" wrap="nowrap">
                    {s.kind === 'dynamic' && (
                    <Button size="compact-xs" variant="light" loading={act.isPending && act.variables !== undefined && 'recount' in act.variables && act.variables.recount.id === s.id} onClick={() => act.mutate({ recount: s })}>
                      {t('seg_recount')}
                    </Button>
                    )}
                    <Menu position="bottom-end" withinPortal>
                      <Menu.Target>
                        <Button size="compact-xs" variant="default" aria-label={t('seg_more', { name: s.name })}>
                          ⋯
                        </Button>
                      </Menu.Target>
                      <Menu.Dropdown>
                        <Menu.Item onClick={() => (act.reset(), setName(s.name), setRenaming(s))}>{t('seg_rename')}</Menu.Item>
                        <Menu.Item onClick={() => act.mutate({ duplicate: s })}>{t('seg_duplicate')}</Menu.Item>
                        <Menu.Item color="red" onClick={() => (act.reset(), setDeleting(s))}>
                          {t('seg_delete')}
                        </Menu.Item>
                      </Menu.Dropdown>
                    </Menu>
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Modal opened={renaming !== null} onClose={() => setRenaming(null)} title={t('seg_rename_title')}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (renaming && name.trim()) act.mutate({ rename: renaming, name });
          }}
        >
          <TextInput data-autofocus label={t('seg_col_name')} value={name} onChange={(e) => setName(e.currentTarget.value)} error={renameError} />
          <Group justify="flex-end" mt="md">
            <Button variant="default" onClick={() => setRenaming(null)}>
              {t('act_cancel')}
            </Button>
            <Button type="submit" disabled={!name.trim()} loading={act.isPending}>
              {t('save')}
            </Button>
          </Group>
        </form>
      </Modal>
      <Modal opened={deleting !== null} onClose={() => setDeleting(null)} title={t('seg_delete_title', { name: deleting?.name ?? '' })}>
        <Text size="sm">{deleting?.kind === 'manual' ? t('seg_delete_manual') : t('seg_delete_dynamic')}</Text>
        <Group justify="flex-end" mt="md">
          <Button variant="default" onClick={() => setDeleting(null)} data-autofocus>
            {t('act_cancel')}
          </Button>
          <Button color="red" loading={act.isPending} onClick={() => deleting && act.mutate({ remove: deleting })}>
            {t('seg_delete')}
          </Button>
        </Group>
      </Modal>
    </>
  );
}
