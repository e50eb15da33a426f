import { ActivityFailure, ActivityOptions, ApplicationFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { PartitionResult, RecordCounts } from '../../src/manifest/partition';
import { DEFAULT_PARTITION_TIMEOUT_MS } from '../../src/pipeline/input';
import type { PlanSummary } from '../../src/pipeline/plan';
import { Code, EntryDetail, FailureDetail } from './compact';
import { Slots } from './slots';

export interface WindowSettings {
  plan: PlanSummary;
  heartbeatTimeoutSeconds: number;
  partitionTimeoutMs?: number;
}

/** A partition to run and which of its stages; stages not named are committed already. */
export interface WindowItem {
  i: number;
  id?: string;
  name?: string;
  run: string[];
  /** Earlier runs per stage (retries), for activity ids and summaries. */
  runs?: Record<string, number>;
}

/** [stage index, partition index, status code, records in, out, rejected, dropped]: what a parent counts. */
export type Entry = [number, number, Code, number, number, number, number];

/** What the run manifest reads back from S3 for every (stage, partition) a window ran. */
export interface SavedEntry {
  stage: string;
  index: number;
  status: 'done' | 'skipped' | 'failed' | 'blocked';
  attempts: number;
  runs: number;
  version?: string;
  counts?: RecordCounts;
  durationMs?: number;
  error?: string;
  /** From the activity's result: with these the run manifest needs no read of the partition manifest. */
  output?: { url: string; sha256: string; codeVersion: string };
  computedBy?: { workflowId: string; runId: string };
}

export function stageNames(plan: PlanSummary): string[] {
  return [...(plan.needsImport ? ['raw'] : []), ...plan.stages.map((s) => s.name)];
}

/** Stage name -> its upstream stages, raw included. */
function afterOf(plan: PlanSummary): Map<string, string[]> {
  return new Map<string, string[]>([['raw', []], ...plan.stages.map((s) => [s.name, s.after] as [string, string[]])]);
}

export function describeFailure(err: unknown, maxAttempts: number): { error: string; type: string; attempts: number } {
  if (err instanceof ActivityFailure && err.cause) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const d = cause.details?.[0] as { attempt?: number } | undefined;
      return { error: cause.message, type: cause.type ?? 'Error', attempts: d?.attempt ?? maxAttempts };
    }
    return { error: cause.message || cause.name, type: cause.name, attempts: maxAttempts };
  }
  return { error: err instanceof Error ? err.message : String(err), type: 'Error', attempts: 0 };
}

function options(s: WindowSettings, stage: string, item: WindowItem, run: number, resolve: boolean): ActivityOptions {
  const r = s.plan.retry;
  const who = item.id ?? `#${item.i}`;
  const label = item.name ?? who;
  return {
    startToCloseTimeout: s.partitionTimeoutMs ?? DEFAULT_PARTITION_TIMEOUT_MS,
    heartbeatTimeout: s.heartbeatTimeoutSeconds * 1000,
    retry: { maximumAttempts: r.maximumAttempts, initialInterval: r.initialIntervalSeconds * 1000, backoffCoefficient: r.backoffCoefficient, maximumInterval: r.maximumIntervalSeconds * 1000 },
    activityId: `${stage}:${who}${run > 1 ? `#${run}` : ''}${resolve ? ':resolve' : ''}`,
    summary: resolve ? `${stage} ${label} (committed: version for the next stage)` : run > 1 ? `${stage} ${label} (retry ${run - 1})` : `${stage} ${label}`,
  };
}

export interface WindowHooks {
  /** Every finished (stage, partition): the count entry, and the failure when it failed. */
  result(e: Entry, failure?: FailureDetail, detail?: EntryDetail): void;
  /** Slots this window no longer needs (fewer partitions left than slots). */
  freed(n: number): void;
}

/**
 * Runs the items with at most `slots` activities in flight, later stages first. As soon as fewer
 * partitions are left than slots, the spare slots are handed back so the parent can give them to
 * the next window: no window waits for another's slowest partition.
 */
