import type { S3Client } from '@aws-sdk/client-s3';
import { objectExists } from '../storage/objects';
import { formatS3Url } from '../storage/s3url';
import { DatasetSourceConflictError } from './dataset-source';
import { DATASET_MARKER, datasetPrefix } from './layout';

/**
 * A dataset folder inside another dataset's folder (`--target s3://b/datasets/shop/ --dataset
 * inner` where datasets/shop/ is a dataset) mixes two datasets' objects: the outer one's readers
 * and tools list the inner one's outputs as if they were its own. New datasets are refused there.
 */

/** The folder keys above a dataset folder (ending in "/"), outermost first, the bucket's root left out. */
export function enclosingFolders(folder: string): string[] {
  const segs = folder.split('/').filter((s) => s !== '');
  return segs.slice(0, -1).map((_, i) => `${segs.slice(0, i + 1).join('/')}/`);
}

/** The folder of a dataset that would enclose the dataset `<targetPrefix><dataset>/`, or null. */
export async function enclosingDataset(s3: S3Client, bucket: string, targetPrefix: string, dataset: string): Promise<string | null> {
  const folders = enclosingFolders(`${datasetPrefix(targetPrefix, dataset)}/`);
  const found = await Promise.all(folders.map((f) => objectExists(s3, bucket, `${f}${DATASET_MARKER}`)));
  const k = found.indexOf(true);
  return k < 0 ? null : folders[k];
}

export function nestedDatasetRefusal(bucket: string, targetPrefix: string, dataset: string, enclosing: string): string {
  const inner = formatS3Url({ bucket, key: `${datasetPrefix(targetPrefix, dataset)}/` });
  const outer = formatS3Url({ bucket, key: enclosing });
  const parent = formatS3Url({ bucket, key: enclosing.slice(0, enclosing.slice(0, -1).lastIndexOf('/') + 1) });
  return `refusing to create the dataset ${inner}: it lies inside the dataset ${outer} (which has its own ${DATASET_MARKER}), and a dataset inside another mixes their objects. Give a target outside it, e.g. --target ${parent}`;
}

/** Thrown where an ingest is refused before it starts because its new dataset would lie inside another. */
export class NestedDatasetError extends DatasetSourceConflictError {
  constructor(message: string) {
    super(message);
    this.name = 'NestedDatasetError';
  }
}
