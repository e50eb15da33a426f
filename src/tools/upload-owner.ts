import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { leadingString } from '../pipeline/dataset-source';
import { DATASET_MARKER } from '../pipeline/layout';
import { enclosingFolders } from '../pipeline/nested-dataset';
import { objectExists } from '../storage/objects';
import type { StaleUpload } from './gc';

/**
 * Which multipart uploads partflow started. A bucket is often shared, and an upload another
 * program keeps open for hours (a database dump) looks stale by age alone: `gc --uploads` aborts
 * only uploads whose key says, with what lies beside it, that partflow writes there:
 *
 *   dataset  any key inside a folder holding `_partflow.json` (partition outputs and rejects,
 *            run manifests; an ingest writes the marker when it plans, before any upload)
 *   import   `<dir>/part-NNNNN.avro` or `<dir>/_rejects/part-NNNNN.avro` where the first of
 *            `<dir>/_manifests/part-*.json` is a partflow partition manifest (an import writes
 *            one after each partition, so the upload of a first partition is not recognised)
 *   export   `<dir>partitions/<id>.jsonl.gz` where `<dir>_export.started.json` is an export's
 *            started marker (written before any file)
 *
 * Each folder is looked at once, however many uploads it holds: a HEAD for the marker per folder
 * above the uploads' keys, from the bucket's top down to the first dataset folder, then one LIST
 * and one ranged GET per import folder and one ranged GET per export folder.
 */
export interface UploadOwner {
  kind: 'dataset' | 'import' | 'export';
  /** The dataset, import or export folder (a key ending in "/"). */
  folder: string;
}

export interface SortedUploads {
  ours: (StaleUpload & { owner: UploadOwner })[];
  /** Uploads of other programs, or of partflow where nothing beside them says so: left alone. */
  foreign: StaleUpload[];
}

const IMPORT_PART = /^(.*?\/)(?:_rejects\/)?part-\d{5,}\.avro$/;
const EXPORT_FILE = /^(.*\/)partitions\/[^/]+\.jsonl\.gz$/;

export async function sortUploads(s3: S3Client, bucket: string, uploads: StaleUpload[]): Promise<SortedUploads> {
  const limit = pLimit(16);
  const seen = new Map<string, Promise<boolean>>();
  const once = (key: string, test: () => Promise<boolean>) => {
    let p = seen.get(key);
    if (!p) seen.set(key, (p = limit(test)));
    return p;
  };
  const isDataset = (folder: string) => once(`${folder}${DATASET_MARKER}`, () => objectExists(s3, bucket, `${folder}${DATASET_MARKER}`));
  const kindIs = (key: string, kind: string) => once(key, async () => (await leadingString(s3, bucket, key, 'kind')) === kind);
  const isImport = (dir: string) => once(`${dir}_manifests/`, async () => {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${dir}_manifests/part-`, MaxKeys: 1 }));
    const first = res.Contents?.[0]?.Key;
    return first !== undefined && /\/part-\d{5,}\.json$/.test(first) && kindIs(first, 'partflow.partition');
  });

  const ownerOf = async (key: string): Promise<UploadOwner | null> => {
    // Outermost first: a dataset's many partition folders are never looked at one by one.
    for (const folder of enclosingFolders(key)) if (await isDataset(folder)) return { kind: 'dataset', folder };
    const imp = IMPORT_PART.exec(key);
    if (imp && await isImport(imp[1])) return { kind: 'import', folder: imp[1] };
    const exp = EXPORT_FILE.exec(key);
    if (exp && await kindIs(`${exp[1]}_export.started.json`, 'partflow.export.started')) return { kind: 'export', folder: exp[1] };
    return null;
  };

  const owners = await Promise.all(uploads.map((u) => ownerOf(u.key)));
  const out: SortedUploads = { ours: [], foreign: [] };
  uploads.forEach((u, i) => {
    const owner = owners[i];
    if (owner) out.ours.push({ ...u, owner });
    else out.foreign.push(u);
  });
  return out;
}
