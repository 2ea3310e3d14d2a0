// The client card in a real browser (Debian's Chromium driven by playwright-core) against the real
// server on a fresh embedded database without the demo base: a base with custom fields (int, list,
// boolean, date) and a client made through the API; in the card a list, a number, a date, a checkbox
// and UTM edited, a bad date refused at its field with the other edits kept, then saved in one PATCH
// holding only the changed fields; a new tag added inline and removed, an existing one added; the
// history tab shows old → new; closing with unsaved edits asks first. Each time what the user sees
// and what the API then returns.
// Run after `npm run build`: node --test test/ui-card.e2e.ts
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { uiSession, type UiSession } from './ui.ts';

let s: UiSession | undefined;
after(() => s?.close());

interface ApiProfile {
  id: number;
  city: string | null;
  utmSource: string | null;
  utmCampaign: string | null;
  fields: Record<string, unknown>;
  tags: number[];
}

describe('web UI: the client card', () => {
  it('edits custom fields and UTM in one save, tags inline, shows the history, guards unsaved edits', { timeout: 240_000 }, async () => {
    const ui = (s = await uiSession({ name: 'card', demo: false }));
    const { page, url } = ui;

    // A base with four custom fields, an existing tag, one client, through the API.
    const v1 = `${url}/api/v1`;
    const base = await ui.api<{ id: number }>('POST', `${v1}/bases`, { name: 'Карточка клиента: тест', emailsConsented: true });
    const b = `${v1}/bases/${base.id}`;
    await ui.api('POST', `${b}/fields`, { key: 'visits', type: 'int', label: { ru: 'Визиты', en: 'Visits' } });
    await ui.api('POST', `${b}/fields`, { key: 'level', type: 'list', label: { ru: 'Уровень', en: 'Level' }, listMode: 'static', options: ['Серебро', 'Золото', 'Платина'] });
    await ui.api('POST', `${b}/fields`, { key: 'vip', type: 'boolean', label: { ru: 'VIP-клиент', en: 'VIP client' } });
    await ui.api('POST', `${b}/fields`, { key: 'since', type: 'date', label: { ru: 'Клиент с', en: 'Client since' } });
    const regular = await ui.api<{ id: number }>('POST', `${b}/tags`, { name: 'Постоянный', color: '#228be6' });
    const client = await ui.api<ApiProfile>('POST', `${b}/profiles`, {
      lastName: 'Иванов',
      firstName: 'Иван',
      phone: '+79990000001',
      city: 'Москва',
      utmSource: 'google',
      fields: { level: 'Серебро', visits: 3 },
    });
    const read = () => ui.api<ApiProfile>('GET', `${b}/profiles/${client.id}`);
    // What the card sends: each PATCH body.
    const patches: unknown[] = [];
    page.on('request', (r) => {
      if (r.method() === 'PATCH' && r.url().endsWith(`/profiles/${client.id}`)) patches.push(r.postDataJSON());
    });

    await page.reload();
    await page.getByTestId('base-card').filter({ hasText: 'Карточка клиента: тест' }).getByRole('button', { name: 'Открыть' }).click();
    await page.getByRole('tab', { name: 'Клиенты' }).click();
    await page.getByTestId('found-count').getByText('Найден 1 клиент').waitFor();
    await page.getByRole('row').nth(1).click();
    const drawer = page.getByRole('dialog', { name: /Карточка клиента/ });

    // The header: the name, the kind, the dates; nothing to save yet.
    await drawer.getByTestId('card-name').getByText('Иванов Иван', { exact: true }).waitFor();
    await drawer.getByTestId('card-kind').getByText('Участник программы лояльности').waitFor();
    assert.match((await drawer.getByTestId('card-dates').textContent()) ?? '', /^Создан: \d\d\.\d\d\.\d{4} \d\d:\d\d · Изменён: \d\d\.\d\d\.\d{4} \d\d:\d\d$/);
    const saveButton = drawer.getByRole('button', { name: 'Сохранить изменения' });
    assert.equal(await saveButton.isDisabled(), true, 'nothing changed: the save button is disabled');
    assert.equal(await drawer.getByLabel('Телефон').inputValue(), '+7 999 000-00-01');
    // Made through the page's session (a person, not a key): registered by hand.
    assert.equal(await drawer.getByLabel('Место регистрации').inputValue(), 'Вручную');
    // The extra keys are folded away while empty.
    assert.equal(await drawer.getByLabel('Дополнительный ключ 1').isVisible(), false);
    await drawer.getByRole('button', { name: 'Ещё ключи' }).click();
    await drawer.getByLabel('Дополнительный ключ 1').waitFor();

    // Custom fields by type: the list, the number, the checkbox, the date; and UTM.
    const custom = drawer.getByTestId('custom-fields');
    assert.equal(await custom.getByLabel('Уровень').inputValue(), 'Серебро');
    assert.equal(await custom.getByLabel('Визиты').inputValue(), '3');
    await custom.getByLabel('Уровень').click();
    await page.getByRole('option', { name: 'Золото', exact: true }).click();
    await custom.getByLabel('Визиты').fill('12');
    await custom.getByLabel('VIP-клиент').check();
    await custom.getByLabel('Клиент с').fill('31.02.2024');
    await drawer.getByLabel('UTM Source | Источник кампании').fill('yandex');
    await drawer.getByLabel('UTM Campaign | Название кампании').fill('spring');
    await drawer.getByTestId('card-status').getByText('Изменено 6 полей').waitFor();

    // A date that does not exist is refused at its field; the other edits stay.
    await saveButton.click();
    await drawer.getByText('Не сохранено: исправьте поля, отмеченные красным').waitFor();
    assert.equal(await drawer.locator('.mantine-InputWrapper-error').count(), 1, 'one error, at the date');
    assert.equal(await custom.getByLabel('Клиент с').getAttribute('aria-invalid'), 'true');
    // The refused input has the focus.
    await custom.getByLabel('Клиент с').and(page.locator(':focus')).waitFor();
    assert.equal(await custom.getByLabel('Уровень').inputValue(), 'Золото', 'the edits are kept after a failed save');
    assert.equal(await drawer.getByLabel('UTM Campaign | Название кампании').inputValue(), 'spring');
    assert.equal((await read()).fields.level, 'Серебро', 'nothing was written');
    await ui.shot('card-error');

    await custom.getByLabel('Клиент с').fill('31.12.2024');
    await saveButton.click();
    await drawer.getByTestId('card-status').getByText('Сохранено', { exact: true }).waitFor();
    assert.equal(await saveButton.isDisabled(), true, 'saved: nothing left to save');
    assert.equal(await custom.getByLabel('Визиты').inputValue(), '12');
    assert.equal(await custom.getByLabel('Клиент с').inputValue(), '31.12.2024');
    // One PATCH per save, with only the changed fields.
    assert.equal(patches.length, 2);
    assert.deepEqual(patches[1], { utmSource: 'yandex', utmCampaign: 'spring', fields: { visits: 12, level: 'Золото', vip: true, since: '31.12.2024' } });
    let saved = await read();
    assert.deepEqual(saved.fields, { visits: 12, level: 'Золото', vip: true, since: '2024-12-31' });
    assert.deepEqual([saved.utmSource, saved.utmCampaign, saved.city], ['yandex', 'spring', 'Москва']);

    // Tags: a new one typed in and created on the spot; an existing one picked; the new one removed.
    const tags = drawer.getByTestId('card-tags');
    await tags.getByRole('button', { name: '+ тег' }).click();
    const tagInput = tags.getByLabel('Добавить тег');
    await tagInput.fill('Новый клиент');
    await page.getByRole('option', { name: 'Создать тег «Новый клиент»' }).waitFor();
    await tagInput.press('Enter');
    await tags.getByText('Новый клиент', { exact: true }).waitFor();
    await tagInput.fill('Пост');
    await page.getByRole('option', { name: 'Постоянный' }).click();
    await tags.getByText('Постоянный', { exact: true }).waitFor();
    const baseTags = await ui.api<{ items: { id: number; name: string; color: string }[] }>('GET', `${b}/tags`);
    const fresh = baseTags.items.find((x) => x.name === 'Новый клиент');
    assert.ok(fresh, 'the new tag is a tag of the base');
    assert.match(fresh.color, /^#[0-9a-f]{6}$/);
    assert.deepEqual((await read()).tags.sort((x, y) => x - y), [regular.id, fresh.id].sort((x, y) => x - y));
    await tagInput.press('Escape');
    assert.ok(await drawer.isVisible(), 'Escape closes the tag input, not the card');
    await tags.getByRole('button', { name: '+ тег' }).waitFor();
    await ui.shot('card');
    await tags.getByRole('button', { name: 'Убрать тег «Новый клиент»' }).click();
    await tags.getByText('Новый клиент', { exact: true }).waitFor({ state: 'detached' });
    assert.deepEqual((await read()).tags, [regular.id]);
    type Css = { getComputedStyle(e: unknown): { backgroundColor: string } };
    const colour = await tags.locator('.mantine-Badge-root', { hasText: 'Постоянный' }).evaluate((e) => (globalThis as unknown as Css).getComputedStyle(e).backgroundColor);
    assert.equal(colour, 'rgb(34, 139, 230)', 'a tag is shown in its colour');

    // The history, newest first: the tag removed, added, the save with old → new, the creation.
    await drawer.getByRole('tab', { name: 'История изменений' }).click();
    const timeline = drawer.getByTestId('timeline');
    await timeline.getByText('Уровень: Серебро → Золото').waitFor();
    await timeline.getByText('Визиты: 3 → 12').waitFor();
    await timeline.getByText('UTM Source | Источник кампании: google → yandex').waitFor();
    await timeline.getByText('UTM Campaign | Название кампании: пусто → spring').waitFor();
    await timeline.getByText('Клиент с: пусто → 31.12.2024').waitFor();
    await timeline.getByText('Теги: убран Новый клиент').waitFor();
    // The changes of one save in the order of the card: UTM before custom fields, those in their order.
    const lines = await timeline.getByTestId('change').allTextContents();
    assert.deepEqual(lines.slice(3, 9), [
      'UTM Source | Источник кампании: google → yandex',
      'UTM Campaign | Название кампании: пусто → spring',
      'Визиты: 3 → 12',
      'Уровень: Серебро → Золото',
      'VIP-клиент: пусто → да',
      'Клиент с: пусто → 31.12.2024',
    ]);
    const titles = await timeline.locator('.mantine-Timeline-itemTitle').allTextContents();
    assert.equal(titles.length, 5);
    assert.match(titles[0]!, /^Изменён\d\d\.\d\d\.\d{4} \d\d:\d\d · кто: admin$/);
    assert.match(titles[4]!, /^Создан/);
    await ui.shot('card-history');

    // Unsaved edits: Escape asks; staying keeps them; closing without saving drops them.
    await drawer.getByRole('tab', { name: 'Профиль' }).click();
    await drawer.getByLabel('Город').fill('Тверь');
    await page.keyboard.press('Escape');
    const ask = page.getByRole('dialog', { name: 'Изменения не сохранены' });
    await ask.getByText('В карточке есть несохранённые изменения').waitFor();
    await ask.getByRole('button', { name: 'Вернуться к карточке' }).click();
    await ask.waitFor({ state: 'hidden' });
    assert.equal(await drawer.getByLabel('Город').inputValue(), 'Тверь');
    await drawer.getByRole('button', { name: 'Закрыть карточку' }).click();
    await ask.getByRole('button', { name: 'Закрыть без сохранения' }).click();
    await drawer.waitFor({ state: 'hidden' });
    saved = await read();
    assert.equal(saved.city, 'Москва', 'closing without saving wrote nothing');
    assert.equal(patches.length, 2);

    // Reopened: the card is clean, and saving with «Сохранить и закрыть» from the question works.
    await page.getByRole('row').nth(1).click();
    assert.equal(await drawer.getByLabel('Город').inputValue(), 'Москва');
    await drawer.getByLabel('Город').fill('Тверь');
    await page.keyboard.press('Escape');
    await ask.getByRole('button', { name: 'Сохранить и закрыть' }).click();
    await drawer.waitFor({ state: 'hidden' });
    assert.equal((await read()).city, 'Тверь');
    assert.deepEqual(patches[2], { city: 'Тверь' });

    // A subscriber given a member's email is that member (seed 002): the card goes on with the member.
    const member = await ui.api<{ id: number }>('POST', `${b}/profiles`, { lastName: 'Соколова', firstName: 'Мария', phone: '+79990000077', email: 'maria@example.ru' });
    const subscriber = await ui.api<{ id: number; kind: string }>('POST', `${b}/profiles`, { firstName: 'Маша', email: 'm.sokolova@example.ru' });
    assert.equal(subscriber.kind, 'subscriber');
    const search = page.getByLabel(/^Поиск:/);
    await search.fill('m.sokolova@example.ru');
    await search.press('Enter');
    await page.getByTestId('found-count').getByText('Найден 1 клиент').waitFor();
    await page.getByTestId('rows').locator('[role=row][data-index]').first().click();
    await drawer.getByText('Подписчик').first().waitFor();
    await drawer.getByLabel('E-mail').fill('maria@example.ru');
    await drawer.getByRole('button', { name: 'Сохранить изменения' }).click();
    await drawer.getByText(`Клиент объединён с профилем ID ${member.id}`).waitFor();
    await drawer.getByRole('heading', { name: 'Соколова Мария' }).waitFor();
    assert.equal(await drawer.getByLabel('Телефон').inputValue(), '+7 999 000-00-77');
    const gone = await page.evaluate(async (u) => (await fetch(u)).status, `${b}/profiles/${subscriber.id}`);
    assert.equal(gone, 404, 'the subscriber is now the member');
    await ui.shot('card-merged');
  });
});
