import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { crc32, inflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { unzipSync } from 'fflate';
import { csvWriter, neutralize, type CsvCell } from '../formats/csv.write.ts';
import { columnName, xlsxWriter, XLSX_MAX_CELL_CHARS, type Cell, type XlsxColumn } from '../formats/xlsx.write.ts';

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** A Writable keeping what it receives; `slow` acknowledges each chunk on a later tick (to exercise backpressure). */
function memoryOut(opts: { highWaterMark?: number; slow?: boolean; failAfter?: number } = {}) {
  const chunks: Buffer[] = [];
  let maxPending = 0;
  let received = 0;
  const stream: Writable = new Writable({
    highWaterMark: opts.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      maxPending = Math.max(maxPending, stream.writableLength);
      received += chunk.length;
      if (opts.failAfter !== undefined && received > opts.failAfter) { cb(new Error('disk full')); return; }
      chunks.push(chunk);
      if (opts.slow) setImmediate(cb); else cb();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks), maxPending: () => maxPending };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Minimal RFC 4180 reader: quoted fields, doubled quotes; records end with `eol`. Every record ends with eol. */
function readCsv(text: string, sep: string, eol: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < text.length && text[i] !== sep && !text.startsWith(eol, i)) throw new Error(`garbage after a quoted field at ${i}`);
      continue;
    }
    if (text[i] === sep) { row.push(field); field = ''; i++; continue; }
    if (text.startsWith(eol, i)) { row.push(field); rows.push(row); row = []; field = ''; i += eol.length; continue; }
    const c = text[i]!;
    if (c === '\r' || c === '\n') throw new Error(`bare line break in an unquoted field at ${i}`);
    field += c;
    i++;
  }
  if (field !== '' || row.length > 0) throw new Error('the last record has no line end');
  return rows;
}

interface El { name: string; attrs: Record<string, string>; children: (El | string)[] }

/** Tiny XML 1.0 well-formedness checker and parser (no DTD, comments, CDATA or PIs besides the declaration). */
function parseXml(xml: string): El {
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(xml)) throw new Error('character not allowed in XML 1.0');
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(xml)) throw new Error('lone surrogate');
  let i = 0;
  const NAME = /[A-Za-z_:][\w.:-]*/y;
  const decode = (s: string): string => {
    if (s.includes('<')) throw new Error(`'<' in text or attribute near ${i}`);
    return s.replace(/&([^;]*);?/g, (m, e: string) => {
      if (!m.endsWith(';')) throw new Error(`unterminated entity near ${i}`);
      const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      if (e in named) return named[e]!;
      const num = /^#(\d+)$/.exec(e) ?? /^#x([0-9a-fA-F]+)$/.exec(e);
      if (!num) throw new Error(`unknown entity &${e};`);
      const cp = parseInt(num[1]!, e[1] === 'x' ? 16 : 10);
      if (!(cp === 9 || cp === 10 || cp === 13 || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff))) {
        throw new Error(`character reference to an illegal character ${cp}`);
      }
      return String.fromCodePoint(cp);
    });
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(xml);
    if (!m) throw new Error(`name expected at ${i}`);
    i += m[0].length;
    return m[0];
  };
  const ws = (): void => { while (i < xml.length && ' \t\r\n'.includes(xml[i]!)) i++; };
  const element = (): El => {
    if (xml[i] !== '<') throw new Error(`'<' expected at ${i}`);
    i++;
    const el: El = { name: name(), attrs: {}, children: [] };
    for (;;) {
      const before = i;
      ws();
      if (xml.startsWith('/>', i)) { i += 2; return el; }
      if (xml[i] === '>') { i++; break; }
      if (before === i) throw new Error(`whitespace expected before an attribute at ${i}`);
      const a = name();
      ws();
      if (xml[i] !== '=') throw new Error(`'=' expected at ${i}`);
      i++;
      ws();
      const q = xml[i];
      if (q !== '"' && q !== "'") throw new Error(`quote expected at ${i}`);
      const end = xml.indexOf(q, i + 1);
      if (end < 0) throw new Error('unterminated attribute');
      if (a in el.attrs) throw new Error(`duplicate attribute ${a}`);
      el.attrs[a] = decode(xml.slice(i + 1, end));
      i = end + 1;
    }
    for (;;) {
      const lt = xml.indexOf('<', i);
      if (lt < 0) throw new Error(`</${el.name}> missing`);
      const raw = xml.slice(i, lt);
      if (raw.includes(']]>')) throw new Error("']]>' in text");
      if (raw.length) el.children.push(decode(raw));
      i = lt;
      if (xml.startsWith('</', i)) {
        i += 2;
        const n = name();
        if (n !== el.name) throw new Error(`</${n}> closes <${el.name}>`);
        ws();
        if (xml[i] !== '>') throw new Error(`'>' expected at ${i}`);
        i++;
        return el;
      }
      el.children.push(element());
    }
  };
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  ws();
  const root = element();
  ws();
  if (i !== xml.length) throw new Error(`content after the root element at ${i}`);
  return root;
}

