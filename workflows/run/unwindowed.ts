import {
  ActivityOptions, condition, defineSignal, executeChild,
  getExternalWorkflowHandle, isCancellation, log, patched, proxyActivities, RetryPolicy, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { PartitionResult } from '../../src/manifest/partition';
import type { IngestSummary, StageSummary } from '../../src/manifest/run';
import { DEFAULT_PARTITION_TIMEOUT_MS, IngestInput, ResolvedIngest } from '../../src/pipeline/input';
import { runManifestKey, stagePrefix } from '../../src/pipeline/layout';
import type { PlanSummary } from '../../src/pipeline/plan';
import { PartitionState, RunState } from '../state';
import { Slots as PrioritySemaphore } from './slots';
import { describeFailure } from './activity-options';
import { depthOf, stageNames } from './graph';
import { retryShapeProblem } from './retry';
import { resolveOrFail } from './input';
import { partitionsQuery, partitionsQueryProblem, progressQuery, refuse, RetryRequest, RetryResult, retryFailedSignal, retryFailedUpdate, SA, scheduledBy } from './handles';

/**
 * The ingest of histories from before the 'windowed-ingest' patch (workflows/ingest.ts), kept so
 * that they replay: one activity per partition and stage, with sequential `ingestBatch` children
 * above `partitionsPerWorkflow`. New executions never run it.
 */

/** A child batch reports changed partition states to its parent, so the parent's queries cover it. */
export const batchStatesSignal = defineSignal<[PartitionState[]]>('batchStates');

const planRetry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 };
const { planIngest, writeRunManifest, commitSnapshot, commitKafkaOffsets } = proxyActivities<Activities>({ startToCloseTimeout: '1h', heartbeatTimeout: '2m', retry: planRetry });

interface RunSettings {
  plan: PlanSummary;
  maxParallel: number;
  heartbeatTimeoutSeconds: number;
  /** Start-to-close timeout of one partition attempt (absent in histories from before it existed). */
  partitionTimeoutMs?: number;
}

function activityOptions(s: RunSettings, stage: string, index: number, run: number): ActivityOptions {
  const r = s.plan.retry;
  const pid = s.plan.ids[index];
  const label = s.plan.names?.[index] ?? pid;
  return {
    // Only a bound on a whole attempt: liveness comes from heartbeats, so long partitions are fine.
    startToCloseTimeout: s.partitionTimeoutMs ?? DEFAULT_PARTITION_TIMEOUT_MS,
    heartbeatTimeout: s.heartbeatTimeoutSeconds * 1000,
    retry: { maximumAttempts: r.maximumAttempts, initialInterval: r.initialIntervalSeconds * 1000, backoffCoefficient: r.backoffCoefficient, maximumInterval: r.maximumIntervalSeconds * 1000 },
    activityId: run > 1 ? `${stage}:${pid}#${run}` : `${stage}:${pid}`,
    summary: run > 1 ? `${stage} ${label} (retry ${run - 1})` : `${stage} ${label}`,
  };
}

function downstreamOf(plan: PlanSummary): (stage: string) => string[] {
  return (stage) => {
    const out: string[] = [];
    const visit = (s: string) => {
      for (const t of plan.stages) {
        if (t.after.includes(s) && !out.includes(t.name)) {
          out.push(t.name);
          visit(t.name);
        }
      }
    };
    visit(stage);
    return out;
  };
}

