/**
 * Streaming XLSX writer for exports (pure: no DB, writes to any Writable).
 *
 * exceljs keeps a whole workbook in memory (~900 MB for 1M rows), so the package is written here directly:
 * a minimal OOXML package whose worksheets are generated row by row as XML with inline strings, deflated by
 * node:zlib chunk by chunk and packed by fflate's streaming `Zip` (see DeflatedEntry for why not `ZipDeflate`).
 * Memory stays constant: one ~128 KiB XML buffer at a time; `write()` resolves after the output has drained
 * when it asked for backpressure.
 *
 * Package layout (in zip order): _rels/.rels, xl/styles.xml, xl/worksheets/sheet1.xml … sheetN.xml, then
 * xl/workbook.xml, xl/_rels/workbook.xml.rels and [Content_Types].xml, which can only be written once the
 * number of sheets is known (OPC readers use the zip's central directory, so the order does not matter).
 *
 * Cells
 *   - null / undefined / '' (also a string that is empty once illegal characters are removed): no cell.
 *   - 'text' columns: every value is an inline string (numbers and booleans too, as String(value); a Date
 *     as ISO 8601), so phones and card numbers stay text (no 7,92E+10); cells and the whole column
 *     carry the Text number format '@', so what a user types there later stays text as well.
 *   - other columns: a finite number → numeric cell; a boolean → t="b"; a Date → serial number with the
 *     column's date style ('date': dd.mm.yyyy, the day part only; otherwise dd.mm.yyyy hh:mm:ss); in 'date' and
 *     'datetime' columns a string 'YYYY-MM-DD' or 'YYYY-MM-DD[T ]hh:mm[:ss[.fff]]' (no zone: taken as written)
 *     is a date too; any other string, NaN/±Infinity, and dates Excel cannot show (before 1900-01-01,
 *     after 9999-12-31) are written as text. An invalid Date is written as no cell.
 *   - Date objects are shown in the wall-clock time of `utcOffsetMinutes` when given, else of the process's
 *     local time zone (what Date#getHours() returns). Serial numbers follow Excel's 1900 date system,
 *     including its phantom 1900-02-29 (dates before 1900-03-01 are one less).
 *   - Text is XML-escaped; characters XML 1.0 forbids (C0 controls except TAB/LF/CR, U+FFFE, U+FFFF)
 *     are removed (lone surrogates become U+FFFD when encoded); CR is kept as &#13;. Text longer than
 *     Excel's cell limit of 32,767 characters is cut there (Excel refuses to open longer cells).
 *   - Formula guard, applied to text cells after the removal above (header included), for text that starts
 *     with = + - @ TAB or CR. An inline string is never evaluated by Excel or LibreOffice, so by default
 *     ('quotePrefix') the value is kept exactly (a phone '+79161234567' reads back as '+79161234567') and
 *     the cell gets a style with quotePrefix="1" — Excel's own marker for a value typed with a leading
 *     apostrophe — so re-entering the cell (F2, Enter) keeps it text too. With `formulaGuard: 'apostrophe'`
 *     the value is passed through `neutralize` instead (a literal leading apostrophe, same bytes as the
 *     CSV writer produces).
 *
 * Sheets: the first sheet is `sheetName` (default 'Клиенты'); every sheet repeats the bold, frozen header
 * row, and when a sheet reaches Excel's limit of 1,048,576 rows (header included; `maxRowsPerSheet`) the
 * writer continues on a new sheet named Лист2, Лист3, … A sheet part also starts over before its XML would
 * reach 4 GiB, because fflate writes no ZIP64 records; an archive that would pass 4 GiB compressed throws.
 */
import { constants as zc, crc32, deflateRawSync } from 'node:zlib';
import { Zip, type AsyncFlateStreamHandler, type ZipInputFile } from 'fflate';
import { OutputSink, neutralize, startsLikeFormula, type WriterResult } from './csv.write.ts';

export type Cell = string | number | boolean | Date | null;

export interface XlsxColumn { header: string; kind: 'text' | 'number' | 'date' | 'datetime' | 'boolean'; width?: number }

