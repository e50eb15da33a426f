import type { Options as CsvOptions } from 'csv-parse';
import { parse as parseCsv } from 'csv-parse/sync';
import { Readable } from 'node:stream';
import { maxRecordBytes } from '../config';
import { ChunkHasher } from './chunk-hasher';
import { CsvDelimiter, detectDelimiter, headerLineComplete } from './csv-delimiter';
import { CsvPiece, CsvRecordSplitter, recordDelimiterOption } from './csv-records';
import { FlatFileError } from './errors';
import { FieldPlan, InferState, JsonSchemaInferrer, jsonRecordSchema, toInferredRecord } from './infer';
import { jsonText, parseJson } from './json-value';
import { avroFieldNames, avroName } from './names';
import { Oversized, oversizedReason, prefixText, splitLines } from './records';
import { notUtf8File, utf8Text } from './utf8';

export type FlatFormat = 'csv' | 'jsonl' | 'json';

/** A deterministic slice of a flat file: bytes [start, end) for csv/jsonl, elements [start, end) for json. */
export interface Chunk {
  start: number;
  end: number;
  /** Records the scan counted in the chunk (rows that failed to parse are not counted here; the import rejects them). */
  records: number;
  /**
   * csv/jsonl: SHA-256 of the chunk's bytes, after the CSV header's (which every chunk's parse
   * reads first). The bytes decide the chunk's import, so an equal hash means an equal import.
   * A last chunk that was cut after its last record, and runs on over bytes that hold no record
   * (blank lines, an unparseable row), has the SHA-256 of its hash at the cut and those bytes.
   * Absent for JSON arrays, and for a chunk the scan could not hash whole (see ChunkHasher).
   */
  sha256?: string;
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
  /** Records over the size limit, counted in their chunks; the import rejects them. */
  oversized?: number;
  /**
   * The object holds no records at all (csv: no header row; jsonl: no line but blank ones; json:
   * an empty array or no value): it has no chunks and no fields, and planning leaves it out. A
   * csv with a header and no rows is not empty: its header gives the schema.
   */
  empty?: true;
}

/** JSON-array sources are parsed whole; JSON Lines is the format for big files. */
export const MAX_JSON_ARRAY_BYTES = 256 * 1024 * 1024;

export const CSV_OPTIONS: CsvOptions = {
  info: true,
  raw: true,
  relax_column_count: true,
  skip_records_with_error: true,
  skip_empty_lines: true,
};

/** Calls onProgress at least this often while scanning. */
const PROGRESS_BYTES = 8 * 1024 * 1024;
const PROGRESS_MS = 2_000;

export { FlatFileError };

/**
 * Where a scan stood at a chunk boundary: enough to carry on from `offset` (with a body that
 * starts there) and end with exactly the chunks of an uninterrupted scan.
 */
export interface ScanCheckpoint {
  v: 1;
  format: 'csv' | 'jsonl';
  perChunk: number;
  /** Where the next chunk starts (an offset in the decompressed stream for gzip sources). */
  offset: number;
  records: number;
  chunks: Chunk[];
  oversized: number;
  /** csv: the header row's bytes (base64), parsed again on resume so that the parse matches. */
  header?: string;
  /** jsonl: the schema inferred so far. */
  infer?: InferState;
}

export interface ScanProgress {
  /** Bytes read so far (decompressed, from the start of the object). */
  bytes: number;
  records: number;
  chunks: number;
  /** The latest chunk boundary, when the scan has passed one. */
  checkpoint?: ScanCheckpoint;
}

export interface ScanOptions {
  /** Called every few MB and every couple of seconds, to heartbeat. */
  onProgress?: (p: ScanProgress) => void;
  /** Carry on from this checkpoint; the body must then start at its offset. */
  resume?: ScanCheckpoint;
  /** Records over this size become rejects (default: PARTFLOW_MAX_RECORD_BYTES). */
  maxRecordBytes?: number;
  progressBytes?: number;
}

/**
 * Reads a whole flat file once to find chunk boundaries of at most `perChunk` records, and
 * the raw schema. The boundaries depend only on the bytes, so every plan of the same object
 * is the same, whether or not the scan was resumed from a checkpoint.
 */
