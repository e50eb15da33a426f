import { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';

/**
 * A live worker heartbeats each running partition every 2 s (activities/attempt-heartbeat.ts),
 * waits on user code included; this much silence means its worker is gone (kill -9, a lost host)
 * or frozen. Temporal only notices at the heartbeat timeout (60 s by default), and until then the
 * partition shows as running.
 */
export const SILENT_AFTER_MS = 10_000;
/** Windows described at most: a run has at most maxParallel of them running. */
const MAX_WINDOWS = 50;

export interface SilentActivity {
  /** The workflow (the run, or one of its windows) that scheduled the activity. */
  workflowId: string;
  /** `map:p-3fa9c1d20b7e`, `copy:#0..#9(10)`: stage and partition(s). */
  activityId: string;
  attempt: number;
  /** The worker that took the attempt (`pid@host`). */
  worker?: string;
  silentMs: number;
  heartbeatTimeoutMs?: number;
}

type Description = Pick<WorkflowExecutionDescription, 'raw'>;

/** PENDING_ACTIVITY_STATE_STARTED (temporal.api.enums.v1.PendingActivityState): @temporalio/proto is not a dependency of ours. */
const STARTED = 2;

function silentOf(workflowId: string, raw: Description['raw'], now: number): SilentActivity[] {
  const out: SilentActivity[] = [];
  for (const a of raw.pendingActivities ?? []) {
    if (a.state !== STARTED) continue;
    const last = optionalTsToMs(a.lastHeartbeatTime) ?? optionalTsToMs(a.lastStartedTime);
    if (last === undefined || now - last < SILENT_AFTER_MS) continue;
    const timeout = optionalTsToMs(a.activityOptions?.heartbeatTimeout as never);
    out.push({
      workflowId, activityId: a.activityId ?? '', attempt: a.attempt ?? 1, silentMs: now - last,
      ...(a.lastWorkerIdentity ? { worker: a.lastWorkerIdentity } : {}), ...(timeout ? { heartbeatTimeoutMs: timeout } : {}),
    });
  }
  return out;
}

/**
 * The started activities of a run, and of the windows it runs, whose last heartbeat (or start) is
 * SILENT_AFTER_MS old or more, as Temporal's describe says. Times are the server's against this
 * machine's clock, so a skew of seconds shifts them.
 */
export async function silentActivities(handle: WorkflowHandle, desc: Description, now = Date.now()): Promise<SilentActivity[]> {
  const out = silentOf(handle.workflowId, desc.raw, now);
  const windows = (desc.raw.pendingChildren ?? []).slice(0, MAX_WINDOWS);
  const described = await Promise.all(windows.map((c) => handle.client.getHandle(c.workflowId ?? '', c.runId ?? undefined).describe()
    .then((d) => silentOf(c.workflowId ?? '', d.raw, now), () => [])));
  return [...out, ...described.flat()];
}

/** One line for people: what is silent, since when, and what Temporal will do about it. */
export function silentLine(s: SilentActivity): string {
  const timeout = s.heartbeatTimeoutMs ? ` (${Math.round(s.heartbeatTimeoutMs / 1000)} s)` : '';
  return `no heartbeat for ${Math.round(s.silentMs / 1000)} s: ${s.activityId}, attempt ${s.attempt}${s.worker ? `, on worker ${s.worker}` : ''}`
    + ` — its worker is likely gone or frozen (a live one heartbeats every 2 s); Temporal gives the partition to another worker at its heartbeat timeout${timeout}`;
}
