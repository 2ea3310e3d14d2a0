import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedKeys, draftOf, fromTo, patchOf, tagDiff, type FieldDef, type Profile } from './cardDraft.ts';

const profile: Profile = {
  id: 7,
  baseId: 1,
  kind: 'member',
  phone: '+79161234567',
  email: 'ivan@example.ru',
  cardNumber: null,
  lastName: 'Иванов',
  firstName: 'Иван',
  middleName: null,
  birthDate: '1990-03-05',
  gender: 'm',
  city: 'Москва',
  carNumber: null,
  extraKey1: null,
  extraKey2: null,
  extraKey3: null,
  extraKey4: null,
  extraKey5: null,
  extraKey6: null,
  registrationSource: 'api',
  pointOfSale: null,
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  utmContent: null,
  utmTerm: null,
  referralId: null,
  fields: { visits: 3, level: 'Серебро', vip: true, since: '2024-01-31' },
  tags: [],
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
};
const def = (key: string, type: string, position: number): FieldDef => ({
  key,
  type,
  standard: false,
  label: { ru: key, en: key },
  required: false,
  default: null,
  listMode: type === 'list' ? 'static' : null,
  options: type === 'list' ? ['Серебро', 'Золото'] : [],
  showInSubscriptionManager: false,
  position,
  setOnce: false,
  readOnly: false,
});
const defs = [def('visits', 'int', 1), def('level', 'list', 2), def('vip', 'boolean', 3), def('since', 'date', 4), def('note', 'string', 5), def('ip', 'ip', 6)];

describe('the client card form', () => {
  it('shows the profile as its inputs do: dates ДД.ММ.ГГГГ, the phone grouped, empty as ""', () => {
    const d = draftOf(profile, defs);
    assert.equal(d.birthDate, '05.03.1990');
    assert.equal(d.phone, '+7 916 123-45-67');
    assert.equal(d.gender, 'm');
    assert.equal(d.middleName, '');
    assert.equal(d['fields.visits'], 3);
    assert.equal(d['fields.level'], 'Серебро');
    assert.equal(d['fields.vip'], true);
    assert.equal(d['fields.since'], '31.01.2024');
    assert.equal(d['fields.note'], '');
  });

  it('sends only what changed, custom fields under `fields`, emptied ones as null', () => {
    const d = draftOf(profile, defs);
    const edits = { city: 'Тверь', lastName: 'Иванов', phone: '+7 916 123-45-67', middleName: '  ', email: '', 'fields.visits': 5, 'fields.level': 'Золото', 'fields.vip': true, 'fields.note': ' x ', utmSource: 'vk' };
    assert.deepEqual(changedKeys(d, edits).sort(), ['city', 'email', 'fields.level', 'fields.note', 'fields.visits', 'utmSource']);
    assert.deepEqual(patchOf(d, edits), { city: 'Тверь', email: null, utmSource: 'vk', fields: { visits: 5, level: 'Золото', note: 'x' } });
    assert.deepEqual(patchOf(d, { 'fields.visits': '' }), { fields: { visits: null } });
    assert.deepEqual(patchOf(d, {}), {});
    // A field the base no longer has is not sent.
    assert.deepEqual(patchOf(d, { 'fields.gone': 'x' }), {});
  });

  it('reads the timeline: from/to of an update, tags added and removed', () => {
    assert.deepEqual(fromTo({ from: 'Москва', to: 'Тверь' }), { from: 'Москва', to: 'Тверь' });
    assert.equal(fromTo('Москва'), null);
    assert.equal(fromTo(null), null);
    assert.deepEqual(tagDiff([1, 2], [2, 3]), { added: [3], removed: [1] });
  });
});
