/**
 * Streaming XLSX reader for import: the rows of one worksheet as strings, in batches, in bounded memory.
 *
 * Reading the package
 *   - The ZIP is read through its central directory (the end of the file), then each part it needs with a
 *     ranged fs read stream inflated by node:zlib. The directory is the only reliable index of a ZIP (local
 *     headers of streamed archives, ours included, carry no sizes), so parts can be read in the order the
 *     reader needs them — workbook, relationships, styles, shared strings, then the sheet — whatever their
 *     order in the file, with no second pass. node:zlib's native inflate is used rather than fflate's
 *     JavaScript one for speed (as the export writer does for deflate).
 *   - Every part's CRC-32 and size are checked against the directory at its end: a damaged file is
 *     XlsxError('corrupt'), after the rows read before the damage (as the CSV reader does).
 *   - Limits against zip bombs: all parts read together ≤ `maxUncompressedBytes` (4 GiB), a metadata part
 *     (workbook, relationships, styles) ≤ 64 MiB, the shared strings table ≤ `maxSharedStringsBytes` of
 *     estimated memory (512 MiB), any one XML tag or text run ≤ 16 Mi characters: beyond is 'too_large'.
 *
 * Parsing XML: a small scanner over the decoded text chunks (not a general XML parser: no DTDs, no custom
 * entities — Excel allows neither). Element names are matched by their local name, so prefixed writers
 * (`<x:c>`) work. Whatever is incomplete at a chunk's end (a tag, a text run) is carried to the next chunk.
 *
 * Cells (all strings; see cellValue)
 *   - shared and inline strings: rich-text runs concatenated, phonetic runs (`<rPh>`) left out, entities
 *     and Excel's `_xHHHH_` escapes decoded; formula results (`t="str"`) the same; `<f>` is ignored and the
 *     cached `<v>` used.
 *   - booleans 'true' / 'false'; error values (#N/A…) ''.
 *   - numbers: integers as all their digits (79161234567, never 7.9161234567E10); other numbers rounded to
 *     15 significant digits as Excel shows them (0.1+0.2 → '0.3'), never with an exponent.
 *   - numbers whose cell format is a date (styles.xml: built-in ids 14–22, 27–36, 45–47, 50–58 or a custom
 *     code with y/d/h/s): 'YYYY-MM-DD'; 'YYYY-MM-DD HH:MM:SS' when the format shows a time and the value has
 *     one; 'HH:MM:SS' for a time-only format and a value below one day. Excel's 1900 system with its
 *     phantom 1900-02-29 (serial 60, given as that text) or the 1904 system (workbookPr date1904).
 *     `t="d"` cells (ISO 8601) likewise.
 * Rows: `line` is the sheet's row number; rows without a non-empty cell are skipped; cells are placed by
 * their reference (or by order where it is missing), gaps are ''; every row is padded with '' to the
 * header's width (the first row yielded), a longer row keeps its extra cells.
 *
 * Cells may be slices of a decoded chunk; V8 can keep the chunk alive while a slice is retained, so a
 * consumer that keeps cells for long should keep derived strings (as for the CSV reader).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { crc32, createInflateRaw } from 'node:zlib';
import type { CsvRow } from './csv.read.ts';

export type XlsxErrorReason = 'not_xlsx' | 'sheet_not_found' | 'corrupt' | 'empty_sheet' | 'too_large';

export class XlsxError extends Error {
  readonly reason: XlsxErrorReason;
  /** For 'sheet_not_found': the names of the workbook's sheets, in order. */
  readonly sheets: string[] | undefined;
  constructor(reason: XlsxErrorReason, message: string, sheets?: string[]) {
    super(message);
    this.name = 'XlsxError';
    this.reason = reason;
    this.sheets = sheets;
  }
}

export interface XlsxSheet { index: number; name: string; hidden: boolean }

export interface XlsxReadOptions {
  /** Sheet name (case-insensitive) or 0-based index among all sheets, hidden ones included. Default: the first visible sheet. */
  sheet?: string | number;
  /**
   * Chooses the sheet from the workbook's list once it is read (instead of `sheet`), so that an upload
   * learns the sheets and reads the chosen one's header from one opening of the file.
   */
  choose?: (sheets: XlsxSheet[]) => string | number | undefined;
  /** Cap on the uncompressed bytes of all the parts read. Default 4 GiB. */
  maxUncompressedBytes?: number;
  /** Cap on the estimated memory of the shared strings table. Default 512 MiB. */
  maxSharedStringsBytes?: number;
  /** @internal Read and inflate chunk size (tests use tiny chunks to cut tags and characters). */
  chunkSize?: number;
}

const DEFAULT_MAX_UNCOMPRESSED = 4 * 2 ** 30;
const DEFAULT_MAX_SST_BYTES = 512 * 2 ** 20;
const MAX_META_PART_BYTES = 64 * 2 ** 20;
const MAX_CENTRAL_DIRECTORY = 64 * 2 ** 20;
const MAX_CARRY_CHARS = 16 * 2 ** 20;
const MAX_COLUMNS = 16_384;
/** Entries of a metadata list (styles, relationships, sheets): far beyond what Excel writes. */
const MAX_META_ITEMS = 1 << 20;
const READ_CHUNK = 256 * 1024;
/** A batch is yielded once it holds this many rows or cells. */
const BATCH_ROWS = 1024;
const BATCH_CELLS = 65_536;

// ---------------------------------------------------------------------------
// ZIP: central directory and part streams
// ---------------------------------------------------------------------------

interface ZipEntry { name: string; flags: number; method: number; crc: number; compSize: number; size: number; offset: number }

