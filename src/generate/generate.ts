/**
 * Deterministic generator of realistic Russian customer profiles.
 *
 * Every row is a pure function of (seed, row index): row i draws from its own
 * PRNG stream seeded by hash(seed, i), so the sequence is identical across runs
 * and machines (only 32-bit integer ops and IEEE basic arithmetic — no Math.random,
 * no transcendental functions, no clock), rows can be produced independently, and
 * dirty mode can re-create any earlier row to duplicate it.
 *
 * Phones and card numbers are derived from the row index through a keyed Feistel
 * permutation (with cycle walking), so they are unique among non-duplicate rows
 * without any Set: phones for up to 780M rows, cards for up to 1e9 rows.
 *
 * Dirty mode (`dirty: true`) renders the same people (row i is clean row i made
 * messy) except ~3% of rows that re-enter an earlier person (`duplicateOf`).
 */
import { FEMALE_NAMES, MALE_NAMES } from '../profiles/names.ts';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

export type RegistrationSource = 'pos' | 'form' | 'interface' | 'api' | 'import';

export interface GeneratedProfile {
  lastName: string; firstName: string; middleName: string | null;
  gender: 'm' | 'f';
  phone: string | null;        // E.164 '+79161234567' in clean mode
  email: string | null;        // lowercase in clean mode
  cardNumber: string | null;   // 13 digits (EAN-13 with valid check digit)
  birthDate: string | null;    // 'YYYY-MM-DD'
  city: string | null;
  carNumber: string | null;    // Russian plate like 'А123ВС77'
  registrationSource: RegistrationSource;
  pointOfSale: string | null;
  utmSource: string | null; utmMedium: string | null; utmCampaign: string | null;
  tags: string[];
  fields: { loyaltyScore: number | null; favoriteCategory: string | null; visits: number };
}

/**
 * A dirty-mode row: same fields as GeneratedProfile but holding the messy strings
 * exactly as they go to the CSV ('' never appears: missing is null), plus the
 * «ФИО» cell and ground truth for benchmarks.
 */
export interface DirtyProfile extends Omit<GeneratedProfile, 'gender'> {
  /** м/ж/М/Ж/муж/жен/male/female or '' */
  gender: string;
  /** The single «ФИО» cell: 'Фамилия Имя Отчество' / 'Имя Фамилия' / …, with messy spacing/case. */
  fullName: string;
  /** Ground truth: index of the original row when this row re-enters an earlier person, else null. */
  duplicateOf: number | null;
  /** Ground truth: this row carries deliberate garbage (invalid phone / email without '@' / impossible date). */
  garbage: boolean;
}

export interface GenerateOptions { seed: number; dirty?: boolean }

// ---------------------------------------------------------------------------
// PRNG: splitmix32-style counter generator with murmur3 finaliser
// ---------------------------------------------------------------------------

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Small fast deterministic PRNG (32-bit state, one stream per row). */
export class Rng {
  state: number;
  constructor(seed = 0) { this.state = seed >>> 0; }
  /** uint32 */
  next(): number {
    let z = (this.state = (this.state + 0x9e3779b9) | 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** [0, 1) */
  float(): number { return this.next() / 4294967296; }
  /** integer in [0, n) */
  int(n: number): number { return Math.floor(this.float() * n); }
  /** integer in [lo, hi] */
  range(lo: number, hi: number): number { return lo + Math.floor(this.float() * (hi - lo + 1)); }
  chance(p: number): boolean { return this.float() < p; }
  pick<T>(arr: readonly T[]): T { return arr[Math.floor(this.float() * arr.length)]!; }
}

export function createRng(seed: number): Rng { return new Rng(mix32(seedKey(seed))); }

function seedKey(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const s = Math.trunc(seed);
  const lo = s >>> 0;
  const hi = Math.floor(s / 4294967296) | 0;
  return mix32(lo ^ mix32(hi + 0x2545f491));
}

const STREAM_CLEAN = 0x1b873593;
const STREAM_DIRTY = 0x5bd1e995;

function seedRow(rng: Rng, key: number, index: number, stream: number): void {
  rng.state = mix32(key ^ mix32((index ^ stream) + Math.imul(Math.floor(index / 4294967296), 0x27d4eb2d)));
}

/** Weighted sampling by cumulative table + binary search. */
class Weighted {
  readonly cum: Float64Array;
  readonly total: number;
  constructor(weights: readonly number[]) {
    this.cum = new Float64Array(weights.length);
    let t = 0;
    for (let i = 0; i < weights.length; i++) { t += weights[i]!; this.cum[i] = t; }
    this.total = t;
  }
  sample(rng: Rng): number {
    const r = rng.float() * this.total;
    const cum = this.cum;
    let lo = 0, hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! > r) hi = mid; else lo = mid + 1;
    }
    return lo;
  }
}

function rankWeights(n: number, offset: number): number[] {
  const w: number[] = [];
  for (let r = 0; r < n; r++) w.push(1 / (r + offset));
  return w;
}

// ---------------------------------------------------------------------------
// Keyed bijective scramble (Feistel network over 2^30 with cycle walking)
// ---------------------------------------------------------------------------

class Permutation {
  readonly domain: number;
  readonly keys: number[];
  constructor(domain: number, key: number, salt: number) {
    if (domain > 2 ** 30) throw new RangeError('domain too large');
    this.domain = domain;
    this.keys = [];
    for (let r = 0; r < 4; r++) this.keys.push(mix32(key ^ mix32(salt + r * 0x3c6ef372)));
  }
  private round(x: number): number {
    let l = x >>> 15, r = x & 0x7fff;
    for (const k of this.keys) {
      const t = l ^ (mix32(r ^ k) & 0x7fff);
      l = r; r = t;
    }
    return (l << 15) | r;
  }
  apply(x: number): number {
    if (x < 0 || x >= this.domain) throw new RangeError(`index ${x} outside permutation domain ${this.domain}`);
    do { x = this.round(x); } while (x >= this.domain);
    return x;
  }
}

// ---------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------

/** Fathers' names (older generation) — patronymics are drawn from this ordering. */
const FATHER_NAMES = [
  'Александр', 'Сергей', 'Владимир', 'Николай', 'Виктор', 'Юрий', 'Андрей', 'Михаил', 'Анатолий', 'Алексей',
  'Иван', 'Евгений', 'Валерий', 'Василий', 'Игорь', 'Дмитрий', 'Геннадий', 'Олег', 'Петр', 'Борис',
  'Леонид', 'Вячеслав', 'Павел', 'Владислав', 'Григорий', 'Виталий', 'Константин', 'Фёдор', 'Аркадий', 'Станислав',
  'Вадим', 'Эдуард', 'Валентин', 'Георгий', 'Роман', 'Семён', 'Яков', 'Степан', 'Илья', 'Никита',
  'Лев', 'Марат', 'Ринат', 'Рустам', 'Тимур', 'Руслан', 'Денис', 'Максим', 'Кузьма', 'Фома',
  'Лука', 'Савва', 'Данила', 'Эмиль', 'Всеволод', 'Ярослав', 'Савелий', 'Марк', 'Глеб', 'Филипп',
].map((n) => (n === 'Петр' ? 'Пётр' : n));


