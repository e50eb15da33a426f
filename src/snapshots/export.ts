import { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { jsonText } from '../formats/json-value';
import { openAvroObject } from '../io/avro-object-reader';
import { MultipartWriter } from '../storage/multipart';
import { headObject, PreconditionFailedError, putIfAbsent } from '../storage/objects';
import { parseS3Url } from '../storage/s3url';
import { datasetChanges } from './consume';
import { SnapshotError } from './store';
import { searchJson } from './search-json';

export interface ExportOptions {
  stage: string;
  since: number;
  to?: number;
  /** s3:// prefix under which `<stage>/<from>-<to>/` is written. */
  target: string;
  /** Adds the partition id to every record under this field, so an index can delete a partition's documents. */
  partitionField?: string;
  onPartition?: (p: ExportedPartition) => void;
}

export interface ExportedPartition {
  partition: string;
  name: string;
  change: 'added' | 'changed';
  /** s3:// URL of the gzipped JSON Lines file. */
  file: string;
  source: string;
  records: number;
  bytes: number;
}

export interface ExportManifest {
  kind: 'partflow.export';
  version: 1;
  dataset: string;
  stage: string;
  from: number;
  to: number;
  exportedAt: string;
  /** Added and changed partitions: load each file (for a changed one, after deleting the partition's old documents). */
  partitions: ExportedPartition[];
  /** Partitions that disappeared: delete their documents. */
  removed: { partition: string; name: string; previous: string }[];
  records: number;
}

const pad = (n: number) => String(n).padStart(8, '0');

/**
 * Exports the net changes of one stage between two snapshots as gzipped JSON Lines, one file per
 * added or changed partition, plus `removed.json` and `_export.json` (written last: its presence
 * means the export is whole). Files are create-only and deterministic, so a re-run of an
 * interrupted export keeps what is there and writes the rest.
 */
export async function exportChanges(s3: S3Client, datasetUrl: string, o: ExportOptions): Promise<{ url: string; manifest: ExportManifest }> {
  const { dataset, from, to, changes } = await datasetChanges(datasetUrl, { since: o.since, to: o.to, stage: o.stage, s3 });
  const target = parseS3Url(o.target, { prefix: true });
  const dir = `${target.key}${o.stage}/${pad(from)}-${pad(to)}/`;
  const partitions: ExportedPartition[] = [];
  for (const c of changes) {
    if (c.change === 'removed') continue;
    const key = `${dir}partitions/${c.partition.partition}.jsonl.gz`;
    const written = await writeJsonl(s3, c.partition.output, target.bucket, key, o.partitionField ? { [o.partitionField]: c.partition.partition } : undefined);
    if (written.records !== c.partition.records) {
      throw new SnapshotError(`partition ${c.partition.partition} (${c.partition.name}) of stage ${o.stage}: ${c.partition.output} holds ${written.records} records, its snapshot entry says ${c.partition.records}`);
    }
    const p: ExportedPartition = { partition: c.partition.partition, name: c.partition.name, change: c.change, file: `s3://${target.bucket}/${key}`, source: c.partition.output, records: written.records, bytes: written.bytes };
    partitions.push(p);
    o.onPartition?.(p);
  }
  const removed = changes.filter((c) => c.change === 'removed').map((c) => ({ partition: c.partition.partition, name: c.partition.name, previous: c.partition.output }));
  const manifest: ExportManifest = {
    kind: 'partflow.export', version: 1, dataset, stage: o.stage, from, to, exportedAt: new Date().toISOString(), partitions, removed,
    records: partitions.reduce((n, p) => n + p.records, 0),
  };
  await put(s3, target.bucket, `${dir}removed.json`, JSON.stringify({ partitions: removed }, null, 1));
  await put(s3, target.bucket, `${dir}_export.json`, JSON.stringify(manifest, null, 1));
  return { url: `s3://${target.bucket}/${dir}`, manifest };
}

async function put(s3: S3Client, bucket: string, key: string, body: string): Promise<void> {
  await putIfAbsent(s3, bucket, key, body, 'application/json').catch((err) => {
    if (!(err instanceof PreconditionFailedError)) throw err;
  });
}

async function writeJsonl(s3: S3Client, source: string, bucket: string, key: string, extra?: Record<string, string>): Promise<{ records: number; bytes: number }> {
  const loc = parseS3Url(source);
  const reader = await openAvroObject(s3, loc.bucket, loc.key);
  const type = reader.header.writerType;
  let records = 0;
  async function* lines() {
    for await (const { record } of reader.records()) {
      records++;
      const doc = searchJson(type, record) as Record<string, unknown>;
      yield `${jsonText(extra ? { ...doc, ...extra } : doc)}\n`;
    }
  }
  const writer = new MultipartWriter(s3, bucket, key, { contentType: 'application/gzip' });
  try {
    await pipeline(Readable.from(lines()), createGzip(), async (gz: AsyncIterable<Buffer>) => {
      for await (const chunk of gz) {
        await writer.write(chunk);
      }
    });
    return { records, bytes: await writer.complete() };
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) {
      await writer.abort().catch(() => undefined);
      throw err;
    }
    // An earlier export of this range wrote the same file.
    return { records, bytes: (await headObject(s3, bucket, key)).size };
  }
}