interface ZipIndex { file: string; size: number; entries: Map<string, ZipEntry>; chunk: number }

/** Uncompressed bytes still allowed, shared by every part read from one file. */
interface Budget { left: number }

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;

const corrupt = (what: string): XlsxError => new XlsxError('corrupt', `The XLSX file is damaged: ${what}.`);
const notXlsx = (what: string): XlsxError => new XlsxError('not_xlsx', `Not an XLSX workbook: ${what}.`);

/** Part names are case-insensitive in OPC; some writers use backslashes or a leading slash. */
const partKey = (name: string): string => name.replace(/\\/g, '/').replace(/^\/+/, '').toLowerCase();

async function readZipIndex(file: string): Promise<ZipIndex> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const read = async (pos: number, len: number): Promise<Buffer> => {
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      return bytesRead === len ? buf : buf.subarray(0, bytesRead);
    };
    if (size === 0) throw notXlsx('the file is empty');
    const head = await read(0, 8);
    if (head.length >= 8 && head.readUInt32BE(0) === 0xd0cf11e0 && head.readUInt32BE(4) === 0xa1b11ae1) {
      throw notXlsx('this is an old Excel .xls file or a password-protected workbook; save it as .xlsx (without a password) or CSV');
    }
    const sig = head.length >= 4 ? head.readUInt32LE(0) : 0;
    if (sig !== SIG_LOCAL && sig !== SIG_EOCD) throw notXlsx('the file is not a ZIP package (a CSV or another format?)');

    // The end-of-central-directory record: 22 bytes plus a comment of up to 65,535 bytes, at the very end.
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = await read(size - tailLen, tailLen);
    let e = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail[i] === 0x50 && tail.readUInt32LE(i) === SIG_EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) { e = i; break; }
    }
    if (e < 0) throw corrupt('the ZIP archive is truncated (its central directory is missing)');
    const eocdPos = size - tailLen + e;
    let count = tail.readUInt16LE(e + 10);
    let cdSize = tail.readUInt32LE(e + 12);
    let cdOffset = tail.readUInt32LE(e + 16);
    if ((count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) && eocdPos >= 20) {
      const loc = await read(eocdPos - 20, 20);
      if (loc.length === 20 && loc.readUInt32LE(0) === SIG_EOCD64_LOCATOR) {
        const pos = Number(loc.readBigUInt64LE(8));
        const rec = pos + 56 <= size ? await read(pos, 56) : Buffer.alloc(0);
        if (rec.length !== 56 || rec.readUInt32LE(0) !== SIG_EOCD64) throw corrupt('the ZIP64 directory record is invalid');
        count = Number(rec.readBigUInt64LE(32));
        cdSize = Number(rec.readBigUInt64LE(40));
        cdOffset = Number(rec.readBigUInt64LE(48));
      }
    }
    if (cdOffset + cdSize > size) throw corrupt('the ZIP central directory points outside the file (truncated?)');
    if (cdSize > MAX_CENTRAL_DIRECTORY) throw new XlsxError('too_large', `The XLSX file's ZIP directory is larger than ${MAX_CENTRAL_DIRECTORY / 2 ** 20} MiB.`);
    const cd = await read(cdOffset, cdSize);
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let n = 0; n < count; n++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw corrupt('an entry of the ZIP central directory is invalid');
      const flags = cd.readUInt16LE(p + 8);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > cd.length) throw corrupt('an entry of the ZIP central directory is cut short');
      const name = cd.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen);
      const entry: ZipEntry = {
        name, flags, method: cd.readUInt16LE(p + 10), crc: cd.readUInt32LE(p + 16),
        compSize: cd.readUInt32LE(p + 20), size: cd.readUInt32LE(p + 24), offset: cd.readUInt32LE(p + 42),
      };
      // ZIP64 extended information: the 64-bit values of the fields set to 0xFFFFFFFF, in this order.
      for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen;) {
        const id = cd.readUInt16LE(x);
        const len = cd.readUInt16LE(x + 2);
        if (id === 0x0001) {
          let q = x + 4;
          const next = (): number => {
            if (q + 8 > x + 4 + len || q + 8 > cd.length) throw corrupt('a ZIP64 field is cut short');
            const v = Number(cd.readBigUInt64LE(q));
            q += 8;
            return v;
          };
          if (entry.size === 0xffffffff) entry.size = next();
          if (entry.compSize === 0xffffffff) entry.compSize = next();
          if (entry.offset === 0xffffffff) entry.offset = next();
        }
        x += 4 + len;
      }
      const key = partKey(name);
      if (!entries.has(key)) entries.set(key, entry);
      p = end;
    }
    return { file, size, entries, chunk: READ_CHUNK };
  } finally {
    await fh.close();
  }
}

/**
 * The uncompressed bytes of one part, streamed. Checks the part's size and CRC-32 at its end (when read to
 * the end) and counts the bytes against the budget and `maxBytes`.
 */
