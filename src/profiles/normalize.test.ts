import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import {
  generateCardNumber,
  luhnCheckDigit,
  normalizeCardNumber,
  normalizeEmail,
  normalizeIp,
  normalizeName,
  normalizePhone,
  parseBirthDate,
  parseDate,
  parseGender,
  splitFullName,
} from './normalize.ts';

/** Reference implementation: what libphonenumber-js/max alone says. */
/**
 * libphonenumber's answer, with our two extra rules: fewer than 7 digits in all is not a client's
 * phone, and a leading "00" is the international prefix when the number is not valid as written.
 */
function libRef(input: string): string | null {
  const parse = (s: string) => {
    const p = parsePhoneNumberFromString(s, 'RU');
    return p !== undefined && p.isValid() && /^\+[1-9]\d{6,14}$/.test(p.number) ? p.number : null;
  };
  const direct = parse(input);
  if (direct !== null || input.trim().startsWith('+')) return direct;
  const digits = input.replace(/[^0-9]/g, '');
  return digits.length > 2 && digits.startsWith('00') ? parse('+' + digits.slice(2)) : null;
}

const digit = fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9');
const digitsOf = (n: number) => fc.array(digit, { minLength: n, maxLength: n }).map((a) => a.join(''));
const E164 = /^\+[1-9]\d{6,14}$/;

/** Render a 10-digit national number in the common Russian ways. */
const RU_FORMATS: ReadonlyArray<(n: string) => string> = [
  (n) => `8 (${n.slice(0, 3)}) ${n.slice(3, 6)}-${n.slice(6, 8)}-${n.slice(8)}`,
  (n) => `+7 ${n.slice(0, 3)} ${n.slice(3)}`,
  (n) => n,
  (n) => `8${n}`,
  (n) => `7${n}`,
  (n) => `+7${n}`,
  (n) => `+7(${n.slice(0, 3)})${n.slice(3, 6)}-${n.slice(6, 8)}-${n.slice(8)}`,
  (n) => `7 ${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6, 8)} ${n.slice(8)}`,
  (n) => `8-${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6, 8)}-${n.slice(8)}`,
  (n) => ` +7 ${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6, 8)} ${n.slice(8)} `,
  (n) => `8.${n.slice(0, 3)}.${n.slice(3, 6)}.${n.slice(6, 8)}.${n.slice(8)}`,
  (n) => `+7\u00a0(${n.slice(0, 3)})\u00a0${n.slice(3, 6)}\u00a0${n.slice(6)}`,
  (n) => `8 ${n.slice(0, 3)} ${n.slice(3)}\t`,
];

