import { WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import type { IngestSummary } from '../manifest/run';

/**
 * How a closed run ended, in words ("ended partial", "is failed"), or undefined while it runs.
 * Temporal says COMPLETED of a run that ended partial: its result says how it ended.
 */
export async function endedInWords(handle: WorkflowHandle, status: string): Promise<string | undefined> {
  if (status === 'RUNNING') return undefined;
  const summary = status === 'COMPLETED' ? ((await handle.result().catch(() => undefined)) as IngestSummary | undefined) : undefined;
  return summary?.status ? `ended ${summary.status}` : `is ${status.toLowerCase().replace(/_/g, ' ')}`;
}

/** Why finishing a run that is not waiting for a retry is refused. */
export const ONLY_WAITING = 'only a run waiting for a retry can be finished';

/** An update or signal sent to a run that has closed: which run, how it ended, and what to do instead. */
export class RunEndedError extends Error {
  constructor(readonly workflowId: string, readonly ended: string, what: string) {
    super(`${workflowId} ${ended} (closed): ${what}`);
    this.name = 'RunEndedError';
  }
}

/**
 * Throws RunEndedError when `err` is Temporal's "workflow execution already completed" for a run
 * that has closed (its words say "completed" even of a failed run); else throws `err` as it is.
 */
export async function refuseEnded(handle: WorkflowHandle, err: unknown, what: string): Promise<never> {
  if (err instanceof WorkflowNotFoundError) {
    const status = await handle.describe().then((d) => d.status.name, () => undefined);
    const ended = status && await endedInWords(handle, status);
    if (ended) throw new RunEndedError(handle.workflowId, ended, what);
  }
  throw err;
}
