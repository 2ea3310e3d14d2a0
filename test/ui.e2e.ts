// The web UI in a real browser (Debian's Chromium driven by playwright-core) against the real
// server on a fresh embedded database with the demo base: sign in with the one-time password,
// change it, create a base with a custom list field in the wizard, open the demo base, search with two values as chips, edit a client in its card,
// import a CSV through the wizard, export the search to XLSX, tag two selected clients with a new
// tag and delete them with «УДАЛИТЬ», filter with an AND/OR group and save it as a segment, switch
// to English.
// Run by .ci/run after `npm run build`: node --test test/ui.e2e.ts
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ru, uiSession, type UiSession } from './ui.ts';

let s: UiSession | undefined;
after(() => s?.close());
describe('web UI', () => {
  it('signs in, changes the one-time password, finds clients in the demo base, in Russian and English', { timeout: 180_000 }, async () => {
    const ui = (s = await uiSession({ name: 'walkthrough', signIn: false, viewport: { width: 1280, height: 800 } }));
    const { url, password, page } = ui;
    await page.goto(url);
    await page.getByRole('heading', { name: 'Войти' }).waitFor();
    await ui.shot('1-sign-in');
    // A wrong password is refused with the server's message, shown on the form.
    await page.getByLabel('Пароль').fill('wrong-password');
    await page.getByRole('button', { name: 'Войти' }).click();
    await page.getByText('Неверный логин или пароль').waitFor();
    await page.getByLabel('Пароль').fill(password);
    await page.getByRole('button', { name: 'Войти' }).click();
    await page.getByRole('heading', { name: 'Сменить пароль' }).waitFor();
    // One rule on the screen and in the server's answer; the new password typed twice; the current one named so.
    await page.getByText('не короче 10 символов').waitFor();
    await page.getByLabel('Текущий пароль').fill(password);
    await page.getByLabel('Новый пароль', { exact: true }).fill('short');
    await page.getByLabel('Новый пароль ещё раз').fill('shorter');
    await page.getByRole('button', { name: 'Сменить пароль' }).click();
    await page.getByText('Пароли не совпадают').waitFor();
    await page.getByLabel('Новый пароль ещё раз').fill('short');
    await page.getByRole('button', { name: 'Сменить пароль' }).click();
    await page.getByText('Пароль — не короче 10 символов').waitFor();
    await page.getByLabel('Новый пароль', { exact: true }).fill('a-new-password-for-ui-test');
    await page.getByLabel('Новый пароль ещё раз').fill('a-new-password-for-ui-test');
    await page.getByRole('button', { name: 'Сменить пароль' }).click();
    await page.getByRole('heading', { name: 'Базы профилей' }).waitFor();
    // Each base says how many clients it holds: the demo base as many as the API counts.
    const demoCount = await page.evaluate(async (u) => ((await (await fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { count: number }).count, `${url}/api/v1/bases/1/profiles/count`);
    await page.getByTestId('base-clients').first().getByText(new RegExp(`^${ru(demoCount)} клиент`)).waitFor();
    await ui.shot('2-bases');

    // The base wizard: basic settings, a custom list field, a bad sender email refused at its field on
    // its step, fixed, created; the new (empty) base opens.
    await page.getByRole('button', { name: 'Создать базу' }).click();
    const wiz = page.getByRole('dialog');
    await wiz.getByLabel('Название', { exact: false }).first().fill('Салон красоты');
    await wiz.getByLabel('Все email в базе согласились получать рассылки').check();
    await wiz.getByRole('button', { name: 'Далее' }).click();
    await wiz.getByRole('button', { name: 'Добавить поле' }).click();
    await wiz.getByLabel('Ключ').fill('level');
    await wiz.getByLabel('Название поля').fill('Уровень');
    await wiz.getByLabel('Тип').click();
    await page.getByRole('option', { name: 'Список', exact: true }).click();
    await wiz.getByLabel('Варианты через запятую').fill('Серебро, Золото');
    await wiz.getByRole('button', { name: 'Далее' }).click();
    await wiz.getByLabel('Email отправителя').fill('not-an-email');
    await wiz.getByRole('button', { name: 'Далее' }).click();
    await wiz.getByRole('button', { name: 'Создать' }).click();
    await wiz.getByLabel('Email отправителя').waitFor();
    assert.equal(await wiz.locator('.mantine-InputWrapper-error').count(), 1, 'the bad sender email is refused at its field');
    await ui.shot('2a-base-wizard-error');
    await wiz.getByLabel('Email отправителя').fill('salon@example.ru');
    await wiz.getByRole('button', { name: 'Далее' }).click();
    await wiz.getByRole('button', { name: 'Создать' }).click();
    await page.getByText('В базе пока нет клиентов', { exact: false }).waitFor();
    const created = await page.evaluate(async (u) => {
      const bases = (await (await fetch(`${u}/bases`)).json()) as { items: { id: number; name: string; sender: { email: string | null } }[] };
      const b = bases.items.find((x) => x.name === 'Салон красоты')!;
      const fields = (await (await fetch(`${u}/bases/${b.id}/fields`)).json()) as { items: { key: string; type: string; options: string[] }[] };
      return { sender: b.sender.email, level: fields.items.find((f) => f.key === 'level') };
    }, `${url}/api/v1`);
    assert.deepEqual(created, { sender: 'salon@example.ru', level: { ...created.level!, key: 'level', type: 'list', options: ['Серебро', 'Золото'] } });
    await page.getByRole('link', { name: '← Все базы' }).click();
    await page.getByRole('heading', { name: 'Базы профилей' }).waitFor();
    await page.getByTestId('base-card').filter({ hasText: 'Демо' }).getByRole('button', { name: 'Открыть' }).click();
    await page.getByRole('tab', { name: 'Клиенты' }).click();
    const count = page.getByTestId('found-count');
    await count.getByText(`Найдено ${ru(10000)} клиентов`).waitFor();
    assert.ok((await page.getByRole('row').count()) > 10, 'rows are shown');
    await ui.shot('3-clients');

    // Two values as chips: each Enter adds one; the count is the API's for the same query.
    const search = page.getByLabel(/Поиск/);
    await search.fill('Иван');
    await search.press('Enter');
    await search.fill('Мария');
    await search.press('Enter');
    // A chip reads as typed, not in capitals.
    assert.deepEqual(await page.getByTestId('search-chip').allInnerTexts(), ['Иван', 'Мария']);
    const api = await page.evaluate(async (u) => {
      const r = await fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: ['Иван', 'Мария'] }) });
      return (await r.json()) as { count: number };
    }, `${url}/api/v1/bases/1/profiles/count`);
    assert.ok(api.count > 0 && api.count < 10000, `the API finds ${api.count}`);
    await count.getByText(new RegExp(`^Найден[оа]? ${ru(api.count)} клиент`)).waitFor();
    const firstRow = page.getByRole('row').nth(1);
    assert.match((await firstRow.textContent()) ?? '', /Иван|Мария/);
    await ui.shot('4-search');

    // The client card: a bad email is refused at its field; a new city is saved and the API has it.
    await firstRow.click();
    const drawer = page.getByRole('dialog');
    await drawer.getByText('Карточка клиента').waitFor();
    const id = await page.evaluate(async (u) => {
      const r = await fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: ['Иван', 'Мария'], limit: 1, sort: [{ field: 'createdAt', dir: 'desc' }] }) });
      return ((await r.json()) as { items: { id: number }[] }).items[0]!.id;
    }, `${url}/api/v1/bases/1/profiles/search`);
    await drawer.getByLabel('E-mail').fill('not-an-email');
    await drawer.getByRole('button', { name: 'Сохранить изменения' }).click();
    await drawer.getByText(/Не похоже на email/).waitFor();
    assert.equal(await drawer.locator('.mantine-InputWrapper-error').count(), 1, 'the error is shown at the email field');
    await drawer.getByLabel('E-mail').fill('ui.test@example.ru');
    await drawer.getByLabel('Город').fill('Тверь');
    await drawer.getByRole('button', { name: 'Сохранить изменения' }).click();
    await drawer.getByText('Сохранено').waitFor();
    await drawer.getByRole('tab', { name: 'История изменений' }).click();
    await drawer.getByTestId('timeline').getByText(/Изменён/).first().waitFor();
    await ui.shot('5-card');
    const saved = await page.evaluate(async (u) => (await (await fetch(u)).json()) as { city: string; email: string }, `${url}/api/v1/bases/1/profiles/${id}`);
    assert.deepEqual([saved.city, saved.email], ['Тверь', 'ui.test@example.ru']);
    await page.keyboard.press('Escape');

    // The import wizard: a Windows-style CSV, the mapping found by its headers, a bad phone shown in
    // red before anything is written, then the import with its counts and the failed rows to download.
    await page.getByRole('button', { name: 'Импорт' }).click();
    const csv = '\uFEFFФИО;Моб. телефон;Город\r\nТестова Ольга Игоревна;8 (999) 000-11-22;Тверь\r\nНеверов Иван;12345;Тула\r\nТестов Олег;+7 999 000-11-33;Омск\r\n';
    await page.locator('input[type=file]').setInputFiles({ name: 'клиенты.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const preview = page.getByTestId('import-preview');
    await preview.getByText('+7 999 000-11-22').waitFor();
    assert.equal((await preview.getByTestId('preview-name').first().innerText()).replace(/\n+/g, '\n'), 'Фамилия: Тестова\nИмя: Ольга\nОтчество: Игоревна');
    await page.getByRole('button', { name: 'Загрузить', exact: true }).click();
    const result = page.getByTestId('import-result');
    await result.getByText('Готово: строк 3 — создано 2, обновлено 0, без изменений 0, с ошибками 1').waitFor({ timeout: 30_000 });
    assert.equal(await result.getByText(/строк\/с/).count(), 0, 'no estimate or rate once it has ended');
    const href = await result.getByRole('link', { name: 'Скачать строки с ошибками' }).getAttribute('href');
    const failed = await page.evaluate(async (u) => (await fetch(u)).text(), `${url}${href}`);
    assert.match(failed, /Неверов Иван;12345;Тула;3;/);
    await ui.shot('6-import');
    // The import log on the wizard's first step: the file, who, the counts.
    await page.getByRole('button', { name: 'Загрузить другой файл' }).click();
    const history = page.getByTestId('import-history');
    await history.getByText('клиенты.csv').waitFor();
    await history.getByText(/создано 2, обновлено 0, без изменений 0, с ошибками 1/).waitFor();
    await page.keyboard.press('Escape');
    const imported = await page.evaluate(async (u) => {
      const r = await fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: '+79990001122' }) });
      return (await r.json()) as { items: { city: string }[] };
    }, `${url}/api/v1/bases/1/profiles/search`);
    assert.deepEqual(imported.items.map((p) => p.city), ['Тверь']);

    // Export what the search shows (Иван OR Мария) to XLSX; the file downloads; the log has it.
    await page.getByRole('button', { name: 'Экспорт' }).click();
    await page.getByText(new RegExp(`^Буд(ет|ут) выгружен[оы]? ${ru(api.count)} найденн`)).waitFor();
    await page.getByRole('button', { name: 'Выгрузить' }).click();
    const link = page.getByTestId('export-result').getByRole('link', { name: /^Скачать .*\.xlsx$/ });
    await link.waitFor({ timeout: 30_000 });
    const xlsx = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { status: r.status, type: r.headers.get('content-type'), size: (await r.arrayBuffer()).byteLength };
    }, `${url}${await link.getAttribute('href')}`);
    assert.equal(xlsx.status, 200);
    assert.match(xlsx.type ?? '', /spreadsheetml/);
    const log = await page.evaluate(async (u) => (await (await fetch(u)).json()) as { items: { rows: number; format: string }[] }, `${url}/api/v1/bases/1/exports`);
    assert.deepEqual([log.items[0]!.format, log.items[0]!.rows], ['xlsx', api.count]);
    await page.getByTestId('export-log').getByText(new RegExp(`^${ru(api.count)} строк`)).waitFor();
    await ui.shot('7-export');
    await page.keyboard.press('Escape');

    // Select two clients, tag them with a new tag created on the spot, then delete them by typing УДАЛИТЬ.
    const rowsNow = page.getByRole('row');
    const names = [((await rowsNow.nth(1).textContent()) ?? '').trim(), ((await rowsNow.nth(2).textContent()) ?? '').trim()];
    await rowsNow.nth(1).getByRole('checkbox').check();
    await rowsNow.nth(2).getByRole('checkbox').check();
    const bar = page.getByTestId('action-bar');
    await bar.getByText('Выбрано 2 клиента').waitFor();
    await bar.getByRole('button', { name: 'Добавить теги' }).click();
    const tagInput = page.getByRole('dialog').getByLabel('Теги', { exact: true });
    await tagInput.fill('Проверка UI');
    await tagInput.press('Enter'); // the new tag joins the list
    await tagInput.press('Enter'); // an empty Enter submits the dialog
    await page.getByText('Тег «Проверка UI» добавлен 2 клиентам').waitFor();
    const tagged = await page.evaluate(async (u) => {
      const tags = (await (await fetch(`${u}/tags`)).json()) as { items: { id: number; name: string }[] };
      const tag = tags.items.find((x) => x.name === 'Проверка UI')!;
      const r = await fetch(`${u}/profiles/count`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filter: { field: 'tags', op: 'hasAny', value: [tag.id] } }) });
      return ((await r.json()) as { count: number }).count;
    }, `${url}/api/v1/bases/1`);
    assert.equal(tagged, 2);
    await rowsNow.nth(1).getByRole('checkbox').check();
    await rowsNow.nth(2).getByRole('checkbox').check();
    await bar.getByRole('button', { name: 'Удалить' }).click();
    const confirm = page.getByRole('dialog');
    const del = confirm.getByRole('button', { name: 'Удалить клиентов: 2' });
    assert.equal(await del.isDisabled(), true, 'deleting waits for УДАЛИТЬ');
    for (const slip of ['удалить', 'DELETE', 'delete']) {
      await confirm.getByLabel('Чтобы подтвердить, введите УДАЛИТЬ').fill(slip);
      assert.equal(await del.isDisabled(), true, `«${slip}» is not the word asked for`);
    }
    await confirm.getByLabel('Чтобы подтвердить, введите УДАЛИТЬ').fill('УДАЛИТЬ');
    await ui.shot('8-delete');
    await del.click();
    await page.getByText('Удалены 2 клиента').waitFor();
    await count.getByText(new RegExp(`^Найден[оа]? ${ru(api.count - 2)} клиент`)).waitFor();
    assert.ok(!names.includes(((await rowsNow.nth(1).textContent()) ?? '').trim()), 'the deleted clients are gone from the table');

    // The filter builder: email filled AND (city = Москва OR city = Тверь), on top of the search; the count
    // is the API's for the same query; saved as a segment.
    const fb = page.getByTestId('filter-builder');
    await fb.getByRole('button', { name: 'Фильтр', exact: true }).click();
    await fb.getByRole('button', { name: 'Добавить условие' }).click();
    await fb.getByLabel('Поле').first().click();
    await page.getByRole('option', { name: 'E-mail', exact: true }).click();
    await fb.getByLabel('Условие').first().click();
    await page.getByRole('option', { name: 'заполнено', exact: true }).click();
    await fb.getByRole('button', { name: 'Добавить группу' }).click();
    await fb.getByLabel('Значение').nth(0).fill('Москва');
    await fb.getByLabel('Значение').nth(1).fill('Тверь');
    await fb.getByRole('button', { name: 'Применить' }).click();
    const filter = { and: [{ field: 'email', op: 'isNotEmpty' }, { or: [{ field: 'city', op: 'eq', value: 'Москва' }, { field: 'city', op: 'eq', value: 'Тверь' }] }] };
    const filtered = await page.evaluate(
      async ([u, f]) => {
        const r = await fetch(u as string, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: ['Иван', 'Мария'], filter: f }) });
        return ((await r.json()) as { count: number }).count;
      },
      [`${url}/api/v1/bases/1/profiles/count`, filter] as const,
    );
    assert.ok(filtered > 0 && filtered < api.count - 2, `the filter narrows the search: ${filtered}`);
    await count.getByText(new RegExp(`^Найден[оа]? ${ru(filtered)} клиент`)).waitFor();
    await fb.getByRole('button', { name: 'Изменить фильтр' }).click();
    await fb.getByLabel('Название сегмента').fill('Москва и Тверь с email');
    await fb.getByRole('button', { name: 'Сохранить как сегмент' }).click();
    await fb.getByText('Сегмент «Москва и Тверь с email» сохранён').waitFor();
    await ui.shot('9-filter');
    const segs = await page.evaluate(async (u) => (await (await fetch(u)).json()) as { items: { name: string; query: unknown }[] }, `${url}/api/v1/bases/1/segments`);
    const seg = segs.items.find((x) => x.name === 'Москва и Тверь с email');
    assert.deepEqual(seg?.query, { q: ['Иван', 'Мария'], filter });
    await fb.getByRole('button', { name: 'Сбросить' }).click();
    await count.getByText(new RegExp(`^Найден[оа]? ${ru(api.count - 2)} клиент`)).waitFor();

    await page.getByText('EN', { exact: true }).click();
    await count.getByText(new RegExp(`^${new Intl.NumberFormat('en-GB').format(api.count - 2)} clients? found`)).waitFor();
    await page.getByRole('button', { name: /Sign out/ }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });
});
