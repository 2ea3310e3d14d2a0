import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  CATEGORIES, TAGS, csvHeader, escapeCsvCell, feminineSurname, formatCsvRow, generateProfileAt, generateProfiles,
  patronymic, profileToCsvCells, transliterate, writeCsv,
  type DirtyProfile, type GeneratedProfile,
} from './generate.ts';

/** Minimal RFC 4180 parser (quoted fields, doubled quotes, CRLF or LF). */
function parseCsv(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else inQuotes = false;
      } else field += c;
      continue;
    }
    if (c === '"' && field === '' && !quoted) { inQuotes = true; quoted = true; continue; }
    if (c === delimiter) { row.push(field); field = ''; quoted = false; continue; }
    if (c === '\r' && text[i + 1] === '\n') continue;
    if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; quoted = false; continue; }
    field += c;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

function take<T>(it: Iterable<T>): T[] { return Array.from(it); }

function tempDir(): string { return mkdtempSync(join(tmpdir(), 'kartoteka-gen-')); }

function eanValid(code: string): boolean {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(code[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === Number(code[12]);
}

describe('name rules', () => {
  test('feminine surnames', () => {
    assert.equal(feminineSurname('Иванов'), 'Иванова');
    assert.equal(feminineSurname('Толстой'), 'Толстая');
    assert.equal(feminineSurname('Бородин'), 'Бородина');
    assert.equal(feminineSurname('Соловьёв'), 'Соловьёва');
    assert.equal(feminineSurname('Островский'), 'Островская');
    assert.equal(feminineSurname('Высоцкий'), 'Высоцкая');
    assert.equal(feminineSurname('Белый'), 'Белая');
    for (const s of ['Черных', 'Долгих', 'Шевченко', 'Ким', 'Цой', 'Ковальчук', 'Петросян']) assert.equal(feminineSurname(s), s);
  });

  test('patronymics', () => {
    const cases: [string, string, string][] = [
      ['Иван', 'Иванович', 'Ивановна'], ['Сергей', 'Сергеевич', 'Сергеевна'], ['Никита', 'Никитич', 'Никитична'],
      ['Илья', 'Ильич', 'Ильинична'], ['Евгений', 'Евгеньевич', 'Евгеньевна'], ['Дмитрий', 'Дмитриевич', 'Дмитриевна'],
      ['Игорь', 'Игоревич', 'Игоревна'], ['Николай', 'Николаевич', 'Николаевна'], ['Михаил', 'Михайлович', 'Михайловна'],
      ['Пётр', 'Петрович', 'Петровна'], ['Лев', 'Львович', 'Львовна'], ['Павел', 'Павлович', 'Павловна'],
      ['Яков', 'Яковлевич', 'Яковлевна'], ['Кузьма', 'Кузьмич', 'Кузьминична'], ['Фёдор', 'Фёдорович', 'Фёдоровна'],
    ];
    for (const [father, m, f] of cases) {
      assert.equal(patronymic(father, 'm'), m, father);
      assert.equal(patronymic(father, 'f'), f, father);
    }
  });

  test('transliteration', () => {
    assert.equal(transliterate('Жуков'), 'zhukov');
    assert.equal(transliterate('Хохлова'), 'khokhlova');
    assert.equal(transliterate('Цветков'), 'tsvetkov');
    assert.equal(transliterate('Щербаков'), 'shcherbakov');
    assert.equal(transliterate('Юлия'), 'yuliya');
    assert.equal(transliterate('Артём'), 'artem');
    assert.equal(transliterate('Наталья'), 'natalya');
    assert.equal(transliterate('Чернышёв'), 'chernyshev');
  });
});

describe('determinism', () => {
  test('same seed -> identical sequence, different seed -> different', () => {
    const a = take(generateProfiles(3000, { seed: 42 }));
    const b = take(generateProfiles(3000, { seed: 42 }));
    const c = take(generateProfiles(3000, { seed: 43 }));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.notEqual(a[0]!.phone, c[0]!.phone);
    const da = take(generateProfiles(3000, { seed: 42, dirty: true }));
    const db = take(generateProfiles(3000, { seed: 42, dirty: true }));
    assert.deepEqual(da, db);
    assert.notDeepEqual(da, take(generateProfiles(3000, { seed: 43, dirty: true })));
  });

  test('fixed values for a seed (stable across runs and machines)', () => {
    // Pins the algorithm: changing it changes every seeded dataset; update deliberately.
    const p = generateProfileAt(0, { seed: 42 });
    assert.equal(p.phone, '+79172591978');
    assert.equal(p.lastName, 'Казаков');
    assert.equal(p.firstName, 'Андрей');
  });

  test('random access equals the sequence; a prefix is stable when count grows', () => {
    const seq = take(generateProfiles(500, { seed: 7 }));
    assert.deepEqual(generateProfileAt(321, { seed: 7 }), seq[321]);
    assert.deepEqual(take(generateProfiles(100, { seed: 7 })), seq.slice(0, 100));
    const dirty = take(generateProfiles(500, { seed: 7, dirty: true }));
    assert.deepEqual(generateProfileAt(499, { seed: 7, dirty: true }), dirty[499]);
  });

  test('large and negative seeds work', () => {
    assert.notDeepEqual(generateProfileAt(0, { seed: 2 ** 40 }), generateProfileAt(0, { seed: 0 }));
    assert.deepEqual(generateProfileAt(5, { seed: -1 }), generateProfileAt(5, { seed: -1 }));
    assert.throws(() => take(generateProfiles(1, { seed: Number.NaN })), RangeError);
    assert.throws(() => take(generateProfiles(-1, { seed: 1 })), RangeError);
  });
});

describe('clean mode', () => {
  test('phones and card numbers are unique over 200k rows', () => {
    const phones = new Set<string>();
    const cards = new Set<string>();
    let nPhones = 0, nCards = 0;
    for (const p of generateProfiles(200_000, { seed: 2024 })) {
      if (p.phone !== null) { phones.add(p.phone); nPhones++; }
      if (p.cardNumber !== null) { cards.add(p.cardNumber); nCards++; }
    }
    assert.equal(phones.size, nPhones);
    assert.equal(cards.size, nCards);
    assert.ok(nPhones > 190_000 && nCards > 150_000 && nCards < 170_000);
  });

  test('values have canonical formats and realistic shares', () => {
    const N = 20_000;
    const rows = take(generateProfiles(N, { seed: 11 }));
    const cities = new Map<string, number>();
    let noEmail = 0, noBirth = 0, noCard = 0, landline = 0, cyrEmail = 0, female = 0, noTags = 0;
    const plate = /^[АВЕКМНОРСТУХ]\d{3}[АВЕКМНОРСТУХ]{2}\d{2,3}$/;
    for (const p of rows) {
      assert.match(p.lastName, /^[А-ЯЁ][а-яё]+$/);
      assert.match(p.firstName, /^[А-ЯЁ][а-яё]+$/);
      if (p.middleName !== null) assert.match(p.middleName, p.gender === 'm' ? /(ич)$/ : /(на)$/);
      assert.ok(p.gender === 'm' || p.gender === 'f');
      if (p.gender === 'f') female++;
      if (p.phone === null) { /* allowed */ } else {
        assert.match(p.phone, /^\+7\d{10}$/);
        if (!p.phone.startsWith('+79')) { landline++; assert.match(p.phone, /^\+7(495|499|812|343)/); }
      }
      if (p.email === null) noEmail++;
      else {
        assert.equal(p.email, p.email.toLowerCase());
        assert.match(p.email, /^[^@\s]+@[^@\s]+\.[^@\s]+$/);
        if (/[а-яё]/.test(p.email)) cyrEmail++;
      }
      if (p.birthDate === null) noBirth++;
      else {
        assert.match(p.birthDate, /^\d{4}-\d{2}-\d{2}$/);
        const d = new Date(p.birthDate + 'T00:00:00Z');
        assert.equal(d.toISOString().slice(0, 10), p.birthDate);
        const y = d.getUTCFullYear();
        assert.ok(y >= 1950 && y <= 2007, p.birthDate);
      }
      if (p.cardNumber === null) noCard++;
      else { assert.match(p.cardNumber, /^\d{13}$/); assert.ok(eanValid(p.cardNumber)); }
      if (p.carNumber !== null) assert.match(p.carNumber, plate);
      if (p.city !== null) cities.set(p.city, (cities.get(p.city) ?? 0) + 1);
      assert.ok(['pos', 'form', 'interface', 'api', 'import'].includes(p.registrationSource));
      if (p.registrationSource === 'pos') assert.ok(p.pointOfSale);
      assert.equal(p.utmSource === null, p.utmCampaign === null);
      if (p.tags.length === 0) noTags++;
      for (const t of p.tags) assert.ok((TAGS as readonly string[]).includes(t), t);
      const { loyaltyScore, favoriteCategory, visits } = p.fields;
      if (loyaltyScore !== null) assert.ok(Number.isInteger(loyaltyScore) && loyaltyScore >= 0 && loyaltyScore <= 100);
      if (favoriteCategory !== null) assert.ok((CATEGORIES as readonly string[]).includes(favoriteCategory));
      assert.ok(Number.isInteger(visits) && visits >= 0);
    }
    const share = (n: number): number => n / N;
    assert.ok(share(noEmail) > 0.12 && share(noEmail) < 0.18, `no email ${share(noEmail)}`);
    assert.ok(share(noBirth) > 0.08 && share(noBirth) < 0.12);
    assert.ok(share(noCard) > 0.17 && share(noCard) < 0.23);
    assert.ok(share(landline) > 0.02 && share(landline) < 0.08);
    assert.ok(share(cyrEmail) > 0.01 && share(cyrEmail) < 0.05);
    assert.ok(share(female) > 0.5 && share(female) < 0.62);
    assert.ok(share(noTags) > 0.4);
    assert.ok(cities.size >= 30, `cities ${cities.size}`);
    const byPop = [...cities].sort((a, b) => b[1] - a[1]).map(([c]) => c);
    assert.deepEqual(byPop.slice(0, 2), ['Москва', 'Санкт-Петербург']);
  });

  test('feminine profiles use feminine surname forms', () => {
    for (const p of generateProfiles(5000, { seed: 5 })) {
      if (p.gender === 'f' && p.lastName !== 'Цой') assert.doesNotMatch(p.lastName, /(ов|ев|ёв|ин|ын|ский|цкий|ой|ый)$/, p.lastName);
      if (p.gender === 'm') assert.doesNotMatch(p.lastName, /(ова|ева|ёва|ина|ская|ая)$/, p.lastName);
    }
  });
});

describe('CSV', () => {
  test('header', () => {
    assert.equal(csvHeader(false).join(','),
      'Фамилия,Имя,Отчество,Пол,Телефон,Email,Номер карты,Дата рождения,Город,Номер автомобиля,Источник регистрации,Точка продаж,UTM Source,UTM Medium,UTM Campaign,Теги,Оценка,Любимая категория,Визиты');
    const dirty = csvHeader(true);
    assert.equal(dirty[0], 'ФИО');
    assert.equal(dirty.length, 17);
  });

  test('quoting round-trip for ; " , and newlines', () => {
    const nasty = ['plain', 'a;b', 'a,b', 'say "hi"', 'line1\nline2', 'cr\r\nlf', '', ' spaced ', '"', ';;', 'ТЦ «Мега», 1'];
    for (const dirty of [false, true]) {
      const delim = dirty ? ';' : ',';
      const eol = dirty ? '\r\n' : '\n';
      const text = formatCsvRow(nasty, dirty) + eol + formatCsvRow(['x', 'y'], dirty) + eol;
      assert.deepEqual(parseCsv(text, delim), [nasty, ['x', 'y']]);
    }
    assert.equal(escapeCsvCell('a"b', ','), '"a""b"');
    assert.equal(escapeCsvCell('a;b', ','), 'a;b');
    assert.equal(escapeCsvCell('a;b', ';'), '"a;b"');

    const base = generateProfileAt(0, { seed: 1 });
    const p: GeneratedProfile = { ...base, pointOfSale: 'Москва; ТЦ "Мега",\nвход 2', tags: ['VIP', 'Новичок'] };
    for (const dirty of [false, true]) {
      const cells = profileToCsvCells(p, dirty);
      const parsed = parseCsv(formatCsvRow(cells, dirty) + '\n', dirty ? ';' : ',');
      assert.deepEqual(parsed, [cells]);
      assert.ok(cells.includes('Москва; ТЦ "Мега",\nвход 2'));
    }
  });

  test('writeCsv clean: count+1 lines, no BOM, parses back to the generated profiles', async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'clean.csv');
      const progress: number[] = [];
      const res = await writeCsv(file, 2500, { seed: 9, onProgress: (n) => progress.push(n) });
      const buf = readFileSync(file);
      assert.equal(res.rows, 2500);
      assert.equal(res.bytes, statSync(file).size);
      assert.ok(res.ms >= 0);
      assert.deepEqual(progress, [1000, 2000, 2500]);
      assert.notEqual(buf[0], 0xef);
      const text = buf.toString('utf8');
      assert.ok(!text.includes('\r'));
      assert.ok(text.endsWith('\n'));
      assert.equal(text.split('\n').length - 1, 2501);
      const records = parseCsv(text, ',');
      assert.equal(records.length, 2501);
      assert.deepEqual(records[0], csvHeader(false));
      const profiles = take(generateProfiles(2500, { seed: 9 }));
      for (let i = 0; i < profiles.length; i++) assert.deepEqual(records[i + 1], profileToCsvCells(profiles[i]!, false));
      assert.ok(text.includes('"'), 'some cells (points of sale with commas) are quoted');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('writeCsv dirty: BOM, ";" delimiter, CRLF, ФИО, six phone formats, duplicates and garbage', async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'dirty.csv');
      const N = 6000;
      const res = await writeCsv(file, N, { seed: 3, dirty: true });
      const buf = readFileSync(file);
      assert.deepEqual([...buf.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
      assert.equal(res.bytes, buf.length);
      const text = buf.toString('utf8').slice(1);
      assert.ok(text.startsWith('ФИО;Пол;Телефон;Email;'));
      assert.equal(text.split('\r\n').length - 1, N + 1);
      assert.equal(text.replaceAll('\r\n', '').includes('\n'), false);
      const records = parseCsv(text, ';');
      assert.equal(records.length, N + 1);
      for (const r of records) assert.equal(r.length, 17);

      const col = (name: string): string[] => {
        const idx = records[0]!.indexOf(name);
        assert.ok(idx >= 0, name);
        return records.slice(1).map((r) => r[idx]!);
      };
      const phones = col('Телефон');
      const formats = [
        /^8 \(\d{3}\) \d{3}-\d{2}-\d{2}$/, /^\+7 \d{3} \d{7}$/, /^\d{10}$/, /^8\d{10}$/,
        /^\+7\(\d{3}\)\d{3}-\d{2}-\d{2}$/, /^8-\d{3}-\d{3}-\d{2}-\d{2}$/,
      ];
      for (const f of formats) {
        const n = phones.filter((p) => f.test(p)).length;
        assert.ok(n > N / 10, `format ${f} x${n}`);
      }
      assert.ok(phones.some((p) => p !== '' && p.replace(/\D/g, '').length < 10), 'some invalid short phones');

      // duplicates: the same national number appears again (different formatting)
      const seen = new Map<string, number>();
      for (const p of phones) {
        const digits = p.replace(/\D/g, '');
        if (digits.length < 10) continue;
        const national = digits.slice(-10);
        seen.set(national, (seen.get(national) ?? 0) + 1);
      }
      const dupRows = [...seen.values()].filter((c) => c > 1).reduce((a, c) => a + c - 1, 0);
      assert.ok(dupRows > N * 0.015 && dupRows < N * 0.05, `duplicates ${dupRows}`);

      const names = col('ФИО');
      assert.ok(names.some((n) => n.includes('  ')));
      assert.ok(names.some((n) => n.endsWith(' ')));
      assert.ok(names.some((n) => n === n.toLowerCase()));
      assert.ok(names.some((n) => n.trim().split(/\s+/).length === 2));
      assert.ok(names.some((n) => n.trim().split(/\s+/).length === 3));

      const emails = col('Email').filter((e) => e !== '');
      assert.ok(emails.some((e) => e !== e.toLowerCase()));
      assert.ok(emails.some((e) => e !== e.trim()));
      assert.ok(emails.some((e) => !e.includes('@')));
      assert.ok(col('Email').some((e) => e === ''));

      const dates = col('Дата рождения').filter((d) => d !== '');
      for (const d of dates) assert.match(d, /^\d{2}\.\d{2}\.\d{4}$/);
      assert.ok(dates.some((d) => /^(3[01]|29)\.02\.|^3[12]\.0[46]\.|^32\./.test(d)), 'some impossible dates');

      const genders = new Set(col('Пол'));
      for (const g of genders) assert.ok(['м', 'ж', 'М', 'Ж', 'муж', 'жен', 'male', 'female', ''].includes(g), g);
      assert.ok(genders.size >= 8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('dirty profiles carry ground truth; non-duplicate rows are the clean rows made messy', () => {
    const clean = take(generateProfiles(3000, { seed: 8 }));
    const dirty: DirtyProfile[] = take(generateProfiles(3000, { seed: 8, dirty: true }));
    let dups = 0;
    for (let i = 0; i < dirty.length; i++) {
      const d = dirty[i]!;
      const src = d.duplicateOf === null ? clean[i]! : clean[d.duplicateOf]!;
      if (d.duplicateOf !== null) { dups++; assert.ok(d.duplicateOf < i); }
      if (!d.garbage && d.phone !== null) assert.equal(d.phone.replace(/\D/g, '').slice(-10), src.phone!.slice(2));
    }
    assert.ok(dups > 40 && dups < 150, `dups ${dups}`);
  });

  test('writeCsv to a Writable honours backpressure and does not end the stream', async () => {
    const parts: Buffer[] = [];
    let ended = false;
    const sink = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) { parts.push(chunk); setImmediate(cb); },
      final(cb) { ended = true; cb(); },
    });
    const res = await writeCsv(sink, 3500, { seed: 4 });
    assert.equal(ended, false);
    const text = Buffer.concat(parts).toString('utf8');
    assert.equal(Buffer.concat(parts).length, res.bytes);
    assert.equal(text.split('\n').length - 1, 3501);

    const dir = tempDir();
    try {
      const file = join(dir, 'same.csv');
      await writeCsv(file, 3500, { seed: 4 });
      assert.equal(readFileSync(file, 'utf8'), text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('writeCsv rejects on stream errors', async () => {
    const sink = new Writable({ write(_c, _e, cb) { cb(new Error('disk full')); } });
    sink.on('error', () => {});
    await assert.rejects(writeCsv(sink, 5000, { seed: 1 }), /disk full/);
    await assert.rejects(writeCsv(join(tmpdir(), 'no-such-dir-kartoteka', 'x.csv'), 10, { seed: 1 }), /ENOENT/);
  });
});
