import { Oversized, prefixOf } from './records';

/**
 * Finds CSV record boundaries without parsing fields, so that a record larger than the limit
 * (an unclosed quote on line 2 of a huge file, a runaway field) is counted and dropped instead
 * of being assembled by the parser. It follows csv-parse's rules for the options partflow uses
 * (`"` quotes and escapes, the file's field delimiter (csv-delimiter.ts), UTF-8 BOM), so the
 * boundaries are the parser's; csv-parse then parses each run of complete, bounded records.
 * Outside quotes, each of \r\n, \n and \r ends a record, as in Python's csv module: a file
 * whose header ends in \n and rows in \r\n (an export appended to by another tool) would
 * otherwise get a stray \r in every last field, or rows run together.
 */
export type CsvPiece = { oversized?: false; start: number; buf: Buffer } | Oversized;

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

const enum S { FieldStart, Field, Quoted }

export class CsvRecordSplitter {
  private state = S.FieldStart;
  /** Offset of the next byte to process. */
  private offset: number;
  /** Bytes held back until the next push because deciding on them needs the bytes after them. */
  private tail: Buffer | null = null;
  /** Processed bytes of the current record from earlier pushes. */
  private held: Buffer[] = [];
  private recStart: number;
  private discarding = false;
  private prefix: Buffer = EMPTY;
  private bomChecked: boolean;

  private readonly delim: number;

  constructor(readonly max: number, base = 0, delimiter = ',') {
    this.delim = delimiter.charCodeAt(0);
    this.offset = this.recStart = base;
    this.bomChecked = base > 0;
  }

  push(chunk: Buffer): CsvPiece[] {
    return this.process(chunk, false);
  }

  end(): CsvPiece[] {
    return this.process(EMPTY, true);
  }

  private process(chunk: Buffer, end: boolean): CsvPiece[] {
    const buf = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    this.tail = null;
    const base = this.offset;
    const len = buf.length;
    const out: CsvPiece[] = [];
    let p = 0;
    if (!this.bomChecked) {
      if (len < 3 && !end) {
        this.tail = buf;
        return out;
      }
      this.bomChecked = true;
      if (len >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) p = 3;
    }
    // Complete records not yet handed out: `regionHeld` (from earlier pushes), then buf from `regionFrom`.
    let regionStart = this.recStart;
    let regionHeld = this.discarding ? [] : this.held;
    let regionFrom = 0;
    const flush = (upTo: number) => {
      if (upTo <= regionStart) return;
      const own = buf.subarray(regionFrom, upTo - base);
      out.push({ start: regionStart, buf: regionHeld.length ? Buffer.concat([...regionHeld, own]) : own });
      regionHeld = [];
      regionFrom = upTo - base;
      regionStart = upTo;
    };
    const boundary = (q: number) => {
      const at = base + q;
      if (this.discarding || at - this.recStart > this.max) {
        flush(this.recStart);
        const prefix = this.discarding ? this.prefix
          : prefixOf(this.recStart < base ? [...this.held, buf.subarray(0, q)] : [buf.subarray(this.recStart - base, q)]);
        out.push({ oversized: true, start: this.recStart, end: at, prefix, terminated: true });
        this.discarding = false;
        this.prefix = EMPTY;
        regionHeld = [];
        regionFrom = q;
        regionStart = at;
      }
      this.held = [];
      this.recStart = at;
      this.state = S.FieldStart;
    };
    let stop = len;
    let state = this.state;
    while (p < len) {
      if (state === S.Quoted) {
        const q = buf.indexOf(QUOTE, p);
        if (q < 0) {
          p = len;
          break;
        }
        p = q;
        if (p + 1 >= len) {
          if (!end) {
            stop = p;
            break;
          }
          state = S.Field;
          p++;
          continue;
        }
        const n = buf[p + 1];
        // A doubled quote is an escaped quote; a quote before a delimiter closes the field;
        // any other quote is kept as text (csv-parse reports it, and the row becomes a reject).
        if (n === QUOTE) {
          p += 2;
          continue;
        }
        if (n === this.delim || n === LF || n === CR) state = S.Field;
        p++;
        continue;
      }
      const c = buf[p];
      if (c === this.delim) {
        state = S.FieldStart;
        p++;
        continue;
      }
      if (c === QUOTE) {
        state = state === S.FieldStart ? S.Quoted : S.Field;
        p++;
        continue;
      }
      if (c === LF || c === CR) {
        // A CR ends the record with the LF after it, if one follows: wait for the next byte.
        if (c === CR && p + 1 >= len && !end) {
          stop = p;
          break;
        }
        p += c === CR && p + 1 < len && buf[p + 1] === LF ? 2 : 1;
        this.state = state;
        boundary(p);
        state = S.FieldStart;
        continue;
      }
      state = S.Field;
      p++;
    }
    this.state = state;
    flush(this.recStart);
    // The current, incomplete record: keep it (or, past the limit, only its prefix).
    if (!this.discarding) {
      const own = buf.subarray(Math.max(0, this.recStart - base), stop);
      this.held = this.recStart < base ? [...this.held, own] : own.length ? [own] : [];
      if (base + stop - this.recStart > this.max) {
        this.discarding = true;
        this.prefix = prefixOf(this.held);
        this.held = [];
      }
    }
    this.tail = stop < len ? buf.subarray(stop) : null;
    this.offset = base + stop;
    if (end) {
      const at = this.offset;
      if (this.discarding) out.push({ oversized: true, start: this.recStart, end: at, prefix: this.prefix, terminated: false });
      else if (at > this.recStart) out.push({ start: this.recStart, buf: this.held.length === 1 ? this.held[0] : Buffer.concat(this.held) });
      this.held = [];
      this.discarding = false;
      this.recStart = at;
    }
    return out;
  }
}

/** csv-parse's record_delimiter for the same rule: \r\n before \r, so that it is one ending. */
export const RECORD_DELIMITERS = ['\r\n', '\n', '\r'];

/**
 * Where the record starting at `from` in `buf` (complete records, as a CsvPiece holds) ends, by
 * the splitter's rules above: after its line ending, or at the end of `buf`. It tells how far a
 * row csv-parse rejects runs, which the parser does not say: a stray quote inside a quoted field
 * does not close it, so such a row runs on to a quote before a delimiter or line end, as the
 * splitter's does. `from` is past any BOM.
 */
export function recordEnd(buf: Buffer, from: number, delimiter: string): number {
  const delim = delimiter.charCodeAt(0);
  const len = buf.length;
  let p = from;
  let state = S.FieldStart;
  while (p < len) {
    if (state === S.Quoted) {
      const q = buf.indexOf(QUOTE, p);
      if (q < 0 || q + 1 >= len) return len;
      const n = buf[q + 1];
      if (n === QUOTE) {
        p = q + 2;
        continue;
      }
      if (n === delim || n === LF || n === CR) state = S.Field;
      p = q + 1;
      continue;
    }
    const c = buf[p];
    if (c === LF || c === CR) return p + (c === CR && p + 1 < len && buf[p + 1] === LF ? 2 : 1);
    state = c === delim ? S.FieldStart : c === QUOTE && state === S.FieldStart ? S.Quoted : S.Field;
    p++;
  }
  return len;
}
