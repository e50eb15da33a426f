import type { Options as CsvOptions } from 'csv-parse';
import { parse as parseCsv } from 'csv-parse/sync';
import { CsvDelimiter, headerDelimiter, headerLineComplete, sepLine, sniffComplete, sniffDelimiter } from './csv-delimiter';
import { CsvPiece, CsvRecordSplitter, RECORD_DELIMITERS } from './csv-records';
import type { Oversized } from './records';
import { notUtf8File, utf8Text } from './utf8';

export const CSV_OPTIONS: CsvOptions = {
  info: true,
  raw: true,
  relax_column_count: true,
  skip_records_with_error: true,
  skip_empty_lines: true,
};

export type CsvItem =
  | { kind: 'row'; record: string[]; raw: string; end: number }
  /** `reason` is the reject's; `notUtf8At` (the bad byte's offset) or `parseError` is what went wrong. */
  | { kind: 'bad'; reason: string; raw: string; notUtf8At?: number; parseError?: string }
  | { kind: 'oversized'; o: Oversized };

export interface CsvItemsOptions {
  /** The field delimiter the scan chose (see csv-delimiter.ts); by default the header's rule. */
  delimiter?: CsvDelimiter;
  /** Reading from the file's start with no delimiter given: choose it from the header and first rows. */
  sniff?: boolean;
  /** Told the delimiter once chosen, and the one the header's rule gives. */
  onDelimiter?: (chosen: CsvDelimiter, byHeader: CsvDelimiter) => void;
}

/**
 * CSV rows with the offset where the next one starts. `prelude` (the header bytes, when reading
 * from the middle of the file) is parsed first so that BOM and record-delimiter detection match
 * the scan; offsets count it, the caller maps them back. A leading `sep=X` line is not a row.
 */
export async function* csvItems(body: AsyncIterable<Buffer>, max: number, prelude?: Buffer, opts: CsvItemsOptions = {}): AsyncGenerator<CsvItem> {
  // The splitter needs the field delimiter before the header's first quote, so the first bytes
  // wait until the header line is whole (and, to sniff, the first rows too).
  let splitter: CsvRecordSplitter | undefined;
  let delimiter: CsvDelimiter = ',';
  let head: Buffer[] = [];
  let skipSepLine = false;
  const parsePieces = function* (pieces: CsvPiece[]): Generator<CsvItem> {
    for (const piece of pieces) {
      if (piece.oversized) {
        yield { kind: 'oversized', o: piece };
        continue;
      }
      const items: CsvItem[] = [];
      let rowStart = 0;
      parseCsv(piece.buf, {
        ...CSV_OPTIONS,
        delimiter,
        bom: piece.start === 0,
        record_delimiter: RECORD_DELIMITERS,
        on_record: (r: { record: string[]; raw: string; info: { bytes_records: number } }) => {
          const from = rowStart;
          rowStart = r.info.bytes_records;
          if (skipSepLine) {
            skipSepLine = false;
            return null;
          }
          // Only a row holding U+FFFD may hide invalid bytes: the check stays off the common path.
          const decoded = r.raw.includes('\uFFFD') ? utf8Text(piece.buf.subarray(from, rowStart), 'CSV record') : undefined;
          if (decoded && !decoded.ok) items.push({ kind: 'bad', reason: decoded.reason, raw: rowText(decoded.raw), notUtf8At: piece.start + from + decoded.at });
          else items.push({ kind: 'row', record: r.record, raw: rowText(r.raw), end: piece.start + r.info.bytes_records });
          return null;
        },
        on_skip: (err: Error | undefined, raw: string | undefined) => {
          // csv-parse counts lines from the start of the piece it parsed, which would mislead: the reject has the record's position.
          const reason = (err?.message ?? 'unknown error').replace(/ at line \d+/g, '');
          items.push({ kind: 'bad', reason: `unparseable CSV row: ${reason}`, raw: raw ?? '', parseError: reason });
          return undefined;
        },
      } as unknown as CsvOptions);
      yield* items;
    }
  };
  const feed = function* (c: Buffer, end: boolean): Generator<CsvItem> {
    if (!splitter) {
      head.push(c);
      const start = head.length === 1 ? c : Buffer.concat(head);
      if (!(opts.sniff && !opts.delimiter ? sniffComplete(start, end) : headerLineComplete(start, end))) {
        head = [start];
        return;
      }
      head = [];
      const byHeader = headerDelimiter(start);
      delimiter = opts.delimiter ?? (opts.sniff ? sniffDelimiter(start, end) : byHeader);
      opts.onDelimiter?.(delimiter, byHeader);
      // Excel's `sep=` line names the delimiter and is not data. A plan made before it was
      // known took it as the header row, its header bytes ending there: it reads as it did.
      const sep = sepLine(start);
      skipSepLine = sep !== undefined && (!prelude || prelude.length > sep.end);
      splitter = new CsvRecordSplitter(max, 0, delimiter);
      c = start;
    }
    yield* parsePieces(splitter.push(c));
    if (end) yield* parsePieces(splitter.end());
  };
  if (prelude) yield* feed(prelude, false);
  for await (const c of body) yield* feed(c as Buffer, false);
  yield* feed(Buffer.alloc(0), true);
}

/** Why a file whose header row is bad is not read at all. */
export function badHeader(item: Extract<CsvItem, { kind: 'bad' }>): string {
  if (item.notUtf8At !== undefined) return `the header row is ${notUtf8File(item.notUtf8At)}`;
  return `the header row cannot be parsed (${item.parseError ?? item.reason}); it names every column, so the file is not read`;
}

/**
 * A row's text as a reject keeps it: csv-parse's raw text ends with the row's line ending and
 * starts with the empty lines it skipped before the row, neither of which is part of the record
 * (a row cannot start with a line break: a quoted one starts with its quote).
 */
function rowText(raw: string): string {
  return raw.replace(/^[\r\n]+/, '').replace(/(?:\r\n|\n|\r)$/, '');
}
