// The client card, a drawer on the right. Header: the name (or phone/email), kind, tags in their
// colours (× takes one off, «+ тег» puts an existing or a new one on at once), created/updated.
// Tabs: «Профиль» — personal data, identifiers, registration, UTM and referral, the base's custom
// fields by type, edited in place and saved with one «Сохранить изменения» (one PATCH with only the
// changed fields; the API's errors at their inputs; edits kept if the save fails; leaving with unsaved
// edits asks first) — and «История изменений», the timeline with old → new values.
// Loyalty and communications add their own Tabs.Tab/Tabs.Panel pairs next to these (see TABS below).
import {
  Alert,
  Autocomplete,
  Badge,
  Box,
  Button,
  Center,
  Checkbox,
  CloseButton,
  Collapse,
  Combobox,
  Drawer,
  Fieldset,
  Group,
  Loader,
  Modal,
  NumberInput,
  Select,
  SimpleGrid,
  Stack,
  Tabs,
  TagsInput,
  Text,
  TextInput,
  Timeline,
  useCombobox,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert, splitError } from '../shared/errors.tsx';
import { updateRow } from '../clients/rows.ts';
import { call, ApiError, type Res, fieldsQuery, tagsQuery } from '../shared/api.ts';
import {
  changedKeys,
  customDefs,
  displayName,
  draftOf,
  EXTRA_KEYS,
  fromTo,
  IDENTIFIERS,
  patchOf,
  PERSONAL,
  STANDARD,
  tagDiff,
  UTM,
  type Draft,
  type DraftValue,
  type FieldDef,
  type Patch,
  emptyDraft,
  fieldLabel,
} from './cardDraft.ts';
import { formatPhone } from '../shared/format.ts';
import { formatDate, formatDateTime, formatNumber, useLang, labelOf } from '../shared/i18n.ts';
import { nextColor, type Tag } from '../shared/TagPicker.tsx';
import { useActorName } from '../shared/actor.ts';

type Event = Res<'GET /bases/{baseId}/profiles/{id}/events'>['items'][number];
type Lang = 'ru' | 'en';

/** The card's tabs; loyalty and communications append theirs (a value here, a Tabs.Tab and a Tabs.Panel below). */
type TabValue = 'profile' | 'history';

/** Labels of fields by their API path (`city`, `fields.level`, `tags`) in the UI's language: the API's field list names every field, standard ones included. */
function useFieldLabel(defs: readonly FieldDef[] | undefined) {
  const { t } = useTranslation();
  const lang: Lang = useLang();
  return (path: string): string => (path === 'tags' ? t('cd_f_tags') : fieldLabel(defs, path, lang));
}

/**
 * `id`: the client shown, 'new' for the new-client form (the same card, empty, saved by POST;
 * `preset` starts it, e.g. with the phone a search did not find), null: closed.
 */