describe('normalizePhone', () => {
  it('normalizes the common Russian mobile forms', () => {
    for (const s of [
      '8 (916) 123-45-67',
      '+7 916 1234567',
      '9161234567',
      '89161234567',
      '+7(916)123-45-67',
      '7 916 123 45 67',
      '8-916-123-45-67',
      ' +7 916 123 45 67 ',
      '+7 (916) 123 45 67',
      '8.916.123.45.67',
      '+ 7 916 1234567',
      '+7\u00a0916\u00a0123\u201345\u201367',
    ]) {
      assert.equal(normalizePhone(s), '+79161234567', s);
    }
  });

  it('normalizes Russian landlines and non-geographic numbers', () => {
    assert.equal(normalizePhone('8 (812) 123-45-67'), '+78121234567');
    assert.equal(normalizePhone('8123456789'), '+78123456789'); // 10 digits starting with 8 = St Petersburg
    assert.equal(normalizePhone('(495) 123-45-67'), '+74951234567');
    assert.equal(normalizePhone('8 800 555-35-35'), '+78005553535');
    assert.equal(normalizePhone('+7 343 123 45 67'), '+73431234567');
  });

  it('rejects garbage', () => {
    for (const s of [
      '',
      '   ',
      'abc',
      '123',
      '+',
      '8916123456',
      '99999999999999999',
      '+79161234567abc',
      '89161234567 доб. 12',
      '89161234567 ext 12',
      '89161234567#12',
      'call 89161234567 now',
      '++79161234567',
      '7+9161234567',
      '8 916 123 45 67, 8 916 765 43 21',
      '8 (111) 123-45-67', // 1xx is not Russian
      '8 (391) 123 45 67 8', // too long
      '+7 (200) 123-45-67',
      '9300001234', // unallocated part of the 930 range
      '9'.repeat(40),
    ]) {
      assert.equal(normalizePhone(s), null, JSON.stringify(s));
    }
  });

  it('falls back to libphonenumber for other countries and Kazakhstan', () => {
    assert.equal(normalizePhone('+44 20 7946 0958'), '+442079460958');
    assert.equal(normalizePhone('00 44 20 7946 0958'), '+442079460958');
    assert.equal(normalizePhone('8 10 44 20 7946 0958'), '+442079460958');
    assert.equal(normalizePhone('+7 701 234 5678'), '+77012345678');
    assert.equal(normalizePhone('87012345678'), '+77012345678');
    assert.equal(normalizePhone('+1 201 555 0123'), '+12015550123');
    assert.equal(normalizePhone('020 7946 0958', 'GB'), '+442079460958');
    assert.equal(normalizePhone('0044 20 7946 0958', 'GB'), '+442079460958');
    assert.equal(normalizePhone('(201) 555-0123', 'US'), '+12015550123');
    assert.equal(normalizePhone('201 555 0123', 'us'), '+12015550123');
    assert.equal(normalizePhone('+7 916 123 45 67', 'DE'), '+79161234567');
    assert.equal(normalizePhone('030 123456', 'DE'), '+4930123456');
    assert.equal(normalizePhone('9300051234'), '+79300051234');
    assert.equal(normalizePhone('9301234567'), '+79301234567');
  });

  it('does not read the old "8 10" international prefix, nor short numbers without a plus', () => {
    assert.equal(normalizePhone('8 10 47 025 68'), null);
    assert.equal(normalizePhone('00 648 2270'), null);
  });

  it('rejects numbers valid in a national plan but shorter than 7 digits in all', () => {
    // libphonenumber calls +49 1680 valid; found by the garbage property on CI.
    assert.equal(normalizePhone('1680', 'DE'), null);
    assert.equal(normalizePhone('+491680'), null);
  });

  it('unknown region: only international numbers parse', () => {
    assert.equal(normalizePhone('+44 20 7946 0958', 'XX'), '+442079460958');
    assert.equal(normalizePhone('20 7946 0958', 'XX'), null);
  });

  it('fast path agrees with libphonenumber for every Russian 3-digit code', () => {
    const suffixes = ['0000000', '9999999', '1234567', '5050505', '7654321'];
    for (const first of ['3', '4', '7', '8', '9']) {
      for (let i = 0; i < 100; i++) {
        const code = first + String(i).padStart(2, '0');
        for (const suf of suffixes) {
          const national = code + suf;
          for (const s of [national, '8' + national, '7' + national, '+7' + national]) {
            assert.equal(normalizePhone(s), libRef(s), s);
          }
        }
      }
    }
    // the sparse 9300xx range
    for (let i = 0; i < 100; i++) {
      const s = '89300' + String(i).padStart(2, '0') + '1234';
      assert.equal(normalizePhone(s), libRef(s), s);
    }
  });

  it('property: fast path === libphonenumber/max on random RU-form inputs', () => {
    const national = fc
      .tuple(fc.constantFrom('3', '4', '8', '9', '9', '9', '7', '1', '5'), digitsOf(9))
      .map(([a, b]) => a + b);
    fc.assert(
      fc.property(national, fc.integer({ min: 0, max: RU_FORMATS.length - 1 }), (n, f) => {
        const s = RU_FORMATS[f]!(n);
        assert.equal(normalizePhone(s), libRef(s), s);
      }),
      { numRuns: 5000 },
    );
    // random digit strings of "almost right" lengths with optional plus / separators
    fc.assert(
      fc.property(
        fc.constantFrom('', '+', '8', '7', '+7', '8 ', '+7 '),
        fc.array(fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '-', '(', ')'), {
          minLength: 8,
          maxLength: 16,
        }),
        (p, chars) => {
          const s = p + chars.join('');
          const digits = s.replace(/[^0-9]/g, '');
          const plus = s.trim().startsWith('+');
          // Our documented departures from libphonenumber (examples in 'rejects garbage'): without '+',
          // fewer than 10 digits is never a phone, and "8 10 …" (the old Russian international prefix) is
          // not read as an international number.
          fc.pre(plus || (digits.length >= 10 && !digits.startsWith('810')));
          assert.equal(normalizePhone(s), libRef(s), s);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('property: idempotent', () => {
    const phoneish = fc
      .array(fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '-', '(', ')', '+', '.'), {
        maxLength: 20,
      })
      .map((a) => a.join(''));
    const arb = fc.oneof(
      phoneish,
      fc.string(),
      fc.tuple(fc.constantFrom('+7', '8', '', '+44', '+1', '+49', '00'), digitsOf(10)).map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(arb, (x) => {
        const y = normalizePhone(x);
        if (y !== null) assert.equal(normalizePhone(y), y, `${JSON.stringify(x)} -> ${y}`);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: never accepts garbage', () => {
    // anything with a letter
    const letter = fc.constantFrom('a', 'x', 'X', 'e', 'д', 'о', 'б', 'Я', 'é', 'ß');
    const phoneish = fc
      .array(fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '-', '(', ')', '+'), {
        maxLength: 16,
      })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(phoneish, letter, phoneish, (a, l, b) => {
        assert.equal(normalizePhone(a + l + b), null);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.string().filter((s) => /\p{L}/u.test(s)),
        (s) => {
          assert.equal(normalizePhone(s), null);
        },
      ),
      { numRuns: 1000 },
    );
    // national-format (no '+', no '00' international prefix) input with < 10 digits
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '-', '(', ')', '.'), {
          maxLength: 20,
        }),
        (chars) => {
          const s = chars.join('');
          const digits = s.replace(/\D/g, '');
          fc.pre(digits.length < 10 && !digits.startsWith('00'));
          assert.equal(normalizePhone(s), null, s);
        },
      ),
      { numRuns: 2000 },
    );
    // every non-null result is E.164
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          phoneish,
          fc.tuple(fc.constantFrom('+', '00', '8', ''), digitsOf(12)).map(([a, b]) => a + b),
        ),
        fc.constantFrom('RU', 'US', 'GB', 'DE', 'KZ'),
        (s, region) => {
          const y = normalizePhone(s, region);
          if (y !== null) assert.match(y, E164);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('property: every rendering of a Russian mobile gives the same E.164', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('0', '1', '2', '4', '5', '6', '7', '8', '9'),
        digitsOf(8),
        (second, rest) => {
          const n = '9' + second + rest;
          for (const f of RU_FORMATS) assert.equal(normalizePhone(f(n)), '+7' + n, f(n));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('normalizeEmail', () => {
  it('examples', () => {
    assert.equal(normalizeEmail('  Ivan.Petrov@Mail.RU '), 'ivan.petrov@mail.ru');
    assert.equal(normalizeEmail('Иван@Почта.РФ '), 'иван@почта.рф');
    assert.equal(normalizeEmail('ivan@xn--80a1acny.xn--p1ai'), 'ivan@почта.рф');
    assert.equal(normalizeEmail('ivan@XN--80A1ACNY.XN--P1AI'), 'ivan@почта.рф');
    assert.equal(normalizeEmail('info@пример.рф'), 'info@пример.рф');
    assert.equal(normalizeEmail('a+tag@sub.example.co.uk'), 'a+tag@sub.example.co.uk');
    assert.equal(normalizeEmail("o'brien_1@example.com"), "o'brien_1@example.com");
    assert.equal(normalizeEmail('user@xn--fa-hia.de'), 'user@faß.de');
  });

  it('invalid', () => {
    for (const s of [
      '',
      'a@',
      '@b.ru',
      'a b@c.ru',
      'a@b',
      'ab.ru',
      'a@@b.ru',
      'a@b..ru',
      'a@b.ru.',
      '.a@b.ru',
      'a.@b.ru',
      'a..b@c.ru',
      'a@-b.ru',
      'a@b_c.ru',
      'a@1.2.3.4',
      'a@[1.2.3.4]',
      '"a b"@c.ru',
      'a@b c.ru',
      'a@xn--zz.ru',
      'a@b.ru>',
      'x'.repeat(65) + '@b.ru',
      'a@' + 'b'.repeat(64) + '.ru',
    ]) {
      assert.equal(normalizeEmail(s), null, s);
    }
  });

  it('property: idempotent', () => {
    const cyr = fc
      .array(fc.constantFrom('а', 'б', 'в', 'П', 'Р', 'ё', 'Ж', 'я', 'x', '1', '-'), { minLength: 1, maxLength: 10 })
      .map((a) => a.join(''));
    const idnEmail = fc
      .tuple(cyr, cyr, fc.constantFrom('рф', 'РФ', 'ru', 'com', 'xn--p1ai', 'москва'))
      .map(([l, d, t]) => `${l}@${d}.${t}`);
    fc.assert(
      fc.property(fc.oneof(fc.emailAddress(), idnEmail, fc.string()), fc.boolean(), (e, upper) => {
        const x = upper ? ` ${e.toUpperCase()} ` : e;
        const y = normalizeEmail(x);
        if (y !== null) {
          assert.equal(normalizeEmail(y), y);
          assert.equal(y, y.trim());
          assert.equal(y, y.toLowerCase());
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('property: generated valid addresses are accepted', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (e) => {
        // fast-check can generate numeric TLDs or over-long addresses; only check plausible ones
        const domain = e.slice(e.lastIndexOf('@') + 1);
        const tld = domain.slice(domain.lastIndexOf('.') + 1);
        fc.pre(/[a-z]/i.test(tld) && !/^xn--/i.test(tld) && !domain.split('.').some((l) => /^xn--/i.test(l)));
        fc.pre(e.slice(0, e.lastIndexOf('@')).length <= 64);
        assert.equal(normalizeEmail(e), e.toLowerCase());
      }),
      { numRuns: 1000 },
    );
  });
});

describe('normalizeName', () => {
  it('examples', () => {
    assert.equal(normalizeName('  Иван  '), 'Иван');
    assert.equal(normalizeName('Анна\u00a0 Мария\tИванова'), 'Анна Мария Иванова');
    assert.equal(normalizeName('Жан-Поль'), 'Жан-Поль');
    assert.equal(normalizeName(''), null);
    assert.equal(normalizeName(' \t\u00a0\n '), null);
  });

  it('property: idempotent, no edge or double whitespace', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('а', 'Б', ' ', '\t', '\u00a0', '\n', 'x', '-') }), (s) => {
        const y = normalizeName(s);
        if (y === null) {
          assert.equal(s.trim(), '');
        } else {
          assert.equal(normalizeName(y), y);
          assert.doesNotMatch(y, /^\s|\s$|\s\s|[\t\u00a0\n]/);
        }
      }),
    );
  });
});

function fmtDmy(y: number, m: number, d: number, sep: string, padded: boolean): string {
  const p = (n: number) => (padded ? String(n).padStart(2, '0') : String(n));
  return `${p(d)}${sep}${p(m)}${sep}${String(y).padStart(4, '0')}`;
}

describe('parseDate', () => {
  it('examples', () => {
    assert.equal(parseDate('05.03.1990'), '1990-03-05');
    assert.equal(parseDate('5.3.1990'), '1990-03-05');
    assert.equal(parseDate('05/03/1990'), '1990-03-05');
    assert.equal(parseDate('05-03-1990'), '1990-03-05');
    assert.equal(parseDate('1990-03-05'), '1990-03-05');
    assert.equal(parseDate(' 1990-03-05 '), '1990-03-05');
    assert.equal(parseDate('1990-03-05T10:20:30Z'), '1990-03-05');
    assert.equal(parseDate('1990-03-05T23:59:59.123+03:00'), '1990-03-05');
    assert.equal(parseDate('1990-03-05 10:20'), '1990-03-05');
    assert.equal(parseDate('05.03.1990 00:00:00'), '1990-03-05');
    assert.equal(parseDate('29.02.2020'), '2020-02-29');
    assert.equal(parseDate('29.02.2000'), '2000-02-29');
  });

  it('invalid', () => {
    for (const s of [
      '',
      '31.02.2020',
      '29.02.2019',
      '29.02.1900',
      '31.04.2020',
      '00.01.2020',
      '01.13.2020',
      '01.00.2020',
      '2020-02-30',
      '2020-13-01',
      '2020-1-1',
      '05.03.90',
      '05.03-1990',
      '1990/03/05',
      '0000-01-01',
      '1990-03-05T25:00',
      '1990-03-05Tgarbage',
      '1990-03-05x',
      'вчера',
      '05.03.1990.',
    ]) {
      assert.equal(parseDate(s), null, s);
    }
  });

  it('property: round trip of random valid dates in ISO and day-first formats', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.constantFrom('.', '/', '-'),
        fc.boolean(),
        (date, sep, padded) => {
          const y = date.getUTCFullYear();
          const m = date.getUTCMonth() + 1;
          const d = date.getUTCDate();
          const iso = date.toISOString().slice(0, 10);
          assert.equal(parseDate(iso), iso);
          assert.equal(parseDate(date.toISOString()), iso);
          assert.equal(parseDate(fmtDmy(y, m, d, sep, padded)), iso);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('property: accepted dates are real calendar dates', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 1, max: 9999 }),
        (d, m, y) => {
          const r = parseDate(fmtDmy(y, m, d, '.', true));
          const js = new Date(Date.UTC(2000, m - 1, d));
          js.setUTCFullYear(y);
          const real = m >= 1 && m <= 12 && d >= 1 && js.getUTCDate() === d && js.getUTCMonth() === m - 1;
          assert.equal(r !== null, real);
          if (r !== null) assert.equal(r, js.toISOString().slice(0, 10));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('parseBirthDate', () => {
  const today = new Date(2024, 5, 15); // 15 June 2024, local time
  it('examples', () => {
    assert.equal(parseBirthDate('05.03.1990', today), '1990-03-05');
    assert.equal(parseBirthDate('01.01.1900', today), '1900-01-01');
    assert.equal(parseBirthDate('31.12.1899', today), null);
    assert.equal(parseBirthDate('15.06.2024', today), '2024-06-15');
    assert.equal(parseBirthDate('16.06.2024', today), null);
    assert.equal(parseBirthDate('2030-01-01', today), null);
    assert.equal(parseBirthDate('31.02.1990', today), null);
    assert.equal(parseBirthDate('1990-03-05'), '1990-03-05');
    assert.equal(parseBirthDate('01.01.3000'), null);
  });
});

describe('parseGender', () => {
  it('examples', () => {
    for (const s of ['м', 'М', 'муж', 'Муж.', 'мужской', 'МУЖЧИНА', 'male', 'Male', 'm', 'M', 'man', ' м ']) {
      assert.equal(parseGender(s), 'm', s);
    }
    for (const s of ['ж', 'Ж', 'жен', 'жен.', 'Женский', 'женщина', 'female', 'FEMALE', 'f', 'F', 'woman', '\tж\n']) {
      assert.equal(parseGender(s), 'f', s);
    }
    for (const s of ['', 'x', 'unknown', 'мж', 'другой', 'females', '0', '1']) {
      assert.equal(parseGender(s), null, s);
    }
  });
});

describe('splitFullName', () => {
  it('two words: «Фамилия Имя» as written, «Имя Фамилия» turned by the known first name', () => {
    assert.deepEqual(splitFullName('Татьяна Полевая'), { lastName: 'Полевая', firstName: 'Татьяна', middleName: null });
    assert.deepEqual(splitFullName('ПОЛЕВАЯ ТАТЬЯНА'), { lastName: 'ПОЛЕВАЯ', firstName: 'ТАТЬЯНА', middleName: null });
    assert.deepEqual(splitFullName('Алёна Назарова'), { lastName: 'Назарова', firstName: 'Алёна', middleName: null });
    assert.deepEqual(splitFullName('Федорова Алена'), { lastName: 'Федорова', firstName: 'Алена', middleName: null });
    // Both words names (or neither): as written, «Фамилия Имя».
    assert.deepEqual(splitFullName('Роман Марк'), { lastName: 'Роман', firstName: 'Марк', middleName: null });
    assert.deepEqual(splitFullName('Цой Виктор'), { lastName: 'Цой', firstName: 'Виктор', middleName: null });
  });

  it('examples', () => {
    assert.deepEqual(splitFullName('Иванов Иван Иванович'), {
      lastName: 'Иванов',
      firstName: 'Иван',
      middleName: 'Иванович',
    });
    assert.deepEqual(splitFullName('  Иван   Иванович\u00a0Иванов '), {
      lastName: 'Иванов',
      firstName: 'Иван',
      middleName: 'Иванович',
    });
    assert.deepEqual(splitFullName('Анна Сергеевна Петрова'), {
      lastName: 'Петрова',
      firstName: 'Анна',
      middleName: 'Сергеевна',
    });
    assert.deepEqual(splitFullName('Петрова Анна Сергеевна'), {
      lastName: 'Петрова',
      firstName: 'Анна',
      middleName: 'Сергеевна',
    });
    assert.deepEqual(splitFullName('Ольга Ильинична Кузнецова'), {
      lastName: 'Кузнецова',
      firstName: 'Ольга',
      middleName: 'Ильинична',
    });
    // surname ending in -ич in both orders
    assert.deepEqual(splitFullName('Карпович Иван Петрович'), {
      lastName: 'Карпович',
      firstName: 'Иван',
      middleName: 'Петрович',
    });
    assert.deepEqual(splitFullName('Иван Петрович Карпович'), {
      lastName: 'Карпович',
      firstName: 'Иван',
      middleName: 'Петрович',
    });
    assert.deepEqual(splitFullName('Ленин Владимир Ильич'), {
      lastName: 'Ленин',
      firstName: 'Владимир',
      middleName: 'Ильич',
    });
    assert.deepEqual(splitFullName('Иванов Иван'), { lastName: 'Иванов', firstName: 'Иван', middleName: null });
    assert.deepEqual(splitFullName('Иван Иванович'), { lastName: null, firstName: 'Иван', middleName: 'Иванович' });
    assert.deepEqual(splitFullName('Иван'), { lastName: null, firstName: 'Иван', middleName: null });
    assert.deepEqual(splitFullName('   '), { lastName: null, firstName: null, middleName: null });
    assert.deepEqual(splitFullName('Мамедов Рашид Гасан оглы'), {
      lastName: 'Мамедов',
      firstName: 'Рашид',
      middleName: 'Гасан оглы',
    });
    assert.deepEqual(splitFullName('Салтыков-Щедрин Михаил Евграфович'), {
      lastName: 'Салтыков-Щедрин',
      firstName: 'Михаил',
      middleName: 'Евграфович',
    });
  });

  const lastNames = ['Иванов', 'Петрова', 'Смирнов', 'Кузнецова', 'Салтыков-Щедрин', 'Бабич', 'Ким', 'Цой', 'Карпович'];
  const firstNames = ['Иван', 'Анна', 'Пётр', 'Мария', 'Ольга', 'Никита', 'Илья', 'Любовь'];
  const middleNames = ['Иванович', 'Сергеевна', 'Петрович', 'Андреевна', 'Ильич', 'Никитична', 'Кузьминична', 'Алексеевич'];
  const ws = fc.array(fc.constantFrom(' ', '\t', '\u00a0'), { minLength: 1, maxLength: 3 }).map((a) => a.join(''));
  const edge = fc.array(fc.constantFrom(' ', '\t', '\u00a0'), { maxLength: 2 }).map((a) => a.join(''));

  it('property: generated names in both orders', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...lastNames),
        fc.constantFrom(...firstNames),
        fc.constantFrom(...middleNames),
        fc.boolean(),
        ws,
        ws,
        edge,
        edge,
        (last, first, middle, reversed, s1, s2, e1, e2) => {
          const input = reversed ? `${e1}${first}${s1}${middle}${s2}${last}${e2}` : `${e1}${last}${s1}${first}${s2}${middle}${e2}`;
          assert.deepEqual(splitFullName(input), { lastName: last, firstName: first, middleName: middle });
        },
      ),
    );
  });

  it('property: no word is lost or invented', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('а', 'и', 'ч', 'о', 'в', 'н', 'е', ' ', '\t') }), (s) => {
        const r = splitFullName(s);
        const words = [r.lastName, r.firstName, r.middleName]
          .filter((w) => w !== null)
          .flatMap((w) => w.split(' '))
          .sort();
        const expected = (normalizeName(s) ?? '').split(' ').filter((w) => w !== '').sort();
        assert.deepEqual(words, expected);
        for (const w of [r.lastName, r.firstName, r.middleName]) if (w !== null) assert.notEqual(w, '');
      }),
    );
  });
});

