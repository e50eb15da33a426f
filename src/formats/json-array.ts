import { FlatFileError } from './errors';
import { parseJson } from './json-value';
import { Oversized, prefixOf } from './records';
import { notUtf8File, utf8Text } from './utf8';

/**
 * A JSON array's top-level elements, found by their bytes without parsing the array whole, so
 * that a .json source is scanned and imported in bounded memory, chunk by chunk, as JSON Lines
 * is. The walk tracks only strings (and their escapes) and nesting depth; each element's own
 * parse (elementValue) checks the rest. Every element of a valid array is then found exactly,
 * and an invalid element fails its parse. Structural bytes are ASCII, never inside a UTF-8
 * sequence, so bytes can be walked as they come.
 *
 * Offsets are in the object. An element ends after its last byte, where a chunk may be cut: the
 * next chunk then starts before the comma that follows it.
 */
export type ArrayElement = { oversized?: false; bytes: Buffer; start: number; end: number } | Oversized;

export interface ArrayWalk {
  /** Offset of the body's first byte in the object. 0: the object's start; otherwise just after an element (a chunk boundary). */
  start: number;
  /** The body stops before the array ends (a chunk with an end): it may end after any element. */
  bounded: boolean;
  /** Elements over this many bytes are never assembled: they come out as Oversized. */
  max: number;
}

const enum S { Start, First, Next, Element, After, Done }

const BOM = [0xef, 0xbb, 0xbf];
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
/** How a JSON value other than an array starts: such a file is valid JSON but no array of records. */
const VALUE_START = new Set([...'{"-0123456789tfn'].map((c) => c.charCodeAt(0)));

export async function* arrayElements(name: string, body: AsyncIterable<Buffer>, walk: ArrayWalk): AsyncGenerator<ArrayElement> {
  const { max } = walk;
  const bad = (at: number, what: string) => new FlatFileError(name, `not valid JSON (at byte ${at}: ${what})`);
  let state: S = walk.start > 0 ? S.After : S.Start;
  let bom = walk.start > 0 ? BOM.length : 0;
  let offset = walk.start; // of the current buffer's first byte
  // The element being walked: where it started, its bytes from earlier buffers, and how it ends.
  let elemStart = 0;
  let parts: Buffer[] = [];
  let partsLen = 0;
  let discarding = false;
  let prefix: Buffer = Buffer.alloc(0);
  let depth = 0;
  let inString = false;
  let escaped = false;
  let scalar = false;
  for await (const c of body) {
    let from = -1; // where the current element starts in this buffer (-1: in an earlier one)
    for (let i = 0; i < c.length; i++) {
      const b = c[i];
      if (state === S.Element) {
        let ends = -1; // the element's end in this buffer, exclusive
        if (inString) {
          if (escaped) escaped = false;
          else if (b === 0x5c) escaped = true;
          else if (b === 0x22) {
            inString = false;
            if (depth === 0) ends = i + 1;
          }
        } else if (scalar) {
          // A number or literal ends where a separator does; anything else in it fails its parse.
          if (isSpace(b) || b === 0x2c || b === 0x5d) ends = i;
        } else if (b === 0x22) inString = true;
        else if (b === 0x7b || b === 0x5b) depth++;
        else if (b === 0x7d || b === 0x5d) {
          if (--depth === 0) ends = i + 1;
        }
        if (ends < 0) continue;
        const end = offset + ends;
        const here = c.subarray(from < 0 ? 0 : from, ends);
        if (discarding || partsLen + here.length > max) {
          yield { oversized: true, start: elemStart, end, prefix: discarding ? prefix : prefixOf([...parts, here]), terminated: true };
        } else {
          yield { bytes: partsLen ? Buffer.concat([...parts, here]) : here, start: elemStart, end };
        }
        parts = [];
        partsLen = 0;
        discarding = false;
        from = -1;
        state = S.After;
        if (!scalar) continue;
        scalar = false;
        // The separator that ended a number or literal is read again, after it.
      }
      if (isSpace(b)) continue;
      switch (state) {
        case S.Start:
          if (bom < BOM.length && offset + i === bom && b === BOM[bom]) {
            bom++;
            continue;
          }
          bom = BOM.length;
          if (b === 0x5b) state = S.First;
          else if (VALUE_START.has(b)) throw new FlatFileError(name, 'a .json source must hold one JSON array of records');
          else throw bad(offset + i, 'a .json source must hold one JSON array of records');
          continue;
        case S.After:
          if (b === 0x2c) state = S.Next;
          else if (b === 0x5d) state = S.Done;
          else throw bad(offset + i, 'expected "," or "]" after an element');
          continue;
        case S.Done:
          throw bad(offset + i, 'something follows the array\'s closing "]"');
        case S.First:
          if (b === 0x5d) {
            state = S.Done;
            continue;
          }
        // falls through: an element starts
        case S.Next:
          if (b === 0x2c || b === 0x5d) throw bad(offset + i, 'expected an element after ","' );
          state = S.Element;
          elemStart = offset + i;
          from = i;
          depth = b === 0x7b || b === 0x5b ? 1 : 0;
          inString = b === 0x22;
          scalar = !inString && depth === 0;
          continue;
      }
    }
    if (state === S.Element && !discarding) {
      const rest = c.subarray(from < 0 ? 0 : from);
      parts.push(rest);
      partsLen += rest.length;
      if (partsLen > max) {
        discarding = true;
        prefix = prefixOf(parts);
        parts = [];
        partsLen = 0;
      }
    }
    offset += c.length;
  }
  if (state === S.Element && scalar) {
    // A number or literal can end a chunk's body: the chunk was cut after it.
    if (discarding || partsLen > max) yield { oversized: true, start: elemStart, end: offset, prefix: discarding ? prefix : prefixOf(parts), terminated: true };
    else yield { bytes: Buffer.concat(parts), start: elemStart, end: offset };
    state = S.After;
  }
  // No value at all (a 0-byte export, blanks, a lone BOM) holds no records, as `[]` does.
  state = state as S; // (the compiler loses the loop's assignments)
  if (state === S.Start || state === S.Done || (state === S.After && walk.bounded)) return;
  throw new FlatFileError(name, `not valid JSON (the array is not closed: the file ends at byte ${offset}${state === S.Element ? ', inside an element' : ''})`);
}

/**
 * An element's value (parsed as JSON Lines lines are, integers beyond 2^53 exact). An element
 * that is not UTF-8 or not JSON fails the whole object, as it did when the array was parsed whole;
 * the message gives the byte, never the text.
 */
export function elementValue(name: string, e: { bytes: Buffer; start: number; end: number }): unknown {
  const decoded = utf8Text(e.bytes, 'element');
  if (!decoded.ok) throw new FlatFileError(name, notUtf8File(e.start + decoded.at));
  try {
    return parseJson(decoded.text);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message);
    const where = at ? `at byte ${e.start + Buffer.byteLength(decoded.text.slice(0, Number(at[1])))}` : `in the element at bytes ${e.start}-${e.end}`;
    throw new FlatFileError(name, `not valid JSON (${where})`);
  }
}