export interface XlsxWriterOptions {
  /** Name of the first sheet (default 'Клиенты'); overflow sheets are Лист2, Лист3, … */
  sheetName?: string;
  /** Rows per sheet including the header row (default and maximum 1,048,576: Excel's limit). */
  maxRowsPerSheet?: number;
  /** How text starting with = + - @ TAB CR is protected (see the module comment). Default 'quotePrefix'. */
  formulaGuard?: 'quotePrefix' | 'apostrophe';
  /** Show Date values in this fixed offset from UTC (minutes, e.g. 180 for Moscow) instead of the local zone. */
  utcOffsetMinutes?: number;
  /** Deflate level (default 1: fastest; XML compresses ~10× already). */
  level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
  /** Modification time stored in the zip entries (default: when the writer was created). */
  modified?: Date;
  /** End `out` when the writer ends and wait for its 'finish' (default true; pass false for process.stdout). */
  endStream?: boolean;
  /** @internal Uncompressed bytes after which a sheet part is closed and a new sheet begun (tests). */
  maxSheetBytes?: number;
}

export interface XlsxResult extends WriterResult { sheets: number }

export const XLSX_MAX_ROWS = 1_048_576;
export const XLSX_MAX_COLUMNS = 16_384;
export const XLSX_MAX_CELL_CHARS = 32_767;
/** ZIP without ZIP64: sizes and offsets are 32-bit. Leave room for a part's closing tags. */
const ZIP32_LIMIT = 0xffffffff;
const DEFAULT_MAX_SHEET_BYTES = ZIP32_LIMIT - (1 << 20);
const FLUSH_CHARS = 1 << 17;

// Style ids (cellXfs order in styles.xml)
const S_HEADER = 1;
const S_DATE = 2;
const S_DATETIME = 3;
const S_TEXT = 4;
const S_TEXT_QUOTED = 5;
const S_HEADER_QUOTED = 6;

const NS_MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const NS_REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const NS_PKG_REL = 'http://schemas.openxmlformats.org/package/2006/relationships';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';

const STYLES_XML = XML_DECL
  + `<styleSheet xmlns="${NS_MAIN}">`
  + '<numFmts count="2"><numFmt numFmtId="164" formatCode="dd.mm.yyyy"/><numFmt numFmtId="165" formatCode="dd.mm.yyyy hh:mm:ss"/></numFmts>'
  + '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
  + '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
  + '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
  + '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
  + '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
  + '<cellXfs count="7">'
  + '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
  + '<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyNumberFormat="1"/>'
  + '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
  + '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
  + '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
  + '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" quotePrefix="1"/>'
  + '<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyNumberFormat="1" quotePrefix="1"/>'
  + '</cellXfs>'
  + '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
  + '<dxfs count="0"/><tableStyles count="0"/>'
  + '</styleSheet>';

const ROOT_RELS_XML = XML_DECL
  + `<Relationships xmlns="${NS_PKG_REL}">`
  + '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
  + '</Relationships>';

// ---------------------------------------------------------------------------
// Zip entries
// ---------------------------------------------------------------------------

/**
 * A DEFLATE-compressed zip entry for fflate's streaming `Zip`, compressed by node:zlib instead of fflate's
 * JavaScript `ZipDeflate`: for 1M rows (≈950 MB of sheet XML) fflate spends ≈16 s deflating and ≈6 s on
 * CRC-32, node:zlib ≈4 s and ≈0.2 s. Each pushed chunk is compressed by a one-shot raw deflate ending in a
 * sync flush (byte-aligned, not final) and the last one with Z_FINISH, so the concatenation is one valid
 * DEFLATE stream (the dictionary restarts per chunk, which costs ≈1% of size at 128 KiB chunks).
 * fflate's `Zip` writes the local header, a data descriptor with CRC and sizes, and the central directory.
 */
class DeflatedEntry implements ZipInputFile {
  readonly filename: string;
  size = 0;
  crc = 0;
  readonly compression = 8;
  readonly flag: number;
  readonly mtime: Date;
  ondata: AsyncFlateStreamHandler = () => { throw new Error('xlsxWriter: entry pushed before it was added to the zip'); };
  private readonly level: number;
  private done = false;

