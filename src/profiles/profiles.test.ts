import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { testContext } from '../../test/context.ts';
import { generateCardNumber, luhnCheckDigit, normalizeEmail, normalizePhone } from './normalize.ts';

const ctx = await testContext();


/** Errors are checked in ctx.api itself: problem+json, no stack, no SQL (test/context.ts). */
const api = ctx.api;

const P = (baseId: number) => `/api/v1/bases/${baseId}/profiles`;
const create = (baseId: number, body: unknown, headers?: Record<string, string>) => api('POST', P(baseId), body, headers);
const patch = (baseId: number, id: number, body: unknown, headers?: Record<string, string>) => api('PATCH', `${P(baseId)}/${id}`, body, headers);
const get = (baseId: number, id: number) => api('GET', `${P(baseId)}/${id}`);
const lookup = (baseId: number, q: Record<string, string>) => api('GET', `${P(baseId)}/lookup?${new URLSearchParams(q)}`);
const fieldErrors = (body: { errors?: { field: string; message: string }[] }) => body.errors ?? [];

async function countProfiles(baseId: number): Promise<number> {
  return (await ctx.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM profiles WHERE base_id = $1', [baseId])).rows[0]!.n;
}
async function countEvents(baseId: number): Promise<number> {
  return (await ctx.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM profile_events WHERE base_id = $1', [baseId])).rows[0]!.n;
}
async function addField(baseId: number, body: Record<string, unknown>) {
  const r = await api('POST', `/api/v1/bases/${baseId}/fields`, { label: { ru: String(body.key), en: String(body.key) }, ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

let phoneSeq = 0;
/** A fresh valid Russian mobile, E.164. */
const nextPhone = () => `+7916${9_000_000 + ++phoneSeq}`;

describe('profiles: create, read, update, delete, lookup', () => {
  it('creates a profile and returns the standard fields in camelCase, custom values under fields', async () => {
    const b = await ctx.newBase();
    await addField(b.id, { key: 'score', type: 'int' });
    const r = await create(b.id, {
      phone: '8 (916) 100-00-01',
      email: ' Anna@Example.COM ',
      cardNumber: 'ab-12 34',
      lastName: 'Иванова',
      firstName: 'Анна',
      middleName: 'Сергеевна',
      birthDate: '17.05.1990',
      gender: 'ж',
      city: 'Казань',
      utmSource: 'vk',
      fields: { score: '42' },
    });
    assert.equal(r.status, 201);
    const p = r.body;
    assert.equal(typeof p.id, 'number');
    assert.equal(p.baseId, b.id);
    assert.equal(p.kind, 'member');
    assert.equal(p.phone, '+79161000001');
    assert.equal(p.email, 'anna@example.com');
    assert.equal(p.cardNumber, 'AB1234');
    assert.equal(p.lastName, 'Иванова');
    assert.equal(p.firstName, 'Анна');
    assert.equal(p.middleName, 'Сергеевна');
    assert.equal(p.birthDate, '1990-05-17');
    assert.equal(p.gender, 'f');
    assert.equal(p.city, 'Казань');
    assert.equal(p.utmSource, 'vk');
    assert.equal(p.registrationSource, 'api');
    assert.deepEqual(p.fields, { score: 42 });
    assert.equal(p.mergedFrom, undefined);
    assert.deepEqual(Object.keys(p).filter((k) => k.includes('_')), []);

    const read = await get(b.id, p.id);
    assert.equal(read.status, 200);
    const { mergedFrom: _m, ...expected } = p;
    assert.deepEqual(read.body, expected);
  });

  it('PATCH changes only the given fields and null clears one; DELETE removes the profile', async () => {
    const b = await ctx.newBase();
    await addField(b.id, { key: 'note', type: 'string' });
    const p = await ctx.newProfile(b.id, { phone: '+7 916 100-00-02', firstName: 'Олег', city: 'Тула', birthDate: '1985-01-02', fields: { note: 'vip' } });
    const u = await patch(b.id, p.id, { lastName: 'Сидоров', city: null, fields: { note: null } });
    assert.equal(u.status, 200);
    assert.equal(u.body.lastName, 'Сидоров');
    assert.equal(u.body.firstName, 'Олег');
    assert.equal(u.body.city, null);
    assert.equal(u.body.birthDate, '1985-01-02');
    assert.equal(u.body.phone, '+79161000002');
    assert.deepEqual(u.body.fields, {});
    const read = await get(b.id, p.id);
    assert.equal(read.body.city, null);
    assert.equal(read.body.lastName, 'Сидоров');
    assert.equal((await api('DELETE', `${P(b.id)}/${p.id}`)).status, 204);
    const gone = await get(b.id, p.id);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'not_found');
    assert.equal(gone.body.detail, `Клиент ${p.id} не найден`);
    assert.equal(await countProfiles(b.id), 0);
  });

  it('answers 404 problem+json for an unknown profile and an unknown base, on every route', async () => {
    const b = await ctx.newBase();
    const p = await ctx.newProfile(b.id, { phone: nextPhone() });
    const missing = 987654;
    const profileCases: [string, string, unknown?][] = [
      ['GET', `${P(b.id)}/${missing}`],
      ['PATCH', `${P(b.id)}/${missing}`, { city: 'Омск' }],
      ['DELETE', `${P(b.id)}/${missing}`],
      ['GET', `${P(b.id)}/${missing}/events`],
    ];
    for (const [method, url, body] of profileCases) {
      const r = await api(method, url, body);
      assert.equal(r.status, 404, `${method} ${url}`);
      assert.equal(r.body.code, 'not_found');
      assert.equal(r.body.detail, `Клиент ${missing} не найден`, `${method} ${url}`);
    }
    const baseCases: [string, string, unknown?][] = [
      ['GET', `${P(missing)}/${p.id}`],
      ['PATCH', `${P(missing)}/${p.id}`, { city: 'Омск' }],
      ['DELETE', `${P(missing)}/${p.id}`],
      ['GET', `${P(missing)}/${p.id}/events`],
      ['POST', P(missing), { phone: nextPhone() }],
      ['GET', `${P(missing)}/lookup?phone=89161234567`],
      ['GET', P(missing)],
    ];
    for (const [method, url, body] of baseCases) {
      const r = await api(method, url, body);
      assert.equal(r.status, 404, `${method} ${url}`);
      assert.equal(r.body.detail, `База профилей ${missing} не найдена`, `${method} ${url}`);
    }
    // The profile of another base is not reachable through this one.
    const other = await ctx.newBase();
    assert.equal((await get(other.id, p.id)).status, 404);
    assert.equal((await patch(other.id, p.id, { city: 'Омск' })).status, 404);
    assert.equal((await api('DELETE', `${P(other.id)}/${p.id}`)).status, 404);
    assert.equal((await get(b.id, p.id)).body.city, null);
  });

  it('looks up by phone in any format, by card number, and by email (several members may share one)', async () => {
    const b = await ctx.newBase();
    const a = await ctx.newProfile(b.id, { phone: '+79162000001', email: 'family@mail.ru', cardNumber: 'K-777' });
    const c = await ctx.newProfile(b.id, { phone: '+79162000002', email: 'FAMILY@mail.ru' });
    for (const raw of ['8 (916) 200-00-01', '+7 916 2000001', '9162000001', '89162000001']) {
      const r = await lookup(b.id, { phone: raw });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.items.map((x: { id: number }) => x.id), [a.id], raw);
    }
    assert.deepEqual((await lookup(b.id, { cardNumber: 'k777' })).body.items.map((x: { id: number }) => x.id), [a.id]);
    assert.deepEqual((await lookup(b.id, { email: ' Family@Mail.RU' })).body.items.map((x: { id: number }) => x.id), [a.id, c.id]);
    assert.deepEqual((await lookup(b.id, { phone: '+79169999999' })).body.items, []);
    // A '+' typed into the URL unencoded arrives as a space; it still finds the profile.
    const foreign = await ctx.newProfile(b.id, { phone: '+44 7911 123456', email: 'user+tag@mail.ru' });
    for (const q of ['phone=+447911123456', 'phone=%2B44%207911%20123456', 'email=user+tag@mail.ru', 'email=User%2BTag@mail.ru']) {
      const r = await api('GET', `${P(b.id)}/lookup?${q}`);
      assert.equal(r.status, 200, q);
      assert.deepEqual(r.body.items.map((x: { id: number }) => x.id), [foreign.id], q);
    }
    const kz = await ctx.newBase({ phoneRegion: 'KZ' });
    const ruInKz = await ctx.newProfile(kz.id, { phone: '+79162000001' });
    assert.deepEqual((await api('GET', `${P(kz.id)}/lookup?phone=+79162000001`)).body.items.map((x: { id: number }) => x.id), [ruInKz.id]);
    // Another base does not see them.
    const other = await ctx.newBase();
    assert.deepEqual((await lookup(other.id, { phone: '89162000001' })).body.items, []);
    // Exactly one identifier; a malformed one names the query parameter.
    const none = await lookup(b.id, {});
    assert.equal(none.status, 400);
    assert.equal(fieldErrors(none.body)[0]!.field, 'query');
    assert.equal((await lookup(b.id, { phone: '89162000001', email: 'family@mail.ru' })).status, 400);
    const bad = await lookup(b.id, { phone: 'позвонить' });
    assert.equal(bad.status, 400);
    assert.deepEqual(fieldErrors(bad.body), [{ field: 'query.phone', message: 'Не похоже на номер телефона: «позвонить»' }]);
  });
});

describe('profiles: normalization on every write', () => {
  it('stores phones as E.164 by the base region, whatever the format', async () => {
    for (const raw of ['8 (916) 123-45-67', '+7 916 1234567', '9161234567', 89161234567]) {
      const b = await ctx.newBase();
      const p = await ctx.newProfile(b.id, { phone: raw });
      assert.equal(p.phone, '+79161234567', String(raw));
    }
    const kz = await ctx.newBase({ phoneRegion: 'KZ' });
    assert.equal((await ctx.newProfile(kz.id, { phone: '8 (701) 123-45-67' })).phone, '+77011234567');
    assert.equal((await ctx.newProfile(kz.id, { phone: '701 123 4568' })).phone, '+77011234568');
    const ru = await ctx.newBase();
    assert.equal((await ctx.newProfile(ru.id, { phone: '+44 7911 123456' })).phone, '+447911123456');
    // PATCH normalizes too.
    const p = await ctx.newProfile(ru.id, { phone: '+79161112233' });
    assert.equal((await patch(ru.id, p.id, { phone: '8 916 111-22-44' })).body.phone, '+79161112244');
    assert.equal((await get(ru.id, p.id)).body.phone, '+79161112244');
  });

  it('trims and lower-cases emails, IDN domains included; collapses names; parses dates and genders', async () => {
    const b = await ctx.newBase();
    const p = await ctx.newProfile(b.id, {
      phone: nextPhone(),
      email: '  Иван@Почта.РФ ',
      firstName: '  Иван   Петрович ',
      lastName: '\tПетров\u00a0 ',
      city: ' Нижний   Новгород',
      birthDate: '1990-05-17',
    });
    assert.equal(p.email, 'иван@почта.рф');
    assert.equal(p.firstName, 'Иван Петрович');
    assert.equal(p.lastName, 'Петров');
    assert.equal(p.city, 'Нижний Новгород');
    assert.equal(p.birthDate, '1990-05-17');
    assert.equal((await patch(b.id, p.id, { birthDate: '03.11.1975' })).body.birthDate, '1975-11-03');
    assert.equal((await patch(b.id, p.id, { email: 'Ivan@Example.ORG ' })).body.email, 'ivan@example.org');
    for (const [raw, want] of [['м', 'm'], ['ж', 'f'], ['male', 'm'], ['female', 'f'], ['M', 'm'], ['F', 'f']] as const) {
      const r = await patch(b.id, p.id, { gender: raw });
      assert.equal(r.status, 200, raw);
      assert.equal(r.body.gender, want, raw);
    }
    const stored = (await ctx.pool.query('SELECT email, first_name, birth_date::text AS bd, gender FROM profiles WHERE base_id = $1 AND id = $2', [b.id, p.id])).rows[0];
    assert.deepEqual(stored, { email: 'ivan@example.org', first_name: 'Иван Петрович', bd: '1975-11-03', gender: 'f' });
  });

  it('rejects invalid values naming every bad field at once, in Russian, and writes nothing', async () => {
    const b = await ctx.newBase();
    const r = await create(b.id, { phone: 'abc', email: 'not-an-email', birthDate: '31.02.2000', gender: 'x', firstName: 'Анна' });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'validation_failed');
    assert.equal(r.body.detail, 'Проверьте поля: phone, email, birthDate, gender');
    assert.deepEqual(fieldErrors(r.body), [
      { field: 'phone', message: 'Не похоже на номер телефона: «abc»' },
      { field: 'email', message: 'Не похоже на email: «not-an-email»' },
      { field: 'birthDate', message: 'Дата рождения — реальная дата не раньше 1900 года и не в будущем: «31.02.2000»' },
      { field: 'gender', message: 'Пол: «м» или «ж» (male/female): «x»' },
    ]);
    assert.equal(await countProfiles(b.id), 0);
    assert.equal(await countEvents(b.id), 0);
  });

  it('speaks English with Accept-Language: en', async () => {
    const b = await ctx.newBase();
    const r = await create(b.id, { phone: '12', email: 'a@b' }, { 'accept-language': 'en-US,en;q=0.9' });
    assert.equal(r.status, 400);
    assert.equal(r.headers['content-language'], 'en');
    assert.equal(r.body.title, 'Invalid input');
    assert.deepEqual(fieldErrors(r.body), [
      { field: 'phone', message: 'Not a phone number: “12”' },
      { field: 'email', message: 'Not an email address: “a@b”' },
    ]);
    assert.equal(await countProfiles(b.id), 0);
  });

  it('a rejected PATCH changes nothing', async () => {
    const b = await ctx.newBase();
    const p = await ctx.newProfile(b.id, { phone: '+79163000001', email: 'keep@mail.ru', firstName: 'Вера' });
    const events = await countEvents(b.id);
    const r = await patch(b.id, p.id, { firstName: 'Надежда', phone: '+7 (916) 300', email: 'broken@', gender: 'кот' });
    assert.equal(r.status, 400);
    assert.deepEqual(fieldErrors(r.body).map((e) => e.field), ['phone', 'email', 'gender']);
    const read = await get(b.id, p.id);
    assert.equal(read.body.firstName, 'Вера');
    assert.equal(read.body.phone, '+79163000001');
    assert.equal(read.body.email, 'keep@mail.ru');
    assert.equal(read.body.updatedAt, p.updatedAt);
    assert.equal(await countEvents(b.id), events);
  });
});

describe('profiles: identifiers are unique per base', () => {
  it('a second profile with the same phone or card number is a 409 naming the field and the holder', async () => {
    const b = await ctx.newBase();
    const a = await ctx.newProfile(b.id, { phone: '+79164000001', cardNumber: 'C100' });
    const dupPhone = await create(b.id, { phone: '8 (916) 400-00-01', firstName: 'Клон' });
    assert.equal(dupPhone.status, 409);
    assert.equal(dupPhone.body.code, 'conflict');
    assert.equal(dupPhone.body.existingId, a.id);
    assert.equal(dupPhone.body.errors[0].field, 'phone');
    assert.equal(dupPhone.body.detail, `Клиент с телефоном +79164000001 уже есть в этой базе (id ${a.id})`);
    const dupCard = await create(b.id, { cardNumber: 'c-100' });
    assert.equal(dupCard.status, 409);
    assert.equal(dupCard.body.errors[0].field, 'cardNumber');
    assert.equal(dupCard.body.existingId, a.id);
    // PATCHing another profile onto a taken phone is the same conflict.
    const c = await ctx.newProfile(b.id, { phone: '+79164000002' });
    const clash = await patch(b.id, c.id, { phone: '+79164000001' });
    assert.equal(clash.status, 409);
    assert.equal(clash.body.existingId, a.id);
    assert.equal((await get(b.id, c.id)).body.phone, '+79164000002');
    assert.equal(await countProfiles(b.id), 2);
  });

  it('the same phone in two bases is fine; an email may repeat among members', async () => {
    const b1 = await ctx.newBase();
    const b2 = await ctx.newBase();
    const x = await create(b1.id, { phone: '+79164100001', email: 'same@mail.ru' });
    const y = await create(b2.id, { phone: '+79164100001', email: 'same@mail.ru' });
    assert.equal(x.status, 201);
    assert.equal(y.status, 201);
    const z = await create(b1.id, { phone: '+79164100002', email: 'Same@Mail.ru' });
    assert.equal(z.status, 201);
    assert.equal(z.body.email, 'same@mail.ru');
    assert.equal((await lookup(b1.id, { email: 'same@mail.ru' })).body.items.length, 2);
  });

  it('two concurrent creates with one phone: exactly one profile and one 409 naming the winner', async () => {
    const b = await ctx.newBase();
    for (let i = 0; i < 10; i++) {
      const national = `91650000${String(i).padStart(2, '0')}`;
      const [r1, r2] = await Promise.all([
        create(b.id, { phone: `8 (${national.slice(0, 3)}) ${national.slice(3)}`, firstName: `Первый ${i}` }),
        create(b.id, { phone: `+7${national}`, firstName: `Второй ${i}` }),
      ]);
      const statuses = [r1.status, r2.status].sort();
      assert.deepEqual(statuses, [201, 409], `round ${i}: ${JSON.stringify([r1.body, r2.body])}`);
      const winner = r1.status === 201 ? r1 : r2;
      const loser = r1.status === 201 ? r2 : r1;
      assert.equal(loser.body.code, 'conflict');
      assert.equal(loser.body.errors[0].field, 'phone');
      assert.equal(loser.body.existingId, winner.body.id);
      const found = await lookup(b.id, { phone: `+7${national}` });
      assert.deepEqual(found.body.items.map((p: { id: number }) => p.id), [winner.body.id]);
    }
    assert.equal(await countProfiles(b.id), 10);
  });
});

describe('profiles: members and subscribers', () => {
  it('a member needs a phone or a card; email alone makes a subscriber', async () => {
    const b = await ctx.newBase();
    const noId = await create(b.id, { firstName: 'Без номера' });
    assert.equal(noId.status, 400);
    assert.deepEqual(fieldErrors(noId.body), [{ field: 'phone', message: 'Участнику программы лояльности нужен телефон или номер карты' }]);
    const memberOnlyEmail = await create(b.id, { kind: 'member', email: 'm@mail.ru' });
    assert.equal(memberOnlyEmail.status, 400);
    assert.equal(fieldErrors(memberOnlyEmail.body)[0]!.field, 'phone');
    assert.equal(await countProfiles(b.id), 0);

    const sub = await create(b.id, { email: 'only@mail.ru', firstName: 'Подписчик' });
    assert.equal(sub.status, 201);
    assert.equal(sub.body.kind, 'subscriber');
    const byCard = await create(b.id, { cardNumber: '0001' });
    assert.equal(byCard.body.kind, 'member');
    const byPhone = await create(b.id, { phone: nextPhone(), email: 'has-both@mail.ru' });
    assert.equal(byPhone.body.kind, 'member');
    const subWithPhone = await create(b.id, { kind: 'subscriber', email: 'sp@mail.ru', phone: nextPhone() });
    assert.equal(subWithPhone.status, 400);
    assert.deepEqual(fieldErrors(subWithPhone.body), [
      { field: 'phone', message: 'У подписчика есть только email; чтобы добавить телефон или карту, укажите kind = member' },
    ]);
    const subNoEmail = await create(b.id, { kind: 'subscriber', firstName: 'X' });
    assert.equal(subNoEmail.status, 400);
    assert.deepEqual(fieldErrors(subNoEmail.body), [{ field: 'email', message: 'Подписчику нужен email' }]);
  });

  it('a subscriber given a phone becomes a member; a member never becomes a subscriber', async () => {
    const b = await ctx.newBase();
    const sub = await ctx.newProfile(b.id, { email: 'grow@mail.ru' });
    // Explicitly staying a subscriber with a phone is refused, not a database error.
    const stay = await patch(b.id, sub.id, { kind: 'subscriber', phone: '+79165100001' });
    assert.equal(stay.status, 400);
    assert.equal(fieldErrors(stay.body)[0]!.field, 'phone');
    assert.equal((await get(b.id, sub.id)).body.phone, null);
    const noEmail = await patch(b.id, sub.id, { email: null });
    assert.equal(noEmail.status, 400);
    assert.equal(fieldErrors(noEmail.body)[0]!.field, 'email');

    const up = await patch(b.id, sub.id, { phone: '8 916 510 00 01' });
    assert.equal(up.status, 200);
    assert.equal(up.body.kind, 'member');
    assert.equal(up.body.phone, '+79165100001');
    assert.equal(up.body.id, sub.id);

    const back = await patch(b.id, sub.id, { kind: 'subscriber' });
    assert.equal(back.status, 400);
    assert.equal(fieldErrors(back.body)[0]!.field, 'kind');
    const dropPhone = await patch(b.id, sub.id, { phone: null });
    assert.equal(dropPhone.status, 400);
    assert.deepEqual(fieldErrors(dropPhone.body), [{ field: 'phone', message: 'Участнику программы лояльности нужен телефон или номер карты' }]);
    const read = await get(b.id, sub.id);
    assert.equal(read.body.kind, 'member');
    assert.equal(read.body.phone, '+79165100001');
    // Swapping the phone for a card keeps it a member.
    const swap = await patch(b.id, sub.id, { phone: null, cardNumber: 'SWAP1' });
    assert.equal(swap.status, 200);
    assert.equal(swap.body.phone, null);
    assert.equal(swap.body.cardNumber, 'SWAP1');
    // A member with a card only: asking for kind member without any identifier names phone.
    const sub2 = await ctx.newProfile(b.id, { email: 'sub2@mail.ru' });
    const asMember = await patch(b.id, sub2.id, { kind: 'member' });
    assert.equal(asMember.status, 400);
    assert.equal(fieldErrors(asMember.body)[0]!.field, 'phone');
  });
});

describe('profiles: card numbers', () => {
  it('accepts up to 200 Latin letters and digits and refuses 201 or other characters', async () => {
    const b = await ctx.newBase();
    const ok = await create(b.id, { cardNumber: 'a'.repeat(100) + '9'.repeat(100) });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.cardNumber, 'A'.repeat(100) + '9'.repeat(100));
    const long = await create(b.id, { cardNumber: '1'.repeat(201) });
    assert.equal(long.status, 400);
    assert.equal(fieldErrors(long.body).length, 1);
    assert.equal(fieldErrors(long.body)[0]!.field, 'cardNumber');
    assert.match(fieldErrors(long.body)[0]!.message, /^Номер карты — от 1 до 200 латинских букв и цифр/);
    const cyr = await create(b.id, { cardNumber: 'КАРТА1' });
    assert.equal(cyr.status, 400);
    assert.deepEqual(fieldErrors(cyr.body), [{ field: 'cardNumber', message: 'Номер карты — от 1 до 200 латинских букв и цифр: «КАРТА1»' }]);
    assert.equal(await countProfiles(b.id), 1);
  });

  it('generateCard issues sequential, unique numbers from the base prefix and length with a Luhn check digit', async () => {
    const b = await ctx.newBase({ cards: { prefix: '2024', length: 12 } });
    // A number typed in by hand that the sequence would issue next is skipped.
    const typed = generateCardNumber('2024', 12, 2);
    const manual = await create(b.id, { cardNumber: typed, firstName: 'Вручную' });
    assert.equal(manual.body.cardNumber, typed);
    const cards: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await create(b.id, { generateCard: true });
      assert.equal(r.status, 201);
      assert.equal(r.body.kind, 'member');
      cards.push(r.body.cardNumber);
    }
    for (const c of cards) {
      assert.equal(c.length, 12);
      assert.ok(c.startsWith('2024'), c);
      assert.equal(Number(c.at(-1)), luhnCheckDigit(c.slice(0, -1)), `${c}: bad check digit`);
    }
    assert.deepEqual(cards.map((c) => Number(c.slice(4, -1))), [1, 3, 4, 5]);
    assert.equal(new Set([...cards, typed]).size, 5);
    // Both at once is refused; a forced number via the API is kept as typed.
    const both = await create(b.id, { generateCard: true, cardNumber: '555' });
    assert.equal(both.status, 400);
    assert.deepEqual(fieldErrors(both.body), [{ field: 'cardNumber', message: 'Укажите либо номер карты, либо generateCard, но не оба' }]);
    assert.equal((await create(b.id, { cardNumber: '2024-0000-0999' })).body.cardNumber, '202400000999');
    // A rejected create gives its number back: the sequence is part of the rolled-back write.
    const holder = await ctx.newProfile(b.id, { phone: '+79165900001' });
    const clash = await create(b.id, { generateCard: true, phone: holder.phone });
    assert.equal(clash.status, 409);
    assert.equal(clash.body.existingId, holder.id);
    // A subscriber asking for a card via PATCH gets the next one and becomes a member.
    const sub = await ctx.newProfile(b.id, { email: 'card@mail.ru' });
    const up = await patch(b.id, sub.id, { generateCard: true });
    assert.equal(up.status, 200);
    assert.equal(up.body.kind, 'member');
    assert.equal(up.body.cardNumber, generateCardNumber('2024', 12, 6));
    // Concurrent requests never get the same number.
    const burst = await Promise.all(Array.from({ length: 6 }, () => create(b.id, { generateCard: true })));
    assert.deepEqual(burst.map((r) => r.status), [201, 201, 201, 201, 201, 201]);
    const issued = burst.map((r) => Number(r.body.cardNumber.slice(4, -1))).sort((x, y) => x - y);
    assert.deepEqual(issued, [7, 8, 9, 10, 11, 12]);
  });
});

