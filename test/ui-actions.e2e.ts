// Mass actions in the web UI, in a real browser (Debian's Chromium driven by playwright-core) against
// the real server on a fresh embedded database without the demo base: a base and five clients made
// through the API; in the clients table two rows selected, tags added (an existing one and a new
// one coloured from the palette, created inline) and the new one removed; for «all found» a bad
// birth date refused in the dialog, then the city set as a background job with its progress bar; the
// two added to a new manual segment; the two exported as CSV with chosen columns. Each time what the
// user sees (messages, counts with their Russian plural forms) and what the API then returns.
// Run after `npm run build`: node --test test/ui-actions.e2e.ts
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { uiSession, type UiSession } from './ui.ts';

let s: UiSession | undefined;
after(() => s?.close());

const CLIENTS = [
  { lastName: 'Иванов', firstName: 'Иван', middleName: 'Петрович', city: 'Москва', phone: '+79990000001' },
  { lastName: 'Петрова', firstName: 'Мария', middleName: 'Ивановна', city: 'Тверь', phone: '+79990000002' },
  { lastName: 'Сидоров', firstName: 'Олег', city: 'Казань', phone: '+79990000003' },
  { lastName: 'Кузнецова', firstName: 'Анна', city: 'Омск', phone: '+79990000004' },
  { lastName: 'Смирнов', firstName: 'Павел', city: 'Тула', phone: '+79990000005' },
];

