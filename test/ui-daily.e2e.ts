// A manager's day in a real browser on a 1366-px laptop screen (issue 11's walk): add a client by
// hand, find them again by a part of the phone, send the card's link to a colleague who opens it in
// another browser, Back and reload keep the screen; a phone that exists offers to open its client;
// an empty search offers a new client with that phone; a filter built, saved, found in the segments
// screen with its count, renamed, duplicated and deleted; a manual segment's member taken out; the
// base's start page numbers open the table filtered to exactly them. Each time what the user sees
// against what the API says.
// Run after `npm run build`: node --test test/ui-daily.e2e.ts
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { uiSession, type UiSession } from './ui.ts';

let s: UiSession | undefined;
after(() => s?.close());

describe('web UI: a manager’s daily work', () => {
  it('adds a client, finds them, shares the card by link, manages segments, starts from the base page', { timeout: 300_000 }, async () => {
    const ui = (s = await uiSession({ name: 'daily', demo: false, viewport: { width: 1366, height: 768 } }));
    const { page, url } = ui;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    const v1 = `${url}/api/v1`;
    const base = await ui.api<{ id: number }>('POST', `${v1}/bases`, { name: 'Салон на Тверской', emailsConsented: true });
    const b = `${v1}/bases/${base.id}`;
    for (const [i, city] of ['Москва', 'Москва', 'Тверь', 'Тула'].entries())
      await ui.api('POST', `${b}/profiles`, { lastName: `Клиентова${i}`, firstName: 'Анна', phone: `+7903000000${i}`, city, ...(i < 2 ? { email: `a${i}@example.ru` } : {}), ...(i === 3 ? { carNumber: 'А777МР77' } : {}) });

    // The base opens on its start page: the numbers are the API's, and each opens the table filtered to them.
    await page.reload();
    await page.getByTestId('base-card').filter({ hasText: 'Салон на Тверской' }).getByRole('button', { name: 'Открыть' }).click();
    await page.waitForURL(`${url}/bases/${base.id}`);
    const tiles = page.getByTestId('home-tile');
    await tiles.filter({ hasText: 'Клиентов в базе' }).getByTestId('home-count').getByText('4', { exact: true }).waitFor();
    await tiles.filter({ hasText: 'Добавлено за 7 дней' }).getByTestId('home-count').getByText('4', { exact: true }).waitFor();
    await tiles.filter({ hasText: 'С email' }).getByTestId('home-count').getByText('2', { exact: true }).waitFor();
    await ui.shot('daily-1-home');
    await tiles.filter({ hasText: 'С email' }).getByTestId('home-count').click();
    await page.getByTestId('found-count').getByText('Найдено 2 клиента').waitFor();
    await page.getByTestId('filter-summary').getByText('E-mail заполнено').waitFor();
    assert.match(page.url(), /\/clients\?filter=/);
    const count = page.getByTestId('found-count');
    // Someone the filter leaves out is not «nobody»: the table says the filter is why, and searches the whole base on a click.
    await page.getByRole('textbox', { name: /^Поиск/ }).fill('Клиентова3');
    await page.getByText('Никого не нашли среди клиентов, отобранных фильтром.').waitFor();
    await page.getByRole('button', { name: 'Искать по всей базе' }).click();
    await count.getByText('Найден 1 клиент').waitFor();
    await page.getByRole('textbox', { name: /^Поиск/ }).fill('');
    await page.goBack();
    await page.waitForURL(/\/clients\?filter=/);
    await page.getByRole('tab', { name: 'Главная' }).click();
    await page.waitForURL(`${url}/bases/${base.id}`);
    await page.getByRole('tab', { name: 'Клиенты' }).click();
    await count.getByText('Найдено 4 клиента').waitFor();

    // «+ Новый клиент»: the card's form, empty; the phone typed as people type it.
    await page.getByRole('button', { name: '+ Новый клиент' }).first().click();
    await page.waitForURL(/card=new/);
    const form = page.getByRole('dialog', { name: /Новый клиент/ });
    await form.getByLabel('Фамилия').fill('Соколова');
    await form.getByLabel('Имя').fill('Вера');
    await form.getByLabel('Телефон').fill('8 (916) 555-12-34');
    await form.getByRole('button', { name: 'Добавить клиента' }).click();
    const card = page.getByRole('dialog', { name: /Карточка клиента/ });
    await card.getByTestId('card-name').getByText('Соколова Вера').waitFor();
    await card.getByTestId('card-status').getByText('Клиент добавлен').waitFor();
    const added = new URL(page.url()).searchParams.get('card');
    assert.match(added ?? '', /^\d+$/, `the address names the new client: ${page.url()}`);
    const stored = await ui.api<{ phone: string; lastName: string }>('GET', `${b}/profiles/${added}`);
    assert.deepEqual([stored.phone, stored.lastName], ['+79165551234', 'Соколова']);
    // A first tag made in the card is blue, not the red people keep for VIP.
    await card.getByRole('button', { name: '+ тег' }).click();
    await card.getByRole('textbox', { name: 'Добавить тег' }).fill('Новая');
    await card.getByRole('textbox', { name: 'Добавить тег' }).press('Enter');
    await card.getByTestId('card-tags').getByText('Новая').waitFor();
    const tags = await ui.api<{ items: { name: string; color: string }[] }>('GET', `${b}/tags`);
    assert.deepEqual(tags.items.map((x) => [x.name, x.color]), [['Новая', '#228be6']]);
    await card.getByRole('button', { name: 'Закрыть карточку' }).click();
    await count.getByText('Найдено 5 клиентов').waitFor();

    // The same phone again: the error is at the phone, and the client who has it can be opened.
    await page.getByRole('button', { name: '+ Новый клиент' }).first().click();
    await form.getByLabel('Телефон').fill('+7 916 555 12 34');
    await form.getByRole('button', { name: 'Добавить клиента' }).click();
    await form.getByText(`Клиент с телефоном +79165551234 уже есть в этой базе (id ${added})`).first().waitFor();
    assert.equal(await form.getByLabel('Телефон').getAttribute('aria-invalid'), 'true');
    // The way to the client who has the phone is whole, not cut at the drawer's edge.
    assert.equal(await form.getByTestId('open-holder').evaluate((el) => { const b = el as unknown as { scrollWidth: number; clientWidth: number }; return b.scrollWidth <= b.clientWidth; }), true);
    await form.getByTestId('open-holder').click();
    await card.getByTestId('card-name').getByText('Соколова Вера').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('card'), added);
    await card.getByRole('button', { name: 'Закрыть карточку' }).click();

    // Found again by a part of the phone; the address holds the search, a reload restores it.
    const search = page.getByRole('textbox', { name: /^Поиск/ });
    await search.fill('5551234');
    await count.getByText('Найден 1 клиент').waitFor();
    await page.waitForURL(/text=5551234/);
    await page.reload();
    await count.getByText('Найден 1 клиент').waitFor();
    assert.equal(await page.getByRole('textbox', { name: /^Поиск/ }).inputValue(), '5551234');
    // The matched part of the phone is marked as the phone is shown.
    assert.equal(await page.getByTestId('rows').getByTestId('match').first().textContent(), '555-12-34');

    // The card opened from the table has an address; Back closes it and the search is still there.
    await page.getByTestId('rows').locator('[role=row][data-index]').first().click();
    await card.getByTestId('card-name').getByText('Соколова Вера').waitFor();
    const link = page.url();
    assert.equal(new URL(link).searchParams.get('card'), added);
    await page.goBack();
    await card.waitFor({ state: 'hidden' });
    assert.equal(await page.getByRole('textbox', { name: /^Поиск/ }).inputValue(), '5551234');
    await count.getByText('Найден 1 клиент').waitFor();
    await page.goForward();
    await card.getByTestId('card-name').getByText('Соколова Вера').waitFor();
    await ui.shot('daily-2-card-link');

    // A colleague opens the link in another browser (their own session): the same card over the same search.
    const colleague = await ui.browser.newContext({ viewport: { width: 1366, height: 768 } });
    await colleague.addCookies(await page.context().cookies());
    const other = await colleague.newPage();
    await other.goto(link);
    await other.getByRole('dialog', { name: /Карточка клиента/ }).getByTestId('card-name').getByText('Соколова Вера').waitFor();
    await other.getByTestId('found-count').getByText('Найден 1 клиент').waitFor();
    await colleague.close();
    await card.getByRole('button', { name: 'Закрыть карточку' }).click();

    // A search that finds nobody offers a new client with what was searched.
    await search.fill('+7 999 123-45-67');
    await page.getByText(/^Никого не нашли/).waitFor();
    await page.getByTestId('rows').getByRole('button', { name: '+ Новый клиент' }).click();
    assert.equal(await form.getByLabel('Телефон').inputValue(), '+7 999 123-45-67');
    // Closing asks first: the phone carried over is an unsaved edit.
    await form.getByRole('button', { name: 'Закрыть карточку' }).click();
    await page.getByRole('button', { name: 'Закрыть без сохранения' }).click();
    await search.fill('');
    await count.getByText('Найдено 5 клиентов').waitFor();

    // Found by a column the table does not show: the row says which and what.
    await search.fill('а777мр');
    await count.getByText('Найден 1 клиент').waitFor();
    await page.getByTestId('match-hint').getByText('Номер автомобиля: А777МР77').waitFor();
    await search.fill('');
    await count.getByText('Найдено 5 клиентов').waitFor();

    // The phone and email columns show whole values at 1366 px.
    const phoneCell = page.getByTestId('rows').locator('[role=row][data-index] [role=cell][data-column=phone]').first();
    assert.equal(await phoneCell.evaluate((el) => { const box = el as unknown as { scrollWidth: number; clientWidth: number }; return box.scrollWidth <= box.clientWidth; }), true, 'the phone is not cut');

    // A filter: city = Москва, applied, saved as a segment; the chip and the picker name the segment.
    const fb = page.getByTestId('filter-builder');
    await fb.getByRole('button', { name: 'Фильтр', exact: true }).click();
    await fb.getByRole('button', { name: 'Добавить условие' }).click();
    await fb.getByLabel('Значение').fill('Москва');
    await fb.getByRole('button', { name: 'Применить' }).click();
    await count.getByText('Найдено 2 клиента').waitFor();
    await fb.getByTestId('filter-summary').getByText('Город равно Москва').waitFor();
    await fb.getByRole('button', { name: 'Изменить фильтр' }).click();
    await fb.getByLabel('Название сегмента').fill('Москвички');
    await fb.getByRole('button', { name: 'Сохранить как сегмент' }).click();
    await page.getByText('Сегмент: Москвички').waitFor();
    assert.equal(await fb.getByLabel('Открыть сегмент').inputValue(), 'Москвички');
    await ui.shot('daily-3-segment-saved');

    // The segments screen: the segment with its count; renamed, duplicated, deleted.
    await page.getByRole('tab', { name: 'Сегменты' }).click();
    await page.waitForURL(`${url}/bases/${base.id}/segments`);
    const row = (name: string) => page.getByTestId('segment-row').filter({ has: page.getByRole('link', { name, exact: true }) });
    await row('Москвички').getByRole('button', { name: 'Пересчитать' }).click();
    await row('Москвички').getByTestId('segment-count').getByText('2', { exact: true }).waitFor();
    await row('Москвички').getByRole('button', { name: 'Действия с сегментом «Москвички»' }).click();
    await page.getByRole('menuitem', { name: 'Переименовать' }).click();
    await page.getByRole('dialog').getByLabel('Название').fill('Клиенты из Москвы');
    await page.getByRole('dialog').getByRole('button', { name: 'Сохранить' }).click();
    await row('Клиенты из Москвы').waitFor();
    await row('Клиенты из Москвы').getByRole('button', { name: /Действия с сегментом/ }).click();
    await page.getByRole('menuitem', { name: 'Сделать копию' }).click();
    await row('Клиенты из Москвы (копия)').waitFor();
    await row('Клиенты из Москвы (копия)').getByRole('button', { name: /Действия с сегментом/ }).click();
    await page.getByRole('menuitem', { name: 'Удалить' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Удалить' }).click();
    await row('Клиенты из Москвы (копия)').waitFor({ state: 'detached' });
    const segs = await ui.api<{ items: { name: string }[] }>('GET', `${b}/segments`);
    assert.deepEqual(segs.items.map((x) => x.name), ['Клиенты из Москвы']);
    await ui.shot('daily-4-segments');
    // Opened from the list: the table with that segment's filter, named.
    await row('Клиенты из Москвы').getByTestId('segment-open').click();
    await count.getByText('Найдено 2 клиента').waitFor();
    await page.getByText('Сегмент: Клиенты из Москвы').waitFor();

    // A manual segment: two clients put in it from the table, one taken out again from its own view.
    await page.getByTestId('filter-chip').getByRole('button', { name: 'Убрать' }).click();
    await count.getByText('Найдено 5 клиентов').waitFor();
    const rows = page.getByTestId('rows').locator('[role=row][data-index]');
    await rows.nth(0).getByRole('checkbox').check();
    await rows.nth(1).getByRole('checkbox').check();
    await page.getByTestId('action-bar').getByRole('button', { name: 'Добавить в сегмент' }).click();
    const dialog = page.getByTestId('segment-dialog');
    await dialog.getByLabel('Название нового сегмента').fill('Позвонить');
    await dialog.getByRole('button', { name: 'Добавить в сегмент: 2 клиента' }).click();
    await page.getByText('В сегмент «Позвонить» добавлены 2 клиента').waitFor();
    await page.getByRole('tab', { name: 'Сегменты' }).click();
    await row('Позвонить').getByTestId('segment-open').click();
    await count.getByText('Найдено 2 клиента').waitFor();
    await page.getByTestId('filter-summary').getByText('в сегменте «Позвонить»').waitFor();
    await rows.nth(0).getByRole('checkbox').check();
    await page.getByTestId('action-bar').getByRole('button', { name: 'Убрать из сегмента' }).click();
    await page.getByTestId('unsegment-dialog').getByRole('button', { name: 'Убрать из сегмента' }).click();
    await count.getByText('Найден 1 клиент').waitFor();
    await ui.shot('daily-5-manual-segment');

    // Back through the history reaches the bases list; nothing on the way raised a page error.
    await page.getByTestId('to-bases').click();
    await page.getByRole('heading', { name: 'Базы профилей' }).waitFor();
    assert.deepEqual(errors, []);
  });
});
