import fs from 'node:fs';
import { Readable } from 'node:stream';
import { typeForSchema } from '../avro/type-cache';
import { FlatFormat, scanFlatFile } from '../formats/flat';
import { readChunk } from '../formats/flat-read';
import { formatOf } from '../formats/detect';
import { gunzipRange, isGzipKey } from '../formats/source';
import { jsonText } from '../formats/json-value';
import { RecordEncodeError } from '../io/avro-object-writer';
import type { RecordCounts } from '../manifest/partition';
import { RAW_STAGE } from '../pipeline/types';
import { MemoryAvro } from './memory-avro';
import type { StageReject } from './run-stage';

export interface RawRecordsOptions {
  /** The file's bytes; default: read `file` from disk. */
  content?: Buffer | string;
  /** The format, as an ingest's "format" sets it; default: by the file's name (.csv, .jsonl, .ndjson, .json, each maybe .gz). */
  format?: FlatFormat;
  /** The partition id the rejects name (default "p-test"). */
  partition?: string;
}

export interface RawRecords<T = Record<string, unknown>> {
  /** The raw stage's records, as the first stage's transform gets them: give them to runStage. */
  records: T[];
  /** Lines or rows the import rejects (not JSON, not UTF-8, a CSV row of the wrong width, …): they never reach a stage. */
  rejects: StageReject[];
  counts: RecordCounts;
  /** The raw Avro schema inferred for the file, as planning infers it (JSON-text fields carry "partflow.encoding": "json"). */
  schema: object;
}

/**
 * What an ingest's import makes of one flat file: the records of the "raw" stage, decoded as a
 * stage reads them, through the same schema inference, parsing and Avro encoding as a worker.
 * Records that arrive from a file can differ from the objects written in a test: a CSV cell is
 * always a string, and a JSON field whose values are of different kinds ("12.50" in one line, 3
 * in another) holds each value's JSON text ('"12.50"', '3'). Testing a stage on these records
 * tests it on what a real ingest gives it. `T` only types the records: nothing checks it.
 */
export async function rawRecords<T = Record<string, unknown>>(file: string, opts: RawRecordsOptions = {}): Promise<RawRecords<T>> {
  const format = opts.format ?? formatOf(file);
  if (format === undefined || format === 'avro') {
    throw new Error(`rawRecords: cannot tell the flat format of ${file} (known endings: .csv .jsonl .ndjson .json, each maybe .gz; or pass options.format)`);
  }
  let bytes: Buffer = opts.content === undefined ? fs.readFileSync(file) : Buffer.from(opts.content);
  // An ingest decompresses .gz sources as they stream, with the same code.
  if (isGzipKey(file)) bytes = await readAll(gunzipRange(file, Readable.from([bytes]), 0));
  // One chunk: an ingest's chunks cut a file between records, which changes none of them.
  const scan = await scanFlatFile(file, format, Readable.from([bytes]), Number.MAX_SAFE_INTEGER, 'raw');
  const partition = opts.partition ?? 'p-test';
  const counts: RecordCounts = { in: 0, out: 0, rejected: 0, dropped: 0 };
  const rejects: StageReject[] = [];
  if (scan.empty) return { records: [], rejects, counts, schema: scan.schema };
  const avro = new MemoryAvro(typeForSchema(JSON.stringify(scan.schema)), `${file} (raw)`);
  const header = scan.headerEnd === undefined ? undefined : bytes.subarray(0, scan.headerEnd);
  const reject = (index: number, reason: string, record: string) => {
    rejects.push({ stage: RAW_STAGE, partition, source: file, index, reason, record });
    counts.rejected++;
  };
  for (const chunk of scan.chunks) {
    const body = bytes.subarray(chunk.start, chunk.end < 0 ? undefined : chunk.end);
    for await (const rec of readChunk(file, format, Readable.from([body]), chunk, scan.fields, header && { header, delimiter: scan.delimiter })) {
      const index = counts.in++;
      if (!rec.ok) {
        reject(index, rec.reason, rec.raw);
        continue;
      }
      try {
        avro.add(rec.value);
        counts.out++;
      } catch (err) {
        if (!(err instanceof RecordEncodeError)) throw err;
        reject(index, `does not fit the raw schema: ${err.message}`, jsonText(rec.value));
      }
    }
  }
  return { records: (await avro.records()) as T[], rejects, counts, schema: scan.schema };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
