// One dictionary per language, made of the areas' strings (each area keeps its own beside its
// screens; the words every screen shares are here): Russian first, English as a switch; plural
// forms by i18next (Intl.PluralRules). Enum values read the same everywhere: enum_<field>_<value>.
import i18n from 'i18next';
import { initReactI18next, useTranslation } from 'react-i18next';
import * as format from './format.ts';
import * as actions from '../clients/actions.strings.ts';
import * as bases from '../bases/bases.strings.ts';
import * as card from '../card/card.strings.ts';
import * as clients from '../clients/clients.strings.ts';
import * as exports from '../exports/exports.strings.ts';
import * as imports from '../imports/imports.strings.ts';
import * as logs from './logs.strings.ts';
import * as nav from './nav.strings.ts';

const ru = {
  appName: 'Картотека',
  login: 'Логин',
  password: 'Пароль',
  signIn: 'Войти',
  signOut: 'Выйти',
  newPassword: 'Новый пароль',
  changePassword: 'Сменить пароль',
  changePasswordHint: 'Это одноразовый пароль: придумайте свой, не короче {{min}} символов.',
  currentPassword: 'Текущий пароль',
  repeatPassword: 'Новый пароль ещё раз',
  passwordsDiffer: 'Пароли не совпадают',
  bases: 'Базы профилей',
  noBases: 'Баз пока нет: создайте первую через API или загрузите демо-базу (kartoteka demo).',
  open: 'Открыть',
  back: 'Все базы',
  search: 'Поиск: имя, телефон, email, карта… Enter добавляет значение',
  bs_clients_one: '{{count, number}} клиент',
  bs_clients_few: '{{count, number}} клиента',
  bs_clients_many: '{{count, number}} клиентов',
  bs_clients_other: '{{count, number}} клиента',
  bs_clients_about: 'около {{text}}',
  loading: 'Загрузка…',
  retry: 'Повторить',
  card: 'Карточка клиента',
  save: 'Сохранить изменения',
  saved: 'Сохранено',
  created: 'Создан',
  updated: 'Изменён',
  timeline: 'История изменений',
  selectAll: 'Выбрать всех найденных',
  yes: 'да',
  no: 'нет',
  remove: 'Убрать',
  enum_kind_member: 'Участник программы лояльности',
  enum_kind_subscriber: 'Подписчик',
  enum_gender_m: 'Мужской',
  enum_gender_f: 'Женский',
  enum_registrationSource_pos: 'Касса',
  enum_registrationSource_form: 'Форма на сайте',
  enum_registrationSource_interface: 'Вручную',
  enum_registrationSource_api: 'API',
  enum_registrationSource_import: 'Импорт',
};
const en: typeof ru = {
  appName: 'Kartoteka',
  login: 'Login',
  password: 'Password',
  signIn: 'Sign in',
  signOut: 'Sign out',
  newPassword: 'New password',
  changePassword: 'Change password',
  changePasswordHint: 'This is a one-time password: choose your own, at least {{min}} characters.',
  currentPassword: 'Current password',
  repeatPassword: 'New password again',
  passwordsDiffer: 'The passwords differ',
  bases: 'Profile bases',
  noBases: 'No bases yet: create one through the API or load the demo base (kartoteka demo).',
  open: 'Open',
  back: 'All bases',
  search: 'Search: name, phone, email, card… Enter adds a value',
  bs_clients_one: '{{count, number}} client',
  bs_clients_few: '{{count, number}} clients',
  bs_clients_many: '{{count, number}} clients',
  bs_clients_other: '{{count, number}} clients',
  bs_clients_about: 'about {{text}}',
  loading: 'Loading…',
  retry: 'Retry',
  card: 'Client card',
  save: 'Save changes',
  saved: 'Saved',
  created: 'Created',
  updated: 'Updated',
  timeline: 'History',
  selectAll: 'Select all found',
  yes: 'yes',
  no: 'no',
  remove: 'Remove',
  enum_kind_member: 'Loyalty member',
  enum_kind_subscriber: 'Subscriber',
  enum_gender_m: 'Male',
  enum_gender_f: 'Female',
  enum_registrationSource_pos: 'Till',
  enum_registrationSource_form: 'Web form',
  enum_registrationSource_interface: 'By hand',
  enum_registrationSource_api: 'API',
  enum_registrationSource_import: 'Import',
};

/** Every area's strings: a key belongs to one area (i18n.test.ts checks none is defined twice). */
export const AREAS: Record<string, { ru: Record<string, string>; en: Record<string, string> }> = { common: { ru, en }, bases, clients, actions, card, imports, exports, logs, nav };
const merged = (lang: 'ru' | 'en') => Object.assign({}, ...Object.values(AREAS).map((a) => a[lang])) as Record<string, string>;
export const dictionaries = { ru: merged('ru'), en: merged('en') };

void i18n.use(initReactI18next).init({
  resources: { ru: { translation: dictionaries.ru }, en: { translation: dictionaries.en } },
  lng: (typeof localStorage === 'undefined' ? null : localStorage.getItem('lang')) ?? 'ru',
  fallbackLng: 'ru',
  interpolation: { escapeValue: false },
});

const lang = (): format.Lang => (i18n.language === 'en' ? 'en' : 'ru');

/** A label the API gives in both languages ({ ru, en }) in `lang`: Russian when English is empty, else `fallback`. */
export const labelOf = (label: { ru: string; en: string } | undefined, lang: format.Lang, fallback = ''): string => (label ? label[lang] || label.ru : '') || fallback;

/** The UI's language as the API's labels are keyed ({ ru, en }); re-renders when it switches. */
export function useLang(): format.Lang {
  const { i18n: current } = useTranslation();
  return current.language === 'en' ? 'en' : 'ru';
}
/** The formats of format.ts in the UI's current language. */
export const formatDate = (iso: string | null | undefined) => format.formatDate(iso, lang());
export const formatDateTime = (iso: string | null | undefined) => format.formatDateTime(iso, lang());
export const formatNumber = (n: number | null | undefined) => format.formatNumber(n, lang());
export const formatSize = (n: number | null | undefined) => format.formatSize(n, lang());

export default i18n;
