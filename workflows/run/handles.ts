import { ApplicationFailure, defineQuery, defineSignal, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { PartitionState, PartitionStatus, Progress } from '../state';
import { STATUSES } from './compact';
import { shown, unknownFields } from '../../src/log/shown';

export interface PartitionsQuery {
  status?: PartitionStatus;
  stage?: string;
  offset?: number;
  limit?: number;
}

/** What is wrong with a partitions query (it would otherwise answer a typo with everything, or nothing), or null. */
export function partitionsQueryProblem(q: unknown, stages: string[]): string | null {
  if (q === undefined || q === null) return null;
  if (typeof q !== 'object' || Array.isArray(q)) return 'expected {"status": "failed", "stage": "map", "offset": 0, "limit": 1000} or nothing';
  const r = q as Record<string, unknown>;
  const unknown = unknownFields(r, ['status', 'stage', 'offset', 'limit']);
  if (unknown) return `${unknown} (fields: status, stage, offset, limit)`;
  if (r.status !== undefined && !(STATUSES as unknown[]).includes(r.status)) return `unknown status ${shown(r.status, 50)} (statuses: ${STATUSES.join(', ')})`;
  if (r.stage !== undefined && !(stages as unknown[]).includes(r.stage)) return `unknown stage ${shown(r.stage, 50)} (stages: ${stages.join(', ') || 'none yet: the run is planning'})`;
  for (const k of ['offset', 'limit'] as const) {
    const v = r[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)) return `"${k}" must be a whole number of at least 0, got ${shown(v, 50)}`;
  }
  return null;
}

export interface RetryRequest {
  /** Partition ids ("p-3fa9c1d20b7e") or names; all failed partitions when absent (an empty list is refused). */
  partitions?: string[];
  /** Stage names; all stages when absent (an empty list is refused). */
  stages?: string[];
}

export interface RetryResult {
  requeued: { stage: string; partition: string }[];
}

// One set of handlers for both ingest paths: clients see one ingest, whichever path runs it.
/** Per stage: total, running, done, failed, skipped, blocked; records; throughput. */
export const progressQuery = defineQuery<Progress>('progress');
/** Per partition and stage: status, attempts, last error, records, duration, output key. */
export const partitionsQuery = defineQuery<{ total: number; partitions: PartitionState[] }, [PartitionsQuery?]>('partitions');
/** Re-runs failed partitions (and what they blocked downstream) with fresh attempts. */
export const retryFailedUpdate = defineUpdate<RetryResult, [RetryRequest]>('retryFailed');
/** The same as the update, for the Temporal UI, which can send signals. */
export const retryFailedSignal = defineSignal<[RetryRequest]>('retryFailed');
/**
 * Ends a run that waits for a retry now, as `partial`: it writes its run manifest and commits the
 * dataset snapshot with what succeeded, as if `waitForRetry` had run out.
 */
export const finishPartialUpdate = defineUpdate<{ failed: number }, []>('finishPartial');
/** The same as the update, for the Temporal UI. */
export const finishPartialSignal = defineSignal<[]>('finishPartial');

/**
 * Refuses an update from its validator. Not a plain Error: clients (the Temporal CLI and UI among
 * them) show that as retryable, and asking again the same way is refused again.
 */
export function refuse(problem: string, type: 'RetryRefused' | 'FinishRefused'): never {
  throw ApplicationFailure.create({ message: problem, type, nonRetryable: true });
}

/**
 * Sets both finishPartial handlers. `problem` says why the run cannot finish now (null: it can);
 * the update refuses with it, and a signal, which cannot answer, hands it to `ignored`.
 */
export function handleFinishPartial(problem: () => string | null, ask: () => { failed: number }, ignored: (problem: string) => void): void {
  setHandler(finishPartialUpdate, ask, {
    validator: () => {
      const p = problem();
      if (p) refuse(p, 'FinishRefused');
    },
  });
  setHandler(finishPartialSignal, () => {
    const p = problem();
    if (p) ignored(p);
    else ask();
  });
}

// Registered by the embedded stack and docker-compose; see the README for other clusters.
export const SA = {
  pipeline: defineSearchAttributeKey('PartflowPipeline', SearchAttributeType.KEYWORD),
  dataset: defineSearchAttributeKey('PartflowDataset', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('PartflowStatus', SearchAttributeType.KEYWORD),
  failed: defineSearchAttributeKey('PartflowFailedPartitions', SearchAttributeType.INT),
};

// Temporal sets it on the runs a schedule starts.
const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

/** The id of the Temporal Schedule that started this run, if one did. */
export function scheduledBy(): string | undefined {
  const info = workflowInfo();
  const typed = info.typedSearchAttributes.get(SCHEDULED_BY);
  if (typeof typed === 'string' && typed) return typed;
  // A payload without type metadata shows only in the untyped map.
  const raw = (info.searchAttributes as Record<string, unknown[] | undefined> | undefined)?.TemporalScheduledById?.[0];
  return typeof raw === 'string' && raw ? raw : undefined;
}