/** Surnames in masculine form, roughly by frequency. */
const SURNAMES = [
  'Иванов', 'Смирнов', 'Кузнецов', 'Попов', 'Васильев', 'Петров', 'Соколов', 'Михайлов', 'Новиков', 'Фёдоров',
  'Морозов', 'Волков', 'Алексеев', 'Лебедев', 'Семёнов', 'Егоров', 'Павлов', 'Козлов', 'Степанов', 'Николаев',
  'Орлов', 'Андреев', 'Макаров', 'Никитин', 'Захаров', 'Зайцев', 'Соловьёв', 'Борисов', 'Яковлев', 'Григорьев',
  'Романов', 'Воробьёв', 'Сергеев', 'Кузьмин', 'Фролов', 'Александров', 'Дмитриев', 'Королёв', 'Гусев', 'Киселёв',
  'Ильин', 'Максимов', 'Поляков', 'Сорокин', 'Виноградов', 'Ковалёв', 'Белов', 'Медведев', 'Антонов', 'Тарасов',
  'Жуков', 'Баранов', 'Филиппов', 'Комаров', 'Давыдов', 'Беляев', 'Герасимов', 'Богданов', 'Осипов', 'Сидоров',
  'Матвеев', 'Титов', 'Марков', 'Миронов', 'Крылов', 'Куликов', 'Карпов', 'Власов', 'Мельников', 'Денисов',
  'Гаврилов', 'Тихонов', 'Казаков', 'Афанасьев', 'Данилов', 'Савельев', 'Тимофеев', 'Фомин', 'Чернов', 'Абрамов',
  'Мартынов', 'Ефимов', 'Федотов', 'Щербаков', 'Назаров', 'Калинин', 'Исаев', 'Чернышёв', 'Быков', 'Маслов',
  'Родионов', 'Коновалов', 'Лазарев', 'Воронин', 'Климов', 'Филатов', 'Пономарёв', 'Голубев', 'Кудрявцев', 'Прохоров',
  'Наумов', 'Потапов', 'Журавлёв', 'Овчинников', 'Трофимов', 'Леонов', 'Соболев', 'Ермаков', 'Колесников', 'Гончаров',
  'Емельянов', 'Никифоров', 'Грачёв', 'Котов', 'Гришин', 'Ефремов', 'Архипов', 'Громов', 'Кириллов', 'Малышев',
  'Панов', 'Моисеев', 'Румянцев', 'Акимов', 'Кондратьев', 'Бирюков', 'Горбунов', 'Анисимов', 'Ерёмин', 'Тихомиров',
  'Галкин', 'Лукьянов', 'Михеев', 'Скворцов', 'Юдин', 'Белоусов', 'Нестеров', 'Симонов', 'Прокофьев', 'Харитонов',
  'Князев', 'Цветков', 'Левин', 'Митрофанов', 'Воронов', 'Аксёнов', 'Мальцев', 'Логинов', 'Горшков', 'Савин',
  'Краснов', 'Майоров', 'Демидов', 'Елисеев', 'Рыбаков', 'Сафонов', 'Плотников', 'Хохлов', 'Жданов', 'Бородин',
  'Пушкин', 'Шишкин', 'Рябов', 'Зуев', 'Лаптев',
  // Tatar / Bashkir / Caucasus (feminise like Russian -ов/-ин)
  'Ахметов', 'Хабибуллин', 'Сафин', 'Гарипов', 'Галиев', 'Юсупов', 'Зарипов', 'Шарипов', 'Валиев', 'Алиев',
  'Мамедов', 'Абдуллаев',
  // adjectival
  'Толстой', 'Донской', 'Луговой', 'Полевой', 'Береговой', 'Белый', 'Рыжий',
  'Островский', 'Покровский', 'Вишневский', 'Высоцкий', 'Раевский', 'Жуковский', 'Успенский', 'Каменский', 'Лозинский',
  // invariant for women
  'Черных', 'Седых', 'Белых', 'Долгих', 'Шевченко', 'Бондаренко', 'Коваленко', 'Кравченко', 'Ткаченко', 'Лысенко',
  'Марченко', 'Ковальчук', 'Полищук', 'Мельничук', 'Бабич', 'Гуревич', 'Ким', 'Цой', 'Пак', 'Тен',
  'Петросян', 'Саакян', 'Оганесян', 'Шмидт',
] as const;

/** Surnames that look feminisable by ending but are not (Korean etc.). */
const INVARIANT_SURNAMES = new Set(['Цой', 'Ли', 'Ким', 'Пак', 'Тен', 'Хан']);

/** Feminine form of a Russian surname: Иванов→Иванова, Толстой→Толстая, Бородин→Бородина, Черных/Шевченко/Ким unchanged. */
export function feminineSurname(s: string): string {
  if (INVARIANT_SURNAMES.has(s)) return s;
  if (/(?:ов|ев|ёв|ин|ын)$/.test(s)) return s + 'а';
  if (/[кгхжшчщ]ий$/.test(s)) return s.slice(0, -2) + 'ая';
  if (/(?:ой|ый)$/.test(s)) return s.slice(0, -2) + 'ая';
  return s;
}

const PATRONYMIC_EXCEPTIONS: Record<string, readonly [string, string]> = {
  'Дмитрий': ['Дмитриевич', 'Дмитриевна'],
  'Георгий': ['Георгиевич', 'Георгиевна'],
  'Михаил': ['Михайлович', 'Михайловна'],
  'Лев': ['Львович', 'Львовна'],
  'Павел': ['Павлович', 'Павловна'],
  'Пётр': ['Петрович', 'Петровна'],
  'Яков': ['Яковлевич', 'Яковлевна'],
  'Эмиль': ['Эмильевич', 'Эмильевна'],
  'Никита': ['Никитич', 'Никитична'],
  'Илья': ['Ильич', 'Ильинична'],
  'Лука': ['Лукич', 'Лукинична'],
  'Фома': ['Фомич', 'Фоминична'],
  'Кузьма': ['Кузьмич', 'Кузьминична'],
  'Савва': ['Саввич', 'Саввична'],
  'Данила': ['Данилович', 'Даниловна'],
};

/** Patronymic from a father's first name: Иван→Иванович/Ивановна, Сергей→Сергеевич/Сергеевна, Илья→Ильич/Ильинична. */
export function patronymic(fatherName: string, gender: 'm' | 'f'): string {
  const m = gender === 'm';
  const ex = PATRONYMIC_EXCEPTIONS[fatherName];
  if (ex) return m ? ex[0] : ex[1];
  if (fatherName.endsWith('ий')) return fatherName.slice(0, -2) + (m ? 'ьевич' : 'ьевна');
  if (/[еа]й$/.test(fatherName)) return fatherName.slice(0, -1) + (m ? 'евич' : 'евна');
  if (fatherName.endsWith('ь')) return fatherName.slice(0, -1) + (m ? 'евич' : 'евна');
  if (/[ая]$/.test(fatherName)) return fatherName.slice(0, -1) + (m ? 'ич' : 'ична');
  if (/[жшчщц]$/.test(fatherName)) return fatherName + (m ? 'евич' : 'евна');
  return fatherName + (m ? 'ович' : 'овна');
}