export function ClientCard({
  baseId,
  id: shown,
  preset,
  onClose,
  onOpen,
}: {
  baseId: number;
  id: number | 'new' | null;
  preset?: Draft | undefined;
  onClose: () => void;
  onOpen?: (id: number) => void;
}) {
  const { t } = useTranslation();
  const lang: Lang = useLang();
  const qc = useQueryClient();
  const creating = shown === 'new';
  const id = creating ? null : shown;
  const profileKey = ['profile', baseId, id];
  const profile = useQuery({ queryKey: profileKey, enabled: id !== null, queryFn: () => call('GET /bases/{baseId}/profiles/{id}', { path: { baseId, id: id! } }) });
  const events = useQuery({ queryKey: ['events', baseId, id], enabled: id !== null, queryFn: () => call('GET /bases/{baseId}/profiles/{id}/events', { path: { baseId, id: id! } }) });
  const fieldDefs = useQuery({ ...fieldsQuery(baseId), enabled: shown !== null });
  const tagList = useQuery({ ...tagsQuery(baseId), enabled: id !== null });
  const defs = fieldDefs.data?.items;
  const label = useFieldLabel(defs);

  // The user's edits, apart from the profile: a refetch never wipes them, a failed save keeps them.
  const [edits, setEdits] = useState<Draft>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  // A message belongs to the client it was said of: a subscriber merged into a member opens the
  // member's card with the message, and any other client's card starts without one.
  const [said, setSaid] = useState<{ id: number | null; text: string } | null>(null);
  /** A new client's phone, card or email that another client has: that client, to open instead. */
  const [holder, setHolder] = useState<number | null>(null);
  const setNotice = (text: string | null, of: number | null = id) => setSaid(text === null ? null : { id: of, text });
  const notice = said?.id === id ? said.text : null;
  const [tab, setTab] = useState<TabValue>('profile');
  const [moreKeys, setMoreKeys] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  // After a refused save has been drawn, its first refused input gets the focus (and comes into view).
  const [focusError, setFocusError] = useState(0);
  useEffect(() => {
    if (focusError) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [focusError]);
  // Another client (or none): start clean.
  const [shownId, setShownId] = useState(shown);
  if (shownId !== shown) {
    setShownId(shown);
    setEdits(shown === 'new' ? (preset ?? {}) : {});
    setHolder(null);
    setErrors({});
    setFormError(null);
    setTab('profile');
    setMoreKeys(false);
    setConfirming(false);
  }

  const p = id === null ? undefined : profile.data;
  const initial = useMemo(() => (creating ? (defs ? emptyDraft(defs) : null) : p ? draftOf(p, defs ?? []) : null), [creating, p, defs]);
  const changed = initial ? changedKeys(initial, edits) : [];
  const dirty = changed.length > 0;
  const value = (k: string): DraftValue => (k in edits ? edits[k]! : (initial?.[k] ?? ''));
  const edit = (k: string, v: DraftValue) => {
    setEdits((e) => ({ ...e, [k]: v }));
    setNotice(null);
    if (errors[k]) setErrors(({ [k]: _gone, ...rest }) => rest);
  };
  /** A standard text field of the card: its label, its draft value, its error. */
  const textInput = (k: string, placeholder?: string) => (
    <TextInput key={k} label={label(k)} placeholder={placeholder} value={value(k) as string} error={errors[k]} onChange={(e) => edit(k, e.currentTarget.value)} />
  );

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const invalidate = (...keys: string[]) => {
    for (const key of keys) void qc.invalidateQueries({ queryKey: [key, baseId] });
  };

  const save = useMutation({
    mutationFn: (body: Patch) =>
      creating ? call('POST /bases/{baseId}/profiles', { path: { baseId }, body }) : call('PATCH /bases/{baseId}/profiles/{id}', { path: { baseId, id: id! }, body }),
    onMutate: () => {
      setErrors({});
      setFormError(null);
      setNotice(null);
      setHolder(null);
    },
    onSuccess: (res, body) => {
      setEdits({});
      if (creating) {
        // The new client's own card takes the form's place (and the address).
        qc.setQueryData(['profile', baseId, res.id], res);
        setNotice(t('nc_added'), res.id);
        onOpen?.(res.id);
      } else if (res.id !== id) {
        // A subscriber given a member's email folds into that member: this card's profile is gone,
        // and the card goes on with the member.
        const message = t('cd_merged_into', { id: res.id });
        invalidate('profile');
        if (onOpen) {
          setNotice(message, res.id);
          onOpen(res.id);
        } else setNotice(message);
      } else {
        qc.setQueryData(profileKey, res);
        setNotice(res.mergedFrom?.length ? t('cd_merged_from', { count: res.mergedFrom.length }) : t('saved'));
      }
      invalidate('events', 'clients');
      // Values of free lists join the field's options.
      if (body.fields) invalidate('fields', 'filter-fields', 'field-values');
    },
    onError: (e) => {
      if (!(e instanceof ApiError) || !e.fields.length) return setFormError(e.message);
      if (e.status === 409 && typeof e.extra.existingId === 'number') setHolder(e.extra.existingId);
      const shown = new Set<string>([...STANDARD, ...customDefs(defs ?? []).map((d) => `fields.${d.key}`)]);
      const { fields: at } = splitError(e, (f) => shown.has(f));
      const elsewhere = e.fields.filter((f) => !shown.has(f.field)).map((f) => f.message);
      setErrors(at);
      // Extra keys are folded away when empty: open them when one has an error.
      if (EXTRA_KEYS.some((k) => at[k])) setMoreKeys(true);
      setFocusError((n) => n + 1);
      setFormError(elsewhere.length ? [e.message, ...elsewhere].join(' · ') : Object.keys(at).length ? t('cd_fix_fields') : e.message);
    },
  });
  const submit = (then?: () => void) => {
    if (!initial || !dirty || save.isPending) return;
    save.mutate(patchOf(initial, edits), { onSuccess: () => then?.() });
  };

  const tagOp = useMutation({
    mutationFn: async (op: { add: number } | { remove: number } | { create: string }) => {
      let body: { add?: number[]; remove?: number[] };
      if ('create' in op) {
        const all = tagList.data?.items ?? [];
        const tag = await call('POST /bases/{baseId}/tags', { path: { baseId }, body: { name: op.create, color: nextColor(all.map((x) => x.color)) } });
        body = { add: [tag.id] };
      } else body = 'add' in op ? { add: [op.add] } : { remove: [op.remove] };
      return call('POST /bases/{baseId}/profiles/{id}/tags', { path: { baseId, id: id! }, body });
    },
    onSuccess: (res) => {
      qc.setQueryData(profileKey, res);
      // The row of this client shows its tags at once; the other loaded rows are not read again.
      updateRow(qc, baseId, res);
      invalidate('events');
    },
    onSettled: (_res, _err, op) => {
      if ('create' in op) invalidate('tags');
    },
  });

  const requestClose = () => (dirty ? setConfirming(true) : onClose());
  const name = creating ? t('nc_title') : p ? (displayName(p) ?? (formatPhone(p.phone) || p.email || p.cardNumber || t('cd_nameless'))) : '';

  const form = (
    <form
      ref={formRef}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <Stack gap="md">
        <Fieldset legend={t('cd_sec_personal')}>
          <SimpleGrid cols={2}>
            {PERSONAL.map((k) =>
              k === 'gender' ? (
                <Select
                  key={k}
                  label={label(k)}
                  data={[
                    { value: 'none', label: t('cd_gender_none') },
                    { value: 'm', label: t('enum_gender_m') },
                    { value: 'f', label: t('enum_gender_f') },
                  ]}
                  value={(value(k) as string) || 'none'}
                  onChange={(v) => edit(k, !v || v === 'none' ? '' : v)}
                  allowDeselect={false}
                  error={errors[k]}
                />
              ) : (
                textInput(k, k === 'birthDate' ? t('cd_date_hint') : undefined)
              ),
            )}
          </SimpleGrid>
        </Fieldset>

        <Fieldset legend={t('cd_sec_ids')}>
          <SimpleGrid cols={2}>
            {IDENTIFIERS.map((k) => (
              textInput(k)
            ))}
          </SimpleGrid>
          <ExtraKeys
            open={moreKeys || EXTRA_KEYS.some((k) => initial?.[k] !== '')}
            onToggle={() => setMoreKeys(!moreKeys)}
            canFold={EXTRA_KEYS.every((k) => initial?.[k] === '')}
          >
            <SimpleGrid cols={2} pt="sm">
              {EXTRA_KEYS.map((k) => (
                textInput(k)
              ))}
            </SimpleGrid>
          </ExtraKeys>
        </Fieldset>

        <Fieldset legend={t('cd_sec_reg')}>
          <SimpleGrid cols={2}>
            <TextInput
              label={label('registrationSource')}
              value={p?.registrationSource ? t(`enum_registrationSource_${p?.registrationSource}`) : t('cd_not_set')}
              readOnly
              variant="filled"
              description={t('cd_read_only')}
            />
            <PointOfSale
              label={label('pointOfSale')}
              value={value('pointOfSale') as string}
              locked={(defs?.find((d) => d.key === 'pointOfSale')?.setOnce ?? true) && initial?.pointOfSale !== ''}
              error={errors.pointOfSale}
              onChange={(v) => edit('pointOfSale', v)}
            />
          </SimpleGrid>
        </Fieldset>

        <Fieldset legend={t('cd_sec_utm')}>
          <SimpleGrid cols={2}>
            {UTM.map((k) => (
              textInput(k)
            ))}
          </SimpleGrid>
        </Fieldset>

        <Fieldset legend={t('cd_sec_custom')} data-testid="custom-fields">
          {fieldDefs.isPending && <Loader size="sm" aria-label={t('loading')} />}
          {fieldDefs.error && (
            <ErrorAlert error={fieldDefs.error} retry={() => void fieldDefs.refetch()} />
          )}
          {defs && customDefs(defs).length === 0 && (
            <Text size="sm" c="dimmed">
              {t('cd_no_custom')}
            </Text>
          )}
          {defs && customDefs(defs).length > 0 && (
            <SimpleGrid cols={2}>
              {customDefs(defs).map((d) => (
                <CustomInput
                  key={d.key}
                  def={d}
                  lang={lang}
                  value={value(`fields.${d.key}`)}
                  error={errors[`fields.${d.key}`]}
                  onChange={(v) => edit(`fields.${d.key}`, v)}
                />
              ))}
            </SimpleGrid>
          )}
        </Fieldset>

        {/* Always in sight at the drawer's bottom: the state of the edits, the error of a save, the buttons. */}
        <Group
          justify="space-between"
          wrap="nowrap"
          py="sm"
          style={{ position: 'sticky', bottom: 0, background: 'var(--mantine-color-body)', borderTop: '1px solid var(--mantine-color-default-border)', zIndex: 2 }}
        >
          {formError ? (
            <Stack gap={4} style={{ flex: 1, minWidth: 0 }} align="flex-start">
              <Text size="sm" c="red" role="alert" data-testid="card-error">
                {formError}
              </Text>
              {holder !== null && onOpen && (
                <Button size="compact-sm" variant="light" onClick={() => onOpen(holder)} data-testid="open-holder">
                  {t('nc_open_holder', { id: holder })}
                </Button>
              )}
            </Stack>
          ) : (
            <Text size="sm" c={notice ? 'green' : 'dimmed'} role="status" data-testid="card-status" style={{ flex: 1, minWidth: 0 }}>
              {notice ?? (creating ? t('nc_hint') : dirty ? t('cd_changed', { count: changed.length }) : t('cd_nothing_changed'))}
            </Text>
          )}
          <Group gap="xs" wrap="nowrap">
            <Button
              variant="default"
              disabled={!dirty || save.isPending}
              onClick={() => {
                setEdits({});
                setErrors({});
                setFormError(null);
              }}
            >
              {t('cd_discard')}
            </Button>
            <Button type="submit" disabled={!dirty} loading={save.isPending}>
              {creating ? t('nc_save') : t('save')}
            </Button>
          </Group>
        </Group>
      </Stack>
    </form>
  );

  return (
    <>
      <Drawer
        opened={shown !== null}
        onClose={requestClose}
        position="right"
        size="xl"
        closeButtonProps={{ 'aria-label': t('cd_close') }}
        title={
          <Box component="span" display="block">
            <Text component="span" display="block" size="xs" c="dimmed">
              {creating ? t('nc_kicker') : t('card')}
            </Text>
            {name && (
              <Text component="span" display="block" fw={700} size="xl" data-testid="card-name">
                {name}
              </Text>
            )}
          </Box>
        }
      >
        {creating && (defs ? form : <Loader aria-label={t('cd_loading')} />)}
        {id !== null && profile.isPending && (
          <Center py="xl">
            <Loader aria-label={t('cd_loading')} />
          </Center>
        )}
        {profile.error && (
          <ErrorAlert error={profile.error} retry={() => void profile.refetch()} />
        )}
        {p && (
          <Stack gap="sm">
            <Group gap="xs">
              <Badge color={p.kind === 'member' ? 'teal' : 'gray'} variant="light" tt="none" data-testid="card-kind">
                {t(`enum_kind_${p.kind}`)}
              </Badge>
              <Text size="xs" c="dimmed">
                {t('cd_id', { id: p.id })}
              </Text>
            </Group>
            <TagsRow
              tags={tagList.data?.items ?? []}
              on={p.tags}
              busy={tagOp.isPending}
              onAdd={(tagId) => tagOp.mutate({ add: tagId })}
              onCreate={(tagName) => tagOp.mutate({ create: tagName })}
              onRemove={(tagId) => tagOp.mutate({ remove: tagId })}
            />
            {tagOp.error && (
              <Alert color="red" withCloseButton closeButtonLabel={t('cd_close')} onClose={() => tagOp.reset()} p="xs">
                {tagOp.error.message}
              </Alert>
            )}
            <Text size="xs" c="dimmed" data-testid="card-dates">
              {t('created')}: {formatDateTime(p.createdAt)} · {t('updated')}: {formatDateTime(p.updatedAt)}
            </Text>

            <Tabs value={tab} onChange={(v) => setTab((v as TabValue | null) ?? 'profile')} keepMounted={false}>
              <Tabs.List>
                <Tabs.Tab value="profile">{t('cd_tab_profile')}</Tabs.Tab>
                {/* Loyalty and communications: their Tabs.Tab go here, their Tabs.Panel after the profile's. */}
                <Tabs.Tab
                  value="history"
                  rightSection={
                    events.data?.items.length ? (
                      <Badge size="xs" variant="light" circle={events.data.items.length < 10}>
                        {events.data.items.length}
                      </Badge>
                    ) : null
                  }
                >
                  {t('timeline')}
                </Tabs.Tab>
              </Tabs.List>

              <Tabs.Panel value="profile" pt="sm">
                {form}
              </Tabs.Panel>

              <Tabs.Panel value="history" pt="md">
                <History events={events} tags={tagList.data?.items ?? []} defs={defs} label={label} />
              </Tabs.Panel>
            </Tabs>
          </Stack>
        )}
      </Drawer>

      {/* A sibling of the drawer, not a child: its Escape must not reach the drawer's. */}
      <Modal opened={confirming} onClose={() => setConfirming(false)} title={t('cd_unsaved_title')} zIndex={400} centered>
        <Text size="sm">{t('cd_unsaved_text')}</Text>
        <Group justify="flex-end" mt="md" gap="xs">
          <Button variant="default" onClick={() => setConfirming(false)} data-autofocus>
            {t('cd_unsaved_stay')}
          </Button>
          <Button
            color="red"
            variant="light"
            onClick={() => {
              setConfirming(false);
              setEdits({});
              onClose();
            }}
          >
            {t('cd_unsaved_drop')}
          </Button>
          <Button
            onClick={() => {
              setConfirming(false);
              submit(onClose);
            }}
          >
            {t('cd_unsaved_save')}
          </Button>
        </Group>
      </Modal>
    </>
  );
}

/** The extra keys 1–6: folded under «Ещё ключи» while they are all empty. */
function ExtraKeys({ open, canFold, onToggle, children }: { open: boolean; canFold: boolean; onToggle: () => void; children: ReactNode }) {
  const { t } = useTranslation();
  if (!canFold) return children;
  return (
    <>
      <Button variant="subtle" size="compact-sm" mt="sm" onClick={onToggle} aria-expanded={open} aria-controls="card-extra-keys">
        {open ? t('cd_less_keys') : t('cd_more_keys')}
      </Button>
      <Collapse expanded={open} id="card-extra-keys">
        {children}
      </Collapse>
    </>
  );
}

/** The point of sale is set once: editable while empty, then shown locked. */
function PointOfSale({ label, value, locked, error, onChange }: { label: string; value: string; locked: boolean; error?: string; onChange: (v: string) => void }) {
  const { t } = useTranslation();
  return (
    <TextInput
      label={label}
      value={value}
      disabled={locked}
      description={locked ? t('cd_set_once') : t('cd_set_once_empty')}
      error={error}
      onChange={(e) => onChange(e.currentTarget.value)}
    />
  );
}

/** One custom field's input by its type; required ones marked, read-only ones disabled. */
function CustomInput({ def, lang, value, error, onChange }: { def: FieldDef; lang: Lang; value: DraftValue; error?: string; onChange: (v: DraftValue) => void }) {
  const { t } = useTranslation();
  const label = labelOf(def.label, lang, def.key);
  const common = { label, error, withAsterisk: def.required, disabled: def.readOnly, description: def.readOnly ? t('cd_read_only') : undefined };
  switch (def.type) {
    case 'int':
    case 'float':
      return (
        <NumberInput
          {...common}
          value={typeof value === 'number' || typeof value === 'string' ? value : ''}
          onChange={(v) => onChange(v)}
          allowDecimal={def.type === 'float'}
          decimalSeparator={lang === 'ru' ? ',' : '.'}
        />
      );
    case 'boolean':
      return (
        <Checkbox
          mt="lg"
          label={
            <>
              {label}
              {def.required && (
                <Text span c="red" aria-hidden>
                  {' *'}
                </Text>
              )}
            </>
          }
          description={common.description}
          checked={value === true}
          disabled={def.readOnly}
          error={error}
          onChange={(e) => onChange(e.currentTarget.checked)}
        />
      );
    case 'list': {
      const current = typeof value === 'string' ? value : '';
      const data = current && !def.options.includes(current) ? [...def.options, current] : def.options;
      if (def.listMode === 'free') return <Autocomplete {...common} data={data} value={current} onChange={(v) => onChange(v)} />;
      return <Select {...common} data={data} value={current || null} onChange={(v) => onChange(v ?? '')} clearable searchable />;
    }
    case 'tags':
      return <TagsInput {...common} data={def.options} value={Array.isArray(value) ? value : []} onChange={(v) => onChange(v)} clearable />;
    case 'date':
      return <TextInput {...common} placeholder={t('cd_date_hint')} value={String(value)} onChange={(e) => onChange(e.currentTarget.value)} />;
    default:
      return <TextInput {...common} value={String(value)} onChange={(e) => onChange(e.currentTarget.value)} />;
  }
}

/** The client's tags as badges in their colours, each with ×, and «+ тег». */
function TagsRow({
  tags,
  on,
  busy,
  onAdd,
  onCreate,
  onRemove,
}: {
  tags: readonly Tag[];
  on: number[];
  busy: boolean;
  onAdd: (id: number) => void;
  onCreate: (name: string) => void;
  onRemove: (id: number) => void;
}) {
  const { t } = useTranslation();
  const [adding, setAdding] = useState(false);
  const addButton = useRef<HTMLButtonElement>(null);
  const mine = on.map((id) => tags.find((x) => x.id === id)).filter((x): x is Tag => !!x);
  return (
    <Group gap={6} role="group" aria-label={t('cd_tags')} data-testid="card-tags">
      {mine.map((tag) => (
        <Badge
          key={tag.id}
          color={tag.color}
          autoContrast
          variant="filled"
          tt="none"
          pr={2}
          rightSection={
            <CloseButton
              size="xs"
              variant="transparent"
              style={{ color: 'inherit' }}
              aria-label={t('cd_tag_remove', { name: tag.name })}
              disabled={busy}
              onClick={() => onRemove(tag.id)}
            />
          }
        >
          {tag.name}
        </Badge>
      ))}
      {adding ? (
        <TagAdder
          tags={tags}
          on={on}
          onAdd={onAdd}
          onCreate={onCreate}
          busy={busy}
          onDone={() => {
            setAdding(false);
            requestAnimationFrame(() => addButton.current?.focus());
          }}
        />
      ) : (
        <Button ref={addButton} size="compact-xs" variant="light" color="gray" onClick={() => setAdding(true)}>
          {t('cd_tag_add')}
        </Button>
      )}
    </Group>
  );
}

const CREATE = '\u0000create';

/** Pick an existing tag or type a new name; Enter takes the highlighted option, Escape or leaving closes. */
function TagAdder({
  tags,
  on,
  busy,
  onAdd,
  onCreate,
  onDone,
}: {
  tags: readonly Tag[];
  on: number[];
  busy: boolean;
  onAdd: (id: number) => void;
  onCreate: (name: string) => void;
  onDone: () => void;
}) {
  const { t } = useTranslation();
  const [search, setSearch] = useState('');
  const combobox = useCombobox({ onDropdownClose: () => combobox.resetSelectedOption() });
  const q = search.trim().replace(/\s+/g, ' ');
  const lower = q.toLowerCase();
  const free = tags.filter((x) => !on.includes(x.id));
  const shown = free.filter((x) => x.name.toLowerCase().includes(lower)).slice(0, 50);
  const creatable = q !== '' && !tags.some((x) => x.name.toLowerCase() === lower);
  useEffect(() => {
    combobox.openDropdown();
  }, []);
  useEffect(() => {
    // The best match is highlighted: Enter takes it; a new name alone is the only option.
    requestAnimationFrame(() => combobox.selectFirstOption());
  }, [q, shown.length, creatable]);
  const pick = (v: string) => {
    if (busy) return;
    if (v === CREATE) onCreate(q);
    else onAdd(Number(v));
    setSearch('');
  };
  return (
    <Combobox store={combobox} onOptionSubmit={pick} withinPortal>
      <Combobox.Target>
        <TextInput
          size="xs"
          w={240}
          autoFocus
          aria-label={t('cd_tag_input')}
          placeholder={t('cd_tag_placeholder')}
          value={search}
          rightSection={busy ? <Loader size={12} /> : null}
          onChange={(e) => {
            setSearch(e.currentTarget.value);
            combobox.openDropdown();
          }}
          onClick={() => combobox.openDropdown()}
          onFocus={() => combobox.openDropdown()}
          onBlur={() => {
            combobox.closeDropdown();
            onDone();
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              // Close the adder only, not the card.
              e.preventDefault();
              e.stopPropagation();
              onDone();
            }
          }}
        />
      </Combobox.Target>
      <Combobox.Dropdown>
        <Combobox.Options mah={260} style={{ overflowY: 'auto' }}>
          {shown.map((x) => (
            <Combobox.Option value={String(x.id)} key={x.id}>
              <Group gap="xs" wrap="nowrap">
                <Box w={10} h={10} style={{ borderRadius: 10, background: x.color, flex: 'none' }} />
                <span>{x.name}</span>
              </Group>
            </Combobox.Option>
          ))}
          {creatable && <Combobox.Option value={CREATE}>{t('cd_tag_create', { name: q })}</Combobox.Option>}
          {!shown.length && !creatable && <Combobox.Empty>{t('cd_tag_none')}</Combobox.Empty>}
        </Combobox.Options>
      </Combobox.Dropdown>
    </Combobox>
  );
}

