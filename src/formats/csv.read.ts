/**
 * Streaming CSV reader for the files Russian businesses really have: Excel and 1C exports.
 *
 * - Delimiters `;` `,` tab `|`, sniffed from the first ~50 records (quotes respected) unless given.
 * - UTF-8 with or without BOM, or Windows-1251, detected automatically: a BOM means UTF-8; else a sample
 *   that is valid UTF-8 means UTF-8; else Windows-1251. A sample that is pure ASCII leaves the question
 *   open: the first chunk that holds a non-ASCII byte decides it (same rule), so an English header over
 *   Windows-1251 data further down still decodes right. Once UTF-8 is decided (or given), an invalid
 *   byte is CsvError 'bad_encoding' at its line, never a silent U+FFFD. UTF-16 (Excel's «Unicode text»),
 *   .xlsx/.xls workbooks and binary data are refused up front ('unsupported_encoding' / 'not_text').
 * - RFC 4180 quoting: a field that starts with `"` is quoted; `""` inside it is one quote; it may hold the
 *   delimiter and CR/LF. A quote anywhere else is kept literally (as Excel does: `12" screen`); text after
 *   a closing quote up to the next delimiter is appended literally (`"ab"c` → `abc`).
 * - Line ends CRLF, LF or a lone CR. Empty lines (zero characters) are skipped anywhere, so the trailing
 *   newline and blank lines between records yield nothing; a record of one empty cell must be written `""`.
 * - Every record carries the 1-based physical line where it starts (line breaks inside quoted fields count).
 * - Streamed: memory is one input chunk (parsed in slices of at most 1 MiB) plus the record being read
 *   (plus a 64 KiB sniffing sample at the start); a field longer than `maxFieldBytes` or a record longer than `maxRecordChars` is a CsvError,
 *   so an unclosed quote in a huge file fails fast instead of swallowing the file.
 *
 * Getting {head, rows} — the importer's entry point is `readHead`:
 *
 *   const { head, rows } = await readHead(fs.createReadStream(path));
 *   // head = { delimiter: ';', encoding: 'windows-1251', bom: false, header: ['ФИО', 'Телефон', …] }
 *   for await (const { line, cells } of rows) …   // data records only, header excluded
 *
 * or `for await (const batch of file.batches)` for the same records in arrays, one per input chunk (cheaper
 * per row, handy for COPY batches). `readCsv` yields every record, the header included (it is simply the
 * first row); `readCsvBatches` the same in arrays. Breaking out of a loop ends the input stream; a file
 * from readHead whose rows are never iterated is released with `close()`.
 *
 * Errors: every failure is a CsvError with a `reason` and the `line` it concerns. Records complete before
 * the failure are yielded first, then the error is thrown.
 *
 * Cells are slices of the decoded chunk text; V8 may keep a chunk's string alive while a short slice of
 * it is retained, so a consumer that keeps cells for long (a dedup map, say) should keep derived strings.
 */
import { Buffer, isAscii, isUtf8 } from 'node:buffer';

export type Encoding = 'utf-8' | 'windows-1251';
export type Delimiter = ';' | ',' | '\t' | '|';

export interface CsvOptions {
  /** Skip delimiter sniffing. */
  delimiter?: Delimiter;
  /** Skip encoding detection (a UTF-8 BOM is still stripped and reported). */
  encoding?: Encoding;
  /** Longest field in bytes of the file's encoding; longer is CsvError 'field_too_long'. Default 1 MiB. */
  maxFieldBytes?: number;
  /** Longest record in decoded characters; longer is CsvError 'record_too_long'. Default 16 Mi. */
  maxRecordChars?: number;
  /** Bytes gathered for sniffing before parsing starts (or the whole file if shorter). Default 64 KiB, at least 4. */
  sniffBytes?: number;
}

export interface CsvHead {
  delimiter: string;
  /**
   * When the first 64 KiB are pure ASCII this is a provisional 'utf-8', updated in place when the first
   * non-ASCII byte decides it (nothing read before that differs between the two encodings).
   */
  encoding: Encoding;
  bom: boolean;
  /** The first record's cells, as they are (not trimmed). */
  header: string[];
}

