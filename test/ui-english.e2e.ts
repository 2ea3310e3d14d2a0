// The English UI in a real browser: with the switch on EN, the screens' own words — headings, buttons,
// labels, placeholders, column headers, tabs, accessible names — hold no Russian (the demo clients'
// names and cities are data and stay as they are), and counts are written the English way.
// Run after `npm run build`: node --test test/ui-english.e2e.ts
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { uiSession, type UiSession } from './ui.ts';

let s: UiSession | undefined;
after(() => s?.close());

/** The UI's own words on the page now (not the data in table cells, inputs or badges of tags). */
async function chrome(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const out = [];
    const sel = 'h1,h2,h3,h4,button,label,th,[role=columnheader],[role=tab],legend,.mantine-InputWrapper-description,.mantine-Alert-title,.mantine-Modal-title,.mantine-Drawer-title,.mantine-SegmentedControl-label';
    for (const el of document.querySelectorAll(sel)) {
      if (el.closest('[role=row][data-index]')) continue; // table rows are data
      const t = (el.textContent || '').trim();
      if (t) out.push(t);
    }
    for (const el of document.querySelectorAll('[placeholder],[aria-label],[title]')) {
      if (el.closest('[role=row][data-index]')) continue;
      for (const a of ['placeholder', 'aria-label', 'title']) { const v = el.getAttribute(a); if (v) out.push(v); }
    }
    return out;
  })()`);
}

const DATA = /Демо|Москва|Одежда|Продукты|Обувь|Электроника|Косметика|Товары для дома|Детские товары|Спорт и отдых|VIP|Новичок|Постоянный клиент|Отток|Оптовик/;
const data: string[] = [];
const russian = (texts: string[]) =>
  [...new Set(texts.filter((x) => /[А-Яа-яЁё]/.test(data.reduce((t, d) => t.replaceAll(d, ''), x.replace(new RegExp(DATA.source, 'g'), '')))))];

describe('web UI in English', () => {
  it('has no Russian in its own words on the main screens', { timeout: 240_000 }, async () => {
    const ui = (s = await uiSession({ name: 'english' }));
    const { page } = ui;
    await page.getByText('EN', { exact: true }).click();
    await page.getByRole('heading', { name: 'Profile bases' }).waitFor();
    const found: Record<string, string[]> = {};
    const check = async (screen: string) => {
      const r = russian(await chrome(page));
      if (r.length) found[screen] = r;
    };
    await check('bases');
    await page.getByTestId('base-card').filter({ hasText: 'Демо' }).getByRole('button', { name: /^Settings/ }).click();
    await page.getByRole('dialog').getByRole('tab').first().waitFor();
    await check('base settings');
    for (const tab of await page.getByRole('dialog').getByRole('tab').all()) {
      await tab.click();
      await page.getByRole('dialog').getByRole('tabpanel').first().waitFor();
      // the fields tab lists the base's fields once they are read
      if ((await tab.getAttribute('aria-controls'))?.includes('fields')) await page.getByRole('dialog').getByText('Last name').first().waitFor();
      await check(`base settings: ${await tab.textContent()}`);
    }
    await page.keyboard.press('Escape');
    await page.getByTestId('base-card').filter({ hasText: 'Демо' }).getByRole('button', { name: 'Open' }).click();
    await page.getByRole('tab', { name: 'Clients' }).click();
    await page.getByTestId('found-count').getByText('10,000 clients found').waitFor();
    await check('clients');
    await page.getByTestId('filter-builder').getByRole('button', { name: 'Filter', exact: true }).click();
    await page.getByTestId('filter-builder').getByRole('button', { name: 'Add a condition' }).click();
    await page.getByTestId('filter-builder').getByLabel('Field').first().waitFor();
    await check('filter builder');
    await page.getByRole('button', { name: 'Column settings' }).click();
    await page.getByTestId('column-settings').waitFor();
    await check('column settings');
    await page.keyboard.press('Escape');
    const first = page.getByTestId('rows').locator('[role=row][data-index]').first();
    // the client's name heads the card: data, like the table's cells
    const cells = await first.locator('[role=cell]').allTextContents();
    const name = cells.slice(1, 4).join(' ').trim();
    data.push(name);
    await first.click();
    await page.getByRole('dialog').getByRole('textbox', { name: 'Last name' }).waitFor();
    await check('client card');
    await page.getByRole('dialog').getByRole('tab').nth(1).click();
    await page.getByRole('dialog').getByText('Created').first().waitFor();
    await check('client card: history');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByRole('dialog').waitFor();
    await check('import');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    await page.getByRole('dialog').waitFor();
    await check('export');
    await page.keyboard.press('Escape');
    await page.getByTestId('rows').locator('[role=row][data-index]').first().getByRole('checkbox').check();
    await page.getByTestId('action-bar').waitFor();
    await check('action bar');
    await ui.shot('english-clients');
    assert.deepEqual(found, {}, 'Russian words in the English UI');
  });
});
