import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { envInteger } from '../config/errors';
import type { KeptSummary, RunManifest } from '../manifest/run';
import { conditionalWrites, probePrefixFor } from '../storage/conditional';
import { describeEndpoint } from '../storage/client';
import { bucketMissingMessage, getJson, getObjectBuffer, missingBucketOf, ObjectNotFoundError, PreconditionFailedError, putIfAbsent } from '../storage/objects';
import { noDatasetReason } from './absent';
import { keptRemovals } from './carry';
import { applyEffect, countStages, diffStages, Kept, kafkaCoveredBy, removalsOf, runEffect, Stages } from './changes';
import { describeSnapshots, headProblem } from './head-check';
import { asDatasetRef, DatasetLike, DatasetRef, datasetUrlOf, partKey, snapshotKey, snapshotNumberOf, snapshotsPrefix } from './layout';
import type { Snapshot, SnapshotHead, SnapshotPart, SnapshotPartition } from './types';

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

/**
 * Runs a dataset function so that a bucket that does not exist fails as one SnapshotError naming
 * it and the endpoint, whichever request met it first: S3's own NoSuchBucket names neither, and a
 * read's ObjectNotFoundError names no endpoint. `bucket` is the one meant where S3 names none.
 */
export async function inBucket<T>(s3: S3Client, bucket: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const missing = missingBucketOf(err, bucket);
    if (missing === undefined) throw err;
    throw new SnapshotError(bucketMissingMessage(missing, await describeEndpoint(s3)));
  }
}

/** Fails when no dataset is stored at `d` (a mistyped URL, a source prefix): asked only where an answer came out empty. */
export async function refuseNoDataset(s3: S3Client, d: DatasetRef): Promise<void> {
  const none = await noDatasetReason(s3, d);
  if (none) throw new SnapshotError(none);
}

/** Thrown where a commit cannot be made safe: the store ignores create-only writes. */
export class ConditionalWritesRequiredError extends SnapshotError {
  constructor(d: DatasetRef) {
    super(`cannot commit a snapshot of ${datasetUrlOf(d)}: this S3 store does not honour create-only writes (If-None-Match: *) or PARTFLOW_CONDITIONAL_WRITES=off, and two runs committing at once could overwrite each other's snapshot; no snapshot was written (the run's outputs and run manifest are). Use a store with conditional writes (AWS S3, versitygw, MinIO) and PARTFLOW_CONDITIONAL_WRITES=auto or on`);
    this.name = 'ConditionalWritesRequiredError';
  }
}

/**
 * When the source was last read for snapshot n: the latest start of the runs it reflects (runs
 * plan right after they start). Older snapshots, and Kafka runs, have none.
 */
async function sourceAsOf(s3: S3Client, d: DatasetRef, n: number): Promise<{ head: SnapshotHead; at: string } | null> {
  if (n === 0) return null;
  const head = await readHead(s3, d, n);
  const at = head.sourceAsOf ?? head.run.startedAt;
  return at ? { head, at } : null;
}

const later = (a: string | undefined, b: string | undefined) => (!a ? b : !b ? a : Date.parse(a) >= Date.parse(b) ? a : b);

/**
 * Snapshot numbers under a dataset folder, ascending; [] for a folder with none, dataset or not.
 * The listing, not any hint, is the truth.
 */