const TRANSLIT: Record<string, string> = {
  'а': 'a', 'б': 'b', 'в': 'v', 'г': 'g', 'д': 'd', 'е': 'e', 'ё': 'e', 'ж': 'zh', 'з': 'z', 'и': 'i',
  'й': 'y', 'к': 'k', 'л': 'l', 'м': 'm', 'н': 'n', 'о': 'o', 'п': 'p', 'р': 'r', 'с': 's', 'т': 't',
  'у': 'u', 'ф': 'f', 'х': 'kh', 'ц': 'ts', 'ч': 'ch', 'ш': 'sh', 'щ': 'shch', 'ъ': '', 'ы': 'y', 'ь': '',
  'э': 'e', 'ю': 'yu', 'я': 'ya',
};

/** Lowercase Latin transliteration (ж→zh, х→kh, ц→ts, ч→ch, ш→sh, щ→shch, ю→yu, я→ya, ё→e, й→y; ь/ъ dropped). */
export function transliterate(s: string): string {
  let out = '';
  for (const ch of s.toLowerCase()) {
    const t = TRANSLIT[ch];
    out += t === undefined ? ch : t;
  }
  return out;
}

interface NameRec { name: string; lat: string }
interface SurnameRec { m: string; f: string; latM: string; latF: string }
interface FatherRec { m: string; f: string }

const MALE: NameRec[] = MALE_NAMES.map((name) => ({ name, lat: transliterate(name) }));
const FEMALE: NameRec[] = FEMALE_NAMES.map((name) => ({ name, lat: transliterate(name) }));
const SURNAME: SurnameRec[] = SURNAMES.map((m) => {
  const f = feminineSurname(m);
  return { m, f, latM: transliterate(m), latF: transliterate(f) };
});
const FATHER: FatherRec[] = FATHER_NAMES.map((n) => ({ m: patronymic(n, 'm'), f: patronymic(n, 'f') }));

const MALE_W = new Weighted(rankWeights(MALE.length, 6));
const FEMALE_W = new Weighted(rankWeights(FEMALE.length, 6));
const FATHER_W = new Weighted(rankWeights(FATHER.length, 4));
// the tail (adjectival / invariant surnames) gets flat low weights
const SURNAME_TAIL = SURNAMES.indexOf('Толстой');
const SURNAME_W = new Weighted(SURNAME.map((_, r) => (r < SURNAME_TAIL ? 1 / (r + 25) : 1 / 260)));

interface CityRec { name: string; pop: number; plates: readonly string[] }

/** Cities with population (thousands) and car plate region codes. */
const CITIES: CityRec[] = [
  { name: 'Москва', pop: 13150, plates: ['77', '97', '99', '177', '197', '199', '777', '797', '799', '977'] },
  { name: 'Санкт-Петербург', pop: 5600, plates: ['78', '98', '178', '198'] },
  { name: 'Новосибирск', pop: 1630, plates: ['54', '154'] },
  { name: 'Екатеринбург', pop: 1540, plates: ['66', '96', '196'] },
  { name: 'Казань', pop: 1320, plates: ['16', '116', '716'] },
  { name: 'Красноярск', pop: 1200, plates: ['24', '124'] },
  { name: 'Нижний Новгород', pop: 1200, plates: ['52', '152'] },
  { name: 'Челябинск', pop: 1180, plates: ['74', '174'] },
  { name: 'Уфа', pop: 1160, plates: ['02', '102', '702'] },
  { name: 'Самара', pop: 1160, plates: ['63', '163', '763'] },
  { name: 'Ростов-на-Дону', pop: 1140, plates: ['61', '161', '761'] },
  { name: 'Краснодар', pop: 1100, plates: ['23', '93', '123', '193'] },
  { name: 'Омск', pop: 1100, plates: ['55', '155'] },
  { name: 'Воронеж', pop: 1050, plates: ['36', '136'] },
  { name: 'Пермь', pop: 1030, plates: ['59', '159'] },
  { name: 'Волгоград', pop: 1000, plates: ['34', '134'] },
  { name: 'Саратов', pop: 900, plates: ['64', '164'] },
  { name: 'Тюмень', pop: 850, plates: ['72', '172'] },
  { name: 'Тольятти', pop: 680, plates: ['63', '163', '763'] },
  { name: 'Ижевск', pop: 640, plates: ['18'] },
  { name: 'Барнаул', pop: 630, plates: ['22'] },
  { name: 'Махачкала', pop: 620, plates: ['05'] },
  { name: 'Хабаровск', pop: 620, plates: ['27'] },
  { name: 'Ульяновск', pop: 610, plates: ['73', '173'] },
  { name: 'Иркутск', pop: 610, plates: ['38', '138'] },
  { name: 'Владивосток', pop: 600, plates: ['25', '125'] },
  { name: 'Ярославль', pop: 570, plates: ['76'] },
  { name: 'Томск', pop: 560, plates: ['70'] },
  { name: 'Оренбург', pop: 550, plates: ['56', '156'] },
  { name: 'Кемерово', pop: 550, plates: ['42', '142'] },
  { name: 'Набережные Челны', pop: 550, plates: ['16', '116', '716'] },
  { name: 'Новокузнецк', pop: 540, plates: ['42', '142'] },
  { name: 'Балашиха', pop: 520, plates: ['50', '90', '150', '190', '750'] },
  { name: 'Рязань', pop: 520, plates: ['62'] },
  { name: 'Пенза', pop: 500, plates: ['58'] },
  { name: 'Липецк', pop: 500, plates: ['48'] },
  { name: 'Чебоксары', pop: 500, plates: ['21', '121'] },
  { name: 'Калининград', pop: 490, plates: ['39'] },
  { name: 'Тула', pop: 470, plates: ['71'] },
  { name: 'Киров', pop: 470, plates: ['43'] },
  { name: 'Сочи', pop: 460, plates: ['23', '93', '123', '193'] },
  { name: 'Астрахань', pop: 460, plates: ['30'] },
  { name: 'Ставрополь', pop: 450, plates: ['26', '126'] },
  { name: 'Курск', pop: 440, plates: ['46'] },
  { name: 'Тверь', pop: 410, plates: ['69'] },
  { name: 'Магнитогорск', pop: 410, plates: ['74', '174'] },
  { name: 'Сургут', pop: 400, plates: ['86', '186'] },
  { name: 'Брянск', pop: 380, plates: ['32'] },
  { name: 'Якутск', pop: 360, plates: ['14'] },
  { name: 'Иваново', pop: 360, plates: ['37'] },
  { name: 'Владимир', pop: 350, plates: ['33'] },
  { name: 'Белгород', pop: 340, plates: ['31'] },
  { name: 'Калуга', pop: 330, plates: ['40'] },
  { name: 'Подольск', pop: 310, plates: ['50', '90', '150', '190', '750'] },
  { name: 'Смоленск', pop: 310, plates: ['67'] },
  { name: 'Архангельск', pop: 300, plates: ['29'] },
  { name: 'Мурманск', pop: 270, plates: ['51'] },
  { name: 'Химки', pop: 260, plates: ['50', '90', '150', '190', '750'] },
  { name: 'Мытищи', pop: 235, plates: ['50', '90', '150', '190', '750'] },
  { name: 'Королёв', pop: 225, plates: ['50', '90', '150', '190', '750'] },
];
const CITY_W = new Weighted(CITIES.map((c) => c.pop));
const CITY_INDEX = new Map(CITIES.map((c, i) => [c.name, i]));

