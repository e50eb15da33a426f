import { parse, Options as CsvOptions } from 'csv-parse';
import { Readable } from 'node:stream';
import { avroFieldNames, avroName } from './names';
import { FieldPlan, JsonSchemaInferrer, jsonRecordSchema, toInferredRecord } from './infer';

export type FlatFormat = 'csv' | 'jsonl' | 'json';

/** A deterministic slice of a flat file: bytes [start, end) for csv/jsonl, elements [start, end) for json. */
export interface Chunk {
  start: number;
  end: number;
  /** Records the scan counted in the chunk (rows that failed to parse are not counted here; the import rejects them). */
  records: number;
}

export interface ScanResult {
  format: FlatFormat;
  chunks: Chunk[];
  records: number;
  /** Avro schema (JSON) of the raw records. */
  schema: object;
  /** How to turn parsed values into schema records. */
  fields: FieldPlan[];
  /** csv: bytes of the header row, which every chunk's parse starts from. */
  headerEnd?: number;
}

/** JSON-array sources are parsed whole; JSON Lines is the format for big files. */
export const MAX_JSON_ARRAY_BYTES = 256 * 1024 * 1024;

const CSV_OPTIONS: CsvOptions = {
  bom: true,
  info: true,
  raw: true,
  relax_column_count: true,
  skip_records_with_error: true,
  skip_empty_lines: true,
};

export class FlatFileError extends Error {
  constructor(readonly object: string, reason: string) {
    super(`${object}: ${reason}`);
    this.name = 'FlatFileError';
  }
}

/**
 * Reads a whole flat file once to find chunk boundaries of at most `perChunk` records, and
 * the raw schema. The boundaries depend only on the bytes, so every plan of the same object
 * is the same.
 */
export async function scanFlatFile(name: string, format: FlatFormat, body: Readable, perChunk: number, recordName: string): Promise<ScanResult> {
  if (format === 'csv') return scanCsv(name, body, perChunk, recordName);
  if (format === 'jsonl') return scanJsonl(name, body, perChunk, recordName);
  return scanJsonArray(name, body, perChunk, recordName);
}

async function scanCsv(name: string, body: Readable, perChunk: number, recordName: string): Promise<ScanResult> {
  const parser = body.pipe(parse(CSV_OPTIONS));
  body.on('error', (e) => parser.destroy(e));
  let header: string[] | undefined;
  let headerEnd = 0;
  const chunks: Chunk[] = [];
  let start = 0;
  let n = 0;
  let total = 0;
  let lastEnd = 0;
  for await (const row of parser as AsyncIterable<{ record: string[]; info: { bytes_records: number } }>) {
    if (!header) {
      header = row.record;
      headerEnd = start = lastEnd = row.info.bytes_records;
      continue;
    }
    n++;
    total++;
    lastEnd = row.info.bytes_records;
    if (n === perChunk) {
      chunks.push({ start, end: lastEnd, records: n });
      start = lastEnd;
      n = 0;
    }
  }
  if (!header) throw new FlatFileError(name, 'CSV file is empty: no header row');
  // The last chunk runs to the end of the file so that trailing unparseable rows are imported (and rejected), not lost.
  if (n > 0 || chunks.length === 0) chunks.push({ start, end: Infinity, records: n });
  else chunks[chunks.length - 1].end = Infinity;
  const fields: FieldPlan[] = avroFieldNames(header).map((f, i) => ({ name: f, source: header![i], type: 'string' }));
  const schema = {
    type: 'record', name: avroName(recordName), namespace: 'partflow.raw',
    fields: fields.map((f) => ({ name: f.name, type: ['null', 'string'], default: null, 'partflow.source': f.source })),
  };
  return { format: 'csv', chunks: finite(chunks), records: total, schema, fields, headerEnd };
}

function finite(chunks: Chunk[]): Chunk[] {
  // JSON cannot carry Infinity: -1 means "to the end of the object".
  return chunks.map((c) => ({ ...c, end: Number.isFinite(c.end) ? c.end : -1 }));
}

/** Splits a byte stream into lines, with each line's end offset (after its newline). */
async function* lines(body: AsyncIterable<Buffer>, base = 0): AsyncGenerator<{ line: Buffer; end: number }> {
  let carry: Buffer = Buffer.alloc(0);
  let offset = base;
  for await (const chunk of body) {
    let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let i: number;
    while ((i = buf.indexOf(0x0a)) >= 0) {
      offset += i + 1;
      yield { line: buf.subarray(0, i), end: offset };
      buf = buf.subarray(i + 1);
    }
    carry = Buffer.from(buf);
  }
  if (carry.length) yield { line: carry, end: offset + carry.length };
}

function isBlank(line: Buffer): boolean {
  for (const b of line) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}

