import {
  ActivityFailure, ApplicationFailure, defineQuery, defineSignal, executeChild, getExternalWorkflowHandle, proxyActivities, setHandler, setCurrentDetails,
  workflowInfo, ActivityOptions, RetryPolicy, upsertSearchAttributes,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Activities } from '../activities';
import type { PartitionResult } from '../src/manifest/partition';
import type { IngestSummary, StageSummary } from '../src/manifest/run';
import { IngestInput, InvalidInputError, ResolvedIngest, resolveIngestInput } from '../src/pipeline/input';
import { partitionId, runManifestKey } from '../src/pipeline/layout';
import type { PlanSummary } from '../src/pipeline/plan';
import { emptyProgress, Failure, Progress, ProgressTracker } from './progress';
import { PrioritySemaphore } from './semaphore';

export const progressQuery = defineQuery<Progress>('progress');
/** A child batch reports its live progress to the parent, so the parent's query covers it. */
export const batchProgressSignal = defineSignal<[{ from: number; progress: Progress }]>('batchProgress');

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 };

const { planIngest, writeRunManifest } = proxyActivities<Activities>({
  startToCloseTimeout: '1h', heartbeatTimeout: '2m', retry,
});

// Registered by the embedded stack and docker-compose; see the README for other clusters.
const SA = {
  pipeline: defineSearchAttributeKey('PartflowPipeline', SearchAttributeType.KEYWORD),
  dataset: defineSearchAttributeKey('PartflowDataset', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('PartflowStatus', SearchAttributeType.KEYWORD),
  failed: defineSearchAttributeKey('PartflowFailedPartitions', SearchAttributeType.INT),
};

function partitionOptions(heartbeatTimeoutSeconds: number): ActivityOptions {
  return { startToCloseTimeout: '2h', heartbeatTimeout: heartbeatTimeoutSeconds * 1000, retry };
}

function errorText(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Ingest: plan the source, then run every stage of the pipeline over every partition, one
 * activity per partition and stage, at most `maxParallel` at a time. Partition 7's next stage
 * starts as soon as partition 7's inputs are committed.
 */
export async function ingest(input: IngestInput): Promise<IngestSummary> {
  let resolved;
  try {
    resolved = resolveIngestInput(input);
  } catch (err) {
    if (err instanceof InvalidInputError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidInput');
    throw err;
  }
  const tracker = new ProgressTracker();
  const live = new Map<number, Progress>();
  setHandler(progressQuery, () => tracker.combined([...live.values()]));
  setHandler(batchProgressSignal, ({ from, progress }) => {
    if (live.has(from)) live.set(from, progress);
  });
  upsertSearchAttributes([
    { key: SA.pipeline, value: resolved.pipeline }, { key: SA.dataset, value: resolved.dataset }, { key: SA.status, value: 'planning' },
  ]);

  const plan = await planIngest(resolved);
  upsertSearchAttributes([{ key: SA.status, value: 'running' }]);
  tracker.init(plan.partitions, [...(plan.needsImport ? ['raw'] : []), ...plan.stages.map((s) => s.name)]);
  setCurrentDetails(tracker.describe());

  const per = resolved.partitionsPerWorkflow;
  if (plan.partitions <= per) {
    await runPartitions(plan, 0, plan.partitions, resolved.maxParallel, resolved.heartbeatTimeoutSeconds, tracker);
  } else {
    // Children keep each history well under Temporal's limits (events, pending activities);
    // they run one after another so that maxParallel bounds the whole ingest.
    for (let from = 0; from < plan.partitions; from += per) {
      const to = Math.min(plan.partitions, from + per);
      live.set(from, emptyProgress());
      const res = await executeChild(ingestBatch, {
        workflowId: `${workflowInfo().workflowId}/batch-${partitionId(from)}`,
        args: [{ plan, from, to, maxParallel: resolved.maxParallel, heartbeatTimeoutSeconds: resolved.heartbeatTimeoutSeconds }],
      });
      live.delete(from);
      tracker.merge(res.progress, res.failures);
      setCurrentDetails(tracker.describe());
    }
  }

  tracker.progress.phase = 'finishing';
  const info = workflowInfo();
  const summary = summarize(plan, resolved, tracker, runManifestKey(resolved.targetPrefix, plan.dataset, info.workflowId, info.runId));
  await writeRunManifest({ bucket: plan.bucket, planKey: plan.planKey, workflowId: info.workflowId, runId: info.runId, summary });
  tracker.progress.phase = 'done';
  upsertSearchAttributes([{ key: SA.status, value: summary.status }, { key: SA.failed, value: tracker.failures.length }]);
  setCurrentDetails(tracker.describe());
  return summary;
}

export interface BatchInput {
  plan: PlanSummary;
  from: number;
  to: number;
  maxParallel: number;
  heartbeatTimeoutSeconds: number;
}

/** A slice of an ingest's partitions, run as a child workflow. */
export async function ingestBatch(b: BatchInput): Promise<{ progress: Progress; failures: Failure[] }> {
  const tracker = new ProgressTracker();
  setHandler(progressQuery, () => tracker.progress);
  tracker.init(b.to - b.from, [...(b.plan.needsImport ? ['raw'] : []), ...b.plan.stages.map((s) => s.name)]);
  const parent = workflowInfo().parent;
  let unreported = 0;
  const report = () => {
    if (!parent || ++unreported < 20) return;
    unreported = 0;
    getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(batchProgressSignal, { from: b.from, progress: tracker.progress }).catch(() => undefined);
  };
  await runPartitions(b.plan, b.from, b.to, b.maxParallel, b.heartbeatTimeoutSeconds, tracker, report);
  tracker.progress.phase = 'done';
  return { progress: tracker.progress, failures: tracker.failures };
}

async function runPartitions(
  plan: PlanSummary, from: number, to: number, maxParallel: number, heartbeatTimeoutSeconds: number, tracker: ProgressTracker,
  onChange: () => void = () => undefined,
): Promise<void> {
  const sem = new PrioritySemaphore(maxParallel);
  const depth = new Map<string, number>([['raw', 0]]);
  for (const s of plan.stages) depth.set(s.name, 1 + Math.max(...s.after.map((d) => depth.get(d) ?? 0)));

  async function step(stage: string, index: number, call: (acts: Activities) => Promise<PartitionResult>): Promise<boolean> {
    const pid = partitionId(index);
    return sem.with(depth.get(stage)!, async () => {
      tracker.started(stage);
      const acts = proxyActivities<Activities>({ ...partitionOptions(heartbeatTimeoutSeconds), activityId: `${stage}:${pid}`, summary: `${stage} ${pid}` });
      try {
        tracker.succeeded(await call(acts));
        return true;
      } catch (err) {
        tracker.failed(stage, pid, errorText(err));
        return false;
      } finally {
        setCurrentDetails(tracker.describe());
        onChange();
      }
    });
  }

  async function partition(index: number): Promise<void> {
    const ok = new Map<string, Promise<boolean>>();
    ok.set('raw', plan.needsImport
      ? step('raw', index, (a) => a.importPartition({ bucket: plan.bucket, planKey: plan.planKey, index }))
      : Promise.resolve(true));
    for (const s of plan.stages) {
      ok.set(s.name, (async () => {
        const deps = await Promise.all(s.after.map((d) => ok.get(d)!));
        if (!deps.every(Boolean)) {
          tracker.blocked(s.name);
          return false;
        }
        return step(s.name, index, (a) => a.runStage({ bucket: plan.bucket, planKey: plan.planKey, stage: s.name, index }));
      })());
    }
    await Promise.all(ok.values());
  }

  const all: Promise<void>[] = [];
  for (let i = from; i < to; i++) all.push(partition(i));
  await Promise.all(all);
}

function summarize(plan: PlanSummary, input: ResolvedIngest, tracker: ProgressTracker, manifestKey: string): IngestSummary {
  const url = (key: string) => `s3://${plan.bucket}/${key}`;
  const stages: Record<string, StageSummary> = {};
  const dirs: [string, string][] = [
    ...(plan.rawDir ? [['raw', plan.rawDir] as [string, string]] : []),
    ...plan.stages.map((s) => [s.name, s.dir] as [string, string]),
  ];
  for (const [name, dir] of dirs) {
    const p = tracker.progress.stages[name];
    stages[name] = {
      output: url(dir + '/'), succeeded: p.done, skipped: p.skipped, failed: p.failed, blocked: p.blocked, records: p.records,
      failures: tracker.failures.filter((f) => f.stage === name).slice(0, 100).map(({ partition, error }) => ({ partition, error })),
    };
  }
  return {
    status: tracker.failures.length > 0 ? 'partial' : 'completed',
    pipeline: input.pipeline, dataset: plan.dataset, source: input.source, plan: url(plan.planKey), partitions: plan.partitions, stages,
    outputPrefix: url(`${input.targetPrefix}${plan.dataset}/`),
    manifest: url(manifestKey),
  };
}
