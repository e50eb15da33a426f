import { S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { RecordCounts } from '../manifest/partition';
import { RunManifest } from '../manifest/run';
import { getJson, listObjects, ObjectNotFoundError } from '../storage/objects';
import { parseS3Url } from '../storage/s3url';
import { matchPartitions, readPlan } from './partition-match';
import { datasetRef } from '../snapshots/layout';
import { listSnapshotNumbers, readSnapshot } from '../snapshots/store';
import type { Snapshot } from '../snapshots/types';

/** One thing that happened to a partition in one run, read back from the immutable run manifests. */
export interface HistoryEntry {
  when: string;
  workflowId: string;
  runId: string;
  stage: string;
  partition: string;
  name: string;
  codeVersion?: string;
  contentVersion?: string;
  /**
   * computed by this run; reused from an earlier run; failed; blocked by an upstream failure;
   * snapshot: the dataset snapshot this run committed added, changed, removed or carried it forward.
   */
  result: 'computed' | 'reused' | 'failed' | 'blocked' | 'snapshot';
  /** For a snapshot entry: its number and what it did to the partition. */
  snapshot?: number;
  change?: 'added' | 'changed' | 'removed' | 'carried forward';
  attempts?: number;
  counts?: RecordCounts;
  error?: string;
  output?: string;
}

async function json<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  return getJson<T>(s3, bucket, key, 1024 * 1024 * 1024);
}

/** Every run manifest of a dataset (s3://bucket/prefix/dataset/), oldest first. */
export async function datasetRuns(s3: S3Client, datasetUrl: string): Promise<RunManifest[]> {
  const loc = parseS3Url(datasetUrl, { prefix: true });
  const keys = (await listObjects(s3, loc.bucket, `${loc.key}_runs/`)).map((o) => o.key).filter((k) => k.endsWith('.json'));
  const limit = pLimit(16);
  const runs = await Promise.all(keys.map((k) => limit(() => json<RunManifest>(s3, loc.bucket, k))));
  // Run manifests from before content-addressed partitions (version 1) name partitions by position: left out.
  return runs.filter((r) => r.version === 2).sort((a, b) => (a.writtenAt < b.writtenAt ? -1 : a.writtenAt > b.writtenAt ? 1 : 0));
}

/**
 * Every run that computed, reused, failed or blocked a partition, given its id, its name or a
 * source key it reads. Works from S3 alone, long after Temporal has dropped the histories. A
 * partition keeps its id while its pieces stay the same, so the entries follow it across runs.
 */
export async function partitionHistory(s3: S3Client, datasetUrl: string, query: string): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = [];
  for (const r of await datasetRuns(s3, datasetUrl)) {
    const ids = new Set(matchPartitions(await readPlan(s3, r.plan), query).map((p) => p.id));
    if (ids.size === 0) continue;
    const base = { when: r.writtenAt, workflowId: r.workflowId, runId: r.runId };
    for (const [stage, list] of Object.entries(r.committed ?? {})) {
      for (const c of list) {
        if (!ids.has(c.partition)) continue;
        out.push({ ...base, stage, partition: c.partition, name: c.name, codeVersion: c.codeVersion, contentVersion: c.contentVersion, result: c.result, attempts: c.attempts, counts: c.counts, output: c.output });
      }
    }
    for (const f of r.failures ?? []) {
      if (ids.has(f.partition)) out.push({ ...base, stage: f.stage, partition: f.partition, name: f.name, result: 'failed', attempts: f.attempts, error: f.error });
    }
    for (const b of r.blocked ?? []) {
      if (ids.has(b.partition)) out.push({ ...base, stage: b.stage, partition: b.partition, name: b.name, result: 'blocked' });
    }
  }
  out.push(...(await snapshotHistory(s3, datasetUrl, query)));
  return out.sort((a, b) => (a.when < b.when ? -1 : a.when > b.when ? 1 : 0));
}

/**
 * What each snapshot of the dataset did to the partition: added, changed, removed or carried it
 * forward, as the snapshot recorded it against its parent at commit (so a parent that gc deleted
 * does not turn every partition of the oldest kept snapshot into "added").
 */
async function snapshotHistory(s3: S3Client, datasetUrl: string, query: string): Promise<HistoryEntry[]> {
  const d = datasetRef(datasetUrl);
  const out: HistoryEntry[] = [];
  // Ids the query has matched so far: a snapshot that removes a partition was committed by a run
  // whose plan no longer has its source key, so the key alone would not find the removal.
  const known = new Set([query]);
  const seen: SeenEntries = new Map();
  for (const n of await listSnapshotNumbers(s3, d)) {
    const s = await readSnapshot(s3, d, n);
    // A plan retention deleted leaves the query matching ids and names only; one that could not be
    // read (refused, unreachable) would quietly drop removals from the history, so it fails it.
    const plan = await readPlan(s3, s.run.plan).catch((err: unknown) => {
      if (err instanceof ObjectNotFoundError) return null;
      throw new Error(`could not read the plan of snapshot ${n} of ${datasetUrl}, ${s.run.plan}: ${(err as Error).message}`, { cause: err });
    });
    for (const p of plan ? matchPartitions(plan, query) : []) known.add(p.id);
    out.push(...snapshotEntries(s, query, known, seen));
  }
  return out;
}

/** The last entry of each (stage, partition) the snapshots so far held: a removal shows that stage's version, not another's. */
export type SeenEntries = Map<string, { name: string; contentVersion: string }>;

const stageKey = (stage: string, partition: string) => `${stage}\u0000${partition}`;

/** What one snapshot did to the partitions in `known` (or named `query`); adds to `known` and `seen`. Pure. */
export function snapshotEntries(s: Snapshot, query: string, known: Set<string>, seen: SeenEntries): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  const base = { when: s.committedAt, workflowId: s.run.workflowId, runId: s.run.runId, result: 'snapshot' as const, snapshot: s.snapshot };
  for (const [stage, list] of Object.entries(s.stages)) {
    const added = new Set(s.changes[stage]?.added ?? []);
    const changed = new Set(s.changes[stage]?.changed ?? []);
    for (const p of list) {
      if (!known.has(p.partition) && p.name !== query) continue;
      known.add(p.partition);
      seen.set(stageKey(stage, p.partition), p);
      const change = p.carriedForward ? 'carried forward' : added.has(p.partition) ? 'added' : changed.has(p.partition) ? 'changed' : undefined;
      if (change) out.push({ ...base, stage, partition: p.partition, name: p.name, contentVersion: p.contentVersion, codeVersion: p.codeVersion, counts: p.counts, output: p.output, change });
    }
  }
  for (const [stage, c] of Object.entries(s.changes)) {
    for (const partition of c.removed) {
      const was = seen.get(stageKey(stage, partition));
      if (known.has(partition)) out.push({ ...base, stage, partition, name: was?.name ?? '', contentVersion: was?.contentVersion, change: 'removed' });
    }
  }
  return out;
}

/** The run manifest(s) of a workflow id under a dataset, newest last. */
export async function runManifests(s3: S3Client, datasetUrl: string, workflowId: string): Promise<RunManifest[]> {
  const loc = parseS3Url(datasetUrl, { prefix: true });
  const safe = workflowId.replace(/[^A-Za-z0-9._-]/g, '_');
  const keys = (await listObjects(s3, loc.bucket, `${loc.key}_runs/${safe}/`)).map((o) => o.key);
  const runs = await Promise.all(keys.map((k) => json<RunManifest>(s3, loc.bucket, k)));
  return runs.sort((a, b) => (a.writtenAt < b.writtenAt ? -1 : 1));
}
