// The settings of a profile base as a form, shared by the creation wizard and the settings editor:
// the basic settings, the sender, and the API's field errors mapped to the inputs they concern.
import { Checkbox, NumberInput, Select, SimpleGrid, Stack, TagsInput, TextInput } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { splitError, type FieldMessages } from '../shared/errors.tsx';
import { useLang } from '../shared/i18n.ts';
import { type Base, type Req } from '../shared/api.ts';

/** What the form edits: the base's settings as the API has them, strings where an input holds them. */
export interface BaseDraft {
  name: string;
  description: string;
  tags: string[];
  accessGroup: string;
  subscriptionManager: { title: string; language: 'ru' | 'en' };
  observer: boolean;
  phoneRegion: string;
  cards: { prefix: string; length: number | string };
  emailsConsented: boolean;
  sender: { name: string; email: string; replyTo: string };
}

/** A new base's settings (the API's defaults), or an existing base's. */
export function baseDraftOf(b?: Base): BaseDraft {
  return {
    name: b?.name ?? '',
    description: b?.description ?? '',
    tags: b?.tags ?? [],
    accessGroup: b?.accessGroup ?? '',
    subscriptionManager: b?.subscriptionManager ?? { title: '', language: 'ru' },
    observer: b?.observer ?? false,
    phoneRegion: b?.phoneRegion ?? 'RU',
    cards: b?.cards ?? { prefix: '', length: 13 },
    emailsConsented: b?.emailsConsented ?? false,
    sender: { name: b?.sender.name ?? '', email: b?.sender.email ?? '', replyTo: b?.sender.replyTo ?? '' },
  };
}

/** The body of POST /bases (and, every key present, of PATCH /bases/{baseId}); an empty email or group is none. */
export function baseBody(d: BaseDraft): Req<'POST /bases'> {
  const orNull = (s: string) => (s.trim() ? s : null);
  return {
    ...d,
    accessGroup: orNull(d.accessGroup),
    cards: { prefix: d.cards.prefix, length: Number(d.cards.length) },
    sender: { name: d.sender.name, email: orNull(d.sender.email), replyTo: orNull(d.sender.replyTo) },
  };
}

/** Field errors by input: `options.2`/`options[2]` and `tags.0` are the list's input. */
export type Errors = FieldMessages;

/** The API's error as messages at the inputs in `known`; `general`: the rest in one line, or null. */
export function errorsOf(e: unknown, known: readonly string[]): { fields: Errors; general: string | null } {
  const { fields, lines } = splitError(e, known);
  return { fields, general: lines.length ? lines.join(' ') : null };
}

/** The inputs of BasicSettings and of SenderSettings, by the API's field paths. */
export const BASIC_INPUTS = ['name', 'description', 'tags', 'accessGroup', 'subscriptionManager.title', 'subscriptionManager.language', 'observer', 'phoneRegion', 'cards', 'cards.prefix', 'cards.length', 'emailsConsented'] as const;
export const SENDER_INPUTS = ['sender', 'sender.name', 'sender.email', 'sender.replyTo'] as const;

interface FormProps {
  value: BaseDraft;
  onChange: (next: BaseDraft) => void;
  errors: Errors;
}

/** Countries whose clients bases here mostly have, with their calling codes: Russia and its neighbours first. */
const REGIONS: [string, string][] = [
  ['RU', '+7'], ['KZ', '+7'], ['BY', '+375'], ['UZ', '+998'], ['KG', '+996'], ['AM', '+374'], ['AZ', '+994'], ['GE', '+995'],
  ['TJ', '+992'], ['TM', '+993'], ['MD', '+373'], ['UA', '+380'], ['LV', '+371'], ['LT', '+370'], ['EE', '+372'], ['RS', '+381'],
  ['ME', '+382'], ['TR', '+90'], ['AE', '+971'], ['IL', '+972'], ['CY', '+357'], ['TH', '+66'], ['VN', '+84'], ['CN', '+86'],
  ['IN', '+91'], ['DE', '+49'], ['GB', '+44'], ['US', '+1'],
];

/** The phone-country choices in the UI's language («Россия (+7)»); a stored code not listed stays choosable. */
function regionOptions(current: string, lang: 'ru' | 'en') {
  const names = new Intl.DisplayNames([lang], { type: 'region' });
  const list = REGIONS.some(([c]) => c === current) || !current ? REGIONS : [...REGIONS, [current, ''] as [string, string]];
  return list.map(([code, dial]) => ({ value: code, label: `${names.of(code) ?? code}${dial ? ` (${dial})` : ''}` }));
}