  constructor(filename: string, level: number, mtime: Date) {
    this.filename = filename;
    this.level = level;
    this.mtime = mtime;
    // general-purpose flag bits 1–2 (compression option), as fflate sets them
    this.flag = level === 1 ? 3 : level < 6 ? 2 : level === 9 ? 1 : 0;
  }

  push(chunk: Uint8Array, final: boolean): void {
    if (this.done) throw new Error(`xlsxWriter: ${this.filename} is already complete`);
    this.crc = crc32(chunk, this.crc);
    this.size += chunk.length;
    if (this.size > ZIP32_LIMIT) throw new RangeError(`xlsxWriter: ${this.filename} passed 4 GiB (no ZIP64 support)`);
    const out = deflateRawSync(chunk, { level: this.level, finishFlush: final ? zc.Z_FINISH : zc.Z_SYNC_FLUSH });
    if (final) this.done = true;
    this.ondata(null, out, final);
  }
}

// ---------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------

// eslint-disable-next-line no-control-regex
const XML_ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
// eslint-disable-next-line no-control-regex
const XML_ILLEGAL_G = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const XML_ESCAPE = /[&<>\r]/;
const XML_ESCAPE_G = /[&<>\r]/g;
const ATTR_ESCAPE_G = /[&<>"\r\n\t]/g;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\r': '&#13;', '\n': '&#10;', '\t': '&#9;' };
const escapeChar = (c: string): string => ESCAPES[c]!;

/** Removes characters XML 1.0 does not allow. */
function xmlClean(s: string): string {
  return XML_ILLEGAL.test(s) ? s.replace(XML_ILLEGAL_G, '') : s;
}
function escapeText(s: string): string {
  return XML_ESCAPE.test(s) ? s.replace(XML_ESCAPE_G, escapeChar) : s;
}
function escapeAttr(s: string): string {
  return xmlClean(s).replace(ATTR_ESCAPE_G, escapeChar);
}
/** Cuts to Excel's cell limit without splitting a surrogate pair. */
function clip(s: string): string {
  if (s.length <= XLSX_MAX_CELL_CHARS) return s;
  let end = XLSX_MAX_CELL_CHARS;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return s.slice(0, end);
}

/** 0 → 'A', 25 → 'Z', 26 → 'AA' … */
export function columnName(index: number): string {
  let n = index + 1;
  let name = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    name = String.fromCharCode(65 + r) + name;
    n = Math.floor((n - 1) / 26);
  }
  return name;
}

const SHEET_NAME_FORBIDDEN = /[\\/?*:[\]]/;

