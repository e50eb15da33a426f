export { ingest, ingestBatch, batchStatesSignal } from './ingest';
export { finishPartialSignal, finishPartialUpdate, progressQuery, partitionsQuery, retryFailedUpdate, retryFailedSignal } from './run/handles';
export type { PartitionsQuery, RetryRequest, RetryResult } from './run/handles';
export { ingestWindow } from './run/child';
export type { IngestCarry, ScaleOptions } from './run/parent';
