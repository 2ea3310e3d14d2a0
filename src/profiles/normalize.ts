/**
 * Pure normalisation / parsing helpers for profile data (phones, e-mails,
 * names, dates, gender, loyalty card numbers, IP addresses).
 *
 * No I/O, no DB. Everything here is called on the import hot path, so the
 * common cases avoid allocations and regexes where it matters (phones).
 */
import { isIP, SocketAddress } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { FEMALE_NAMES, MALE_NAMES } from './names.ts';

export type Gender = 'm' | 'f';

// ---------------------------------------------------------------------------
// Phones
// ---------------------------------------------------------------------------

/*
 * Fast path for Russian (+7) numbers.
 *
 * Validity of a 10-digit Russian national number depends only on its first
 * three digits (the "ABC/DEF" code), with a single exception: the mobile
 * range 930 where 9300xxxxxx is only partially allocated. The table below
 * mirrors the RU metadata of libphonenumber-js/max (1.13.x):
 *   fixed line  : the FIXED_LINE_CODES pattern (3xx, 4xx, 8xx area codes)
 *   mobile      : 9xx (930 0xxxxx partially -> delegated to libphonenumber)
 *   toll free   : 800, 804;  premium: 803, 809;  shared cost: 808
 * The test-suite checks every code exhaustively against libphonenumber, so a
 * metadata update that changes the plan is caught there.
 *
 * Codes starting with 7 belong to Kazakhstan (shared +7) and codes starting
 * with 0,1,2,5,6 are never Russian: both go to libphonenumber.
 */
const RU_INVALID = 0;
const RU_VALID = 1;
const RU_DELEGATE = 2;

const FIXED_LINE_CODES =
  /^(?:3(?:0[12]|36|4[1-35-79]|5[1-3]|65|8[1-58]|9[0145])|4(?:01|1[1356]|2[13467]|7[1-5]|8[1-7]|9[1-689])|8(?:1[1-8]|2[01]|3[13-6]|4[0-8]|5[15-7]|6[0-35-79]|7[1-37-9]))$/;

/** Indexed by the 3-digit code (100..999); only codes starting with 3, 4, 8, 9 are consulted. */
const RU_CODES: Uint8Array = (() => {
  const table = new Uint8Array(1000);
  for (let code = 300; code < 1000; code++) {
    const s = String(code);
    if (code === 930) table[code] = RU_DELEGATE;
    else if (s[0] === '9') table[code] = RU_VALID;
    else if (FIXED_LINE_CODES.test(s) || /^80[03489]$/.test(s)) table[code] = RU_VALID;
    else table[code] = RU_INVALID;
  }
  return table;
})();

/** Separators we silently drop inside a phone number. */
function isPhoneSeparator(c: number): boolean {
  return (
    c === 32 || // space
    c === 45 || // -
    c === 40 || // (
    c === 41 || // )
    c === 46 || // .
    c === 47 || // /
    c === 9 || // tab
    c === 0xa0 || // NBSP
    (c >= 0x2010 && c <= 0x2015) || // unicode hyphens / dashes
    c === 0x2212 || // minus sign
    c === 0x202f || // narrow NBSP
    (c >= 0x2000 && c <= 0x200b) || // unicode spaces, ZWSP
    c === 0x3000 ||
    c === 0xfeff || // BOM
    c === 10 ||
    c === 13
  );
}

const MAX_PHONE_DIGITS = 20;

/**
 * Phone to E.164 by default region (ISO 3166 alpha-2, e.g. 'RU').
 * Returns null when it is not a valid phone.
 *
 * Accepted characters: digits, a single leading '+', and separators
 * (spaces incl. NBSP/tabs, dashes, parentheses, dots, slashes). Anything else
 * — letters, extension markers ("доб.", "ext", "#"), commas — makes the input
 * garbage and yields null.
 */
