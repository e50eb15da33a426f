import type { S3Client } from '@aws-sdk/client-s3';
import { DATASET_MARKER } from '../pipeline/layout';
import { objectExists, prefixIsEmpty } from '../storage/objects';
import { DatasetRef, datasetUrlOf, snapshotsPrefix } from './layout';

/**
 * Why no dataset is stored at `d`, or null when one is. A dataset gets its `_partflow.json` when
 * its first ingest plans and its first snapshot when that ingest ends: in between it is a real
 * dataset with no snapshot yet. A URL with neither is none at all, most often a typo, and must
 * not pass for a dataset that is merely empty. (Datasets from before the marker have snapshots.)
 */
export async function noDatasetReason(s3: S3Client, d: DatasetRef): Promise<string | null> {
  if (await objectExists(s3, d.bucket, `${d.prefix}${DATASET_MARKER}`)) return null;
  if (!(await prefixIsEmpty(s3, d.bucket, snapshotsPrefix(d)))) return null;
  const url = datasetUrlOf(d);
  if (await prefixIsEmpty(s3, d.bucket, d.prefix)) return `nothing stored at ${url} (no ${DATASET_MARKER}): check the URL`;
  return `no partflow dataset at ${url} (no ${DATASET_MARKER} and no snapshots, though other objects are stored under it): check the URL`;
}

/** What a dataset URL without snapshots is: no dataset (the reason), or one whose first ingest has not ended. */
export async function noSnapshotsMessage(s3: S3Client, d: DatasetRef): Promise<string> {
  return (await noDatasetReason(s3, d)) ?? `${datasetUrlOf(d)} has no snapshots yet: an ingest commits one when it ends`;
}
