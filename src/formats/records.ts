/**
 * Record splitting for flat files with a bound on record size: a record (a JSON Lines line or a
 * CSV record) larger than the limit is never assembled; its bytes are counted and dropped as
 * they stream by, and only a short prefix is kept for the reject. Nothing is re-copied as it
 * grows: pieces are kept in a list and joined once.
 */

/** How much of an oversized record a reject keeps. */
export const REJECT_PREFIX_BYTES = 16 * 1024;

/** A record over the limit: where it is, and its first bytes. */
export interface Oversized {
  oversized: true;
  start: number;
  /** Where the next record starts (after the record's delimiter). */
  end: number;
  prefix: Buffer;
  /** False when the record runs to the end of the object (an unclosed quote, no final newline). */
  terminated: boolean;
}

export function prefixOf(parts: Buffer[], max = REJECT_PREFIX_BYTES): Buffer {
  const out: Buffer[] = [];
  let n = 0;
  for (const p of parts) {
    if (n >= max) break;
    const take = p.subarray(0, max - n);
    out.push(take);
    n += take.length;
  }
  // Copy: the prefix must not keep the (possibly large) buffers it came from alive.
  return Buffer.from(Buffer.concat(out));
}

/** UTF-8 text of a prefix, without a character cut in half at its end. */
export function prefixText(prefix: Buffer): string {
  let end = prefix.length;
  // Back up over a trailing incomplete sequence: at most 3 continuation bytes and its lead byte.
  for (let i = end - 1, k = 0; i >= 0 && k < 4; i--, k++) {
    const b = prefix[i];
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (end - i < need) end = i;
    break;
  }
  return prefix.subarray(0, end).toString('utf8');
}

export function oversizedReason(o: Oversized, limit: number, what: string): string {
  return `${what} at bytes ${o.start}-${o.end} (${o.end - o.start} bytes) is larger than the limit of ${limit} bytes (PARTFLOW_MAX_RECORD_BYTES)` +
    (o.terminated ? '' : '; it runs to the end of the object');
}

export type Line = { oversized?: false; line: Buffer; end: number } | Oversized;

/**
 * Splits a byte stream into lines, each with the offset just after its newline (`base` is the
 * offset of the stream's first byte). Lines longer than `max` bytes come out as Oversized.
 */
export async function* splitLines(body: AsyncIterable<Buffer>, base = 0, max = Infinity): AsyncGenerator<Line> {
  let held: Buffer[] = [];
  let heldLen = 0;
  let offset = base; // of the current chunk's first byte
  let lineStart = base;
  let discarding = false;
  let prefix: Buffer = Buffer.alloc(0);
  for await (const chunk of body) {
    let pos = 0;
    let i: number;
    while ((i = chunk.indexOf(0x0a, pos)) >= 0) {
      const end = offset + i + 1;
      const len = heldLen + (i - pos);
      if (discarding || len > max) {
        yield { oversized: true, start: lineStart, end, prefix: discarding ? prefix : prefixOf([...held, chunk.subarray(pos, i)]), terminated: true };
        discarding = false;
      } else {
        yield { line: heldLen ? Buffer.concat([...held, chunk.subarray(pos, i)]) : chunk.subarray(pos, i), end };
      }
      held = [];
      heldLen = 0;
      lineStart = end;
      pos = i + 1;
    }
    if (pos < chunk.length && !discarding) {
      held.push(chunk.subarray(pos));
      heldLen += chunk.length - pos;
      if (heldLen > max) {
        discarding = true;
        prefix = prefixOf(held);
        held = [];
        heldLen = 0;
      }
    }
    offset += chunk.length;
  }
  if (discarding) yield { oversized: true, start: lineStart, end: offset, prefix, terminated: false };
  else if (heldLen) yield { line: Buffer.concat(held), end: offset };
}