describe('profiles: subscriber merges into member', () => {
  it('a member created with a subscriber email absorbs the subscriber; the subscriber row is kept in profile_merges', async () => {
    const b = await ctx.newBase();
    await addField(b.id, { key: 'tier', type: 'string' });
    await addField(b.id, { key: 'score', type: 'int' });
    const sub = await ctx.newProfile(b.id, {
      email: 'Anna@Mail.ru',
      firstName: 'Анна',
      lastName: 'Смирнова',
      city: 'Казань',
      utmSource: 'vk',
      utmCampaign: 'spring',
      fields: { tier: 'gold', score: 1 },
    });
    assert.equal(sub.kind, 'subscriber');
    const r = await create(b.id, { phone: '+79166000001', email: 'anna@mail.ru', firstName: 'Анна-Мария', utmSource: 'site', fields: { score: 5 } });
    assert.equal(r.status, 201);
    const m = r.body;
    assert.deepEqual(m.mergedFrom, [sub.id]);
    assert.notEqual(m.id, sub.id);
    assert.equal(m.kind, 'member');
    assert.equal(m.firstName, 'Анна-Мария'); // its own value kept
    assert.equal(m.utmSource, 'site');
    assert.equal(m.lastName, 'Смирнова'); // empty ones filled
    assert.equal(m.city, 'Казань');
    assert.equal(m.utmCampaign, 'spring');
    assert.deepEqual(m.fields, { score: 5, tier: 'gold' });
    assert.equal((await get(b.id, sub.id)).status, 404);
    const { mergedFrom: _m, ...stored } = m;
    assert.deepEqual((await get(b.id, m.id)).body, stored);
    const merges = (await ctx.pool.query('SELECT into_id, from_id, reason, snapshot FROM profile_merges WHERE base_id = $1', [b.id])).rows;
    assert.equal(merges.length, 1);
    assert.equal(Number(merges[0].into_id), m.id);
    assert.equal(Number(merges[0].from_id), sub.id);
    assert.equal(merges[0].reason, 'member_created_with_email');
    const snap = merges[0].snapshot;
    assert.equal(snap.id, sub.id);
    assert.equal(snap.kind, 'subscriber');
    assert.equal(snap.email, 'anna@mail.ru');
    assert.equal(snap.first_name, 'Анна');
    assert.equal(snap.last_name, 'Смирнова');
    assert.equal(snap.utm_source, 'vk');
    assert.deepEqual(snap.fields, { tier: 'gold', score: 1 });
    assert.equal(await countProfiles(b.id), 1);
  });

  it('a member PATCHed to gain a subscriber email absorbs the subscriber', async () => {
    const b = await ctx.newBase();
    const m = await ctx.newProfile(b.id, { phone: '+79166100001', lastName: 'Петров' });
    const sub = await ctx.newProfile(b.id, { email: 'p@x.ru', lastName: 'Иванов', firstName: 'Пётр', utmCampaign: 'autumn' });
    const r = await patch(b.id, m.id, { email: ' P@X.RU ' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.mergedFrom, [sub.id]);
    assert.equal(r.body.email, 'p@x.ru');
    assert.equal(r.body.lastName, 'Петров');
    assert.equal(r.body.firstName, 'Пётр');
    assert.equal(r.body.utmCampaign, 'autumn');
    assert.equal((await get(b.id, sub.id)).status, 404);
    const merge = (await ctx.pool.query('SELECT reason, snapshot FROM profile_merges WHERE base_id = $1 AND into_id = $2', [b.id, m.id])).rows;
    assert.equal(merge.length, 1);
    assert.equal(merge[0].reason, 'member_gained_email');
    assert.equal(merge[0].snapshot.last_name, 'Иванов');
    // A subscriber who gives a phone becomes a member itself: nothing to merge.
    const s2 = await ctx.newProfile(b.id, { email: 'self@x.ru' });
    const up = await patch(b.id, s2.id, { phone: '+79166100002' });
    assert.equal(up.body.id, s2.id);
    assert.equal(up.body.mergedFrom, undefined);
  });

  it('a subscriber created with a member email is that member: 200 with the member, filled where it was empty', async () => {
    const b = await ctx.newBase();
    const m = await ctx.newProfile(b.id, { phone: '+79166200001', email: 'm3@x.ru', lastName: 'Белова' });
    const r = await create(b.id, { email: 'M3@x.ru', firstName: 'Маша', lastName: 'Чернова', city: 'Омск' });
    assert.equal(r.status, 200);
    assert.equal(r.body.id, m.id);
    assert.equal(r.body.kind, 'member');
    assert.equal(r.body.phone, '+79166200001');
    assert.equal(r.body.firstName, 'Маша');
    assert.equal(r.body.city, 'Омск');
    assert.equal(r.body.lastName, 'Белова', 'the member keeps what it has');
    assert.equal(r.body.mergedFrom, undefined, 'no subscriber profile was made to be merged');
    assert.deepEqual((await lookup(b.id, { email: 'm3@x.ru' })).body.items.map((p: { id: number }) => p.id), [m.id]);
    const events = (await api('GET', `${P(b.id)}/${m.id}/events`)).body.items;
    assert.deepEqual(events[0].changes, { firstName: { from: null, to: 'Маша' }, city: { from: null, to: 'Омск' } });
    assert.equal(await countProfiles(b.id), 1);
  });

  it('a subscriber who changes its email to a member email folds into that member', async () => {
    const b = await ctx.newBase();
    const m = await ctx.newProfile(b.id, { phone: nextPhone(), email: 'owner@x.ru' });
    const sub = await ctx.newProfile(b.id, { email: 'old@x.ru', city: 'Тула', utmSource: 'vk' });
    const r = await patch(b.id, sub.id, { email: 'Owner@X.ru' });
    assert.equal(r.status, 200);
    assert.equal(r.body.id, m.id);
    assert.deepEqual(r.body.mergedFrom, [sub.id]);
    assert.equal(r.body.city, 'Тула');
    assert.equal(r.body.utmSource, 'vk');
    assert.equal((await get(b.id, sub.id)).status, 404);
    assert.equal(await countProfiles(b.id), 1);
  });

  it('says clearly when generated card numbers are used up', async () => {
    const b = await ctx.newBase({ cards: { prefix: '1234', length: 6 } });
    const numbers = new Set<string>();
    for (let i = 0; i < 9; i++) numbers.add((await create(b.id, { phone: nextPhone(), generateCard: true })).body.cardNumber);
    assert.equal(numbers.size, 9);
    const r = await create(b.id, { phone: nextPhone(), generateCard: true });
    assert.equal(r.status, 409);
    assert.match(r.body.detail, /Номера карт с префиксом «1234» и длиной 6 закончились/);
  });

  it('never merges different emails, a member without email, or a subscriber of another base', async () => {
    const b = await ctx.newBase();
    const other = await ctx.newBase();
    const sub = await ctx.newProfile(b.id, { email: 'a@x.ru', firstName: 'Алла' });
    const diff = await create(b.id, { phone: nextPhone(), email: 'b@x.ru' });
    assert.equal(diff.status, 201);
    assert.equal(diff.body.mergedFrom, undefined);
    assert.equal(diff.body.firstName, null);
    const noEmail = await create(b.id, { phone: nextPhone(), firstName: 'Без почты' });
    assert.equal(noEmail.body.mergedFrom, undefined);
    assert.equal((await patch(b.id, noEmail.body.id, { city: 'Ижевск' })).body.mergedFrom, undefined);
    const elsewhere = await create(other.id, { phone: nextPhone(), email: 'a@x.ru' });
    assert.equal(elsewhere.status, 201);
    assert.equal(elsewhere.body.mergedFrom, undefined);
    assert.equal(elsewhere.body.firstName, null);
    const still = await get(b.id, sub.id);
    assert.equal(still.status, 200);
    assert.equal(still.body.kind, 'subscriber');
    assert.equal((await ctx.pool.query('SELECT count(*)::int AS n FROM profile_merges WHERE base_id IN ($1, $2)', [b.id, other.id])).rows[0].n, 0);
  });
});

describe('profiles: set-once registration data', () => {
  it('registrationSource defaults to api; a later PATCH never overwrites it or pointOfSale, but fills an empty one', async () => {
    const b = await ctx.newBase();
    const p = await ctx.newProfile(b.id, { phone: nextPhone() });
    assert.equal(p.registrationSource, 'api');
    assert.equal(p.pointOfSale, null);
    const fill = await patch(b.id, p.id, { registrationSource: 'pos', pointOfSale: '  Магазин на  Тверской ' });
    assert.equal(fill.status, 200);
    assert.equal(fill.body.registrationSource, 'api');
    assert.equal(fill.body.pointOfSale, 'Магазин на Тверской');
    for (const body of [{ pointOfSale: 'Другой' }, { pointOfSale: null, registrationSource: null }, { registrationSource: 'import' }]) {
      const r = await patch(b.id, p.id, body);
      assert.equal(r.status, 200);
      assert.equal(r.body.registrationSource, 'api', JSON.stringify(body));
      assert.equal(r.body.pointOfSale, 'Магазин на Тверской', JSON.stringify(body));
    }
    // A client added by a person in the web UI (a session, not a key) was registered in the interface.
    const staff = await ctx.signedInUser('reg-source-staff');
    const byHand = await staff.api('POST', `/api/v1/bases/${b.id}/profiles`, { phone: nextPhone() });
    assert.equal(byHand.status, 201, JSON.stringify(byHand.body));
    assert.equal(byHand.body.registrationSource, 'interface');
    const read = await get(b.id, p.id);
    assert.equal(read.body.registrationSource, 'api');
    assert.equal(read.body.pointOfSale, 'Магазин на Тверской');
    const pos = await ctx.newProfile(b.id, { phone: nextPhone(), registrationSource: 'pos', pointOfSale: 'Точка 1' });
    assert.equal(pos.registrationSource, 'pos');
    assert.equal(pos.pointOfSale, 'Точка 1');
    const bad = await create(b.id, { phone: nextPhone(), registrationSource: 'telepathy' });
    assert.equal(bad.status, 400);
    assert.equal(fieldErrors(bad.body)[0]!.field, 'registrationSource');
  });
});

describe('profiles: custom fields', () => {
  it('validates values by type on create, applies defaults, requires required ones', async () => {
    const b = await ctx.newBase();
    await addField(b.id, { key: 'score', type: 'int', default: 10 });
    await addField(b.id, { key: 'code', type: 'string', required: true });
    await addField(b.id, { key: 'size', type: 'list', listMode: 'static', options: ['S', 'M', 'L'] });
    const ok = await create(b.id, { phone: nextPhone(), fields: { code: 'A1' } });
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.body.fields, { score: 10, code: 'A1' });
    const given = await create(b.id, { phone: nextPhone(), fields: { code: 'A2', score: ' 42 ', size: 'm' } });
    assert.deepEqual(given.body.fields, { score: 42, code: 'A2', size: 'M' });

    const missing = await create(b.id, { phone: nextPhone() });
    assert.equal(missing.status, 400);
    assert.deepEqual(fieldErrors(missing.body), [{ field: 'fields.code', message: 'Обязательное поле' }]);
    const bad = await create(b.id, { phone: nextPhone(), fields: { code: 'A3', score: 'abc', nope: 1, size: 'XL' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(fieldErrors(bad.body), [
      { field: 'fields.score', message: 'Ожидается целое число: «abc»' },
      { field: 'fields.nope', message: 'В базе нет дополнительного поля «nope»' },
      { field: 'fields.size', message: 'Значения «XL» нет в списке: S, M, L' },
    ]);
    // A bad value of a required field is reported once, as the bad value.
    const badRequired = await create(b.id, { phone: nextPhone(), fields: { code: { x: 1 } } });
    assert.equal(badRequired.status, 400);
    assert.deepEqual(fieldErrors(badRequired.body).map((e) => e.field), ['fields.code']);
    assert.equal(await countProfiles(b.id), 2);
  });

  it('validates on PATCH, null clears a value unless required, free list values accumulate as options', async () => {
    const b = await ctx.newBase();
    await addField(b.id, { key: 'score', type: 'int' });
    await addField(b.id, { key: 'code', type: 'string', required: true });
    await addField(b.id, { key: 'hobby', type: 'list', listMode: 'free' });
    const p = await ctx.newProfile(b.id, { phone: nextPhone(), fields: { code: 'X', score: 3, hobby: 'Рыбалка' } });
    const bad = await patch(b.id, p.id, { fields: { score: 'abc', unknownKey: 'v' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(fieldErrors(bad.body), [
      { field: 'fields.score', message: 'Ожидается целое число: «abc»' },
      { field: 'fields.unknownKey', message: 'В базе нет дополнительного поля «unknownKey»' },
    ]);
    const req = await patch(b.id, p.id, { fields: { code: null } });
    assert.equal(req.status, 400);
    assert.deepEqual(fieldErrors(req.body), [{ field: 'fields.code', message: 'Обязательное поле' }]);
    assert.deepEqual((await get(b.id, p.id)).body.fields, { code: 'X', score: 3, hobby: 'Рыбалка' });

    const up = await patch(b.id, p.id, { fields: { score: null, hobby: '  Шахматы ' } });
    assert.equal(up.status, 200);
    assert.deepEqual(up.body.fields, { code: 'X', hobby: 'Шахматы' });
    await ctx.newProfile(b.id, { phone: nextPhone(), fields: { code: 'Y', hobby: 'Рыбалка' } });
    const defs = await api('GET', `/api/v1/bases/${b.id}/fields`);
    const hobby = defs.body.items.find((f: { key: string }) => f.key === 'hobby');
    assert.deepEqual(hobby.options, ['Рыбалка', 'Шахматы']);
  });
});

describe('profiles: events', () => {
  it('lists created, updated and merged events with the actor and the changed fields', async () => {
    const b = await ctx.newBase();
    const p = await ctx.newProfile(b.id, { phone: '+79167000001', firstName: 'Ира' });
    await patch(b.id, p.id, { city: 'Москва', firstName: 'Ирина' });
    await patch(b.id, p.id, { firstName: ' Ирина ' }); // no change: no event
    const sub = await ctx.newProfile(b.id, { email: 'ira@mail.ru', lastName: 'Орлова' });
    await patch(b.id, p.id, { email: 'ira@mail.ru' });
    const r = await api('GET', `${P(b.id)}/${p.id}/events`);
    assert.equal(r.status, 200);
    const items = r.body.items as { action: string; actor: string; changes: Record<string, unknown>; source: Record<string, unknown> }[];
    // The subscriber's own history moved with it into the member, marked as the subscriber's.
    assert.deepEqual(items.map((e) => e.action), ['merged', 'updated', 'created', 'updated', 'created']);
    assert.ok(items.every((e) => e.actor === 'env'));
    const [merged, gained, subCreated, updated, created] = items;
    assert.deepEqual(subCreated!.source, { mergedFrom: sub.id });
    assert.deepEqual(subCreated!.changes, { kind: 'subscriber', email: 'ira@mail.ru', lastName: 'Орлова', registrationSource: 'api' });
    assert.deepEqual(created!.source, {});
    assert.deepEqual(created!.changes, { kind: 'member', firstName: 'Ира', phone: '+79167000001', registrationSource: 'api' });
    assert.deepEqual(updated!.changes, { firstName: { from: 'Ира', to: 'Ирина' }, city: { from: null, to: 'Москва' } });
    assert.deepEqual(gained!.changes, { email: { from: null, to: 'ira@mail.ru' } });
    assert.deepEqual(merged!.changes.from, [sub.id]);
    assert.deepEqual(merged!.changes.filled, ['lastName']);
  });
});

describe('profiles: HTTP edges', () => {
  it('413 for an oversized body, 400 bad_request for malformed JSON, no internals in any error', async () => {
    const b = await ctx.newBase();
    const big = await create(b.id, { phone: nextPhone(), extraKey1: 'x'.repeat(1_200_000) });
    assert.equal(big.status, 413);
    assert.equal(big.body.code, 'payload_too_large');
    const broken = await create(b.id, '{"phone": "+79161234567",');
    assert.equal(broken.status, 400);
    assert.equal(broken.body.code, 'bad_request');
    assert.equal(broken.body.detail, 'Тело запроса — некорректный JSON');
    const unknownProp = await create(b.id, { phone: nextPhone(), colour: 'red' });
    assert.equal(unknownProp.status, 400);
    assert.deepEqual(fieldErrors(unknownProp.body), [{ field: 'colour', message: 'Неизвестное поле' }]);
    const wrongType = await create(b.id, { phone: nextPhone(), firstName: 5 });
    assert.equal(wrongType.status, 400);
    assert.equal(fieldErrors(wrongType.body)[0]!.field, 'firstName');
    assert.equal(await countProfiles(b.id), 0);
  });
});

describe('profiles: property', () => {
  const national = fc
    .tuple(fc.integer({ min: 900, max: 999 }), fc.integer({ min: 0, max: 9_999_999 }))
    .filter(([code, rest]) => code !== 930 || rest >= 1_000_000)
    .map(([code, rest]) => `${code}${String(rest).padStart(7, '0')}`);
  const formats: ((n: string) => string)[] = [
    (n) => `+7${n}`,
    (n) => `8${n}`,
    (n) => n,
    (n) => `8 (${n.slice(0, 3)}) ${n.slice(3, 6)}-${n.slice(6, 8)}-${n.slice(8)}`,
    (n) => `+7 ${n.slice(0, 3)} ${n.slice(3)}`,
    (n) => `7-${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6)}`,
  ];
  const email = fc
    .record({
      local: fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}[a-z0-9]$/).filter((s) => !/[._-]{2}/.test(s)),
      domain: fc.constantFrom('mail.ru', 'example.com', 'почта.рф', 'shop.co.uk'),
      upper: fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
      left: fc.constantFrom('', ' ', '  ', '\t'),
      right: fc.constantFrom('', ' ', '  '),
    })
    .map(({ local, domain, upper, left, right }) => {
      const s = `${local}@${domain}`;
      return left + [...s].map((ch, i) => (upper[i % upper.length] ? ch.toUpperCase() : ch)).join('') + right;
    });

  it('a profile created with a phone in any format is found by that raw phone and stored normalized', async () => {
    await fc.assert(
      fc.asyncProperty(national, fc.integer({ min: 0, max: formats.length - 1 }), email, async (n, f, rawEmail) => {
        const b = await ctx.newBase();
        const rawPhone = formats[f]!(n);
        const r = await create(b.id, { phone: rawPhone, email: rawEmail });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.equal(r.body.phone, normalizePhone(rawPhone));
        assert.equal(r.body.phone, `+7${n}`);
        assert.ok(normalizeEmail(rawEmail), rawEmail);
        assert.equal(r.body.email, normalizeEmail(rawEmail));
        const byPhone = await lookup(b.id, { phone: rawPhone });
        assert.deepEqual(byPhone.body.items.map((p: { id: number }) => p.id), [r.body.id]);
        const byEmail = await lookup(b.id, { email: rawEmail });
        assert.deepEqual(byEmail.body.items.map((p: { id: number }) => p.id), [r.body.id]);
      }),
      { numRuns: 30 },
    );
  });
});
