import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { csvHeader, generateProfiles, profileToCsvCells, writeCsv } from '../generate/generate.ts';
import {
  CsvError, readCsv, readCsvBatches, readHead, sniff,
  type CsvErrorReason, type CsvOptions, type CsvRow, type Delimiter,
} from './csv.read.ts';

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const BOM = '\uFEFF';

/** Windows-1251 encoder built from the decoder itself (reverse map of bytes 0x80–0xFF). */
const CP1251_HIGH = new TextDecoder('windows-1251').decode(Uint8Array.from({ length: 128 }, (_, i) => 0x80 + i));
const CP1251_REVERSE = new Map<string, number>([...CP1251_HIGH].map((ch, i) => [ch, 0x80 + i]));
function cp1251(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) out[i] = c;
    else {
      const b = CP1251_REVERSE.get(s[i]!);
      if (b === undefined) throw new Error(`not in Windows-1251: ${s[i]}`);
      out[i] = b;
    }
  }
  return out;
}

/** Split `bytes` at the given cut positions (sorted, deduplicated, inside the array). */
function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const p of points) { parts.push(bytes.slice(from, p)); from = p; }
  parts.push(bytes.slice(from));
  return parts;
}

function bySize(bytes: Uint8Array, size: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.slice(i, i + size));
  return parts;
}

/** A real async byte source (each chunk a fresh copy, delivered asynchronously). */
async function* source(parts: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    await null;
    yield p.slice();
  }
}

interface Outcome { rows: CsvRow[]; error: { reason: CsvErrorReason; line: number } | null }

/** All records (header included) and the CsvError, if any; any other error is rethrown. */
async function read(parts: readonly Uint8Array[], opts: CsvOptions = {}): Promise<Outcome> {
  const rows: CsvRow[] = [];
  try {
    for await (const r of readCsv(source(parts), opts)) rows.push(r);
  } catch (e) {
    if (e instanceof CsvError) return { rows, error: { reason: e.reason, line: e.line } };
    throw e;
  }
  return { rows, error: null };
}

async function cellsOf(bytes: Uint8Array, opts: CsvOptions = {}): Promise<string[][]> {
  const o = await read([bytes], opts);
  if (o.error) assert.fail(`unexpected CsvError ${o.error.reason} at line ${o.error.line}`);
  return o.rows.map((r) => r.cells);
}

async function rejects(bytes: Uint8Array | Uint8Array[], reason: CsvErrorReason, line: number, opts: CsvOptions = {}): Promise<CsvRow[]> {
  const o = await read(Array.isArray(bytes) ? bytes : [bytes], opts);
  assert.deepEqual(o.error, { reason, line });
  return o.rows;
}

/** A correct writer: quotes a cell holding the delimiter, a quote, CR or LF (or starting with U+FEFF, or a lone empty cell). */
function writeCsvText(rows: readonly (readonly string[])[], d: string, eol = '\r\n'): string {
  return rows.map((cells) => {
    if (cells.length === 1 && cells[0] === '') return '""';
    return cells.map((c) => (c.includes(d) || /["\r\n]/.test(c) || c.startsWith(BOM) ? `"${c.replaceAll('"', '""')}"` : c)).join(d);
  }).join(eol) + eol;
}

/**
 * Reference model: the rules of csv.ts written character by character, as plainly as possible.
 * Records start at a non-empty line; a field starting with `"` is quoted (`""` is a quote, the rest after
 * the closing quote up to the delimiter is literal); CRLF, LF, lone CR end lines and count inside quotes.
 */
function reference(text: string, d: string): Outcome {
  const rows: CsvRow[] = [];
  const len = text.length;
  let i = 0;
  let line = 1;
  while (i < len) {
    if (text[i] === '\n') { line++; i++; continue; }
    if (text[i] === '\r') { line++; i += text[i + 1] === '\n' ? 2 : 1; continue; }
    const start = line;
    const cells: string[] = [];
    for (;;) {
      let v = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= len) return { rows, error: { reason: 'unterminated_quote', line: start } };
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') { v += '"'; i += 2; continue; }
            i++;
            break;
          }
          if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
          v += c;
          i++;
        }
      }
      while (i < len && text[i] !== d && text[i] !== '\n' && text[i] !== '\r') v += text[i++];
      cells.push(v);
      if (i < len && text[i] === d) { i++; continue; }
      break;
    }
    rows.push({ line: start, cells });
    if (i < len) { i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1; line++; }
  }
  return { rows, error: null };
}

