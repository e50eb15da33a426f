/**
 * The field delimiter of a CSV file. An Excel `sep=X` first line names it (and is not data).
 * Otherwise a scan from the file's start looks at the header and the first rows together: the
 * header's rule (below) unless it splits them unevenly and another candidate splits every one
 * into the same number of fields (the most fields wins; ties keep the header's rule's order).
 * The header's rule: comma when the header has one, otherwise the most frequent of `;`, tab and
 * `|` outside quotes, as European and spreadsheet exports use; comma when there is none (a
 * one-column file). Chunk reads use the header's rule unless the plan records the scan's choice
 * (only when it differs), so plans written before the rows counted read as they did.
 */
export type CsvDelimiter = ',' | ';' | '\t' | '|';

const OTHERS: CsvDelimiter[] = [';', '\t', '|'];
const ALL: CsvDelimiter[] = [',', ...OTHERS];
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Bytes of a file's start enough to hold its header line; longer headers are cut there. */
export const DELIMITER_SNIFF_BYTES = 64 * 1024;
/** Rows after the header the scan weighs with it. */
export const DELIMITER_SNIFF_ROWS = 10;

/** A leading `sep=X` line (Excel's): its delimiter and where the line after it starts. */
export function sepLine(head: Buffer): { delimiter: CsvDelimiter; end: number } | undefined {
  const i = headerStart(head);
  if (head.toString('latin1', i, i + 4).toLowerCase() !== 'sep=') return undefined;
  const d = String.fromCharCode(head[i + 4]) as CsvDelimiter;
  if (!ALL.includes(d)) return undefined;
  let end = i + 5;
  if (head[end] === CR) end++;
  else if (head[end] !== LF) return undefined;
  if (head[end] === LF) end++;
  return { delimiter: d, end };
}

/** The delimiter by the header line alone (or a `sep=` line): how chunk reads of a plan without one decide. */
export function headerDelimiter(head: Buffer): CsvDelimiter {
  const sep = sepLine(head);
  if (sep) return sep.delimiter;
  const [header] = lineCounts(head, 1, true);
  return byHeader(header ?? new Map());
}

/**
 * The delimiter from the header and up to DELIMITER_SNIFF_ROWS rows after it, all within the
 * first DELIMITER_SNIFF_BYTES: only those, so that however the bytes arrive the choice is the same.
 * `end`: `head` is the whole file.
 */
export function sniffDelimiter(head: Buffer, end: boolean): CsvDelimiter {
  const sep = sepLine(head);
  if (sep) return sep.delimiter;
  const [header, ...rows] = lineCounts(head, 1 + DELIMITER_SNIFF_ROWS, end && head.length < DELIMITER_SNIFF_BYTES);
  if (!header) return ',';
  const rule = byHeader(header);
  if (rows.length === 0) return rule;
  const fields = (d: CsvDelimiter) => {
    const n = header.get(d.charCodeAt(0)) ?? 0;
    return n > 0 && rows.every((r) => (r.get(d.charCodeAt(0)) ?? 0) === n) ? n + 1 : 0;
  };
  // The header's rule comes first in `preference`: it stays unless another splits into more.
  let best = rule;
  let most = 0;
  for (const d of preference(header)) {
    if (fields(d) > most) [best, most] = [d, fields(d)];
  }
  return best;
}

/** Whether the scan has seen enough of the file's start to choose (see sniffDelimiter). */
export function sniffComplete(head: Buffer, end: boolean): boolean {
  if (end || head.length >= DELIMITER_SNIFF_BYTES) return true;
  if (sepLine(head)) return true;
  return lineCounts(head, 1 + DELIMITER_SNIFF_ROWS, false).length === 1 + DELIMITER_SNIFF_ROWS;
}

/** Whether `head` holds the whole header line (or all there is): then the delimiter can be told. */
export function headerLineComplete(head: Buffer, end: boolean): boolean {
  if (end || head.length >= DELIMITER_SNIFF_BYTES) return true;
  return lineCounts(head, 1, false).length === 1;
}

/** The header's rule: comma when it has one, else the most frequent other, else comma. */
function byHeader(header: Map<number, number>): CsvDelimiter {
  return preference(header)[0];
}

/** Candidates in the order the header's rule ranks them. */
function preference(header: Map<number, number>): CsvDelimiter[] {
  const n = (d: CsvDelimiter) => header.get(d.charCodeAt(0)) ?? 0;
  if (n(',') > 0) return [',', ...OTHERS.filter((d) => n(d) > 0).sort((a, b) => n(b) - n(a))];
  return [...OTHERS.filter((d) => n(d) > 0).sort((a, b) => n(b) - n(a)), ','];
}

/**
 * Bytes outside quotes of each of the first `max` non-blank lines (a quoted line break does not
 * end one), never past the sniff limit; a last line with no line break counts only when `whole`.
 */
function lineCounts(head: Buffer, max: number, whole: boolean): Map<number, number>[] {
  const out: Map<number, number>[] = [];
  let counts = new Map<number, number>();
  let empty = true;
  let quoted = false;
  // Blank lines are skipped, as the parser skips them; a BOM is not part of the header.
  const limit = Math.min(head.length, DELIMITER_SNIFF_BYTES);
  for (let i = headerStart(head); i < limit && out.length < max; i++) {
    const b = head[i];
    if (b === QUOTE) {
      quoted = !quoted;
      empty = false;
    } else if (!quoted && (b === LF || b === CR)) {
      if (!empty) out.push(counts);
      counts = new Map();
      empty = true;
    } else {
      if (!quoted) counts.set(b, (counts.get(b) ?? 0) + 1);
      empty = false;
    }
  }
  // The header cut at the sniff limit is still the header, as before rows counted.
  if (!empty && out.length < max && (whole || (out.length === 0 && head.length >= DELIMITER_SNIFF_BYTES))) out.push(counts);
  return out;
}

/** Where the header line starts: after a UTF-8 BOM and any blank lines. */
function headerStart(head: Buffer): number {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === LF || head[i] === CR)) i++;
  return i;
}
