export {
  ingest, ingestBatch, progressQuery, partitionsQuery, retryFailedUpdate, retryFailedSignal, batchStatesSignal,
} from './ingest';
export type { PartitionsQuery, RetryRequest, RetryResult } from './ingest';
export { ingestWindow } from './run/child';
export type { IngestCarry, ScaleOptions } from './run/parent';
