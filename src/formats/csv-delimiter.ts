/**
 * The field delimiter of a CSV file, from its header line. Comma when the header has one (so
 * files that parsed before parse the same); otherwise the most frequent of `;`, tab and `|`
 * outside quotes, as European and spreadsheet exports use; comma again when there is none (a
 * one-column file). The scan and every chunk's import see the same header bytes, so they agree.
 */
export type CsvDelimiter = ',' | ';' | '\t' | '|';

const OTHERS: CsvDelimiter[] = [';', '\t', '|'];
const QUOTE = 0x22;

/** Bytes of a file's start enough to hold its header line; longer headers are cut there. */
export const DELIMITER_SNIFF_BYTES = 64 * 1024;

export function detectDelimiter(head: Buffer): CsvDelimiter {
  const counts = new Map<number, number>();
  let quoted = false;
  // Never past the sniff limit: the scan may have seen no more of a longer header. Blank lines
  // before it are skipped, as the parser skips them.
  for (let i = headerStart(head); i < Math.min(head.length, DELIMITER_SNIFF_BYTES); i++) {
    const b = head[i];
    if (b === QUOTE) quoted = !quoted;
    else if (!quoted && (b === 0x0a || b === 0x0d)) break;
    else if (!quoted) counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  if (counts.get(0x2c)) return ',';
  let best: CsvDelimiter = ',';
  let most = 0;
  for (const d of OTHERS) {
    const n = counts.get(d.charCodeAt(0)) ?? 0;
    if (n > most) {
      best = d;
      most = n;
    }
  }
  return best;
}

/** Whether `head` holds the whole header line (or all there is): then the delimiter can be told. */
export function headerLineComplete(head: Buffer, end: boolean): boolean {
  if (end || head.length >= DELIMITER_SNIFF_BYTES) return true;
  let quoted = false;
  const start = headerStart(head);
  if (start === head.length) return false;
  for (let i = start; i < head.length; i++) {
    const b = head[i];
    if (b === QUOTE) quoted = !quoted;
    else if (!quoted && (b === 0x0a || b === 0x0d)) return true;
  }
  return false;
}

/** Where the header line starts: after a UTF-8 BOM and any blank lines. */
function headerStart(head: Buffer): number {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x0a || head[i] === 0x0d)) i++;
  return i;
}
