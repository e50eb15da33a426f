import { isInteger, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

// Any integer of 16 digits or more may be beyond 2^53 (9007199254740992 has 16): only text with
// such a digit run needs the slower lossless parser.
const LONG_DIGIT_RUN = /\d{16}/;

function parseNumber(s: string): number | bigint {
  if (isInteger(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : BigInt(s);
  }
  return Number(s);
}

/**
 * JSON.parse, except that integers beyond 2^53 come out as exact bigints instead of rounded
 * numbers. Duplicate keys keep the last value, as JSON.parse does.
 */
export function parseJson(text: string): unknown {
  if (!LONG_DIGIT_RUN.test(text)) return JSON.parse(text);
  return losslessParse(text, null, { parseNumber, onDuplicateKey: ({ newValue }) => newValue });
}

/** JSON text of a value that may hold bigints (written as exact integers). */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return losslessStringify(value) as string;
  }
}