async function* partBytes(zip: ZipIndex, entry: ZipEntry, budget: Budget, maxBytes: number): AsyncGenerator<Buffer, void, void> {
  const tooLarge = (): XlsxError => new XlsxError('too_large',
    `The XLSX part ${entry.name} unpacks to more than ${fmtBytes(Math.min(maxBytes, budget.left))} (a ZIP bomb?).`);
  if (entry.flags & 1) throw corrupt(`the part ${entry.name} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8) throw corrupt(`the part ${entry.name} uses ZIP compression method ${entry.method}, which is not supported`);
  if (entry.size > maxBytes || entry.size > budget.left) throw tooLarge();
  const fh = await open(zip.file, 'r');
  let dataStart: number;
  try {
    const lh = Buffer.alloc(30);
    const { bytesRead } = await fh.read(lh, 0, 30, entry.offset);
    if (bytesRead < 30 || lh.readUInt32LE(0) !== SIG_LOCAL) throw corrupt(`the local header of ${entry.name} is missing`);
    dataStart = entry.offset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
  } finally {
    await fh.close();
  }
  if (dataStart + entry.compSize > zip.size) throw corrupt(`the part ${entry.name} is cut short (truncated file?)`);
  if (entry.compSize === 0) {
    if (entry.size !== 0) throw corrupt(`the part ${entry.name} is empty`);
    return;
  }
  const src = createReadStream(zip.file, { start: dataStart, end: dataStart + entry.compSize - 1, highWaterMark: zip.chunk });
  const out: Readable = entry.method === 8 ? pipeline(src, createInflateRaw({ chunkSize: Math.max(64, zip.chunk) }), () => {}) : src;
  let size = 0;
  let crc = 0;
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes || size > budget.left) throw tooLarge();
      crc = crc32(chunk, crc);
      yield chunk;
    }
  } catch (err) {
    if (err instanceof XlsxError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw corrupt(`the part ${entry.name} does not unpack (${(err as Error).message})`);
    throw err;
  } finally {
    budget.left -= size;
    out.destroy();
    src.destroy();
  }
  if (size !== entry.size || crc !== entry.crc) throw corrupt(`the part ${entry.name} fails its ZIP checksum`);
}

/** The part's text, decoded chunk by chunk (UTF-8, or UTF-16 when it starts with that BOM). */
async function* partText(zip: ZipIndex, entry: ZipEntry, budget: Budget, maxBytes: number): AsyncGenerator<string, void, void> {
  let decoder: InstanceType<typeof TextDecoder> | null = null;
  for await (const chunk of partBytes(zip, entry, budget, maxBytes)) {
    if (decoder === null) {
      const enc = chunk[0] === 0xff && chunk[1] === 0xfe ? 'utf-16le' : chunk[0] === 0xfe && chunk[1] === 0xff ? 'utf-16be' : 'utf-8';
      decoder = new TextDecoder(enc);
    }
    const text = decoder.decode(chunk, { stream: true });
    if (text.length > 0) yield text;
  }
  const rest = decoder?.decode() ?? '';
  if (rest.length > 0) yield rest;
}

// ---------------------------------------------------------------------------
// XML scanner
// ---------------------------------------------------------------------------

/** What a part parser does with the tokens of its XML. Names are local names (any prefix dropped). */
interface XmlHandler {
  /** Set while the text between tags is wanted (inside <t>, <v>…); other text is skipped unread. */
  wantText: boolean;
  /** Set when the rest of the part is of no interest. */
  done: boolean;
  open(name: string, sc: XmlScanner, selfClosing: boolean): void;
  close(name: string): void;
  text(s: string): void;
}

class XmlScanner {
  /** The text being scanned (attribute positions refer to it during `open`). */
  buf = '';
  /** Attributes of the tag being opened: [localNameStart, nameEnd, valueStart, valueEnd] each. */
  private readonly attrs: number[] = [];
  private nAttrs = 0;
  private carry = '';
  private readonly h: XmlHandler;
  private readonly part: string;

  constructor(h: XmlHandler, part: string) {
    this.h = h;
    this.part = part;
  }

  /** The raw (still escaped) value of the attribute with this local name, as [start, end) in `buf`; -1 if absent. */
  find(name: string): number {
    const a = this.attrs;
    for (let k = 0; k < this.nAttrs * 4; k += 4) {
      if (a[k + 1]! - a[k]! === name.length && this.buf.startsWith(name, a[k]!)) return k;
    }
    return -1;
  }
  valueStart(k: number): number { return this.attrs[k + 2]!; }
  valueEnd(k: number): number { return this.attrs[k + 3]!; }

  /** The decoded value of an attribute, or undefined. */
  attr(name: string): string | undefined {
    const k = this.find(name);
    return k < 0 ? undefined : decodeXml(this.buf.slice(this.attrs[k + 2], this.attrs[k + 3]));
  }

  feed(chunk: string): void {
    const h = this.h;
    if (h.done) return;
    // join, not +: a flat string scans faster than a cons string
    const buf = this.carry.length > 0 ? [this.carry, chunk].join('') : chunk;
    this.buf = buf;
    const n = buf.length;
    let pos = 0;
    while (pos < n && !h.done) {
      const lt = buf.indexOf('<', pos);
      if (lt < 0) {
        if (!h.wantText) pos = n;
        break; // wanted text continues in the next chunk: carry it whole, so no entity is cut
      }
      if (lt > pos && h.wantText) h.text(decodeText(buf.slice(pos, lt)));
      pos = lt;
      if (lt + 1 >= n) break;
      const c = buf.charCodeAt(lt + 1);
      if (c === 47 /* / */) {
        const gt = buf.indexOf('>', lt + 2);
        if (gt < 0) break;
        let s = lt + 2;
        let e = gt;
        while (e > s && buf.charCodeAt(e - 1) <= 32) e--;
        for (let i = e - 1; i > s; i--) {
          if (buf.charCodeAt(i) === 58 /* : */) { s = i + 1; break; }
        }
        pos = gt + 1;
        h.close(nameAt(buf, s, e));
      } else if (c === 63 /* ? */) {
        const e = buf.indexOf('?>', lt + 2);
        if (e < 0) break;
        pos = e + 2;
      } else if (c === 33 /* ! */) {
        if (n - lt < 4) break; // not yet known whether comment, CDATA or DOCTYPE
        if (buf.startsWith('<!--', lt)) {
          const e = buf.indexOf('-->', lt + 4);
          if (e < 0) break;
          pos = e + 3;
        } else if (n - lt < 9) {
          break;
        } else if (buf.startsWith('<![CDATA[', lt)) {
          const e = buf.indexOf(']]>', lt + 9);
          if (e < 0) break;
          if (h.wantText) h.text(buf.slice(lt + 9, e));
          pos = e + 3;
        } else {
          // <!DOCTYPE …> (not allowed in OOXML): skipped, internal subset included; its entities are not defined
          const gt = buf.indexOf('>', lt);
          const br = buf.indexOf('[', lt);
          if (gt < 0) break;
          if (br >= 0 && br < gt) {
            const e = buf.indexOf(']>', br);
            if (e < 0) break;
            pos = e + 2;
          } else pos = gt + 1;
        }
      } else {
        const end = this.tag(buf, lt);
        if (end < 0) break;
        pos = end;
      }
    }
    this.carry = pos < n && !h.done ? buf.slice(pos) : '';
    if (this.carry.length > MAX_CARRY_CHARS) {
      throw new XlsxError('too_large', `The XLSX part ${this.part} holds an XML tag or text longer than ${MAX_CARRY_CHARS} characters.`);
    }
  }

  /** Call after the last chunk: anything left unparsed but white space means the XML is cut short. */
  end(): void {
    if (!this.h.done && this.carry.trim().length > 0) throw corrupt(`the XML of ${this.part} ends in the middle of a tag`);
    this.carry = '';
  }

  /** Parses the start tag at `lt` and calls `open`; returns the index after it, or -1 when it is incomplete. */
  private tag(buf: string, lt: number): number {
    const n = buf.length;
    let i = lt + 1;
    let s = i;
    for (; i < n; i++) {
      const c = buf.charCodeAt(i);
      if (c <= 32 || c === 47 || c === 62) break;
      if (c === 58 /* : */) s = i + 1;
    }
    if (i >= n) return -1;
    if (i === lt + 1) throw corrupt(`the XML of ${this.part} is malformed (a stray "<")`);
    const nameStart = s;
    const nameEnd = i;
    const a = this.attrs;
    let na = 0;
    for (;;) {
      while (i < n && buf.charCodeAt(i) <= 32) i++;
      if (i >= n) return -1;
      let c = buf.charCodeAt(i);
      if (c === 62 /* > */ || c === 47 /* / */) {
        let self = false;
        if (c === 47) {
          if (i + 1 >= n) return -1;
          if (buf.charCodeAt(i + 1) !== 62) throw corrupt(`the XML of ${this.part} is malformed (a "/" inside a tag)`);
          self = true;
          i++;
        }
        this.nAttrs = na;
        this.h.open(nameAt(buf, nameStart, nameEnd), this, self);
        return i + 1;
      }
      // attribute: name = "value" | 'value'
      let as = i;
      for (; i < n; i++) {
        c = buf.charCodeAt(i);
        if (c <= 32 || c === 61 || c === 62 || c === 47) break;
        if (c === 58) as = i + 1;
      }
      const ae = i;
      while (i < n && buf.charCodeAt(i) <= 32) i++;
      if (i >= n) return -1;
      if (buf.charCodeAt(i) !== 61 /* = */ || ae === as) throw corrupt(`the XML of ${this.part} is malformed (an attribute without a value)`);
      i++;
      while (i < n && buf.charCodeAt(i) <= 32) i++;
      if (i >= n) return -1;
      const q = buf.charCodeAt(i);
      if (q !== 34 && q !== 39) throw corrupt(`the XML of ${this.part} is malformed (an unquoted attribute)`);
      const ve = buf.indexOf(q === 34 ? '"' : "'", i + 1);
      if (ve < 0) return -1;
      if (na * 4 + 4 > MAX_META_ITEMS) throw corrupt(`the XML of ${this.part} has a tag with too many attributes`);
      a[na * 4] = as;
      a[na * 4 + 1] = ae;
      a[na * 4 + 2] = i + 1;
      a[na * 4 + 3] = ve;
      na++;
      i = ve + 1;
    }
  }
}

/** The element name at [s, e): the worksheet's frequent names as constants (no allocation per tag). */
function nameAt(buf: string, s: number, e: number): string {
  const c = buf.charCodeAt(s);
  switch (e - s) {
    case 1:
      if (c === 99) return 'c';
      if (c === 118) return 'v';
      if (c === 116) return 't';
      if (c === 102) return 'f';
      if (c === 114) return 'r';
      break;
    case 2:
      if (c === 105 && buf.charCodeAt(s + 1) === 115) return 'is';
      break;
    case 3:
      if (c === 114 && buf.startsWith('row', s)) return 'row';
      break;
  }
  return buf.slice(s, e);
}

const ENTITY = /&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,7})|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Replaces the predefined and numeric character references; an unknown one is kept as it is. */
function decodeXml(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(ENTITY, (m, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name !== undefined) return NAMED[name]!;
    const cp = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\uFFFD';
  });
}

/** Character data: XML turns a literal CR LF or CR into LF (a CR written as &#13; stays). */
function decodeText(s: string): string {
  if (s.indexOf('\r') >= 0) s = s.replace(/\r\n?/g, '\n');
  return decodeXml(s);
}

/** Excel writes characters XML cannot hold (CR, control characters) as _xHHHH_; _x005F_ escapes the underscore. */
function decodeXstring(s: string): string {
  if (s.indexOf('_x') < 0) return s;
  return s.replace(/_x([0-9A-Fa-f]{4})_/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

async function parsePart(zip: ZipIndex, entry: ZipEntry, budget: Budget, maxBytes: number, h: XmlHandler): Promise<void> {
  const sc = new XmlScanner(h, entry.name);
  for await (const text of partText(zip, entry, budget, maxBytes)) sc.feed(text);
  sc.end();
}

// ---------------------------------------------------------------------------
// Workbook: sheets, relationships, styles, shared strings
// ---------------------------------------------------------------------------

interface Relationship { type: string; target: string }

interface Book {
  zip: ZipIndex;
  budget: Budget;
  sheets: (XlsxSheet & { part: string | null })[];
  date1904: boolean;
  styles: string | null;
  sharedStrings: string | null;
}

const tooMany = (part: string): XlsxError => new XlsxError('too_large', `The XLSX part ${part} lists too many items.`);

/** Relationships of a part, their targets resolved to part keys (external targets left out). */
async function readRels(zip: ZipIndex, budget: Budget, relsKey: string, sourceDir: string): Promise<Map<string, Relationship> | null> {
  const entry = zip.entries.get(relsKey);
  if (entry === undefined) return null;
  const rels = new Map<string, Relationship>();
  await parsePart(zip, entry, budget, MAX_META_PART_BYTES, {
    wantText: false,
    done: false,
    open(name, sc) {
      if (name !== 'Relationship' || sc.attr('TargetMode') === 'External') return;
      const id = sc.attr('Id');
      const target = sc.attr('Target');
      if (id === undefined || target === undefined) return;
      if (rels.size >= MAX_META_ITEMS) throw tooMany(entry.name);
      rels.set(id, { type: sc.attr('Type') ?? '', target: resolveTarget(sourceDir, target) });
    },
    close() {},
    text() {},
  });
  return rels;
}

function resolveTarget(dir: string, target: string): string {
  let t = target;
  if (t.includes('%')) {
    try { t = decodeURIComponent(t); } catch { /* kept as written */ }
  }
  const out: string[] = [];
  for (const seg of (t.startsWith('/') ? t : dir + '/' + t).split('/')) {
    if (seg === '..') out.pop();
    else if (seg !== '' && seg !== '.') out.push(seg);
  }
  return partKey(out.join('/'));
}

const dirOf = (key: string): string => key.slice(0, Math.max(0, key.lastIndexOf('/')));
const relsOf = (key: string): string => {
  const d = dirOf(key);
  return (d ? d + '/' : '') + '_rels/' + key.slice(key.lastIndexOf('/') + 1) + '.rels';
};
const relType = (rel: Relationship, kind: string): boolean => rel.type.endsWith('/' + kind);

async function openBook(file: string, opts: XlsxReadOptions): Promise<Book> {
  const zip = await readZipIndex(file);
  if (opts.chunkSize !== undefined) zip.chunk = opts.chunkSize;
  const budget: Budget = { left: opts.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED };
  const root = await readRels(zip, budget, '_rels/.rels', '');
  let bookKey = [...(root?.values() ?? [])].find((r) => relType(r, 'officeDocument'))?.target;
  if (bookKey === undefined && zip.entries.has('xl/workbook.xml')) bookKey = 'xl/workbook.xml';
  const bookEntry = bookKey === undefined ? undefined : zip.entries.get(bookKey);
  if (bookEntry === undefined) {
    const has = (k: string): boolean => zip.entries.has(k);
    if (has('xl/workbook.bin')) throw notXlsx('this is a binary .xlsb workbook; save it as .xlsx or CSV');
    if (has('mimetype') || has('content.xml')) throw notXlsx('this is an OpenDocument file (.ods); save it as .xlsx or CSV');
    if (has('word/document.xml')) throw notXlsx('this is a Word document');
    throw notXlsx('a ZIP archive without an Excel workbook in it');
  }
  const bookRels = await readRels(zip, budget, relsOf(bookKey!), dirOf(bookKey!)) ?? new Map<string, Relationship>();

  const sheets: Book['sheets'] = [];
  let date1904 = false;
  let inSheets = false;
  await parsePart(zip, bookEntry, budget, MAX_META_PART_BYTES, {
    wantText: false,
    done: false,
    open(name, sc, self) {
      if (name === 'sheets') inSheets = !self;
      else if (name === 'workbookPr') date1904 = /^(1|true)$/i.test(sc.attr('date1904') ?? '');
      else if (name === 'sheet' && inSheets) {
        if (sheets.length >= MAX_META_ITEMS) throw tooMany(bookEntry.name);
        const state = sc.attr('state');
        const rel = bookRels.get(sc.attr('id') ?? '');
        sheets.push({
          index: sheets.length,
          name: sc.attr('name') ?? `Sheet${sheets.length + 1}`,
          hidden: state === 'hidden' || state === 'veryHidden',
          part: rel?.target ?? null,
        });
      }
    },
    close(name) {
      if (name === 'sheets') { inSheets = false; this.done = true; }
    },
    text() {},
  });
  if (sheets.length === 0) throw corrupt('the workbook lists no sheets');
  const rels = [...bookRels.values()];
  return {
    zip, budget, sheets, date1904,
    styles: rels.find((r) => relType(r, 'styles'))?.target ?? null,
    sharedStrings: rels.find((r) => relType(r, 'sharedStrings'))?.target ?? null,
  };
}

/** The sheets of the workbook in their order (hidden ones included). */
export async function xlsxSheets(file: string): Promise<XlsxSheet[]> {
  const book = await openBook(file, {});
  return book.sheets.map(({ index, name, hidden }) => ({ index, name, hidden }));
}

function pickSheet(sheets: Book['sheets'], want: string | number | undefined): Book['sheets'][number] {
  const names = sheets.map((s) => s.name);
  const list = names.map((n) => `«${n}»`).join(', ');
  if (want === undefined) return sheets.find((s) => !s.hidden) ?? sheets[0]!;
  if (typeof want === 'number') {
    const s = Number.isInteger(want) ? sheets[want] : undefined;
    if (s === undefined) throw new XlsxError('sheet_not_found', `The workbook has no sheet number ${want} (counting from 0); its sheets: ${list}.`, names);
    return s;
  }
  const s = sheets.find((x) => x.name === want) ?? sheets.find((x) => x.name.trim().toLowerCase() === want.trim().toLowerCase());
  if (s === undefined) throw new XlsxError('sheet_not_found', `The workbook has no sheet «${want}»; its sheets: ${list}.`, names);
  return s;
}

// ---- styles: which cell formats are dates ----

/** How a number in a cell format shows: 0 number, 1 date, 2 date and time, 3 time only. */
type NumKind = 0 | 1 | 2 | 3;

function builtinKind(id: number): NumKind {
  if ((id >= 14 && id <= 17) || (id >= 27 && id <= 31) || (id >= 34 && id <= 36) || (id >= 50 && id <= 58)) return 1;
  if (id === 22) return 2;
  if ((id >= 18 && id <= 21) || id === 32 || id === 33 || (id >= 45 && id <= 47)) return 3;
  return 0;
}

/** Classifies a custom number format code by the date and time letters outside quotes, escapes and [brackets]. */
export function formatKind(code: string): NumKind {
  const s = (code.split(';')[0] ?? '')
    .replace(/"[^"]*"|\\.|[_*]./g, '')
    .replace(/\[(?![hms]+\])[^\]]*\]/gi, '')
    .replace(/general/gi, '')
    .toLowerCase();
  const time = /[hs]/.test(s);
  const date = /[yd]/.test(s) || (!time && s.includes('m'));
  return date ? (time ? 2 : 1) : time ? 3 : 0;
}

async function readStyles(book: Book): Promise<Uint8Array> {
  const entry = book.styles === null ? undefined : book.zip.entries.get(book.styles);
  if (entry === undefined) return new Uint8Array(0);
  const custom = new Map<number, string>();
  const xfs: number[] = [];
  let inXfs = false;
  await parsePart(book.zip, entry, book.budget, MAX_META_PART_BYTES, {
    wantText: false,
    done: false,
    open(name, sc, self) {
      if (name === 'numFmt') {
        if (custom.size >= MAX_META_ITEMS) throw tooMany(entry.name);
        custom.set(Number(sc.attr('numFmtId')), sc.attr('formatCode') ?? '');
      } else if (name === 'cellXfs') inXfs = !self;
      else if (name === 'xf' && inXfs) {
        if (xfs.length >= MAX_META_ITEMS) throw tooMany(entry.name);
        xfs.push(Number(sc.attr('numFmtId') ?? 0));
      }
    },
    close(name) {
      if (name === 'cellXfs') inXfs = false;
    },
    text() {},
  });
  return Uint8Array.from(xfs, (id) => {
    const code = custom.get(id);
    return code !== undefined ? formatKind(code) : builtinKind(id);
  });
}

// ---- shared strings ----

/** A copy of `s` that does not keep alive the decoded chunk it was sliced from (V8 slices of ≥ 13 chars do). */
const own = (s: string): string => (s.length < 13 ? s : (' ' + s).slice(1));

async function readSharedStrings(book: Book, maxBytes: number): Promise<string[]> {
  const entry = book.sharedStrings === null ? undefined : book.zip.entries.get(book.sharedStrings);
  if (entry === undefined) return [];
  const table: string[] = [];
  let bytes = 0;
  let cur = '';
  let inSi = false;
  let inRPh = false;
  await parsePart(book.zip, entry, book.budget, Infinity, {
    wantText: false,
    done: false,
    open(name, _sc, self) {
      if (self) return;
      if (name === 'si') { inSi = true; cur = ''; }
      else if (name === 't') this.wantText = inSi && !inRPh;
      else if (name === 'rPh') inRPh = true;
    },
    close(name) {
      if (name === 't') this.wantText = false;
      else if (name === 'rPh') inRPh = false;
      else if (name === 'si') {
        inSi = false;
        bytes += 32 + 2 * cur.length; // a rough upper bound of a V8 string's footprint
        if (bytes > maxBytes) {
          throw new XlsxError('too_large', `The XLSX shared strings table needs more than ${fmtBytes(maxBytes)} of memory.`);
        }
        table.push(own(decodeXstring(cur)));
      }
    },
    text(s) { cur = cur === '' ? s : cur + s; },
  });
  return table;
}

// ---------------------------------------------------------------------------
// Cell values
// ---------------------------------------------------------------------------

/** A plain decimal for a number JavaScript would write with an exponent ('1e-7' → '0.0000001'). */
function withoutExponent(s: string): string {
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m === null) return s;
  const digits = m[2]! + (m[3] ?? '');
  const exp = Number(m[4]);
  if (exp < 0) return m[1] + '0.' + '0'.repeat(-exp - 1) + digits;
  const point = exp + 1;
  return m[1] + (digits.length <= point ? digits + '0'.repeat(point - digits.length) : digits.slice(0, point) + '.' + digits.slice(point));
}

/** Integers keep all their digits; other numbers are rounded to the 15 significant digits Excel shows. */
export function numberText(n: number): string {
  if (n === 0) return '0';
  if (Number.isInteger(n)) return Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
  return withoutExponent(String(Number(n.toPrecision(15))));
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;
/** Day 0 of the serial numbers in days from 1970-01-01: 1899-12-30 makes serials from 61 (1900-03-01) right despite the phantom 1900-02-29. */
const EPOCH_1900_DAYS = Date.UTC(1899, 11, 30) / 86_400_000;
const EPOCH_1904_DAYS = Date.UTC(1904, 0, 1) / 86_400_000;

/** 'YYYY-MM-DD' of a day counted from 1970-01-01 (H. Hinnant's civil_from_days: no Date object per cell). */
function civilDate(z: number): string {
  z += 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return (yoe + era * 400 + (m <= 2 ? 1 : 0)) + '-' + pad2(m) + '-' + pad2(d);
}
/** 9999-12-31, the last day Excel shows. */
const MAX_SERIAL = 2_958_465;

/** The text of a date serial number under a date format, or null when Excel would show no date. */
export function serialText(serial: number, kind: NumKind, date1904: boolean): string | null {
  if (!(serial >= 0) || serial >= MAX_SERIAL + 1) return null;
  const secs = Math.round(serial * 86_400);
  let days = Math.floor(secs / 86_400);
  const tod = secs - days * 86_400;
  const time = pad2(Math.floor(tod / 3600)) + ':' + pad2(Math.floor(tod / 60) % 60) + ':' + pad2(tod % 60);
  if (kind === 3 && days === 0) return time;
  let date: string;
  if (!date1904 && days === 60) date = '1900-02-29';
  else {
    if (!date1904 && days < 60) days++;
    date = civilDate(days + (date1904 ? EPOCH_1904_DAYS : EPOCH_1900_DAYS));
  }
  return kind === 1 || tod === 0 ? date : date + ' ' + time;
}

/** A t="d" cell: ISO 8601 date, date-time or time. */
function isoCellText(v: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})?(?:T?(\d{2}:\d{2}(?::\d{2})?))?/.exec(v.trim());
  if (m === null || (m[1] === undefined && m[2] === undefined)) return v.trim();
  const time = m[2] === undefined ? '' : m[2].length === 5 ? m[2] + ':00' : m[2];
  if (m[1] === undefined) return time;
  return time === '' || time === '00:00:00' ? m[1] : m[1] + ' ' + time;
}

// ---------------------------------------------------------------------------
// Worksheet
// ---------------------------------------------------------------------------

/** The t attribute of a cell, as a constant for the known types. */
function cellType(buf: string, s: number, e: number): string {
  const c = buf.charCodeAt(s);
  if (e - s === 1) {
    if (c === 115) return 's';
    if (c === 110) return 'n';
    if (c === 98) return 'b';
  } else if (e - s === 9 && c === 105 && buf.startsWith('inlineStr', s)) return 'inlineStr';
  return buf.slice(s, e);
}

class SheetHandler implements XmlHandler {
  wantText = false;
  done = false;
  /** Rows complete and not yet yielded. */
  rows: CsvRow[] = [];
  pendingCells = 0;
  rowCount = 0;
  sawData = false;
  private readonly sst: string[];
  private readonly styles: Uint8Array;
  private readonly date1904: boolean;
  private readonly part: string;
  private inData = false;
  private inRow = false;
  private line = 0;
  private cells: string[] = [];
  private width = -1;
  private next = 0;
  private inCell = false;
  private col = 0;
  private type = '';
  private style = 0;
  private inIs = false;
  private inRPh = false;
  private value = '';
  private inline = '';
  private capture: 0 | 1 | 2 = 0; // 1: <v>, 2: <t> of an inline string

  constructor(sst: string[], styles: Uint8Array, date1904: boolean, part: string) {
    this.sst = sst;
    this.styles = styles;
    this.date1904 = date1904;
    this.part = part;
  }

  open(name: string, sc: XmlScanner, self: boolean): void {
    switch (name) {
      case 'c': {
        if (!this.inRow) return;
        const buf = sc.buf;
        let col = this.next;
        const r = sc.find('r');
        if (r >= 0) {
          col = 0;
          const end = sc.valueEnd(r);
          for (let i = sc.valueStart(r); i < end; i++) {
            const ch = buf.charCodeAt(i) | 0x20; // lower case
            if (ch < 97 || ch > 122) break;
            col = col * 26 + ch - 96;
            if (col > MAX_COLUMNS) break;
          }
          col--;
          if (col < 0) col = this.next; // a reference without letters: placed by order
        }
        if (col >= MAX_COLUMNS) throw corrupt(`a cell of ${this.part} lies beyond column XFD (row ${this.line})`);
        this.col = col;
        this.next = col + 1;
        if (self) return;
        const t = sc.find('t');
        this.type = t < 0 ? '' : cellType(buf, sc.valueStart(t), sc.valueEnd(t));
        const s = sc.find('s');
        let style = 0;
        if (s >= 0) {
          const end = sc.valueEnd(s);
          for (let i = sc.valueStart(s); i < end && style < 1e7; i++) style = style * 10 + buf.charCodeAt(i) - 48;
        }
        this.style = style;
        this.inCell = true;
        this.value = '';
        this.inline = '';
        return;
      }
      case 'v':
        if (this.inCell && !self) { this.capture = 1; this.wantText = true; }
        return;
      case 't':
        if (this.inIs && !this.inRPh && !self) { this.capture = 2; this.wantText = true; }
        return;
      case 'is':
        this.inIs = this.inCell && !self;
        return;
      case 'rPh':
        this.inRPh = !self;
        return;
      case 'row': {
        if (!this.inData) return;
        const r = sc.find('r');
        let line = 0;
        if (r >= 0) {
          const end = sc.valueEnd(r);
          for (let i = sc.valueStart(r); i < end && line < 1e9; i++) line = line * 10 + sc.buf.charCodeAt(i) - 48;
        }
        this.line = r >= 0 && line > 0 ? line : this.line + 1;
        if (self) return;
        this.inRow = true;
        this.next = 0;
        this.cells = [];
        return;
      }
      case 'sheetData':
        this.sawData = true;
        if (self) this.done = true;
        else this.inData = true;
        return;
    }
  }

  close(name: string): void {
    switch (name) {
      case 'v':
      case 't':
        this.capture = 0;
        this.wantText = false;
        return;
      case 'is':
        this.inIs = false;
        return;
      case 'rPh':
        this.inRPh = false;
        return;
      case 'c': {
        if (!this.inCell) return;
        this.inCell = false;
        const v = this.cellValue();
        if (v === '') return;
        const cells = this.cells;
        const col = this.col;
        while (cells.length < col) cells.push('');
        cells[col] = v;
        return;
      }
      case 'row': {
        if (!this.inRow) return;
        this.inRow = false;
        const cells = this.cells;
        if (cells.length === 0) return;
        if (this.width < 0) this.width = cells.length;
        while (cells.length < this.width) cells.push('');
        this.rows.push({ line: this.line, cells });
        this.pendingCells += cells.length;
        this.rowCount++;
        return;
      }
      case 'sheetData':
        this.inData = false;
        this.done = true;
        return;
    }
  }

  text(s: string): void {
    if (this.capture === 1) this.value = this.value === '' ? s : this.value + s;
    else if (this.capture === 2) this.inline = this.inline === '' ? s : this.inline + s;
  }

  end(): void {
    if (this.inData) throw corrupt(`the sheet ${this.part} ends before its last row`);
  }

  private cellValue(): string {
    const v = this.value;
    switch (this.type) {
      case 's': {
        if (v === '') return '';
        const i = Number(v);
        const s = this.sst[i];
        if (s === undefined) throw corrupt(`a cell in row ${this.line} refers to shared string ${v.trim()}, the table has ${this.sst.length}`);
        return s;
      }
      case 'inlineStr':
        return decodeXstring(this.inline !== '' ? this.inline : v);
      case 'str':
        return decodeXstring(v);
      case 'b': {
        const b = v.trim();
        return b === '1' ? 'true' : b === '0' ? 'false' : b;
      }
      case 'e':
        return '';
      case 'd':
        return isoCellText(v);
      default: {
        if (v === '') return this.inline === '' ? '' : decodeXstring(this.inline);
        const kind = this.styles[this.style] ?? 0;
        // Fast path: a short plain integer is already its own shortest text.
        if (kind === 0 && v.length <= 15 && /^-?[1-9]\d*$/.test(v)) return v;
        const n = Number(v);
        if (Number.isNaN(n) || v.trim() === '') return v.trim();
        if (kind !== 0) {
          const d = serialText(n, kind as NumKind, this.date1904);
          if (d !== null) return d;
        }
        return numberText(n);
      }
    }
  }
}

/**
 * Rows of one sheet (default: the first visible), the header included as the first row, in batches.
 * `line` is the row number in the sheet as Excel shows it; empty rows are skipped; cells are strings,
 * missing ones ''. Throws XlsxError (after the rows read before the problem, if any); file-system errors
 * (ENOENT…) are passed through as they are.
 */
export async function* readXlsxBatches(file: string, opts: XlsxReadOptions = {}): AsyncGenerator<CsvRow[], void, void> {
  const book = await openBook(file, opts);
  const want = opts.choose ? opts.choose(book.sheets.map(({ index, name, hidden }) => ({ index, name, hidden }))) : opts.sheet;
  const sheet = pickSheet(book.sheets, want);
  const entry = sheet.part === null ? undefined : book.zip.entries.get(sheet.part);
  if (entry === undefined) throw corrupt(`the part of the sheet «${sheet.name}» is missing`);
  const styles = await readStyles(book);
  const sst = await readSharedStrings(book, opts.maxSharedStringsBytes ?? DEFAULT_MAX_SST_BYTES);
  const h = new SheetHandler(sst, styles, book.date1904, entry.name);
  const sc = new XmlScanner(h, entry.name);
  let failure: unknown = null;
  try {
    // Read to the end even after </sheetData>, so that the part's checksum is verified.
    for await (const text of partText(book.zip, entry, book.budget, Infinity)) {
      sc.feed(text);
      if (h.rows.length >= BATCH_ROWS || h.pendingCells >= BATCH_CELLS) {
        const batch = h.rows;
        h.rows = [];
        h.pendingCells = 0;
        yield batch;
      }
    }
    sc.end();
    h.end();
  } catch (err) {
    failure = err;
  }
  // The rows complete before a failure come first, then the error (as the CSV reader does).
  if (h.rows.length > 0) yield h.rows;
  if (failure !== null) throw failure;
  if (h.rowCount === 0) throw new XlsxError('empty_sheet', `The sheet «${sheet.name}» has no rows with data.`);
}

function fmtBytes(n: number): string {
  return n >= 2 ** 30 ? `${+(n / 2 ** 30).toFixed(1)} GiB` : n >= 2 ** 20 ? `${+(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`;
}
