/**
 * Streaming CSV writer for exports (pure: no DB, writes to any Writable).
 *
 * Dialects
 *   'excel-ru' — for double-clicking in Russian Excel: UTF-8 with BOM, ';' separator, CRLF line ends,
 *                numbers with a decimal comma (12,5) so Excel reads them as numbers.
 *   'plain'    — for programs: no BOM, ',' separator, LF, numbers as JavaScript prints them (12.5).
 * Both dialects quote (RFC 4180) a cell that contains the separator, '"', CR or LF, doubling inner quotes.
 *
 * Formula injection: every *text* cell (a string value, the header included) goes through `neutralize`,
 * which puts an apostrophe in front of a cell starting with = + - @ TAB or CR. Numbers and booleans are
 * written as values and never neutralized (`-5` the number stays `-5`; the string '-5' becomes `'-5`).
 * Consequences, on purpose: an E.164 phone '+79161234567' is written `'+79161234567`, which also keeps
 * Excel from turning it into 7,92E+10 (Excel shows the apostrophe; a CSV has no way to say "this is text"
 * without either a visible mark or a formula). A digits-only string such as a card number '2000000000017'
 * is not neutralized, and Excel opening the CSV by double-click will still show it as a number — use XLSX
 * (text columns are stored as text there) or Excel's Data → From Text/CSV with the column set to Text.
 * A reader importing our CSV back should drop one leading apostrophe that precedes = + - @ TAB or CR.
 * `neutralize: false` turns the guard off (for machine-to-machine exports).
 *
 * Streaming: rows are formatted into a ~128 KiB string buffer, encoded once and written; `write()` resolves
 * after the output has drained when it asked for backpressure, so memory stays constant whatever the row
 * count. `end()` resolves with the number of data rows (header not counted), the bytes written (BOM included)
 * and the SHA-256 of exactly those bytes.
 *
 * Lone UTF-16 surrogates cannot be encoded in UTF-8 and come out as U+FFFD; nothing else is altered.
 */
import { createHash, type Hash } from 'node:crypto';

export type CsvCell = string | number | boolean | null;

export interface CsvWriterOptions {
  /** 'excel-ru': UTF-8 BOM, ';', CRLF, decimal comma. 'plain': no BOM, ',', LF. */
  dialect: 'excel-ru' | 'plain';
  /** Apply `neutralize` to text cells (default true). */
  neutralize?: boolean;
  /** End `out` when the writer ends and wait for its 'finish' (default true; pass false for process.stdout). */
  endStream?: boolean;
}

export interface WriterResult { rows: number; bytes: number; sha256: string }

/**
 * True when `cell` starts with a character that makes Excel / LibreOffice treat a typed or imported cell
 * as a formula (OWASP list): = + - @ TAB CR.
 */
export function startsLikeFormula(cell: string): boolean {
  const c = cell.charCodeAt(0);
  return c === 0x3d || c === 0x2b || c === 0x2d || c === 0x40 || c === 0x09 || c === 0x0d;
}

/**
 * Formula-injection guard: a cell starting with `=`, `+`, `-`, `@`, TAB or CR gets an apostrophe in front
 * (`=1+1` → `'=1+1`, `+79161234567` → `'+79161234567`); anything else is returned unchanged. Only the first
 * character matters (` =1+1` with a leading space is not evaluated by spreadsheets and is left alone).
 * The guard is not reversible in general: a value that already was `'=x` and a neutralized `=x` look alike.
 */
export function neutralize(cell: string): string {
  return startsLikeFormula(cell) ? "'" + cell : cell;
}

// ---------------------------------------------------------------------------
// Output sink shared by the CSV and XLSX writers (internal)
// ---------------------------------------------------------------------------

/**
 * @internal Counting, hashing, backpressure-aware wrapper around a Writable. Writes are synchronous
 * (order is the call order); `settle()` waits for 'drain' when the last write asked for it, and
 * rejects on the stream's 'error' or a 'close' before the writer ended it.
 */
export class OutputSink {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private failure: unknown = null;
  private needDrain = false;
  private closed = false;
  private finished = false;
  private readonly out: NodeJS.WritableStream;
  private readonly onError = (err: unknown): void => { this.failure ??= err; };
  private readonly onClose = (): void => { this.closed = true; };

  constructor(out: NodeJS.WritableStream) {
    this.out = out;
    out.on('error', this.onError);
    out.on('close', this.onClose);
  }

  /** Throws the stream's error, if any. */
  check(): void {
    if (this.failure !== null) throw this.failure;
    if (this.closed && !this.finished) throw new Error('export: the output stream closed before the export ended');
  }

  get failed(): boolean { return this.failure !== null || (this.closed && !this.finished); }