describe('web UI: mass actions', () => {
  it('tags, a field for all found (a job), a manual segment and a CSV export of the selection', { timeout: 240_000 }, async () => {
    const ui = (s = await uiSession({ name: 'actions', demo: false, env: { KARTOTEKA_BULK_SYNC_LIMIT: '3', KARTOTEKA_BULK_BATCH_SIZE: '1' } }));
    const { page, url } = ui;

    // A base, an existing tag (Иванов has it already), five clients, through the API.
    const v1 = `${url}/api/v1`;
    const base = await ui.api<{ id: number }>('POST', `${v1}/bases`, { name: 'Массовые действия', emailsConsented: true });
    const b = `${v1}/bases/${base.id}`;
    const regular = await ui.api<{ id: number }>('POST', `${b}/tags`, { name: 'Постоянный', color: '#228be6' });
    const ids: number[] = [];
    for (const c of CLIENTS) ids.push((await ui.api<{ id: number }>('POST', `${b}/profiles`, c)).id);
    await ui.api('POST', `${b}/profiles/${ids[0]}/tags`, { add: [regular.id] });
    const count = async (filter: unknown) => (await ui.api<{ count: number }>('POST', `${b}/profiles/count`, { filter })).count;
    const tagged = async (tagId: number) => (await ui.api<{ items: { id: number }[] }>('POST', `${b}/profiles/search`, { filter: { field: 'tags', op: 'hasAny', value: [tagId] }, limit: 100 })).items.map((p) => p.id).sort((x, y) => x - y);

    await page.reload();
    await page.getByTestId('base-card').filter({ hasText: 'Массовые действия' }).getByRole('button', { name: 'Открыть' }).click();
    await page.getByRole('tab', { name: 'Клиенты' }).click();
    const found = page.getByTestId('found-count');
    await found.getByText('Найдено 5 клиентов').waitFor();
    const rows = page.getByTestId('rows');
    const bar = page.getByTestId('action-bar');
    const notice = (text: string) => page.getByRole('alert').filter({ hasText: text }).first().waitFor();
    const selectTwo = async () => {
      await rows.getByRole('checkbox', { name: 'Иванов Иван Петрович', exact: true }).check();
      await rows.getByRole('checkbox', { name: 'Петрова Мария Ивановна', exact: true }).check();
      await bar.getByText('Выбрано 2 клиента').waitFor();
    };
    const two = [ids[0]!, ids[1]!].sort((x, y) => x - y);

    // 1. Two rows; add the existing tag and a new one, violet, created inline; Enter submits.
    await selectTwo();
    await ui.shot('actions-1-selected');
    await bar.getByRole('button', { name: 'Добавить теги' }).click();
    let dialog = page.getByRole('dialog', { name: 'Добавить теги 2 клиентам' });
    const tagsInput = dialog.getByLabel('Теги', { exact: true });
    await tagsInput.fill('Пост');
    await page.getByRole('option', { name: 'Постоянный' }).click();
    await tagsInput.fill('VIP');
    await tagsInput.press('Enter');
    const fresh = dialog.getByTestId('new-tag');
    await fresh.getByText('Новый тег «VIP» будет создан. Цвет:').waitFor();
    await fresh.getByRole('radio', { name: 'Цвет фиолетовый' }).click();
    assert.equal(await fresh.getByRole('radio', { name: 'Цвет фиолетовый' }).getAttribute('aria-checked'), 'true');
    // The chosen tags as pills in their colours.
    // (In the browser: the test's tsconfig has no DOM types.)
    type Css = { getComputedStyle(e: unknown): { backgroundColor: string } };
    const pillColors = await dialog
      .locator('.mantine-Pill-root')
      .evaluateAll((els) => els.map((e) => [(e as unknown as { textContent: string }).textContent, (globalThis as unknown as Css).getComputedStyle(e).backgroundColor]));
    assert.deepEqual(pillColors, [
      ['Постоянный', 'rgb(34, 139, 230)'],
      ['VIP', 'rgb(121, 80, 242)'],
    ]);
    await ui.shot('actions-2-add-tags');
    await tagsInput.press('Enter');
    await notice('Теги «Постоянный», «VIP» добавлены 2 клиентам');
    await bar.waitFor({ state: 'detached' }); // the selection is cleared after the action
    const tags = await ui.api<{ items: { id: number; name: string; color: string }[] }>('GET', `${b}/tags`);
    const vip = tags.items.find((x) => x.name === 'VIP');
    assert.equal(vip?.color, '#7950f2');
    assert.deepEqual(await tagged(vip.id), two);
    assert.deepEqual(await tagged(regular.id), two);
    await ui.shot('actions-3-tags-added');

    // 2. Remove the new tag from the same two.
    await selectTwo();
    await bar.getByRole('button', { name: 'Убрать теги' }).click();
    dialog = page.getByRole('dialog', { name: 'Убрать теги у 2 клиентов' });
    await dialog.getByLabel('Теги', { exact: true }).fill('VI');
    await page.getByRole('option', { name: 'VIP', exact: true }).click();
    await ui.shot('actions-4-remove-tags');
    // Escape closes the list of tags, not the dialog.
    await dialog.getByLabel('Теги', { exact: true }).press('Escape');
    await page.getByRole('option', { name: 'Постоянный' }).waitFor({ state: 'hidden' });
    assert.ok(await dialog.isVisible(), 'the dialog stays open');
    await dialog.getByRole('button', { name: 'Убрать теги у 2 клиентов' }).click();
    await notice('Тег «VIP» убран у 2 клиентов');
    assert.deepEqual(await tagged(vip.id), []);
    assert.deepEqual(await tagged(regular.id), two);

    // 3. All found: a birth date in the future is refused at the value, in the dialog; then the
    // city for all five as a job (more than 3), with its progress; Сидоров lived in Казань already.
    await page.getByRole('checkbox', { name: 'Выбрать всех найденных' }).check();
    await bar.getByText('Выбрано 5 клиентов').waitFor();
    await bar.getByRole('button', { name: 'Изменить поле' }).click();
    dialog = page.getByRole('dialog', { name: 'Изменить поле у 5 клиентов' });
    const fieldSelect = dialog.getByLabel('Поле', { exact: true });
    await fieldSelect.fill('Дата рожд');
    await page.getByRole('option', { name: 'Дата рождения', exact: true }).click();
    await dialog.getByLabel('Новое значение').fill('2999-01-01');
    await dialog.getByLabel('Новое значение').press('Enter');
    await dialog.getByText(/Дата рождения — реальная дата не раньше 1900 года и не в будущем/).waitFor();
    await ui.shot('actions-5-field-error');
    await fieldSelect.fill('Город');
    await page.getByRole('option', { name: 'Город', exact: true }).click();
    await dialog.getByLabel('Новое значение').fill('Казань');
    await dialog.getByLabel('Новое значение').press('Enter');
    await dialog.getByTestId('job-progress').waitFor();
    await dialog.getByTestId('job-progress').getByText(/^Выполняется: \d из 5$/).waitFor();
    // the bar says in words what it shows (read at one moment: the job moves on meanwhile)
    type Node = { getAttribute(n: string): string | null; textContent: string | null };
    const [spoken, shown] = await dialog.getByTestId('job-progress').evaluate((el) => {
      const e = el as unknown as { querySelector(s: string): Node | null; querySelectorAll(s: string): ArrayLike<Node> };
      return [e.querySelector('[role=progressbar]')?.getAttribute('aria-label'), Array.from(e.querySelectorAll('*'), (x) => x.textContent ?? '').filter((x) => x.startsWith('Выполняется')).sort((a, b) => a.length - b.length)[0]];
    });
    assert.ok(spoken && spoken === shown, `${spoken} / ${shown}`);
    await ui.shot('actions-6-field-job');
    await notice('Поле «Город» изменено у 4 клиентов. У 1 клиента так уже было.');
    assert.equal(await count({ field: 'city', op: 'eq', value: 'Казань' }), 5);
    const jobs = await ui.api<{ items: { kind: string; status: string; progress: { done: number; total: number } }[] }>('GET', `${b}/jobs`);
    assert.deepEqual(
      jobs.items.filter((j) => j.kind === 'bulk').map((j) => [j.status, j.progress.done, j.progress.total]),
      [['done', 5, 5], ['done', 2, 2], ['done', 2, 2]],
      'the city as a job of 5, the tags at once',
    );
    await ui.shot('actions-7-field-done');

    // 4. The two into a new manual segment, named in the dialog; Enter submits.
    await selectTwo();
    await bar.getByRole('button', { name: 'Добавить в сегмент' }).click();
    dialog = page.getByRole('dialog', { name: 'В сегмент: 2 клиента' });
    await dialog.getByText('В новый сегмент').click();
    await dialog.getByLabel('Название нового сегмента').fill('Акция март');
    await ui.shot('actions-8-segment');
    await dialog.getByLabel('Название нового сегмента').press('Enter');
    await notice('В сегмент «Акция март» добавлены 2 клиента');
    const segs = await ui.api<{ items: { id: number; name: string; kind: string; count: number | null }[] }>('GET', `${b}/segments`);
    const seg = segs.items.find((s) => s.name === 'Акция март');
    assert.deepEqual([seg?.kind, seg?.count], ['manual', 2]);
    assert.equal(await count({ field: 'segment', op: 'inSegment', value: seg!.id }), 2);

    // 5. Export the two as CSV, without the email and the creation date (the table's columns by default).
    await selectTwo();
    await bar.getByRole('button', { name: 'Экспорт' }).click();
    dialog = page.getByRole('dialog', { name: 'Экспорт клиентов' });
    await dialog.getByText('Будут выгружены 2 выбранных клиента.').waitFor();
    await dialog.getByText('CSV для Excel').click();
    const cols = dialog.getByTestId('export-columns');
    assert.equal(await cols.getByLabel('Фамилия', { exact: true }).isChecked(), true);
    assert.equal(await cols.getByLabel('Дата рождения', { exact: true }).isChecked(), false);
    await cols.getByLabel('E-mail', { exact: true }).uncheck();
    await cols.getByLabel('Дата создания', { exact: true }).uncheck();
    await cols.getByText('Выбрано 7 колонок').waitFor();
    await ui.shot('actions-9-export');
    await dialog.getByRole('button', { name: 'Выгрузить' }).click();
    const link = dialog.getByTestId('export-result').getByRole('link', { name: /^Скачать .*\.csv$/ });
    await link.waitFor({ timeout: 30_000 });
    const csv = await page.evaluate(async (u) => (await fetch(u)).text(), `${url}${await link.getAttribute('href')}`);
    const lines = csv.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
    assert.equal(lines[0], 'Фамилия;Имя;Отчество;Телефон;Номер карты;Город;Теги');
    assert.equal(lines.length, 3, csv);
    assert.ok(lines.some((l) => l.startsWith('Иванов;Иван;Петрович;') && l.includes(';Казань;Постоянный')), csv);
    assert.ok(lines.some((l) => l.startsWith('Петрова;Мария;Ивановна;') && l.includes(';Казань;Постоянный')), csv);
    // In the table's order (newest first), not the order the clients were stored in.
    const tableOrder = (await rows.locator('[role=row][aria-selected=true]').allTextContents()).map((x) => (x.includes('Петрова') ? 'Петрова' : x.includes('Иванов') ? 'Иванов' : '')).filter(Boolean);
    assert.deepEqual(lines.slice(1).map((l) => l.split(';')[0]), tableOrder);
    const log = await ui.api<{ items: { format: string; rows: number; columns: string[]; source: unknown }[] }>('GET', `${b}/exports`);
    assert.deepEqual(log.items[0], {
      ...log.items[0]!,
      format: 'csv',
      rows: 2,
      columns: ['lastName', 'firstName', 'middleName', 'phone', 'cardNumber', 'city', 'tags'],
    });
    assert.deepEqual(((log.items[0]!.source as { ids: number[] }).ids ?? []).slice().sort((x, y) => x - y), two);
    assert.deepEqual((log.items[0]!.source as { sort?: unknown }).sort, [{ field: 'createdAt', dir: 'desc' }]);
    await ui.shot('actions-10-exported');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    // The selection stays after an export (nothing changed).
    await bar.getByText('Выбрано 2 клиента').waitFor();
  });
});
