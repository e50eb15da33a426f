import { Client, ScheduleDescription } from '@temporalio/client';
import type { IngestSummary } from '../manifest/run';

/** One run a schedule started, with how it went. */
export interface ScheduleRun {
  workflowId: string;
  runId: string;
  scheduledAt: string;
  takenAt: string;
  /** Temporal's status, lower case: running, completed, failed, terminated, canceled, timed_out, … */
  status: string;
  /** For a completed run: the ingest's own result, completed or partial. */
  result?: IngestSummary['status'];
  /** Partitions (over all stages) the run computed and reused; records its last stage wrote. */
  computed?: number;
  reused?: number;
  failedPartitions?: number;
  /** Partitions held back by a failure upstream. */
  blockedPartitions?: number;
  recordsOut?: number;
  /** For a running run: where it is (planning, running, waiting-for-retry, finishing). */
  phase?: string;
  /** For a failed run: the innermost cause, e.g. the worker's "unknown pipeline" error. */
  error?: string;
}

function innermost(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let msg = e?.message ?? String(err);
  while (e?.cause) {
    e = e.cause as { message?: string; cause?: unknown };
    if (e.message) msg = e.message;
  }
  return msg;
}

/** The schedule's recent runs (oldest first), each with its status and result. */
export async function scheduleRuns(client: Client, d: ScheduleDescription): Promise<ScheduleRun[]> {
  return Promise.all(d.info.recentActions.map(async (a): Promise<ScheduleRun> => {
    const { workflowId, firstExecutionRunId: runId } = a.action.workflow;
    const run: ScheduleRun = { workflowId, runId, scheduledAt: a.scheduledAt.toISOString(), takenAt: a.takenAt.toISOString(), status: 'unknown' };
    const handle = client.workflow.getHandle(workflowId, runId);
    try {
      run.status = (await handle.describe()).status.name.toLowerCase();
    } catch (err) {
      // Past the namespace's retention the run is gone from Temporal; its run manifest stays in S3.
      run.error = innermost(err);
      return run;
    }
    if (run.status === 'completed') {
      const s = await handle.result() as IngestSummary;
      const stages = Object.values(s.stages ?? {});
      run.result = s.status;
      run.reused = stages.reduce((n, st) => n + st.skipped, 0);
      run.computed = stages.reduce((n, st) => n + st.succeeded - st.skipped, 0);
      run.failedPartitions = stages.reduce((n, st) => n + st.failed, 0);
      run.blockedPartitions = stages.reduce((n, st) => n + st.blocked, 0);
      run.recordsOut = stages.length ? stages[stages.length - 1].records.out : 0;
    } else if (run.status === 'running') {
      // A run waiting for a retry is the one a person has to act on: say so, with its failures.
      const p = await handle.query<{ phase?: string; stages?: Record<string, { failed: number }> }>('progress').catch(() => undefined);
      if (p?.phase) run.phase = p.phase;
      if (p?.stages) run.failedPartitions = Object.values(p.stages).reduce((n, st) => n + st.failed, 0);
    } else if (run.status === 'failed' || run.status === 'timed_out') {
      run.error = await handle.result().then(() => '', innermost);
    }
    return run;
  }));
}
