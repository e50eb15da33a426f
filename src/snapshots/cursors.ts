import { S3Client } from '@aws-sdk/client-s3';
import { conditionalWrites, probePrefixFor } from '../storage/conditional';
import { getJsonVersioned, objectExists, PreconditionFailedError, putObject, putIfUnchanged } from '../storage/objects';
import { formatS3Url } from '../storage/s3url';
import { asDatasetRef, consumerKey, DatasetLike, DatasetRef, datasetUrlOf, snapshotKey } from './layout';
import { inBucket, listSnapshotNumbers, readHead, refuseNoDataset, SnapshotError } from './store';
import type { ConsumerCursor } from './types';

/**
 * Consumer cursors, `<dataset>/_consumers/<name>.json`: the one object partflow rewrites. Every
 * write but a rewind is conditional on the version read, so that "a cursor never moves back"
 * holds when two commits race, and gc can trust what it reads.
 */

/**
 * A consumer's cursor, or null when it has never committed one. A URL that holds no dataset (a
 * typo, a source prefix) has no cursor either: it fails, as does a missing bucket, rather than
 * start the consumer at 0 of a dataset that never comes.
 */
export async function readCursor(s3: S3Client, dataset: DatasetLike, consumer: string): Promise<ConsumerCursor | null> {
  const d = asDatasetRef(dataset);
  return inBucket(s3, d.bucket, async () => {
    const cursor = await readCursorVersioned(s3, d, consumer);
    // The marker is asked only when there is no cursor: a dataset that has one is one.
    if (!cursor) await refuseNoDataset(s3, d);
    return cursor?.value ?? null;
  });
}

async function readCursorVersioned(s3: S3Client, d: DatasetRef, consumer: string): Promise<{ value: ConsumerCursor; etag: string } | null> {
  return getJsonVersioned<ConsumerCursor>(s3, d.bucket, consumerKey(d, consumer));
}

/** Commits that raced in between one read and its write: each makes this one read and check again. */
const MAX_RACES = 20;

/**
 * Sets a consumer's cursor to snapshot n (which must exist), after the consumer has processed up to
 * it. A cursor does not move back unless `rewind` says so: a stale or mistyped number would
 * otherwise make the consumer process again what it had (and let gc keep what it had released).
 * The write is conditional on the cursor read (If-Match, or If-None-Match for a first one): when
 * another commit moved it in between, this one reads it again and checks again.
 */
export async function commitCursor(s3: S3Client, dataset: DatasetLike, consumer: string, n: number, opts: { rewind?: boolean } = {}): Promise<ConsumerCursor> {
  const d = asDatasetRef(dataset);
  return inBucket(s3, d.bucket, () => writeCursor(s3, d, consumer, n, opts));
}

async function writeCursor(s3: S3Client, d: DatasetRef, consumer: string, n: number, opts: { rewind?: boolean }): Promise<ConsumerCursor> {
  const key = consumerKey(d, consumer);
  if (n > 0) await readHead(s3, d, n);
  // A cursor at 0 needs no snapshot, but a dataset: a mistyped URL must not get a cursor written into it.
  else await refuseNoDataset(s3, d);
  const cursor: ConsumerCursor = { kind: 'partflow.consumer', consumer, snapshot: n, committedAt: new Date().toISOString() };
  const body = JSON.stringify(cursor, null, 1);
  // A rewind is a person's decision to set the cursor, whatever it holds now.
  if (opts.rewind) {
    await putObject(s3, d.bucket, key, body, 'application/json');
    return cursor;
  }
  // Without conditional writes (PARTFLOW_CONDITIONAL_WRITES=off) this is check-then-write, as before.
  const conditional = await conditionalWrites(s3, d.bucket, probePrefixFor(key));
  for (let races = 0; ; races++) {
    const current = await readCursorVersioned(s3, d, consumer);
    if (current && n < current.value.snapshot) {
      throw new SnapshotError(`consumer "${consumer}" of ${datasetUrlOf(d)} is at snapshot ${current.value.snapshot}; committing ${n} would move its cursor back (to reprocess from ${n}, rewind it on purpose: --rewind, or { rewind: true })`);
    }
    if (!conditional) {
      await putObject(s3, d.bucket, key, body, 'application/json');
      return cursor;
    }
    try {
      await putIfUnchanged(s3, d.bucket, key, body, 'application/json', current?.etag ?? null);
      return cursor;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      if (races + 1 >= MAX_RACES) throw new SnapshotError(`gave up committing snapshot ${n} to consumer "${consumer}"'s cursor ${formatS3Url({ bucket: d.bucket, key })}: it changed under ${MAX_RACES} attempts in a row (other commits of the same consumer)`);
    }
  }
}

/** "the dataset's snapshots are 1, 17, 25 and 28": gc leaves gaps, so a range ("1 to 28") would name deleted ones. */
export function snapshotsText(all: number[]): string {
  if (all.length <= 10) return `the dataset's snapshots are ${all.slice(0, -1).join(', ')} and ${all[all.length - 1]}`;
  return `the dataset has ${all.length} snapshots: ${all.slice(0, 5).join(', ')}, … ${all.slice(-3).join(', ')}`;
}

/**
 * Why a consumer whose cursor points at a snapshot that is gone (deleted by gc, or a number that
 * was never committed) cannot go on, and the way out: changes can only be computed from a
 * snapshot that exists.
 */
export async function cursorGoneMessage(s3: S3Client, d: DatasetRef, consumer: string, n: number): Promise<string> {
  const all = await listSnapshotNumbers(s3, d);
  const have = all.length === 0 ? 'the dataset has no snapshots' : all.length === 1 ? `the dataset has one snapshot, ${all[0]}` : snapshotsText(all);
  const url = datasetUrlOf(d);
  return `consumer "${consumer}"'s cursor (${formatS3Url({ bucket: d.bucket, key: consumerKey(d, consumer) })}) points at snapshot ${n} of ${url}, which does not exist (${have}; gc deletes a snapshot once no cursor points at it and it is neither among the newest kept nor superseded less than --grace ago), so its changes cannot be computed. `
    + `To load everything again: partflow changes ${url} --consumer ${consumer} --commit 0 --rewind. Or, if the consumer already holds the state of an existing snapshot N: partflow changes ${url} --consumer ${consumer} --commit N --rewind`;
}

/**
 * Where a consumer starts: its cursor's snapshot (0 when it has none). A cursor that points at a
 * snapshot that is gone fails here, naming the consumer and the way out, rather than as a bare
 * "snapshot N does not exist" further on.
 */
export async function consumerStart(s3: S3Client, dataset: DatasetLike, consumer: string): Promise<number> {
  const d = asDatasetRef(dataset);
  const n = (await readCursor(s3, d, consumer))?.snapshot ?? 0;
  if (n > 0 && !(await objectExists(s3, d.bucket, snapshotKey(d, n)))) throw new SnapshotError(await cursorGoneMessage(s3, d, consumer, n));
  return n;
}