const kids = (el: El, name: string): El[] => el.children.filter((c): c is El => typeof c !== 'string' && c.name === name);
const kid = (el: El, name: string): El => {
  const k = kids(el, name)[0];
  if (!k) throw new Error(`<${el.name}> has no <${name}>`);
  return k;
};
const textOf = (el: El): string => el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');

/**
 * Reads a zip through its central directory and checks every entry independently of fflate:
 * local header present, data inflates to the recorded size, CRC-32 matches. Returns the names in order.
 */
function checkZip(buf: Buffer): string[] {
  let eocd = -1;
  for (let p = buf.length - 22; p >= Math.max(0, buf.length - 22 - 65535); p--) {
    if (buf.readUInt32LE(p) === 0x06054b50) { eocd = p; break; }
  }
  assert.ok(eocd >= 0, 'end of central directory record');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  assert.equal(p + buf.readUInt32LE(eocd + 12), eocd, 'central directory ends where the EOCD starts');
  const names: string[] = [];
  for (let k = 0; k < count; k++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'central directory header');
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const n = buf.readUInt16LE(p + 28), e = buf.readUInt16LE(p + 30), c = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const fname = buf.toString('utf8', p + 46, p + 46 + n);
    names.push(fname);
    assert.equal(buf.readUInt32LE(local), 0x04034b50, `local header of ${fname}`);
    const data = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    assert.equal(method, 8, `${fname} is deflated`);
    const raw = inflateRawSync(buf.subarray(data, data + csize));
    assert.equal(raw.length, usize, `${fname} size`);
    assert.equal(crc32(raw), crc, `${fname} CRC-32`);
    p += 46 + n + e + c;
  }
  return names;
}

/** Unzips with fflate and parses every XML part for well-formedness (valid UTF-8 required). */
function xlsxParts(buf: Buffer): Map<string, El> {
  const files = unzipSync(buf);
  const parts = new Map<string, El>();
  for (const [path, data] of Object.entries(files)) {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    try { parts.set(path, parseXml(text)); } catch (err) { throw new Error(`${path}: ${(err as Error).message}`); }
  }
  return parts;
}

async function writeXlsx(columns: XlsxColumn[], rows: Cell[][], opts: Parameters<typeof xlsxWriter>[2] = {}) {
  const out = memoryOut();
  const w = xlsxWriter(out.stream, columns, opts);
  for (const r of rows) await w.write(r);
  const result = await w.end();
  return { result, buf: out.bytes() };
}

async function readBack(buf: Buffer): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as Parameters<typeof wb.xlsx.load>[0]);
  return wb;
}

/** cellXfs ids that carry quotePrefix="1". */
function quotedStyles(parts: Map<string, El>): Set<string> {
  const xfs = kids(kid(parts.get('xl/styles.xml')!, 'cellXfs'), 'xf');
  return new Set(xfs.flatMap((x, i) => (x.attrs.quotePrefix === '1' ? [String(i)] : [])));
}