export interface CsvRow {
  /** 1-based physical line where the record starts in the file. */
  line: number;
  cells: string[];
}

export interface CsvFile {
  head: CsvHead;
  /** Data records (the header excluded). Leaving a `for await` over it early releases the input. */
  rows: AsyncGenerator<CsvRow, void, void>;
  /** The same data records in arrays, one per input chunk (cheaper per row). Iterate `rows` or `batches`, not both. */
  batches: AsyncGenerator<CsvRow[], void, void>;
  /** Releases the input (ends the stream) without reading on: for when `rows` is never iterated. */
  close(): Promise<void>;
}

export type CsvErrorReason =
  | 'unterminated_quote' // a quoted field still open at the end of the file
  | 'field_too_long' // a field over maxFieldBytes (often an unclosed quote in a big file)
  | 'record_too_long' // a record over maxRecordChars
  | 'bad_encoding' // bytes that are not UTF-8 in a file read as UTF-8 (line: where the bad byte is)
  | 'unsupported_encoding' // UTF-16 (BOM FF FE / FE FF): Excel's «Unicode text»
  | 'not_text' // a workbook (.xlsx/.xls) or other binary file given as CSV
  | 'empty_file'; // no record at all (empty, only a BOM, only blank lines)

export class CsvError extends Error {
  readonly line: number;
  readonly reason: CsvErrorReason;
  constructor(reason: CsvErrorReason, line: number, message: string) {
    super(`${message} (line ${line})`);
    this.name = 'CsvError';
    this.reason = reason;
    this.line = line;
  }
}

export type CsvInput = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

export const DEFAULT_MAX_FIELD_BYTES = 1 << 20;
export const DEFAULT_MAX_RECORD_CHARS = 16 << 20;
/** Bytes gathered before sniffing (or the whole file if shorter). */
export const SNIFF_BYTES = 64 * 1024;
/** Input chunks bigger than this are parsed (and yielded) in slices of this size. */
const MAX_SLICE = 1 << 20;
/** Records looked at when sniffing the delimiter. */
const SNIFF_RECORDS = 50;

const DELIMITERS: readonly Delimiter[] = [';', ',', '\t', '|'];

// ---------------------------------------------------------------------------
// Sniffing
// ---------------------------------------------------------------------------

function hasUtf8Bom(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
}

/** Number of bytes at the end of `b` that begin a UTF-8 sequence the chunk does not finish (0–3). */
function incompleteUtf8Tail(b: Uint8Array): number {
  const n = b.length;
  for (let k = 1; k <= 3 && k <= n; k++) {
    const c = b[n - k]!;
    if (c < 0x80) return 0;
    if (c >= 0xc0) {
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return need > k ? k : 0;
    }
  }
  return 0;
}

/**
 * Valid UTF-8 → utf-8, else windows-1251; null when nothing decides it yet: `b` is ASCII apart from (unless
 * `complete`) a UTF-8 sequence cut at its end. A sequence cut by the end of a partial sample is allowed.
 */
function classify(b: Uint8Array, complete: boolean): Encoding | null {
  if (isAscii(b)) return null;
  const end = complete ? b.length : b.length - incompleteUtf8Tail(b);
  const head = b.subarray(0, end);
  if (isAscii(head)) return null;
  return isUtf8(head) ? 'utf-8' : 'windows-1251';
}

/** Field counts of the first records of `b` split by `d` (quotes respected, blank lines skipped). */
function columnCounts(b: Uint8Array, d: number, complete: boolean): number[] {
  const counts: number[] = [];
  const n = b.length;
  let cols = 1;
  let fieldStart = true;
  let empty = true;
  let inQuotes = false;
  for (let i = 0; i < n && counts.length < SNIFF_RECORDS; i++) {
    const c = b[i]!;
    if (inQuotes) {
      if (c === 0x22) {
        if (b[i + 1] === 0x22) i++;
        else inQuotes = false;
      }
      continue;
    }
    if (c === 0x0a || c === 0x0d) {
      if (!empty) counts.push(cols);
      cols = 1;
      fieldStart = true;
      empty = true;
      continue;
    }
    empty = false;
    if (c === d) {
      cols++;
      fieldStart = true;
      continue;
    }
    if (c === 0x22 && fieldStart) inQuotes = true;
    fieldStart = false;
  }
  // The last record counts if the sample is the whole file (or it is all there is).
  if (!empty && counts.length < SNIFF_RECORDS && ((complete && !inQuotes) || counts.length === 0)) counts.push(cols);
  return counts;
}

