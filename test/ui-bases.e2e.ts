// A profile base's settings in a real browser (Debian's Chromium driven by playwright-core) against
// the real server on a fresh embedded database without the demo base: the admin's session is opened
// through the API and handed to the browser; a base with a list field and a text field is made through
// the API, and a client holding a value of each. Then, in the settings dialog: rename the base; an
// option the client holds cannot be renamed away (the error at the options); rename the list field,
// add an option, make it required with a default; a new field refused at its key, then fixed; a bad sender email refused
// at its input on its tab; delete the text field; delete the base by typing its name. After each step
// the API says what was saved. Screenshots in test-results/ui/bases-*.png.
// Run after `npm run build`: node --test test/ui-bases.e2e.ts
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uiSession } from './ui.ts';

describe('profile base settings in the web UI', () => {
  it('edits a base, its fields and sender with the API errors at their inputs, deletes a field and the base', { timeout: 180_000 }, async (t) => {
    const ui = await uiSession({ name: 'bases', demo: false, viewport: { width: 1400, height: 900 } });
    t.after(() => ui.close());
    const { page, client: api } = ui;

    const base = await api.call('POST /bases', { body: { name: 'Кофейня', emailsConsented: true, sender: { name: 'Кофейня', email: 'cafe@example.ru' } } });
    const baseId = base.id;
    await api.call('POST /bases/{baseId}/fields', { path: { baseId }, body: { key: 'level', type: 'list', label: { ru: 'Уровень' }, listMode: 'static', options: ['Серебро', 'Золото'] } });
    await api.call('POST /bases/{baseId}/fields', { path: { baseId }, body: { key: 'note', type: 'string', label: { ru: 'Заметка' } } });
    await api.call('POST /bases/{baseId}/profiles', { path: { baseId }, body: { firstName: 'Ольга', phone: '+79990001122', fields: { level: 'Серебро', note: 'любит капучино' } } });
    const field = async (key: string) => (await api.call('GET /bases/{baseId}/fields', { path: { baseId } })).items.find((f) => f.key === key);

    const shot = (name: string) => ui.shot(`bases-${name}`);
    await page.reload();
    await page.getByRole('heading', { name: 'Базы профилей' }).waitFor();

    // The settings of the base: its basic settings, filled from the API.
    await page.getByTestId('base-card').filter({ hasText: 'Кофейня' }).getByRole('button', { name: /^Настройки/ }).click();
    const dialog = page.getByRole('dialog', { name: /Настройки базы/ });
    const status = dialog.getByTestId('settings-status');
    // A save has been answered (the status line alone would match before the click as well).
    const saveAndWait = async () => {
      const answered = page.waitForResponse((r) => r.request().method() !== 'GET' && r.url().includes('/api/v1/bases/'));
      await dialog.getByRole('button', { name: 'Сохранить изменения' }).click();
      await answered;
      await status.getByText(/Сохранено|Изменения/).waitFor();
    };
    const tab = (name: string) => dialog.getByRole('tab', { name: new RegExp(`^${name}`) });
    const nameInput = dialog.getByRole('textbox', { name: /^Название/ });
    assert.equal(await nameInput.inputValue(), 'Кофейня');
    assert.equal(await dialog.getByRole('button', { name: 'Сохранить изменения' }).isDisabled(), true, 'nothing to save yet');
    await shot('1-settings');

    // 1. Rename the base; the phone numbers' country picked by name from a list, not typed as a code.
    await nameInput.fill('Кофейня на Тверской');
    assert.equal(await dialog.getByLabel('Страна телефонов', { exact: true }).inputValue(), 'Россия (+7)');
    await dialog.getByLabel('Страна телефонов', { exact: true }).click();
    await page.getByRole('option', { name: 'Казахстан (+7)' }).click();
    await status.getByText('Изменения: основные настройки').waitFor();
    await saveAndWait();
    await status.getByText('Сохранено').waitFor();
    const renamed = await api.call('GET /bases/{baseId}', { path: { baseId } });
    assert.deepEqual([renamed.name, renamed.phoneRegion], ['Кофейня на Тверской', 'KZ']);
    await dialog.getByRole('heading', { name: 'Настройки базы «Кофейня на Тверской»' }).waitFor();
    await shot('2-renamed');

    // 2. The fields: standard ones locked; the list field renamed, a third option, required, a default.
    await tab('Поля').click();
    const email = dialog.getByTestId('field-email');
    await email.getByRole('img', { name: 'Стандартное поле: не меняется' }).waitFor();
    await email.getByText('стандартное поле').waitFor();
    assert.equal(await email.getByRole('textbox').count(), 0, 'a standard field has nothing to edit');
    const level = dialog.getByTestId('field-level');
    const options = level.getByLabel('Варианты через запятую или по одному в строке');
    // Renaming an option a client holds is refused, at the options.
    await options.fill('Серебряный\nЗолото');
    await saveAndWait();
    await level.getByText(/например «Серебро»/).waitFor();
    assert.equal(await options.getAttribute('aria-invalid'), 'true', 'the error is at the options');
    assert.deepEqual((await field('level'))?.options, ['Серебро', 'Золото']);
    await shot('3a-option-in-use');
    await level.getByLabel('Название поля').fill('Уровень карты');
    await level.getByLabel('Название по-английски').fill('Card level');
    await options.fill('Серебро\nЗолото\nПлатина');
    await level.getByLabel('Обязательное').check();
    await level.getByLabel('По умолчанию').click();
    await page.getByRole('option', { name: 'Платина', exact: true }).click();
    await status.getByText('Изменения: поля (изменено 1, новых 0)').waitFor();
    await saveAndWait();
    await status.getByText('Сохранено').waitFor();
    const saved = await field('level');
    assert.deepEqual(
      { label: saved?.label, options: saved?.options, required: saved?.required, default: saved?.default, listMode: saved?.listMode },
      { label: { ru: 'Уровень карты', en: 'Card level' }, options: ['Серебро', 'Золото', 'Платина'], required: true, default: 'Платина', listMode: 'static' },
    );
    await shot('3-list-field');

    // 3. A new field with a bad key is refused at its key; fixed, it is created as a whole number with a default.
    await dialog.getByRole('button', { name: 'Добавить поле' }).click();
    const added = dialog.getByTestId(/^field-new-/);
    await added.getByLabel('Ключ').fill('1visits');
    await added.getByLabel('Название поля').fill('Визиты');
    await added.getByLabel('Тип').click();
    await page.getByRole('option', { name: 'Целое число', exact: true }).click();
    await added.getByLabel('По умолчанию').fill('5');
    await saveAndWait();
    await added.getByText(/Ключ: латинская буква/).waitFor();
    assert.equal(await added.locator('.mantine-InputWrapper-error').count(), 1, 'the error is at the key only');
    assert.equal(await field('1visits'), undefined);
    await shot('4-new-field-error');
    await added.getByLabel('Ключ').fill('visits');
    await saveAndWait();
    await status.getByText('Сохранено').waitFor();
    const visits = await field('visits');
    assert.deepEqual([visits?.type, visits?.label.ru, visits?.default], ['int', 'Визиты', 5]);
    await dialog.getByTestId('field-visits').getByText('visits', { exact: true }).waitFor();

    // 4. A bad sender email, saved from another tab: the dialog turns to the sender tab, the error is at that input.
    await tab('Отправитель').click();
    const senderEmail = dialog.getByLabel('Email отправителя');
    await senderEmail.fill('not-an-email');
    await tab('Основные настройки').click();
    await saveAndWait();
    await senderEmail.waitFor();
    assert.equal(await tab('Отправитель').getAttribute('aria-selected'), 'true', 'the tab with the error is shown');
    const error = dialog.locator('.mantine-InputWrapper-error');
    assert.equal(await error.count(), 1);
    assert.match((await error.textContent()) ?? '', /Не похоже на email: «not-an-email»/);
    assert.equal(await senderEmail.getAttribute('aria-invalid'), 'true', 'the error belongs to the sender email input');
    assert.equal((await api.call('GET /bases/{baseId}', { path: { baseId } })).sender.email, 'cafe@example.ru', 'nothing was saved');
    await shot('5-sender-error');
    await senderEmail.fill('hello@example.ru');
    await saveAndWait();
    await status.getByText('Сохранено').waitFor();
    assert.equal((await api.call('GET /bases/{baseId}', { path: { baseId } })).sender.email, 'hello@example.ru');

    // 5. Delete the text field: asked first, then gone from the table and from the API.
    await tab('Поля').click();
    await dialog.getByTestId('field-note').getByRole('button', { name: 'Удалить поле «Заметка»' }).click();
    const confirmField = page.getByRole('dialog', { name: 'Удаление поля «Заметка»' });
    await confirmField.getByText('Поле удалится вместе с его значениями').waitFor();
    await shot('6-delete-field');
    await confirmField.getByRole('button', { name: 'Удалить поле и значения' }).click();
    await confirmField.waitFor({ state: 'detached' });
    await dialog.getByTestId('field-note').waitFor({ state: 'detached' });
    assert.equal(await field('note'), undefined);
    assert.ok(await field('level'), 'the other fields stay');

    // 6. Delete the base: only once its name is typed.
    await tab('Основные настройки').click();
    await dialog.getByRole('button', { name: 'Удалить базу' }).click();
    const confirmBase = page.getByRole('dialog', { name: /Удаление базы/ });
    const deleteBase = confirmBase.getByRole('button', { name: 'Удалить базу навсегда' });
    assert.equal(await deleteBase.isDisabled(), true, 'deleting waits for the name');
    await confirmBase.getByLabel(/Чтобы подтвердить, введите название базы/).fill('Кофейня на Тверской');
    await shot('7-delete-base');
    await deleteBase.click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText(/Баз пока нет/).waitFor();
    assert.deepEqual((await api.call('GET /bases')).items, []);
    await shot('8-deleted');
  });
});