/** Phone number blocks: 10^7 numbers each. Mobile DEF codes 9xx + a few landline area codes. */
const MOBILE_CODES: string[] = [];
for (let c = 900; c <= 939; c++) MOBILE_CODES.push(String(c));
for (const c of [950, 951, 952, 953, 958, 960, 961, 962, 963, 964, 965, 966, 967, 968, 977]) MOBILE_CODES.push(String(c));
for (let c = 980; c <= 989; c++) MOBILE_CODES.push(String(c));
for (let c = 991; c <= 999; c++) MOBILE_CODES.push(String(c));
const LANDLINES: readonly { code: string; city: string }[] = [
  { code: '495', city: 'Москва' },
  { code: '499', city: 'Москва' },
  { code: '812', city: 'Санкт-Петербург' },
  { code: '343', city: 'Екатеринбург' },
];
const PHONE_BLOCKS: readonly { code: string; city: string | null }[] = [
  ...MOBILE_CODES.map((code) => ({ code, city: null })),
  ...LANDLINES,
];
const PHONE_DOMAIN = PHONE_BLOCKS.length * 10_000_000; // 780M
const CARD_DOMAIN = 1_000_000_000;
const CARD_PREFIX = '277';

const PLATE_LETTERS = 'АВЕКМНОРСТУХ';

const STREETS = ['Ленина', 'Мира', 'Советская', 'Гагарина', 'Кирова', 'Пушкина', 'Московская', 'Победы', 'Карла Маркса', 'Октябрьская'];
const STORES_BY_CITY: Record<string, string[]> = {
  'Москва': ['Москва, ТЦ «Авиапарк»', 'Москва, ТРЦ «Европейский»', 'Москва, ТЦ «Мега Белая Дача»', 'Москва, ул. Тверская, 12', 'Москва, ТРЦ «Атриум»', 'Москва, Ленинский пр-т, 45'],
  'Санкт-Петербург': ['Санкт-Петербург, ТРК «Галерея»', 'Санкт-Петербург, Невский пр-т, 28', 'Санкт-Петербург, ТРЦ «Мега Дыбенко»'],
  'Новосибирск': ['Новосибирск, ТРЦ «Аура»', 'Новосибирск, Красный пр-т, 101'],
  'Екатеринбург': ['Екатеринбург, ТРЦ «Гринвич»', 'Екатеринбург, ТЦ «Мега»'],
  'Казань': ['Казань, ТРЦ «Кольцо»', 'Казань, ул. Баумана, 44'],
};
function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
for (const c of CITIES) {
  if (STORES_BY_CITY[c.name]) continue;
  const h = stringHash(c.name);
  STORES_BY_CITY[c.name] = [`${c.name}, ул. ${STREETS[h % STREETS.length]!}, ${1 + ((h >>> 8) % 120)}`];
}
const ALL_STORES: string[] = CITIES.flatMap((c) => STORES_BY_CITY[c.name]!);
const CALL_CENTER = 'Колл-центр';

const SOURCES: readonly RegistrationSource[] = ['pos', 'form', 'interface', 'api', 'import'];
const SOURCE_W = new Weighted([45, 25, 10, 12, 8]);

const UTM_SOURCES = ['yandex', 'vk', 'google', 'telegram', 'email', 'mytarget', 'ok'] as const;
const UTM_SOURCE_W = new Weighted([35, 25, 10, 12, 10, 5, 3]);
const UTM_CAMPAIGNS = ['spring_sale_2024', 'black_friday_2024', 'new_year_2025', 'loyalty_launch', 'back_to_school',
  'summer_collection', 'march8', 'feb23', 'cashback_x2', 'retarget_cart'];
const UTM_CAMPAIGN_W = new Weighted(rankWeights(UTM_CAMPAIGNS.length, 2));

export const TAGS = ['VIP', 'Новичок', 'Постоянный клиент', 'Оптовик', 'Сотрудник', 'Блогер', 'Корпоративный', 'Отток'] as const;
export const CATEGORIES = ['Продукты', 'Одежда', 'Обувь', 'Электроника', 'Косметика', 'Товары для дома', 'Детские товары', 'Спорт и отдых'] as const;
const CATEGORY_W = new Weighted([22, 18, 10, 12, 14, 11, 8, 5]);

const EMAIL_DOMAINS = ['mail.ru', 'gmail.com', 'yandex.ru', 'bk.ru', 'list.ru', 'inbox.ru', 'rambler.ru', 'ya.ru'];
const EMAIL_DOMAIN_W = new Weighted([31, 24, 22, 6, 5, 4, 4, 1]);
const CYR_EMAIL_DOMAINS = ['почта.рф', 'почта.рус'];

/** Birth years 1950–2007, skewed to ages 25–50. */
const BIRTH_YEARS: number[] = [];
const BIRTH_YEAR_WEIGHTS: number[] = [];
for (let y = 1950; y <= 2007; y++) {
  BIRTH_YEARS.push(y);
  BIRTH_YEAR_WEIGHTS.push(
    y <= 1960 ? 3 + (y - 1950) * 0.2
      : y <= 1970 ? 6 + (y - 1960) * 0.4
        : y <= 1980 ? 10 + (y - 1970) * 0.35
          : y <= 1992 ? 13.5 + (y <= 1986 ? (y - 1980) * 0.25 : (1992 - y) * 0.2)
            : y <= 2000 ? 13 - (y - 1992) * 0.4
              : 9.8 - (y - 2000) * 0.6,
  );
}
const BIRTH_YEAR_W = new Weighted(BIRTH_YEAR_WEIGHTS);
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function pad2(n: number): string { return n < 10 ? '0' + n : String(n); }
function padN(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : '0000000000'.slice(0, width - s.length) + s;
}
function isLeap(y: number): boolean { return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0; }

// ---------------------------------------------------------------------------
// Clean profile
// ---------------------------------------------------------------------------

interface Context {
  key: number;
  phonePerm: Permutation;
  cardPerm: Permutation;
  rng: Rng;
  aux: Rng;
}

function makeContext(seed: number): Context {
  const key = seedKey(seed);
  return {
    key,
    phonePerm: new Permutation(PHONE_DOMAIN, key, 0x70686f6e),
    cardPerm: new Permutation(CARD_DOMAIN, key, 0x63617264),
    rng: new Rng(),
    aux: new Rng(),
  };
}

