import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { zipSync, type Zippable } from 'fflate';
import { xlsxWriter, type Cell, type XlsxColumn } from './xlsx.write.ts';
import type { CsvRow } from './csv.read.ts';
import { formatKind, numberText, readXlsxBatches, serialText, xlsxSheets, XlsxError, type XlsxErrorReason, type XlsxReadOptions } from './xlsx.read.ts';

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

let dir = '';
let seq = 0;
before(() => { dir = mkdtempSync(join(tmpdir(), 'kartoteka-xlsx-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

function tmpFile(data: Uint8Array | string, ext = 'xlsx'): string {
  const file = join(dir, `f${++seq}.${ext}`);
  writeFileSync(file, data);
  return file;
}

async function readAll(file: string, opts?: XlsxReadOptions): Promise<CsvRow[]> {
  const rows: CsvRow[] = [];
  for await (const batch of readXlsxBatches(file, opts)) rows.push(...batch);
  return rows;
}

const cellsOf = (rows: CsvRow[]): string[][] => rows.map((r) => r.cells);

async function rejectsWith(p: Promise<unknown>, reason: XlsxErrorReason, message?: RegExp): Promise<XlsxError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof XlsxError, `expected XlsxError(${reason}), got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected XlsxError(${reason}), but it resolved`);
}

/** The fuzz property: the file reads to its end, or fails with an XlsxError (never another error, never a hang). */
async function readsOrFailsCleanly(data: Uint8Array, opts?: XlsxReadOptions): Promise<void> {
  const file = tmpFile(data, 'bin');
  try {
    await readAll(file, opts);
  } catch (err) {
    assert.ok(err instanceof XlsxError, String((err as Error)?.stack ?? err));
  } finally {
    rmSync(file);
  }
}

const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';
const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

interface BookSpec {
  sheets: { name: string; xml: string; state?: string }[];
  sst?: string[] | string;
  styles?: string;
  workbookPr?: string;
  /** Zip order: the sheets before the workbook and the shared strings (as our export writes them). */
  sheetsFirst?: boolean;
  /** Deflate level; 0 stores the parts uncompressed. */
  level?: 0 | 6;
}

/** A minimal package written by hand, so that every XML detail is under the test's control. */
function buildXlsx(spec: BookSpec): Uint8Array {
  const sheetParts: Zippable = {};
  spec.sheets.forEach((s, i) => { sheetParts[`xl/worksheets/sheet${i + 1}.xml`] = enc(s.xml); });
  const sst = spec.sst === undefined ? null
    : typeof spec.sst === 'string' ? spec.sst
    : `<sst ${NS}>${spec.sst.map((t) => `<si><t>${t}</t></si>`).join('')}</sst>`;
  const rels = spec.sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Type="${REL}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join('')
    + (sst === null ? '' : `<Relationship Id="rSst" Type="${REL}/sharedStrings" Target="/xl/sharedStrings.xml"/>`)
    + (spec.styles === undefined ? '' : `<Relationship Id="rSty" Type="${REL}/styles" Target="styles.xml"/>`);
  const meta: Zippable = {
    '_rels/.rels': enc(`<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>`),
    'xl/workbook.xml': enc(`<?xml version="1.0"?><workbook ${NS}>${spec.workbookPr ?? ''}<sheets>`
      + spec.sheets.map((s, i) => `<sheet name="${s.name}" sheetId="${i + 1}"${s.state ? ` state="${s.state}"` : ''} r:id="rId${i + 1}"/>`).join('')
      + '</sheets></workbook>'),
    'xl/_rels/workbook.xml.rels': enc(`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${rels}</Relationships>`),
  };
  if (spec.styles !== undefined) meta['xl/styles.xml'] = enc(spec.styles);
  if (sst !== null) meta['xl/sharedStrings.xml'] = enc(sst);
  return zipSync(spec.sheetsFirst ? { ...sheetParts, ...meta } : { ...meta, ...sheetParts }, { level: spec.level ?? 6 });
}

const sheetXml = (rows: string): string => `<?xml version="1.0" encoding="UTF-8"?><worksheet ${NS}><dimension ref="A1"/><sheetData>${rows}</sheetData><pageMargins/></worksheet>`;

/** styles.xml with cellXfs: 0 General, 1 built-in 14 (date), 2 custom datetime, 3 custom time, 4 text '@', 5 quoted literal with letters, 6 built-in 22. */
const STYLES = `<styleSheet ${NS}><numFmts count="3"><numFmt numFmtId="164" formatCode="dd/mm/yyyy\\ hh:mm"/><numFmt numFmtId="165" formatCode="[h]:mm:ss"/>`
  + '<numFmt numFmtId="166" formatCode="#,##0.00&quot; days&quot;"/></numFmts>'
  + '<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>'
  + '<cellXfs count="7"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="49"/><xf numFmtId="166"/><xf numFmtId="22"/></cellXfs></styleSheet>';

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

describe('cell values', () => {
  test('numbers: integers whole, other numbers to 15 significant digits, never an exponent', () => {
    const cases: [number, string][] = [
      [79161234567, '79161234567'],
      [2000000000017, '2000000000017'],
      [1234567890123456, '1234567890123456'],
      [-0, '0'],
      [1e21, '1000000000000000000000'],
      [0.1 + 0.2, '0.3'],
      [8.5999999999999996, '8.6'],
      [1234.56, '1234.56'],
      [-1.5e-7, '-0.00000015'],
      [1e-7, '0.0000001'],
      [123456789.123, '123456789.123'],
    ];
    for (const [n, want] of cases) assert.equal(numberText(n), want, String(n));
  });

  test('date serials: 1900 system with its phantom leap day, 1904 system, times', () => {
    const cases: [number, 1 | 2 | 3, boolean, string | null][] = [
      [1, 1, false, '1900-01-01'],
      [59, 1, false, '1900-02-28'],
      [60, 1, false, '1900-02-29'],
      [61, 1, false, '1900-03-01'],
      [33010, 1, false, '1990-05-17'],
      [45658.5, 1, false, '2025-01-01'],
      [45658.5, 2, false, '2025-01-01 12:00:00'],
      [45658, 2, false, '2025-01-01'],
      [45658.99999999, 2, false, '2025-01-02'],
      [0.75, 3, false, '18:00:00'],
      [0, 1, true, '1904-01-01'],
      [31548, 1, true, '1990-05-17'],
      [2958465, 1, false, '9999-12-31'],
      [2958466, 1, false, null],
      [-1, 1, false, null],
    ];
    for (const [serial, kind, date1904, want] of cases) assert.equal(serialText(serial, kind, date1904), want, `${serial} ${kind} ${date1904}`);
  });

  test('custom number formats are classified by their date and time letters', () => {
    const cases: [string, number][] = [
      ['dd.mm.yyyy', 1],
      ['mmm-yy', 1],
      ['[$-F800]dddd\\,\\ mmmm\\ dd\\,\\ yyyy', 1],
      ['dd.mm.yyyy hh:mm:ss', 2],
      ['h:mm AM/PM', 3],
      ['[h]:mm:ss', 3],
      ['mm:ss', 3],
      ['General', 0],
      ['#,##0.00" руб."', 0],
      ['[$₽-419]#,##0.00;[Red]-#,##0.00', 0],
      ['0.00E+00', 0],
      ['@', 0],
      ['_-* #,##0\\ "d"_-', 0],
    ];
    for (const [code, want] of cases) assert.equal(formatKind(code), want, code);
  });
});

// ---------------------------------------------------------------------------
// Hand-written packages: every XML feature
// ---------------------------------------------------------------------------

describe('readXlsxBatches on hand-written packages', () => {
  const SST = [
    'Имя', 'Телефон',
    '<r><rPr><b/></rPr><t>Пётр </t></r><r><t xml:space="preserve">Первый</t></r><rPh sb="0" eb="1"><t>ペ</t></rPh>',
    'A &amp; B &lt;c&gt; &#1046;&#x416; &quot;q&quot; &apos;',
    'line1_x000D_\nline2 _x005F_x0041_',
  ].map((t) => (t.startsWith('<r>') ? t : `<t xml:space="preserve">${t}</t>`));
  const SST_XML = `<?xml version="1.0"?><sst ${NS} count="5" uniqueCount="5">${SST.map((t) => `<si>${t}</si>`).join('')}</sst>`;
  const ROWS = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>Дата</t></is></c><c r="D1" t="inlineStr"><is><t>Прочее</t></is></c></row>'
    + '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>79161234567</v></c><c r="C2" s="1"><v>33010</v></c><c r="D2" t="b"><v>1</v></c></row>'
    + '<row r="3"/>' // empty, skipped
    + '<row r="4"><c r="A4" s="3"/><c r="B4" t="s" s="0"/></row>' // only styled blanks: skipped
    + '<row r="5"><c r="A5" t="s"><v>3</v></c><c r="D5" t="e"><v>#N/A</v></c><c r="F5"><f>1+1</f><v>2</v></c></row>'
    + '<row r="6"><c r="A6" t="s"><v>4</v></c><c r="B6" t="str"><f>A1&amp;"x"</f><v>Имяx</v></c><c r="C6" s="2"><v>45658.75</v></c><c r="D6" t="b"><v>0</v></c></row>'
    + '<row r="7"><c t="inlineStr"><is><t>no refs</t></is></c><c><v>1.5</v></c><c r="E7"><v>7</v></c><c><v>8</v></c></row>'
    + '<row><c r="AA8" t="inlineStr"><is><t>AA</t></is></c><c r="AB8"><v>-3</v></c></row>';
  const EXPECTED: CsvRow[] = [
    { line: 1, cells: ['Имя', 'Телефон', 'Дата', 'Прочее'] },
    { line: 2, cells: ['Пётр Первый', '79161234567', '1990-05-17', 'true'] },
    { line: 5, cells: ['A & B <c> ЖЖ "q" \'', '', '', '', '', '2'] },
    { line: 6, cells: ['line1\r\nline2 _x0041_', 'Имяx', '2025-01-01 18:00:00', 'false'] },
    { line: 7, cells: ['no refs', '1.5', '', '', '7', '8'] },
    { line: 8, cells: [...Array<string>(26).fill(''), 'AA', '-3'] },
  ];

  for (const sheetsFirst of [false, true]) {
    for (const level of [6, 0] as const) {
      test(`every kind of cell (${sheetsFirst ? 'sheet before shared strings in the zip' : 'shared strings first'}, ${level ? 'deflated' : 'stored'})`, async () => {
        const file = tmpFile(buildXlsx({ sheets: [{ name: 'Лист1', xml: sheetXml(ROWS) }], sst: SST_XML, styles: STYLES, sheetsFirst, level }));
        assert.deepEqual(await readAll(file), EXPECTED);
      });
    }
  }

  test('tiny chunks cut every tag, entity and UTF-8 character somewhere: same rows', async () => {
    const file = tmpFile(buildXlsx({ sheets: [{ name: 'Лист1', xml: sheetXml(ROWS) }], sst: SST_XML, styles: STYLES, level: 0 }));
    for (const chunkSize of [1, 2, 3, 5, 7, 13, 64]) {
      assert.deepEqual(await readAll(file, { chunkSize }), EXPECTED, `chunkSize ${chunkSize}`);
    }
    const deflated = tmpFile(buildXlsx({ sheets: [{ name: 'Лист1', xml: sheetXml(ROWS) }], sst: SST_XML, styles: STYLES, sheetsFirst: true }));
    assert.deepEqual(await readAll(deflated, { chunkSize: 1 }), EXPECTED);
  });

  test('XML details: prefixes, comments, CDATA, CRLF, single quotes, spaces in tags, BOM', async () => {
    const xml = '\uFEFF<?xml version="1.0"?>\r\n<!-- a comment with <c> inside --><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
      + '<x:sheetData>\r\n<x:row r=\'1\' ><x:c r = "A1" t="inlineStr" ><x:is><x:t><![CDATA[a<b>&amp;]]></x:t></x:is></x:c >'
      + '<x:c r="B1" t="inlineStr"><x:is><x:t>one\r\ntwo&#13;</x:t></x:is></x:c><x:c r="C1" t="d"><x:v>2024-02-29T00:00:00</x:v></x:c>'
      + '<x:c r="D1" t="d"><x:v>2024-02-29T13:05:00Z</x:v></x:c></x:row>\r\n</x:sheetData></x:worksheet>';
    const file = tmpFile(buildXlsx({ sheets: [{ name: 'S', xml }] }));
    assert.deepEqual(await readAll(file, { chunkSize: 3 }), [{ line: 1, cells: ['a<b>&amp;', 'one\ntwo\r', '2024-02-29', '2024-02-29 13:05:00'] }]);
  });

  test('dates under the 1904 system, custom and built-in formats; text-formatted and non-date formats stay numbers', async () => {
    const rows = '<row r="1"><c s="1"><v>31548</v></c><c s="6"><v>31548.25</v></c><c s="4"><v>31548</v></c><c s="5"><v>1.25</v></c><c s="3"><v>0.5</v></c></row>';
    const f1904 = tmpFile(buildXlsx({ sheets: [{ name: 'S', xml: sheetXml(rows) }], styles: STYLES, workbookPr: '<workbookPr date1904="1"/>' }));
    assert.deepEqual(cellsOf(await readAll(f1904)), [['1990-05-17', '1990-05-17 06:00:00', '31548', '1.25', '12:00:00']]);
    const f1900 = tmpFile(buildXlsx({ sheets: [{ name: 'S', xml: sheetXml(rows) }], styles: STYLES, workbookPr: '<workbookPr date1904="false"/>' }));
    assert.deepEqual(cellsOf(await readAll(f1900)), [['1986-05-16', '1986-05-16 06:00:00', '31548', '1.25', '12:00:00']]);
  });

  test('sheet choice: the first visible by default, by name (any case) or index; listing', async () => {
    const file = tmpFile(buildXlsx({
      sheets: [
        { name: 'Скрытый', state: 'hidden', xml: sheetXml('<row r="1"><c t="inlineStr"><is><t>hidden</t></is></c></row>') },
        { name: 'Клиенты &amp; Co', xml: sheetXml('<row r="1"><c t="inlineStr"><is><t>first</t></is></c></row>') },
        { name: 'Пусто', xml: sheetXml('') },
        { name: 'Совсем пусто', xml: `<worksheet ${NS}><sheetData/></worksheet>` },
      ],
    }));
    assert.deepEqual(await xlsxSheets(file), [
      { index: 0, name: 'Скрытый', hidden: true },
      { index: 1, name: 'Клиенты & Co', hidden: false },
      { index: 2, name: 'Пусто', hidden: false },
      { index: 3, name: 'Совсем пусто', hidden: false },
    ]);
    assert.deepEqual(cellsOf(await readAll(file)), [['first']]);
    assert.deepEqual(cellsOf(await readAll(file, { sheet: 0 })), [['hidden']]);
    assert.deepEqual(cellsOf(await readAll(file, { sheet: 'скрытый' })), [['hidden']]);
    assert.deepEqual(cellsOf(await readAll(file, { sheet: 'Клиенты & Co' })), [['first']]);
    const err = await rejectsWith(readAll(file, { sheet: 'Нет такого' }), 'sheet_not_found', /«Нет такого».*«Скрытый», «Клиенты & Co», «Пусто»/);
    assert.deepEqual(err.sheets, ['Скрытый', 'Клиенты & Co', 'Пусто', 'Совсем пусто']);
    await rejectsWith(readAll(file, { sheet: 4 }), 'sheet_not_found', /number 4/);
    await rejectsWith(readAll(file, { sheet: 2 }), 'empty_sheet', /«Пусто»/);
    await rejectsWith(readAll(file, { sheet: 3 }), 'empty_sheet');
  });

  test('batches: arrays of rows in order, early exit releases the file', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `<row r="${i + 1}"><c t="inlineStr"><is><t>r${i}</t></is></c><c><v>${i}</v></c></row>`).join('');
    const file = tmpFile(buildXlsx({ sheets: [{ name: 'S', xml: sheetXml(rows) }] }));
    const sizes: number[] = [];
    let line = 0;
    for await (const batch of readXlsxBatches(file)) {
      sizes.push(batch.length);
      for (const r of batch) assert.deepEqual(r, { line: ++line, cells: [`r${line - 1}`, String(line - 1)] });
    }
    assert.equal(line, 5000);
    assert.ok(sizes.length > 1 && sizes.every((n) => n > 0), `batches ${sizes.join(',')}`);
    for await (const batch of readXlsxBatches(file)) { assert.ok(batch.length > 0); break; }
  });

  test('a shared string index outside the table, a cell beyond XFD, a cut-off sheet: corrupt', async () => {
    const bad = tmpFile(buildXlsx({ sheets: [{ name: 'S', xml: sheetXml('<row r="1"><c t="s"><v>5</v></c></row>') }], sst: ['a'] }));
    await rejectsWith(readAll(bad), 'corrupt', /shared string 5/);
    const wide = tmpFile(buildXlsx({ sheets: [{ name: 'S', xml: sheetXml('<row r="1"><c r="XFE1"><v>1</v></c></row>') }] }));
    await rejectsWith(readAll(wide), 'corrupt', /XFD/);
    const cut = tmpFile(buildXlsx({ sheets: [{ name: 'S', xml: `<worksheet ${NS}><sheetData><row r="1"><c><v>1</v></c></row><row r="2"><c><v>2` }] }));
    const rows: CsvRow[] = [];
    await rejectsWith((async () => { for await (const b of readXlsxBatches(cut)) rows.push(...b); })(), 'corrupt');
    assert.deepEqual(rows, [{ line: 1, cells: ['1'] }]);
  });
});

