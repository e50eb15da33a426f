import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { listObjects } from '../storage/objects';
import { consumersPrefix, datasetRef, snapshotKey } from './layout';
import { ORDER } from './retention-keep';
import type { Doomed, RetentionPlan } from './retention';
import { CursorInfo, isReferenced, readCursors, referencesOf } from './retention-refs';

/**
 * The plan less what a cursor committed since it was made now needs: a consumer that moved its
 * cursor to a snapshot the plan would delete keeps that snapshot and everything it references.
 * Read right before deleting, so the window left is the deletes' own milliseconds.
 */
async function sparingNewCursors(s3: S3Client, plan: RetentionPlan): Promise<{ doomed: Doomed[]; moved: CursorInfo[] }> {
  const d = datasetRef(plan.dataset);
  const doomedHeads = new Set(plan.delete.filter((x) => x.category === 'snapshot').map((x) => x.key));
  const cursorKeys = (await listObjects(s3, d.bucket, consumersPrefix(d))).map((x) => x.key).filter((k) => k.endsWith('.json'));
  // Every snapshot still listed counts as existing here: the doomed ones are not deleted yet.
  const cursors = await readCursors(s3, d, cursorKeys, []);
  const moved = cursors.filter((c) => doomedHeads.has(snapshotKey(d, c.snapshot)));
  let doomed = plan.delete;
  for (const n of new Set(moved.map((c) => c.snapshot))) {
    const refs = await referencesOf(s3, d, n);
    doomed = doomed.filter((x) => x.key !== snapshotKey(d, n) && !isReferenced(x, refs));
  }
  return { doomed, moved: moved.map(({ consumer, snapshot }) => ({ consumer, snapshot })) };
}

/**
 * Deletes what the plan says, less what cursors committed since need (onSpared names them), one
 * category at a time in ORDER: every delete of a category has been answered before the next
 * category begins, so whatever refers to an object is gone before it is (a partition's manifest,
 * the mark an ingest trusts to reuse its output, before the output). A failed delete stops gc
 * there, once the others of its category are answered. Returns how many objects it sent deletes
 * for: S3 answers a delete of a key that is already gone (another gc's) the same as one it
 * deleted, so that count is "deleted or already gone".
 */
export async function applyRetention(s3: S3Client, plan: RetentionPlan, onDelete?: (x: Doomed) => void, onSpared?: (c: CursorInfo) => void): Promise<number> {
  const { doomed, moved } = await sparingNewCursors(s3, plan);
  moved.forEach((c) => onSpared?.(c));
  let n = 0;
  for (const category of ORDER) {
    const limit = pLimit(16);
    const settled = await Promise.allSettled(doomed.filter((x) => x.category === category).map((x) => limit(async () => {
      try {
        await s3.send(new DeleteObjectCommand({ Bucket: plan.bucket, Key: x.key }));
      } catch (err) {
        throw new Error(`gc could not delete s3://${plan.bucket}/${x.key} (${x.category}): ${(err as Error).message}; gc stopped there, before deleting anything that objects of this kind refer to, so nothing left refers to a deleted object: run gc again to finish`, { cause: err });
      }
      n++;
      onDelete?.(x);
    })));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
  return n;
}