/** The timeline newest first: what happened, when, who; for updates each field's old → new value. */
function History({
  events,
  tags,
  defs,
  label,
}: {
  events: { data?: { items: Event[] }; isPending: boolean; error: Error | null; refetch: () => unknown };
  tags: readonly Tag[];
  defs: readonly FieldDef[] | undefined;
  label: (path: string) => string;
}) {
  const { t, i18n } = useTranslation();
  const who = useActorName();
  if (events.isPending) return <Loader size="sm" aria-label={t('loading')} />;
  if (events.error)
    return (
      <ErrorAlert error={events.error} retry={() => void events.refetch()} />
    );
  const items = [...(events.data?.items ?? [])].sort((a, b) => b.at.localeCompare(a.at) || b.id - a.id);
  if (!items.length)
    return (
      <Text c="dimmed" size="sm" data-testid="timeline">
        {t('cd_hist_empty')}
      </Text>
    );

  const tagName = (id: number) => tags.find((x) => x.id === id);
  const show = (path: string, v: unknown): ReactNode => {
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length))
      return (
        <Text span fs="italic" c="dimmed">
          {t('cd_hist_empty_value')}
        </Text>
      );
    const def = path.startsWith('fields.') ? defs?.find((d) => !d.standard && d.key === path.slice(7)) : undefined;
    if (path === 'birthDate' || def?.type === 'date') return formatDate(String(v));
    if (path === 'phone') return formatPhone(String(v));
    if (path === 'gender') return t(`enum_gender_${String(v)}`);
    if (path === 'kind') return t(`enum_kind_${String(v)}`);
    if (path === 'registrationSource') return t(`enum_registrationSource_${String(v)}`);
    if (path === 'tags' && Array.isArray(v)) return v.map((id) => tagName(Number(id))?.name ?? `#${String(id)}`).join(', ');
    if (typeof v === 'boolean') return v ? t('yes') : t('no');
    if (typeof v === 'number') return formatNumber(v);
    if (Array.isArray(v)) return v.map(String).join(', ');
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  };
  const tagBadges = (ids: number[]) =>
    ids.map((id) => {
      const tag = tagName(id);
      return (
        <Badge key={id} size="sm" tt="none" color={tag?.color ?? 'gray'} autoContrast variant="filled" mx={2}>
          {tag?.name ?? `#${id}`}
        </Badge>
      );
    });

  // Changes in the order of the card: standard fields as in the form, then custom ones, then tags.
  const order = ['kind', 'registrationSource', ...STANDARD];
  const custom = customDefs(defs ?? []).map((d) => `fields.${d.key}`);
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : custom.includes(k) ? 100 + custom.indexOf(k) : k === 'tags' ? 1000 : 500);
  const body = (e: Event): ReactNode => {
    const entries = Object.entries(e.changes).sort(([a], [b]) => rank(a) - rank(b));
    if (e.action === 'merged') {
      const from = Array.isArray(e.changes.from) ? e.changes.from.map((x) => `ID ${String(x)}`).join(', ') : '';
      const filled = Array.isArray(e.changes.filled) ? e.changes.filled.map((k) => label(String(k))).join(', ') : '';
      const reason = typeof e.changes.reason === 'string' ? e.changes.reason : '';
      return (
        <Stack gap={2}>
          {from && <Text size="sm">{t('cd_hist_merged_from', { ids: from })}</Text>}
          {reason && i18n.exists(`cd_reason_${reason}`) && (
            <Text size="xs" c="dimmed">
              {t(`cd_reason_${reason}`)}
            </Text>
          )}
          {filled && <Text size="sm">{t('cd_hist_filled', { fields: filled })}</Text>}
        </Stack>
      );
    }
    if (e.action === 'created') {
      const set = entries.filter(([, v]) => v !== null && v !== '' && !(Array.isArray(v) && !v.length));
      if (!set.length) return null;
      return (
        <Stack gap={0}>
          <Text size="xs" c="dimmed">
            {t('cd_hist_initial')}
          </Text>
          {set.map(([k, v]) => (
            <Text size="sm" key={k} data-testid="change">
              <Text span c="dimmed">
                {label(k)}:
              </Text>{' '}
              {k === 'tags' && Array.isArray(v) ? tagBadges(v.map(Number)) : show(k, v)}
            </Text>
          ))}
        </Stack>
      );
    }
    return (
      <Stack gap={2}>
        {entries.map(([k, raw]) => {
          const ch = fromTo(raw);
          if (k === 'tags' && ch) {
            const { added, removed } = tagDiff(ch.from, ch.to);
            return (
              <Text size="sm" key={k} data-testid="change">
                <Text span c="dimmed">
                  {label(k)}:
                </Text>{' '}
                {added.length > 0 && (
                  <>
                    {t('cd_hist_tag_added')} {tagBadges(added)}{' '}
                  </>
                )}
                {removed.length > 0 && (
                  <>
                    {t('cd_hist_tag_removed')} {tagBadges(removed)}
                  </>
                )}
              </Text>
            );
          }
          return (
            <Text size="sm" key={k} data-testid="change">
              <Text span c="dimmed">
                {label(k)}:
              </Text>{' '}
              {ch ? (
                <>
                  {show(k, ch.from)} → <b>{show(k, ch.to)}</b>
                </>
              ) : (
                show(k, raw)
              )}
            </Text>
          );
        })}
      </Stack>
    );
  };

  return (
    <Timeline bulletSize={14} lineWidth={2} active={items.length} data-testid="timeline">
      {items.map((e) => (
        <Timeline.Item
          key={e.id}
          title={
            <Group gap={6} wrap="wrap">
              <Text size="sm" fw={600}>
                {t(`ev_${e.action}`)}
              </Text>
              <Text size="xs" c="dimmed">
                {formatDateTime(e.at)} · {t('cd_hist_by', { actor: who(e.actor) })}
              </Text>
            </Group>
          }
        >
          {e.source.import !== undefined && (
            <Text size="xs" c="dimmed" data-testid="source">
              {t('cd_hist_import', { id: e.source.import, line: e.source.line ?? '?' })}
            </Text>
          )}
          {e.source.job !== undefined && (
            <Text size="xs" c="dimmed" data-testid="source">
              {t('cd_hist_job', { id: e.source.job })}
            </Text>
          )}
          {e.source.mergedFrom !== undefined && (
            <Text size="xs" c="dimmed" data-testid="source">
              {t('cd_hist_merged_history', { id: e.source.mergedFrom })}
            </Text>
          )}
          {body(e)}
        </Timeline.Item>
      ))}
    </Timeline>
  );
}

