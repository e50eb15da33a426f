/**
 * An S3 source's objects as planning reads them, shared with the client's checks before a run
 * starts, so that both see the same source (an object, or a prefix) and the same objects.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { isIgnoredKey } from '../formats/detect';
import { listFirstPage, listObjects, ObjectInfo } from '../storage/objects';
import { formatS3Url } from '../storage/s3url';
import { DATASET_MARKER, partitionFileOf } from './layout';
import { endpointPathNote } from '../storage/endpoint-path';
import { sourceFormatOf, UnsupportedSourceError } from './source-format';

export interface SourceListing {
  /** Everything listed, partflow's outputs and ignored keys included. */
  listed: ObjectInfo[];
  /** The prefix the source's keys are relative to (its folder, for a single object). */
  prefix: string;
  /** The source as read: an object's URL, or a prefix's ending in "/". */
  source: string;
  /** The source named one object: it is read whatever its name (a "_" or "." name is skipped only under a prefix). */
  exact?: boolean;
}

/**
 * The objects of a listing that are source data: not hidden ("." names) or Hadoop-style markers
 * and temporary folders ("_" names, as Spark skips _SUCCESS and _temporary/), unless the source
 * named that very object.
 */
export function sourceObjectsOf(objects: ObjectInfo[], prefix: string, exact = false): { objects: ObjectInfo[]; hidden: ObjectInfo[] } {
  if (exact) return { objects, hidden: [] };
  const hidden = objects.filter((o) => isIgnoredKey(o.key, prefix));
  return { objects: hidden.length ? objects.filter((o) => !isIgnoredKey(o.key, prefix)) : objects, hidden: hidden.filter((o) => o.key !== prefix) };
}

/** An exact object key is a source of one object; otherwise everything under the prefix (with its "/"). */
export async function listSource(s3: S3Client, bucket: string, sourcePrefix: string): Promise<SourceListing> {
  let prefix = sourcePrefix;
  let listed = await listObjects(s3, bucket, prefix);
  let source = formatS3Url({ bucket, key: prefix });
  if (prefix !== '' && !prefix.endsWith('/')) {
    const exact = listed.filter((o) => o.key === prefix);
    if (exact.length) {
      listed = exact;
      prefix = prefix.slice(0, prefix.lastIndexOf('/') + 1);
      return { listed, prefix, source, exact: true };
    }
    prefix += '/';
    source += '/';
    listed = await listObjects(s3, bucket, prefix);
  }
  return { listed, prefix, source };
}

/** The folders of a listing that hold a dataset marker: partflow's own datasets. */
export function datasetFolders(listed: ObjectInfo[]): string[] {
  return listed.filter((o) => o.key.endsWith(`/${DATASET_MARKER}`)).map((o) => o.key.slice(0, -DATASET_MARKER.length));
}

/**
 * A listing less partflow's own outputs (every dataset folder in it), and, in a stage's output
 * folder read as a source, less the manifests and rejects kept beside the outputs.
 */
export function withoutDatasets(listed: ObjectInfo[], owned = datasetFolders(listed)): ObjectInfo[] {
  return listed.filter((o) => !owned.some((d) => o.key.startsWith(d)) && (partitionFileOf(o.key)?.kind ?? 'output') === 'output');
}

/**
 * What planning would surely refuse of an S3 source, from the first page of its listing alone (a
 * second for a key with no "/" that is no object: then the prefix of that name is the source, as
 * in listSource): nothing in it (SourceEmptyError), or, with no `format` given, names that tell
 * no single format (UnsupportedSourceError). Undefined when unsure: a page with more after it is
 * left to planning, which lists everything (a dataset's marker may be on a later page than its
 * outputs, which are no source objects).
 */
export async function sourceRefusal(s3: S3Client, bucket: string, sourcePrefix: string, source: string, format?: string): Promise<SourceEmptyError | UnsupportedSourceError | undefined> {
  let prefix = sourcePrefix;
  let { objects: listed, truncated } = await listFirstPage(s3, bucket, prefix);
  let one = false;
  if (prefix !== '' && !prefix.endsWith('/')) {
    const exact = listed.find((o) => o.key === prefix);
    if (exact) {
      [listed, truncated, one] = [[exact], false, true];
      prefix = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    } else {
      prefix += '/';
      ({ objects: listed, truncated } = await listFirstPage(s3, bucket, prefix));
    }
  }
  if (truncated) return undefined;
  const { objects } = sourceObjectsOf(withoutDatasets(listed), prefix, one);
  if (objects.length === 0) return new SourceEmptyError(source);
  if (format) return undefined;
  const found = sourceFormatOf(bucket, source, objects.map((o) => o.key));
  return found instanceof UnsupportedSourceError ? found : undefined;
}

/** Whether planning would find no source objects (SourceEmpty) in this listing. */
export function holdsNoSourceObjects(l: SourceListing): boolean {
  return sourceObjectsOf(withoutDatasets(l.listed), l.prefix, l.exact).objects.length === 0;
}

/** Thrown where an ingest of a source with nothing in it is refused before it starts (the CLI, the client library). */
export class SourceEmptyError extends Error {
  constructor(source: string) {
    super(`no source objects under ${source}`);
    this.name = 'SourceEmptyError';
  }
}

/** The target's bucket is missing: every partition would fail to commit there. */
export class TargetBucketMissingError extends Error {
  constructor(readonly target: string, readonly bucket: string, readonly endpoint: string) {
    super(`target ${target}: the bucket "${bucket}" does not exist at ${endpoint} (S3 NoSuchBucket): `
      + `create it, or give another target (--target, the input's "target"; by default datasets/ in the source's bucket)${endpointPathNote(endpoint)}`);
    this.name = 'TargetBucketMissingError';
  }
}

/**
 * Thrown where an ingest or a schedule of an S3 source whose bucket does not exist is refused
 * before anything starts (the CLI, the client library): S3's own words name neither the bucket
 * nor the store.
 */
export class SourceBucketMissingError extends Error {
  constructor(readonly source: string, readonly bucket: string, readonly endpoint: string) {
    super(`source ${source}: the bucket "${bucket}" does not exist at ${endpoint} (S3 NoSuchBucket): `
      + `check the bucket name in the URL, and that AWS_ENDPOINT_URL_S3 points at the store that holds it${endpointPathNote(endpoint)}`);
    this.name = 'SourceBucketMissingError';
  }
}