  write(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.failed) return; // a failure is reported by check()
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (!this.out.write(chunk)) this.needDrain = true;
  }

  get pending(): boolean { return this.needDrain; }

  /** Resolves once the output has drained (immediately when it did not ask to wait). */
  async settle(): Promise<void> {
    this.check();
    if (!this.needDrain) return;
    await this.waitFor('drain');
    this.needDrain = false;
  }

  /** Ends the output (when `end`) and waits for 'finish'; otherwise waits for a pending drain. Returns the hex SHA-256. */
  async finish(end: boolean): Promise<string> {
    try {
      if (end) {
        this.check();
        const done = this.waitFor('finish');
        this.out.end();
        await done;
        this.finished = true;
      } else {
        await this.settle();
      }
      return this.hash.digest('hex');
    } finally {
      this.detach();
    }
  }

  detach(): void {
    this.out.removeListener('error', this.onError);
    this.out.removeListener('close', this.onClose);
  }

  private waitFor(event: 'drain' | 'finish'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const out = this.out;
      const cleanup = (): void => {
        out.removeListener(event, onEvent);
        out.removeListener('error', onErr);
        out.removeListener('close', onClose);
      };
      const onEvent = (): void => { cleanup(); if (event === 'finish') this.finished = true; resolve(); };
      const onErr = (err: unknown): void => { cleanup(); reject(err); };
      const onClose = (): void => {
        cleanup();
        if (this.finished) resolve();
        else reject(this.failure ?? new Error('export: the output stream closed before the export ended'));
      };
      out.on(event, onEvent);
      out.on('error', onErr);
      out.on('close', onClose);
    });
  }
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/** Flush the row buffer to the output once it holds this many UTF-16 units. */
const FLUSH_CHARS = 1 << 17;

const NEEDS_QUOTE_SEMI = /[";\r\n]/;
const NEEDS_QUOTE_COMMA = /[",\r\n]/;
const QUOTE_ALL = /"/g;
const CRLF = Buffer.from('\r\n');

export function csvWriter(
  out: NodeJS.WritableStream,
  header: string[],
  opts: CsvWriterOptions,
): { write(row: CsvCell[]): Promise<void>; writeCopy(chunk: Buffer): Promise<number>; end(): Promise<WriterResult> } {
  const excel = opts.dialect === 'excel-ru';
  if (!excel && opts.dialect !== 'plain') throw new TypeError(`csvWriter: unknown dialect ${String(opts.dialect)}`);
  if (header.length === 0) throw new RangeError('csvWriter: the header has no columns');
  const sep = excel ? ';' : ',';
  const eol = excel ? '\r\n' : '\n';
  const needsQuote = excel ? NEEDS_QUOTE_SEMI : NEEDS_QUOTE_COMMA;
  const guard = opts.neutralize !== false;
  const width = header.length;
  const sink = new OutputSink(out);

  const text = (s: string): string => {
    if (guard) s = neutralize(s);
    return needsQuote.test(s) ? '"' + s.replace(QUOTE_ALL, '""') + '"' : s;
  };
  const cell = (v: CsvCell | undefined, col: number): string => {
    if (v === null || v === undefined) return '';
    switch (typeof v) {
      case 'string': return text(v);
      case 'number':
        if (!Number.isFinite(v)) return text(String(v)); // NaN / ±Infinity are written as text
        return excel ? String(v).replace('.', ',') : String(v);
      case 'boolean': return v ? 'true' : 'false';
      default: throw new TypeError(`csvWriter: column ${col + 1} («${header[col]}»): unsupported value of type ${typeof v}`);
    }
  };

  let buf = (excel ? '\uFEFF' : '') + header.map((h) => text(String(h))).join(sep) + eol;
  let rows = 0;
  let ended = false;

  // writeCopy: whether the COPY output seen so far ends inside a quoted cell
  let inQuotes = false;

  const flush = (): void => {
    if (buf.length === 0) return;
    const chunk = Buffer.from(buf, 'utf8');
    buf = '';
    sink.write(chunk);
  };

  return {
    async write(row: CsvCell[]): Promise<void> {
      if (ended) throw new Error('csvWriter: write() after end()');
      sink.check();
      if (row.length !== width) {
        throw new RangeError(`csvWriter: row ${rows + 1} has ${row.length} cells, the header has ${width}`);
      }
      let line = cell(row[0], 0);
      for (let i = 1; i < width; i++) line += sep + cell(row[i], i);
      buf += line + eol;
      rows++;
      if (buf.length >= FLUSH_CHARS) flush();
      if (sink.pending) await sink.settle();
    },
    /**
     * Appends output of PostgreSQL's `COPY (…) TO STDOUT (FORMAT csv, DELIMITER <this dialect's
     * separator>)` whose cells the query already neutralized (exports do: src/export/export.service.ts).
     * COPY quotes exactly as write() does (a cell with the separator, '"', CR or LF) and ends records
     * with LF; excel-ru's CRLF is put at record ends only (an LF inside quotes is data). Chunks may
     * split anywhere. Resolves with the number of records completed by this chunk.
     */
    async writeCopy(chunk: Buffer): Promise<number> {
      if (ended) throw new Error('csvWriter: write() after end()');
      sink.check();
      flush();
      let records = 0;
      let from = 0;
      const parts: Buffer[] = [];
      let quote = chunk.indexOf(0x22);
      for (let lf = chunk.indexOf(0x0a); lf !== -1; lf = chunk.indexOf(0x0a, lf + 1)) {
        for (; quote !== -1 && quote < lf; quote = chunk.indexOf(0x22, quote + 1)) inQuotes = !inQuotes; // "" toggles twice
        if (inQuotes) continue;
        records++;
        if (excel) {
          parts.push(chunk.subarray(from, lf), CRLF);
          from = lf + 1;
        }
      }
      for (; quote !== -1; quote = chunk.indexOf(0x22, quote + 1)) inQuotes = !inQuotes;
      if (from > 0) parts.push(chunk.subarray(from));
      sink.write(from > 0 ? Buffer.concat(parts) : chunk);
      rows += records;
      if (sink.pending) await sink.settle();
      return records;
    },
    async end(): Promise<WriterResult> {
      if (ended) throw new Error('csvWriter: end() called twice');
      ended = true;
      flush();
      const sha256 = await sink.finish(opts.endStream !== false);
      return { rows, bytes: sink.bytes, sha256 };
    },
  };
}
