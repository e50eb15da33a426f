import type { Options as CsvOptions } from 'csv-parse';
import { parse as parseCsv } from 'csv-parse/sync';
import { CsvDelimiter, detectDelimiter, headerLineComplete } from './csv-delimiter';
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

/**
 * CSV rows with the offset where the next one starts. `prelude` (the header row, when reading
 * from the middle of the file) is parsed first so that BOM and record-delimiter detection match
 * the scan; offsets count it, the caller maps them back.
 */
export async function* csvItems(body: AsyncIterable<Buffer>, max: number, prelude?: Buffer): AsyncGenerator<CsvItem> {
  // The splitter needs the field delimiter before the header's first quote, so the first bytes
  // wait until the header line is whole.
  let splitter: CsvRecordSplitter | undefined;
  let delimiter: CsvDelimiter = ',';
  let head: Buffer[] = [];
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
      if (!headerLineComplete(start, end)) {
        head = [start];
        return;
      }
      head = [];
      delimiter = detectDelimiter(start);
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