export async function listSnapshotNumbers(s3: S3Client, d: DatasetRef): Promise<number[]> {
  const prefix = snapshotsPrefix(d);
  const out: number[] = [];
  let token: string | undefined;
  do {
    // The delimiter keeps part files (under parts/) out of the listing.
    const res = await s3.send(new ListObjectsV2Command({ Bucket: d.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
    for (const o of res.Contents ?? []) {
      const n = snapshotNumberOf((o.Key ?? '').slice(prefix.length));
      if (n !== null) out.push(n);
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out.sort((a, b) => a - b);
}

/** The latest snapshot under a dataset folder, 0 for a folder with none, dataset or not. */
export async function latestListedSnapshot(s3: S3Client, d: DatasetRef): Promise<number> {
  const all = await listSnapshotNumbers(s3, d);
  return all.length ? all[all.length - 1] : 0;
}

/**
 * Snapshot numbers of a dataset, ascending: [] for one whose first ingest has not ended. A URL
 * that holds no dataset (no _partflow.json and no snapshots: a typo, a source prefix) fails, as
 * does a missing bucket, rather than pass for a dataset with nothing in it yet.
 */
export async function snapshotNumbers(s3: S3Client, dataset: DatasetLike): Promise<number[]> {
  const d = asDatasetRef(dataset);
  return inBucket(s3, d.bucket, async () => {
    const all = await listSnapshotNumbers(s3, d);
    // The marker is asked only when there is no snapshot: a dataset that has one is one.
    if (all.length === 0) await refuseNoDataset(s3, d);
    return all;
  });
}

/** The latest snapshot of a dataset, 0 before its first ingest ends; fails as snapshotNumbers does. */
export async function latestSnapshot(s3: S3Client, dataset: DatasetLike): Promise<number> {
  const all = await snapshotNumbers(s3, dataset);
  return all.length ? all[all.length - 1] : 0;
}

async function readJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  return getJson<T>(s3, bucket, key, 1024 * 1024 * 1024);
}

/** Snapshot n's head; one whose body names another number (edited or copied by hand) is refused. */
export async function readHead(s3: S3Client, d: DatasetRef, n: number): Promise<SnapshotHead> {
  let head: SnapshotHead;
  try {
    head = await readJson<SnapshotHead>(s3, d.bucket, snapshotKey(d, n));
  } catch (err) {
    if (!(err instanceof ObjectNotFoundError)) throw err;
    const all = await listSnapshotNumbers(s3, d);
    // No snapshot at all may be no dataset at all (a mistyped URL): say that rather than "none yet".
    const none = all.length === 0 ? await noDatasetReason(s3, d) : null;
    throw new SnapshotError(none ?? `snapshot ${n} of ${datasetUrlOf(d)} does not exist: ${describeSnapshots(all)}`);
  }
  const problem = headProblem(head, n, `s3://${d.bucket}/${snapshotKey(d, n)}`);
  if (problem) throw new SnapshotError(problem);
  return head;
}

/** Snapshot n's head, or null when it is gone (gc deleted it). */
async function headIfPresent(s3: S3Client, d: DatasetRef, n: number): Promise<SnapshotHead | null> {
  return readHead(s3, d, n).catch((err: unknown) => {
    if (err instanceof SnapshotError) return null;
    throw err;
  });
}

/** A snapshot with every partition (its part files read and checked). */
export async function readSnapshot(s3: S3Client, dataset: DatasetLike, n: number): Promise<Snapshot> {
  const d = asDatasetRef(dataset);
  return inBucket(s3, d.bucket, () => readWholeSnapshot(s3, d, n));
}

async function readWholeSnapshot(s3: S3Client, d: DatasetRef, n: number): Promise<Snapshot> {
  const head = await readHead(s3, d, n);
  if (!head.parts) return { ...head, stages: head.stages ?? {} };
  const stages: Stages = {};
  for (const p of head.parts) {
    const buf = await getObjectBuffer(s3, d.bucket, partKey(d, p.file), 1024 * 1024 * 1024).catch((err) => {
      throw err instanceof ObjectNotFoundError ? new SnapshotError(`snapshot ${n} of ${datasetUrlOf(d)} is missing its part file ${p.file}`) : err;
    });
    if (createHash('sha256').update(buf).digest('hex') !== p.sha256) throw new SnapshotError(`part file ${p.file} of snapshot ${n} of ${datasetUrlOf(d)} does not match its SHA-256`);
    for (const [stage, list] of Object.entries((JSON.parse(buf.toString('utf8')) as SnapshotPart).stages)) (stages[stage] ??= []).push(...list);
  }
  return { ...head, stages };
}

/** The partitions of snapshot n; snapshot 0 is the empty state before the first one. */
export async function stagesAt(s3: S3Client, d: DatasetRef, n: number): Promise<Stages> {
  return n === 0 ? {} : (await readWholeSnapshot(s3, d, n)).stages;
}

/** Entries per part file; PARTFLOW_SNAPSHOT_PART_ENTRIES lowers it (tests). A bad value is refused, not ignored. */
export function snapshotPartEntries(env: NodeJS.ProcessEnv = process.env): number {
  return envInteger(env, 'PARTFLOW_SNAPSHOT_PART_ENTRIES', { min: 1, max: 10_000_000, fallback: 20_000 });
}

/** Writes the part files (content-addressed, so a rebase or retry rewrites nothing) and returns their list. */
async function writeParts(s3: S3Client, d: DatasetRef, stages: Stages): Promise<SnapshotHead['parts']> {
  const size = snapshotPartEntries();
  const chunks: Stages[] = [];
  let cur: Stages = {};
  let n = 0;
  for (const [stage, list] of Object.entries(stages)) {
    for (let i = 0; i < list.length || (i === 0 && list.length === 0); ) {
      const take = list.slice(i, i + (size - n));
      (cur[stage] ??= []).push(...take);
      n += take.length;
      i += Math.max(take.length, 1);
      if (n >= size) {
        chunks.push(cur);
        cur = {};
        n = 0;
      }
    }
  }
  if (Object.keys(cur).length) chunks.push(cur);
  const parts: NonNullable<SnapshotHead['parts']> = [];
  for (const c of chunks) {
    const body = JSON.stringify({ kind: 'partflow.snapshot-part', stages: c } satisfies SnapshotPart);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const file = `parts/${sha256}.json`;
    await putIfAbsent(s3, d.bucket, partKey(d, file), body, 'application/json').catch((err) => {
      if (!(err instanceof PreconditionFailedError)) throw err; // the same bytes are there already
    });
    parts.push({ file, sha256, entries: Object.values(c).reduce((k, l) => k + l.length, 0) });
  }
  return parts;
}

/** The snapshot this run already committed (an earlier attempt of the activity), if any. */
async function committedBy(s3: S3Client, d: DatasetRef, numbers: number[], m: RunManifest): Promise<SnapshotHead | null> {
  // Snapshots are committed after the run manifest is written; allow for clock skew between workers.
  const since = Date.parse(m.writtenAt) - 10 * 60_000;
  for (const n of [...numbers].reverse()) {
    const head = await readHead(s3, d, n);
    if (head.run.workflowId === m.workflowId && head.run.runId === m.runId) return head;
    if (Date.parse(head.committedAt) < since) return null;
  }
  return null;
}

export interface CommitResult {
  snapshot: number;
  url: string;
  /** Commits that another run took first, each followed by a rebase. */
  conflicts: number;
  /** True when an earlier attempt had committed it. */
  existing: boolean;
  /** Set when a run that started later had committed first: this snapshot keeps its parent's partitions. */
  supersededBy?: SnapshotHead['supersededBy'];
  /** Partitions no longer planned that the snapshot kept for failed ones (absent when none). */
  kept?: KeptSummary;
}

/** Kept partitions a summary names; the snapshot head lists them all. */
export const KEPT_IN_SUMMARY = 10;

/** The partitions a snapshot kept for failed ones, from its head's failed entries. */
export function keptSummaryOf(head: SnapshotHead): KeptSummary | undefined {
  const byId = new Map<string, KeptSummary['first'][number]>();
  for (const [stage, list] of Object.entries(head.failed ?? {})) {
    for (const f of list) {
      for (const k of f.keeps ?? []) {
        const id = `${stage}\u0000${k.partition}`;
        const e = byId.get(id) ?? byId.set(id, { stage, partition: k.partition, name: k.name, failed: [] }).get(id)!;
        e.failed.push({ partition: f.partition, name: f.name });
      }
    }
  }
  return byId.size ? { count: byId.size, first: [...byId.values()].slice(0, KEPT_IN_SUMMARY) } : undefined;
}

const resultOf = (head: SnapshotHead, url: string, conflicts: number, existing: boolean): CommitResult => {
  // A superseded snapshot's failed entries are its parent's: what it keeps is no doing of this run.
  const kept = head.supersededBy ? undefined : keptSummaryOf(head);
  return { snapshot: head.snapshot, url, conflicts, existing, ...(head.supersededBy ? { supersededBy: head.supersededBy } : {}), ...(kept ? { kept } : {}) };
};

/**
 * Commits the next snapshot of the dataset from a run manifest: read the latest, apply the run,
 * put-if-absent the next number; on a conflict, re-read, rebase onto the new latest and take the
 * next number. Part files go first and the head last, so a listed snapshot is always whole.
 */
export async function commitSnapshot(s3: S3Client, d: DatasetRef, m: RunManifest, opts: { maxConflicts?: number; now?: () => Date } = {}): Promise<CommitResult> {
  if (!(await conditionalWrites(s3, d.bucket, probePrefixFor(snapshotKey(d, 1))))) throw new ConditionalWritesRequiredError(d);
  const effect = runEffect(m);
  let numbers = await listSnapshotNumbers(s3, d);
  const done = await committedBy(s3, d, numbers, m);
  if (done) return resultOf(done, `s3://${d.bucket}/${snapshotKey(d, done.snapshot)}`, 0, true);
  let parent = numbers.length ? numbers[numbers.length - 1] : 0;
  let read = await sourceAsOf(s3, d, parent);
  let before = await stagesAt(s3, d, parent);
  // A Kafka run plans only the offsets after the last committed ones: it adds to the dataset, and
  // the ranges earlier runs committed stay (they are not "gone from the source"). It removes only
  // ranges its own cover (kafkaCoveredBy), against whichever parent it lands on.
  const kafka = m.source.startsWith('kafka://');
  const removals = kafka ? undefined : removalsOf(before, effect);
  // Like removals, fixed against the first parent: what a failed partition keeps in its place.
  const kept = removals ? await keptRemovals(s3, m, effect, before, removals, { numbers, parentN: parent, head: (n) => headIfPresent(s3, d, n) }) : new Map<string, Kept>();
  const max = opts.maxConflicts ?? 100;
  for (let conflicts = 0; ; conflicts++) {
    // Each snapshot is the whole dataset as its run saw the source. A run that started before the
    // one behind the latest snapshot (kept waiting for a retry, then finished) saw the source
    // earlier: applying it would bring back objects changed or deleted since. Its snapshot keeps
    // the parent's partitions and says so; its outputs stay, and a new ingest reuses the unchanged.
    // It keeps the parent's failed entries with them: they say which of those partitions are
    // carried forward or missing (and what a kept one stands in for), which the run cannot change.
    const superseded = !!(read && m.startedAt && !kafka && Date.parse(m.startedAt) < Date.parse(read.at));
    const applied = superseded ? { stages: before, failed: read!.head.failed ?? {} } : applyEffect(before, effect, removals ?? kafkaCoveredBy(before, effect), kept);
    const n = parent + 1;
    const total = Object.values(applied.stages).reduce((k, l) => k + l.length, 0);
    const run = { workflowId: m.workflowId, runId: m.runId, pipeline: m.pipeline, manifest: m.manifest, plan: m.plan, status: m.status, ...(m.startedAt ? { startedAt: m.startedAt } : {}) };
    const asOf = superseded ? read!.at : later(read?.at, m.startedAt);
    const head: SnapshotHead = {
      kind: 'partflow.snapshot', version: 1, snapshot: n, parent, committedAt: (opts.now?.() ?? new Date()).toISOString(),
      dataset: m.dataset, datasetUrl: datasetUrlOf(d), status: superseded ? read!.head.status : Object.values(applied.failed).some((l) => l.length) ? 'partial' : 'completed', run,
      ...(asOf ? { sourceAsOf: asOf } : {}),
      ...(superseded ? { supersededBy: read!.head.supersededBy ?? { snapshot: read!.head.snapshot, workflowId: read!.head.run.workflowId, startedAt: read!.at } } : {}),
      counts: countStages(applied.stages, applied.failed), changes: diffStages(before, applied.stages), failed: applied.failed,
      ...(total > snapshotPartEntries() ? { parts: await writeParts(s3, d, applied.stages) } : { stages: applied.stages }),
    };
    try {
      await putIfAbsent(s3, d.bucket, snapshotKey(d, n), JSON.stringify(head, null, 1), 'application/json');
      return resultOf(head, `s3://${d.bucket}/${snapshotKey(d, n)}`, conflicts, false);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      if (conflicts + 1 >= max) throw new SnapshotError(`gave up committing a snapshot of ${datasetUrlOf(d)} after ${max} conflicts with other runs (last tried ${n})`);
    }
    numbers = await listSnapshotNumbers(s3, d);
    const mine = await committedBy(s3, d, numbers.filter((k) => k > parent), m);
    if (mine) return resultOf(mine, `s3://${d.bucket}/${snapshotKey(d, mine.snapshot)}`, conflicts + 1, true);
    parent = numbers[numbers.length - 1];
    read = await sourceAsOf(s3, d, parent);
    before = await stagesAt(s3, d, parent);
  }
}

export type { SnapshotPartition };
