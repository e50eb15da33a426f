import { Readable } from 'node:stream';
import { FlatFileError } from './errors';
import { parseJson } from './json-value';
import { notUtf8File, utf8Text } from './utf8';

/**
 * Plans made before scanner 2 (activities/plan-reuse.ts) have their .json chunks imported by
 * parsing the array whole (readJsonElements): up to this size. Newer plans walk arrays element by
 * element (json-array.ts), whatever their size.
 */
export const MAX_JSON_ARRAY_BYTES = 256 * 1024 * 1024;

/** A JSON Lines file may start with a UTF-8 BOM, as CSV files may: it is not part of the first record. */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A line of spaces, tabs and CR only, after the BOM a file's first line may start with. */
export function isBlank(line: Buffer): boolean {
  const from = line[0] === 0xef && line[1] === 0xbb && line[2] === 0xbf ? 3 : 0;
  for (let i = from; i < line.length; i++) if (line[i] !== 0x20 && line[i] !== 0x09 && line[i] !== 0x0d) return false;
  return true;
}

async function readAll(name: string, body: Readable, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += (c as Buffer).length;
    if (size > max) {
      body.destroy();
      throw new FlatFileError(name, `JSON array files are parsed whole and this one is over ${max} bytes; convert it to JSON Lines`);
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

export async function parseJsonArray(name: string, body: Readable): Promise<unknown[]> {
  const bytes = await readAll(name, body, MAX_JSON_ARRAY_BYTES);
  const decoded = utf8Text(bytes, 'file');
  if (!decoded.ok) throw new FlatFileError(name, notUtf8File(decoded.at));
  const text = withoutBom(decoded.text);
  // No value at all (a 0-byte export) holds no records, as `[]` does.
  if (/^[ \t\r\n]*$/.test(text)) return [];
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (err) {
    // The parser's message quotes the text around the error: keep record data out of failures.
    const at = /position (\d+)/.exec((err as Error).message);
    throw new FlatFileError(name, `not valid JSON${at ? ` (at character ${at[1]})` : ''}`);
  }
  if (!Array.isArray(value)) throw new FlatFileError(name, 'a .json source must hold one JSON array of records');
  return value;
}