async function scanJsonl(name: string, body: Readable, perChunk: number, recordName: string): Promise<ScanResult> {
  const infer = new JsonSchemaInferrer();
  const chunks: Chunk[] = [];
  let start = 0;
  let n = 0;
  let total = 0;
  for await (const { line, end } of lines(body)) {
    if (isBlank(line)) continue;
    try {
      infer.add(JSON.parse(line.toString('utf8')));
    } catch {
      // Unparseable lines become rejects at import; they still count toward the chunk.
    }
    n++;
    total++;
    if (n === perChunk) {
      chunks.push({ start, end, records: n });
      start = end;
      n = 0;
    }
  }
  if (n > 0 || chunks.length === 0) chunks.push({ start, end: Infinity, records: n });
  else chunks[chunks.length - 1].end = Infinity;
  const fields = infer.fields();
  return { format: 'jsonl', chunks: finite(chunks), records: total, schema: jsonRecordSchema(recordName, fields), fields };
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

async function parseJsonArray(name: string, body: Readable): Promise<unknown[]> {
  const text = (await readAll(name, body, MAX_JSON_ARRAY_BYTES)).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FlatFileError(name, `not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value)) throw new FlatFileError(name, 'a .json source must hold one JSON array of records');
  return value;
}

async function scanJsonArray(name: string, body: Readable, perChunk: number, recordName: string): Promise<ScanResult> {
  const items = await parseJsonArray(name, body);
  const infer = new JsonSchemaInferrer();
  for (const v of items) infer.add(v);
  const chunks: Chunk[] = [];
  for (let s = 0; s < items.length || chunks.length === 0; s += perChunk) {
    const e = Math.min(items.length, s + perChunk);
    chunks.push({ start: s, end: e, records: e - s });
  }
  const fields = infer.fields();
  return { format: 'json', chunks, records: items.length, schema: jsonRecordSchema(recordName, fields), fields };
}

/**
 * One parsed source record, or the reason it could not be parsed with its raw text. `end`, when
 * known, is where the next record starts: a byte offset into the chunk's body (csv, jsonl) or an
 * element index (json), so that reading can resume there.
 */
export type FlatRecord = ({ ok: true; value: Record<string, unknown> } | { ok: false; reason: string; raw: string }) & { end?: number };

/**
 * Reads the records of one chunk. `body` must be the chunk's bytes (csv/jsonl: a range read;
 * json: the whole object). For csv, `header` is the file's header bytes.
 */
export async function* readChunk(
  name: string, format: FlatFormat, body: Readable, chunk: Chunk, fields: FieldPlan[], header?: Buffer,
): AsyncGenerator<FlatRecord> {
  if (format === 'csv') {
    yield* readCsvChunk(body, fields, header!);
  } else if (format === 'jsonl') {
    for await (const { line, end } of lines(body)) {
      if (isBlank(line)) continue;
      const raw = line.toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
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
    const items = await parseJsonArray(name, body);
    for (let i = chunk.start; i < chunk.end; i++) {
      try {
        yield { ok: true, value: toInferredRecord(items[i], fields), end: i + 1 };
      } catch (err) {
        yield { ok: false, reason: (err as Error).message, raw: JSON.stringify(items[i]) ?? 'undefined', end: i + 1 };
      }
    }
  }
}

async function* readCsvChunk(body: Readable, fields: FieldPlan[], header: Buffer): AsyncGenerator<FlatRecord> {
  // Parse the header again first so that the delimiter and quoting detection match the scan.
  const parser = parse({ ...CSV_OPTIONS, from_line: 2 });
  // Unparseable rows arrive as events, possibly before the rows around them are read: keep
  // them with their byte position and hand them out in file order.
  const skipped: { at: number; rec: FlatRecord }[] = [];
  parser.on('skip', (err: Error & { raw?: string; bytes?: number }) => {
    skipped.push({ at: err.bytes ?? Infinity, rec: { ok: false, reason: `unparseable CSV row: ${err.message}`, raw: err.raw ?? '' } });
  });
  body.on('error', (e) => parser.destroy(e));
  parser.write(header);
  body.pipe(parser);
  for await (const row of parser as AsyncIterable<{ record: string[]; raw: string; info: { bytes_records: number } }>) {
    while (skipped.length && skipped[0].at <= row.info.bytes_records) yield skipped.shift()!.rec;
    const cells = row.record;
    const end = row.info.bytes_records - header.length;
    if (cells.length !== fields.length) {
      yield { ok: false, reason: `row has ${cells.length} fields, the header has ${fields.length}`, raw: row.raw, end };
      continue;
    }
    const value: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) value[fields[i].name] = cells[i];
    yield { ok: true, value, end };
  }
  while (skipped.length) yield skipped.shift()!.rec;
}
