// The clients table: TanStack Table for the column model (order, pinning, visibility, sort state) and
// TanStack Virtual for the rows, so a million-row base scrolls by drawing only what is on screen. The
// user's column settings come from /table-settings and are saved back on each change; the pure rules
// live in columns.ts. Keyboard: Tab reaches the header buttons and the rows; ↑/↓ move between rows,
// Enter opens the card, Space selects.
import { ActionIcon, Button, Checkbox, Group, Popover, Stack, Text, Tooltip } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { flexRender, getCoreRowModel, useReactTable, type ColumnDef } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { call, type Profile, type Res, tableSettingsQuery, tagsQuery } from '../shared/api.ts';
import { displayName } from '../card/cardDraft.ts';
import { canPin, cycleSort, displayOrder, fitWidth, MAX_PINNED, MAX_WIDTH, MIN_WIDTH, moveBy, moveColumn, setWidth, sortField, tableState, togglePin, toggleColumn, type TableSettings } from './columns.ts';
import { formatDate, formatDateTime, formatNumber, useLang, labelOf } from '../shared/i18n.ts';
import { formatPhone } from '../shared/format.ts';
import { GripIcon, LockIcon, UnlockIcon } from '../shared/icons.tsx';
import { TagBadge } from '../shared/TagPicker.tsx';

export type FilterField = Res<'GET /bases/{baseId}/filter-fields'>['items'][number];
type Tag = Res<'GET /bases/{baseId}/tags'>['items'][number];

const ROW = 36;

let measurer: CanvasRenderingContext2D | null = null;
/** How wide a text is drawn in a font (the table's own), in pixels. */
function textWidth(text: string, font: string): number {
  measurer ??= document.createElement('canvas').getContext('2d');
  if (!measurer) return text.length * 8;
  measurer.font = font;
  return measurer.measureText(text).width;
}

/** The identifiers a quick-search value may have matched in a column not shown: the row says which. */
export const MATCH_FIELDS = ['phone', 'email', 'cardNumber', 'carNumber', 'lastName', 'firstName', 'middleName', 'city'] as const;
const digits = (s: string) => s.replace(/\D/g, '');

/** Where `text` contains a search value: [start, end) ranges; phones match on their digits, others ignoring case. */
export function matchRanges(text: string, values: readonly string[], phone: boolean): [number, number][] {
  const out: [number, number][] = [];
  if (phone) {
    // Positions of the digits in the shown text, so «5551234» marks «555-12-34» in «+7 916 555-12-34».
    const at: number[] = [];
    for (let i = 0; i < text.length; i++) if (/\d/.test(text[i]!)) at.push(i);
    const d = digits(text);
    for (const v of values) {
      const q = digits(v).replace(/^8(?=\d{10}$)/, '7');
      if (q.length < 3) continue;
      const i = d.indexOf(q);
      if (i >= 0) out.push([at[i]!, at[i + q.length - 1]! + 1]);
    }
    return out;
  }
  const lower = text.toLowerCase();
  for (const v of values) {
    const q = v.trim().toLowerCase();
    if (q.length < 2) continue;
    const i = lower.indexOf(q);
    if (i >= 0) out.push([i, i + q.length]);
  }
  return out;
}

function Marked({ text, ranges }: { text: string; ranges: [number, number][] }) {
  if (!ranges.length) return text;
  const [s, e] = ranges.reduce((a, b) => (b[0] < a[0] ? b : a));
  return (
    <>
      {text.slice(0, s)}
      <mark data-testid="match">{text.slice(s, e)}</mark>
      {text.slice(e)}
    </>
  );
}

export const fullName = (p: Profile) => displayName(p) ?? '';

/**
 * The settings of this user for this base, saved on each change (the screen keeps its own copy
 * meanwhile). `error`: the settings could not be read, or a change could not be saved (it is undone).
 */
