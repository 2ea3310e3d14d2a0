// The import wizard in a real browser, on a base made through the API with two clients: an Excel file
// with two sheets (the second chosen), its columns matched by their Russian headers, a bad phone red in
// the preview; an «update only» dry run that changes nothing; the real run where the city of a client
// who has one is kept («только пустые») and an empty one is filled, a tag put on every row, the
// mapping saved as a template, the failed row as a file; the same headers again get the template by
// themselves; a big file stopped halfway keeps what it loaded. Each time what the user sees and what
// the API then has; the logs screen lists them all (the dry run's «Загрузить по-настоящему» runs the same file and settings). Run after `npm run build`: node --test test/ui-import.e2e.ts
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { ru, uiSession, type UiSession } from './ui.ts';

let s: UiSession | undefined;
after(() => s?.close());

async function workbook(sheets: Record<string, (string | number)[][]>): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) wb.addWorksheet(name).addRows(rows);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

describe('web UI: the import wizard', () => {
  it('sheet, template, policies, dry run, tags, error file, history, stop', { timeout: 300_000 }, async () => {
    const ui = (s = await uiSession({ name: 'import', demo: false, env: { KARTOTEKA_IMPORT_BATCH_SIZE: '500' } }));
    const { page, client } = ui;
    const base = await client.call('POST /bases', { body: { name: 'Импорт из Excel', emailsConsented: true } });
    const baseId = base.id;
    const vip = await client.call('POST /bases/{baseId}/tags', { path: { baseId }, body: { name: 'Из файла', color: '#7950f2' } });
    const olga = await client.call('POST /bases/{baseId}/profiles', { path: { baseId }, body: { lastName: 'Смирнова', firstName: 'Ольга', phone: '+79990001122', city: 'Москва' } });
    const oleg = await client.call('POST /bases/{baseId}/profiles', { path: { baseId }, body: { lastName: 'Орлов', firstName: 'Олег', phone: '+79990001133' } });
    const read = async (id: number) => client.call('GET /bases/{baseId}/profiles/{id}', { path: { baseId, id } });

    await page.reload();
    await page.getByTestId('base-card').filter({ hasText: 'Импорт из Excel' }).getByRole('button', { name: 'Открыть' }).click();
    await page.getByRole('tab', { name: 'Клиенты' }).click();
    await page.getByTestId('found-count').getByText('Найдено 2 клиента').waitFor();
    await page.getByRole('button', { name: 'Импорт' }).click();
    const dialog = page.getByRole('dialog');
    const file = await workbook({
      Справка: [['Это не клиенты']],
      Клиенты: [
        ['ФИО', 'Моб. телефон', 'Город'],
        ['Смирнова Ольга', '8 (999) 000-11-22', 'Тверь'],
        ['Орлов Олег', '+7 999 000-11-33', 'Казань'],
        ['Неверов Иван', '12345', 'Тула'],
      ],
    });
    await page.locator('input[type=file]').setInputFiles({ name: 'клиенты.xlsx', mimeType: 'application/octet-stream', buffer: file });

    // The first sheet has no clients: choose the second; its columns are matched by their headers.
    const preview = page.getByTestId('import-preview');
    await preview.getByText('Это не клиенты').waitFor();
    await dialog.getByLabel('Лист').click();
    await page.getByRole('option', { name: 'Клиенты', exact: true }).click();
    // The preview shows values as the card will: the phone formatted, the «ФИО» as the parts it is split into.
    await preview.getByText('+7 999 000-11-22').waitFor();
    assert.equal((await preview.getByTestId('preview-name').first().innerText()).replace(/\n+/g, '\n'), 'Фамилия: Смирнова\nИмя: Ольга');
    assert.equal(await preview.getByLabel('ФИО', { exact: true }).inputValue(), 'ФИО (одной колонкой)');
    assert.equal(await preview.getByLabel('Моб. телефон', { exact: true }).inputValue(), 'Телефон');
    const bad = preview.getByRole('cell').filter({ hasText: /телефон/i }).first();
    await bad.waitFor();
    assert.match((await bad.getAttribute('style')) ?? '', /red/, 'the bad phone is red');

    // «Update only», the city only where it is empty, a tag for every row, the mapping saved; a dry run first.
    await dialog.getByText('Только обновить').click();
    await dialog.getByLabel('Как обновлять «Город»', { exact: true }).click();
    await page.getByRole('option', { name: 'только пустые', exact: true }).click();
    await dialog.getByLabel('Теги всем загруженным', { exact: true }).click();
    await page.getByRole('option', { name: 'Из файла', exact: true }).click();
    await page.keyboard.press('Escape');
    await dialog.getByLabel('Сохранить сопоставление как шаблон').fill('Excel от кассы');
    await dialog.getByLabel('Пробный запуск (ничего не записывать)').check();
    await ui.shot('import-1-settings');
    await dialog.getByRole('button', { name: 'Загрузить', exact: true }).click();
    const result = page.getByTestId('import-result');
    await result.getByText('Пробный запуск: строк 3 — было бы создано 0, обновлено 2, без изменений 0, с ошибками 1').waitFor({ timeout: 30_000 });
    assert.equal((await read(olga.id)).city, 'Москва', 'a dry run writes nothing');
    assert.equal((await read(oleg.id)).city, null);

    // The same file and settings for real, from the dry run's result.
    await result.getByRole('button', { name: 'Загрузить по-настоящему' }).click();
    await result.getByText('Готово: строк 3 — создано 0, обновлено 2, без изменений 0, с ошибками 1').waitFor({ timeout: 30_000 });
    const [o1, o2] = [await read(olga.id), await read(oleg.id)];
    assert.equal(o1.city, 'Москва', 'a city already there is kept («только пустые»)');
    assert.equal(o2.city, 'Казань', 'an empty city is filled');
    assert.deepEqual([o1.tags, o2.tags], [[vip.id], [vip.id]]);
    const href = await result.getByRole('link', { name: 'Скачать строки с ошибками' }).getAttribute('href');
    const errors = await page.evaluate(async (u) => (await fetch(u)).status, `${ui.url}${href}`);
    assert.equal(errors, 200);
    const templates = await client.call('GET /bases/{baseId}/import-templates', { path: { baseId } });
    assert.deepEqual(templates.items.map((x) => x.name), ['Excel от кассы']);
    await ui.shot('import-2-done');

    // The history on the first step; the same headers again get the template by themselves.
    await result.getByRole('button', { name: 'Загрузить другой файл' }).click();
    const history = page.getByTestId('import-history');
    const logged = history.getByRole('row').filter({ hasText: 'создано 0, обновлено 2, без изменений 0, с ошибками 1' });
    await logged.first().waitFor();
    assert.deepEqual(await logged.first().getByRole('cell').nth(1).allTextContents(), ['клиенты.xlsx'], 'the real run, newest first');
    assert.deepEqual(await logged.first().getByRole('cell').nth(2).allTextContents(), ['admin'], 'who: the signed-in user by login');
    await logged.nth(1).getByText('клиенты.xlsx (пробный запуск)').waitFor();
    const again = await workbook({ Лист1: [['Город', 'ФИО', 'Моб. телефон'], ['Омск', 'Новикова Анна', '+7 999 000-11-44']] });
    await page.locator('input[type=file]').setInputFiles({ name: 'ещё.xlsx', mimeType: 'application/octet-stream', buffer: again });
    await dialog.getByText('Применён шаблон «Excel от кассы»').waitFor();
    await ui.shot('import-3-template');

    // A big file stopped halfway: what was loaded stays, and the count says how much.
    const rows: string[] = ['Телефон;Имя'];
    for (let i = 0; i < 60_000; i++) rows.push(`+7 (900) ${String(i).padStart(7, '0').replace(/(\d{3})(\d{2})(\d{2})/, '$1-$2-$3')};Клиент ${i}`);
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Импорт' }).click();
    await page.locator('input[type=file]').setInputFiles({ name: 'много.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n')) });
    await preview.getByText('+7 900 000-00-00').waitFor();
    await dialog.getByText('Создать и обновить').click(); // the wizard keeps the last mode chosen
    await dialog.getByRole('button', { name: 'Загрузить', exact: true }).click();
    // Stop once some batches are in.
    await result.getByText(/^Строк: [1-9]/).waitFor({ timeout: 60_000 });
    await result.getByRole('button', { name: 'Остановить' }).click();
    const stopped = result.getByText(/^Остановлено: загружено строк/);
    await stopped.waitFor({ timeout: 60_000 });
    const loaded = Number(((await stopped.textContent()) ?? '').replace(/\D/g, ''));
    const count = (await client.call('POST /bases/{baseId}/profiles/count', { path: { baseId }, body: {} })).count;
    assert.ok(loaded > 0 && loaded < 60_000, `stopped halfway (${loaded})`);
    assert.equal(count, 2 + loaded, 'the rows loaded before the stop are kept, the rest are not');
    await page.getByTestId('found-count').getByText(`Найдено ${ru(count)} клиент`, { exact: false }).waitFor();
    await ui.shot('import-4-stopped');

    // The logs screen: every import of the base with its file, size and rows; no exports yet.
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Журналы' }).click();
    const log = page.getByTestId('import-log');
    await log.getByText('много.csv').waitFor();
    // every upload is logged, started or not: the first sheet, the second, the real run, ещё.xlsx, много.csv
    assert.equal(await log.getByRole('row').count(), 1 + 5, 'a header and the five uploads');
    await log.getByRole('row').filter({ hasText: 'много.csv' }).getByText(new RegExp(`Б · ${ru(loaded)} строк`)).waitFor();
    const heads = await log.getByRole('columnheader').allInnerTexts();
    assert.equal(new Set(heads).size, heads.length, `every column has a heading of its own: ${heads.join(' | ')}`);
    // An upload never started can be removed (it is only a stored file); a started one cannot.
    const unstarted = log.getByRole('row').filter({ hasText: 'загружен, не запущен' });
    const before = await unstarted.count();
    assert.ok(before > 0, 'the first sheet was uploaded and never started');
    assert.equal(await log.getByRole('row').filter({ hasText: 'много.csv' }).getByRole('button', { name: 'Удалить загрузку' }).count(), 0);
    await unstarted.first().getByRole('button', { name: 'Удалить загрузку' }).click();
    await page.waitForFunction(`document.querySelectorAll('[data-testid="import-log"] tbody tr').length === ${5 - 1}`);
    await page.getByRole('tab', { name: 'Экспорт' }).click();
    await page.getByText('Из этой базы ещё ничего не выгружали.').waitFor();
    await ui.shot('import-5-logs');
  });
});
