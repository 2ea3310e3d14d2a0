// How the UI writes dates, numbers and money: Russian conventions by default (05.03.2026,
// 1 234 567, 1 234,50 ₽), English ones under the switch. Pure functions (tested without a browser).
export type Lang = 'ru' | 'en';
const locale = (lang: Lang) => (lang === 'en' ? 'en-GB' : 'ru-RU');

/** A calendar date from an ISO date or timestamp: 05.03.2026 (en: 05/03/2026). */
export function formatDate(iso: string | null | undefined, lang: Lang = 'ru'): string {
  if (!iso) return '';
  const [y, m, d] = iso.slice(0, 10).split('-');
  return lang === 'en' ? `${d}/${m}/${y}` : `${d}.${m}.${y}`;
}

/** A moment in the browser's time zone: 22.11.2026 17:54. */
export function formatDateTime(iso: string | null | undefined, lang: Lang = 'ru'): string {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  const date = lang === 'en' ? `${p(d.getDate())}/${p(d.getMonth() + 1)}/${d.getFullYear()}` : `${p(d.getDate())}.${p(d.getMonth() + 1)}.${d.getFullYear()}`;
  return `${date} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A count or quantity with the language's digit grouping: 1 234 567 (en: 1,234,567). */
export function formatNumber(n: number | null | undefined, lang: Lang = 'ru'): string {
  return n === null || n === undefined ? '' : new Intl.NumberFormat(locale(lang), { maximumFractionDigits: 6 }).format(n);
}

/** Money in roubles with kopecks: 1 234,50 ₽ (en: RUB 1,234.50). */
export function formatMoney(n: number | null | undefined, lang: Lang = 'ru', currency = 'RUB'): string {
  if (n === null || n === undefined) return '';
  return new Intl.NumberFormat(locale(lang), { style: 'currency', currency, currencyDisplay: lang === 'en' ? 'code' : 'symbol', minimumFractionDigits: 2, maximumFractionDigits: 2 })
    .format(n);
}

/** A stored E.164 phone as people read it: +7 916 123-45-67 (other countries as stored). */
export function formatPhone(e164: string | null | undefined): string {
  if (!e164) return '';
  const m = /^\+7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(e164);
  return m ? `+7 ${m[1]} ${m[2]}-${m[3]}-${m[4]}` : e164;
}

/** A file size: 812 Б, 1,2 МБ (en: 812 B, 1.2 MB). */
export function formatSize(bytes: number | null | undefined, lang: Lang = 'ru'): string {
  if (bytes === null || bytes === undefined) return '';
  const units = lang === 'en' ? ['B', 'KB', 'MB', 'GB'] : ['Б', 'КБ', 'МБ', 'ГБ'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${new Intl.NumberFormat(locale(lang), { maximumFractionDigits: u === 0 ? 0 : 1 }).format(v)}\u00a0${units[u]}`;
}
