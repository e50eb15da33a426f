import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
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