/** Phone for a person index (bijective). Returns the 10-digit national number and the landline city if any. */
function phoneForIndex(ctx: Context, index: number): { national: string; city: string | null } {
  const v = ctx.phonePerm.apply(index);
  const block = PHONE_BLOCKS[Math.floor(v / 10_000_000)]!;
  const rest = padN(v % 10_000_000, 7);
  // 930 0xx xx xx is only partly allocated (not valid phones); 990 is generated nowhere else, so
  // moving them there keeps every phone valid and still unique.
  const code = block.code === '930' && rest.startsWith('0') ? '990' : block.code;
  return { national: code + rest, city: block.city };
}

function cardForIndex(ctx: Context, index: number): string {
  const body = CARD_PREFIX + padN(ctx.cardPerm.apply(index), 9);
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += (body.charCodeAt(i) - 48) * (i % 2 === 0 ? 1 : 3);
  return body + ((10 - (sum % 10)) % 10);
}

function birthDate(rng: Rng): string {
  const y = BIRTH_YEARS[BIRTH_YEAR_W.sample(rng)]!;
  let d = rng.int(isLeap(y) ? 366 : 365);
  let m = 0;
  for (; m < 12; m++) {
    const len = m === 1 && isLeap(y) ? 29 : MONTH_DAYS[m]!;
    if (d < len) break;
    d -= len;
  }
  return `${y}-${pad2(m + 1)}-${pad2(d + 1)}`;
}

/**
 * Numeric tail of an email local part. Birth-date based tails and 3–5-digit numbers dominate (as in real
 * mailboxes, where the plain name is long taken), which keeps accidental collisions between different
 * people rare (~0.13% of addresses shared at 1M rows, ~0 at 10k) without any global state.
 */
function numberSuffix(rng: Rng, birth: string | null, short: boolean): string {
  const r = rng.float();
  if (short) { // surname only / initial + surname: the plain forms are long taken, tails are longer
    if (birth !== null && r < 0.3) return birth.slice(8, 10) + birth.slice(5, 7) + birth.slice(2, 4); // ddmmyy
    if (r < 0.65) return String(rng.range(1000, 9999));
    return String(rng.range(10000, 99999));
  }
  if (r < 0.02) return '';
  if (birth !== null) {
    if (r < 0.1) return birth.slice(2, 4);                                            // yy
    if (r < 0.16) return birth.slice(0, 4);                                           // yyyy
    if (r < 0.26) return birth.slice(8, 10) + birth.slice(5, 7);                      // ddmm
    if (r < 0.36) return birth.slice(8, 10) + birth.slice(5, 7) + birth.slice(2, 4);  // ddmmyy
  }
  if (r < 0.42) return String(rng.range(10, 99));
  if (r < 0.62) return String(rng.range(100, 999));
  if (r < 0.88) return String(rng.range(1000, 9999));
  return String(rng.range(10000, 99999));
}

function makeEmail(rng: Rng, first: string, last: string, middle: string | null, birth: string | null, cyrillic: boolean): string {
  const p = rng.int(100);
  let local: string;
  if (p < 24) local = first + '.' + last + numberSuffix(rng, birth, false);
  else if (p < 34) local = last + '.' + first + numberSuffix(rng, birth, false);
  else if (p < 46) local = first + last + numberSuffix(rng, birth, false);
  else if (p < 56) local = first.charAt(0) + '.' + last + numberSuffix(rng, birth, true);
  else if (p < 62) local = first + '_' + last + numberSuffix(rng, birth, false);
  else if (p < 72) local = last + numberSuffix(rng, birth, true);
  else if (p < 82) local = last + '.' + first.charAt(0) + numberSuffix(rng, birth, true);
  else if (p < 90 && middle !== null) local = first.charAt(0) + middle.charAt(0) + last + numberSuffix(rng, birth, false);
  else local = first + '-' + last + numberSuffix(rng, birth, true);
  const domain = cyrillic ? rng.pick(CYR_EMAIL_DOMAINS) : EMAIL_DOMAINS[EMAIL_DOMAIN_W.sample(rng)]!;
  return local + '@' + domain;
}

function emailFor(rng: Rng, first: NameRec, sur: SurnameRec, gender: 'm' | 'f', middle: string | null, birth: string | null): string {
  if (rng.chance(0.03)) {
    const last = (gender === 'm' ? sur.m : sur.f).toLowerCase();
    return makeEmail(rng, first.name.toLowerCase(), last, middle === null ? null : middle.toLowerCase(), birth, true);
  }
  return makeEmail(rng, first.lat, gender === 'm' ? sur.latM : sur.latF, middle === null ? null : transliterate(middle), birth, false);
}

function plateFor(rng: Rng, city: string | null): string {
  const ci = city === null ? undefined : CITY_INDEX.get(city);
  const c = CITIES[ci ?? CITY_W.sample(rng)]!;
  // older two-digit region codes are more common
  const f = rng.float();
  const region = c.plates[Math.floor(f * f * c.plates.length)]!;
  const L = PLATE_LETTERS;
  return L[rng.int(12)]! + padN(rng.range(1, 999), 3) + L[rng.int(12)]! + L[rng.int(12)]! + region;
}

function storeFor(rng: Rng, city: string | null): string {
  const local = city === null ? undefined : STORES_BY_CITY[city];
  if (local && rng.chance(0.92)) return rng.pick(local);
  return rng.pick(ALL_STORES);
}

function utmMedium(rng: Rng, source: string): string {
  switch (source) {
    case 'yandex': case 'google': return rng.chance(0.8) ? 'cpc' : 'organic';
    case 'vk': case 'ok': case 'telegram': return rng.chance(0.6) ? 'social' : 'cpc';
    case 'email': return 'email';
    default: return 'cpc';
  }
}