function sheetCells(parts: Map<string, El>, n = 1): Map<string, El> {
  const data = kid(parts.get(`xl/worksheets/sheet${n}.xml`)!, 'sheetData');
  const cells = new Map<string, El>();
  for (const row of kids(data, 'row')) for (const c of kids(row, 'c')) cells.set(c.attrs.r!, c);
  return cells;
}

// ---------------------------------------------------------------------------
// neutralize
// ---------------------------------------------------------------------------

describe('neutralize', () => {
  test('prefixes an apostrophe to cells starting with = + - @ TAB CR', () => {
    assert.equal(neutralize('=1+1'), "'=1+1");
    assert.equal(neutralize('=HYPERLINK("http://x","y")'), `'=HYPERLINK("http://x","y")`);
    assert.equal(neutralize('+79161234567'), "'+79161234567");
    assert.equal(neutralize('-2+3'), "'-2+3");
    assert.equal(neutralize('-'), "'-");
    assert.equal(neutralize('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(neutralize('\t=1'), "'\t=1");
    assert.equal(neutralize('\r=1'), "'\r=1");
  });
  test('leaves everything else alone', () => {
    for (const s of ['', 'Иванов', '79161234567', '2000000000017', ' =1+1', "'=1+1", 'a=b', '1-2', '\n=1', 'ёж', '👍=']) {
      assert.equal(neutralize(s), s);
    }
  });
});

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

describe('csvWriter', () => {
  test("excel-ru: BOM, ';', CRLF, quoting, decimal comma, neutralized text", async () => {
    const out = memoryOut();
    const w = csvWriter(out.stream, ['Имя', 'Телефон', 'Заметка', 'Сумма', 'VIP', 'Пусто'], { dialect: 'excel-ru' });
    await w.write(['Анна', '+79161234567', 'a;b', 12.5, true, null]);
    await w.write(['Олег "Босс"', '2000000000017', 'две\r\nстроки', -3, false, '']);
    await w.write(['=1+1', '@x', 'a,b', 1e21, false, 'конец\n']);
    const res = await w.end();
    const buf = out.bytes();
    assert.deepEqual([...buf.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    const text = buf.toString('utf8').slice(1);
    assert.equal(text,
      'Имя;Телефон;Заметка;Сумма;VIP;Пусто\r\n'
      + "Анна;'+79161234567;\"a;b\";12,5;true;\r\n"
      + '"Олег ""Босс""";2000000000017;"две\r\nстроки";-3;false;\r\n'
      + "'=1+1;'@x;a,b;1e+21;false;\"конец\n\"\r\n");
    assert.deepEqual(res, { rows: 3, bytes: buf.length, sha256: sha256(buf) });
  });

  test("plain: no BOM, ',', LF, decimal point", async () => {
    const out = memoryOut();
    const w = csvWriter(out.stream, ['a', 'b', 'c'], { dialect: 'plain' });
    await w.write(['x,y', 0.25, '-5']);
    await w.write([null, -0.5, 'q"q']);
    const res = await w.end();
    const buf = out.bytes();
    assert.equal(buf.toString('utf8'), 'a,b,c\n"x,y",0.25,\'-5\n,-0.5,"q""q"\n');
    assert.equal(res.rows, 2);
    assert.equal(res.sha256, sha256(buf));
  });

  test('neutralize: false writes text as it is; non-finite numbers are text', async () => {
    const out = memoryOut();
    const w = csvWriter(out.stream, ['a', 'b'], { dialect: 'plain', neutralize: false });
    await w.write(['=1+1', Number.NEGATIVE_INFINITY]);
    await w.end();
    assert.equal(out.bytes().toString('utf8'), 'a,b\n=1+1,-Infinity\n');
    const out2 = memoryOut();
    const w2 = csvWriter(out2.stream, ['a', 'b'], { dialect: 'plain' });
    await w2.write([Number.NaN, Number.NEGATIVE_INFINITY]);
    await w2.end();
    assert.equal(out2.bytes().toString('utf8'), "a,b\nNaN,'-Infinity\n");
  });

  test('header only; wrong row width and write after end are rejected', async () => {
    const out = memoryOut();
    const w = csvWriter(out.stream, ['=x', 'y'], { dialect: 'excel-ru' });
    await assert.rejects(w.write(['only one']), /has 1 cells, the header has 2/);
    const res = await w.end();
    assert.equal(out.bytes().toString('utf8'), "\uFEFF'=x;y\r\n");
    assert.equal(res.rows, 0);
    await assert.rejects(w.write(['a', 'b']), /after end/);
    assert.ok(out.stream.writableFinished, 'the output stream is ended');
  });

  test('endStream: false leaves the output open', async () => {
    const out = memoryOut();
    const w = csvWriter(out.stream, ['a'], { dialect: 'plain', endStream: false });
    await w.write(['1']);
    await w.end();
    assert.equal(out.stream.writableEnded, false);
    assert.equal(out.bytes().toString('utf8'), 'a\n1\n');
  });

  test('respects backpressure: a slow output never holds more than a chunk or two', async () => {
    const out = memoryOut({ highWaterMark: 1024, slow: true });
    const w = csvWriter(out.stream, ['n', 'text'], { dialect: 'plain' });
    const filler = 'x'.repeat(200);
    for (let i = 0; i < 30_000; i++) await w.write([i, filler]);
    const res = await w.end();
    assert.ok(res.bytes > 6_000_000, `${res.bytes} bytes`);
    assert.ok(out.maxPending() < 600_000, `at most ${out.maxPending()} bytes were waiting in the stream`);
    assert.equal(res.sha256, sha256(out.bytes()));
  });

  test('an output error rejects write()/end()', async () => {
    const out = memoryOut({ failAfter: 100_000 });
    const w = csvWriter(out.stream, ['text'], { dialect: 'plain' });
    await assert.rejects(async () => {
      for (let i = 0; i < 10_000; i++) await w.write(['y'.repeat(100)]);
      await w.end();
    }, /disk full/);
  });

  const cellArb: fc.Arbitrary<CsvCell> = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.string({ unit: fc.constantFrom('a', 'я', ';', ',', '"', '\r', '\n', '=', '+', '-', '@', '\t', "'", ' ', '😀'), maxLength: 8 }),
    fc.constantFrom('=1+1', '+79161234567', '-', '@A1', '\t', '\r', '\r\n', '""', ';', ','),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.boolean(),
    fc.constant(null),
  );

  for (const dialect of ['excel-ru', 'plain'] as const) {
    test(`property (${dialect}): random matrices read back as written, after neutralization`, async () => {
      const sep = dialect === 'excel-ru' ? ';' : ',';
      const eol = dialect === 'excel-ru' ? '\r\n' : '\n';
      const expected = (v: CsvCell): string => {
        if (v === null) return '';
        if (typeof v === 'string') return neutralize(v);
        if (typeof v === 'boolean') return String(v);
        const s = String(v);
        if (!Number.isFinite(v)) return neutralize(s); // NaN / ±Infinity are text cells
        return dialect === 'excel-ru' ? s.replace('.', ',') : s;
      };
      await fc.assert(fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }).chain((width) => fc.tuple(
          fc.array(fc.string({ maxLength: 6 }), { minLength: width, maxLength: width }),
          fc.array(fc.array(cellArb, { minLength: width, maxLength: width }), { maxLength: 12 }),
        )),
        async ([header, rows]) => {
          const out = memoryOut();
          const w = csvWriter(out.stream, header, { dialect });
          for (const r of rows) await w.write(r);
          const res = await w.end();
          const buf = out.bytes();
          assert.equal(res.bytes, buf.length);
          assert.equal(res.sha256, sha256(buf));
          assert.equal(res.rows, rows.length);
          let text = buf.toString('utf8');
          if (dialect === 'excel-ru') {
            assert.equal(text[0], '\uFEFF');
            text = text.slice(1);
          }
          const back = readCsv(text, sep, eol);
          assert.deepEqual(back, [header.map(neutralize), ...rows.map((r) => r.map(expected))]);
        },
      ), { numRuns: 300 });
    });
  }
});

