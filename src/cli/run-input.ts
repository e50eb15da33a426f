/** What the CLI reads of a run from its history, when the run has no result to say it. */
import { Client, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import { IngestInput, resolveIngestInput } from '../pipeline/input';

/** The input the run was started with (the first event of its current run; continue-as-new keeps it). */
export async function runInputOf(client: Client, workflowId: string): Promise<IngestInput | undefined> {
  const res = await client.workflowService.getWorkflowExecutionHistory({ namespace: client.options.namespace, execution: { workflowId }, maximumPageSize: 1 });
  const payload = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload(payload) as IngestInput : undefined;
}

/** s3:// URL of the dataset a run writes (<target>/<dataset>/), from its input; undefined if the input does not resolve. */
export function datasetUrlOf(input: IngestInput | undefined): string | undefined {
  if (!input) return undefined;
  try {
    const r = resolveIngestInput(input);
    return `${r.target}${r.dataset}/`;
  } catch {
    return undefined;
  }
}

/** A run waited on ended because someone cancelled it. */
export function wasCancelled(err: unknown): boolean {
  return err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure;
}

/** What a cancel leaves, and how to go on: for `partflow cancel` and for a wait that saw the cancel. */
export function afterCancel(workflowId: string): string {
  return `partitions it committed stay committed and its run manifest lists them (partflow partitions ${workflowId}); `
    + `no snapshot is published for it; \`partflow retry ${workflowId}\` starts a new run of its input that reuses every committed partition`;
}

/** `await wait()`, but a run that was cancelled meanwhile is said as such, with what it leaves and how to go on. */
export async function unlessCancelled<T>(workflowId: string, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (err) {
    if (!wasCancelled(err)) throw err;
    throw new Error(`${workflowId} was cancelled: ${afterCancel(workflowId)}`);
  }
}
