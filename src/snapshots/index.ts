/**
 * Dataset snapshots: the public API for consumers (re-exported from the package root).
 *
 *   import { changedPartitions } from 'partflow';
 *   for await (const p of changedPartitions('s3://partflow/datasets/offers/', { since: 41, stage: 'enrich' })) …
 */
export { changedPartitions, datasetChanges, readCursor, commitCursor, consumerStart, recordsOf } from './consume';
export type { ChangedPartition, ChangesOptions, DatasetChanges } from './consume';
export { exportChanges, ExportConflictError } from './export';
export type { ExportManifest, ExportOptions, ExportedPartition } from './export';
export { planRetention, applyRetention } from './retention';
export type { RetentionPlan, RetentionOptions } from './retention';
export { commitSnapshot, latestSnapshot, readHead, readSnapshot, snapshotNumbers, SnapshotError, ConditionalWritesRequiredError } from './store';
export { datasetRef } from './layout';
export type { DatasetLike, DatasetRef } from './layout';
export type { Change } from './changes';
export type { ChangeKind, ConsumerCursor, Snapshot, SnapshotHead, SnapshotPartition, StageChanges, StageCounts } from './types';
export { searchJson } from './search-json';
