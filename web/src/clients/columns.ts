// The clients table's column settings as the user shapes them (seed 004: gear for columns, lock to
// pin up to five, sort by a header click), and the TanStack Table state they map to. Pure: the
// component tests drive these rules without a browser; the settings are saved per user and base
// through /table-settings.
import type { ColumnOrderState, ColumnPinningState, SortingState, VisibilityState } from '@tanstack/react-table';

export interface SortKey {
  field: string;
  dir: 'asc' | 'desc';
}
export interface TableSettings {
  /** Visible columns in order. */
  columns: string[];
  /** Pinned to the left, at most MAX_PINNED, each one of columns. */
  pinned: string[];
  sort: SortKey[];
  /** Widths the user dragged, by column; the others fit their content. */
  widths?: Record<string, number>;
}
export const MAX_PINNED = 5;
export const MIN_WIDTH = 40;
export const MAX_WIDTH = 1200;
/** A fitted column is never wider than this: a long comment does not push the rest off screen. */
export const MAX_FIT = 280;

/** A column's width to fit its content: the widest of the header and the values, in bounds. */
export function fitWidth(header: number, values: readonly number[], padding = 16): number {
  const widest = Math.max(header, ...values, 0);
  return Math.min(MAX_FIT, Math.max(60, Math.ceil(widest + padding)));
}

/** A width dragged to: kept within bounds; the column's own (null) when dragged back to its fitted width. */
export function setWidth(s: TableSettings, column: string, width: number | null): TableSettings {
  const widths = { ...(s.widths ?? {}) };
  if (width === null) delete widths[column];
  else widths[column] = Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, Math.round(width)));
  return { ...s, widths };
}

/** What the API sorts a column by: the full name by the last name; tag lists not at all. */
export function sortField(column: string, fieldType: string | undefined): string | null {
  if (column === 'fullName') return 'lastName';
  if (column === 'tags' || fieldType === 'valueTags' || fieldType === 'tags' || fieldType === 'segment') return null;
  return column;
}

/** Shows a hidden column (at the end) or hides a shown one (unpinning it); the last one stays. */
export function toggleColumn(s: TableSettings, column: string): TableSettings {
  if (!s.columns.includes(column)) return { ...s, columns: [...s.columns, column] };
  if (s.columns.length === 1) return s;
  return { ...s, columns: s.columns.filter((c) => c !== column), pinned: s.pinned.filter((c) => c !== column) };
}

/** Drag and drop: puts `column` where `target` is (before it when moving up, after it when moving down). */
export function moveColumn(s: TableSettings, column: string, target: string): TableSettings {
  const from = s.columns.indexOf(column);
  const to = s.columns.indexOf(target);
  if (from < 0 || to < 0 || from === to) return s;
  const columns = [...s.columns];
  columns.splice(from, 1);
  columns.splice(to, 0, column);
  return { ...s, columns };
}

/** The keyboard's way to reorder: one place up (-1) or down (+1). */
export function moveBy(s: TableSettings, column: string, delta: -1 | 1): TableSettings {
  const i = s.columns.indexOf(column);
  const target = s.columns[i + delta];
  return i < 0 || target === undefined ? s : moveColumn(s, column, target);
}

export function canPin(s: TableSettings, column: string): boolean {
  return s.pinned.includes(column) || (s.columns.includes(column) && s.pinned.length < MAX_PINNED);
}

/** Pins or unpins; a sixth pin is refused (the lock is disabled in the UI). */
export function togglePin(s: TableSettings, column: string): TableSettings {
  if (s.pinned.includes(column)) return { ...s, pinned: s.pinned.filter((c) => c !== column) };
  if (!canPin(s, column)) return s;
  return { ...s, pinned: [...s.pinned, column] };
}

/** A header click: ascending, then descending, then back to the default order. One key at a time. */
export function cycleSort(s: TableSettings, field: string): TableSettings {
  const current = s.sort.length === 1 && s.sort[0]!.field === field ? s.sort[0]!.dir : null;
  if (current === null) return { ...s, sort: [{ field, dir: 'asc' }] };
  if (current === 'asc') return { ...s, sort: [{ field, dir: 'desc' }] };
  return { ...s, sort: [] };
}

/** The columns in the order they are drawn: pinned ones first (in column order), then the rest. */
export function displayOrder(s: TableSettings): string[] {
  return [...s.columns.filter((c) => s.pinned.includes(c)), ...s.columns.filter((c) => !s.pinned.includes(c))];
}

/** The fields the search must return to draw these columns (the full name needs its three parts). */
export function searchColumns(s: TableSettings): string[] {
  const out = new Set<string>();
  for (const c of s.columns) {
    if (c === 'fullName') ['lastName', 'firstName', 'middleName'].forEach((x) => out.add(x));
    else out.add(c);
  }
  return [...out];
}

/** TanStack Table's state for these settings over all columns the base has. */
export function tableState(s: TableSettings, all: string[]): { columnOrder: ColumnOrderState; columnPinning: ColumnPinningState; columnVisibility: VisibilityState; sorting: SortingState } {
  const shown = new Set(s.columns);
  return {
    columnOrder: ['select', ...s.columns, ...all.filter((c) => !shown.has(c))],
    columnPinning: { left: ['select', ...s.pinned] },
    columnVisibility: Object.fromEntries(all.map((c) => [c, shown.has(c)])),
    sorting: s.sort.map((k) => ({ id: k.field, desc: k.dir === 'desc' })),
  };
}
