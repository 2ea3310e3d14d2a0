// Russian first, English as a switch; plural forms by i18next (Intl.PluralRules).
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';

const ru = {
  appName: 'Картотека',
  login: 'Логин',
  password: 'Пароль',
  signIn: 'Войти',
  signOut: 'Выйти',
  newPassword: 'Новый пароль',
  changePassword: 'Сменить пароль',
  changePasswordHint: 'Это одноразовый пароль: придумайте свой, не короче 12 символов.',
  bases: 'Базы профилей',
  noBases: 'Баз пока нет: создайте первую через API или загрузите демо-базу (kartoteka demo).',
  open: 'Открыть',
  back: 'Все базы',
  search: 'Поиск: имя, телефон, email, карта… Enter добавляет значение',
  found_one: 'Найден {{count}} клиент',
  found_few: 'Найдено {{count}} клиента',
  found_many: 'Найдено {{count}} клиентов',
  found_other: 'Найдено {{count}} клиента',
  nothing: 'Никого не нашли. Уберите часть условий поиска.',
  loading: 'Загрузка…',
  retry: 'Повторить',
  col_name: 'ФИО',
  col_phone: 'Телефон',
  col_email: 'Email',
  col_card: 'Карта',
  col_city: 'Город',
  col_birth: 'Дата рождения',
};
const en: typeof ru = {
  appName: 'Kartoteka',
  login: 'Login',
  password: 'Password',
  signIn: 'Sign in',
  signOut: 'Sign out',
  newPassword: 'New password',
  changePassword: 'Change password',
  changePasswordHint: 'This is a one-time password: choose your own, at least 12 characters.',
  bases: 'Profile bases',
  noBases: 'No bases yet: create one through the API or load the demo base (kartoteka demo).',
  open: 'Open',
  back: 'All bases',
  search: 'Search: name, phone, email, card… Enter adds a value',
  found_one: '{{count}} client found',
  found_few: '{{count}} clients found',
  found_many: '{{count}} clients found',
  found_other: '{{count}} clients found',
  nothing: 'Nobody found. Remove some of the search terms.',
  loading: 'Loading…',
  retry: 'Retry',
  col_name: 'Name',
  col_phone: 'Phone',
  col_email: 'Email',
  col_card: 'Card',
  col_city: 'City',
  col_birth: 'Birth date',
};

void i18n.use(initReactI18next).init({
  resources: { ru: { translation: ru }, en: { translation: en } },
  lng: localStorage.getItem('lang') ?? 'ru',
  fallbackLng: 'ru',
  interpolation: { escapeValue: false },
});

/** Dates as Russians write them: 05.03.2026. */
export const formatDate = (iso: string | null | undefined) => (iso ? iso.slice(0, 10).split('-').reverse().join('.') : '');

export default i18n;
