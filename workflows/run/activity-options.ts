import { ActivityFailure, ActivityOptions, ApplicationFailure } from '@temporalio/workflow';
import { DEFAULT_PARTITION_TIMEOUT_MS } from '../../src/pipeline/input';
import type { WindowItem, WindowSettings } from './window';

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

/** The retry policy's attempts once a batch spent `used` on a partition; 0 stays unlimited. */
export function attemptsLeft(maximumAttempts: number, used: number): number {
  return maximumAttempts > 0 ? Math.max(1, maximumAttempts - used) : 0;
}

/** `used`: attempts a batch activity already spent on the partition; they count against its policy. */
function timing(s: WindowSettings, used = 0): ActivityOptions {
  const r = s.plan.retry;
  return {
    startToCloseTimeout: s.partitionTimeoutMs ?? DEFAULT_PARTITION_TIMEOUT_MS,
    heartbeatTimeout: s.heartbeatTimeoutSeconds * 1000,
    retry: { maximumAttempts: attemptsLeft(r.maximumAttempts, used), initialInterval: r.initialIntervalSeconds * 1000, backoffCoefficient: r.backoffCoefficient, maximumInterval: r.maximumIntervalSeconds * 1000 },
  };
}

export function options(s: WindowSettings, stage: string, item: WindowItem, run: number, resolve: boolean, used = 0): ActivityOptions {
  const who = item.id ?? `#${item.i}`;
  const label = item.name ?? who;
  return {
    ...timing(s, used),
    activityId: `${stage}:${who}${run > 1 ? `#${run}` : ''}${resolve ? ':resolve' : ''}`,
    summary: resolve ? `${stage} ${label} (committed: version for the next stage)` : run > 1 ? `${stage} ${label} (retry ${run - 1})` : `${stage} ${label}`,
  };
}

/** One entry of a batch activity: a partition, its run of this stage, and whether it only resolves a committed version. */
export interface BatchEntry {
  item: WindowItem;
  run: number;
  resolve: boolean;
  up: Record<string, string>;
  /** Attempts a batch activity spent on it before it ran alone. */
  used?: number;
}

export function batchOptions(s: WindowSettings, stage: string, entries: BatchEntry[]): ActivityOptions {
  const first = entries[0].item;
  const last = entries[entries.length - 1].item;
  const who = (it: WindowItem) => it.id ?? `#${it.i}`;
  const run = Math.max(...entries.map((e) => e.run));
  const label = (it: WindowItem) => it.name ?? who(it);
  return {
    ...timing(s),
    // Unique among this workflow's activities, as a partition's own id is: a batch that only
    // resolves committed versions is told apart from the batch that computed them.
    activityId: `${stage}:${who(first)}..${who(last)}(${entries.length})${run > 1 ? `#${run}` : ''}${entries.every((e) => e.resolve) ? ':resolve' : ''}`,
    summary: `${stage} ${entries.length} partitions: ${label(first)} … ${label(last)}${run > 1 ? ' (retries)' : ''}`,
  };
}

