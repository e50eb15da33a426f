import { Readable } from 'node:stream';
import { maxRecordBytes } from '../config';
import { ChunkCutter } from './chunk-cutter';
import { CsvDelimiter, DELIMITER_SNIFF_BYTES } from './csv-delimiter';
import { badHeader, csvItems } from './csv-items';
import { FlatFileError } from './errors';
import { FieldPlan, InferState } from './infer';
import { arrayElements, elementValue } from './json-array';
import { isBlank, withoutBom } from './json-source';
import { parseJson } from './json-value';
import { oversizedReason, splitLines } from './records';

export type FlatFormat = 'csv' | 'jsonl' | 'json';

/**
 * A deterministic slice of a flat file: bytes [start, end). (Plans made before scanner 2 cut a
 * JSON array by element index, [start, end) of its elements: see activities/plan-reuse.ts.)
 */
export interface Chunk {
  start: number;
  end: number;
  /** Records the scan counted in the chunk (rows that failed to parse are not counted here; the import rejects them). */
  records: number;
  /**
   * SHA-256 of the chunk's bytes, after the CSV header's (which every chunk's parse
   * reads first). The bytes decide the chunk's import, so an equal hash means an equal import.
   * A last chunk that was cut after its last record, and runs on over bytes that hold no record
   * (blank lines, an unparseable row), has the SHA-256 of its hash at the cut and those bytes.
   * Absent for a chunk the scan could not hash whole (see ChunkHasher).
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
  /**
   * csv: the field delimiter the header and first rows gave, only when the header alone gives
   * another (see csv-delimiter.ts): chunk reads, which see only the header, need it.
   */
  delimiter?: CsvDelimiter;
  /** Records over the size limit, counted in their chunks; the import rejects them. */
  oversized?: number;
  /**
   * The object holds no records at all (csv: no header row; jsonl: no line but blank ones; json:
   * an empty array or no value): it has no chunks and no fields, and planning leaves it out. A
   * csv with a header and no rows is not empty: its header gives the schema.
   */
  empty?: true;
}

export { FlatFileError };

/**
 * Where a scan stood at a chunk boundary: enough to carry on from `offset` (with a body that
 * starts there) and end with exactly the chunks of an uninterrupted scan.
 */
export interface ScanCheckpoint {
  v: 1;
  format: FlatFormat;
  perChunk: number;
  /** Where the next chunk starts (an offset in the decompressed stream for gzip sources). */
  offset: number;
  records: number;
  chunks: Chunk[];
  oversized: number;
  /** csv: the header row's bytes (base64), parsed again on resume so that the parse matches. */
  header?: string;
  /** csv: as ScanResult.delimiter; absent, the header's rule. */
  delimiter?: CsvDelimiter;
  /** jsonl, json: the schema inferred so far. */
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
  const resume = opts.resume;
  if (resume && (resume.v !== 1 || resume.format !== format || resume.perChunk !== perChunk)) {
    throw new Error(`${name}: the scan checkpoint is for ${resume.format}, ${resume.perChunk} records per chunk, not ${format}, ${perChunk}`);
  }
  const max = opts.maxRecordBytes ?? maxRecordBytes();
  const scan = new ChunkCutter(format, perChunk, resume, opts, max);
  if (format === 'csv') await scanCsv(name, body, scan, max);
  else if (format === 'jsonl') await scanJsonl(body, scan, max);
  else await scanJsonArray(name, body, scan, max);
  return scan.result(recordName);
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

async function scanCsv(name: string, body: Readable, scan: ChunkCutter, max: number): Promise<void> {
  const base = scan.start;
  const prelude = scan.header;
  // Offsets from csvItems count the prelude; the body itself starts at `base`.
  const shift = prelude ? base - prelude.length : 0;
  // The header's bytes go into checkpoints: keep the first bytes until the header row is found.
  let head: Buffer[] | undefined = prelude ? undefined : [];
  let headLen = 0;
  if (!prelude) scan.hasher.holdFirst(DELIMITER_SNIFF_BYTES);
  const keepHead = (c: Buffer) => {
    scan.hasher.push(c);
    if (head && headLen <= 2 * max) {
      head.push(c);
      headLen += c.length;
    }
  };
  // A resumed scan has only the header: the delimiter its first attempt chose comes with it.
  const delimiter = {
    sniff: !prelude,
    delimiter: scan.delimiter,
    onDelimiter: (chosen: CsvDelimiter, byHeader: CsvDelimiter) => {
      if (!prelude && chosen !== byHeader) scan.delimiter = chosen;
    },
  };
  for await (const item of csvItems(counted(body, base, (n) => scan.read(n), keepHead), max, prelude, delimiter)) {
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

/**
 * A JSON array is walked element by element (json-array.ts) and cut between elements, as JSON
 * Lines is between lines: it was parsed whole, and a 250 MB array took 2.5 GB to plan and as much
 * for each partition's import, which read the whole array for its slice (the worker ran out of
 * heap). An element that is not JSON fails the object, as it did then.
 */
async function scanJsonArray(name: string, body: Readable, scan: ChunkCutter, max: number): Promise<void> {
  const bytes = counted(body, scan.start, (n) => scan.read(n), (c) => scan.hasher.push(c));
  for await (const e of arrayElements(name, bytes, { start: scan.start, bounded: false, max })) {
    if (e.oversized) scan.oversized++;
    else scan.infer.add(elementValue(name, e));
    scan.add(e.end);
  }
}