/**
 * The delimiter giving the most consistent column count: for each candidate, the share of records whose
 * count equals the most common count (which must be ≥ 2). Shares within 0.1 of the best are a tie, won by
 * the larger column count, then by the order ; , tab |. No candidate splits anything → ';' (Excel's in
 * Russia; a one-column file reads the same with any).
 */
function detectDelimiter(b: Uint8Array, complete: boolean): Delimiter {
  let best: Delimiter = ';';
  let bestShare = -1;
  let bestCols = 0;
  for (const d of DELIMITERS) {
    const counts = columnCounts(b, d.charCodeAt(0), complete);
    if (counts.length === 0) continue;
    const freq = new Map<number, number>();
    for (const c of counts) freq.set(c, (freq.get(c) ?? 0) + 1);
    let mode = 0;
    let modeFreq = 0;
    for (const [c, f] of freq) if (f > modeFreq || (f === modeFreq && c > mode)) { mode = c; modeFreq = f; }
    if (mode < 2) continue;
    const share = modeFreq / counts.length;
    if (share > bestShare + 0.1 || (share > bestShare - 0.1 && mode > bestCols)) {
      best = d;
      bestShare = Math.max(share, bestShare);
      bestCols = mode;
    }
  }
  return best;
}

/**
 * Sniffs encoding (BOM; else valid UTF-8 → utf-8; else windows-1251; pure ASCII → 'utf-8') and delimiter
 * (see detectDelimiter) from the start of a file. `complete`: the sample is the whole file (its last
 * record and last bytes are then not treated as possibly cut off).
 */
export function sniff(sample: Uint8Array, complete = false): { encoding: Encoding; bom: boolean; delimiter: string } {
  const bom = hasUtf8Bom(sample);
  const body = bom ? sample.subarray(3) : sample;
  return {
    encoding: bom ? 'utf-8' : (classify(body, complete) ?? 'utf-8'),
    bom,
    delimiter: detectDelimiter(body, complete),
  };
}

/** Rejects what is surely not a CSV text we can read (checked on the sniffing sample). */
function checkText(sample: Uint8Array): void {
  const b0 = sample[0], b1 = sample[1];
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) {
    throw new CsvError('unsupported_encoding', 1, 'UTF-16 text (Excel «Unicode text»): save the file as «CSV UTF-8» or «CSV (разделители — запятые)»');
  }
  if (b0 === 0x50 && b1 === 0x4b && sample[2] === 0x03 && sample[3] === 0x04) {
    throw new CsvError('not_text', 1, 'this is a ZIP archive (an .xlsx workbook?), not a CSV text file');
  }
  if (b0 === 0xd0 && b1 === 0xcf && sample[2] === 0x11 && sample[3] === 0xe0) {
    throw new CsvError('not_text', 1, 'this is an old Excel .xls workbook, not a CSV text file');
  }
  const n = Math.min(sample.length, SNIFF_BYTES);
  let zeros = 0;
  for (let i = 0; i < n; i++) if (sample[i] === 0) zeros++;
  if (zeros * 100 > n) throw new CsvError('not_text', 1, 'binary data (NUL bytes), not a CSV text file');
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/**
 * Chunk-by-chunk decoder. UTF-8 sequences cut by a chunk boundary are carried over (so are decoded
 * whole); invalid UTF-8 stops decoding: `bad` is set and the text up to the bad byte is returned.
 */
class ChunkDecoder {
  encoding: Encoding;
  /** False while everything read is ASCII (the same text in both encodings). */
  decided: boolean;
  bad = false;
  private readonly onDecide: (e: Encoding) => void;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private readonly cp1251 = new TextDecoder('windows-1251');
  /** UTF-8: the start of a sequence cut by the chunk end. Undecided: a cut non-ASCII tail to decide with the next chunk. */
  private carry: Uint8Array | null = null;

