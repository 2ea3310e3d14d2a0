// UI strings of one area, merged into the dictionaries by shared/i18n.ts (Russian first; English has the same keys).
// The export dialog and the export log.
export const ru = {
  exp_open: 'Экспорт',
  exp_title: 'Экспорт клиентов',
  exp_found: 'Выгрузим найденных клиентов.',
  exp_all: 'Выгрузим всех клиентов базы.',
  exp_csv: 'CSV для Excel',
  exp_start: 'Выгрузить',
  exp_download: 'Скачать {{name}}',
  exp_failed: 'Выгрузка прервалась: попробуйте ещё раз',
  exp_log: 'Журнал выгрузок',
  exp_rows_one: '{{count, number}} строка',
  exp_rows_few: '{{count, number}} строки',
  exp_rows_many: '{{count, number}} строк',
  exp_rows_other: '{{count, number}} строки',
};

export const en: typeof ru = {
  exp_open: 'Export',
  exp_title: 'Export clients',
  exp_found: 'The clients found will be exported.',
  exp_all: 'Every client of the base will be exported.',
  exp_csv: 'CSV for Excel',
  exp_start: 'Export',
  exp_download: 'Download {{name}}',
  exp_failed: 'The export stopped: try again',
  exp_log: 'Export log',
  exp_rows_one: '{{count, number}} row',
  exp_rows_few: '{{count, number}} rows',
  exp_rows_many: '{{count, number}} rows',
  exp_rows_other: '{{count, number}} rows',
};
