/**
 * A run's progress and partitions come from queries, which only a worker answers: with none, a
 * query waits for the server's own timeout (tens of seconds) and fails with a bare gRPC error.
 * Queries here get a short deadline, and an unanswered one is explained: whether any worker polls
 * the run's task queue, and how to start one.
 */
import { WorkflowHandle } from '@temporalio/client';

/** How long a query may wait for a worker to answer it. */
export const QUERY_DEADLINE_MS = 10_000;

const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const FAILED_PRECONDITION = 9;

export const START_ONE = 'start one with `partflow worker` and the same PARTFLOW_TASK_QUEUE, TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE';

/** A query of the run, failing with DEADLINE_EXCEEDED when no worker answers within ms. */
export function queryInTime<T, A extends unknown[] = []>(handle: WorkflowHandle, name: string, args: A, ms = QUERY_DEADLINE_MS): Promise<T> {
  return handle.client.connection.withDeadline(Date.now() + ms, () => handle.query<T, A>(name, ...args));
}

/**
 * Whether `err` is a query no worker answered: our deadline or the server's ("query timed out
 * before a worker could process it"), the server refusing more queries for a run whose earlier
 * ones still wait for a worker ("consistent query buffer is full"), or the server seeing no
 * poller ("no poller seen for task queue recently, worker may be down"). Returns the gRPC text.
 */
export function unanswered(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const g = e as { code?: unknown; details?: unknown };
    const details = typeof g.details === 'string' ? g.details : '';
    if (g.code === DEADLINE_EXCEEDED || g.code === RESOURCE_EXHAUSTED || (g.code === FAILED_PRECONDITION && /no poller/i.test(details))) return details || 'no answer';
  }
  return undefined;
}

export interface Pollers {
  taskQueue: string;
  namespace: string;
  /** Workers that polled the task queue for workflow tasks lately (Temporal lists a stopped one for minutes). */
  pollers: { identity?: string | null; lastAccessTime?: Date }[];
}

/** The workers polling the run's task queue for workflow tasks (which answer its queries). */
export async function workflowPollers(handle: WorkflowHandle, taskQueue?: string): Promise<Pollers> {
  const namespace = handle.client.options.namespace;
  const name = taskQueue ?? (await handle.describe()).taskQueue;
  const r = await handle.client.workflowService.describeTaskQueue({ namespace, taskQueue: { name }, taskQueueType: 1 });
  const pollers = (r.pollers ?? []).map((p) => ({
    identity: p.identity,
    ...(p.lastAccessTime?.seconds != null ? { lastAccessTime: new Date(Number(p.lastAccessTime.seconds) * 1000 + Math.floor((p.lastAccessTime.nanos ?? 0) / 1e6)) } : {}),
  }));
  return { taskQueue: name, namespace, pollers };
}

/** Says, if it is so, that no worker polls the run's task queue (then nothing will run it). */
export async function noWorkerPolling(handle: WorkflowHandle): Promise<string | undefined> {
  const p = await workflowPollers(handle);
  if (p.pollers.length > 0) return undefined;
  return `no worker polls task queue "${p.taskQueue}" (namespace ${p.namespace}), so nothing runs ${handle.workflowId} yet: ${START_ONE}; still waiting`;
}

/**
 * Why the run's progress is not to be had: no worker polls its task queue, or (Temporal still
 * listing one that stopped) none answered in time.
 */
export function noWorkerNote(p: Pollers, now = Date.now()): string {
  const tail = `: progress needs a running worker (${START_ONE}); the run waits in Temporal`;
  if (p.pollers.length === 0) return `no worker polls task queue "${p.taskQueue}" (namespace ${p.namespace})${tail}`;
  const last = p.pollers.reduce<{ identity?: string | null; lastAccessTime?: Date } | undefined>((a, b) => (!a || (b.lastAccessTime?.getTime() ?? 0) > (a.lastAccessTime?.getTime() ?? 0) ? b : a), undefined)!;
  const ago = last.lastAccessTime ? `${Math.max(0, Math.round((now - last.lastAccessTime.getTime()) / 1000))} s ago` : 'lately';
  return `no worker on task queue "${p.taskQueue}" (namespace ${p.namespace}) answered within ${QUERY_DEADLINE_MS / 1000} s `
    + `(the last poll was ${ago}, by ${last.identity || 'a worker'}; Temporal lists a worker that stopped for a few minutes)${tail}`;
}

/** workflowPollers, bounded by the query deadline. */
export function pollersInTime(handle: WorkflowHandle, taskQueue?: string): Promise<Pollers> {
  return handle.client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => workflowPollers(handle, taskQueue));
}

/** noWorkerNote for the run, asking Temporal for its task queue's pollers (bounded). */
export async function noWorkerAnswer(handle: WorkflowHandle, taskQueue?: string): Promise<string> {
  return noWorkerNote(await pollersInTime(handle, taskQueue));
}
