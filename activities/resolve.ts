import { Context } from '@temporalio/activity';
import pLimit from 'p-limit';
import { PartitionManifest, PartitionResult } from '../src/manifest/partition';
import { partitionMetrics } from '../src/metrics';
import { partitionKeys, stagePrefix } from '../src/pipeline/layout';
import { Plan } from '../src/pipeline/plan';
import { getJsonIfPresent, listObjects } from '../src/storage/objects';
import { formatS3Url } from '../src/storage/s3url';
import { ActivityDeps } from './deps';
import { ingestOf } from './ingest-id';
import { committedByThisRun } from './partition-manifest';
import { partitionResult } from './partition-run';

/** An input a committed output must have read: an upstream output (its URL names its version), or a source piece at its ETag. */
export interface WantedInput {
  bucket: string;
  key: string;
  etag?: string;
  range?: [number, number];
}

function readsThese(m: PartitionManifest, wanted: WantedInput[]): boolean {
  return m.inputs.length === wanted.length && wanted.every((w, k) => {
    const i = m.inputs[k];
    return i.url === formatS3Url(w) && (!w.etag || i.etag === w.etag) && (i.range?.[0] ?? null) === (w.range?.[0] ?? null) && (i.range?.[1] ?? null) === (w.range?.[1] ?? null);
  });
}

/**
 * A resolve: a re-run stage reads `stage` of this partition, which committed earlier in the ingest
 * and whose content version the workflow no longer holds. The answer is the output the partition
 * already has there reading the same inputs, not what this worker's definition would compute
 * (after a deploy that changed the stage, that is another version: computing it would write a
 * second output that the run manifest and snapshot never name). Of several, in order: the one
 * this ingest committed (its first, should a resolve of before this have computed another); the
 * one of the first of `preferred` versions (the planning worker's, then this worker's); the
 * latest. Null when there is none: the stage is then computed after all.
 */
export async function committedOutput(deps: ActivityDeps, plan: Plan, stage: string, index: number, wanted: WantedInput[], preferred: (string | undefined)[]): Promise<PartitionResult | null> {
  const p = plan.partitions[index];
  const prefix = `${stagePrefix(plan.targetPrefix, plan.dataset, stage)}${p.id}/`;
  const keys = (await listObjects(deps.s3, plan.bucket, prefix)).map((o) => o.key).filter((k) => k.endsWith('.json') && !k.slice(prefix.length).includes('/'));
  const limit = pLimit(8);
  const found = (await Promise.all(keys.map((k) => limit(() => getJsonIfPresent<PartitionManifest>(deps.s3, plan.bucket, k)))))
    .filter((m, n): m is PartitionManifest => m !== null && m.kind === 'partflow.partition' && m.stage === stage && m.partition === p.id
      && partitionKeys(plan.targetPrefix, plan.dataset, stage, p.id, m.contentVersion).manifest === keys[n] && readsThese(m, wanted));
  if (!found.length) return null;
  const info = Context.current().info;
  const ingest = ingestOf(info.workflowExecution?.workflowId ?? '');
  const rank = (m: PartitionManifest) => {
    if (ingestOf(m.run.workflowId) === ingest) return 0;
    const k = preferred.indexOf(m.contentVersion);
    return k < 0 ? preferred.length + 1 : k + 1;
  };
  const m = found.sort((a, b) => rank(a) - rank(b) || (rank(a) === 0 ? a.finishedAt.localeCompare(b.finishedAt) : b.finishedAt.localeCompare(a.finishedAt)))[0];
  // Read, not computed, unless this very activity computed it (an earlier attempt that found none
  // committed, whose completion never reached Temporal): the workflow then records it as computed.
  const mine = committedByThisRun(m, info) && m.run.activityId === info.activityId;
  if (!mine) partitionMetrics.reused(plan.pipeline, stage);
  const at = partitionKeys(plan.targetPrefix, plan.dataset, stage, p.id, m.contentVersion);
  return partitionResult(m, { stage, partition: p.id, output: at.output, manifest: at.manifest }, mine ? 'done' : 'skipped');
}
