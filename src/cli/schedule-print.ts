import { ScheduleDescription, ScheduleSummary } from '@temporalio/client';
import { describeSpec, formatMs, overlapName, scheduleInput, ScheduleRun } from '../schedules';
import { table } from './print';

export function runResult(r: ScheduleRun): string {
  if (r.status === 'completed') {
    return `${r.result}: ${r.computed} computed, ${r.reused} reused${r.failedPartitions ? `, ${r.failedPartitions} failed` : ''}${r.blockedPartitions ? `, ${r.blockedPartitions} blocked` : ''}; ${r.recordsOut} records out`;
  }
  if (r.status === 'running' && r.phase) {
    return r.phase === 'waiting-for-retry'
      ? `waiting for a retry: ${r.failedPartitions ?? 0} failed (partflow status ${r.workflowId}; partflow retry or finish it)`
      : r.phase;
  }
  return r.error ?? '';
}

/** What `schedule describe --json` prints: the facts, not Temporal's raw response. */
function asJson(d: ScheduleDescription, runs: ScheduleRun[], next: number) {
  return {
    scheduleId: d.scheduleId,
    spec: describeSpec(d.spec),
    paused: d.state.paused,
    note: d.state.note ?? '',
    policies: { overlap: overlapName(d.policies.overlap), catchupWindow: formatMs(d.policies.catchupWindow), pauseOnFailure: d.policies.pauseOnFailure },
    taskQueue: d.action.taskQueue,
    workflowId: d.action.workflowId,
    input: scheduleInput(d),
    nextRunTimes: d.info.nextActionTimes.slice(0, next).map((t) => t.toISOString()),
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    // Firings waiting for the running run (buffer-one, buffer-all); the SDK shows it on the raw response only.
    buffered: Number(d.raw.info?.bufferSize ?? 0),
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    recentRuns: runs,
  };
}

export function printSchedule(d: ScheduleDescription, runs: ScheduleRun[], o: { next: number; json?: boolean }, out = process.stdout): void {
  const j = asJson(d, runs, o.next);
  if (o.json) {
    out.write(JSON.stringify(j, null, 2) + '\n');
    return;
  }
  const input = j.input;
  out.write([
    `schedule   ${j.scheduleId}${j.paused ? '  PAUSED' : ''}`,
    ...(j.note ? [`note       ${j.note}`] : []),
    `when       ${j.spec}`,
    `policies   overlap ${j.policies.overlap}, catch-up window ${j.policies.catchupWindow}, pause on failure ${j.policies.pauseOnFailure ? 'yes' : 'no'}`,
    d.action.workflowType === 'ingest'
      ? `runs       ingest ${input.pipeline} from ${input.source}${input.target ? ` into ${input.target}` : ''} on task queue ${j.taskQueue}, workflow ids ${j.workflowId}-<time>`
      : `runs       workflow ${d.action.workflowType} on task queue ${j.taskQueue} (not a partflow ingest)`,
    `input      ${JSON.stringify(d.action.args?.[0] ?? null)}`,
    `taken      ${j.actionsTaken} run(s); ${j.skippedOverlap} skipped for overlap, ${j.buffered} buffered, ${j.missedCatchupWindow} missed the catch-up window`,
    ...(j.running.length ? [`running    ${j.running.join(', ')}`] : []),
    `next       ${j.paused ? '(paused) ' : ''}${j.nextRunTimes.join(', ') || 'none'}`,
  ].join('\n') + '\n');
  if (runs.length) {
    // Not a table: errors are long and must not be cut.
    const w = Math.max(...runs.map((r) => r.workflowId.length));
    out.write(`recent runs (oldest first):\n  ${'scheduled'.padEnd(24)}  ${'workflow'.padEnd(w)}  ${'status'.padEnd(10)}  result\n`);
    for (const r of runs) out.write(`  ${r.scheduledAt.padEnd(24)}  ${r.workflowId.padEnd(w)}  ${r.status.padEnd(10)}  ${runResult(r)}\n`);
  } else if (d.info.recentActions.length === 0) out.write('recent runs: none yet\n');
}

export function printList(all: ScheduleSummary[], json: boolean, out = process.stdout): void {
  const rows = all.map((s) => {
    const last = s.info.recentActions[s.info.recentActions.length - 1];
    return {
      id: s.scheduleId,
      state: s.state.paused ? 'paused' : 'active',
      when: describeSpec(s.spec),
      workflow: s.action?.workflowType ?? '',
      next: s.info.nextActionTimes[0]?.toISOString() ?? '',
      last: last ? `${last.takenAt.toISOString()} ${last.action.workflow.workflowId}` : '',
      note: s.state.note ?? '',
    };
  });
  if (json) out.write(JSON.stringify(rows, null, 2) + '\n');
  else if (rows.length) table(rows, out);
  else out.write('no schedules in this namespace (create one with `partflow schedule create`)\n');
}