export async function runWindow(s: WindowSettings, items: WindowItem[], slots: number, hooks: WindowHooks, saved: SavedEntry[] = []): Promise<SavedEntry[]> {
  const { plan } = s;
  const names = stageNames(plan);
  const after = afterOf(plan);
  const depth = new Map<string, number>([['raw', 0]]);
  for (const st of plan.stages) depth.set(st.name, 1 + Math.max(...st.after.map((d) => depth.get(d) ?? 0)));
  if (items.some((it) => !it.id)) {
    // A plan too large for the workflow to hold every id: this window asks for its own, once.
    const { describePartitions } = proxyActivities<Activities>({ startToCloseTimeout: '10m', retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '1m' } });
    const d = await describePartitions({ bucket: plan.bucket, planKey: plan.planKey, indices: items.map((it) => it.i) });
    items = items.map((it, k) => ({ ...it, id: d.ids[k], name: d.names[k] }));
  }
  const sem = new Slots(slots);
  let unfinished = items.length;

  const call = (stage: string, item: WindowItem, run: number, resolve: boolean, upstream: Record<string, string>): Promise<PartitionResult> => {
    const acts = proxyActivities<Activities>(options(s, stage, item, run, resolve));
    return stage === 'raw'
      ? acts.importPartition({ bucket: plan.bucket, planKey: plan.planKey, index: item.i })
      : acts.runStage({ bucket: plan.bucket, planKey: plan.planKey, stage, index: item.i, upstream });
  };

  async function partition(item: WindowItem): Promise<void> {
    const ok = new Map<string, Promise<string | null>>(); // stage -> committed version, or null
    const todo = new Set(item.run);
    // Committed stages whose version a re-run stage reads, directly or through another such stage.
    const needed = new Set<string>();
    for (const stage of [...names].reverse()) {
      if (!todo.has(stage) && names.some((t) => (todo.has(t) || needed.has(t)) && (after.get(t) ?? []).includes(stage))) needed.add(stage);
    }
    const upstreamOf = async (stage: string): Promise<Record<string, string> | null> => {
      const up: Record<string, string> = {};
      for (const d of after.get(stage) ?? []) {
        const v = await ok.get(d)!;
        if (v === null) return null;
        if (d !== 'raw') up[d] = v;
      }
      return up;
    };
    for (const stage of names) {
      ok.set(stage, (async (): Promise<string | null> => {
        const si = names.indexOf(stage);
        if (!todo.has(stage)) {
          // Committed earlier; its version is fetched only if a stage that re-runs reads it.
          if (stage === 'raw' || !needed.has(stage)) return '';
          const up = await upstreamOf(stage);
          if (up === null) return null;
          return sem.with(depth.get(stage)!, async () => (await call(stage, item, 1, true, up)).contentVersion).catch(() => null);
        }
        const up = await upstreamOf(stage);
        const run = (item.runs?.[stage] ?? 0) + 1;
        if (up === null) {
          hooks.result([si, item.i, Code.blocked, 0, 0, 0, 0], undefined, { attempts: 0, runs: run - 1 });
          saved.push({ stage, index: item.i, status: 'blocked', attempts: 0, runs: run - 1 });
          return null;
        }
        return sem.with(depth.get(stage)!, async () => {
          try {
            const r = await call(stage, item, run, false, up);
            const c = r.counts;
            hooks.result([si, item.i, r.status === 'done' ? Code.done : Code.skipped, c.in, c.out, c.rejected, c.dropped], undefined,
              { attempts: r.attempt, runs: run, records: c, durationMs: r.durationMs, version: r.contentVersion });
            saved.push({
              stage, index: item.i, status: r.status, attempts: r.attempt, runs: run, version: r.contentVersion, counts: c, durationMs: r.durationMs,
              ...(r.output && r.computedBy ? { output: { ...r.output, codeVersion: r.codeVersion }, computedBy: r.computedBy } : {}),
            });
            return r.contentVersion;
          } catch (err) {
            // Cancelled with its ingest: not a failure, just not run (the ingest counts it blocked).
            if (isCancellation(err)) {
              hooks.result([si, item.i, Code.pending, 0, 0, 0, 0]);
              return null;
            }
            const f = describeFailure(err, plan.retry.maximumAttempts);
            hooks.result([si, item.i, Code.failed, 0, 0, 0, 0], {
              stage, index: item.i, partition: item.id ?? `#${item.i}`, ...(item.name ? { name: item.name } : {}), error: f.error.slice(0, 1000), errorType: f.type, attempts: f.attempts, runs: run,
            });
            saved.push({ stage, index: item.i, status: 'failed', attempts: f.attempts, runs: run, error: f.error.slice(0, 2000) });
            return null;
          }
        });
      })());
    }
    await Promise.all(ok.values());
    unfinished--;
    const spare = sem.capacity - Math.max(unfinished, 0);
    if (spare > 0) {
      sem.shrink(spare);
      hooks.freed(spare);
    }
  }

  await Promise.all(items.map((it) => partition(it)));
  return saved;
}
