import { S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { PartitionManifest } from '../manifest/partition';
import { entryOutsideDataset } from '../snapshots/head-check';
import { datasetRef, datasetUrlOf } from '../snapshots/layout';
import { latestListedSnapshot, readSnapshot } from '../snapshots/store';
import { getJson, ObjectNotFoundError } from '../storage/objects';
import { parseS3Url } from '../storage/s3url';

/**
 * A snapshot's entries against the partition manifests they name: readers of a snapshot (export,
 * consumers) trust its record counts, SHA-256 and URLs, which nothing else checks. Manifests are
 * small, so this is cheap beside decoding the outputs.
 */
export interface SnapshotCheck {
  snapshot: number;
  entries: number;
  /** The manifests the entries name (inside the dataset), for a full verify of their outputs. */
  manifests: string[];
  problems: string[];
}

/** What a URL under `_snapshots/` is: a head (its dataset and number), a part file, or neither. */
export function snapshotFileOf(url: string): { dataset: string; snapshot: number } | { dataset: string; part: true } | null {
  const head = /^(s3:\/\/.+\/)_snapshots\/(\d{8,})\.json$/.exec(url);
  if (head) return { dataset: head[1], snapshot: Number(head[2]) };
  const part = /^(s3:\/\/.+\/)_snapshots\/parts\/[^/]+\.json$/.exec(url);
  return part ? { dataset: part[1], part: true } : null;
}

/** The latest snapshot of a prefix that is a dataset folder, or 0 (a stage folder, a bucket, a prefix of many datasets). */
export async function latestSnapshotUnder(s3: S3Client, url: string): Promise<number> {
  const loc = parseS3Url(url.endsWith('/') ? url : `${url}/`, { prefix: true });
  if (loc.key === '') return 0;
  return latestListedSnapshot(s3, datasetRef(`s3://${loc.bucket}/${loc.key}`));
}

export async function checkSnapshotEntries(s3: S3Client, datasetUrl: string, n: number): Promise<SnapshotCheck> {
  const d = datasetRef(datasetUrl);
  const ds = datasetUrlOf(d);
  const s = await readSnapshot(s3, d, n);
  const problems: string[] = [];
  const manifests: string[] = [];
  const limit = pLimit(16);
  let entries = 0;
  await Promise.all(Object.entries(s.stages).flatMap(([stage, list]) => list.map((e) => limit(async () => {
    entries++;
    const where = `snapshot ${n}, stage ${stage}, partition ${e.partition} (${e.name})`;
    const outside = entryOutsideDataset(ds, e);
    if (outside) return void problems.push(`${where}: ${outside}`);
    manifests.push(e.manifest);
    const loc = parseS3Url(e.manifest);
    let m: PartitionManifest;
    try {
      m = await getJson<PartitionManifest>(s3, loc.bucket, loc.key);
    } catch (err) {
      return void problems.push(`${where}: manifest ${e.manifest} ${err instanceof ObjectNotFoundError ? 'is missing' : `cannot be read: ${(err as Error).message}`}`);
    }
    if (m.output.url !== e.output) problems.push(`${where}: output ${e.output}, but its manifest ${e.manifest} names ${m.output.url}`);
    if (m.output.records !== e.records) problems.push(`${where}: ${e.records} records, but its manifest ${e.manifest} says ${m.output.records}`);
    if (m.output.sha256 !== e.sha256) problems.push(`${where}: sha256 ${e.sha256}, but its manifest ${e.manifest} says ${m.output.sha256}`);
  }))));
  return { snapshot: n, entries, manifests: manifests.sort(), problems: problems.sort() };
}