export function normalizePhone(input: string, region: string = 'RU'): string | null {
  // Single pass: validate characters and collect digits.
  let digits = '';
  let plus = false;
  const len = input.length;
  for (let i = 0; i < len; i++) {
    const c = input.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits.length === MAX_PHONE_DIGITS) return null;
      digits += input[i];
    } else if (c === 43) {
      // '+' only once and only before any digit
      if (plus || digits.length !== 0) return null;
      plus = true;
    } else if (!isPhoneSeparator(c)) {
      return null;
    }
  }
  const n = digits.length;
  if (n === 0) return null;

  const isRU = region === 'RU' || region === 'ru';
  // --- fast path: Russian forms -------------------------------------------
  let national: string | null = null;
  if (plus) {
    // "+7 XXX XXX XX XX" is Russian (or Kazakh) whatever the default region.
    if (n === 11 && digits.charCodeAt(0) === 55 /* 7 */) national = digits.slice(1);
  } else if (isRU) {
    if (n === 11) {
      const c0 = digits.charCodeAt(0);
      if (c0 === 56 /* 8 */ || c0 === 55 /* 7 */) national = digits.slice(1);
    } else if (n === 10) {
      national = digits;
    } else if (n < 10) {
      // A national-format RU number has 10 digits; the shortest international
      // one written with "810"/"00" has more than 9 digits as well.
      return null;
    }
  }
  if (national !== null) {
    const d0 = national.charCodeAt(0) - 48;
    if (d0 === 3 || d0 === 4 || d0 === 8 || d0 === 9) {
      const code = d0 * 100 + (national.charCodeAt(1) - 48) * 10 + (national.charCodeAt(2) - 48);
      const kind = RU_CODES[code];
      if (kind === RU_VALID) return '+7' + national;
      if (kind === RU_INVALID) return null;
      // RU_DELEGATE (930): 930[1-9]xxxxxx are all valid, 9300xxxxxx is sparse.
      if (national.charCodeAt(3) !== 48) return '+7' + national;
    }
    // 7xx (Kazakhstan), 0/1/2/5/6, or sparse range: let libphonenumber decide.
  }

  // --- slow path: libphonenumber-js/max ------------------------------------
  return slowPhone(plus, digits, region);
}

function toCountryCode(region: string): CountryCode | undefined {
  const r = region.toUpperCase();
  return isSupportedCountry(r) ? r : undefined;
}

function libPhone(text: string, country: CountryCode | undefined): string | null {
  try {
    const p = parsePhoneNumberFromString(text, country === undefined ? {} : { defaultCountry: country });
    if (p === undefined || !p.isValid()) return null;
    // Some plans have valid numbers shorter than 7 digits in all (e.g. +49 1680):
    // too short to be a client's phone, and outside what the database accepts.
    return E164.test(p.number) ? p.number : null;
  } catch {
    return null;
  }
}

const E164 = /^\+[1-9]\d{6,14}$/;

function slowPhone(plus: boolean, digits: string, region: string): string | null {
  if (digits.length > 18) return null; // IDD (max 4 digits) + 15-digit E.164
  const country = region === 'RU' ? 'RU' : toCountryCode(region);
  if (plus) return libPhone('+' + digits, country);
  const res = country === undefined ? null : libPhone(digits, country);
  if (res !== null) return res;
  // "00" is the international prefix almost everywhere (and de facto in
  // Russia next to "8~10"); no national number starts with "00".
  if (digits.length > 2 && digits.charCodeAt(0) === 48 && digits.charCodeAt(1) === 48) {
    return libPhone('+' + digits.slice(2), country);
  }
  return null;
}

// ---------------------------------------------------------------------------
// E-mail
// ---------------------------------------------------------------------------

/** RFC 5322 dot-atom "atext" ASCII characters, plus non-ASCII letters/digits/marks (RFC 6531). */
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~\-\p{L}\p{N}\p{M}]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~\-\p{L}\p{N}\p{M}]+)*$/u;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NUMERIC = /^[0-9]+$/;

/**
 * Trim, lowercase, validate. IDN: unicode domains (почта.рф) and punycode
 * (xn--...) are accepted; canonical form is the lowercased UNICODE domain.
 * Quoted local parts and IP-literal domains are not accepted.
 * Returns null when invalid.
 */
export function normalizeEmail(input: string): string | null {
  const s = input.trim().toLowerCase();
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) return null;
  const local = s.slice(0, at);
  const domain = s.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return null;

  const ascii = domainToASCII(domain);
  if (ascii === '' || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2) return null;
  for (const label of labels) {
    if (!DNS_LABEL.test(label)) return null;
  }
  const tld = labels[labels.length - 1] ?? '';
  if (NUMERIC.test(tld)) return null;

  const unicode = domainToUnicode(ascii).toLowerCase();
  if (unicode === '') return null;
  // Reject broken punycode: it must round-trip and decode to non-xn-- labels.
  if (domainToASCII(unicode) !== ascii) return null;
  for (const label of unicode.split('.')) {
    if (label.startsWith('xn--')) return null;
  }
  return local + '@' + unicode;
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

const WS_RUN = /[\s\u200b]+/gu;

/** Trim and collapse inner whitespace (incl. NBSP, tabs). Empty -> null. */
export function normalizeName(input: string): string | null {
  const s = input.replace(WS_RUN, ' ').trim();
  return s === '' ? null : s;
}