export async function ingestUnwindowed(input: IngestInput): Promise<IngestSummary> {
  const resolved = resolveOrFail(input);
  const state = new RunState();
  state.title = `ingest **${resolved.pipeline}** from ${resolved.source} into ${resolved.target}${resolved.dataset}/`;
  state.scheduledBy = scheduledBy();
  if (state.scheduledBy) state.title += ` — started by schedule **${state.scheduledBy}**`;
  let plan: PlanSummary | undefined;
  const retry = (req: RetryRequest = {}): RetryResult => {
    if (!plan) return { requeued: [] };
    return { requeued: state.requeue(req, downstreamOf(plan)).map((e) => ({ stage: e.stage, partition: e.partition })) };
  };
  // Updates get their answer from the validator; a signal cannot answer, so a bad one is logged,
  // noted in the run's current details, and ignored.
  const retryProblem = (req: unknown, strict: boolean): string | null => {
    if (state.phase === 'finishing' || state.phase === 'done') {
      return `the run is ${state.phase === 'done' ? 'done' : 'finishing (writing its run manifest)'} and takes no more retries; once it has closed, \`partflow retry ${workflowInfo().workflowId}\` starts a new run that reuses every committed partition`;
    }
    const shape = retryShapeProblem(req, strict);
    if (shape) return shape;
    const r = (req ?? {}) as RetryRequest;
    const known = new Set([...(plan?.ids ?? []), ...(plan?.names ?? [])]);
    for (const p of r.partitions ?? []) if (plan && !known.has(p)) return `unknown partition ${JSON.stringify(p)}: give a partition id (p-3fa9c1d20b7e) or name of this run`;
    for (const st of r.stages ?? []) if (plan && !stageNames(plan).includes(st)) return `unknown stage ${JSON.stringify(st)} (stages: ${stageNames(plan).join(', ')})`;
    return null;
  };
  setHandler(progressQuery, () => state.progress());
  setHandler(partitionsQuery, (q = {}) => {
    const problem = partitionsQueryProblem(q, plan ? stageNames(plan) : []);
    if (problem) throw new Error(problem);
    return state.list(q);
  });
  setHandler(retryFailedUpdate, (req) => retry(req ?? {}), {
    validator: (req) => {
      const problem = retryProblem(req, true);
      if (problem) refuse(problem, 'RetryRefused');
    },
  });
  setHandler(retryFailedSignal, (req) => {
    // Only histories from before windowed-ingest run here: their signals replay as they were taken.
    const problem = retryProblem(req, false);
    if (!problem) return void retry(req ?? {});
    log.warn('ignored a retryFailed signal', { problem });
    state.note = `a retryFailed signal was ignored: ${problem}`;
    setCurrentDetails(state.describe());
  });
  setHandler(batchStatesSignal, (states) => {
    const { valid, invalid } = state.validStates(states);
    if (invalid) log.warn('ignored malformed batchStates entries', { invalid, sample: JSON.stringify(states)?.slice(0, 200) });
    state.merge(valid);
  });
  setCurrentDetails(state.describe());
  const status = (s: string) => upsertSearchAttributes([{ key: SA.status, value: s }, { key: SA.failed, value: state.failures().length }]);
  upsertSearchAttributes([{ key: SA.pipeline, value: resolved.pipeline }, { key: SA.dataset, value: resolved.dataset }, { key: SA.status, value: 'planning' }]);

  plan = await planIngest(resolved);
  state.plan = `s3://${plan.bucket}/${plan.planKey}`;
  const all = Array.from({ length: plan.partitions }, (_, i) => i);
  state.init(plan.partitions, stageNames(plan), plan.partitions <= resolved.partitionsPerWorkflow ? all : [], plan.ids, plan.names);
  status('running');
  setCurrentDetails(state.describe());
  const settings: RunSettings = { plan, maxParallel: resolved.maxParallel, heartbeatTimeoutSeconds: resolved.heartbeatTimeoutSeconds, partitionTimeoutMs: resolved.partitionTimeoutMs };
  // Children show ids: names stay out of their (per-batch) inputs.
  const childSettings: RunSettings = { ...settings, plan: { ...plan, names: null } };

  let round = 0;
  const runRound = async (indices: number[]) => {
    if (plan!.partitions <= resolved.partitionsPerWorkflow) {
      await runPartitions(settings, indices, state);
      return;
    }
    // Children keep each history well under Temporal's limits (events, pending activities);
    // they run one after another so that maxParallel bounds the whole ingest.
    for (let k = 0; k < indices.length; k += resolved.partitionsPerWorkflow) {
      const slice = indices.slice(k, k + resolved.partitionsPerWorkflow);
      const states = slice.flatMap((i) => state.stages.map((s) => state.get(s, i)));
      const res = await executeChild(ingestBatch, {
        workflowId: `${workflowInfo().workflowId}/batch-${String(slice[0]).padStart(5, '0')}${round ? `-r${round}` : ''}`,
        args: [{ ...childSettings, states }],
      });
      state.merge(res.states);
      setCurrentDetails(state.describe());
    }
  };

  await runRound(all);
  // Failed partitions wait, visibly, for a retry; each retry runs only what it re-queued.
  for (;;) {
    if (state.failures().length === 0 && state.pendingIndices().length === 0) break;
    if (state.pendingIndices().length === 0) {
      state.phase = 'waiting-for-retry';
      status('waiting-for-retry');
      setCurrentDetails(state.describe());
      const asked = await condition(() => state.pendingIndices().length > 0, resolved.waitForRetryMs);
      if (!asked) break;
    }
    round++;
    state.phase = 'running';
    status('running');
    await runRound(state.pendingIndices());
  }

  state.phase = 'finishing';
  const info = workflowInfo();
  const summary = summarize(plan, resolved, state, runManifestKey(resolved.targetPrefix, plan.dataset, info.workflowId, info.runId));
  const failures = state.failures().map((e) => ({ stage: e.stage, index: e.index, error: (e.error ?? '').slice(0, 500), attempts: e.attempts, runs: e.runs }));
  const blocked = state.all().filter((e) => e.status === 'blocked').map((e) => ({ stage: e.stage, index: e.index }));
  await writeRunManifest({ bucket: plan.bucket, planKey: plan.planKey, workflowId: info.workflowId, runId: info.runId, summary, versions: state.versions(), failures, blocked });
  // Runs recorded before snapshots existed replay without this step.
  if (patched('dataset-snapshots')) {
    try {
      const snap = await commitSnapshot({ manifest: summary.manifest });
      // No new command: a recorded result without `kept` takes the same path.
      summary.snapshot = { number: snap.snapshot, url: snap.url, ...(snap.supersededBy ? { supersededBy: snap.supersededBy } : {}), ...(snap.kept ? { kept: snap.kept } : {}) };
    } catch (err) {
      if (isCancellation(err)) throw err;
      // The outputs and run manifest are committed; the next run's snapshot will include them.
      summary.snapshotError = describeFailure(err, planRetry.maximumAttempts!).error;
      log.warn('no dataset snapshot was committed', { error: summary.snapshotError });
    }
  }
  // Kafka offsets advance only once every partition is committed and the snapshot lists them: a
  // partial run, or one whose snapshot failed, leaves them, so the next run covers the same ranges
  // (reusing what is committed) and its snapshot includes them.
  if (plan.kafka && patched('kafka-offsets') && summary.status === 'completed' && !summary.snapshotError) {
    await commitKafkaOffsets({ bucket: plan.bucket, planKey: plan.planKey, workflowId: info.workflowId, runId: info.runId });
  }
  state.phase = 'done';
  status(summary.status);
  setCurrentDetails(state.describe());
  return summary;
}

