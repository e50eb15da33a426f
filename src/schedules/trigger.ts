import { Client, ScheduleDescription, ScheduleOverlapPolicy } from '@temporalio/client';
import { FiringCounts, firingCounts, policyName, takenSince } from './backfill';
import { OverlapName } from './spec';

/** How long `trigger` watches the schedule for what Temporal made of the firing. */
export const TRIGGER_WATCH_MS = 10_000;

/** What Temporal made of one manual firing. */
export interface TriggerOutcome extends FiringCounts {
  /** False when the counters had not moved by the end of the watch. */
  complete: boolean;
  policy: OverlapName;
  /** Workflow ids of the runs the firing started (new among the schedule's recent runs). */
  startedRuns: string[];
  /** Workflow ids of the schedule's runs going when the watch ended: what a skipped or buffered firing waits for. */
  running: string[];
  /** Firings waiting in the schedule's buffer when the watch ended (this one's, or earlier ones'). */
  waiting: number;
  /** Runs going before the firing and not after it, under terminate-other: Temporal terminated them. */
  terminated: string[];
}

/**
 * Fires the schedule once now under `overlap` (default: the schedule's own policy) and watches
 * its counters, as a backfill does, for up to `ms`: a skipped firing must not read as a run.
 */
export async function triggerAndWatch(
  client: Client, id: string, describe: () => Promise<ScheduleDescription>, overlap?: ScheduleOverlapPolicy, ms = TRIGGER_WATCH_MS,
): Promise<TriggerOutcome> {
  const before = await describe();
  // The SDK's trigger() defaults to allow-all, which neither skips nor buffers and leaves the run
  // untracked (no pause on failure): a manual firing follows the schedule's own policy instead.
  const policy = overlap ?? before.policies.overlap;
  await client.schedule.getHandle(id).trigger(policy);
  let last = before;
  const get = async () => (last = await describe());
  const deadline = Date.now() + ms;
  let taken = await takenSince(get, firingCounts(before), 1, ms);
  // terminate-other counts the firing as buffered until the run it terminates has closed, which
  // takes a moment: watch on for the start, or "waits" would tell of a run that is gone.
  while (policy === ScheduleOverlapPolicy.TERMINATE_OTHER && taken.started === 0 && taken.buffered > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    taken = await takenSince(get, firingCounts(before), 1, 0);
  }
  const going = new Set(last.info.runningActions.map((a) => a.workflow.workflowId));
  const known = new Set(before.info.recentActions.map((a) => a.action.workflow.firstExecutionRunId));
  return {
    ...taken,
    policy: policyName(policy),
    startedRuns: last.info.recentActions.filter((a) => !known.has(a.action.workflow.firstExecutionRunId)).map((a) => a.action.workflow.workflowId),
    running: last.info.runningActions.map((a) => a.workflow.workflowId),
    waiting: firingCounts(last).buffered,
    terminated: policy === ScheduleOverlapPolicy.TERMINATE_OTHER ? before.info.runningActions.map((a) => a.workflow.workflowId).filter((w) => !going.has(w)) : [],
  };
}

/** What a trigger says: one line, and whether nothing will run (a firing skipped for overlap). */
export function describeTrigger(id: string, o: TriggerOutcome, watchedMs = TRIGGER_WATCH_MS): { text: string; skipped: boolean } {
  const going = o.running.length ? o.running.join(', ') : 'a run of the schedule';
  if (o.started > 0) {
    const run = o.startedRuns[o.startedRuns.length - 1];
    const started = run ? `started ${run} (partflow status ${run})` : `started a run (\`partflow schedule describe ${id}\` shows it)`;
    // Terminated, a run writes no run manifest and commits no snapshot: the operator must hear of it.
    const ended = o.terminated.length ? `terminated ${o.terminated.join(', ')} (overlap terminate-other: no run manifest or snapshot from ${o.terminated.length === 1 ? 'it' : 'them'}; the partitions ${o.terminated.length === 1 ? 'it' : 'they'} committed are reused) and ` : '';
    return { skipped: false, text: `triggered ${id}: ${ended}${started}` };
  }
  if (o.skipped > 0) {
    const wait = o.running.length === 1 ? `wait for it to end (partflow status ${o.running[0]})` : 'wait for it to end';
    return {
      skipped: true,
      text: `schedule "${id}": the firing was skipped for overlap (policy ${o.policy}): ${going} is still going${
        o.waiting ? ` and ${o.waiting === 1 ? 'a firing already waits' : `${o.waiting} firings already wait`} for it` : ''}, so no run was started. `
        + `To run anyway: partflow schedule trigger ${id} --overlap allow-all (both run at once, on the same dataset), or ${wait} and trigger again`,
    };
  }
  if (o.buffered > 0) {
    const how = o.policy === 'cancel-other' ? `cancels ${going} and starts once it has ended`
      : o.policy === 'terminate-other' ? `terminates ${going} and then starts` : `waits for ${going} to end, then starts`;
    return { skipped: false, text: `triggered ${id}: the firing ${how} (overlap ${o.policy}); \`partflow schedule describe ${id}\` shows it` };
  }
  return {
    skipped: false,
    text: `triggered ${id}, but Temporal had not taken the firing after ${Math.round(watchedMs / 1000)}s (neither started, skipped nor buffered yet); \`partflow schedule describe ${id}\` shows what it made of it`,
  };
}