/** Russian patronymic endings: -ович/-евич/-ич, -овна/-евна, -ична/-инична. */
const PATRONYMIC = /(?:ич|овна|евна|ична)$/u;
/** Turkic patronymic particles written as a separate word ("Гасан оглы"). */
/** Known first names, folded (lower case, ё as е). */
const FIRST_NAMES: ReadonlySet<string> = new Set([...MALE_NAMES, ...FEMALE_NAMES].map((n) => n.toLowerCase().replace(/ё/g, 'е')));
const isFirstName = (word: string) => FIRST_NAMES.has(word.toLowerCase().replace(/ё/g, 'е'));

const PATRONYMIC_PARTICLES: ReadonlySet<string> = new Set(['оглы', 'огли', 'кызы', 'гызы', 'улы', 'уулу', 'угли', 'кизи']);

function isPatronymic(word: string): boolean {
  return word.length >= 4 && PATRONYMIC.test(word.toLowerCase());
}

export interface FullName {
  lastName: string | null;
  firstName: string | null;
  middleName: string | null;
}

/**
 * Split a single «ФИО» string.
 * - 3 words: 'Иванов Иван Иванович' -> last, first, middle; the order
 *   'Иван Иванович Иванов' is detected (middle word is a patronymic and the
 *   last one is not).
 * - 2 words: last + first ('Иванов Иван'), except first + patronymic
 *   ('Иван Иванович').
 * - 1 word: firstName only.
 * - 4+ words: last, first, and the rest as middle name ('Гасан оглы'); if
 *   the last word is a patronymic the extra words go to the first name.
 */