/** Clean profile for row `index` (pure function of seed and index). */
function cleanAt(ctx: Context, index: number): GeneratedProfile {
  const rng = ctx.rng;
  seedRow(rng, ctx.key, index, STREAM_CLEAN);

  const gender: 'm' | 'f' = rng.chance(0.56) ? 'f' : 'm';
  const first = gender === 'm' ? MALE[MALE_W.sample(rng)]! : FEMALE[FEMALE_W.sample(rng)]!;
  const sur = SURNAME[SURNAME_W.sample(rng)]!;
  const father = FATHER[FATHER_W.sample(rng)]!;
  const middleName = rng.chance(0.92) ? (gender === 'm' ? father.m : father.f) : null;

  let city: string | null = rng.chance(0.95) ? CITIES[CITY_W.sample(rng)]!.name : null;
  let phone: string | null = null;
  if (rng.chance(0.98)) {
    const ph = phoneForIndex(ctx, index);
    phone = '+7' + ph.national;
    if (ph.city !== null && city !== null) city = ph.city;
  }
  const birth = rng.chance(0.9) ? birthDate(rng) : null;
  const email = rng.chance(0.85) ? emailFor(rng, first, sur, gender, middleName, birth) : null;
  const cardNumber = rng.chance(0.8) ? cardForIndex(ctx, index) : null;
  const carNumber = rng.chance(0.25) ? plateFor(rng, city) : null;

  const registrationSource = SOURCES[SOURCE_W.sample(rng)]!;
  let pointOfSale: string | null = null;
  if (registrationSource === 'pos') pointOfSale = storeFor(rng, city);
  else if (registrationSource === 'interface' && rng.chance(0.3)) pointOfSale = rng.chance(0.5) ? CALL_CENTER : storeFor(rng, city);

  let utmSource: string | null = null, utmMediumV: string | null = null, utmCampaign: string | null = null;
  if ((registrationSource === 'form' && rng.chance(0.75)) || (registrationSource === 'api' && rng.chance(0.3))) {
    utmSource = registrationSource === 'api' && rng.chance(0.5) ? 'app' : UTM_SOURCES[UTM_SOURCE_W.sample(rng)]!;
    utmMediumV = utmSource === 'app' ? 'referral' : utmMedium(rng, utmSource);
    utmCampaign = UTM_CAMPAIGNS[UTM_CAMPAIGN_W.sample(rng)]!;
  }

  // custom fields + tags (tags correlate with visits/score)
  const u = rng.float();
  let visits = Math.floor(u * u * u * 150);
  const loyaltyScore = rng.chance(0.85) ? Math.round(((rng.float() + rng.float() + rng.float()) / 3) * 100) : null;
  const favoriteCategory = rng.chance(0.75) ? CATEGORIES[CATEGORY_W.sample(rng)]! : null;
  const tags: string[] = [];
  const t = rng.float();
  if (loyaltyScore !== null && loyaltyScore >= 70 && t < 0.25) tags.push('VIP');
  if (t >= 0.25 && t < 0.37) { tags.push('Новичок'); visits = visits % 4; }
  else if (t >= 0.37 && t < 0.52) { tags.push('Постоянный клиент'); if (visits < 10) visits += 10 + rng.int(20); }
  const t2 = rng.float();
  if (t2 < 0.02) tags.push('Оптовик');
  else if (t2 < 0.03) tags.push('Сотрудник');
  else if (t2 < 0.035) tags.push('Блогер');
  else if (t2 < 0.055) tags.push('Корпоративный');
  else if (t2 < 0.105 && !tags.includes('Новичок')) tags.push('Отток');

  return {
    lastName: gender === 'm' ? sur.m : sur.f,
    firstName: first.name,
    middleName,
    gender,
    phone,
    email,
    cardNumber,
    birthDate: birth,
    city,
    carNumber,
    registrationSource,
    pointOfSale,
    utmSource, utmMedium: utmMediumV, utmCampaign,
    tags,
    fields: { loyaltyScore, favoriteCategory, visits },
  };
}

// ---------------------------------------------------------------------------
// Dirty rendering
// ---------------------------------------------------------------------------

const DUPLICATE_RATE = 0.03;
const GARBAGE_RATE = 0.01;

const TYPO_SWAP: Record<string, string> = {
  'а': 'о', 'о': 'а', 'е': 'и', 'и': 'е', 'я': 'а', 'ы': 'и', 'с': 'з', 'з': 'с', 'т': 'д', 'д': 'т', 'в': 'ф', 'н': 'м',
};

function typo(rng: Rng, s: string): string {
  if (s.length < 4) return s;
  const pos = 1 + rng.int(s.length - 2);
  switch (rng.int(4)) {
    case 0: return s.slice(0, pos) + s.slice(pos + 1);
    case 1: return s.slice(0, pos + 1) + s.slice(pos);
    case 2: return s.slice(0, pos) + s.charAt(pos + 1) + s.charAt(pos) + s.slice(pos + 2);
    default: {
      const c = TYPO_SWAP[s.charAt(pos)];
      return c === undefined ? s.slice(0, pos + 1) + s.slice(pos) : s.slice(0, pos) + c + s.slice(pos + 1);
    }
  }
}

const PHONE_FORMATS = 6;
/** Render a 10-digit national number in one of six real-world formats. */
function formatPhone(n: string, fmt: number): string {
  const a = n.slice(0, 3), b = n.slice(3, 6), c = n.slice(6, 8), d = n.slice(8, 10);
  switch (fmt) {
    case 0: return `8 (${a}) ${b}-${c}-${d}`;
    case 1: return `+7 ${a} ${n.slice(3)}`;
    case 2: return n;
    case 3: return '8' + n;
    case 4: return `+7(${a})${b}-${c}-${d}`;
    default: return `8-${a}-${b}-${c}-${d}`;
  }
}

const GENDER_M = ['м', 'М', 'муж', 'male'];
const GENDER_F = ['ж', 'Ж', 'жен', 'female'];

const CITY_ALIASES: Record<string, string[]> = {
  'Москва': ['г. Москва', 'москва', 'МОСКВА', 'г Москва', 'Москва ', 'Мск'],
  'Санкт-Петербург': ['СПб', 'Санкт Петербург', 'С.-Петербург', 'спб', 'Питер', 'г. Санкт-Петербург'],
  'Екатеринбург': ['Екб', 'екатеринбург', 'г. Екатеринбург'],
  'Нижний Новгород': ['Н. Новгород', 'Нижний  Новгород', 'нижний новгород'],
  'Ростов-на-Дону': ['Ростов', 'Ростов на Дону', 'г. Ростов-на-Дону'],
};

const LATIN_LOOKALIKE: Record<string, string> = {
  'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'У': 'Y', 'Х': 'X',
};

function messyCity(rng: Rng, city: string): string {
  if (!rng.chance(0.12)) return city;
  const aliases = CITY_ALIASES[city];
  if (aliases && rng.chance(0.7)) return rng.pick(aliases);
  switch (rng.int(4)) {
    case 0: return 'г. ' + city;
    case 1: return city.toLowerCase();
    case 2: return city.toUpperCase();
    default: return city + ' ';
  }
}

function messyEmail(rng: Rng, email: string): string {
  let e = email;
  const r = rng.float();
  if (r < 0.15) e = e.charAt(0).toUpperCase() + e.slice(1);
  else if (r < 0.22) e = e.toUpperCase();
  else if (r < 0.3) {
    const at = e.indexOf('@');
    e = e.slice(0, at + 1) + e.charAt(at + 1).toUpperCase() + e.slice(at + 2);
  } else if (r < 0.35) {
    const dot = e.indexOf('.');
    if (dot > 0 && dot < e.indexOf('@')) e = e.charAt(0).toUpperCase() + e.slice(1, dot + 1) + e.charAt(dot + 1).toUpperCase() + e.slice(dot + 2);
  }
  const s = rng.float();
  if (s < 0.05) e = ' ' + e;
  else if (s < 0.1) e = e + ' ';
  else if (s < 0.12) e = ' ' + e + '  ';
  return e;
}

function messyPlate(rng: Rng, plate: string): string {
  const r = rng.float();
  if (r < 0.08) { let o = ''; for (const ch of plate) o += LATIN_LOOKALIKE[ch] ?? ch; return o; }
  if (r < 0.12) return plate.toLowerCase();
  if (r < 0.16) return `${plate.charAt(0)} ${plate.slice(1, 4)} ${plate.slice(4, 6)} ${plate.slice(6)}`;
  return plate;
}

