import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';

/** A run whose workflow task keeps failing: it makes no progress until a worker can run its code. */
export interface FailingTask {
  attempt: number;
  /** The worker whose task failed last, as Temporal knows it. */
  identity?: string;
  cause: string;
  message: string;
  /** The cause is nondeterminism: a worker of another release of the workflow code took the task. */
  nondeterminism: boolean;
}

// temporal.api.enums.v1 values: @temporalio/proto is not a dependency of ours (as in silent-activities.ts).
const EVENT_TYPE_WORKFLOW_TASK_FAILED = 9;
const NON_DETERMINISTIC_ERROR = 24;
/** WorkflowTaskFailedCause names a worker's own failures take; any other is given by number. */
const CAUSES: Record<number, string> = {
  1: 'UNHANDLED_COMMAND', 14: 'WORKFLOW_WORKER_UNHANDLED_FAILURE', 24: 'NON_DETERMINISTIC_ERROR', 31: 'UNHANDLED_UPDATE',
  36: 'GRPC_MESSAGE_TOO_LARGE', 37: 'PAYLOADS_TOO_LARGE', 40: 'REQUEST_TOO_LARGE',
};

/**
 * Why the run's workflow task keeps failing, when it does (its pending task is past its first
 * attempt): the last WorkflowTaskFailed event, read from the end of the history. Nothing in the
 * run's progress shows this (its query fails the same way), and the server retries the task
 * quietly, so without it `status` showed a run that was RUNNING and nothing else.
 */
export async function failingWorkflowTask(handle: WorkflowHandle, desc: WorkflowExecutionDescription): Promise<FailingTask | undefined> {
  const attempt = desc.raw.pendingWorkflowTask?.attempt ?? 0;
  if (attempt < 2) return undefined;
  const res = await handle.client.workflowService.getWorkflowExecutionHistoryReverse({
    namespace: handle.client.options.namespace,
    execution: { workflowId: desc.workflowId, runId: desc.runId },
    maximumPageSize: 50,
  });
  const ev = (res.history?.events ?? []).find((e) => Number(e.eventType) === EVENT_TYPE_WORKFLOW_TASK_FAILED);
  const a = ev?.workflowTaskFailedEventAttributes;
  if (!a) return { attempt, cause: 'unknown', message: 'the history does not say why', nondeterminism: false };
  const code = Number(a.cause ?? 0);
  return {
    attempt,
    ...(a.identity ? { identity: a.identity } : {}),
    cause: CAUSES[code] ?? `cause ${code}`,
    message: a.failure?.message ?? '',
    nondeterminism: code === NON_DETERMINISTIC_ERROR || /nondetermin/i.test(a.failure?.message ?? ''),
  };
}

/** The line `status` prints for it, with what to do. */
export function failingTaskLine(f: FailingTask): string {
  const head = `the run's workflow task keeps failing (attempt ${f.attempt}${f.identity ? `, last on worker ${f.identity}` : ''}): ${f.cause}: ${f.message.split('\n')[0].slice(0, 500)}`;
  return f.nondeterminism
    ? `${head}. A worker running another release of partflow's workflow code took the task: stop the workers of the older release (see "Deploying workflow changes" in the README); the run carries on once only one release's workers poll its task queue`
    : `${head}. The run makes no progress until a worker can run it; the worker's log says more`;
}
