import { isUtf8 } from 'node:buffer';

/**
 * Text sources are read as UTF-8. Node turns invalid bytes into U+FFFD without a word, which
 * would change data silently (a Latin-1 "München" becomes "M\uFFFDnchen"); a record holding
 * them is rejected instead, with where the first bad byte is, and the bytes kept.
 */
export type Utf8Text = { ok: true; text: string } | { ok: false; at: number; reason: string; raw: string };

const CONVERT = 'text sources must be UTF-8, so convert the file first (for example: iconv -f latin1 -t utf-8)';

export function utf8Text(buf: Buffer, what: string): Utf8Text {
  const text = buf.toString('utf8');
  // A U+FFFD can also be real data: only then are the bytes checked.
  if (!text.includes('\uFFFD') || isUtf8(buf)) return { ok: true, text };
  const at = firstInvalidByte(buf);
  return {
    ok: false, at,
    reason: `${what} is not valid UTF-8 (a bad byte sequence at byte ${at} of the ${what}); ${CONVERT}. The reject keeps the bytes, each shown as the Latin-1 character of its value`,
    raw: buf.toString('latin1'),
  };
}

/** The error for a whole file that is not UTF-8 (a .json array, parsed whole). */
export function notUtf8File(at: number): string {
  return `not valid UTF-8 (a bad byte sequence at byte ${at}); ${CONVERT}`;
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidByte(b: Buffer): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > b.length || !isUtf8(b.subarray(i, i + n))) return i;
    i += n;
  }
  return -1;
}
