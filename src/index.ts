/**
 * partflow's public API. Everything a pipeline project needs is exported here; unit-test
 * helpers are in `partflow/testing`.
 */

// Defining pipelines.
export { definePipeline, defineStage } from './api/define';
export type { PipelineSpec, Stage, StageContext, StageSpec } from './api/define';
export { INHERIT_SCHEMA, PartitionError, passThrough, RAW_STAGE } from './pipeline/types';
export type {
  LookupDefinition, PipelineDefinition, RetrySettings, SetupContext, StageDefinition, Transform, TransformContext,
} from './pipeline/types';
export { PipelineDefinitionError } from './pipeline/dag';
export { SchemaError } from './avro/schemas';

// Running workers.
export { createWorker, runWorker } from './api/worker';
export type { WorkerOptions } from './worker/worker';
export type { RunWorkerOptions } from './api/worker';
export { loadConfig } from './config';
export { ConfigError } from './config/errors';
// What createWorker and runWorker refuse or stop for when S3 refuses the worker's settings, and
// what they carry as `cause` (refusals.onRefused passes the latter); S3SetupError is their base.
export { WorkerS3RefusedError } from './worker/s3-probe';
export { WorkerS3StoppedError } from './worker/refusals';
export { S3ConfigError, S3CredentialsError, S3EndpointError, S3RegionError, S3SetupError, S3UnreachableError } from './storage/failures';
// The S3 client the dataset functions take, built from partflow's settings (one per endpoint and credentials, shared).
export { s3Client } from './storage/client';
export type { Config, S3Config } from './config';

// Starting and watching ingests.
export { connect, IngestRun, PartflowClient } from './api/client';
export type { IngestInput, SourceFormat } from './pipeline/input';
export { InvalidInputError } from './pipeline/input';
export { DatasetSourceConflictError } from './pipeline/dataset-source';
export { NestedDatasetError } from './pipeline/nested-dataset';
export { SourceBucketMissingError, SourceEmptyError, TargetBucketMissingError } from './pipeline/source-listing';
export { UnsupportedSourceError } from './pipeline/source-format';
export { RunEndedError } from './client/run-ended';
export type { PartitionsQuery, RetryRequest, RetryResult } from '../workflows/ingest';
export type { PartitionState, PartitionStatus, Progress, StageProgress } from '../workflows/state';

// Manifests and run results.
export type { PartitionManifest, PartitionResult, RecordCounts } from './manifest/partition';
export type { IngestSummary, RunManifest, RunPartition, StageSummary } from './manifest/run';

// Datasets: snapshots and their consumers (added with dataset snapshots).
export { changedPartitions, datasetChanges, readCursor, commitCursor, consumerStart, recordsOf, exportChanges, ExportConflictError, planRetention, applyRetention, latestSnapshot, readSnapshot, snapshotNumbers, datasetRef, SnapshotError, ConditionalWritesRequiredError } from './snapshots';
export type { ChangedPartition, ChangesOptions, DatasetChanges, ExportManifest, ExportOptions, RetentionPlan, RetentionOptions, DatasetLike, DatasetRef, ChangeKind, ConsumerCursor, Snapshot, SnapshotPartition } from './snapshots';
