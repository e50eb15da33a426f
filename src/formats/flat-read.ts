import { Readable } from 'node:stream';
import { maxRecordBytes } from '../config';
import type { CsvDelimiter } from './csv-delimiter';
import { csvItems } from './csv-items';
import type { Chunk, FlatFormat } from './flat';
import { FieldPlan, toInferredRecord } from './infer';
import { arrayElements, elementValue } from './json-array';
import { isBlank, parseJsonArray, withoutBom } from './json-source';
import { jsonText, parseJson } from './json-value';
import { Oversized, oversizedReason, prefixText, splitLines } from './records';
import { utf8Text } from './utf8';

/**
 * One parsed source record, or the reason it could not be parsed with its raw text. `end`, when
 * known, is where the next record starts: a byte offset into the chunk's body (an element index
 * in readJsonElements), so that reading can resume there.
 */
export type FlatRecord = ({ ok: true; value: Record<string, unknown> } | { ok: false; reason: string; raw: string }) & { end?: number };

/** A CSV file's header bytes, and the delimiter its scan chose when the header alone gives another. */
export interface CsvHeader {
  header: Buffer;
  delimiter?: CsvDelimiter;
}

/**
 * Reads the records of one chunk. `body` must be the chunk's bytes, from `chunk.start` (a range
 * read). For csv, `header` is the file's header bytes (and the scan's delimiter, if it recorded one).
 * Records over `maxRecordBytes` become rejects that keep only the record's first bytes.
 */
export async function* readChunk(
  name: string, format: FlatFormat, body: Readable, chunk: Chunk, fields: FieldPlan[], header?: Buffer | CsvHeader, max = maxRecordBytes(),
): AsyncGenerator<FlatRecord> {
  if (format === 'csv') {
    yield* readCsvChunk(body, chunk, fields, Buffer.isBuffer(header) ? { header } : header!, max);
  } else if (format === 'jsonl') {
    for await (const l of splitLines(body, 0, max)) {
      if (l.oversized) {
        yield oversizedReject(l, chunk.start, max, 'line');
        continue;
      }
      const { line, end } = l;
      if (isBlank(line)) continue;
      const decoded = utf8Text(line, 'line');
      if (!decoded.ok) {
        yield { ok: false, reason: decoded.reason, raw: decoded.raw, end };
        continue;
      }
      const raw = withoutBom(decoded.text);
      let parsed: unknown;
      try {
        parsed = parseJson(raw);
      } catch (err) {
        yield { ok: false, reason: `invalid JSON: ${(err as Error).message}`, raw, end };
        continue;
      }
      try {
        yield { ok: true, value: toInferredRecord(parsed, fields), end };
      } catch (err) {
        yield { ok: false, reason: (err as Error).message, raw, end };
      }
    }
  } else {
    for await (const e of arrayElements(name, body, { start: chunk.start, bounded: chunk.end >= 0, max })) {
      const end = e.end - chunk.start;
      if (e.oversized) {
        yield oversizedReject({ ...e, start: e.start - chunk.start, end }, chunk.start, max, 'JSON array element');
        continue;
      }
      // A record that does not fit keeps its value's JSON text, as when the array was parsed whole.
      const value = elementValue(name, e);
      try {
        yield { ok: true, value: toInferredRecord(value, fields), end };
      } catch (err) {
        yield { ok: false, reason: (err as Error).message, raw: jsonText(value) ?? 'undefined', end };
      }
    }
  }
}

/**
 * Elements [start, end) of a JSON array, read whole: how plans made before scanner 2 cut .json
 * sources (activities/plan-reuse.ts), kept for their runs still going during an upgrade. `end`
 * of each record is the next element's index.
 */
export async function* readJsonElements(name: string, body: Readable, chunk: Chunk, fields: FieldPlan[]): AsyncGenerator<FlatRecord> {
  const items = await parseJsonArray(name, body);
  for (let i = chunk.start; i < chunk.end; i++) {
    try {
      yield { ok: true, value: toInferredRecord(items[i], fields), end: i + 1 };
    } catch (err) {
      yield { ok: false, reason: (err as Error).message, raw: jsonText(items[i]) ?? 'undefined', end: i + 1 };
    }
  }
}

/** An oversized record as a reject: its position in the object, and only its first bytes. */
function oversizedReject(o: Oversized, base: number, max: number, what: string): FlatRecord {
  const at = { ...o, start: base + o.start, end: base + o.end };
  return { ok: false, reason: oversizedReason(at, max, what), raw: prefixText(o.prefix), end: o.end };
}

async function* readCsvChunk(body: Readable, chunk: Chunk, fields: FieldPlan[], csv: CsvHeader, max: number): AsyncGenerator<FlatRecord> {
  const header = csv.header;
  // Parse the header again first so that BOM and record-delimiter detection match the scan;
  // offsets count it, and records' ends are offsets into the body.
  let seenHeader = false;
  for await (const item of csvItems(body, max, header, { delimiter: csv.delimiter })) {
    if (!seenHeader) {
      // The header's own bytes: the scan already took its first row as the header.
      if (item.kind === 'row') seenHeader = true;
      continue;
    }
    if (item.kind === 'oversized') {
      const o = { ...item.o, start: item.o.start - header.length, end: item.o.end - header.length };
      yield oversizedReject(o, chunk.start, max, 'CSV record');
      continue;
    }
    if (item.kind === 'bad') {
      yield { ok: false, reason: item.reason, raw: item.raw, end: item.end - header.length };
      continue;
    }
    const cells = item.record;
    const end = item.end - header.length;
    if (cells.length !== fields.length) {
      yield { ok: false, reason: `row has ${cells.length} fields, the header has ${fields.length}`, raw: item.raw, end };
      continue;
    }
    const value: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) value[fields[i].name] = cells[i];
    yield { ok: true, value, end };
  }
}

/**
 * Where a chunk's rejects say they were read: a chunk after the first by its byte range (as an
 * Avro split is), in which their index counts records from its start (`base` is added to it).
 */
export function rejectPlace(name: string, chunk: { start: number; end: number }, first: boolean): { source: string; base: number } {
  return { source: first ? name : `${name}#bytes=${chunk.start}-${chunk.end < 0 ? '' : chunk.end}`, base: 0 };
}
