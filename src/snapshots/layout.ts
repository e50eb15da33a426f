import { parseS3Url } from '../storage/s3url';

/**
 * Where a dataset's snapshots and consumer cursors live, beside its stages:
 *
 *   <dataset>/_snapshots/00000042.json            snapshot 42 (the head; a reader's commit point)
 *   <dataset>/_snapshots/parts/<sha256>.json       part files of large snapshots, written before the head
 *   <dataset>/_consumers/<name>.json               a consumer's cursor (the last snapshot it processed)
 *
 * Numbers are zero-padded to 8 digits so that a listing returns them in order.
 */
export interface DatasetRef {
  bucket: string;
  /** Key prefix of the dataset folder, ending with "/". */
  prefix: string;
}

export function datasetRef(datasetUrl: string): DatasetRef {
  const loc = parseS3Url(datasetUrl, { prefix: true });
  if (loc.key === '') throw new Error(`${datasetUrl} is a bucket, not a dataset: give s3://bucket/prefix/<dataset>/`);
  return { bucket: loc.bucket, prefix: loc.key };
}

/** A dataset as the library's functions take it: its s3:// URL, or a ref from datasetRef(). */
export type DatasetLike = DatasetRef | string;
export const asDatasetRef = (d: DatasetLike): DatasetRef => (typeof d === 'string' ? datasetRef(d) : d);

export const datasetUrlOf = (d: DatasetRef) => `s3://${d.bucket}/${d.prefix}`;
/** The dataset's own name: the last segment of its prefix (`shipments` for s3://b/datasets/shipments/). */
export const datasetNameOf = (d: DatasetRef) => d.prefix.slice(0, -1).split('/').pop()!;
export const snapshotsPrefix = (d: DatasetRef) => `${d.prefix}_snapshots/`;
export const snapshotKey = (d: DatasetRef, n: number) => `${snapshotsPrefix(d)}${String(n).padStart(8, '0')}.json`;
export const partKey = (d: DatasetRef, file: string) => `${snapshotsPrefix(d)}${file}`;
export const consumersPrefix = (d: DatasetRef) => `${d.prefix}_consumers/`;

const HEAD = /^(\d{8,})\.json$/;

/** The number of a snapshot head's key (relative to `_snapshots/`), or null. */
export function snapshotNumberOf(name: string): number | null {
  const m = HEAD.exec(name);
  return m ? Number(m[1]) : null;
}

const CONSUMER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function consumerKey(d: DatasetRef, name: string): string {
  if (!CONSUMER.test(name)) throw new Error(`bad consumer name ${JSON.stringify(name)}: up to 128 letters, digits, ".", "_" and "-", starting with a letter or digit`);
  return `${consumersPrefix(d)}${name}.json`;
}
