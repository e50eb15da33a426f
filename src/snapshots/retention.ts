import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { partitionFileOf } from '../pipeline/layout';
import { listObjects } from '../storage/objects';
import { formatS3Url, parseS3Url } from '../storage/s3url';
import { asDatasetRef, consumersPrefix, DatasetLike, DatasetRef, datasetUrlOf, snapshotNumberOf } from './layout';
import { readSnapshot, snapshotNumbers, SnapshotError } from './store';
import { readCursor } from './consume';

/**
 * Retention of a dataset (`partflow gc <dataset> --keep-snapshots N`). Kept: the newest N
 * snapshots and every snapshot a consumer's cursor points at, with everything they reference
 * (outputs, rejects and partition manifests, part files, the committing run's manifest and plan).
 * Deleted: partflow's objects under the dataset that no kept snapshot references, and only when
 * older than the grace period. Never touched: anything that is not partflow's layout (so never
 * source data), `_partflow.json`, `_consumers/`, `_checkpoints/` (a running attempt owns them).
 */
export interface RetentionOptions {
  keepSnapshots: number;
  graceMs: number;
  now?: number;
}

export type Category = 'snapshot' | 'snapshot-part' | 'output' | 'run-manifest' | 'plan';

export interface Doomed {
  key: string;
  size: number;
  lastModified: string;
  category: Category;
}

export interface RetentionPlan {
  dataset: string;
  bucket: string;
  kept: number[];
  cursors: { consumer: string; snapshot: number }[];
  delete: Doomed[];
  bytes: number;
  /** Unreferenced objects left alone because they are younger than the grace period. */
  young: { count: number; bytes: number };
}

const keyOf = (url: string) => parseS3Url(url).key;

/** The category of a key partflow may delete, or null for keys it never deletes. */
function categoryOf(rel: string): Category | null {
  if (rel.startsWith('_snapshots/parts/')) return 'snapshot-part';
  if (rel.startsWith('_snapshots/')) return snapshotNumberOf(rel.slice('_snapshots/'.length)) !== null ? 'snapshot' : null;
  if (rel.startsWith('_runs/')) return rel.endsWith('.json') ? 'run-manifest' : null;
  if (rel.startsWith('_plans/')) return rel.endsWith('.json') ? 'plan' : null;
  if (rel.startsWith('_')) return null;
  return partitionFileOf(rel) ? 'output' : null;
}

const ORDER: Category[] = ['snapshot', 'snapshot-part', 'output', 'run-manifest', 'plan'];

export async function planRetention(s3: S3Client, dataset: DatasetLike, o: RetentionOptions): Promise<RetentionPlan> {
  const d = asDatasetRef(dataset);
  const now = o.now ?? Date.now();
  const numbers = await snapshotNumbers(s3, d);
  if (numbers.length === 0) throw new SnapshotError(`${datasetUrlOf(d)} has no snapshots, so nothing says what to keep; gc deletes nothing there (an ingest commits a snapshot when it ends)`);
  const cursors: RetentionPlan['cursors'] = [];
  for (const c of await listObjects(s3, d.bucket, consumersPrefix(d))) {
    const name = c.key.slice(consumersPrefix(d).length).replace(/\.json$/, '');
    // A cursor that cannot be read could be holding back a snapshot: stop rather than guess.
    const cursor = await readCursor(s3, d, name).catch((err: Error) => {
      throw new SnapshotError(`gc keeps what every consumer still reads, and consumer "${name}"'s cursor ${formatS3Url({ bucket: d.bucket, key: c.key })} cannot be read: ${err.message}; nothing was deleted (fix or remove the cursor, then run gc again)`);
    });
    if (cursor) cursors.push({ consumer: name, snapshot: cursor.snapshot });
  }
  const kept = [...new Set([...numbers.slice(-o.keepSnapshots), ...cursors.map((c) => c.snapshot).filter((n) => numbers.includes(n))])].sort((a, b) => a - b);
  const referenced = new Set<string>();
  const stems = new Set<string>();
  for (const n of kept) {
    const s = await readSnapshot(s3, d, n);
    for (const p of s.parts ?? []) referenced.add(`${d.prefix}_snapshots/${p.file}`);
    referenced.add(keyOf(s.run.manifest));
    referenced.add(keyOf(s.run.plan));
    for (const list of Object.values(s.stages)) {
      for (const p of list) for (const url of [p.output, p.manifest]) stems.add(partitionFileOf(keyOf(url))?.stem ?? keyOf(url));
    }
  }
  const keptHeads = new Set(kept);
  const doomed: Doomed[] = [];
  const young = { count: 0, bytes: 0 };
  for (const obj of await listObjects(s3, d.bucket, d.prefix)) {
    const lastModified = obj.lastModified ?? new Date(0);
    const rel = obj.key.slice(d.prefix.length);
    const category = categoryOf(rel);
    if (!category) continue;
    if (category === 'snapshot' && keptHeads.has(snapshotNumberOf(rel.slice('_snapshots/'.length))!)) continue;
    if (category === 'output' && stems.has(partitionFileOf(obj.key)!.stem)) continue;
    if (category !== 'snapshot' && category !== 'output' && referenced.has(obj.key)) continue;
    if (now - lastModified.getTime() < o.graceMs) {
      young.count++;
      young.bytes += obj.size;
      continue;
    }
    doomed.push({ key: obj.key, size: obj.size, lastModified: lastModified.toISOString(), category });
  }
  // Snapshot heads go first, so no reader finds a snapshot whose objects are already gone.
  doomed.sort((a, b) => ORDER.indexOf(a.category) - ORDER.indexOf(b.category) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { dataset: datasetUrlOf(d), bucket: d.bucket, kept, cursors, delete: doomed, bytes: doomed.reduce((n, x) => n + x.size, 0), young };
}

export async function applyRetention(s3: S3Client, plan: RetentionPlan, onDelete?: (x: Doomed) => void): Promise<number> {
  let n = 0;
  for (const category of ORDER) {
    const limit = pLimit(16);
    await Promise.all(plan.delete.filter((x) => x.category === category).map((x) => limit(async () => {
      await s3.send(new DeleteObjectCommand({ Bucket: plan.bucket, Key: x.key }));
      n++;
      onDelete?.(x);
    })));
  }
  return n;
}
