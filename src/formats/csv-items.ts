import type { Options as CsvOptions } from 'csv-parse';
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import { CsvDelimiter, headerDelimiter, headerLineComplete, sepLine, sniffComplete, sniffDelimiter } from './csv-delimiter';
import { CsvPiece, CsvRecordSplitter, RECORD_DELIMITERS, recordEnd } from './csv-records';
import type { Oversized } from './records';
import { notUtf8File, utf8Text } from './utf8';

export const CSV_OPTIONS: CsvOptions = {
  info: true,
  raw: true,
  relax_column_count: true,
  skip_empty_lines: true,
};

export type CsvItem =
  | { kind: 'row'; record: string[]; raw: string; end: number }
  /** `reason` is the reject's; `notUtf8At` (the bad byte's offset) or `parseError` is what went wrong. */
  | { kind: 'bad'; reason: string; raw: string; end: number; notUtf8At?: number; parseError?: string }
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
      for (const item of parsePiece(piece, delimiter)) {
        // The `sep=` line is the file's first record: not a row.
        if (skipSepLine) {
          skipSepLine = false;
          continue;
        }
        yield item;
      }
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

/**
 * The rows of one piece of complete records. csv-parse stops at a row it cannot parse (a stray
 * quote: `TV 55" screen`, `"say "hi" now"`): that row becomes one reject holding all its bytes,
 * up to where the splitter ends it (recordEnd), and parsing starts again after it. csv-parse's
 * own skipping would resume inside the row, once per bad quote, with only the text before it.
 */
function* parsePiece(piece: Extract<CsvPiece, { oversized?: false }>, delimiter: CsvDelimiter): Generator<CsvItem> {
  const { buf } = piece;
  let at = 0;
  while (at < buf.length) {
    const items: CsvItem[] = [];
    const from = at;
    let rowStart = at;
    try {
      parseCsv(from ? buf.subarray(from) : buf, {
        ...CSV_OPTIONS,
        delimiter,
        bom: piece.start === 0 && from === 0,
        record_delimiter: RECORD_DELIMITERS,
        on_record: (r: { record: string[]; raw: string; info: { bytes_records: number } }) => {
          const start = rowStart;
          rowStart = from + r.info.bytes_records;
          // Only a row holding U+FFFD may hide invalid bytes: the check stays off the common path.
          const decoded = r.raw.includes('\uFFFD') ? utf8Text(buf.subarray(start, rowStart), 'CSV record') : undefined;
          if (decoded && !decoded.ok) {
            items.push({ kind: 'bad', reason: decoded.reason, raw: rowText(decoded.raw), end: piece.start + rowStart, notUtf8At: piece.start + start + decoded.at });
          } else items.push({ kind: 'row', record: r.record, raw: rowText(r.raw), end: piece.start + rowStart });
          return null;
        },
      } as unknown as CsvOptions);
      at = buf.length;
    } catch (err) {
      if (!(err instanceof CsvError)) throw err;
      items.push(badRow(piece, rowStart, delimiter, err));
      at = (items[items.length - 1] as { end: number }).end - piece.start;
    }
    yield* items;
  }
}

/** The row csv-parse failed on, which starts at `from` (after any empty lines it skipped). */
function badRow(piece: Extract<CsvPiece, { oversized?: false }>, from: number, delimiter: CsvDelimiter, err: CsvError): CsvItem {
  const { buf } = piece;
  let start = from;
  if (piece.start === 0 && start === 0 && buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
  while (buf[start] === 0x0a || buf[start] === 0x0d) start++;
  const end = recordEnd(buf, start, delimiter);
  const decoded = utf8Text(buf.subarray(start, end), 'CSV record');
  const raw = rowText(decoded.ok ? decoded.text : decoded.raw);
  // csv-parse counts lines from the start of what it parsed, which would mislead: the reject has the row's position.
  let cause = err.message.replace(/ at line \d+/g, '');
  const lines = raw.split(/\r\n|\n|\r/).length;
  // Say how far the row runs when it takes in more than its line: the lines after it are in the reject, not lost.
  if (err.code === 'CSV_QUOTE_NOT_CLOSED') cause += `; the row runs to the end of the file: ${lines} line${lines === 1 ? '' : 's'}`;
  else if (lines > 1) cause += `; the row runs over ${lines} lines, as a field that opens with a quote ends only at a quote before the delimiter or a line end`;
  return { kind: 'bad', reason: `unparseable CSV row: ${cause}`, raw, end: piece.start + end, parseError: cause };
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
