import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { KeptSummary, RunManifest } from '../src/manifest/run';
import { KafkaRangeOverlapError } from '../src/snapshots/changes';
import { datasetRef } from '../src/snapshots/layout';
import { commitSnapshot as commit, ConditionalWritesRequiredError } from '../src/snapshots/store';
import { getJson } from '../src/storage/objects';
import { parseS3Url } from '../src/storage/s3url';
import { logger } from '../src/log';
import { ActivityDeps } from './deps';

export interface CommitSnapshotRequest {
  /** s3:// URL of the run manifest the snapshot is built from. */
  manifest: string;
}

export interface CommitSnapshotResult {
  snapshot: number;
  url: string;
  /** A run that started later had committed first: this snapshot keeps its parent's partitions. */
  supersededBy?: { snapshot: number; workflowId: string; startedAt: string };
  /** Partitions no longer planned that the snapshot carried forward because their successors failed. */
  kept?: KeptSummary;
}

/**
 * Commits the dataset's next snapshot from the run manifest (see src/snapshots/store.ts).
 * Idempotent: a retried attempt finds the snapshot its predecessor committed.
 */
export function makeSnapshotActivity(deps: ActivityDeps) {
  return async function commitSnapshot(req: CommitSnapshotRequest): Promise<CommitSnapshotResult> {
    // A run of 100k partitions has a manifest of ~100 MiB: reading and listing it outlasts the
    // heartbeat timeout, so the activity says it is alive while it works.
    const ctx = Context.current();
    const alive = setInterval(() => ctx.heartbeat(), 10_000);
    try {
      return await commitFrom(req);
    } finally {
      clearInterval(alive);
    }
  };

  async function commitFrom(req: CommitSnapshotRequest): Promise<CommitSnapshotResult> {
    const loc = parseS3Url(req.manifest);
    const m = await getJson<RunManifest>(deps.s3, loc.bucket, loc.key, 1024 * 1024 * 1024);
    try {
      const r = await commit(deps.s3, datasetRef(m.outputPrefix), m);
      if (r.supersededBy) {
        logger().warn({ workflowId: m.workflowId, runId: m.runId, dataset: m.dataset, snapshot: r.snapshot, supersededBy: r.supersededBy }, 'committed dataset snapshot with its parent\'s partitions: a run that started later had committed first');
      } else logger().info({ workflowId: m.workflowId, runId: m.runId, dataset: m.dataset, snapshot: r.snapshot, conflicts: r.conflicts, existing: r.existing }, 'committed dataset snapshot');
      if (r.kept) {
        logger().warn({ workflowId: m.workflowId, runId: m.runId, dataset: m.dataset, snapshot: r.snapshot, kept: r.kept.count, first: r.kept.first.map((k) => `${k.stage} ${k.name} (${k.partition})`) },
          'dataset snapshot carries forward partitions the run no longer planned: the partitions that now read their source objects failed');
      }
      return { snapshot: r.snapshot, url: r.url, ...(r.supersededBy ? { supersededBy: r.supersededBy } : {}), ...(r.kept ? { kept: r.kept } : {}) };
    } catch (err) {
      if (err instanceof ConditionalWritesRequiredError) throw ApplicationFailure.create({ type: 'ConditionalWritesRequired', message: err.message, nonRetryable: true });
      // A retry rebases onto the same ranges and meets the same overlap.
      if (err instanceof KafkaRangeOverlapError) throw ApplicationFailure.create({ type: 'KafkaRangeOverlap', message: `dataset ${m.dataset}: ${err.message}`, nonRetryable: true });
      throw err;
    }
  }
}
