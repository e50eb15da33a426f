import type { Chunk, FlatFormat, ScanCheckpoint, ScanOptions, ScanResult } from './flat';
import { ChunkHasher } from './chunk-hasher';
import type { CsvDelimiter } from './csv-delimiter';
import { FieldPlan, JsonSchemaInferrer, jsonRecordSchema } from './infer';
import { avroFieldNames, avroName } from './names';

/** Calls onProgress at least this often while scanning. */
const PROGRESS_BYTES = 8 * 1024 * 1024;
const PROGRESS_MS = 2_000;

/** Cuts chunks as records go by, and keeps the state at the last boundary for checkpoints. */
export class ChunkCutter {
  chunks: Chunk[];
  records: number;
  oversized: number;
  start: number;
  n = 0;
  bytes: number;
  header?: Buffer;
  headerEnd?: number;
  delimiter?: CsvDelimiter;
  columns?: string[];
  infer: JsonSchemaInferrer;
  readonly hasher: ChunkHasher;
  private boundary?: Omit<ScanCheckpoint, 'chunks'> & { nChunks: number };
  private lastProgress = Date.now();
  private progressAt: number;

  constructor(readonly format: FlatFormat, readonly perChunk: number, resume: ScanCheckpoint | undefined, readonly opts: ScanOptions, readonly max: number) {
    this.chunks = resume ? [...resume.chunks] : [];
    this.records = resume?.records ?? 0;
    this.oversized = resume?.oversized ?? 0;
    this.start = this.bytes = resume?.offset ?? 0;
    this.infer = resume?.infer ? JsonSchemaInferrer.from(resume.infer) : new JsonSchemaInferrer();
    if (resume?.header !== undefined) {
      this.header = Buffer.from(resume.header, 'base64');
      this.headerEnd = this.header.length;
    }
    if (resume?.delimiter) this.delimiter = resume.delimiter;
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
        oversized: this.oversized, header: this.header?.toString('base64'),
        ...(this.delimiter ? { delimiter: this.delimiter } : {}), infer: this.format !== 'csv' ? this.infer.state() : undefined,
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
    if (this.format !== 'csv') {
      const fields = this.infer.fields();
      return { format: this.format, chunks, records: this.records, schema: jsonRecordSchema(recordName, fields), fields, oversized: this.oversized };
    }
    const header = this.columns!;
    const fields: FieldPlan[] = avroFieldNames(header).map((f, i) => ({ name: f, source: header[i], type: 'string' }));
    const schema = {
      type: 'record', name: avroName(recordName), namespace: 'partflow.raw',
      fields: fields.map((f) => ({ name: f.name, type: ['null', 'string'], default: null, 'partflow.source': f.source })),
    };
    return {
      format: 'csv', chunks, records: this.records, schema, fields, headerEnd: this.headerEnd, oversized: this.oversized,
      ...(this.delimiter ? { delimiter: this.delimiter } : {}),
    };
  }
}

export function emptyScan(format: FlatFormat, recordName: string): ScanResult {
  return { format, chunks: [], records: 0, schema: jsonRecordSchema(recordName, []), fields: [], empty: true };
}
