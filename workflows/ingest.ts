import { patched } from '@temporalio/workflow';
import type { IngestSummary } from '../src/manifest/run';
import type { IngestInput } from '../src/pipeline/input';
import { markEnded } from './run/ended';
import { IngestCarry, ingestWindowed, ScaleOptions } from './run/parent';
import { ingestUnwindowed } from './run/unwindowed';

export type { PartitionsQuery, RetryRequest, RetryResult } from './run/handles';
export { batchStatesSignal, ingestBatch } from './run/unwindowed';

/**
 * Ingest: plan the source, then run every stage of the pipeline over every partition, at most
 * `maxParallel` at a time. Partition 7's next stage starts as soon as partition 7's inputs are
 * committed. Failed partitions wait for a retry (the retryFailed update or signal) for
 * `waitForRetry`; then the run ends `partial`.
 * New executions run windowed (ingestWindowed, README "Large ingests"): windows of at most
 * `partitionsPerWorkflow` partitions, a run that fits one staying in this history, the others
 * child workflows sharing the `maxParallel` slots; consecutive small partitions share one
 * `runBatch` activity per stage (`partitionsPerActivity`), the others run one activity per
 * partition and stage. ingestUnwindowed, one activity per partition and stage with sequential
 * `ingestBatch` children above `partitionsPerWorkflow`, only replays histories from before the
 * 'windowed-ingest' patch.
 */
export async function ingest(input: IngestInput, carry?: IngestCarry | ScaleOptions): Promise<IngestSummary> {
  try {
    // New executions run windowed (README "Large ingests"); histories from before replay below.
    if (patched('windowed-ingest')) return await ingestWindowed(input, carry);
    return await ingestUnwindowed(input);
  } catch (err) {
    markEnded(err);
    throw err;
  }
}