// ---------------------------------------------------------------------------
// XLSX
// ---------------------------------------------------------------------------

const COLUMNS: XlsxColumn[] = [
  { header: 'Телефон', kind: 'text' },
  { header: 'Номер карты', kind: 'text' },
  { header: 'Имя', kind: 'text', width: 30 },
  { header: 'Дата рождения', kind: 'date' },
  { header: 'Создан', kind: 'datetime' },
  { header: 'Визиты', kind: 'number' },
  { header: 'VIP', kind: 'boolean' },
];

describe('xlsxWriter', () => {
  test('reads back with exceljs: text stays text, numbers, dates, booleans, specials', async () => {
    const created = new Date('2024-03-01T21:30:15.250Z');
    const rows: Cell[][] = [
      ['+79161234567', '2000000000017', 'Пётр Ёлкин', '1990-05-17', created, 42, true],
      [79161234567, 2000000000017, '👍🏽 <b>&"\'</b>', new Date(Date.UTC(2001, 1, 3)), '2024-01-02 03:04:05', 12.75, false],
      ['=1+1', '-5', 'a\u0001b\u0000c\u000B', null, null, Number.NaN, null],
      ['\u0007=cmd', '@SUM(A1)', '  пробелы \n строка\tтаб\r\nконец ', '1899-12-31', '2024-02-30', Number.NEGATIVE_INFINITY, 'да'],
      ['', '\u0001', 'x'.repeat(XLSX_MAX_CELL_CHARS - 1) + '😀', '1900-02-28', '1900-03-01T12:00', -1.5e-7, null],
    ];
    const { result, buf } = await writeXlsx(COLUMNS, rows, { utcOffsetMinutes: 180 });
    assert.equal(result.rows, rows.length);
    assert.equal(result.sheets, 1);
    assert.equal(result.bytes, buf.length);
    assert.equal(result.sha256, sha256(buf));

    const wb = await readBack(buf);
    assert.equal(wb.worksheets.length, 1);
    const ws = wb.worksheets[0]!;
    assert.equal(ws.name, 'Клиенты');
    const v = (a: string) => ws.getCell(a).value;
    const type = (a: string) => ws.getCell(a).type;

    // header
    assert.deepEqual(COLUMNS.map((_, i) => v(columnName(i) + '1')), COLUMNS.map((c) => c.header));
    assert.equal(ws.getCell('A1').font?.bold, true);
    // phones and cards are strings, even when passed as numbers
    assert.equal(v('A2'), '+79161234567');
    assert.equal(type('A2'), ExcelJS.ValueType.String);
    assert.equal(v('B2'), '2000000000017');
    assert.equal(type('B2'), ExcelJS.ValueType.String);
    assert.equal(v('A3'), '79161234567');
    assert.equal(v('B3'), '2000000000017');
    assert.equal(ws.getCell('A2').numFmt, '@');
    // dates: a 'YYYY-MM-DD' string, Date objects (shown at UTC+3 here), an ISO datetime string
    assert.ok(v('D2') instanceof Date);
    assert.equal(type('D2'), ExcelJS.ValueType.Date);
    assert.equal((v('D2') as Date).toISOString(), '1990-05-17T00:00:00.000Z');
    assert.equal((v('E2') as Date).toISOString(), '2024-03-02T00:30:15.250Z');
    assert.equal((v('D3') as Date).toISOString(), '2001-02-03T00:00:00.000Z');
    assert.equal((v('E3') as Date).toISOString(), '2024-01-02T03:04:05.000Z');
    assert.equal(ws.getCell('D2').numFmt, 'dd.mm.yyyy');
    assert.equal(ws.getCell('E2').numFmt, 'dd.mm.yyyy hh:mm:ss');
    // numbers and booleans
    assert.equal(v('F2'), 42);
    assert.equal(type('F2'), ExcelJS.ValueType.Number);
    assert.equal(v('F3'), 12.75);
    assert.equal(v('F6'), -1.5e-7);
    assert.equal(v('G2'), true);
    assert.equal(v('G3'), false);
    assert.equal(type('G2'), ExcelJS.ValueType.Boolean);
    // Cyrillic, emoji, XML specials
    assert.equal(v('C2'), 'Пётр Ёлкин');
    assert.equal(v('C3'), '👍🏽 <b>&"\'</b>');
    // formulas stay text, exact value (quotePrefix style)
    assert.equal(v('A4'), '=1+1');
    assert.equal(type('A4'), ExcelJS.ValueType.String);
    assert.equal(ws.getCell('A4').formula, undefined);
    assert.equal(v('B4'), '-5');
    assert.equal(v('B5'), '@SUM(A1)');
    // control characters are removed (then the guard applies to what is left)
    assert.equal(v('C4'), 'abc');
    assert.equal(v('A5'), '=cmd');
    assert.equal(type('A5'), ExcelJS.ValueType.String);
    // whitespace, TAB, LF and CR survive
    assert.equal(v('C5'), '  пробелы \n строка\tтаб\r\nконец ');
    // non-finite numbers and unshowable dates are text; a string in a boolean column is text
    assert.equal(v('F4'), 'NaN');
    assert.equal(v('F5'), '-Infinity');
    assert.equal(v('D5'), '1899-12-31');
    assert.equal(v('E5'), '2024-02-30');
    assert.equal(v('G5'), 'да');
    // empty and emptied strings are no cell; long text is cut at 32,767 without splitting the emoji
    assert.equal(v('A6'), null);
    assert.equal(v('B6'), null);
    assert.equal((v('C6') as string).length, XLSX_MAX_CELL_CHARS - 1);
    // null is no cell
    assert.equal(v('D4'), null);

    // raw XML: well-formed parts, serials with Excel's 1900 rules, quotePrefix on guarded cells, frozen header
    const parts = xlsxParts(buf);
    assert.deepEqual([...parts.keys()].sort(), [
      '[Content_Types].xml', '_rels/.rels', 'xl/_rels/workbook.xml.rels', 'xl/styles.xml', 'xl/workbook.xml', 'xl/worksheets/sheet1.xml',
    ]);
    const cells = sheetCells(parts);
    assert.equal(textOf(kid(cells.get('D6')!, 'v')), '59');
    assert.equal(textOf(kid(cells.get('E6')!, 'v')), '61.5');
    assert.equal(textOf(kid(cells.get('D2')!, 'v')), '33010');
    const quoted = quotedStyles(parts);
    for (const a of ['A2', 'A4', 'B4', 'B5', 'A5', 'F5']) assert.ok(quoted.has(cells.get(a)!.attrs.s!), `${a} has a quotePrefix style`);
    for (const a of ['A3', 'B2', 'C2', 'C5']) assert.ok(!quoted.has(cells.get(a)!.attrs.s ?? '0'), `${a} has no quotePrefix style`);
    for (const c of cells.values()) assert.equal(kids(c, 'f').length, 0, 'no formulas anywhere');
    assert.equal(cells.get('C5')!.children.length, 1);
    const ws1 = parts.get('xl/worksheets/sheet1.xml')!;
    const pane = kid(kid(kid(ws1, 'sheetViews'), 'sheetView'), 'pane');
    assert.deepEqual(pane.attrs, { ySplit: '1', topLeftCell: 'A2', activePane: 'bottomLeft', state: 'frozen' });
    const cols = kids(kid(ws1, 'cols'), 'col');
    assert.equal(cols.length, COLUMNS.length);
    assert.equal(cols[2]!.attrs.width, '30');
    assert.deepEqual(checkZip(buf).sort(), [...parts.keys()].sort());
  });

  test("formulaGuard 'apostrophe' writes neutralize()d text, like the CSV writer", async () => {
    const { buf } = await writeXlsx([{ header: '=h', kind: 'text' }, { header: 'n', kind: 'number' }], [['=1+1', 1], ['+79161234567', '-x']], { formulaGuard: 'apostrophe' });
    const ws = (await readBack(buf)).worksheets[0]!;
    assert.equal(ws.getCell('A1').value, "'=h");
    assert.equal(ws.getCell('A2').value, "'=1+1");
    assert.equal(ws.getCell('A3').value, "'+79161234567");
    assert.equal(ws.getCell('B3').value, "'-x");
    assert.equal(ws.getCell('A2').type, ExcelJS.ValueType.String);
  });

  test('Date objects default to the local time zone', async () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Asia/Vladivostok'; // UTC+10: local and UTC dates differ
    try {
      const d = new Date(2020, 6, 15, 3, 20, 30); // local wall clock 2020-07-15 03:20:30 = 2020-07-14T17:20:30Z
      assert.equal(d.toISOString(), '2020-07-14T17:20:30.000Z');
      const { buf } = await writeXlsx([{ header: 'd', kind: 'date' }, { header: 't', kind: 'datetime' }], [[d, d]]);
      const ws = (await readBack(buf)).worksheets[0]!;
      assert.equal((ws.getCell('A2').value as Date).toISOString(), '2020-07-15T00:00:00.000Z');
      assert.equal((ws.getCell('B2').value as Date).toISOString(), '2020-07-15T03:20:30.000Z');
    } finally {
      if (tz === undefined) delete process.env.TZ; else process.env.TZ = tz;
    }
  });

  test('sheet overflow: new sheets named Лист2, Лист3 with the header repeated', async () => {
    const cols: XlsxColumn[] = [{ header: 'N', kind: 'number' }, { header: 'Телефон', kind: 'text' }];
    const rows: Cell[][] = Array.from({ length: 15 }, (_, i) => [i + 1, `+7916000${String(i).padStart(4, '0')}`]);
    const { result, buf } = await writeXlsx(cols, rows, { maxRowsPerSheet: 10, sheetName: 'Выгрузка' });
    assert.equal(result.sheets, 2);
    assert.equal(result.rows, 15);
    const wb = await readBack(buf);
    assert.deepEqual(wb.worksheets.map((w) => w.name), ['Выгрузка', 'Лист2']);
    const back: Cell[][] = [];
    for (const ws of wb.worksheets) {
      assert.deepEqual((ws.getRow(1).values as unknown[]).slice(1), ['N', 'Телефон']);
      assert.ok(ws.rowCount <= 10);
      for (let r = 2; r <= ws.rowCount; r++) back.push([ws.getCell(r, 1).value as number, ws.getCell(r, 2).value as string]);
    }
    assert.deepEqual(back, rows);
    assert.deepEqual(wb.worksheets.map((w) => w.rowCount), [10, 7]);
    const parts = xlsxParts(buf);
    assert.ok(parts.has('xl/worksheets/sheet2.xml'));
    checkZip(buf);

    // exactly full sheets do not open an empty extra sheet; names avoid collisions
    const full = await writeXlsx(cols, rows.slice(0, 9), { maxRowsPerSheet: 10 });
    assert.equal(full.result.sheets, 1);
    const many = await writeXlsx(cols, rows, { maxRowsPerSheet: 4, sheetName: 'лист2' });
    assert.equal(many.result.sheets, 5);
    assert.deepEqual((await readBack(many.buf)).worksheets.map((w) => w.name), ['лист2', 'Лист2 (2)', 'Лист3', 'Лист4', 'Лист5']);
  });

  test('a sheet part also rolls over before its XML passes the size limit', async () => {
    const cols: XlsxColumn[] = [{ header: 'x', kind: 'text' }];
    const rows: Cell[][] = Array.from({ length: 200 }, (_, i) => [`row ${i} ` + 'ж'.repeat(100)]);
    const { result, buf } = await writeXlsx(cols, rows, { maxSheetBytes: 20_000 });
    assert.ok(result.sheets > 3, `${result.sheets} sheets`);
    const wb = await readBack(buf);
    const back = wb.worksheets.flatMap((ws) => ws.getSheetValues().slice(2).map((r) => (r as unknown[])[1]));
    assert.deepEqual(back, rows.map((r) => r[0]));
    for (const [path, data] of Object.entries(unzipSync(buf))) if (path.includes('worksheets/')) assert.ok(data.length <= 20_000, `${path}: ${data.length}`);
  });

  test('respects backpressure and hashes exactly the bytes written', async () => {
    const out = memoryOut({ highWaterMark: 1024, slow: true });
    const w = xlsxWriter(out.stream, [{ header: 'a', kind: 'text' }, { header: 'b', kind: 'number' }]);
    let x = 12345;
    const rnd = (): string => { let s = ''; for (let k = 0; k < 6; k++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; s += x.toString(36); } return s; };
    for (let i = 0; i < 40_000; i++) await w.write([rnd(), i]);
    const res = await w.end();
    const buf = out.bytes();
    assert.ok(res.bytes > 1_500_000, `${res.bytes} bytes`);
    assert.ok(out.maxPending() < 400_000, `at most ${out.maxPending()} bytes were waiting`);
    assert.equal(res.bytes, buf.length);
    assert.equal(res.sha256, sha256(buf));
    checkZip(buf);
  });

  test('rejects bad input and reports output errors', async () => {
    const out = memoryOut();
    assert.throws(() => xlsxWriter(out.stream, []), /no columns/);
    assert.throws(() => xlsxWriter(out.stream, COLUMNS, { sheetName: 'a/b' }), /cannot contain/);
    assert.throws(() => xlsxWriter(out.stream, COLUMNS, { sheetName: 'x'.repeat(32) }), /1–31/);
    assert.throws(() => xlsxWriter(out.stream, COLUMNS, { maxRowsPerSheet: 2_000_000 }), /maxRowsPerSheet/);
    assert.throws(() => xlsxWriter(out.stream, [{ header: 'w', kind: 'text', width: Number.NaN }]), /width/);
    const w = xlsxWriter(out.stream, COLUMNS);
    await assert.rejects(w.write(['a']), /has 1 cells/);
    await w.end();
    await assert.rejects(w.write(COLUMNS.map(() => null)), /after end/);

    const failing = memoryOut({ failAfter: 50_000 });
    const w2 = xlsxWriter(failing.stream, [{ header: 'a', kind: 'text' }]);
    let y = 1;
    await assert.rejects(async () => {
      for (let i = 0; i < 200_000; i++) { y = (Math.imul(y, 48271) + 11) >>> 0; await w2.write([y.toString(36).repeat(3)]); }
      await w2.end();
    }, /disk full/);
  });

  const office = ['libreoffice', 'soffice'].find((bin) => spawnSync('which', [bin]).status === 0);
  // CI installs LibreOffice (.ci/run) and must run this; elsewhere a machine without it says so.
  test('LibreOffice converts the file to the expected CSV', { skip: office || process.env.CI ? false : 'LibreOffice is not installed (apt-get install libreoffice-calc-nogui)' }, async () => {
    assert.ok(office, 'LibreOffice is required in CI: .ci/run installs libreoffice-calc-nogui');
    const dir = mkdtempSync(join(tmpdir(), 'kartoteka-export-'));
    try {
      const { buf } = await writeXlsx(COLUMNS.slice(0, 4), [
        ['+79161234567', '2000000000017', 'Пётр <&>', '1990-05-17'],
        ['=1+1', '-5', '👍', null],
      ]);
      const file = join(dir, 'test.xlsx');
      writeFileSync(file, buf);
      const run = spawnSync(office!, ['--headless', '--convert-to', 'csv:Text - txt - csv (StarCalc):44,34,76', '--outdir', dir, file], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(run.status, 0, run.stderr);
      const text = readFileSync(join(dir, 'test.csv'), 'utf8').replace(/^\uFEFF/, '');
      const rows = readCsv(text.endsWith('\n') ? text.replace(/\r?\n/g, '\n') : text + '\n', ',', '\n');
      assert.deepEqual(rows, [
        ['Телефон', 'Номер карты', 'Имя', 'Дата рождения'],
        ['+79161234567', '2000000000017', 'Пётр <&>', '17.05.1990'],
        ['=1+1', '-5', '👍', ''],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
