import { Client, WorkflowStartOptions } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type Timestamp = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;

function iso(t: Timestamp): string {
  if (!t?.seconds) return 'never';
  const s = typeof t.seconds === 'number' ? t.seconds : t.seconds.toNumber();
  return new Date(s * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}

/** What a running workflow waits on (its pending workflow task, activities and children, recursively), a line each. */
export async function pendingWork(client: Client, workflowId: string, depth = 0): Promise<string[]> {
  const pad = '  '.repeat(depth);
  const d = await client.workflow.getHandle(workflowId).describe();
  const lines = [`${pad}${workflowId}: ${d.status.name}, ${d.historyLength} events`];
  const wt = d.raw.pendingWorkflowTask;
  if (wt) lines.push(`${pad}  workflow task: ${temporal.api.enums.v1.PendingWorkflowTaskState[wt.state ?? 0]}, attempt ${wt.attempt}, scheduled ${iso(wt.scheduledTime)}`);
  for (const a of d.raw.pendingActivities ?? []) {
    lines.push(`${pad}  activity ${a.activityId} (${a.activityType?.name}): ${temporal.api.enums.v1.PendingActivityState[a.state ?? 0]}, attempt ${a.attempt},`
      + ` started ${iso(a.lastStartedTime)}, last heartbeat ${iso(a.lastHeartbeatTime)}, last failure: ${a.lastFailure?.message ?? 'none'}`);
  }
  for (const c of d.raw.pendingChildren ?? []) lines.push(...(await pendingWork(client, c.workflowId!, depth + 1).catch((e: Error) => [`${pad}  ${c.workflowId}: ${e.message}`])));
  return lines;
}

/**
 * Runs a workflow to its result, failing after `ms` with what it was still waiting on (rather
 * than a bare "timed out"), and terminating it.
 */
export async function executeWithin<T>(client: Client, workflowType: string, options: WorkflowStartOptions & { workflowId: string }, ms: number): Promise<T> {
  const handle = await client.workflow.start(workflowType, options);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof timer>((resolve) => { timer = setTimeout(() => resolve(timer), ms); });
  const r = await Promise.race([handle.result() as Promise<T>, late]).finally(() => clearTimeout(timer));
  if (r !== undefined && r === timer) {
    const lines = await pendingWork(client, options.workflowId).catch((e: Error) => [`(could not describe it: ${e.message})`]);
    await handle.terminate(`not finished within ${ms} ms`).catch(() => undefined);
    throw new Error(`workflow ${options.workflowId} did not finish within ${ms} ms; it was waiting on:\n${lines.join('\n')}`);
  }
  return r as T;
}