function fullNameOf(rng: Rng, last: string, first: string, middle: string | null): string {
  const r = rng.float();
  let s: string;
  if (r < 0.68) s = middle === null ? `${last} ${first}` : `${last} ${first} ${middle}`;
  else if (r < 0.88) s = `${first} ${last}`;
  else if (r < 0.95) s = `${last} ${first}`;
  else s = middle === null ? `${first} ${last}` : `${first} ${middle} ${last}`;
  const w = rng.float();
  if (w < 0.06) s = s.replace(' ', '  ');
  else if (w < 0.12) s = s + (rng.chance(0.7) ? ' ' : '  ');
  else if (w < 0.14) s = ' ' + s;
  const c = rng.float();
  if (c < 0.06) s = s.toLowerCase();
  else if (c < 0.08) s = s.toUpperCase();
  return s;
}

/** Decide whether row `index` re-enters an earlier person; returns the earlier row index or -1. */
function dupTarget(ctx: Context, index: number): number {
  if (index === 0) return -1;
  const a = ctx.aux;
  seedRow(a, ctx.key, index, STREAM_DIRTY);
  if (a.float() >= DUPLICATE_RATE) return -1;
  return Math.floor(a.float() * index);
}

/** Make a clean profile dirty. `rng` drives all choices, so rendering is deterministic per seed. */
export function dirtyProfile(base: GeneratedProfile, rng: Rng, duplicateOf: number | null = null): DirtyProfile {
  const isDup = duplicateOf !== null;
  let lastName = base.lastName, firstName = base.firstName, middleName = base.middleName;
  if (rng.chance(0.35)) { // ё is very often typed as е
    lastName = lastName.replaceAll('ё', 'е'); firstName = firstName.replaceAll('ё', 'е');
    if (middleName !== null) middleName = middleName.replaceAll('ё', 'е');
  }
  if (isDup) {
    const r = rng.float();
    if (r < 0.2) lastName = typo(rng, lastName);
    else if (r < 0.35) firstName = typo(rng, firstName);
    if (rng.chance(0.2)) middleName = null;
  } else if (rng.chance(0.005)) {
    lastName = typo(rng, lastName);
  }
  const fullName = fullNameOf(rng, lastName, firstName, middleName);

  const gr = rng.float();
  const gender = gr < 0.1 ? '' : (base.gender === 'm' ? GENDER_M : GENDER_F)[rng.int(4)]!;

  let phone: string | null = base.phone === null ? null : formatPhone(base.phone.slice(2), rng.int(PHONE_FORMATS));

  let email = base.email;
  if (isDup) {
    const r = rng.float();
    if (r < 0.2) email = null;
    else if (r < 0.6) {
      email = makeEmail(rng, transliterate(base.firstName), transliterate(base.lastName), null, base.birthDate, false);
    }
  }
  if (email !== null) email = rng.chance(0.02) ? null : messyEmail(rng, email);

  let birth: string | null = base.birthDate;
  if (birth !== null && (rng.chance(0.02) || (isDup && rng.chance(0.2)))) birth = null;
  if (birth !== null) birth = `${birth.slice(8, 10)}.${birth.slice(5, 7)}.${birth.slice(0, 4)}`;

  let cardNumber = base.cardNumber;
  if (cardNumber !== null) {
    if (rng.chance(isDup ? 0.5 : 0.02)) cardNumber = null;
    else if (rng.chance(0.04)) cardNumber = `${cardNumber.slice(0, 3)} ${cardNumber.slice(3, 7)} ${cardNumber.slice(7)}`;
  }

  let city = base.city;
  if (city !== null) city = rng.chance(0.03) ? null : messyCity(rng, city);
  let carNumber = base.carNumber;
  if (carNumber !== null) carNumber = rng.chance(0.02) ? null : messyPlate(rng, carNumber);
  let pointOfSale = base.pointOfSale;
  if (pointOfSale !== null && rng.chance(0.3)) pointOfSale = pointOfSale.replace('«', '"').replace('»', '"');

  let garbage = false;
  if (rng.chance(GARBAGE_RATE)) {
    garbage = true;
    switch (rng.int(3)) {
      case 0: { // too short phone: '8916123'
        const national = base.phone === null ? '916' + padN(rng.int(10_000_000), 7) : base.phone.slice(2);
        phone = '8' + national.slice(0, 3 + rng.int(4));
        break;
      }
      case 1: { // email without '@'
        const e = email ?? makeEmail(rng, transliterate(base.firstName), transliterate(base.lastName), null, null, false);
        email = e.replace('@', rng.chance(0.5) ? '' : ' ');
        break;
      }
      default: { // impossible date
        const y = base.birthDate === null ? 1990 : Number(base.birthDate.slice(0, 4));
        birth = rng.pick(['31.02.', '30.02.', '31.04.', '32.01.', '31.06.']) + y;
      }
    }
  }

  return {
    lastName, firstName, middleName, fullName, gender, phone, email, cardNumber, birthDate: birth, city, carNumber,
    registrationSource: base.registrationSource, pointOfSale,
    utmSource: base.utmSource, utmMedium: base.utmMedium, utmCampaign: base.utmCampaign,
    tags: base.tags, fields: base.fields,
    duplicateOf, garbage,
  };
}

function dirtyAt(ctx: Context, index: number): DirtyProfile {
  let root = dupTarget(ctx, index);
  if (root < 0) {
    const base = cleanAt(ctx, index);
    const rng = ctx.rng; // reseed for the dirty stream (skipping the 2 draws used by dupTarget)
    seedRow(rng, ctx.key, index, STREAM_DIRTY); rng.next(); rng.next();
    return dirtyProfile(base, rng, null);
  }
  for (let j = dupTarget(ctx, root); j >= 0; j = dupTarget(ctx, root)) root = j;
  // same person (from the root row) registering again: own registration context from row `index`
  const own = cleanAt(ctx, index);
  const person = cleanAt(ctx, root);
  const base: GeneratedProfile = {
    ...person,
    city: person.city !== null && ctx.rng.chance(0.85) ? person.city : own.city,
    registrationSource: own.registrationSource, pointOfSale: own.pointOfSale,
    utmSource: own.utmSource, utmMedium: own.utmMedium, utmCampaign: own.utmCampaign,
    tags: own.tags, fields: own.fields,
  };
  const rng = ctx.rng;
  seedRow(rng, ctx.key, index, STREAM_DIRTY); rng.next(); rng.next();
  return dirtyProfile(base, rng, root);
}

// ---------------------------------------------------------------------------
// Public generation API
// ---------------------------------------------------------------------------

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  if (count > PHONE_DOMAIN) throw new RangeError(`count ${count} exceeds the unique phone space (${PHONE_DOMAIN})`);
}

