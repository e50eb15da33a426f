import { S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import { maxRecordBytes } from '../config';
import { oversizedReason, splitLines } from '../formats/records';
import { getObjectStream } from '../storage/objects';
import { formatS3Url } from '../storage/s3url';
import { readAvroRecords } from './avro-object-reader';

/** Largest lookup table a stage may load into memory. */
export const MAX_LOOKUP_RECORDS = 5_000_000;

/**
 * Loads a lookup table (a small side input such as a code list) as plain records. Read with
 * If-Match on the ETag the plan recorded, so every partition of a run sees the same table.
 */
export async function loadLookup(
  s3: S3Client, l: { bucket: string; key: string; etag: string; format: string },
): Promise<Record<string, unknown>[]> {
  const name = formatS3Url(l);
  const out: Record<string, unknown>[] = [];
  const push = (r: Record<string, unknown>) => {
    if (out.length >= MAX_LOOKUP_RECORDS) throw new Error(`lookup ${name} has more than ${MAX_LOOKUP_RECORDS} records`);
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
  for await (const r of readJsonLinesLookup(name, body)) push(r);
  return out;
}

/**
 * The records of a JSON Lines lookup table. Lines are split on bytes and decoded whole, so a
 * character split between two stream chunks stays intact.
 */
export async function* readJsonLinesLookup(name: string, body: AsyncIterable<Buffer>): AsyncGenerator<Record<string, unknown>> {
  let n = 0;
  for await (const l of splitLines(body, 0, maxRecordBytes())) {
    n++;
    if (l.oversized) throw new Error(`lookup ${name} line ${n}: ${oversizedReason(l, maxRecordBytes(), 'line')}`);
    const line = l.line.toString('utf8');
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`lookup ${name} line ${n}: ${(err as Error).message}`);
    }
  }
}