  constructor(encoding: Encoding | null, onDecide: (e: Encoding) => void) {
    this.encoding = encoding ?? 'utf-8';
    this.decided = encoding !== null;
    this.onDecide = onDecide;
  }

  private decide(e: Encoding): void {
    this.decided = true;
    this.encoding = e;
    this.onDecide(e);
  }

  decode(b: Uint8Array): string {
    if (!this.decided) {
      if (this.carry !== null) {
        const joined = new Uint8Array(this.carry.length + b.length);
        joined.set(this.carry);
        joined.set(b, this.carry.length);
        this.carry = null;
        b = joined;
      }
      const e = classify(b, false);
      if (e === null) {
        const tail = incompleteUtf8Tail(b);
        if (tail > 0) this.carry = b.slice(b.length - tail);
        return this.utf8.decode(b.subarray(0, b.length - tail));
      }
      this.decide(e);
    }
    if (this.encoding === 'windows-1251') return this.cp1251.decode(b);
    let pre = '';
    let body = b;
    const carry = this.carry;
    if (carry !== null) {
      const c0 = carry[0]!;
      const want = (c0 >= 0xf0 ? 4 : c0 >= 0xe0 ? 3 : 2) - carry.length;
      let k = 0;
      while (k < want && k < b.length && (b[k]! & 0xc0) === 0x80) k++;
      const joined = new Uint8Array(carry.length + k);
      joined.set(carry);
      joined.set(b.subarray(0, k), carry.length);
      if (k < want && k === b.length) { // still unfinished: wait for more
        this.carry = joined;
        return '';
      }
      this.carry = null;
      try {
        pre = this.utf8.decode(joined);
      } catch {
        this.bad = true;
        return '';
      }
      body = b.subarray(k);
    }
    const tail = incompleteUtf8Tail(body);
    if (tail > 0) {
      this.carry = body.slice(body.length - tail);
      body = body.subarray(0, body.length - tail);
    }
    try {
      return pre + this.utf8.decode(body);
    } catch {
      this.bad = true;
      this.carry = null;
      return pre + validUtf8Prefix(body);
    }
  }

  /** End of input: the text still held back. An unfinished UTF-8 sequence is bad. */
  end(): string {
    const carry = this.carry;
    if (carry === null) return '';
    this.carry = null;
    if (!this.decided) {
      this.decide(classify(carry, true) ?? 'utf-8');
      if (this.encoding === 'windows-1251') return this.cp1251.decode(carry);
    }
    this.bad = true;
    return '';
  }
}