// ---------------------------------------------------------------------------
// Not an XLSX, damaged, too large
// ---------------------------------------------------------------------------

describe('files that are not a readable XLSX', () => {
  test('a CSV, an .xls, random bytes, an empty file, other ZIP packages: not_xlsx', async () => {
    await rejectsWith(readAll(tmpFile('ФИО;Телефон\nИванов;79161234567\n', 'csv')), 'not_xlsx', /not a ZIP/);
    const xls = Buffer.alloc(1024);
    Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(xls);
    await rejectsWith(readAll(tmpFile(xls, 'xls')), 'not_xlsx', /\.xls/);
    await rejectsWith(readAll(tmpFile(Buffer.from('8a03ff17c2e9', 'hex'))), 'not_xlsx');
    await rejectsWith(readAll(tmpFile('')), 'not_xlsx', /empty/);
    await rejectsWith(xlsxSheets(tmpFile('')), 'not_xlsx');
    await rejectsWith(readAll(tmpFile(zipSync({ mimetype: enc('application/vnd.oasis.opendocument.spreadsheet'), 'content.xml': enc('<x/>') }), 'ods')), 'not_xlsx', /OpenDocument/);
    await rejectsWith(readAll(tmpFile(zipSync({ 'a.txt': enc('hello') }), 'zip')), 'not_xlsx', /without an Excel workbook/);
  });

  test('a truncated file: corrupt', async () => {
    const data = buildXlsx({ sheets: [{ name: 'S', xml: sheetXml('<row r="1"><c><v>1</v></c></row>') }] });
    for (const len of [10, 100, data.length - 30, data.length - 1]) {
      await rejectsWith(readAll(tmpFile(data.subarray(0, len))), 'corrupt');
    }
  });

  test('zip bombs and oversized tables: too_large', async () => {
    const big = sheetXml(`<row r="1"><c t="inlineStr"><is><t>${'x'.repeat(200_000)}</t></is></c></row>`);
    const file = tmpFile(buildXlsx({ sheets: [{ name: 'S', xml: big }] }));
    assert.equal((await readAll(file))[0]!.cells[0]!.length, 200_000);
    await rejectsWith(readAll(file, { maxUncompressedBytes: 100_000 }), 'too_large', /ZIP bomb/);
    const sst = tmpFile(buildXlsx({ sheets: [{ name: 'S', xml: sheetXml('<row r="1"><c t="s"><v>0</v></c></row>') }], sst: Array.from({ length: 1000 }, (_, i) => `string ${i}`) }));
    assert.deepEqual(cellsOf(await readAll(sst)), [['string 0']]);
    await rejectsWith(readAll(sst, { maxSharedStringsBytes: 10_000 }), 'too_large', /shared strings/);
    // A text run without an end: refused at the carry limit instead of growing without bound.
    const endless = tmpFile(buildXlsx({ sheets: [{ name: 'S', xml: sheetXml('') .replace('<sheetData>', `<sheetData><row><c><v>${'1'.repeat(17 * 2 ** 20)}`) }] }));
    await rejectsWith(readAll(endless), 'too_large', /longer than/);
  });

  test('fuzz: random bytes never crash or hang', async () => {
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 }).map((b) => Uint8Array.from([0x50, 0x4b, 3, 4, ...b]))),
      (bytes) => readsOrFailsCleanly(bytes),
    ), { numRuns: 300 });
  });

  test('fuzz: truncated and mutated real files read to the end or fail with an XlsxError', async () => {
    const files = [
      buildXlsx({ sheets: [{ name: 'S', xml: sheetXml('<row r="1"><c t="s"><v>0</v></c><c s="1"><v>33010</v></c></row><row r="2"><c t="inlineStr"><is><t>x</t></is></c></row>') }], sst: ['a'], styles: STYLES, level: 0 }),
      buildXlsx({ sheets: [{ name: 'S', xml: sheetXml('<row r="1"><c t="s"><v>0</v></c><c s="1"><v>33010</v></c></row>') }], sst: ['a'], styles: STYLES, sheetsFirst: true }),
      await ourExport([{ header: 'Телефон', kind: 'text' }, { header: 'Дата', kind: 'date' }], [['+79161234567', '1990-05-17'], ['x', null]]),
    ];
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...files.keys()),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.option(fc.nat()),
      fc.integer({ min: 1, max: 64 }),
      async (which, mutations, cut, chunkSize) => {
        let data = Uint8Array.from(files[which]!);
        for (const [at, b] of mutations) data[at % data.length] = b;
        if (cut !== null) data = data.subarray(0, cut % data.length);
        await readsOrFailsCleanly(data, { chunkSize });
      },
    ), { numRuns: 400 });
  });
});