export interface BatchInput extends RunSettings {
  /** The partitions of this batch, with what is known of them (done stages are not run again). */
  states: PartitionState[];
}

/** A slice of an ingest's partitions, run as a child workflow. */
export async function ingestBatch(b: BatchInput): Promise<{ states: PartitionState[] }> {
  const state = new RunState();
  state.init(b.plan.partitions, stageNames(b.plan), [], b.plan.ids, b.plan.names);
  state.merge(b.states);
  setHandler(progressQuery, () => state.progress());
  setHandler(partitionsQuery, (q = {}) => {
    const problem = partitionsQueryProblem(q, stageNames(b.plan));
    if (problem) throw new Error(problem);
    return state.list(q);
  });
  const parent = workflowInfo().parent;
  let changed: PartitionState[] = [];
  const report = (e: PartitionState) => {
    changed.push({ ...e });
    if (!parent || changed.length < 20) return;
    const batch = changed;
    changed = [];
    getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(batchStatesSignal, batch).catch(() => undefined);
  };
  const indices = [...new Set(b.states.map((s) => s.index))].sort((x, y) => x - y);
  await runPartitions(b, indices, state, report);
  return { states: indices.flatMap((i) => state.stages.map((s) => state.get(s, i))) };
}

async function runPartitions(s: RunSettings, indices: number[], state: RunState, onChange: (e: PartitionState) => void = () => undefined): Promise<void> {
  const { plan } = s;
  const sem = new PrioritySemaphore(s.maxParallel);
  const depth = depthOf(plan);

  async function step(stage: string, index: number, call: (acts: Activities) => Promise<PartitionResult>): Promise<boolean> {
    return sem.with(depth.get(stage)!, async () => {
      const e = state.begin(stage, index);
      const acts = proxyActivities<Activities>(activityOptions(s, stage, index, e.runs));
      try {
        state.succeeded(await call(acts), index);
        return true;
      } catch (err) {
        const f = describeFailure(err, plan.retry.maximumAttempts, { stage, partition: plan.ids[index], name: plan.names?.[index], heartbeatTimeoutSeconds: s.heartbeatTimeoutSeconds, partitionTimeoutMs: s.partitionTimeoutMs });
        state.failed(stage, index, f.error, f.type, f.attempts);
        return false;
      } finally {
        setCurrentDetails(state.describe());
        onChange(state.get(stage, index));
      }
    });
  }

  async function partition(index: number): Promise<void> {
    const ok = new Map<string, Promise<boolean>>();
    const finished = (stage: string) => ['done', 'skipped'].includes(state.get(stage, index).status);
    ok.set('raw', !plan.needsImport || finished('raw')
      ? Promise.resolve(true)
      : step('raw', index, (a) => a.importPartition({ bucket: plan.bucket, planKey: plan.planKey, index })));
    for (const st of plan.stages) {
      ok.set(st.name, (async () => {
        const deps = await Promise.all(st.after.map((d) => ok.get(d)!));
        if (finished(st.name)) return true;
        if (!deps.every(Boolean)) {
          state.blocked(st.name, index);
          onChange(state.get(st.name, index));
          return false;
        }
        // Each stage reads the versions its upstream stages of this partition committed.
        const upstream: Record<string, string> = {};
        for (const d of st.after) if (d !== 'raw') upstream[d] = state.get(d, index).version ?? '';
        return step(st.name, index, (a) => a.runStage({ bucket: plan.bucket, planKey: plan.planKey, stage: st.name, index, upstream }));
      })());
    }
    await Promise.all(ok.values());
  }

  await Promise.all(indices.map((i) => partition(i)));
}

