import { ActivityCancellationType, ActivityFailure, ActivityOptions, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { DEFAULT_PARTITION_TIMEOUT_MS, formatMs } from '../../src/pipeline/input';
import type { WindowItem, WindowSettings } from './window';
import { counted } from '../../src/log/shown';
import type { RetrySettings } from '../../src/pipeline/types';

/** What a failure that the activity did not write (a timeout) is described with: who, and the limits it hit. */
export interface FailureContext {
  stage: string;
  partition: string;
  name?: string;
  heartbeatTimeoutSeconds: number;
  partitionTimeoutMs?: number;
}

/**
 * Temporal's own text for a timeout ("activity Heartbeat timeout") names neither the partition
 * nor what to do, and the activity, which names both in its own errors, never saw it happen.
 */
function timeoutMessage(cause: TimeoutFailure, c: FailureContext): string {
  const who = `stage "${c.stage}" partition ${c.partition}${c.name && c.name !== c.partition ? ` (${c.name})` : ''}`;
  if (cause.timeoutType === 'HEARTBEAT') {
    return `${who}: no heartbeat for ${formatMs(c.heartbeatTimeoutSeconds * 1000)}: the worker running it stopped or lost its connection to Temporal (each such loss uses one of the retry policy's attempts; the next attempt resumes from the partition's last checkpoint)`;
  }
  if (cause.timeoutType === 'START_TO_CLOSE') {
    return `${who}: an attempt ran longer than the partition timeout of ${formatMs(c.partitionTimeoutMs ?? DEFAULT_PARTITION_TIMEOUT_MS)} (raise partitionTimeout in the ingest input for partitions this slow)`;
  }
  return `${who}: ${cause.message || cause.name}`;
}

export function describeFailure(err: unknown, maxAttempts: number, context?: FailureContext): { error: string; type: string; attempts: number } {
  if (err instanceof ActivityFailure && err.cause) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const d = cause.details?.[0] as { attempt?: number } | undefined;
      return { error: cause.message, type: cause.type ?? 'Error', attempts: d?.attempt ?? maxAttempts };
    }
    if (cause instanceof TimeoutFailure && context) return { error: timeoutMessage(cause, context), type: cause.name, attempts: maxAttempts };
    return { error: cause.message || cause.name, type: cause.name, attempts: maxAttempts };
  }
  return { error: err instanceof Error ? err.message : String(err), type: 'Error', attempts: 0 };
}

/** The retry policy's attempts once a batch spent `used` on a partition; 0 stays unlimited. */
export function attemptsLeft(maximumAttempts: number, used: number): number {
  return maximumAttempts > 0 ? Math.max(1, maximumAttempts - used) : 0;
}

/**
 * A partition activity that goes on after the cancel may still commit: one that reaches its
 * commit before its next heartbeat brings the cancel. `awaitCancel`: the workflow waits for what
 * the activity then ends as (its commit, or that it stopped) rather than taking it as stopped
 * the moment it asks, so a partition committed by this run is counted as this run's. A worker
 * that is gone does not hold it up for longer than the heartbeat timeout: the server fails such
 * an attempt then, and does not retry it once a cancel was asked for.
 */
export function awaitingCancel(awaitCancel: boolean): Pick<ActivityOptions, 'cancellationType'> {
  return awaitCancel ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {};
}

/**
 * An activity that failed only because the cancel kept the server from retrying it (a heartbeat
 * timeout of a worker that is gone, a retryable error): stopped by the cancel, not failed.
 */
export function endedByCancel(err: unknown): boolean {
  return err instanceof ActivityFailure && err.retryState === 'CANCEL_REQUESTED';
}

/**
 * Milliseconds the retry policy waits after attempt n, before attempt n + 1, as Temporal spaces
 * them. A partition whose first attempts ran in a batch waits this before it runs alone, so the
 * batch changes neither how often nor how long it is tried.
 */
export function backoffMs(r: Required<RetrySettings>, n: number): number {
  return Math.min(r.initialIntervalSeconds * r.backoffCoefficient ** (n - 1), r.maximumIntervalSeconds) * 1000;
}

/**
 * `used`: attempts a batch activity already spent on the partition; they count against its
 * policy. `resumed`: the activity goes on with the policy's schedule where the batch left it
 * (its first retry waits what attempt used + 2 would); without it the schedule starts afresh.
 */
function timing(s: WindowSettings, used = 0, awaitCancel = false, resumed = false): ActivityOptions {
  const r = s.plan.retry;
  return {
    ...awaitingCancel(awaitCancel),
    startToCloseTimeout: s.partitionTimeoutMs ?? DEFAULT_PARTITION_TIMEOUT_MS,
    heartbeatTimeout: s.heartbeatTimeoutSeconds * 1000,
    retry: {
      maximumAttempts: attemptsLeft(r.maximumAttempts, used),
      initialInterval: resumed && used > 0 ? backoffMs(r, used + 1) : r.initialIntervalSeconds * 1000,
      backoffCoefficient: r.backoffCoefficient,
      maximumInterval: r.maximumIntervalSeconds * 1000,
    },
  };
}

export function options(s: WindowSettings, stage: string, item: WindowItem, run: number, resolve: boolean, used = 0, awaitCancel = false, resumed = false): ActivityOptions {
  const who = item.id ?? `#${item.i}`;
  const label = item.name ?? who;
  return {
    ...timing(s, used, awaitCancel, resumed),
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

export function batchOptions(s: WindowSettings, stage: string, entries: BatchEntry[], awaitCancel = false): ActivityOptions {
  const first = entries[0].item;
  const last = entries[entries.length - 1].item;
  const who = (it: WindowItem) => it.id ?? `#${it.i}`;
  const run = Math.max(...entries.map((e) => e.run));
  const label = (it: WindowItem) => it.name ?? who(it);
  return {
    ...timing(s, 0, awaitCancel),
    // Unique among this workflow's activities, as a partition's own id is: a batch that only
    // resolves committed versions is told apart from the batch that computed them.
    activityId: `${stage}:${who(first)}..${who(last)}(${entries.length})${run > 1 ? `#${run}` : ''}${entries.every((e) => e.resolve) ? ':resolve' : ''}`,
    summary: `${stage} ${counted(entries.length, 'partition')}: ${label(first)} … ${label(last)}${run > 1 ? ' (retries)' : ''}`,
  };
}