/** The text of `b` up to its first invalid UTF-8 sequence (a genuine U+FFFD in the file is kept). */
function validUtf8Prefix(b: Uint8Array): string {
  const lossy = new TextDecoder('utf-8', { ignoreBOM: true }).decode(b);
  for (let i = lossy.indexOf('\uFFFD'); i >= 0; i = lossy.indexOf('\uFFFD', i + 1)) {
    const at = Buffer.byteLength(lossy.slice(0, i), 'utf8');
    if (!(b[at] === 0xef && b[at + 1] === 0xbf && b[at + 2] === 0xbd)) return lossy.slice(0, i);
  }
  return lossy;
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

const S_RECORD = 0; // at the start of a record
const S_FIELD = 1; // at the start of a field after a delimiter
const S_UNQUOTED = 2; // in an unquoted field (or after a quoted part: the rest is literal)
const S_QUOTED = 3; // inside quotes
const S_QUOTE = 4; // just read a quote inside quotes: `""` or the closing one

/** Resumable RFC 4180 state machine over decoded text; feed() any split of the text gives the same records. */
class Parser {
  private readonly delim: string;
  private readonly maxFieldBytes: number;
  private readonly fastFieldChars: number;
  private readonly maxRecordChars: number;
  /** The file's bytes are one per character (Windows-1251): field byte length = length. */
  singleByte = false;
  /** Physical line of the next character to read. */
  line = 1;
  private state = S_RECORD;
  private field = '';
  private cells: string[] = [];
  private recordLine = 1;
  /** Absolute character offset where the current record started. */
  private recordStart = 0;
  /** Characters fed before the current chunk. */
  private consumed = 0;
  /** The last character read was a CR counted as a line break: an LF right after it is the same break. */
  private skipLF = false;
  records = 0;

  constructor(delimiter: string, maxFieldBytes: number, maxRecordChars: number) {
    this.delim = delimiter;
    this.maxFieldBytes = maxFieldBytes;
    this.fastFieldChars = Math.floor(maxFieldBytes / 3); // a UTF-16 unit is at most 3 UTF-8 bytes
    this.maxRecordChars = maxRecordChars;
  }

  private fieldTooLong(v: string): boolean {
    if (v.length > this.maxFieldBytes) return true;
    return !this.singleByte && Buffer.byteLength(v, 'utf8') > this.maxFieldBytes;
  }

  private checkField(v: string, recordLine: number): void {
    if (this.fieldTooLong(v)) {
      throw new CsvError('field_too_long', recordLine, `a field is longer than ${this.maxFieldBytes} bytes (an unclosed quote?)`);
    }
  }

  private recordTooLong(recordLine: number): CsvError {
    return new CsvError('record_too_long', recordLine, `a record is longer than ${this.maxRecordChars} characters`);
  }

  /** Parses `s`, appending complete records to `out`. Throws CsvError (records before it are in `out`). */
  feed(s: string, out: CsvRow[]): void {
    const n = s.length;
    if (n === 0) return;
    const delim = this.delim;
    const fastField = this.fastFieldChars;
    const maxRecord = this.maxRecordChars;
    const base = this.consumed;
    const before = out.length;
    let state = this.state;
    let field = this.field;
    let cells = this.cells;
    let line = this.line;
    let recordLine = this.recordLine;
    let recordStart = this.recordStart - base; // relative to s (negative when the record began earlier)
    let i = 0;
    if (this.skipLF) {
      this.skipLF = false;
      if (s.charCodeAt(0) === 10) {
        if (state === S_QUOTED) field += '\n';
        i = 1;
      }
    }
    // cached positions of the next delimiter, LF and CR at or after i (n: none)
    let nd = -1, nl = -1, nc = -1;
    try {
      while (i < n) {
        if (state === S_RECORD || state === S_FIELD) {
          const c = s.charCodeAt(i);
          if (state === S_RECORD) {
            recordLine = line;
            recordStart = i;
            if (c === 10 || c === 13) { // empty line: skipped
              line++;
              i++;
              if (c === 13) {
                if (i === n) this.skipLF = true;
                else if (s.charCodeAt(i) === 10) i++;
              }
              continue;
            }
          }
          if (c === 34) {
            state = S_QUOTED;
            i++;
            continue;
          }
          state = S_UNQUOTED;
        }
        if (state === S_UNQUOTED) {
          if (nd < i) { nd = s.indexOf(delim, i); if (nd < 0) nd = n; }
          if (nl < i) { nl = s.indexOf('\n', i); if (nl < 0) nl = n; }
          if (nc < i) { nc = s.indexOf('\r', i); if (nc < 0) nc = n; }
          let e = nd < nl ? nd : nl;
          if (nc < e) e = nc;
          if (e === n) { // the field goes on in the next chunk
            field += s.slice(i);
            if (field.length > fastField) this.checkField(field, recordLine);
            i = n;
            break;
          }
          let v = s.slice(i, e);
          if (field !== '') { v = field + v; field = ''; }
          if (v.length > fastField) this.checkField(v, recordLine);
          cells.push(v);
          i = e + 1;
          if (e === nd) {
            state = S_FIELD;
            continue;
          }
          if (e - recordStart > maxRecord) throw this.recordTooLong(recordLine);
          out.push({ line: recordLine, cells });
          cells = [];
          line++;
          state = S_RECORD;
          if (e === nc) {
            if (i === n) this.skipLF = true;
            else if (s.charCodeAt(i) === 10) i++;
          }
          continue;
        }
        if (state === S_QUOTED) {
          let q = s.indexOf('"', i);
          if (q < 0) q = n;
          // line breaks inside the quoted text
          if (nl < i) { nl = s.indexOf('\n', i); if (nl < 0) nl = n; }
          if (nc < i) { nc = s.indexOf('\r', i); if (nc < 0) nc = n; }
          if (nl < q || nc < q) {
            while (nl < q) { line++; nl = s.indexOf('\n', nl + 1); if (nl < 0) nl = n; }
            while (nc < q) {
              if (s.charCodeAt(nc + 1) !== 10) line++; // CRLF already counted by its LF
              nc = s.indexOf('\r', nc + 1);
              if (nc < 0) nc = n;
            }
          }
          field += s.slice(i, q);
          if (field.length > fastField) this.checkField(field, recordLine);
          if (q === n) {
            // a CR ending the chunk is counted above; an LF starting the next chunk is the same break
            if (s.charCodeAt(n - 1) === 13) this.skipLF = true;
            i = n;
            break;
          }
          i = q + 1;
          state = S_QUOTE;
          continue;
        }
        // S_QUOTE
        if (s.charCodeAt(i) === 34) {
          field += '"';
          i++;
          state = S_QUOTED;
          continue;
        }
        state = S_UNQUOTED; // that was the closing quote
      }
    } finally {
      this.state = state;
      this.field = field;
      this.cells = cells;
      this.line = line;
      this.recordLine = recordLine;
      this.recordStart = base + recordStart;
      this.consumed = base + n;
      this.records += out.length - before;
    }
    if (state !== S_RECORD && n - recordStart > maxRecord) throw this.recordTooLong(recordLine);
  }

  /** End of input: the last record (no line end after it), or the unterminated quote. */
  end(out: CsvRow[]): void {
    const state = this.state;
    if (state === S_RECORD) return;
    if (state === S_QUOTED) {
      throw new CsvError('unterminated_quote', this.recordLine, 'a quoted field is not closed by the end of the file');
    }
    this.cells.push(state === S_FIELD ? '' : this.field);
    out.push({ line: this.recordLine, cells: this.cells });
    this.records++;
    this.cells = [];
    this.field = '';
    this.state = S_RECORD;
  }
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

function concatBytes(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function positive(value: number | undefined, dflt: number, name: string): number {
  if (value === undefined) return dflt;
  if (!(value > 0)) throw new RangeError(`${name} must be positive, got ${value}`);
  return value;
}

/**
 * Every record of the file (the header included) in arrays, one per input chunk (never empty). The
 * sniffed format is written to `info.head` before the first array is yielded.
 */
async function* batches(input: CsvInput, opts: CsvOptions, info: { head: CsvHead | null }): AsyncGenerator<CsvRow[], void, void> {
  if (opts.delimiter !== undefined && !DELIMITERS.includes(opts.delimiter)) {
    throw new TypeError(`delimiter must be one of ; , tab |, got ${JSON.stringify(opts.delimiter)}`);
  }
  const maxField = positive(opts.maxFieldBytes, DEFAULT_MAX_FIELD_BYTES, 'maxFieldBytes');
  const maxRecord = positive(opts.maxRecordChars, DEFAULT_MAX_RECORD_CHARS, 'maxRecordChars');
  // at least 4 bytes: the BOM and the file signatures checkText looks for
  const sniffBytes = Math.max(4, positive(opts.sniffBytes, SNIFF_BYTES, 'sniffBytes'));
  let parser: Parser | null = null;
  let decoder: ChunkDecoder | null = null;
  let sample: Uint8Array[] | null = [];
  let sampleBytes = 0;
  let failure: CsvError | null = null;

  /** Parses text; a failure is kept in `failure`, to be thrown after the records before it are yielded. */
  const feed = (text: string, out: CsvRow[]): void => {
    try {
      parser!.feed(text, out);
    } catch (e) {
      if (!(e instanceof CsvError)) throw e;
      failure = e;
    }
  };
  const step = (bytes: Uint8Array, out: CsvRow[]): void => {
    feed(decoder!.decode(bytes), out);
    if (failure === null && decoder!.bad) failure = new CsvError('bad_encoding', parser!.line, 'the file is not valid UTF-8 here');
  };

  const start = (bytes: Uint8Array, complete: boolean): Uint8Array => {
    checkText(bytes);
    const bom = hasUtf8Bom(bytes);
    const body = bom ? bytes.subarray(3) : bytes;
    // null: pure ASCII so far, the first non-ASCII chunk decides
    const encoding = opts.encoding ?? (bom ? 'utf-8' : classify(body, complete));
    const head: CsvHead = {
      delimiter: opts.delimiter ?? detectDelimiter(body, complete), encoding: encoding ?? 'utf-8', bom, header: [],
    };
    info.head = head;
    const p = new Parser(head.delimiter, maxField, maxRecord);
    p.singleByte = encoding === 'windows-1251';
    parser = p;
    decoder = new ChunkDecoder(encoding, (e) => {
      head.encoding = e;
      p.singleByte = e === 'windows-1251';
    });
    return body;
  };

  /** A big chunk (a whole file in one Buffer, say) is parsed in slices: batches stay small. */
  function* parse(bytes: Uint8Array): Generator<CsvRow[], void, void> {
    for (let at = 0; at < bytes.length; at += MAX_SLICE) {
      const out: CsvRow[] = [];
      step(bytes.length <= MAX_SLICE ? bytes : bytes.subarray(at, at + MAX_SLICE), out);
      if (out.length > 0) yield out;
      if (failure !== null) throw failure;
    }
  }

  for await (const raw of input as AsyncIterable<Uint8Array | string>) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    if (chunk.length === 0) continue;
    let bytes = chunk;
    if (sample !== null) {
      sample.push(chunk);
      sampleBytes += chunk.length;
      if (sampleBytes < sniffBytes) continue;
      bytes = start(concatBytes(sample, sampleBytes), false);
      sample = null;
    }
    yield* parse(bytes);
  }
  if (sample !== null) {
    const bytes = start(concatBytes(sample, sampleBytes), true);
    sample = null;
    yield* parse(bytes);
  }
  const out: CsvRow[] = [];
  if (failure === null) {
    const rest = decoder!.end();
    if (rest !== '') feed(rest, out);
    if (failure === null && decoder!.bad) failure = new CsvError('bad_encoding', parser!.line, 'the file ends inside a UTF-8 character');
  }
  if (failure === null) {
    try {
      parser!.end(out);
    } catch (e) {
      if (!(e instanceof CsvError)) throw e;
      failure = e;
    }
  }
  if (out.length > 0) yield out;
  if (failure !== null) throw failure;
  if (parser!.records === 0) throw new CsvError('empty_file', 1, 'the file has no records');
}

/** Every record of the file, the header included, in arrays of the records of one input chunk. */
export async function* readCsvBatches(input: CsvInput, opts: CsvOptions = {}): AsyncGenerator<CsvRow[], void, void> {
  yield* batches(input, opts, { head: null });
}

/**
 * Every record of the file, the header included (the first row). Throws CsvError('empty_file') when there
 * is no record. For the sniffed format and the header apart from the data, use readHead.
 */
export async function* readCsv(input: CsvInput, opts: CsvOptions = {}): AsyncGenerator<CsvRow, void, void> {
  for await (const batch of batches(input, opts, { head: null })) {
    for (const row of batch) yield row;
  }
}

/**
 * Reads up to the header (the first record) and returns the sniffed format with it, and the data records
 * still to come. Throws CsvError('empty_file') when the file has no record.
 */
export async function readHead(input: CsvInput, opts: CsvOptions = {}): Promise<CsvFile> {
  const info: { head: CsvHead | null } = { head: null };
  const gen = batches(input, opts, info);
  let rest: CsvRow[] | null = null; // the records of the first batch after the header
  while (rest === null) {
    const r = await gen.next();
    if (r.done) throw new CsvError('empty_file', 1, 'the file has no records'); // not reached: batches throws
    if (r.value.length > 0) rest = r.value;
  }
  const head = info.head!;
  head.header = rest.shift()!.cells;
  async function* dataBatches(): AsyncGenerator<CsvRow[], void, void> {
    try {
      const first = rest;
      rest = null;
      if (first !== null && first.length > 0) yield first;
      for (;;) {
        const r = await gen.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await gen.return();
    }
  }
  async function* dataRows(): AsyncGenerator<CsvRow, void, void> {
    for await (const batch of dataBatches()) for (const row of batch) yield row;
  }
  const rows = dataRows();
  const batched = dataBatches();
  return {
    head, rows, batches: batched,
    close: async () => { await rows.return(); await batched.return(); await gen.return(); },
  };
}
