import { S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../config';
import { readAvroRecords } from '../io/avro-object-reader';
import { s3Client } from '../storage/client';
import { parseS3Url } from '../storage/s3url';
import { noSnapshotsMessage } from './absent';
import { Change, changeList } from './changes';
import { DatasetRef, datasetRef, datasetUrlOf } from './layout';
import { inBucket, latestListedSnapshot, SnapshotError, stagesAt } from './store';
import type { ChangeKind, SnapshotPartition } from './types';

export interface ChangesOptions {
  /** The snapshot the consumer has (0: none, so everything is added). */
  since: number;
  /** The snapshot to compare with; the latest by default. */
  to?: number;
  /** Only this stage. */
  stage?: string;
  s3?: S3Client;
}

export interface DatasetChanges {
  dataset: string;
  from: number;
  to: number;
  changes: Change[];
}

/** Net changes from snapshot `since` to `to` (the latest by default), skipping the ones between. */
export async function datasetChanges(datasetUrl: string, opts: ChangesOptions): Promise<DatasetChanges> {
  const s3 = opts.s3 ?? s3Client(loadConfig().s3);
  const d = datasetRef(datasetUrl);
  return inBucket(s3, d.bucket, () => changesOf(s3, d, opts));
}

async function changesOf(s3: S3Client, d: DatasetRef, opts: ChangesOptions): Promise<DatasetChanges> {
  // Its own check below tells "no dataset" from "no snapshot yet", both failures here.
  const to = opts.to ?? (await latestListedSnapshot(s3, d));
  if (to === 0) throw new SnapshotError(await noSnapshotsMessage(s3, d));
  if (opts.since > to) throw new SnapshotError(`snapshot ${opts.since} is newer than snapshot ${to} of ${datasetUrlOf(d)}`);
  const [before, after] = await Promise.all([stagesAt(s3, d, opts.since), stagesAt(s3, d, to)]);
  if (opts.stage !== undefined && !(opts.stage in before) && !(opts.stage in after)) {
    throw new SnapshotError(`${datasetUrlOf(d)} has no stage ${JSON.stringify(opts.stage)} in snapshots ${opts.since} or ${to} (stages: ${[...new Set([...Object.keys(before), ...Object.keys(after)])].join(', ')})`);
  }
  return { dataset: datasetUrlOf(d), from: opts.since, to, changes: changeList(before, after, opts.stage) };
}

export interface ChangedPartition {
  stage: string;
  partition: string;
  name: string;
  change: ChangeKind;
  /** s3:// URL of the output now; for a removed partition, of the output it had. */
  url: string;
  entry: SnapshotPartition;
  previous?: SnapshotPartition;
  /** The output's records (none for a removed partition). */
  records(): AsyncIterable<unknown>;
}

export function recordsOf(s3: S3Client, url: string): AsyncIterable<unknown> {
  return (async function* () {
    const loc = parseS3Url(url);
    for await (const { record } of readAvroRecords(s3, loc.bucket, loc.key)) yield record;
  })();
}

/**
 * The library's consumer API: every partition added, changed or removed between two snapshots,
 * with a way to read its records.
 *
 *   for await (const p of changedPartitions('s3://partflow/datasets/offers/', { since: 41, stage: 'enrich' })) {
 *     if (p.change === 'removed') await index.deletePartition(p.partition);
 *     else for await (const r of p.records()) await index.put(r);
 *   }
 */
export async function* changedPartitions(datasetUrl: string, opts: ChangesOptions): AsyncGenerator<ChangedPartition> {
  const s3 = opts.s3 ?? s3Client(loadConfig().s3);
  const { changes } = await datasetChanges(datasetUrl, { ...opts, s3 });
  for (const c of changes) {
    const url = c.partition.output;
    yield {
      stage: c.stage, partition: c.partition.partition, name: c.partition.name, change: c.change, url, entry: c.partition, previous: c.previous,
      records: () => (c.change === 'removed' ? (async function* () {})() : recordsOf(s3, url)),
    };
  }
}

export { readCursor, commitCursor, consumerStart } from './cursors';
