import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDate, formatDateTime, formatMoney, formatNumber, formatPhone, formatSize } from './format.ts';

const NBSP = '\u00a0';

describe('formats the UI writes', () => {
  it('dates as 05.03.2026 (en: 05/03/2026), from a date or a timestamp', () => {
    assert.equal(formatDate('2026-03-05'), '05.03.2026');
    assert.equal(formatDate('2026-03-05T23:10:00Z'), '05.03.2026');
    assert.equal(formatDate('2026-03-05', 'en'), '05/03/2026');
    assert.equal(formatDate(null), '');
    assert.match(formatDateTime('2026-11-22T14:54:00'), /^22\.11\.2026 14:54$/);
  });
  it('money as 1 234,50 ₽ with no-break spaces (en: RUB 1,234.50)', () => {
    assert.equal(formatMoney(1234.5), `1${NBSP}234,50${NBSP}₽`);
    assert.equal(formatMoney(0), `0,00${NBSP}₽`);
    assert.equal(formatMoney(1234.5, 'en'), `RUB${NBSP}1,234.50`);
    assert.equal(formatMoney(undefined), '');
  });
  it('Russian phones as +7 916 123-45-67, others as stored', () => {
    assert.equal(formatPhone('+79161234567'), '+7 916 123-45-67');
    assert.equal(formatPhone('+375291234567'), '+375291234567');
    assert.equal(formatPhone(null), '');
  });
  it('file sizes in Russian units, one decimal past bytes', () => {
    assert.equal(formatSize(812), `812${NBSP}Б`);
    assert.equal(formatSize(1_258_291), `1,2${NBSP}МБ`);
    assert.equal(formatSize(1_258_291, 'en'), `1.2${NBSP}MB`);
  });
  it('counts grouped: 1 000 000 (en: 1,000,000)', () => {
    assert.equal(formatNumber(1_000_000), `1${NBSP}000${NBSP}000`);
    assert.equal(formatNumber(1_000_000, 'en'), '1,000,000');
    assert.equal(formatNumber(2.5), '2,5');
  });
});