/** Yields `count` profiles deterministically for a seed. Clean mode: unique phones and card numbers. */
export function generateProfiles(count: number, options: GenerateOptions & { dirty: true }): Generator<DirtyProfile>;
export function generateProfiles(count: number, options: GenerateOptions & { dirty?: false }): Generator<GeneratedProfile>;
export function generateProfiles(count: number, options: GenerateOptions): Generator<GeneratedProfile | DirtyProfile>;
export function* generateProfiles(count: number, options: GenerateOptions): Generator<GeneratedProfile | DirtyProfile> {
  checkCount(count);
  const ctx = makeContext(options.seed);
  if (options.dirty) for (let i = 0; i < count; i++) yield dirtyAt(ctx, i);
  else for (let i = 0; i < count; i++) yield cleanAt(ctx, i);
}

/** Random access: the profile at row `index` for a seed (same value generateProfiles yields at that position). */
export function generateProfileAt(index: number, options: GenerateOptions & { dirty: true }): DirtyProfile;
export function generateProfileAt(index: number, options: GenerateOptions & { dirty?: false }): GeneratedProfile;
export function generateProfileAt(index: number, options: GenerateOptions): GeneratedProfile | DirtyProfile;
export function generateProfileAt(index: number, options: GenerateOptions): GeneratedProfile | DirtyProfile {
  checkCount(index + 1);
  const ctx = makeContext(options.seed);
  return options.dirty ? dirtyAt(ctx, index) : cleanAt(ctx, index);
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

const CLEAN_HEADER = ['Фамилия', 'Имя', 'Отчество', 'Пол', 'Телефон', 'Email', 'Номер карты', 'Дата рождения', 'Город',
  'Номер автомобиля', 'Источник регистрации', 'Точка продаж', 'UTM Source', 'UTM Medium', 'UTM Campaign', 'Теги',
  'Оценка', 'Любимая категория', 'Визиты'];
const DIRTY_HEADER = ['ФИО', ...CLEAN_HEADER.slice(3)];

/** Separator used inside the «Теги» cell. */
export const TAG_SEPARATOR = ', ';

export function csvHeader(dirty: boolean): string[] { return (dirty ? DIRTY_HEADER : CLEAN_HEADER).slice(); }
export function csvDelimiter(dirty: boolean): ',' | ';' { return dirty ? ';' : ','; }
export function csvLineEnd(dirty: boolean): '\n' | '\r\n' { return dirty ? '\r\n' : '\n'; }

const NEEDS_QUOTE_COMMA = /[",\r\n]/;
const NEEDS_QUOTE_SEMI = /[";\r\n]/;

/** RFC 4180: quote a cell if it contains the delimiter, '"', CR or LF; double inner quotes. */
export function escapeCsvCell(value: string, delimiter: string): string {
  const re = delimiter === ',' ? NEEDS_QUOTE_COMMA : delimiter === ';' ? NEEDS_QUOTE_SEMI : null;
  const needs = re ? re.test(value) : (value.includes(delimiter) || /["\r\n]/.test(value));
  return needs ? '"' + value.replaceAll('"', '""') + '"' : value;
}

/** One CSV record (without line end). */
export function formatCsvRow(cells: readonly string[], dirty: boolean): string {
  const d = csvDelimiter(dirty);
  let out = '';
  for (let i = 0; i < cells.length; i++) {
    if (i > 0) out += d;
    out += escapeCsvCell(cells[i]!, d);
  }
  return out;
}

function isDirty(p: GeneratedProfile | DirtyProfile): p is DirtyProfile { return 'fullName' in p; }

/**
 * Cells (unescaped) of one CSV row in the layout of csvHeader(dirty).
 * Dirty profiles (from generateProfiles with dirty: true) are rendered as they are; a clean profile asked
 * for dirty output is made dirty with `rng` (default: a fixed-seed Rng, so the result is still deterministic).
 */
export function profileToCsvCells(p: GeneratedProfile | DirtyProfile, dirty: boolean, rng?: Rng): string[] {
  if (dirty && !isDirty(p)) p = dirtyProfile(p, rng ?? new Rng(0x9e3779b9));
  const tail = [
    p.phone ?? '', p.email ?? '', p.cardNumber ?? '', p.birthDate ?? '', p.city ?? '', p.carNumber ?? '',
    p.registrationSource, p.pointOfSale ?? '', p.utmSource ?? '', p.utmMedium ?? '', p.utmCampaign ?? '',
    p.tags.join(TAG_SEPARATOR),
    p.fields.loyaltyScore === null ? '' : String(p.fields.loyaltyScore),
    p.fields.favoriteCategory ?? '', String(p.fields.visits),
  ];
  if (dirty && isDirty(p)) return [p.fullName, p.gender, ...tail];
  return [p.lastName, p.firstName, p.middleName ?? '', p.gender, ...tail];
}

/**
 * Write a header plus `count` generated rows to a file path (created/truncated) or a writable stream.
 * Streams in ~1000-row chunks honouring backpressure; memory stays constant. A passed-in stream is not ended
 * (so process.stdout works); a file path is closed before the promise resolves.
 */
export async function writeCsv(
  target: string | NodeJS.WritableStream,
  count: number,
  options: GenerateOptions & { onProgress?: (rows: number) => void },
): Promise<{ rows: number; bytes: number; ms: number }> {
  checkCount(count);
  const t0 = performance.now();
  const dirty = options.dirty === true;
  const eol = csvLineEnd(dirty);
  const ownStream = typeof target === 'string';
  const stream: NodeJS.WritableStream = ownStream ? createWriteStream(target) : target;
  let failure: unknown = null;
  const onError = (err: unknown): void => { failure ??= err; };
  stream.on('error', onError);

  const ctx = makeContext(options.seed);
  const BATCH = 1000;
  let bytes = 0;
  let rows = 0;
  let chunk = (dirty ? '\uFEFF' : '') + formatCsvRow(csvHeader(dirty), dirty) + eol;
  const flush = async (): Promise<void> => {
    const buf = Buffer.from(chunk, 'utf8');
    chunk = '';
    bytes += buf.length;
    if (!stream.write(buf)) {
      if (failure !== null) throw failure;
      await once(stream, 'drain');
    }
    if (failure !== null) throw failure;
  };
  try {
    while (rows < count) {
      const end = Math.min(count, rows + BATCH);
      for (let i = rows; i < end; i++) {
        const p = dirty ? dirtyAt(ctx, i) : cleanAt(ctx, i);
        chunk += formatCsvRow(profileToCsvCells(p, dirty), dirty) + eol;
      }
      rows = end;
      await flush();
      options.onProgress?.(rows);
    }
    if (chunk.length > 0) await flush();
    if (ownStream) {
      const ws = stream as WriteStream;
      const closed = once(ws, 'close');
      ws.end();
      await closed;
    } else {
      await new Promise<void>((resolve, reject) => {
        stream.write('', (err?: Error | null) => (err ? reject(err) : resolve()));
      });
    }
    if (failure !== null) throw failure;
  } catch (err) {
    if (ownStream) (stream as WriteStream).destroy();
    throw err;
  } finally {
    stream.removeListener('error', onError);
  }
  return { rows, bytes, ms: performance.now() - t0 };
}