export function splitFullName(input: string): FullName {
  const norm = normalizeName(input);
  if (norm === null) return { lastName: null, firstName: null, middleName: null };
  const w = norm.split(' ');
  const [w0 = '', w1 = '', w2 = ''] = w;
  switch (w.length) {
    case 1:
      return { lastName: null, firstName: w0, middleName: null };
    case 2:
      if (isPatronymic(w1) && !isPatronymic(w0)) return { lastName: null, firstName: w0, middleName: w1 };
      // «Татьяна Полевая»: a known first name, then a word that is not one, is «Имя Фамилия».
      if (isFirstName(w0) && !isFirstName(w1)) return { lastName: w1, firstName: w0, middleName: null };
      return { lastName: w0, firstName: w1, middleName: null };
    case 3:
      if (isPatronymic(w2) && !isPatronymic(w1)) return { lastName: w0, firstName: w1, middleName: w2 };
      if (isPatronymic(w1)) return { lastName: w2, firstName: w0, middleName: w1 };
      return { lastName: w0, firstName: w1, middleName: w2 };
    default: {
      const last = w[w.length - 1] ?? '';
      if (PATRONYMIC_PARTICLES.has(last.toLowerCase())) {
        // Мамедов Рашид Гасан оглы
        return { lastName: w0, firstName: w.slice(1, -2).join(' '), middleName: w.slice(-2).join(' ') };
      }
      if (isPatronymic(last)) {
        // Иванов Жан Поль Иванович
        return { lastName: w0, firstName: w.slice(1, -1).join(' '), middleName: last };
      }
      return { lastName: w0, firstName: w1, middleName: w.slice(2).join(' ') };
    }
  }
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

const TIME = String.raw`(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?`;
const ISO_DATE = new RegExp(String.raw`^(\d{4})-(\d{2})-(\d{2})${TIME}$`, 'i');
const DMY_DATE = new RegExp(String.raw`^(\d{1,2})([./-])(\d{1,2})\2(\d{4})${TIME}$`, 'i');

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeap(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function validTime(h: string | undefined, mi: string | undefined, s: string | undefined): boolean {
  if (h === undefined) return true;
  if (Number(h) > 23 || Number(mi) > 59) return false;
  return s === undefined || Number(s) <= 59;
}

function ymd(y: number, m: number, d: number): string | null {
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return null;
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/**
 * Accepts ISO 'YYYY-MM-DD' (optionally followed by a time 'THH:MM[:SS[.fff]][Z|±HH:MM]'
 * or ' HH:MM...'; the date part is taken as written, no timezone shift),
 * and day-first 'dd.mm.yyyy' / 'd.m.yyyy' / 'dd/mm/yyyy' / 'dd-mm-yyyy'
 * (same separator twice, 4-digit year, optional time).
 * Returns 'YYYY-MM-DD' or null if it is not a real calendar date.
 */
export function parseDate(input: string): string | null {
  const s = input.trim();
  if (s.length > 40) return null;
  let m = ISO_DATE.exec(s);
  if (m !== null) {
    if (!validTime(m[4], m[5], m[6])) return null;
    return ymd(Number(m[1]), Number(m[2]), Number(m[3]));
  }
  m = DMY_DATE.exec(s);
  if (m !== null) {
    if (!validTime(m[5], m[6], m[7])) return null;
    return ymd(Number(m[4]), Number(m[3]), Number(m[1]));
  }
  return null;
}

/**
 * Birth date: parseDate plus sanity: year >= 1900 and not after `today`
 * (compared with the local calendar date of `today`).
 */
export function parseBirthDate(input: string, today: Date = new Date()): string | null {
  const d = parseDate(input);
  if (d === null) return null;
  if (d < '1900-01-01') return null;
  const t = ymd(today.getFullYear(), today.getMonth() + 1, today.getDate());
  if (t !== null && d > t) return null;
  return d;
}

// ---------------------------------------------------------------------------
// Gender
// ---------------------------------------------------------------------------

const GENDERS: ReadonlyMap<string, Gender> = new Map<string, Gender>([
  ['м', 'm'], ['муж', 'm'], ['мужской', 'm'], ['мужчина', 'm'], ['male', 'm'], ['m', 'm'], ['man', 'm'],
  ['ж', 'f'], ['жен', 'f'], ['женский', 'f'], ['женщина', 'f'], ['female', 'f'], ['f', 'f'], ['woman', 'f'],
]);

/** м/ж/муж/жен/мужской/женский/мужчина/женщина/male/female/m/f/man/woman (any case, trimmed, optional trailing dot). */
export function parseGender(input: string): Gender | null {
  let s = input.trim().toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  return GENDERS.get(s) ?? null;
}

// ---------------------------------------------------------------------------
// Loyalty cards
// ---------------------------------------------------------------------------

const CARD_SEPARATORS = /[\s\-\u2010-\u2015\u2212]+/gu;
const CARD_CHARS = /^[0-9A-Za-z]{1,200}$/;

/**
 * Trim, remove whitespace and dashes, uppercase Latin letters; must be
 * 1..200 chars of [0-9A-Z]. Returns null if invalid.
 */
export function normalizeCardNumber(input: string): string | null {
  const s = input.replace(CARD_SEPARATORS, '');
  // Validate before uppercasing: 'ß'.toUpperCase() === 'SS' etc.
  if (!CARD_CHARS.test(s)) return null;
  return s.toUpperCase();
}

/** Luhn check digit for a string of digits (the digit to append). Throws on non-digits. */
export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  let double = true; // the rightmost payload digit is doubled
  for (let i = digits.length - 1; i >= 0; i--) {
    const c = digits.charCodeAt(i) - 48;
    if (c < 0 || c > 9) throw new RangeError(`luhnCheckDigit: not a digit string: ${JSON.stringify(digits)}`);
    let v = c;
    if (double) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    double = !double;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * Generate a card number: prefix (digits, may be '') + zero-padded sequence
 * number + Luhn check digit; total length exactly `length` (including the
 * check digit). Throws if the prefix is not digits, seq is not a
 * non-negative integer, or it cannot fit.
 */
export function generateCardNumber(prefix: string, length: number, seq: number | bigint): string {
  if (!/^[0-9]*$/.test(prefix)) throw new RangeError(`generateCardNumber: prefix must be digits: ${JSON.stringify(prefix)}`);
  if (!Number.isSafeInteger(length) || length < 2 || length > 200) {
    throw new RangeError(`generateCardNumber: length must be an integer in 2..200, got ${length}`);
  }
  if (typeof seq === 'number' && (!Number.isSafeInteger(seq) || seq < 0)) {
    throw new RangeError(`generateCardNumber: seq must be a non-negative safe integer, got ${seq}`);
  }
  if (typeof seq === 'bigint' && seq < 0n) throw new RangeError(`generateCardNumber: seq must be non-negative, got ${seq}`);
  const width = length - 1 - prefix.length;
  const seqStr = seq.toString();
  if (width < 1 || seqStr.length > width) {
    throw new RangeError(
      `generateCardNumber: seq ${seqStr} does not fit: prefix ${JSON.stringify(prefix)} + ${width > 0 ? width : 0} digits + check digit = ${length}`,
    );
  }
  const body = prefix + seqStr.padStart(width, '0');
  return body + String(luhnCheckDigit(body));
}

// ---------------------------------------------------------------------------
// IP addresses
// ---------------------------------------------------------------------------

/**
 * IPv4/IPv6 validation + canonicalisation. IPv4 as dotted quad (no leading
 * zeros); IPv6 in RFC 5952 form (lowercase, zero-compressed, IPv4-mapped
 * tail kept dotted). Zone ids ('fe80::1%eth0') are rejected. null if invalid.
 */
export function normalizeIp(input: string): string | null {
  const s = input.trim();
  const v = isIP(s);
  if (v === 4) return s;
  if (v !== 6 || s.includes('%')) return null;
  try {
    return new SocketAddress({ address: s, family: 'ipv6' }).address;
  } catch {
    return null;
  }
}
