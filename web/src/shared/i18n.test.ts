import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import i18n, { AREAS, dictionaries } from './i18n.ts';

const NBSP = '\u00a0';

describe('UI language', () => {
  it('every Russian count has the forms for 1, 2–4, 5+ and fractions, every English one for 1 and the rest', () => {
    for (const [lang, forms] of [['ru', ['one', 'few', 'many', 'other']], ['en', ['one', 'other']]] as const) {
      const keys = Object.keys(dictionaries[lang]);
      const counted = new Set(keys.filter((k) => /_(one|few|many|other)$/.test(k)).map((k) => k.replace(/_(one|few|many|other)$/, '')));
      for (const k of counted) for (const f of forms) assert.ok(keys.includes(`${k}_${f}`), `${lang}: ${k}_${f} is missing`);
    }
  });

  it('a string belongs to one area: no key is defined twice (one would silently win)', () => {
    const seen = new Map<string, string>();
    for (const [area, d] of Object.entries(AREAS))
      for (const k of Object.keys(d.ru)) {
        assert.ok(!seen.has(k), `${k} is in ${seen.get(k)} and ${area}`);
        seen.set(k, area);
      }
  });

  it('English has every key Russian has', () => {
    assert.deepEqual(Object.keys(dictionaries.en).sort(), Object.keys(dictionaries.ru).sort());
  });

  it('counts read right in Russian, with grouped digits', async () => {
    await i18n.changeLanguage('ru');
    assert.equal(i18n.t('found', { count: 1 }), 'Найден 1 клиент');
    assert.equal(i18n.t('found', { count: 2 }), 'Найдено 2 клиента');
    assert.equal(i18n.t('found', { count: 5 }), 'Найдено 5 клиентов');
    assert.equal(i18n.t('found', { count: 21 }), 'Найден 21 клиент');
    assert.equal(i18n.t('found', { count: 114 }), 'Найдено 114 клиентов');
    assert.equal(i18n.t('found', { count: 1_000_000 }), `Найдено 1${NBSP}000${NBSP}000 клиентов`);
    assert.equal(i18n.t('selected', { count: 3 }), 'Выбрано 3 клиента');
  });

  it('and in English', async () => {
    await i18n.changeLanguage('en');
    assert.equal(i18n.t('found', { count: 1 }), '1 client found');
    assert.equal(i18n.t('found', { count: 1_000_000 }), '1,000,000 clients found');
    await i18n.changeLanguage('ru');
  });
});
