import { S3Client } from '@aws-sdk/client-s3';
import { Type } from 'avsc';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { ContainerReader } from '../avro/container-reader';
import { jsonText } from '../formats/json-value';
import { openAvroObject } from '../io/avro-object-reader';
import { MultipartWriter } from '../storage/multipart';
import { getObjectStream, PreconditionFailedError } from '../storage/objects';
import { formatS3Url, parseS3Url } from '../storage/s3url';
import { searchJson } from './search-json';
import { SnapshotError } from './store';
import type { SnapshotPartition } from './types';

/**
 * One partition's export file: its output's records as gzipped JSON Lines, checked against the
 * snapshot entry (SHA-256 and record count) before the file becomes visible.
 */

/** Whether records of this Avro type already have a top-level field of that name (the partition field would overwrite it). */
export function hasTopLevelField(type: Type, field: string): boolean {
  const fields = (type as Type & { fields?: { name: string }[] }).fields;
  return !!fields?.some((f) => f.name === field);
}

/** Refuses a --partition-field that the records of `url` already carry. */
export function refuseFieldClash(type: Type, field: string, url: string, stage: string): void {
  if (!hasTopLevelField(type, field)) return;
  throw new SnapshotError(`--partition-field ${field}: the records of stage ${stage} already have a field "${field}" (schema of ${url}), which the partition id would overwrite in every document; nothing was exported: choose another name, e.g. _partition`);
}

/** Reads the header of an output only: its writer schema. */
export async function outputType(s3: S3Client, url: string): Promise<Type> {
  const loc = parseS3Url(url);
  const reader = await openAvroObject(s3, loc.bucket, loc.key);
  reader.close();
  return reader.header.writerType;
}

export interface WrittenFile {
  records: number;
  bytes: number;
  /** The Avro schema of the output the file was written from, as its header has it. */
  schemaJson: string;
}

/**
 * Writes `key` from the entry's output. The output's bytes must hash to the entry's SHA-256 and
 * hold its record count, or nothing is written. A file already there (an earlier, interrupted
 * attempt of this export) is kept only if it holds exactly what this one would write.
 */
export async function writeJsonl(s3: S3Client, entry: SnapshotPartition, stage: string, bucket: string, key: string, partitionField?: string): Promise<WrittenFile> {
  const where = `partition ${entry.partition} (${entry.name}) of stage ${stage}`;
  const loc = parseS3Url(entry.output);
  const body = await getObjectStream(s3, loc.bucket, loc.key);
  const source = createHash('sha256');
  body.on('data', (c: Buffer) => source.update(c));
  const reader = await ContainerReader.open(body, { name: entry.output });
  const type = reader.header.writerType;
  const schemaJson = reader.header.schemaJson;
  if (partitionField) {
    try {
      refuseFieldClash(type, partitionField, entry.output, stage);
    } catch (err) {
      reader.close();
      throw err;
    }
  }
  const extra = partitionField ? { [partitionField]: entry.partition } : undefined;
  const text = createHash('sha256');
  let records = 0;
  async function* lines() {
    for await (const { record } of reader.records()) {
      records++;
      const doc = searchJson(type, record) as Record<string, unknown>;
      const line = `${jsonText(extra ? { ...doc, ...extra } : doc)}\n`;
      text.update(line);
      yield line;
    }
    // Checked before the file is completed: a failed check leaves no file behind.
    const sha = source.digest('hex');
    if (sha !== entry.sha256) throw new SnapshotError(`${where}: ${entry.output} has SHA-256 ${sha}, its snapshot entry says ${entry.sha256}: the output or the snapshot file was changed after the commit; nothing was written for it`);
    if (records !== entry.records) throw new SnapshotError(`${where}: ${entry.output} holds ${records} records, its snapshot entry says ${entry.records}; nothing was written for it`);
  }
  const writer = new MultipartWriter(s3, bucket, key, { contentType: 'application/gzip' });
  try {
    await pipeline(Readable.from(lines()), createGzip(), async (gz: AsyncIterable<Buffer>) => {
      for await (const chunk of gz) {
        await writer.write(chunk);
      }
    });
    return { records, bytes: await writer.complete(), schemaJson };
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) {
      await writer.abort().catch(() => undefined);
      throw err;
    }
    // The started marker says an earlier attempt of this export may have written it; anything else
    // (a hand-put file, a half-written one from another tool) would be loaded as if it were ours.
    const there = await existingText(s3, bucket, key);
    const file = formatS3Url({ bucket, key });
    if (!there || there.sha256 !== text.digest('hex')) {
      throw new SnapshotError(`${file} is already there and does not hold what this export writes for ${where} (${there ? 'other records' : 'not gzipped JSON Lines'}): delete it, or the whole export folder, and export again`);
    }
    return { records, bytes: there.bytes, schemaJson };
  }
}

/** The SHA-256 of an existing file's uncompressed text (gzip bytes vary with zlib's version, the text does not), or null when it is not gzip. */
async function existingText(s3: S3Client, bucket: string, key: string): Promise<{ sha256: string; bytes: number } | null> {
  const body = await getObjectStream(s3, bucket, key);
  let bytes = 0;
  body.on('data', (c: Buffer) => { bytes += c.length; });
  const hash = createHash('sha256');
  try {
    await pipeline(body, createGunzip(), async (text: AsyncIterable<Buffer>) => {
      for await (const c of text) hash.update(c);
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code?.startsWith('Z_')) return null;
    throw err;
  }
  return { sha256: hash.digest('hex'), bytes };
}