function checkSheetName(name: string): string {
  const clean = xmlClean(name);
  if (clean.length === 0 || clean.length > 31) throw new RangeError(`xlsxWriter: a sheet name must have 1–31 characters: «${name}»`);
  if (SHEET_NAME_FORBIDDEN.test(clean)) throw new RangeError(`xlsxWriter: a sheet name cannot contain \\ / ? * : [ ]: «${name}»`);
  if (clean.startsWith("'") || clean.endsWith("'")) throw new RangeError(`xlsxWriter: a sheet name cannot start or end with an apostrophe: «${name}»`);
  if (clean.toLowerCase() === 'history') throw new RangeError('xlsxWriter: «History» is a sheet name reserved by Excel');
  return clean;
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

const DAY_MS = 86_400_000;
/** Serial of 1970-01-01 in Excel's 1900 date system. */
const EPOCH_SERIAL = 25_569;
/** Serial of 10000-01-01 (first day Excel cannot show). */
const SERIAL_END = 2_958_466;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;

/** Excel serial for a wall-clock time given as ms since 1970-01-01T00:00 "UTC"; null when Excel cannot show it. */
function serialOf(wallMs: number, dateOnly: boolean): number | null {
  let days = wallMs / DAY_MS;
  if (dateOnly) days = Math.floor(days);
  let serial = days + EPOCH_SERIAL;
  if (serial < 61) serial -= 1; // Excel counts a 1900-02-29 that never was
  if (!(serial >= 1 && serial < SERIAL_END)) return null;
  return serial;
}

/** Wall-clock ms of an ISO date(time) string without zone, or null when it is not one / not a real date. */
function parseIsoWall(s: string): number | null {
  if (s.length < 10 || s.length > 29) return null;
  const m = ISO_DATE.exec(s);
  if (m === null) return null;
  const y = +m[1]!, mo = +m[2]!, d = +m[3]!, h = m[4] === undefined ? 0 : +m[4], mi = m[5] === undefined ? 0 : +m[5];
  const sec = m[6] === undefined ? 0 : +m[6];
  const ms = m[7] === undefined ? 0 : +(m[7] + '00').slice(0, 3);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return null;
  const t = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  const check = new Date(t);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return t;
}

function wallText(wallMs: number, dateOnly: boolean): string {
  const iso = new Date(wallMs).toISOString();
  return dateOnly ? iso.slice(0, 10) : iso.slice(0, 19).replace('T', ' ');
}

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

export function xlsxWriter(
  out: NodeJS.WritableStream,
  columns: XlsxColumn[],
  opts: XlsxWriterOptions = {},
): { write(row: Cell[]): Promise<void>; end(): Promise<XlsxResult> } {
  const width = columns.length;
  if (width === 0) throw new RangeError('xlsxWriter: no columns');
  if (width > XLSX_MAX_COLUMNS) throw new RangeError(`xlsxWriter: ${width} columns, Excel allows ${XLSX_MAX_COLUMNS}`);
  const maxRows = opts.maxRowsPerSheet ?? XLSX_MAX_ROWS;
  if (!Number.isInteger(maxRows) || maxRows < 2 || maxRows > XLSX_MAX_ROWS) {
    throw new RangeError(`xlsxWriter: maxRowsPerSheet must be an integer in 2…${XLSX_MAX_ROWS}, got ${maxRows}`);
  }
  const maxSheetBytes = Math.min(opts.maxSheetBytes ?? DEFAULT_MAX_SHEET_BYTES, DEFAULT_MAX_SHEET_BYTES);
  const quotePrefix = (opts.formulaGuard ?? 'quotePrefix') === 'quotePrefix';
  if (opts.formulaGuard !== undefined && opts.formulaGuard !== 'quotePrefix' && opts.formulaGuard !== 'apostrophe') {
    throw new TypeError(`xlsxWriter: unknown formulaGuard ${String(opts.formulaGuard)}`);
  }
  const offsetMs = opts.utcOffsetMinutes === undefined ? null : opts.utcOffsetMinutes * 60_000;
  if (offsetMs !== null && !Number.isFinite(offsetMs)) throw new RangeError('xlsxWriter: utcOffsetMinutes must be a finite number');
  const level = opts.level ?? 1;
  const mtime = opts.modified ?? new Date();
  const firstName = checkSheetName(opts.sheetName ?? 'Клиенты');
  for (const c of columns) {
    if (!['text', 'number', 'date', 'datetime', 'boolean'].includes(c.kind)) {
      throw new TypeError(`xlsxWriter: column «${c.header}» has unknown kind ${String(c.kind)}`);
    }
    if (c.width !== undefined && !(c.width > 0 && c.width <= 255)) {
      throw new RangeError(`xlsxWriter: column «${c.header}» width must be in (0, 255] characters, got ${c.width}`);
    }
  }

  const sink = new OutputSink(out);
  let zipError: unknown = null;
  const zip = new Zip((err, data, _final) => {
    if (err) { zipError ??= err; return; }
    sink.write(data);
  });
  const check = (): void => {
    if (zipError !== null) throw zipError;
    sink.check();
    if (sink.bytes > ZIP32_LIMIT - (1 << 16)) {
      throw new RangeError('xlsxWriter: the file would pass 4 GiB, the most a ZIP without ZIP64 records can hold; export fewer rows or columns');
    }
  };
  const addPart = (name: string, xml: string): void => {
    const f = new DeflatedEntry(name, level, mtime);
    zip.add(f);
    f.push(Buffer.from(xml, 'utf8'), true);
  };

  // Per-column constants
  const refs = columns.map((_, i) => '<c r="' + columnName(i));
  const kinds = columns.map((c) => c.kind);
  const textCol = kinds.map((k) => k === 'text');

  const textCell = (ref: string, s: string, plainStyle: number, quotedStyle: number): string => {
    s = xmlClean(s);
    if (s.length === 0) return ''; // an empty string is written as no cell, like null
    let style = plainStyle;
    if (startsLikeFormula(s)) {
      if (quotePrefix) style = quotedStyle;
      else s = neutralize(s);
    }
    s = clip(s);
    // xml:space="preserve" only where an application could trim: leading or trailing XML whitespace
    const open = s.length > 0 && (s.charCodeAt(0) <= 0x20 || s.charCodeAt(s.length - 1) <= 0x20) ? '<t xml:space="preserve">' : '<t>';
    return ref + (style === 0 ? '" t="inlineStr"><is>' : '" s="' + style + '" t="inlineStr"><is>') + open + escapeText(s) + '</t></is></c>';
  };
  const wallOf = (d: Date): number => d.getTime() + (offsetMs ?? -d.getTimezoneOffset() * 60_000);

  const cellXml = (v: Cell | undefined, col: number, ref: string): string => {
    if (v === null || v === undefined) return '';
    if (textCol[col]) {
      let s: string;
      if (typeof v === 'string') s = v;
      else if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) return '';
        s = v.toISOString();
      } else if (typeof v === 'number' || typeof v === 'boolean') s = String(v);
      else throw new TypeError(`xlsxWriter: column ${col + 1} («${columns[col]!.header}»): unsupported value of type ${typeof v}`);
      return textCell(ref, s, S_TEXT, S_TEXT_QUOTED);
    }
    const kind = kinds[col]!;
    switch (typeof v) {
      case 'number':
        if (Number.isFinite(v)) return ref + '"><v>' + v + '</v></c>';
        return textCell(ref, String(v), 0, S_TEXT_QUOTED);
      case 'boolean':
        return ref + '" t="b"><v>' + (v ? '1' : '0') + '</v></c>';
      case 'string': {
        if (kind === 'date' || kind === 'datetime') {
          const wall = parseIsoWall(v);
          if (wall !== null) return dateCell(ref, wall, kind === 'date');
        }
        return textCell(ref, v, 0, S_TEXT_QUOTED);
      }
      default:
        if (v instanceof Date) {
          const t = v.getTime();
          if (Number.isNaN(t)) return '';
          return dateCell(ref, wallOf(v), kind === 'date');
        }
        throw new TypeError(`xlsxWriter: column ${col + 1} («${columns[col]!.header}»): unsupported value of type ${typeof v}`);
    }
  };
  const dateCell = (ref: string, wall: number, dateOnly: boolean): string => {
    const serial = serialOf(wall, dateOnly);
    if (serial === null) return textCell(ref, wallText(wall, dateOnly), 0, S_TEXT_QUOTED);
    return ref + '" s="' + (dateOnly ? S_DATE : S_DATETIME) + '"><v>' + serial + '</v></c>';
  };

  // Sheet skeleton
  const colsXml = '<cols>' + columns.map((c, i) => {
    const n = i + 1;
    const w = c.width ?? defaultWidth(c);
    const style = c.kind === 'text' ? S_TEXT : c.kind === 'date' ? S_DATE : c.kind === 'datetime' ? S_DATETIME : 0;
    return `<col min="${n}" max="${n}" width="${+w.toFixed(2)}" customWidth="1"${style ? ` style="${style}"` : ''}/>`;
  }).join('') + '</cols>';
  const headerCells = columns.map((c, i) => textCell(refs[i] + '1', String(c.header), S_HEADER, S_HEADER_QUOTED)).join('');
  const sheetHead = (first: boolean): string => XML_DECL
    + `<worksheet xmlns="${NS_MAIN}" xmlns:r="${NS_REL}">`
    + `<sheetViews><sheetView workbookViewId="0"${first ? ' tabSelected="1"' : ''}>`
    + '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    + '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
    + '<sheetFormatPr defaultRowHeight="15"/>'
    + colsXml
    + '<sheetData><row r="1">' + headerCells + '</row>';
  const SHEET_TAIL = '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>';

  const sheetNames: string[] = [firstName];
  const usedNames = new Set([firstName.toLowerCase()]);
  let sheet: DeflatedEntry | null = null;
  let sheetRow = 0;       // rows in the current sheet, header included
  let sheetBytes = 0;     // uncompressed bytes pushed to the current sheet part
  let buf = '';
  let rows = 0;
  let ended = false;

  const flush = (final: boolean): void => {
    if (sheet === null) return;
    if (buf.length === 0 && !final) return;
    const chunk = Buffer.from(buf, 'utf8');
    buf = '';
    sheetBytes += chunk.length;
    sheet.push(chunk, final);
  };
  const openSheet = (): void => {
    if (sheet !== null) {
      buf += SHEET_TAIL;
      flush(true);
      const n = sheetNames.length + 1;
      let name = `Лист${n}`;
      for (let k = 2; usedNames.has(name.toLowerCase()); k++) name = `Лист${n} (${k})`;
      usedNames.add(name.toLowerCase());
      sheetNames.push(name);
    }
    sheet = new DeflatedEntry(`xl/worksheets/sheet${sheetNames.length}.xml`, level, mtime);
    zip.add(sheet);
    sheetBytes = 0;
    sheetRow = 1;
    buf = sheetHead(sheetNames.length === 1);
  };

  addPart('_rels/.rels', ROOT_RELS_XML);
  addPart('xl/styles.xml', STYLES_XML);
  openSheet();

  return {
    async write(row: Cell[]): Promise<void> {
      if (ended) throw new Error('xlsxWriter: write() after end()');
      check();
      if (row.length !== width) throw new RangeError(`xlsxWriter: row ${rows + 1} has ${row.length} cells, there are ${width} columns`);
      let r = sheetRow + 1;
      let num = String(r);
      let xml = '<row r="' + num + '">';
      for (let i = 0; i < width; i++) xml += cellXml(row[i], i, refs[i] + num);
      xml += '</row>';
      if (r > maxRows || sheetBytes + (buf.length + xml.length + SHEET_TAIL.length) * 3 > maxSheetBytes) {
        if (sheetRow === 1) throw new RangeError('xlsxWriter: a single row does not fit into a sheet part');
        openSheet();
        r = sheetRow + 1;
        num = String(r);
        xml = '<row r="' + num + '">';
        for (let i = 0; i < width; i++) xml += cellXml(row[i], i, refs[i] + num);
        xml += '</row>';
      }
      buf += xml;
      sheetRow = r;
      rows++;
      if (buf.length >= FLUSH_CHARS) {
        flush(false);
        check();
      }
      if (sink.pending) await sink.settle();
    },

    async end(): Promise<XlsxResult> {
      if (ended) throw new Error('xlsxWriter: end() called twice');
      ended = true;
      try {
        check();
        buf += SHEET_TAIL;
        flush(true);
        const n = sheetNames.length;
        addPart('xl/workbook.xml', XML_DECL
          + `<workbook xmlns="${NS_MAIN}" xmlns:r="${NS_REL}">`
          + '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
          + sheetNames.map((name, i) => `<sheet name="${escapeAttr(name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join('')
          + '</sheets></workbook>');
        addPart('xl/_rels/workbook.xml.rels', XML_DECL
          + `<Relationships xmlns="${NS_PKG_REL}">`
          + sheetNames.map((_, i) => `<Relationship Id="rId${i + 1}" Type="${NS_REL}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join('')
          + `<Relationship Id="rId${n + 1}" Type="${NS_REL}/styles" Target="styles.xml"/>`
          + '</Relationships>');
        addPart('[Content_Types].xml', XML_DECL
          + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          + '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          + '<Default Extension="xml" ContentType="application/xml"/>'
          + '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          + '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
          + sheetNames.map((_, i) => `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`).join('')
          + '</Types>');
        zip.end();
        check();
        const sha256 = await sink.finish(opts.endStream !== false);
        return { rows, bytes: sink.bytes, sha256, sheets: n };
      } catch (err) {
        zip.terminate();
        sink.detach();
        throw err;
      }
    },
  };

  function defaultWidth(c: XlsxColumn): number {
    const base = c.kind === 'text' ? 16 : c.kind === 'date' ? 12 : c.kind === 'datetime' ? 19 : c.kind === 'number' ? 12 : 9;
    return Math.min(60, Math.max(base, [...c.header].length + 3));
  }
}