export async function scanFlatFile(
  name: string, format: FlatFormat, body: Readable, perChunk: number, recordName: string, opts: ScanOptions = {},
): Promise<ScanResult> {
  if (format === 'json') return scanJsonArray(name, body, perChunk, recordName);
  const resume = opts.resume;
  if (resume && (resume.v !== 1 || resume.format !== format || resume.perChunk !== perChunk)) {
    throw new Error(`${name}: the scan checkpoint is for ${resume.format}, ${resume.perChunk} records per chunk, not ${format}, ${perChunk}`);
  }
  const max = opts.maxRecordBytes ?? maxRecordBytes();
  const scan = new ChunkCutter(format, perChunk, resume, opts, max);
  if (format === 'csv') await scanCsv(name, body, scan, max);
  else await scanJsonl(body, scan, max);
  return scan.result(recordName);
}

/** Cuts chunks as records go by, and keeps the state at the last boundary for checkpoints. */
class ChunkCutter {
  chunks: Chunk[];
  records: number;
  oversized: number;
  start: number;
  n = 0;
  bytes: number;
  header?: Buffer;
  headerEnd?: number;
  columns?: string[];
  infer: JsonSchemaInferrer;
  readonly hasher: ChunkHasher;
  private boundary?: Omit<ScanCheckpoint, 'chunks'> & { nChunks: number };
  private lastProgress = Date.now();
  private progressAt: number;

  constructor(readonly format: 'csv' | 'jsonl', readonly perChunk: number, resume: ScanCheckpoint | undefined, readonly opts: ScanOptions, readonly max: number) {
    this.chunks = resume ? [...resume.chunks] : [];
    this.records = resume?.records ?? 0;
    this.oversized = resume?.oversized ?? 0;
    this.start = this.bytes = resume?.offset ?? 0;
    this.infer = resume?.infer ? JsonSchemaInferrer.from(resume.infer) : new JsonSchemaInferrer();
    if (resume?.header !== undefined) {
      this.header = Buffer.from(resume.header, 'base64');
      this.headerEnd = this.header.length;
    }
    this.hasher = new ChunkHasher(this.start, this.header, resume?.chunks[resume.chunks.length - 1]?.sha256);
    this.progressAt = this.bytes + (opts.progressBytes ?? PROGRESS_BYTES);
    if (resume) this.boundary = { ...resume, nChunks: resume.chunks.length };
  }


  /** A record ending at `end` (where the next one starts). */
  add(end: number): void {
    this.n++;
    this.records++;
    this.hasher.record();
    if (this.n === this.perChunk) {
      const sha256 = this.hasher.cut(end);
      this.chunks.push({ start: this.start, end, records: this.n, ...(sha256 ? { sha256 } : {}) });
      this.start = end;
      this.n = 0;
      this.boundary = {
        v: 1, format: this.format, perChunk: this.perChunk, offset: end, records: this.records, nChunks: this.chunks.length,
        oversized: this.oversized, header: this.header?.toString('base64'), infer: this.format === 'jsonl' ? this.infer.state() : undefined,
      };
    }
  }

  /** Bytes read so far: calls onProgress when enough bytes or time have gone by. */
  read(bytes: number): void {
    this.bytes = bytes;
    const onProgress = this.opts.onProgress;
    if (!onProgress) return;
    const now = Date.now();
    if (bytes < this.progressAt && now - this.lastProgress < PROGRESS_MS) return;
    this.progressAt = bytes + (this.opts.progressBytes ?? PROGRESS_BYTES);
    this.lastProgress = now;
    onProgress({ bytes, records: this.records, chunks: this.chunks.length, checkpoint: this.checkpoint() });
  }

  checkpoint(): ScanCheckpoint | undefined {
    if (!this.boundary || (this.format === 'csv' && this.boundary.header === undefined)) return undefined;
    const { nChunks, ...b } = this.boundary;
    return { ...b, chunks: this.chunks.slice(0, nChunks) };
  }

  result(recordName: string): ScanResult {
    if (this.format === 'csv' ? !this.columns : this.records === 0) return emptyScan(this.format, recordName);
    // The last chunk runs to the end of the file so that trailing unparseable rows are imported (and rejected), not lost.
    // JSON cannot carry Infinity: -1 means "to the end of the object".
    const chunks = this.chunks.slice();
    const last = this.hasher.end();
    if (this.n > 0 || chunks.length === 0) chunks.push({ start: this.start, end: -1, records: this.n, ...(last ? { sha256: last } : {}) });
    else {
      // No record after the last cut: that chunk runs on to the end, and so does its hash.
      const { sha256: cut, ...c } = chunks[chunks.length - 1];
      const sha256 = this.hasher.extended(cut);
      chunks[chunks.length - 1] = { ...c, end: -1, ...(sha256 ? { sha256 } : {}) };
    }
    if (this.format === 'jsonl') {
      const fields = this.infer.fields();
      return { format: 'jsonl', chunks, records: this.records, schema: jsonRecordSchema(recordName, fields), fields, oversized: this.oversized };
    }
    const header = this.columns!;
    const fields: FieldPlan[] = avroFieldNames(header).map((f, i) => ({ name: f, source: header[i], type: 'string' }));
    const schema = {
      type: 'record', name: avroName(recordName), namespace: 'partflow.raw',
      fields: fields.map((f) => ({ name: f.name, type: ['null', 'string'], default: null, 'partflow.source': f.source })),
    };
    return { format: 'csv', chunks, records: this.records, schema, fields, headerEnd: this.headerEnd, oversized: this.oversized };
  }
}