function summarize(plan: PlanSummary, input: ResolvedIngest, state: RunState, manifestKey: string): IngestSummary {
  const url = (key: string) => `s3://${plan.bucket}/${key}`;
  const progress = state.progress();
  const stages: Record<string, StageSummary> = {};
  const dirs: [string, string][] = stageNames(plan).map((n) => [n, stagePrefix(plan.targetPrefix, plan.dataset, n)]);
  const failures = state.failures();
  for (const [name, dir] of dirs) {
    const p = progress.stages[name];
    stages[name] = {
      output: url(dir), succeeded: p.done, skipped: p.skipped, failed: p.failed, blocked: p.blocked, records: p.records,
      failures: failures.filter((f) => f.stage === name).slice(0, 100).map((f) => ({ partition: f.partition, ...(f.name ? { name: f.name } : {}), error: f.error ?? '', attempts: f.attempts })),
    };
  }
  return {
    status: failures.length > 0 ? 'partial' : 'completed',
    pipeline: input.pipeline, dataset: plan.dataset, source: input.source, plan: url(plan.planKey), partitions: plan.partitions, stages,
    outputPrefix: url(`${input.targetPrefix}${plan.dataset}/`),
    manifest: url(manifestKey),
    ...(state.scheduledBy ? { schedule: state.scheduledBy } : {}),
    startedAt: workflowInfo().startTime.toISOString(),
  };
}