describe('card numbers', () => {
  it('normalizeCardNumber examples', () => {
    assert.equal(normalizeCardNumber(' 1234 5678-90ab '), '1234567890AB');
    assert.equal(normalizeCardNumber('abc'), 'ABC');
    assert.equal(normalizeCardNumber('0001'), '0001');
    assert.equal(normalizeCardNumber('A'.repeat(200)), 'A'.repeat(200));
    assert.equal(normalizeCardNumber('A'.repeat(201)), null);
    assert.equal(normalizeCardNumber(''), null);
    assert.equal(normalizeCardNumber(' - '), null);
    assert.equal(normalizeCardNumber('АБВ123'), null); // Cyrillic
    assert.equal(normalizeCardNumber('straße'), null); // 'ß'.toUpperCase() === 'SS' must not sneak in
    assert.equal(normalizeCardNumber('12_34'), null);
    assert.equal(normalizeCardNumber('12.34'), null);
  });

  it('normalizeCardNumber property: idempotent and well-formed', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const y = normalizeCardNumber(s);
        if (y !== null) {
          assert.match(y, /^[0-9A-Z]{1,200}$/);
          assert.equal(normalizeCardNumber(y), y);
        }
      }),
    );
  });

  it('luhnCheckDigit', () => {
    assert.equal(luhnCheckDigit('7992739871'), 3);
    assert.equal(luhnCheckDigit('411111111111111'), 1);
    assert.equal(luhnCheckDigit('0'), 0);
    assert.equal(luhnCheckDigit(''), 0);
    assert.throws(() => luhnCheckDigit('12a'), RangeError);
  });

  it('luhn property: appended digit makes a valid Luhn number; single-digit errors detected', () => {
    const isLuhnValid = (s: string) => {
      let sum = 0;
      for (let i = 0; i < s.length; i++) {
        let v = Number(s[s.length - 1 - i]);
        if (i % 2 === 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
        sum += v;
      }
      return sum % 10 === 0;
    };
    fc.assert(
      fc.property(
        fc.array(digit, { minLength: 1, maxLength: 30 }).map((a) => a.join('')),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (body, pos, delta) => {
          const full = body + String(luhnCheckDigit(body));
          assert.ok(isLuhnValid(full));
          const i = pos % full.length;
          const changed = full.slice(0, i) + String((Number(full[i]) + delta) % 10) + full.slice(i + 1);
          assert.ok(!isLuhnValid(changed));
        },
      ),
    );
  });

  it('generateCardNumber', () => {
    assert.equal(generateCardNumber('', 2, 0), '00');
    assert.equal(generateCardNumber('799273987', 11, 1), '79927398713');
    assert.equal(generateCardNumber('2', 10, 42), '2000000428');
    assert.equal(generateCardNumber('2', 10, 42n), '2000000428');
    assert.equal(generateCardNumber('', 4, 999), '9993');
    assert.equal(generateCardNumber('12', 20, 12345678901234567n).length, 20);
    assert.throws(() => generateCardNumber('', 4, 1000), RangeError);
    assert.throws(() => generateCardNumber('123', 4, 0), RangeError);
    assert.equal(generateCardNumber('12', 4, 5), '1255'); // room for a 1-digit seq
    assert.throws(() => generateCardNumber('12', 4, 10), RangeError);
    assert.throws(() => generateCardNumber('12a', 10, 1), RangeError);
    assert.throws(() => generateCardNumber('', 10, -1), RangeError);
    assert.throws(() => generateCardNumber('', 10, 1.5), RangeError);
    assert.throws(() => generateCardNumber('', 10, -1n), RangeError);
    assert.throws(() => generateCardNumber('', 0, 1), RangeError);
    assert.throws(() => generateCardNumber('', 201, 1), RangeError);
  });

  it('generateCardNumber property: exact length, prefix kept, valid Luhn, normalizes to itself, injective', () => {
    fc.assert(
      fc.property(
        fc.array(digit, { maxLength: 8 }).map((a) => a.join('')),
        fc.integer({ min: 2, max: 30 }),
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        (prefix, length, a, b) => {
          const width = length - 1 - prefix.length;
          const fits = (s: bigint) => width >= 1 && s.toString().length <= width;
          if (!fits(a)) {
            assert.throws(() => generateCardNumber(prefix, length, a), RangeError);
            return;
          }
          const ca = generateCardNumber(prefix, length, a);
          assert.equal(ca.length, length);
          assert.ok(ca.startsWith(prefix));
          assert.equal(luhnCheckDigit(ca.slice(0, -1)), Number(ca.slice(-1)));
          assert.equal(normalizeCardNumber(ca), ca);
          if (fits(b) && a !== b) assert.notEqual(generateCardNumber(prefix, length, b), ca);
        },
      ),
    );
  });
});

describe('normalizeIp', () => {
  it('examples', () => {
    assert.equal(normalizeIp('192.168.0.1'), '192.168.0.1');
    assert.equal(normalizeIp(' 10.0.0.255 '), '10.0.0.255');
    assert.equal(normalizeIp('2001:DB8:0:0::1'), '2001:db8::1');
    assert.equal(normalizeIp('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(normalizeIp('::1'), '::1');
    assert.equal(normalizeIp('::'), '::');
    assert.equal(normalizeIp('::FFFF:1.2.3.4'), '::ffff:1.2.3.4');
    for (const s of ['', '256.1.1.1', '01.2.3.4', '1.2.3', 'localhost', '1:2:3', 'fe80::1%eth0', '[::1]', 'gggg::1']) {
      assert.equal(normalizeIp(s), null, s);
    }
  });

  it('property: canonical, idempotent, case-insensitive', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const y = normalizeIp(ip);
        assert.notEqual(y, null, ip);
        assert.equal(normalizeIp(y!), y);
        assert.equal(normalizeIp(ip.toUpperCase()), y);
        assert.equal(y, y!.toLowerCase());
      }),
      { numRuns: 2000 },
    );
  });
});
