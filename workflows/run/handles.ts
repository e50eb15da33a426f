import { defineQuery, defineSignal, defineUpdate, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { PartitionState, PartitionStatus, Progress } from '../state';

// The same names as workflows/ingest.ts defines: clients see one ingest, whichever path runs it.
export const progressQuery = defineQuery<Progress>('progress');
export const partitionsQuery = defineQuery<{ total: number; partitions: PartitionState[] }, [{ status?: PartitionStatus; stage?: string; offset?: number; limit?: number }?]>('partitions');
export const retryFailedUpdate = defineUpdate<{ requeued: { stage: string; partition: string }[] }, [{ partitions?: string[]; stages?: string[] }]>('retryFailed');
export const retryFailedSignal = defineSignal<[{ partitions?: string[]; stages?: string[] }]>('retryFailed');

export const SA = {
  pipeline: defineSearchAttributeKey('PartflowPipeline', SearchAttributeType.KEYWORD),
  dataset: defineSearchAttributeKey('PartflowDataset', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('PartflowStatus', SearchAttributeType.KEYWORD),
  failed: defineSearchAttributeKey('PartflowFailedPartitions', SearchAttributeType.INT),
};

// Temporal sets it on the runs a schedule starts.
const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

/** The id of the Temporal Schedule that started this run, if one did (as workflows/ingest.ts reads it). */
export function scheduledBy(): string | undefined {
  const info = workflowInfo();
  const typed = info.typedSearchAttributes.get(SCHEDULED_BY);
  if (typeof typed === 'string' && typed) return typed;
  // A payload without type metadata shows only in the untyped map.
  const raw = (info.searchAttributes as Record<string, unknown[] | undefined> | undefined)?.TemporalScheduledById?.[0];
  return typeof raw === 'string' && raw ? raw : undefined;
}
