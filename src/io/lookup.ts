import { S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import { AvroFormatError } from '../avro/container-reader';
import { maxRecordBytes } from '../config';
import { isPartitionError, PartitionError } from '../pipeline/types';
import { oversizedReason, splitLines } from '../formats/records';
import { getObjectStream } from '../storage/objects';
import { formatS3Url } from '../storage/s3url';
import { readAvroRecords } from './avro-object-reader';
import { WeightedLru } from './weighted-lru';

/** Largest lookup table a stage may load into memory. */
export const MAX_LOOKUP_RECORDS = 5_000_000;

// Lookups are immutable for a run (read with If-Match on the planned ETag), so one worker loads a
// table once for all its partitions instead of once per partition: the sample's airports table
// cost ~30 ms of CPU per enrich activity. Bounded by total records held.
const CACHE_RECORDS = 2_000_000;
const cache = new WeightedLru<Promise<readonly Record<string, unknown>[]>>(Infinity, CACHE_RECORDS);

/**
 * A lookup table, loaded once per worker process and shared by the partitions that read it. The
 * records are frozen: a transform or setup that changed one would change it for every partition.
 */
export function cachedLookup(s3: S3Client, l: { bucket: string; key: string; etag: string; format: string }): Promise<readonly Record<string, unknown>[]> {
  const id = `${l.format}:${l.bucket}/${l.key}@${l.etag}`;
  const hit = cache.get(id);
  if (hit) return hit;
  const table: Promise<readonly Record<string, unknown>[]> = loadLookup(s3, l).then((records) => {
    for (const r of records) Object.freeze(r);
    cache.weigh(id, table, records.length);
    return Object.freeze(records);
  }, (err) => {
    cache.delete(id, table);
    throw err;
  });
  cache.set(id, table);
  return table;
}

/**
 * Loads a lookup table (a small side input such as a code list) as plain records. Read with
 * If-Match on the ETag the plan recorded, so every partition of a run sees the same table.
 */
export async function loadLookup(
  s3: S3Client, l: { bucket: string; key: string; etag: string; format: string },
): Promise<Record<string, unknown>[]> {
  const name = formatS3Url(l);
  try {
    return await readLookup(s3, l);
  } catch (err) {
    // The table is read at the ETag the plan pinned: a retry would read the same bytes and fail
    // the same way, so a table that cannot be read fails its partitions for good.
    if (err instanceof LookupFormatError || err instanceof AvroFormatError || String((err as { code?: unknown })?.code).startsWith('CSV_')) {
      throw new PartitionError(`${name} cannot be read as ${l.format.toUpperCase()}: ${(err as Error).message}`, { retryable: false, cause: err });
    }
    throw err;
  }
}

class LookupFormatError extends Error {}

/**
 * A table of the wrong shape (another export, a renamed column) would otherwise load and match
 * nothing, and every record would quietly go unresolved. Checked on the first record: a table's
 * records share their columns (a CSV's header, or the writer's schema).
 */
export function checkLookupColumns(table: readonly Record<string, unknown>[], columns: string[], url: string): void {
  if (table.length === 0) return;
  const missing = columns.filter((c) => !Object.hasOwn(table[0], c));
  if (missing.length) {
    throw new PartitionError(`${url} lacks the column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} the pipeline needs (it has ${Object.keys(table[0]).slice(0, 20).map((c) => `"${c}"`).join(', ')})`, { retryable: false });
  }
}

/**
 * What a stage's setup sees when loading or checking lookup `name` failed: a PartitionError names
 * the lookup (a worker's stage and partflow/testing's runStage say the same); others pass as they are.
 */
export function lookupFailure(name: string, err: unknown): unknown {
  return isPartitionError(err) ? new PartitionError(`lookup "${name}": ${err.message}`, { retryable: err.retryable, cause: err }) : err;
}

async function readLookup(s3: S3Client, l: { bucket: string; key: string; etag: string; format: string }): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const push = (r: Record<string, unknown>) => {
    if (out.length >= MAX_LOOKUP_RECORDS) throw new LookupFormatError(`it has more than ${MAX_LOOKUP_RECORDS} records`);
    out.push(r);
  };
  if (l.format === 'avro') {
    for await (const { record } of readAvroRecords(s3, l.bucket, l.key, { ifMatch: l.etag })) push(record as Record<string, unknown>);
    return out;
  }
  const body = await getObjectStream(s3, l.bucket, l.key, undefined, l.etag);
  if (l.format === 'csv') {
    const parser = body.pipe(parse({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: true }));
    body.on('error', (e) => parser.destroy(e));
    for await (const r of parser) push(r as Record<string, unknown>);
    return out;
  }
  for await (const r of readJsonLinesLookup(body)) push(r);
  return out;
}

/**
 * The records of a JSON Lines lookup table. Lines are split on bytes and decoded whole, so a
 * character split between two stream chunks stays intact.
 */
export async function* readJsonLinesLookup(body: AsyncIterable<Buffer>): AsyncGenerator<Record<string, unknown>> {
  let n = 0;
  for await (const l of splitLines(body, 0, maxRecordBytes())) {
    n++;
    if (l.oversized) throw new LookupFormatError(`line ${n}: ${oversizedReason(l, maxRecordBytes(), 'line')}`);
    const line = l.line.toString('utf8');
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new LookupFormatError(`line ${n}: ${(err as Error).message}`);
    }
  }
}