export function useTableSettings(baseId: number): { settings: TableSettings | undefined; set: (s: TableSettings) => void; error: Error | null; retry: () => void } {
  const qc = useQueryClient();
  const saved = useQuery({ ...tableSettingsQuery(baseId), staleTime: Infinity });
  // The screen follows a change at once (React state); the server's copy is written behind it.
  const [local, setLocal] = useState<{ baseId: number; s: TableSettings } | null>(null);
  const [saveError, setSaveError] = useState<Error | null>(null);
  const set = (s: TableSettings) => {
    setLocal({ baseId, s });
    setSaveError(null);
    void call('PUT /bases/{baseId}/table-settings', { path: { baseId }, body: s }).then(
      (stored) => qc.setQueryData(['table-settings', baseId], stored),
      (e: unknown) => {
        setLocal(null);
        setSaveError(e instanceof Error ? e : new Error(String(e)));
        void qc.invalidateQueries({ queryKey: ['table-settings', baseId] });
      },
    );
  };
  return {
    settings: local?.baseId === baseId ? local.s : saved.data,
    set,
    error: saved.error ?? saveError,
    retry: () => (setSaveError(null), void saved.refetch()),
  };
}

type T = (k: string, o?: Record<string, unknown>) => string;

function cellOf(f: FilterField, p: Profile, tags: Map<number, Tag>, t: T, search: readonly string[]): ReactNode {
  if (f.field === 'tags')
    return (
      <Group gap={4} wrap="nowrap">
        {(p.tags ?? []).map((id) => (
          <TagBadge key={id} tag={tags.get(id) ?? { name: String(id), color: '#868e96' }} />
        ))}
      </Group>
    );
  const text = cellText(f, p, t);
  return <Marked text={text} ranges={search.length ? matchRanges(text, search, f.type === 'phone') : []} />;
}

/** What a cell shows, as text (tags are drawn as badges). */
function cellText(f: FilterField, p: Profile, t: T): string {
  if (f.field === 'fullName') return fullName(p);
  const v = f.field.startsWith('fields.') ? p.fields?.[f.field.slice(7)] : (p as Record<string, unknown>)[f.field];
  if (v === null || v === undefined || v === '') return '';
  if (f.type === 'date' || f.type === 'birthDate') return formatDate(String(v));
  if (f.type === 'datetime') return formatDateTime(String(v));
  if (f.type === 'boolean') return v ? t('yes') : t('no');
  if (f.type === 'number' && f.field !== 'id') return formatNumber(Number(v));
  if (f.type === 'phone') return formatPhone(String(v));
  if (f.type === 'enum') return t(`enum_${f.field}_${String(v)}`, { defaultValue: String(v) });
  if (Array.isArray(v)) return v.join(', ');
  return String(v);
}

/** A row the search found by a column not shown: that column and its value («Номер карты: 2000…»). */
function hiddenMatch(p: Profile, shown: readonly FilterField[], all: ReadonlyMap<string, FilterField>, search: readonly string[], t: T, lang: 'ru' | 'en'): string | null {
  if (!search.length) return null;
  if (shown.some((f) => f.field !== 'tags' && matchRanges(cellText(f, p, t), search, f.type === 'phone').length)) return null;
  for (const k of MATCH_FIELDS) {
    const f = all.get(k);
    if (!f || shown.includes(f)) continue;
    const text = cellText(f, p, t);
    if (text && matchRanges(text, search, f.type === 'phone').length) return `${labelOf(f.label, lang, k)}: ${text}`;
  }
  return null;
}

