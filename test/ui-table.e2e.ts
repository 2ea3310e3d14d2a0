// The clients table in a real browser, on the demo base (10,000 clients): column settings through the
// gear (hide, show a custom field, move by the arrows and by dragging, pin) saved for the user and still there after a reload; sort
// by a header click (the first row is the API's first for that order); a list field's values as
// checkboxes with the API's counts, applied as a filter; search by a pasted list of phones typed any
// way, with the entry not found named; the keyboard moving between rows and opening the card.
// Run after `npm run build`: node --test test/ui-table.e2e.ts
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ru, uiSession, type UiSession } from './ui.ts';

let s: UiSession | undefined;
after(() => s?.close());

type Settings = { columns: string[]; pinned: string[]; sort: { field: string; dir: string }[] };

describe('web UI: the clients table', () => {
  it('column settings, header sort, list checkboxes with counts, pasted list, keyboard', { timeout: 240_000 }, async () => {
    const ui = (s = await uiSession({ name: 'table' }));
    const { page, api } = ui;
    const bases = await api<{ items: { id: number; name: string }[] }>('GET', '/bases');
    const baseId = bases.items.find((b) => b.name === 'Демо')!.id;
    await page.getByTestId('base-card').filter({ hasText: 'Демо' }).getByRole('button', { name: 'Открыть' }).click();
    await page.getByRole('tab', { name: 'Клиенты' }).click();
    const count = page.getByTestId('found-count');
    await count.getByText(`Найдено ${ru(10000)} клиентов`).waitFor();
    const headers = async () => Promise.all((await page.getByTestId('header-row').locator('[role=columnheader]').all()).map((h) => h.getAttribute('data-column')));
    const header = (column: string) => page.getByTestId('header-row').locator(`[data-column="${column}"]`);

    // The gear: hide the middle name, show a custom list field, move the city left of the phone, pin the phone.
    await page.getByRole('button', { name: 'Настройка столбцов' }).click();
    const gear = page.getByTestId('column-settings');
    await gear.getByLabel('Показывать «Отчество»').uncheck();
    await gear.getByLabel('Показывать «Любимая категория»').check();
    await gear.getByRole('button', { name: '«Город» левее' }).click();
    await gear.getByRole('button', { name: '«Город» левее' }).click();
    await gear.getByRole('button', { name: '«Город» левее' }).click();
    await gear.getByRole('button', { name: 'Закрепить «Телефон»' }).click();
    // and drag the custom field onto the email: it takes the email's place
    await gear.locator('[data-column="fields.favoriteCategory"]').dragTo(gear.locator('[data-column="email"]'));
    await ui.shot('table-1-gear');
    await page.keyboard.press('Escape');
    const expected = ['select', 'lastName', 'phone', 'firstName', 'city', 'fields.favoriteCategory', 'email', 'cardNumber', 'tags', 'createdAt'];
    await header('fields.favoriteCategory').waitFor();
    assert.deepEqual(await headers(), expected, 'pinned columns first, then the chosen order');
    const saved = await api<Settings>('GET', `/bases/${baseId}/table-settings`);
    assert.deepEqual(saved.columns, ['lastName', 'firstName', 'city', 'phone', 'fields.favoriteCategory', 'email', 'cardNumber', 'tags', 'createdAt']);
    assert.deepEqual(saved.pinned, ['lastName', 'phone']);

    // Sort by a header click: ascending by city, then descending; the first row is the API's first.
    const firstFor = async (dir: 'asc' | 'desc') => (await api<{ items: { city: string | null }[] }>('POST', `/bases/${baseId}/profiles/search`, { limit: 1, columns: ['city'], sort: [{ field: 'city', dir }] })).items[0]!.city!;
    const cityHeader = header('city');
    await cityHeader.getByRole('button').click();
    await page.getByTestId('header-row').locator('[data-column=city][aria-sort=ascending]').waitFor();
    const rows = page.getByTestId('rows').locator('[role=row][data-index]');
    const firstCity = async () => (await rows.first().locator('[role=cell]').nth(4).textContent())?.trim();
    assert.equal(await firstCityWhenSettled(firstCity, await firstFor('asc')), await firstFor('asc'));
    await cityHeader.getByRole('button').click();
    assert.equal(await firstCityWhenSettled(firstCity, await firstFor('desc')), await firstFor('desc'));
    assert.deepEqual((await api<Settings>('GET', `/bases/${baseId}/table-settings`)).sort, [{ field: 'city', dir: 'desc' }]);

    // A reload keeps all of it: the settings are the user's, kept by the server.
    await page.reload();
    await count.getByText(`Найдено ${ru(10000)} клиентов`).waitFor();
    await page.getByTestId('header-row').locator('[data-column=city][aria-sort=descending]').waitFor();
    assert.deepEqual(await headers(), expected);
    await ui.shot('table-2-sorted');

    // The list field's values as checkboxes with counts; ticking one filters to the API's count.
    const values = await api<{ items: { value: string; count: number }[] }>('GET', `/bases/${baseId}/fields/favoriteCategory/values`);
    const pick = values.items[1]!;
    const fb = page.getByTestId('filter-builder');
    await fb.getByRole('button', { name: 'Фильтр', exact: true }).click();
    await fb.getByRole('button', { name: 'Добавить условие' }).click();
    await fb.getByLabel('Поле').first().click();
    await page.getByRole('option', { name: 'Любимая категория', exact: true }).click();
    const box = fb.getByRole('checkbox', { name: new RegExp(`^${pick.value}`) });
    await box.waitFor();
    assert.match((await fb.locator('label', { has: page.getByText(pick.value, { exact: true }) }).first().textContent()) ?? '', new RegExp(`${pick.value}\\s*${ru(pick.count)}`));
    await box.check();
    await ui.shot('table-3-checkboxes');
    await fb.getByRole('button', { name: 'Применить' }).click();
    const filtered = await api<{ count: number }>('POST', `/bases/${baseId}/profiles/count`, { filter: { field: 'fields.favoriteCategory', op: 'in', value: [pick.value] } });
    assert.equal(filtered.count, pick.count);
    await count.getByText(new RegExp(`^Найден[оа]? ${ru(filtered.count)} клиент`)).waitFor();
    // Applied, the builder folds to one line that says what is applied.
    await fb.getByTestId('filter-summary').getByText(`Любимая категория одно из ${pick.value}`).waitFor();
    await fb.getByRole('button', { name: 'Изменить фильтр' }).click();
    await fb.getByRole('button', { name: 'Сбросить' }).click();
    await count.getByText(`Найдено ${ru(10000)} клиентов`).waitFor();

    // A pasted list: two phones typed the way people type them, and one nobody has.
    const two = (await api<{ items: { phone: string }[] }>('POST', `/bases/${baseId}/profiles/search`, { limit: 2, columns: ['phone'], filter: { field: 'phone', op: 'isNotEmpty' } })).items.map((x) => x.phone);
    const typed = two.map((p) => `8 (${p.slice(2, 5)}) ${p.slice(5, 8)}-${p.slice(8, 10)}-${p.slice(10)}`);
    await page.getByRole('button', { name: 'Поиск по списку' }).click();
    await page.getByLabel('Вставьте список').fill([...typed, 'nobody@nowhere.example'].join('\n'));
    await page.getByText('3 значения').waitFor();
    await page.getByRole('button', { name: 'Найти' }).click();
    await count.getByText('Найдено 2 клиента').waitFor();
    await page.getByTestId('not-found').getByText('Не найдено 1 значение из списка').waitFor();
    await page.getByTestId('not-found').getByText('nobody@nowhere.example').waitFor();
    await ui.shot('table-4-list');

    // The keyboard: the first row focused, ↓ to the second, Enter opens its card.
    const second = (await rows.nth(1).locator('[role=cell]').nth(1).textContent())?.trim() ?? '';
    await rows.first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const drawer = page.getByRole('dialog');
    await drawer.getByText('Карточка клиента').waitFor();
    assert.ok(second.length > 0);
    await drawer.getByText(second).or(drawer.locator(`input[value="${second}"]`)).first().waitFor({ timeout: 10_000 }).catch(async (e: unknown) => {
      await ui.shot('table-5-card-failed');
      throw e;
    });
  });
});

/** The first row's city once the table shows the expected one (the sort is a new request). */
async function firstCityWhenSettled(read: () => Promise<string | undefined>, want: string): Promise<string | undefined> {
  const until = Date.now() + 15_000;
  let got = await read();
  while (got !== want && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    got = await read();
  }
  return got;
}
