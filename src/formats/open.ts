// Opening an uploaded file again at its data rows in the format found at upload (CSV in its encoding
// and delimiter, or an XLSX sheet), in batches of rows; and the file readers' errors as AppErrors.
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { AppError } from '../errors/errors.ts';
import { CsvError, readHead, type CsvRow, type Delimiter, type Encoding } from './csv.read.ts';
import { readXlsxBatches, XlsxError, type XlsxSheet } from './xlsx.read.ts';

/** A stored upload's full path: the row keeps it relative to the data folder. */
export const filePath = (dataDir: string, file: { file_path: string }) => path.join(dataDir, file.file_path);

/** What the reader needs to read the file again exactly as at upload. */
export interface Source {
  encoding?: Encoding;
  delimiter?: Delimiter;
  sheet?: string;
  sheets?: string[];
}

/** How to open a file the first time (at upload): the sheet is chosen once the workbook's list is read. */
export type Chooser = (sheets: XlsxSheet[]) => string | number | undefined;

export interface OpenedFile {
  headers: string[];
  /** Data rows (the header excluded), in arrays. */
  batches: AsyncGenerator<CsvRow[], void, void>;
  /** Bytes of the file read so far (for an estimate of the rows to come). */
  bytesRead(): number;
  /** What sniffing found in a CSV (the encoding is final once the rows were read). */
  sniffed?: () => { encoding: Encoding; delimiter: Delimiter };
  close(): Promise<void>;
}

export function fileError(e: unknown): AppError | undefined {
  if (e instanceof CsvError) {
    if (e.reason === 'empty_file') return new AppError('bad_request', { detail: 'import_file_empty' });
    if (e.reason === 'not_text') return new AppError('bad_request', { detail: 'import_file_not_text' });
    if (e.reason === 'unsupported_encoding') return new AppError('bad_request', { detail: 'import_file_encoding' });
    return new AppError('bad_request', { detail: 'import_file_broken', params: { line: e.line, reason: e.message } });
  }
  if (e instanceof XlsxError) {
    if (e.reason === 'not_xlsx') return new AppError('bad_request', { detail: 'import_file_not_text' });
    if (e.reason === 'empty_sheet') return new AppError('bad_request', { detail: 'import_file_empty' });
    return new AppError('bad_request', { detail: 'import_file_broken', params: { line: 0, reason: e.message } });
  }
  return undefined;
}

/** Opens an uploaded file at its data rows, in the format found at upload. */
export async function openFile(file: string, format: string, source: Source, choose?: Chooser): Promise<OpenedFile> {
  try {
    if (format === 'xlsx') {
      const size = fs.statSync(file).size;
      const gen = readXlsxBatches(file, choose ? { choose } : source.sheet !== undefined ? { sheet: source.sheet } : {});
      let headers: string[] | undefined;
      let first: CsvRow[] = [];
      while (headers === undefined) {
        const r = await gen.next();
        if (r.done) throw new XlsxError('empty_sheet', 'the sheet has no rows');
        if (r.value.length) {
          headers = r.value[0]!.cells;
          first = r.value.slice(1);
        }
      }
      let rows = 0;
      async function* batches(): AsyncGenerator<CsvRow[], void, void> {
        try {
          if (first.length) yield first;
          for (;;) {
            const r = await gen.next();
            if (r.done) return;
            rows += r.value.length;
            yield r.value;
          }
        } catch (e) {
          throw fileError(e) ?? e;
        }
      }
      // XLSX gives no byte position: rows read stand in, so the estimate grows as it goes.
      return { headers, batches: batches(), bytesRead: () => (rows ? size : 0), close: async () => void (await gen.return()) };
    }
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    const input = fs.createReadStream(file).pipe(counter);
    const csv = await readHead(input, { ...(source.encoding ? { encoding: source.encoding } : {}), ...(source.delimiter ? { delimiter: source.delimiter } : {}) });
    async function* batches(): AsyncGenerator<CsvRow[], void, void> {
      try {
        yield* csv.batches;
      } catch (e) {
        throw fileError(e) ?? e;
      }
    }
    return {
      headers: csv.head.header,
      batches: batches(),
      bytesRead: () => bytes,
      sniffed: () => ({ encoding: csv.head.encoding, delimiter: csv.head.delimiter as Delimiter }),
      close: () => csv.close(),
    };
  } catch (e) {
    throw fileError(e) ?? e;
  }
}