/** The gear: every column with a checkbox (shown), a lock (pinned, up to five) and a drag handle; ↑/↓ for the keyboard. */
function ColumnSettings({ fields, settings, onChange }: { fields: FilterField[]; settings: TableSettings; onChange: (s: TableSettings) => void }) {
  const { t } = useTranslation();
  const lang = useLang();
  const [dragged, setDragged] = useState<string | null>(null);
  const byKey = new Map(fields.map((f) => [f.field, f]));
  const order = [...settings.columns, ...fields.map((f) => f.field).filter((c) => !settings.columns.includes(c))];
  return (
    <Popover position="bottom-end" shadow="md" width={360} trapFocus>
      <Popover.Target>
        <ActionIcon variant="default" size="lg" aria-label={t('cols_settings')} title={t('cols_settings')}>
          ⚙
        </ActionIcon>
      </Popover.Target>
      <Popover.Dropdown>
        <Text size="xs" c="dimmed" mb="xs">
          {t('cols_hint', { max: MAX_PINNED })}
        </Text>
        <Stack gap={2} mah="min(420px, calc(100vh - 280px))" style={{ overflowY: 'auto' }} data-testid="column-settings">
          {order.map((c) => {
            const shown = settings.columns.includes(c);
            const pinned = settings.pinned.includes(c);
            const label = labelOf(byKey.get(c)?.label, lang, c);
            return (
              <Group
                key={c}
                gap={6}
                wrap="nowrap"
                draggable={shown}
                onDragStart={() => setDragged(c)}
                onDragOver={(e) => shown && dragged && e.preventDefault()}
                onDrop={() => dragged && (onChange(moveColumn(settings, dragged, c)), setDragged(null))}
                data-column={c}
                style={{ cursor: shown ? 'grab' : undefined, opacity: dragged === c ? 0.5 : 1 }}
              >
                <Text c="dimmed" aria-hidden w={14} lh={0}>
                  {shown ? <GripIcon /> : null}
                </Text>
                <Checkbox size="xs" checked={shown} onChange={() => onChange(toggleColumn(settings, c))} aria-label={t('cols_show', { label })} style={{ flex: 1 }} label={label} />
                <ActionIcon size="sm" variant="subtle" disabled={!shown} onClick={() => onChange(moveBy(settings, c, -1))} aria-label={t('cols_up', { label })}>
                  ↑
                </ActionIcon>
                <ActionIcon size="sm" variant="subtle" disabled={!shown} onClick={() => onChange(moveBy(settings, c, 1))} aria-label={t('cols_down', { label })}>
                  ↓
                </ActionIcon>
                <Tooltip label={pinned ? t('cols_unpin') : canPin(settings, c) ? t('cols_pin') : t('cols_pin_max', { max: MAX_PINNED })}>
                  <ActionIcon size="sm" variant={pinned ? 'filled' : 'subtle'} disabled={!shown || !canPin(settings, c)} onClick={() => onChange(togglePin(settings, c))} aria-label={t(pinned ? 'cols_unpin_col' : 'cols_pin_col', { label })} aria-pressed={pinned}>
                    {pinned ? <LockIcon /> : <UnlockIcon />}
                  </ActionIcon>
                </Tooltip>
              </Group>
            );
          })}
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}

export interface ClientsTableProps {
  baseId: number;
  fields: FilterField[];
  settings: TableSettings;
  onSettings: (s: TableSettings) => void;
  rows: Profile[];
  total: number | undefined;
  loading: boolean;
  fetchingMore: boolean;
  onNearEnd: () => void;
  selected: Set<number>;
  allFound: boolean;
  onToggle: (id: number) => void;
  onAllFound: (on: boolean) => void;
  onOpen: (id: number) => void;
  empty: ReactNode;
  /** The quick-search values: their matches are marked. */
  search: readonly string[];
}

export function ClientsTable(props: ClientsTableProps) {
  const { t } = useTranslation();
  const lang = useLang();
  const { baseId, fields, settings, onSettings, rows, selected, allFound } = props;
  const tags = useQuery(tagsQuery(baseId));
  const tagMap = useMemo(() => new Map((tags.data?.items ?? []).map((x) => [x.id, x])), [tags.data]);
  const columnFields = useMemo(() => fields.filter((f) => f.type !== 'segment'), [fields]);

  // Each column fits its widest value among the first page and its header, unless the user dragged it.
  const scroller = useRef<HTMLDivElement>(null);
  const [font, setFont] = useState('14px sans-serif');
  useLayoutEffect(() => {
    if (scroller.current) setFont(getComputedStyle(scroller.current).font);
  }, []);
  const sample = rows.slice(0, 200);
  const sampleKey = `${sample.length}:${sample[0]?.id ?? ''}:${sample[sample.length - 1]?.id ?? ''}`;
  const fitted = useMemo(() => {
    const bold = font.replace(/^(\S+ )?/, '600 ');
    return new Map(
      columnFields.map((f) => {
        // The header's label, its sort arrow and the lock of a pinned column.
        const header = textWidth(labelOf(f.label, lang, f.field), bold) + 30;
        const values = f.field === 'tags' ? sample.map((p) => (p.tags ?? []).reduce((w, id) => w + textWidth(tagMap.get(id)?.name ?? String(id), font) * 0.8 + 24, 0)) : sample.map((p) => textWidth(cellText(f, p, t), font));
        return [f.field, fitWidth(header, values)];
      }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [columnFields, sampleKey, font, lang, tagMap]);
  const search = props.search;
  const byField = useMemo(() => new Map(columnFields.map((f) => [f.field, f])), [columnFields]);
  const firstShown = columnFields.findIndex((f) => f.field === displayOrder(settings)[0]);
  const shownFields = useMemo(() => settings.columns.map((c) => byField.get(c)).filter((f): f is FilterField => !!f), [settings.columns, byField]);

  const columns = useMemo<ColumnDef<Profile>[]>(
    () => [
      {
        id: 'select',
        size: 40,
        enableResizing: false,
        header: () => <Checkbox aria-label={t('selectAll')} title={t('selectAll')} checked={allFound} onChange={(e) => props.onAllFound(e.currentTarget.checked)} />,
        cell: ({ row }) => (
          <Checkbox aria-label={fullName(row.original) || `#${row.original.id}`} checked={allFound || selected.has(row.original.id)} disabled={allFound} onChange={() => props.onToggle(row.original.id)} onClick={(e) => e.stopPropagation()} tabIndex={-1} />
        ),
      },
      ...columnFields.map<ColumnDef<Profile>>((f, i) => ({
        id: f.field,
        size: settings.widths?.[f.field] ?? fitted.get(f.field) ?? 150,
        minSize: MIN_WIDTH,
        maxSize: MAX_WIDTH,
        header: labelOf(f.label, lang, f.field),
        cell: ({ row }) => {
          const hint = i === firstShown ? hiddenMatch(row.original, shownFields, byField, search, t, lang) : null;
          const content = cellOf(f, row.original, tagMap, t, search);
          return hint ? (
            <>
              {content}{' '}
              <Text span size="xs" c="dimmed" data-testid="match-hint" title={t('match_hidden_title')}>
                · {hint}
              </Text>
            </>
          ) : (
            content
          );
        },
        meta: { type: f.type },
      })),
    ],
    // The selection is read through props at render time; columns change with fields, language, tags, widths and the search.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [columnFields, lang, tagMap, allFound, selected, fitted, settings.widths, search, shownFields],
  );

  const state = tableState(settings, columnFields.map((f) => f.field));
  const table = useReactTable({
    data: rows,
    columns,
    state,
    getCoreRowModel: getCoreRowModel(),
    manualSorting: true,
    getRowId: (p) => String(p.id),
    enableColumnResizing: true,
    columnResizeMode: 'onChange',
  });
  // A drag ends: the width is the user's from now on (saved with the other settings).
  const resizing = table.getState().columnSizingInfo.isResizingColumn;
  const wasResizing = useRef<string | false>(false);
  useEffect(() => {
    const col = wasResizing.current;
    wasResizing.current = resizing;
    if (col && !resizing) onSettings(setWidth(settings, col, table.getColumn(col)?.getSize() ?? null));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [resizing]);
  const visible = table.getVisibleLeafColumns();
  const width = table.getTotalSize();

  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 20 });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 50) props.onNearEnd();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [last?.index, rows.length]);

  const focusRow = (index: number) => {
    if (index < 0 || index >= rows.length) return;
    const row = () => scroller.current?.querySelector<HTMLElement>(`[data-index="${index}"]`);
    // A drawn row takes the focus at once (the browser scrolls it into view); one further off is drawn first.
    const drawn = row();
    if (drawn) return drawn.focus();
    virtual.scrollToIndex(index);
    requestAnimationFrame(() => row()?.focus());
  };
  const sticky = (id: string, header: boolean) => {
    const col = table.getColumn(id);
    if (!col?.getIsPinned()) return {};
    // The row's own background (white, or blue when selected) covers what scrolls beneath a pinned cell.
    return { position: 'sticky' as const, left: col.getStart('left'), zIndex: header ? 3 : 1, background: header ? 'var(--mantine-color-body)' : 'inherit' };
  };
  const cellStyle = (id: string, size: number, header: boolean) => ({ width: size, minWidth: size, flex: 'none', padding: '0 8px', overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' as const, ...sticky(id, header) });

  return (
    <div style={{ position: 'relative' }}>
      <Group justify="flex-end" mb={4}>
        <ColumnSettings fields={columnFields} settings={settings} onChange={onSettings} />
      </Group>
      <div
        ref={scroller}
        role="table"
        aria-rowcount={props.total ?? rows.length}
        data-testid="rows"
        style={{ height: 'calc(100vh - 300px)', minHeight: 300, overflow: 'auto', border: '1px solid var(--mantine-color-gray-3)', borderRadius: 4 }}
      >
        <div role="rowgroup" style={{ position: 'sticky', top: 0, zIndex: 2, width, minWidth: '100%', background: 'var(--mantine-color-body)', borderBottom: '1px solid var(--mantine-color-gray-3)' }}>
          <div role="row" style={{ display: 'flex', height: ROW, alignItems: 'center', fontWeight: 600 }} data-testid="header-row">
            {table.getHeaderGroups()[0]!.headers.map((h) => {
              const f = columnFields.find((x) => x.field === h.column.id);
              const by = f ? sortField(f.field, f.type) : null;
              const dir = by ? settings.sort.find((k) => k.field === by)?.dir : undefined;
              return (
                <div key={h.id} role="columnheader" aria-sort={dir === 'asc' ? 'ascending' : dir === 'desc' ? 'descending' : undefined} style={{ position: 'relative', ...cellStyle(h.column.id, h.getSize(), true) }} data-column={h.column.id}>
                  {by ? (
                    <Button variant="subtle" size="compact-sm" px={2} onClick={() => onSettings(cycleSort(settings, by))} title={t('sort_by')} styles={{ label: { fontWeight: 600 } }}>
                      {flexRender(h.column.columnDef.header, h.getContext())}
                      {dir === 'asc' ? ' ▲' : dir === 'desc' ? ' ▼' : ''}
                    </Button>
                  ) : (
                    flexRender(h.column.columnDef.header, h.getContext())
                  )}
                  {h.column.getIsPinned() && h.column.id !== 'select' && (
                    <Text span c="dimmed" title={t('cols_pinned')} ml={2} lh={0}>
                      <LockIcon size={12} />
                    </Text>
                  )}
                  {h.column.getCanResize() && (
                    <div
                      role="separator"
                      aria-orientation="vertical"
                      aria-label={t('cols_resize', { label: labelOf(f?.label, lang, h.column.id) })}
                      title={t('cols_resize_hint')}
                      onMouseDown={h.getResizeHandler()}
                      onTouchStart={h.getResizeHandler()}
                      onDoubleClick={() => (h.column.resetSize(), onSettings(setWidth(settings, h.column.id, null)))}
                      data-testid="col-resize"
                      style={{ position: 'absolute', right: 0, top: 0, height: '100%', width: 7, cursor: 'col-resize', userSelect: 'none', touchAction: 'none', background: h.column.getIsResizing() ? 'var(--mantine-color-blue-4)' : undefined }}
                    />
                  )}
                </div>
              );
            })}
          </div>
        </div>
        {rows.length === 0 && !props.loading && <div style={{ padding: 16 }}>{props.empty}</div>}
        <div role="rowgroup" style={{ height: virtual.getTotalSize(), width, minWidth: '100%', position: 'relative' }}>
          {items.map((v) => {
            const row = table.getRowModel().rows[v.index];
            if (!row) return null;
            const p = row.original;
            const on = allFound || selected.has(p.id);
            return (
              <div
                role="row"
                key={row.id}
                data-index={v.index}
                tabIndex={0}
                aria-selected={on}
                onClick={() => props.onOpen(p.id)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') props.onOpen(p.id);
                  else if (e.key === ' ') (e.preventDefault(), allFound || props.onToggle(p.id));
                  else if (e.key === 'ArrowDown') (e.preventDefault(), focusRow(v.index + 1));
                  else if (e.key === 'ArrowUp') (e.preventDefault(), focusRow(v.index - 1));
                }}
                style={{ position: 'absolute', top: 0, left: 0, width, minWidth: '100%', height: ROW, transform: `translateY(${v.start}px)`, display: 'flex', alignItems: 'center', cursor: 'pointer', borderBottom: '1px solid var(--mantine-color-gray-1)', background: on ? 'var(--mantine-color-blue-0)' : 'var(--mantine-color-body)' }}
              >
                {row.getVisibleCells().map((c) => (
                  <div role="cell" key={c.id} data-column={c.column.id} style={cellStyle(c.column.id, c.column.getSize(), false)} onClick={c.column.id === 'select' ? (e) => e.stopPropagation() : undefined}>
                    {flexRender(c.column.columnDef.cell, c.getContext())}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
        {props.fetchingMore && (
          <Text size="sm" c="dimmed" p="xs">
            {t('loading')}
          </Text>
        )}
      </div>
      <Text size="xs" c="dimmed" mt={4}>
        {t('table_keys', { count: visible.length - 1 })}
      </Text>
    </div>
  );
}
