import { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { getJson, getJsonIfPresent, getObjectBuffer, listObjects, ObjectNotFoundError, PreconditionFailedError, putIfAbsent } from '../storage/objects';
import { formatS3Url, parseS3Url } from '../storage/s3url';
import { Change } from './changes';
import { datasetChanges, DatasetChanges } from './consume';
import { outputType, refuseFieldClash, writeJsonl } from './export-file';
import { entryOutsideDataset } from './head-check';
import { datasetNameOf, datasetRef } from './layout';
import { inBucket, SnapshotError } from './store';

export interface ExportOptions {
  stage: string;
  since: number;
  to?: number;
  /** s3:// prefix under which `<dataset name>/<stage>/<from>-<to>/` is written. */
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
  /** Key of the output's Avro schema in the manifest's `schemas` (absent in exports made before partflow recorded them). */
  schema?: string;
}

export interface ExportManifest {
  kind: 'partflow.export';
  version: 1;
  dataset: string;
  stage: string;
  from: number;
  to: number;
  exportedAt: string;
  /** The field each record carries its partition id under, if the export added one. */
  partitionField?: string;
  /** Added and changed partitions: load each file (for a changed one, after deleting the partition's old documents). */
  partitions: ExportedPartition[];
  /** Partitions that disappeared: delete their documents. */
  removed: { partition: string; name: string; previous: string }[];
  records: number;
  /**
   * The Avro schemas the exported records were written with, as their outputs' headers have them,
   * by the SHA-256 of that text: what each JSON value's type is (a long, a timestamp, bytes as
   * base64). More than one when the stage's schema changed between the partitions' commits.
   */
  schemas?: Record<string, unknown>;
}

type ExportResult = { url: string; manifest: ExportManifest; alreadyWhole?: boolean };

const pad = (n: number) => String(n).padStart(8, '0');

/** Raised when the target folder already holds (part of) an export of another dataset or with other options. */
export class ExportConflictError extends SnapshotError {
  constructor(folder: string, theirs: ExportIdentity, ours: ExportIdentity, whole: boolean) {
    const what = (x: ExportIdentity) => `${x.dataset} ${x.partitionField ? `with --partition-field ${x.partitionField}` : 'without --partition-field'}`;
    super(`${folder} already holds ${whole ? 'an' : 'an unfinished'} export of ${what(theirs)}; this export is of ${what(ours)}. `
      + `Its files would mix with that export's: export to another --to prefix, or delete ${folder} first to replace it`);
    this.name = 'ExportConflictError';
  }
}

/** What makes two exports of one stage and snapshot range write different files. */
interface ExportIdentity {
  dataset: string;
  partitionField?: string;
}

const sameIdentity = (a: ExportIdentity, b: ExportIdentity) => a.dataset === b.dataset && (a.partitionField ?? null) === (b.partitionField ?? null);

/**
 * Exports the net changes of one stage between two snapshots as gzipped JSON Lines, one file per
 * added or changed partition, plus `removed.json` and `_export.json` (written last: its presence
 * means the export is whole), under `<target>/<dataset name>/<stage>/<from>-<to>/`.
 * `_export.started.json`, written first, names the dataset and options: a folder holding an export
 * of another dataset (one of the same name elsewhere) or with other options is refused, as its
 * create-only files would silently stay; one of the same dataset and options resumes, keeping each
 * file there that holds what it would write (any other is refused) and writing the rest. A folder
 * with objects but no marker is refused. Entries are checked against the snapshot (inside the
 * dataset, SHA-256, records) and --partition-field against the records' fields before a file is
 * written. A whole one is returned as it is.
 */
export async function exportChanges(s3: S3Client, datasetUrl: string, o: ExportOptions): Promise<ExportResult> {
  // datasetChanges says a missing bucket of the dataset's; one met after it is the target's.
  const changes = await datasetChanges(datasetUrl, { since: o.since, to: o.to, stage: o.stage, s3 });
  const target = parseS3Url(o.target, { prefix: true });
  return inBucket(s3, target.bucket, () => exportTo(s3, target, changes, o));
}

async function exportTo(s3: S3Client, target: { bucket: string; key: string }, { dataset, from, to, changes }: DatasetChanges, o: ExportOptions): Promise<ExportResult> {
  const dir = `${target.key}${datasetNameOf(datasetRef(dataset))}/${o.stage}/${pad(from)}-${pad(to)}/`;
  const url = `s3://${target.bucket}/${dir}`;
  const ours: ExportIdentity = { dataset, ...(o.partitionField ? { partitionField: o.partitionField } : {}) };
  const whole = await getJsonIfPresent<ExportManifest>(s3, target.bucket, `${dir}_export.json`);
  if (whole) {
    if (!sameIdentity(whole, ours)) throw new ExportConflictError(url, whole, ours, true);
    return { url, manifest: whole, alreadyWhole: true };
  }
  const marker = await inspectFolder(s3, target.bucket, dir, url, ours);
  await refuseBadEntries(s3, dataset, to, o, changes);
  if (!marker) await claimFolder(s3, target.bucket, dir, url, { kind: 'partflow.export.started', ...ours, stage: o.stage, from, to, startedAt: new Date().toISOString() });
  const partitions: ExportedPartition[] = [];
  const schemas: Record<string, unknown> = {};
  for (const c of changes) {
    if (c.change === 'removed') continue;
    const key = `${dir}partitions/${c.partition.partition}.jsonl.gz`;
    const written = await writeJsonl(s3, c.partition, o.stage, target.bucket, key, o.partitionField);
    const schema = createHash('sha256').update(written.schemaJson).digest('hex');
    schemas[schema] ??= JSON.parse(written.schemaJson);
    const p: ExportedPartition = {
      partition: c.partition.partition, name: c.partition.name, change: c.change, file: `s3://${target.bucket}/${key}`, source: c.partition.output, records: written.records, bytes: written.bytes, schema,
    };
    partitions.push(p);
    o.onPartition?.(p);
  }
  const removed = changes.filter((c) => c.change === 'removed').map((c) => ({ partition: c.partition.partition, name: c.partition.name, previous: c.partition.output }));
  const manifest: ExportManifest = {
    kind: 'partflow.export', version: 1, dataset, stage: o.stage, from, to, exportedAt: new Date().toISOString(),
    ...(o.partitionField ? { partitionField: o.partitionField } : {}), partitions, removed,
    records: partitions.reduce((n, p) => n + p.records, 0), schemas,
  };
  const removedBody = JSON.stringify({ partitions: removed }, null, 1);
  await putIfAbsent(s3, target.bucket, `${dir}removed.json`, removedBody, 'application/json').catch(async (err) => {
    if (!(err instanceof PreconditionFailedError)) throw err;
    // An earlier attempt of this export (the started marker says so) wrote the same list; anything else would be loaded as ours.
    const there = await existingJson(s3, target.bucket, `${dir}removed.json`);
    if (JSON.stringify(there) !== JSON.stringify(JSON.parse(removedBody))) throw new SnapshotError(`${url}removed.json is already there and does not hold this export's removal list: delete it, or the whole export folder, and export again`);
  });
  try {
    await putIfAbsent(s3, target.bucket, `${dir}_export.json`, JSON.stringify(manifest, null, 1), 'application/json');
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    // The same export, run at once elsewhere, finished first: its manifest is the one readers see.
    return { url, manifest: await getJson<ExportManifest>(s3, target.bucket, `${dir}_export.json`), alreadyWhole: true };
  }
  return { url, manifest };
}

/**
 * An object's JSON, or null when it is gone or not JSON (neither holds what an export writes). A
 * read that fails otherwise (refused, unreachable) says nothing about the object: it fails, naming it.
 */
async function existingJson(s3: S3Client, bucket: string, key: string): Promise<unknown> {
  let body: Buffer;
  try {
    body = await getObjectBuffer(s3, bucket, key);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw new Error(`could not read ${formatS3Url({ bucket, key })}, which is already there: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
}

/**
 * What can be known before anything is written: every entry's output lies in the dataset (a
 * snapshot file edited to point elsewhere would export another dataset's records), and the
 * partition field is not one the records have (it would overwrite it in every document).
 */
async function refuseBadEntries(s3: S3Client, dataset: string, to: number, o: ExportOptions, changes: Change[]): Promise<void> {
  const exported = changes.filter((c) => c.change !== 'removed');
  for (const c of exported) {
    const outside = entryOutsideDataset(dataset, c.partition);
    if (outside) throw new SnapshotError(`snapshot ${to} of ${dataset}, stage ${o.stage}, partition ${c.partition.partition} (${c.partition.name}): ${outside}; the snapshot file was edited or copied from another dataset, nothing was exported`);
  }
  // One header: a stage's outputs share its schema (each file is checked again as it is read).
  if (o.partitionField && exported.length) refuseFieldClash(await outputType(s3, exported[0].partition.output), o.partitionField, exported[0].partition.output, o.stage);
}

/**
 * Whether the folder holds the started marker of an earlier attempt of this export (one of
 * another is refused). A folder that holds objects but no marker is not an earlier attempt of
 * this export: its files would be taken for ours (the partition files are create-only), so it is
 * refused too, naming what is there.
 */
async function inspectFolder(s3: S3Client, bucket: string, dir: string, url: string, ours: ExportIdentity): Promise<boolean> {
  const key = `${dir}_export.started.json`;
  const there = await listObjects(s3, bucket, dir);
  if (there.some((x) => x.key === key)) {
    const theirs = await getJson<ExportIdentity>(s3, bucket, key);
    if (!sameIdentity(theirs, ours)) throw new ExportConflictError(url, theirs, ours, false);
    return true;
  }
  if (there.length) {
    const some = there.slice(0, 3).map((x) => x.key.slice(dir.length)).join(', ');
    throw new SnapshotError(`${url} already holds ${there.length} object(s) (${some}${there.length > 3 ? ', …' : ''}) but no _export.started.json, so they are not from an earlier attempt of this export and would be taken for its files. Export to another --to prefix, or delete ${url} first`);
  }
  return false;
}

/** Writes the started marker; one written meanwhile (the same export run at once elsewhere) must be of this export. */
async function claimFolder(s3: S3Client, bucket: string, dir: string, url: string, marker: ExportIdentity & Record<string, unknown>): Promise<void> {
  const key = `${dir}_export.started.json`;
  try {
    await putIfAbsent(s3, bucket, key, JSON.stringify(marker, null, 1), 'application/json');
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    const theirs = await getJson<ExportIdentity>(s3, bucket, key);
    if (!sameIdentity(theirs, marker)) throw new ExportConflictError(url, theirs, marker, false);
  }
}