// ---------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------

describe('formats', () => {
  test('UTF-8 with BOM, semicolons, CRLF: head and rows', async () => {
    const text = `${BOM}ФИО;Телефон;Город\r\nИванов Иван Иванович;+7 916 123-45-67;г. Москва\r\nПётр Петров;89161234567;Санкт-Петербург\r\n`;
    const { head, rows } = await readHead(source([utf8(text)]));
    assert.deepEqual(head, { delimiter: ';', encoding: 'utf-8', bom: true, header: ['ФИО', 'Телефон', 'Город'] });
    const got: CsvRow[] = [];
    for await (const r of rows) got.push(r);
    assert.deepEqual(got, [
      { line: 2, cells: ['Иванов Иван Иванович', '+7 916 123-45-67', 'г. Москва'] },
      { line: 3, cells: ['Пётр Петров', '89161234567', 'Санкт-Петербург'] },
    ]);
  });

  test('UTF-8 without BOM, commas, quoted commas, LF', async () => {
    const text = 'Фамилия,Имя,Теги\nСмирнова,Ёлка,"vip, опт"\nКим,Ли,\n';
    const { head, rows } = await readHead(source([utf8(text)]));
    assert.deepEqual(head, { delimiter: ',', encoding: 'utf-8', bom: false, header: ['Фамилия', 'Имя', 'Теги'] });
    const got: string[][] = [];
    for await (const r of rows) got.push(r.cells);
    assert.deepEqual(got, [['Смирнова', 'Ёлка', 'vip, опт'], ['Ким', 'Ли', '']]);
  });

  test('Windows-1251 with semicolons: every Cyrillic letter, Ёё and № decode right', async () => {
    let alphabet = '';
    for (let c = 0x410; c <= 0x44f; c++) alphabet += String.fromCharCode(c);
    alphabet += 'Ёё№«»—';
    const text = `ФИО;Адрес;Алфавит\r\nЁжиков Фёдор;ул. Щорса, д. 5, кв. №12;${alphabet}\r\nЪЫЬ;«Гостиный двор»;ёЁ\r\n`;
    const bytes = cp1251(text);
    assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)); // really not UTF-8
    const { head, rows } = await readHead(source([bytes]));
    assert.deepEqual(head, { delimiter: ';', encoding: 'windows-1251', bom: false, header: ['ФИО', 'Адрес', 'Алфавит'] });
    const got: string[][] = [];
    for await (const r of rows) got.push(r.cells);
    assert.deepEqual(got, [['Ёжиков Фёдор', 'ул. Щорса, д. 5, кв. №12', alphabet], ['ЪЫЬ', '«Гостиный двор»', 'ёЁ']]);
    // all 128 high bytes round-trip through the decoder as one cell
    const all = CP1251_HIGH.replaceAll('"', '');
    assert.deepEqual(await cellsOf(cp1251(`a;b\r\n${all};x\r\n`)), [['a', 'b'], [all, 'x']]);
  });

  test('tab and pipe are sniffed', async () => {
    const tab = 'Фамилия\tИмя\tТелефон\nИванов\tИван\t+79161234567\nПетрова\tАнна, Мария\t\n';
    assert.deepEqual(sniff(utf8(tab)), { encoding: 'utf-8', bom: false, delimiter: '\t' });
    assert.deepEqual(await cellsOf(utf8(tab)), [['Фамилия', 'Имя', 'Телефон'], ['Иванов', 'Иван', '+79161234567'], ['Петрова', 'Анна, Мария', '']]);
    const pipe = 'id|name|note\n1|Иванов; Иван|a,b\n2|"Петров|Пётр"|\n';
    assert.equal(sniff(utf8(pipe)).delimiter, '|');
    assert.deepEqual(await cellsOf(utf8(pipe)), [['id', 'name', 'note'], ['1', 'Иванов; Иван', 'a,b'], ['2', 'Петров|Пётр', '']]);
  });

  test('delimiter sniffing: the most consistent column count, quotes respected', () => {
    const d = (s: string) => sniff(utf8(s)).delimiter;
    // unquoted commas inside a ;-file (addresses) do not fool it
    assert.equal(d('ФИО;Адрес;Телефон\nИванов;г. Москва, ул. Ленина, д. 1;1\nПетров;Казань;2\nСидоров;СПб, Невский, 3;3\n'), ';');
    // quoted semicolons inside a ,-file
    assert.equal(d('a,b,c\n"x;y;z",2,3\n"p;q",5,6\n'), ',');
    // a quoted field with newlines and delimiters of another kind
    assert.equal(d('a;b\n"1,\n2,\n3";4\n5;6\n'), ';');
    // a title line above the header (1C reports) does not matter
    assert.equal(d('Отчёт по клиентам\nФИО,Телефон,Email\nИванов,1,a@b.ru\nПетров,2,c@d.ru\n'), ',');
    // one column: Excel's Russian default
    assert.equal(d('Телефон\n+79161234567\n'), ';');
    // an empty sample
    assert.deepEqual(sniff(new Uint8Array(0)), { encoding: 'utf-8', bom: false, delimiter: ';' });
    // only the header: the (cut-off) last line still counts when it is all there is
    assert.equal(d('a|b|c'), '|');
  });

  test('encoding sniffing', () => {
    assert.equal(sniff(utf8('Имя;Фамилия\n')).encoding, 'utf-8');
    assert.equal(sniff(cp1251('Имя;Фамилия\n')).encoding, 'windows-1251');
    assert.deepEqual(sniff(utf8(`${BOM}a;b\n`)), { encoding: 'utf-8', bom: true, delimiter: ';' });
    // a sample cut inside a UTF-8 character is still UTF-8
    const cut = utf8('a;b\nЖ').subarray(0, 5);
    assert.equal(sniff(cut).encoding, 'utf-8');
  });

  test('options force delimiter and encoding', async () => {
    assert.deepEqual(await cellsOf(utf8('a;b,c\n'), { delimiter: ',' }), [['a;b', 'c']]);
    assert.deepEqual(await cellsOf(cp1251('Ёж;1\n'), { encoding: 'windows-1251' }), [['Ёж', '1']]);
    const { head } = await readHead(source([utf8('x|y\n')]), { delimiter: '|', encoding: 'utf-8' });
    assert.deepEqual(head, { delimiter: '|', encoding: 'utf-8', bom: false, header: ['x', 'y'] });
  });

  test('fs streams and Readable are inputs; batches give the same records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-csv-'));
    try {
      const file = join(dir, 'a.csv');
      const text = `${BOM}a;b\r\n"1\r\n2";3\r\n`.repeat(2000);
      writeFileSync(file, text);
      const rows: CsvRow[] = [];
      for await (const r of readCsv(createReadStream(file, { highWaterMark: 1000 }))) rows.push(r);
      assert.equal(rows.length, 4000);
      assert.deepEqual(rows[3], { line: 5, cells: ['1\r\n2', '3'] });
      const batched: CsvRow[] = [];
      for await (const b of readCsvBatches(Readable.from([readFileSync(file)]))) {
        assert.ok(b.length > 0);
        batched.push(...b);
      }
      assert.deepEqual(batched, rows);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('one huge chunk (a whole file in a Buffer) is parsed and yielded in slices', async () => {
    const text = 'ФИО;Визиты\n' + 'Ёлкин Пётр;1\n'.repeat(200_000);
    let batches = 0;
    let last: CsvRow | undefined;
    for await (const b of readCsvBatches(source([utf8(text)]))) { batches++; last = b.at(-1); }
    assert.deepEqual(last, { line: 200_001, cells: ['Ёлкин Пётр', '1'] });
    assert.ok(batches >= 4, `${batches} batches`);
  });

  test('leaving the loop early closes the input stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-csv-'));
    try {
      const file = join(dir, 'a.csv');
      writeFileSync(file, 'a;b\n1;2\n'.repeat(100_000));
      const stream = createReadStream(file, { highWaterMark: 4096 });
      for await (const r of readCsv(stream)) { assert.equal(r.line, 1); break; }
      assert.equal(stream.destroyed, true);
      const stream2 = createReadStream(file, { highWaterMark: 4096 });
      const { rows } = await readHead(stream2);
      for await (const r of rows) { assert.equal(r.line, 2); break; }
      assert.equal(stream2.destroyed, true);
      const stream3 = createReadStream(file, { highWaterMark: 4096 });
      const f3 = await readHead(stream3);
      assert.deepEqual(f3.head.header, ['a', 'b']);
      await f3.close();
      assert.equal(stream3.destroyed, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------
// Quoting, line ends, line numbers
// ---------------------------------------------------------------------------

describe('quoting and lines', () => {
  test('quoted fields with delimiters, doubled quotes and CRLF inside; record lines stay right', async () => {
    const text = [
      'Имя;Комментарий;Точка',
      'Анна;"звонить после 18:00; не в выходные";"ТЦ ""Мега"""',
      'Борис;"первая строка\r\nвторая строка\r\nтретья";ТЦ',
      'Вера;"";""""',
      'Глеб;"a\nb\rc";x',
      'Дина;"конец"',
    ].join('\r\n') + '\r\n';
    const o = await read([utf8(text)]);
    assert.equal(o.error, null);
    assert.deepEqual(o.rows, [
      { line: 1, cells: ['Имя', 'Комментарий', 'Точка'] },
      { line: 2, cells: ['Анна', 'звонить после 18:00; не в выходные', 'ТЦ "Мега"'] },
      { line: 3, cells: ['Борис', 'первая строка\r\nвторая строка\r\nтретья', 'ТЦ'] },
      { line: 6, cells: ['Вера', '', '"'] },
      { line: 7, cells: ['Глеб', 'a\nb\rc', 'x'] },
      { line: 10, cells: ['Дина', 'конец'] },
    ]);
  });

  test('CRLF, LF and lone CR line ends; empty lines skipped but counted; trailing line end ignored', async () => {
    const o = await read([utf8('a;b\r\nc;d\ne;f\rg;h\n\n\r\n\ri;j\r\n\r\n')]);
    assert.deepEqual(o.rows, [
      { line: 1, cells: ['a', 'b'] },
      { line: 2, cells: ['c', 'd'] },
      { line: 3, cells: ['e', 'f'] },
      { line: 4, cells: ['g', 'h'] },
      { line: 8, cells: ['i', 'j'] },
    ]);
    assert.deepEqual(await cellsOf(utf8('a;b')), [['a', 'b']]); // no line end at all
    assert.deepEqual(await cellsOf(utf8('a;b;\n;\n""\n')), [['a', 'b', ''], ['', ''], ['']]);
    assert.deepEqual(await cellsOf(utf8('a;b;')), [['a', 'b', '']]);
  });

  test('rows keep their own number of cells (padding is the importer\'s)', async () => {
    assert.deepEqual(await cellsOf(utf8('a;b;c\n1\n1;2;3;4\n')), [['a', 'b', 'c'], ['1'], ['1', '2', '3', '4']]);
  });

  test('Excel-style stray quotes in unquoted fields are literal', async () => {
    const text = 'Товар;Размер;Точка\r\nМонитор 27";68 см;ТЦ "Мега"\r\nКабель 6\'\' "тонкий";a"b"c;"Ашан" Тёплый Стан\r\n';
    assert.deepEqual(await cellsOf(utf8(text)), [
      ['Товар', 'Размер', 'Точка'],
      ['Монитор 27"', '68 см', 'ТЦ "Мега"'],
      ['Кабель 6\'\' "тонкий"', 'a"b"c', 'Ашан Тёплый Стан'],
    ]);
    // a leading space makes the quote literal too (the delimiter inside then splits)
    assert.deepEqual(await cellsOf(utf8('a; "b;c"\n')), [['a', ' "b', 'c"']]);
  });

  test('unterminated quote at EOF names the line where the record started', async () => {
    const rows = await rejects(utf8('a;b\r\n1;2\r\n3;"open\r\nmore\r\nmore'), 'unterminated_quote', 3);
    assert.deepEqual(rows.map((r) => r.cells), [['a', 'b'], ['1', '2']]); // records before it are yielded
    await rejects(utf8('"'), 'unterminated_quote', 1);
    await rejects(utf8('\n\n"x""'), 'unterminated_quote', 3);
  });
});

// ---------------------------------------------------------------------------
// Chunk boundaries
// ---------------------------------------------------------------------------

describe('chunk boundaries', () => {
  const samples: [string, Uint8Array][] = [
    ['utf-8 BOM ; CRLF', utf8(`${BOM}ФИО;Тел;"Ком;мент"\r\n"Ёлкина\r\nАнна";"+7 ""916""";€𝄞\r\n\r\nx;"a""\r";\rlast;"\n"`)],
    ['windows-1251', cp1251('Имя;Город\r\n"Щука\r\nЁж";№5\r\nЮля;"«Мега»"\r')],
    ['errors at the end', utf8('a,b\n1,"2\r\n3')],
  ];
  const opts: CsvOptions[] = [{}, { sniffBytes: 1 }, { sniffBytes: 7, delimiter: ';' }];

  test('1-byte chunks, every single split and random splits give identical output', async () => {
    for (const [name, bytes] of samples) {
      for (const o of opts) {
        const whole = await read([bytes], o);
        assert.ok(whole.rows.length > 0, name);
        assert.deepEqual(await read(bySize(bytes, 1), o), whole, `${name} 1-byte`);
        for (let p = 1; p < bytes.length; p++) assert.deepEqual(await read(splitAt(bytes, [p]), o), whole, `${name} split at ${p}`);
        await fc.assert(fc.asyncProperty(fc.array(fc.nat(bytes.length), { maxLength: 12 }), async (cuts) => {
          assert.deepEqual(await read(splitAt(bytes, cuts), o), whole);
        }), { numRuns: 60 });
      }
    }
  });

  test('a big UTF-8 file: chunks splitting multibyte characters decode right (beyond the sniffing sample)', async () => {
    const rows: string[][] = [['ФИО', 'Заметка']];
    for (let i = 0; i < 3000; i++) rows.push([`Ёлкин${i} Пётр`, `№${i} «€» 𝄞 "кв"; ёж\r\nвторая`]);
    const bytes = utf8(writeCsvText(rows, ';'));
    assert.ok(bytes.length > 3 * 65536);
    const expected = await cellsOf(bytes);
    assert.deepEqual(expected, rows);
    for (const size of [65537, 4099, 1000, 333, 7]) {
      assert.deepEqual((await read(bySize(bytes, size))).rows.map((r) => r.cells), rows, `chunk ${size}`);
    }
    // the first chunk after the sample ends inside a character
    const at = 65536 + 1;
    assert.ok((bytes[at]! & 0xc0) === 0x80 || (bytes[at - 1]! & 0xc0) !== 0, 'cut lands in Cyrillic text');
    assert.deepEqual((await read(splitAt(bytes, [65535, 65536, 65537, 65538, 65539]))).rows.map((r) => r.cells), rows);
  });

  test('an ASCII start then Windows-1251 further down: decided by the first non-ASCII bytes', async () => {
    const ascii = 'Name;Phone\r\n' + 'Smith;+79161234567\r\n'.repeat(5000);
    const bytes = new Uint8Array([...cp1251(ascii), ...cp1251('Ёлкина Анна;№7\r\n')]);
    assert.ok(bytes.length > 65536 + 1000);
    const splits = [bySize(bytes, 65536), bySize(bytes, 1000), [bytes.slice(0, 70_000), ...bySize(bytes.slice(70_000), 1)]];
    for (const parts of splits) {
      const { head, rows } = await readHead(source(parts));
      assert.equal(head.encoding, 'utf-8'); // provisional
      let last: CsvRow | undefined;
      for await (const r of rows) last = r;
      assert.deepEqual(last, { line: 5002, cells: ['Ёлкина Анна', '№7'] });
      assert.equal(head.encoding, 'windows-1251'); // decided
    }
    // same for UTF-8 further down
    const u = new Uint8Array([...utf8(ascii), ...utf8('Ёлкина Анна;№7\r\n')]);
    const { head, rows } = await readHead(source(bySize(u, 4096)));
    for await (const r of rows) void r;
    assert.equal(head.encoding, 'utf-8');
  });
});

// ---------------------------------------------------------------------------
// The generator's files
// ---------------------------------------------------------------------------

describe('generator round trip', () => {
  for (const dirty of [true, false]) {
    test(`${dirty ? 'dirty (BOM, ;, CRLF, «ФИО»)' : 'clean (,, LF)'} file reads back to the generator's cells`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kt-csv-'));
      try {
        const file = join(dir, 'g.csv');
        const count = 3000;
        await writeCsv(file, count, { seed: 7, dirty });
        const expected = [csvHeader(dirty), ...[...generateProfiles(count, { seed: 7, dirty })].map((p) => profileToCsvCells(p, dirty))];
        if (dirty) assert.ok(expected.slice(1).some((c) => c.some((v) => v.includes('"'))), 'dirty rows hold quotes');

        const { head, rows } = await readHead(createReadStream(file, { highWaterMark: 8191 }));
        assert.deepEqual(head, { delimiter: dirty ? ';' : ',', encoding: 'utf-8', bom: dirty, header: csvHeader(dirty) });
        const got: string[][] = [head.header];
        let line = 1;
        for await (const r of rows) {
          assert.equal(r.line, ++line); // no newlines inside the generator's cells
          got.push(r.cells);
        }
        assert.deepEqual(got, expected);

        if (dirty) { // the same file saved as Windows-1251 (no BOM there)
          const text = readFileSync(file, 'utf8').slice(1);
          const { head: h2, batches } = await readHead(source(bySize(cp1251(text), 65536)));
          assert.deepEqual({ ...h2, header: [] }, { delimiter: ';', encoding: 'windows-1251', bom: false, header: [] });
          const got2: string[][] = [h2.header];
          for await (const b of batches) for (const r of b) got2.push(r.cells);
          assert.deepEqual(got2, expected);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

describe('errors', () => {
  test('empty files', async () => {
    for (const b of [new Uint8Array(0), utf8(BOM), utf8('\r\n\r\n'), utf8(`${BOM}\n`)]) {
      await rejects(b, 'empty_file', 1);
      await assert.rejects(readHead(source([b])), (e) => e instanceof CsvError && e.reason === 'empty_file');
    }
  });

  test('a field over maxFieldBytes is an error, found without reading the rest of the file', async () => {
    await rejects(utf8('a;b\n1;12345678901\n'), 'field_too_long', 2, { maxFieldBytes: 10 });
    assert.deepEqual(await cellsOf(utf8('a;b\n1;1234567890\n'), { maxFieldBytes: 10 }), [['a', 'b'], ['1', '1234567890']]);
    // bytes, not characters: 6 Cyrillic letters are 12 UTF-8 bytes but 6 Windows-1251 bytes
    await rejects(utf8('x;ЖЖЖЖЖЖ\n'), 'field_too_long', 1, { maxFieldBytes: 10 });
    assert.deepEqual(await cellsOf(cp1251('x;ЖЖЖЖЖЖ\n'), { maxFieldBytes: 10 }), [['x', 'ЖЖЖЖЖЖ']]);
    // an unclosed quote at the top of an endless stream: fails after about maxFieldBytes, not at EOF
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield utf8('ФИО;Телефон\r\nИванов;"+7 916\r\n');
      for (;;) { pulled++; yield utf8('Петров;+79161234567\r\n'.repeat(1000)); }
    }
    await assert.rejects(async () => { for await (const r of readCsv(endless())) void r; },
      (e) => e instanceof CsvError && e.reason === 'field_too_long' && e.line === 2);
    assert.ok(pulled < 100, `pulled ${pulled} chunks`);
  });

  test('a record over maxRecordChars is an error', async () => {
    await rejects(utf8('a;b\n' + '1;'.repeat(100) + '\n'), 'record_too_long', 2, { maxRecordChars: 50 });
    await rejects(bySize(utf8('a;b\n' + '1;'.repeat(100) + '\n'), 16), 'record_too_long', 2, { maxRecordChars: 50 });
  });

  test('invalid UTF-8 names its line; records before it are yielded', async () => {
    const bytes = new Uint8Array([...utf8('Имя;Город\r\nАнна;Москва\r\n"Вера\r\nВ'), 0xc0, ...utf8('ра";Тула\r\n')]);
    const rows = await rejects(bytes, 'bad_encoding', 4, { encoding: 'utf-8' });
    assert.deepEqual(rows.map((r) => r.cells), [['Имя', 'Город'], ['Анна', 'Москва']]);
    // sniffed UTF-8 from the sample, broken after it
    const big = new Uint8Array([...utf8('Имя;Город\n' + 'Анна;Москва\n'.repeat(5000)), 0xff, ...utf8('\n')]);
    await rejects(bySize(big, 4096), 'bad_encoding', 5002);
    // a file ending inside a character
    await rejects(utf8('Имя;Город\nЖ').subarray(0, -1), 'bad_encoding', 2, { encoding: 'utf-8' });
  });

  test('not CSV text: UTF-16, workbooks, binary', async () => {
    await rejects(new Uint8Array([0xff, 0xfe, 0x41, 0, 0x3b, 0, 0x42, 0]), 'unsupported_encoding', 1);
    await rejects(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]), 'not_text', 1);
    await rejects(new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), 'not_text', 1);
    await rejects(new Uint8Array([0x41, 0, 0x3b, 0, 0x42, 0, 0x0a, 0]), 'not_text', 1);
  });

  test('bad options are TypeError/RangeError, not CsvError', async () => {
    await assert.rejects(read([utf8('a')], { delimiter: ':' as Delimiter }), TypeError);
    await assert.rejects(read([utf8('a')], { maxFieldBytes: 0 }), RangeError);
  });
});

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

describe('properties', () => {
  const DELIMS: Delimiter[] = [';', ',', '\t', '|'];
  /** Bytes biased towards what matters to a CSV parser. */
  const csvByte = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(0x3b, 0x2c, 0x09, 0x7c, 0x22, 0x22, 0x0d, 0x0a, 0x61, 0x20) },
    { weight: 2, arbitrary: fc.constantFrom(0xd0, 0xd1, 0x81, 0x91, 0xb0, 0xa8, 0xb8, 0xb9, 0xef, 0xbb, 0xbf, 0xe2, 0x82, 0xac) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );
  const csvBytes = fc.oneof(fc.uint8Array({ maxLength: 400 }), fc.array(csvByte, { maxLength: 400 }).map((a) => Uint8Array.from(a)));
  const optsArb = fc.record({
    delimiter: fc.option(fc.constantFrom(...DELIMS), { nil: undefined }),
    encoding: fc.option(fc.constantFrom('utf-8' as const, 'windows-1251' as const), { nil: undefined }),
    maxFieldBytes: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
    maxRecordChars: fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
  }, { requiredKeys: [] });

  test('arbitrary bytes: only CsvError, never a hang; any chunking gives the same outcome', async () => {
    await fc.assert(fc.asyncProperty(csvBytes, optsArb, fc.array(fc.nat(400), { maxLength: 8 }), async (bytes, o, cuts) => {
      const opts = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as CsvOptions;
      const t0 = performance.now();
      const whole = await read([bytes], opts); // throws if anything but CsvError
      assert.ok(performance.now() - t0 < 2000);
      for (const r of whole.rows) assert.ok(r.cells.length >= 1 && r.line >= 1);
      // with the format fixed, chunking cannot matter even past the sniffing sample (the not-text checks
      // look at the sample only: keep NULs and file signatures out)
      const text = Uint8Array.from([0x78, ...bytes].map((b) => b || 1));
      const fixed: CsvOptions = { ...opts, delimiter: opts.delimiter ?? ';', encoding: opts.encoding ?? 'windows-1251', sniffBytes: 1 };
      // (when a record breaks both length limits, which one trips first may depend on where a chunk ends)
      const sameLimit = (o: Outcome): Outcome => (o.error?.reason === 'record_too_long' ? { ...o, error: { ...o.error, reason: 'field_too_long' } } : o);
      const one = sameLimit(await read([text], fixed));
      assert.deepEqual(sameLimit(await read(splitAt(text, cuts), fixed)), one);
    }), { numRuns: 1500 });
  });

  test('arbitrary ASCII-ish text matches the reference model, rows and lines', async () => {
    const ch = fc.constantFrom(';', ',', '"', '\r', '\n', 'a', 'b', ' ', '\t', '|');
    await fc.assert(fc.asyncProperty(fc.array(ch, { maxLength: 300 }).map((a) => a.join('')), fc.constantFrom(...DELIMS), fc.array(fc.nat(300), { maxLength: 6 }), async (text, d, cuts) => {
      const expected = reference(text, d);
      if (expected.rows.length === 0 && expected.error === null) expected.error = { reason: 'empty_file', line: 1 };
      assert.deepEqual(await read(splitAt(utf8(text), cuts), { delimiter: d, sniffBytes: 1 }), expected);
    }), { numRuns: 2000 });
  });

  const cell = fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replaceAll('\0', ''));
  const cellBiased = fc.oneof(cell, fc.array(fc.constantFrom(';', ',', '\t', '|', '"', '\r', '\n', 'Ё', '№', ' ', 'x'), { maxLength: 8 }).map((a) => a.join('')));
  const matrix = fc.array(fc.array(cellBiased, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 15 });

  test('cell matrices written by a correct writer read back identically, for every delimiter', async () => {
    // sniffBytes 4: the encoding is decided by whichever chunk brings the first non-ASCII character
    await fc.assert(fc.asyncProperty(matrix, fc.constantFrom(...DELIMS), fc.constantFrom('\r\n', '\n', '\r'), fc.boolean(), fc.array(fc.nat(2000), { maxLength: 6 }), fc.constantFrom(4, 65536),
      async (rows, d, eol, bom, cuts, sniffBytes) => {
        const bytes = utf8((bom ? BOM : '') + writeCsvText(rows, d, eol));
        const o = await read(splitAt(bytes, cuts), { delimiter: d, sniffBytes });
        assert.equal(o.error, null);
        assert.deepEqual(o.rows.map((r) => r.cells), rows);
      }), { numRuns: 1000 });
  });

  test('Windows-1251 matrices read back identically', async () => {
    const c = fc.array(fc.constantFrom(...'Ёё№«»АЯая;,|\t"\r\n x'), { maxLength: 8 }).map((a) => a.join(''));
    await fc.assert(fc.asyncProperty(fc.array(fc.array(c, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 10 }), fc.constantFrom(...DELIMS), fc.array(fc.nat(500), { maxLength: 6 }),
      async (rows, d, cuts) => {
        const o = await read(splitAt(cp1251(writeCsvText(rows, d)), cuts), { delimiter: d, encoding: 'windows-1251' });
        assert.equal(o.error, null);
        assert.deepEqual(o.rows.map((r) => r.cells), rows);
      }), { numRuns: 500 });
  });
});
