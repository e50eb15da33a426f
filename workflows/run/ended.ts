import { ContinueAsNew, isCancellation, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { SA } from './handles';

/**
 * Sets PartflowStatus of an ingest that ends by throwing: `failed`, or `cancelled` for a
 * cancellation (a large ingest sets that itself once its windows have stopped). Without it, a run
 * that failed at planning (unknown pipeline, missing bucket, empty source) would stay "planning"
 * in list filters and the UI for as long as Temporal keeps it. Continue-as-new is no ending.
 */
export function markEnded(err: unknown): void {
  if (err instanceof ContinueAsNew) return;
  const status = isCancellation(err) ? 'cancelled' : 'failed';
  if (workflowInfo().typedSearchAttributes.get(SA.status) === status) return;
  // Histories of runs that ended before this replay without the new command.
  if (patched('ended-status')) upsertSearchAttributes([{ key: SA.status, value: status }]);
}