// ---------------------------------------------------------------------------
// Files written by real programs
// ---------------------------------------------------------------------------

async function ourExport(columns: XlsxColumn[], rows: Cell[][]): Promise<Uint8Array> {
  const file = join(dir, `export${++seq}.xlsx`);
  const w = xlsxWriter(createWriteStream(file), columns, { utcOffsetMinutes: 180 });
  for (const r of rows) await w.write(r);
  await w.end();
  return readFileSync(file);
}

describe('files written by real programs', () => {
  test('our own export (inline strings, sheet before workbook in the zip)', async () => {
    const data = await ourExport([
      { header: 'Телефон', kind: 'text' }, { header: 'Имя', kind: 'text' }, { header: 'Дата рождения', kind: 'date' },
      { header: 'Создан', kind: 'datetime' }, { header: 'Баллы', kind: 'number' }, { header: 'VIP', kind: 'boolean' },
    ], [
      ['+79161234567', 'Пётр <&> "Первый"', '1990-05-17', new Date('2024-03-01T09:30:15Z'), 1234.5, true],
      ['=1+1', '  пробелы  ', null, null, 79161234567, false],
      [null, null, null, null, null, null],
      ['2000000000017', 'a\r\nb\tc', '1900-01-01', '2024-12-31 23:59:59', -0.25, null],
    ]);
    const file = tmpFile(data);
    assert.deepEqual(await xlsxSheets(file), [{ index: 0, name: 'Клиенты', hidden: false }]);
    assert.deepEqual(await readAll(file), [
      { line: 1, cells: ['Телефон', 'Имя', 'Дата рождения', 'Создан', 'Баллы', 'VIP'] },
      { line: 2, cells: ['+79161234567', 'Пётр <&> "Первый"', '1990-05-17', '2024-03-01 12:30:15', '1234.5', 'true'] },
      { line: 3, cells: ['=1+1', '  пробелы  ', '', '', '79161234567', 'false'] },
      { line: 5, cells: ['2000000000017', 'a\r\nb\tc', '1900-01-01', '2024-12-31 23:59:59', '-0.25', ''] },
    ]);
  });

  test('our own export overflowing into a second sheet', async () => {
    const file = join(dir, 'overflow.xlsx');
    const w = xlsxWriter(createWriteStream(file), [{ header: 'n', kind: 'number' }], { maxRowsPerSheet: 3 });
    for (let i = 0; i < 5; i++) await w.write([i]);
    await w.end();
    assert.deepEqual((await xlsxSheets(file)).map((s) => s.name), ['Клиенты', 'Лист2', 'Лист3']);
    assert.deepEqual(cellsOf(await readAll(file, { sheet: 'Лист2' })), [['n'], ['2'], ['3']]);
  });

  test('a workbook written by exceljs: sheets, shared strings, dates, rich text, formula, sparse cells, hidden sheet', async () => {
    const wb = new ExcelJS.Workbook();
    const hidden = wb.addWorksheet('Служебный', { state: 'hidden' });
    hidden.getCell('A1').value = 'secret';
    const ws = wb.addWorksheet('Клиенты');
    ws.addRow(['ФИО', 'Телефон', 'Дата рождения', 'Создан', 'Баллы', 'VIP', 'Сумма', 'Заметка']);
    ws.addRow(['Иванов Иван', 79161234567, new Date(Date.UTC(1990, 4, 17)), new Date(Date.UTC(2024, 2, 1, 9, 30, 15)), 0.1, true, { formula: 'E2*2', result: 0.2 },
      { richText: [{ text: 'Жирный ', font: { bold: true } }, { text: 'курсив', font: { italic: true } }] }]);
    ws.getCell('C2').numFmt = 'dd.mm.yyyy';
    ws.getCell('D2').numFmt = 'dd.mm.yyyy hh:mm:ss';
    ws.getCell('A4').value = 'Петров';
    ws.getCell('AB4').value = 'далеко';
    ws.getCell('B4').value = '+79031234567';
    ws.getCell('F4').value = false;
    ws.getCell('A5').value = { error: '#N/A' } as ExcelJS.CellErrorValue;
    ws.getCell('B5').value = 'Иванов Иван'; // a repeated shared string
    const other = wb.addWorksheet('Другой');
    other.getCell('B2').value = 'b2';
    const file = join(dir, 'exceljs.xlsx');
    await wb.xlsx.writeFile(file);

    assert.deepEqual(await xlsxSheets(file), [
      { index: 0, name: 'Служебный', hidden: true },
      { index: 1, name: 'Клиенты', hidden: false },
      { index: 2, name: 'Другой', hidden: false },
    ]);
    const far = [...Array<string>(27).fill('')];
    far[0] = 'Петров';
    far[1] = '+79031234567';
    far[5] = 'false';
    far[27] = 'далеко';
    assert.deepEqual(await readAll(file), [
      { line: 1, cells: ['ФИО', 'Телефон', 'Дата рождения', 'Создан', 'Баллы', 'VIP', 'Сумма', 'Заметка'] },
      { line: 2, cells: ['Иванов Иван', '79161234567', '1990-05-17', '2024-03-01 09:30:15', '0.1', 'true', '0.2', 'Жирный курсив'] },
      { line: 4, cells: far },
      { line: 5, cells: ['', 'Иванов Иван', '', '', '', '', '', ''] },
    ]);
    assert.deepEqual(await readAll(file, { sheet: 'Служебный' }), [{ line: 1, cells: ['secret'] }]);
    assert.deepEqual(await readAll(file, { sheet: 2 }), [{ line: 2, cells: ['', 'b2'] }]);
  });

  const office = ['libreoffice', 'soffice'].find((bin) => spawnSync('which', [bin]).status === 0);
  // CI installs LibreOffice (.ci/run) and must run this; elsewhere a machine without it says so.
  test('files converted by LibreOffice: shared strings after the sheet, real date cells, phones as numbers', { skip: office || process.env.CI ? false : 'LibreOffice is not installed (apt-get install libreoffice-calc-nogui)' }, async () => {
    assert.ok(office, 'LibreOffice is required in CI: .ci/run installs libreoffice-calc-nogui');
    const work = mkdtempSync(join(tmpdir(), 'kartoteka-xlsx-lo-'));
    try {
      const csv = join(work, 'people.csv');
      writeFileSync(csv, 'ФИО;Телефон;Дата рождения;Сумма;Город\n'
        + 'Иванов Иван Иванович;+79161234567;17.05.1990;1234,56;Москва\n'
        + 'Петрова Анна;89031234567;01.02.1985;10;Санкт-Петербург\n'
        + ';;;;\n'
        + 'Сидоров «Пётр» & Co;79261234567;29.02.2000;0,5;Казань\n');
      // Semicolons, UTF-8, from line 1, Russian locale (1049): LibreOffice types dd.mm.yyyy as dates and 1234,56 as a number.
      const run = spawnSync(office!, ['--headless', '--infilter=CSV:59,34,76,1,,1049', '--convert-to', 'xlsx', '--outdir', work, csv], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(run.status, 0, run.stderr);
      const file = join(work, 'people.xlsx');
      assert.deepEqual(await xlsxSheets(file), [{ index: 0, name: 'people', hidden: false }]);
      assert.deepEqual(await readAll(file), [
        { line: 1, cells: ['ФИО', 'Телефон', 'Дата рождения', 'Сумма', 'Город'] },
        { line: 2, cells: ['Иванов Иван Иванович', '79161234567', '1990-05-17', '1234.56', 'Москва'] },
        { line: 3, cells: ['Петрова Анна', '89031234567', '1985-02-01', '10', 'Санкт-Петербург'] },
        { line: 5, cells: ['Сидоров «Пётр» & Co', '79261234567', '2000-02-29', '0.5', 'Казань'] },
      ]);

      // A round trip through .ods: the date stays a date cell, written back by LibreOffice's xlsx filter.
      const run2 = spawnSync(office!, ['--headless', '--convert-to', 'ods', '--outdir', work, file], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(run2.status, 0, run2.stderr);
      await rejectsWith(readAll(join(work, 'people.ods')), 'not_xlsx', /OpenDocument/);
      const back = join(work, 'back');
      const run3 = spawnSync(office!, ['--headless', '--convert-to', 'xlsx', '--outdir', back, join(work, 'people.ods')], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(run3.status, 0, run3.stderr);
      assert.deepEqual(cellsOf(await readAll(join(back, 'people.xlsx'))).map((r) => r[2]), ['Дата рождения', '1990-05-17', '1985-02-01', '2000-02-29']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