export function BasicSettings({ value: d, onChange, errors }: FormProps) {
  const { t } = useTranslation();
  const lang = useLang();
  const set = (patch: Partial<BaseDraft>) => onChange({ ...d, ...patch });
  return (
    <Stack>
      <TextInput label={t('bw_name')} required value={d.name} onChange={(e) => set({ name: e.currentTarget.value })} error={errors.name} />
      <TextInput label={t('bw_description')} value={d.description} onChange={(e) => set({ description: e.currentTarget.value })} error={errors.description} />
      <TagsInput label={t('bs_tags')} description={t('bs_tags_hint')} value={d.tags} onChange={(tags) => set({ tags })} error={errors.tags} />
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <Select
          label={t('bw_region')}
          description={t('bs_region_hint')}
          data={regionOptions(d.phoneRegion, lang)}
          value={d.phoneRegion}
          searchable
          allowDeselect={false}
          nothingFoundMessage={t('bs_region_none')}
          onChange={(v) => v && set({ phoneRegion: v })}
          error={errors.phoneRegion}
        />
        <TextInput label={t('bs_access_group')} description={t('bs_access_group_hint')} value={d.accessGroup} onChange={(e) => set({ accessGroup: e.currentTarget.value })} error={errors.accessGroup} />
        <TextInput
          label={t('bs_sm_title')}
          description={t('bs_sm_hint')}
          value={d.subscriptionManager.title}
          onChange={(e) => set({ subscriptionManager: { ...d.subscriptionManager, title: e.currentTarget.value } })}
          error={errors['subscriptionManager.title']}
        />
        <Select
          label={t('bs_sm_language')}
          data={[{ value: 'ru', label: t('bs_lang_ru') }, { value: 'en', label: t('bs_lang_en') }]}
          value={d.subscriptionManager.language}
          allowDeselect={false}
          onChange={(v) => v && set({ subscriptionManager: { ...d.subscriptionManager, language: v as 'ru' | 'en' } })}
          error={errors['subscriptionManager.language']}
        />
        <TextInput
          label={t('bs_card_prefix')}
          inputMode="numeric"
          value={d.cards.prefix}
          onChange={(e) => set({ cards: { ...d.cards, prefix: e.currentTarget.value } })}
          error={errors['cards.prefix'] ?? errors.cards}
        />
        <NumberInput label={t('bs_card_length')} min={6} max={200} allowDecimal={false} value={d.cards.length} onChange={(length) => set({ cards: { ...d.cards, length } })} error={errors['cards.length']} />
      </SimpleGrid>
      <Checkbox label={t('bs_observer')} checked={d.observer} onChange={(e) => set({ observer: e.currentTarget.checked })} error={errors.observer} />
      <Checkbox label={t('bw_consent')} checked={d.emailsConsented} onChange={(e) => set({ emailsConsented: e.currentTarget.checked })} error={errors.emailsConsented} />
    </Stack>
  );
}

export function SenderSettings({ value: d, onChange, errors }: FormProps) {
  const { t } = useTranslation();
  const set = (k: keyof BaseDraft['sender'], v: string) => onChange({ ...d, sender: { ...d.sender, [k]: v } });
  return (
    <Stack>
      <TextInput label={t('bw_sender_name')} value={d.sender.name} onChange={(e) => set('name', e.currentTarget.value)} error={errors['sender.name'] ?? errors.sender} />
      <TextInput label={t('bw_sender_email')} type="email" value={d.sender.email} onChange={(e) => set('email', e.currentTarget.value)} error={errors['sender.email']} />
      <TextInput label={t('bw_reply_to')} type="email" value={d.sender.replyTo} onChange={(e) => set('replyTo', e.currentTarget.value)} error={errors['sender.replyTo']} />
    </Stack>
  );
}

/** The steps (wizard) or tabs (editor) in their order; the first one with an error is where to look. */
export const SECTIONS = ['basic', 'fields', 'sender'] as const;
export type Section = (typeof SECTIONS)[number];
export function firstSectionWithErrors(base: Errors, fields: Record<string, unknown>): Section | null {
  const keys = Object.keys(base);
  if (keys.some((k) => !k.startsWith('sender'))) return 'basic';
  if (Object.keys(fields).length) return 'fields';
  return keys.length ? 'sender' : null;
}