function emptyScan(format: FlatFormat, recordName: string): ScanResult {
  return { format, chunks: [], records: 0, schema: jsonRecordSchema(recordName, []), fields: [], empty: true };
}

/** Counts the bytes of a stream as they are read; `peek` sees each chunk before it is passed on. */
async function* counted(body: AsyncIterable<Buffer>, base: number, onRead: (bytes: number) => void, peek?: (c: Buffer) => void): AsyncGenerator<Buffer> {
  let n = base;
  for await (const c of body) {
    peek?.(c);
    yield c;
    n += c.length;
    onRead(n);
  }
}

type CsvItem =
  | { kind: 'row'; record: string[]; raw: string; end: number }
  /** `reason` is the reject's; `notUtf8At` (the bad byte's offset) or `parseError` is what went wrong. */
  | { kind: 'bad'; reason: string; raw: string; notUtf8At?: number; parseError?: string }
  | { kind: 'oversized'; o: Oversized };

/**
 * CSV rows with the offset where the next one starts. `prelude` (the header row, when reading
 * from the middle of the file) is parsed first so that BOM and record-delimiter detection match
 * the scan; offsets count it, the caller maps them back.
 */
export async function* csvItems(body: AsyncIterable<Buffer>, max: number, prelude?: Buffer): AsyncGenerator<CsvItem> {
  // The splitter needs the field delimiter before the header's first quote, so the first bytes
  // wait until the header line is whole.
  let splitter: CsvRecordSplitter | undefined;
  let delimiter: CsvDelimiter = ',';
  let head: Buffer[] = [];
  const parsePieces = function* (pieces: CsvPiece[]): Generator<CsvItem> {
    for (const piece of pieces) {
      if (piece.oversized) {
        yield { kind: 'oversized', o: piece };
        continue;
      }
      const items: CsvItem[] = [];
      let rowStart = 0;
      parseCsv(piece.buf, {
        ...CSV_OPTIONS,
        delimiter,
        bom: piece.start === 0,
        record_delimiter: recordDelimiterOption(splitter!.rd),
        on_record: (r: { record: string[]; raw: string; info: { bytes_records: number } }) => {
          const from = rowStart;
          rowStart = r.info.bytes_records;
          // Only a row holding U+FFFD may hide invalid bytes: the check stays off the common path.
          const decoded = r.raw.includes('\uFFFD') ? utf8Text(piece.buf.subarray(from, rowStart), 'CSV record') : undefined;
          if (decoded && !decoded.ok) items.push({ kind: 'bad', reason: decoded.reason, raw: decoded.raw, notUtf8At: piece.start + from + decoded.at });
          else items.push({ kind: 'row', record: r.record, raw: r.raw, end: piece.start + r.info.bytes_records });
          return null;
        },
        on_skip: (err: Error | undefined, raw: string | undefined) => {
          // csv-parse counts lines from the start of the piece it parsed, which would mislead: the reject has the record's position.
          const reason = (err?.message ?? 'unknown error').replace(/ at line \d+/g, '');
          items.push({ kind: 'bad', reason: `unparseable CSV row: ${reason}`, raw: raw ?? '', parseError: reason });
          return undefined;
        },
      } as unknown as CsvOptions);
      yield* items;
    }
  };
  const feed = function* (c: Buffer, end: boolean): Generator<CsvItem> {
    if (!splitter) {
      head.push(c);
      const start = head.length === 1 ? c : Buffer.concat(head);
      if (!headerLineComplete(start, end)) {
        head = [start];
        return;
      }
      head = [];
      delimiter = detectDelimiter(start);
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

async function scanCsv(name: string, body: Readable, scan: ChunkCutter, max: number): Promise<void> {
  const base = scan.start;
  const prelude = scan.header;
  // Offsets from csvItems count the prelude; the body itself starts at `base`.
  const shift = prelude ? base - prelude.length : 0;
  // The header's bytes go into checkpoints: keep the first bytes until the header row is found.
  let head: Buffer[] | undefined = prelude ? undefined : [];
  let headLen = 0;
  const keepHead = (c: Buffer) => {
    scan.hasher.push(c);
    if (head && headLen <= 2 * max) {
      head.push(c);
      headLen += c.length;
    }
  };
  for await (const item of csvItems(counted(body, base, (n) => scan.read(n), keepHead), max, prelude)) {
    if (!scan.columns) {
      if (item.kind === 'oversized') throw new FlatFileError(name, oversizedReason(item.o, max, 'the header row'));
      // Taking the next row as the header would shift every column name: the object fails instead.
      if (item.kind === 'bad') throw new FlatFileError(name, badHeader(item));
      scan.columns = item.record;
      if (!prelude) {
        scan.start = scan.headerEnd = item.end;
        scan.hasher.header(item.end);
        if (head && headLen >= item.end) scan.header = Buffer.from(Buffer.concat(head).subarray(0, item.end));
        head = undefined;
      }
      continue;
    }
    if (item.kind === 'bad') continue; // Unparseable rows become rejects at import; chunks are cut at parsed rows.
    if (item.kind === 'oversized') scan.oversized++;
    scan.add((item.kind === 'oversized' ? item.o.end : item.end) + shift);
  }
}

function badHeader(item: Extract<CsvItem, { kind: 'bad' }>): string {
  if (item.notUtf8At !== undefined) return `the header row is ${notUtf8File(item.notUtf8At)}`;
  return `the header row cannot be parsed (${item.parseError ?? item.reason}); it names every column, so the file is not read`;
}

async function scanJsonl(body: Readable, scan: ChunkCutter, max: number): Promise<void> {
  for await (const l of splitLines(counted(body, scan.start, (n) => scan.read(n), (c) => scan.hasher.push(c)), scan.start, max)) {
    if (l.oversized) {
      scan.oversized++;
      scan.add(l.end);
      continue;
    }
    if (isBlank(l.line)) continue;
    try {
      scan.infer.add(parseJson(withoutBom(l.line.toString('utf8'))));
    } catch {
      // Unparseable lines become rejects at import; they still count toward the chunk.
    }
    scan.add(l.end);
  }
}

/** A JSON Lines file may start with a UTF-8 BOM, as CSV files may: it is not part of the first record. */
function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A line of spaces, tabs and CR only, after the BOM a file's first line may start with. */
function isBlank(line: Buffer): boolean {
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

async function parseJsonArray(name: string, body: Readable): Promise<unknown[]> {
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

async function scanJsonArray(name: string, body: Readable, perChunk: number, recordName: string): Promise<ScanResult> {
  const items = await parseJsonArray(name, body);
  if (items.length === 0) return emptyScan('json', recordName);
  const infer = new JsonSchemaInferrer();
  for (const v of items) infer.add(v);
  const chunks: Chunk[] = [];
  for (let s = 0; s < items.length; s += perChunk) {
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
 * Reads the records of one chunk. `body` must be the chunk's bytes (csv/jsonl: from `chunk.start`,
 * e.g. a range read; json: the whole object). For csv, `header` is the file's header bytes.
 * Records over `maxRecordBytes` become rejects that keep only the record's first bytes.
 */
export async function* readChunk(
  name: string, format: FlatFormat, body: Readable, chunk: Chunk, fields: FieldPlan[], header?: Buffer, max = maxRecordBytes(),
): AsyncGenerator<FlatRecord> {
  if (format === 'csv') {
    yield* readCsvChunk(body, chunk, fields, header!, max);
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
    const items = await parseJsonArray(name, body);
    for (let i = chunk.start; i < chunk.end; i++) {
      try {
        yield { ok: true, value: toInferredRecord(items[i], fields), end: i + 1 };
      } catch (err) {
        yield { ok: false, reason: (err as Error).message, raw: jsonText(items[i]) ?? 'undefined', end: i + 1 };
      }
    }
  }
}

/** An oversized record as a reject: its position in the object, and only its first bytes. */
function oversizedReject(o: Oversized, base: number, max: number, what: string): FlatRecord {
  const at = { ...o, start: base + o.start, end: base + o.end };
  return { ok: false, reason: oversizedReason(at, max, what), raw: prefixText(o.prefix), end: o.end };
}

async function* readCsvChunk(body: Readable, chunk: Chunk, fields: FieldPlan[], header: Buffer, max: number): AsyncGenerator<FlatRecord> {
  // Parse the header again first so that BOM and record-delimiter detection match the scan;
  // offsets count it, and records' ends are offsets into the body.
  let seenHeader = false;
  for await (const item of csvItems(body, max, header)) {
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
      yield { ok: false, reason: item.reason, raw: item.raw };
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
