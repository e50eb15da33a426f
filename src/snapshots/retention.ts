import { S3Client } from '@aws-sdk/client-s3';
import { listObjects, ObjectInfo } from '../storage/objects';
import { formatS3Url } from '../storage/s3url';
import { asDatasetRef, consumersPrefix, DatasetLike, DatasetRef, datasetUrlOf, snapshotNumberOf } from './layout';
import { categoryOf, Category, insideAny, nestedDatasets, ORDER, supersededWithinGrace, windowFolderOf, windowFoldersToDelete } from './retention-keep';
import { CursorInfo, isReferenced, readCursors, referencesOf } from './retention-refs';
import { inBucket, readHead, SnapshotError } from './store';

export { applyRetention } from './retention-apply';
export type { Category } from './retention-keep';
export type { CursorInfo } from './retention-refs';

/**
 * Retention of a dataset (`partflow gc <dataset> --keep-snapshots N`). Kept, each with everything
 * it references (outputs, rejects and partition manifests, part files, the committing run's
 * manifest and plan): the newest N snapshots, every snapshot a consumer's cursor points at, every
 * snapshot superseded less than the grace period ago (a consumer may have begun reading it while
 * it was the latest), and any snapshot file younger than the grace period. Deleted: partflow's
 * objects under the dataset that no kept snapshot references, and only when older than the grace
 * period; a run's window results (`_windows/`) only once its run manifest has existed for the
 * grace period, or, without one, once the newest is older than `abandonedMs`
 * (windowFoldersToDelete). Never touched: anything that is not partflow's layout (so never source
 * data), `_partflow.json`, `_consumers/`, `_checkpoints/` (a running attempt owns them), and
 * anything in a folder below that holds a `_partflow.json` of its own (another dataset).
 */
export interface RetentionOptions {
  keepSnapshots: number;
  graceMs: number;
  /** How old the newest window result of a run without a run manifest must be for gc to take the run for dead; default ABANDONED_WINDOWS_MS. */
  abandonedMs?: number;
  now?: number;
}

/**
 * A live run can go this long without saving a window result: waiting for a retry (waitForRetry,
 * at most a year), then a retried window's attempt (partitionTimeout, at most a year).
 */
export const ABANDONED_WINDOWS_MS = 731 * 86_400_000;

export interface Doomed {
  key: string;
  size: number;
  lastModified: string;
  category: Category;
}

export interface RetentionPlan {
  dataset: string;
  bucket: string;
  /** Every snapshot kept, for whatever reason. */
  kept: number[];
  /** Of those, the ones kept only because they were superseded less than --grace ago or their file is younger than it. */
  recent: number[];
  cursors: CursorInfo[];
  /** Other datasets (s3:// URLs of folders with their own `_partflow.json`) inside this one: left alone. */
  nested: string[];
  delete: Doomed[];
  bytes: number;
  /** Unreferenced objects left alone because they are younger than the grace period. */
  young: { count: number; bytes: number };
  /** Window results left alone because their run has no run manifest yet and may still be running (or has had one for less than the grace period). */
  windows: { runs: number; count: number; bytes: number };
}

export async function planRetention(s3: S3Client, dataset: DatasetLike, o: RetentionOptions): Promise<RetentionPlan> {
  const d = asDatasetRef(dataset);
  return inBucket(s3, d.bucket, () => retentionOf(s3, d, o));
}

async function retentionOf(s3: S3Client, d: DatasetRef, o: RetentionOptions): Promise<RetentionPlan> {
  const now = o.now ?? Date.now();
  const listed = await listObjects(s3, d.bucket, d.prefix);
  const rel = (x: ObjectInfo) => x.key.slice(d.prefix.length);
  const nested = nestedDatasets(listed.map(rel));
  const own = listed.filter((x) => !insideAny(rel(x), nested));
  const heads = new Map<number, ObjectInfo>();
  for (const x of own) if (categoryOf(rel(x)) === 'snapshot') heads.set(snapshotNumberOf(rel(x).slice('_snapshots/'.length))!, x);
  const numbers = [...heads.keys()].sort((a, b) => a - b);
  if (numbers.length === 0) throw new SnapshotError(`${datasetUrlOf(d)} has no snapshots, so nothing says what to keep; gc deletes nothing there (an ingest commits a snapshot when it ends)`);
  const cursors = await readCursors(s3, d, own.filter((x) => x.key.startsWith(consumersPrefix(d)) && x.key.endsWith('.json')).map((x) => x.key), numbers);

  const at = (x: ObjectInfo) => (x.lastModified ?? new Date(0)).getTime();
  const isYoung = (x: ObjectInfo) => now - at(x) < o.graceMs;
  const superseded = await supersededWithinGrace(numbers, async (n) => Date.parse((await readHead(s3, d, n)).committedAt), now, o.graceMs);
  const youngHeads = numbers.filter((n) => isYoung(heads.get(n)!));
  const firm = new Set([...numbers.slice(-o.keepSnapshots), ...cursors.filter((c) => !c.missing).map((c) => c.snapshot).filter((n) => heads.has(n))]);
  const kept = [...new Set([...firm, ...superseded, ...youngHeads])].sort((a, b) => a - b);
  const refs = { keys: new Set<string>(), stems: new Set<string>() };
  for (const n of kept) {
    const r = await referencesOf(s3, d, n);
    r.keys.forEach((k) => refs.keys.add(k));
    r.stems.forEach((k) => refs.stems.add(k));
  }

  const windowsGo = windowFoldersToDelete(own.map((x) => ({ rel: rel(x), at: at(x) })), now, o.graceMs, o.abandonedMs ?? ABANDONED_WINDOWS_MS);
  const windowsKept = new Set<string>();
  const doomed: Doomed[] = [];
  const young = { count: 0, bytes: 0 };
  const windows = { runs: 0, count: 0, bytes: 0 };
  for (const x of own) {
    const category = categoryOf(rel(x));
    if (!category) continue;
    if (category === 'window-result' && !windowsGo.has(windowFolderOf(rel(x)))) {
      windowsKept.add(windowFolderOf(rel(x)));
      windows.count++;
      windows.bytes += x.size;
      continue;
    }
    if (category === 'snapshot' && kept.includes(snapshotNumberOf(rel(x).slice('_snapshots/'.length))!)) continue;
    if (isReferenced({ key: x.key, category }, refs)) continue;
    if (isYoung(x)) {
      young.count++;
      young.bytes += x.size;
      continue;
    }
    doomed.push({ key: x.key, size: x.size, lastModified: new Date(at(x)).toISOString(), category });
  }
  windows.runs = windowsKept.size;
  // In deletion order (applyRetention keeps to it): what refers to an object goes before it.
  doomed.sort((a, b) => ORDER.indexOf(a.category) - ORDER.indexOf(b.category) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    dataset: datasetUrlOf(d), bucket: d.bucket, kept, recent: kept.filter((n) => !firm.has(n)), cursors,
    nested: nested.map((f) => formatS3Url({ bucket: d.bucket, key: `${d.prefix}${f}` })),
    delete: doomed, bytes: doomed.reduce((n, x) => n + x.size, 0), young, windows,
  };
}
