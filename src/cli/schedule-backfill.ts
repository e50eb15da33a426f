import { Client, ScheduleOverlapPolicy } from '@temporalio/client';
import {
  BACKFILL_OVERLAP, countedFirings, describeSchedule, describeSpec, firingCounts, firingsBetween, MATCHING_TIMES_MAX, noFirings, policyName,
  takenSince, withSchedule,
} from '../schedules';

const SHOWN = 10;

function timesText(times: Date[]): string {
  const shown = times.slice(0, SHOWN).map((t) => t.toISOString().replace('.000Z', 'Z'));
  return shown.join(', ') + (times.length > SHOWN ? `, … (${times.length - SHOWN} more)` : '');
}

/**
 * `partflow schedule backfill`: the schedule's firings from start to end, now, under `overlap`.
 * Says how many firings the period holds, what the policy makes of them, and then what Temporal
 * did: started, skipped for overlap, or waiting to run.
 */
export async function backfill(client: Client, id: string, start: Date, end: Date, overlap: ScheduleOverlapPolicy, out = process.stdout): Promise<void> {
  const d = await describeSchedule(client, id);
  const firings = await withSchedule(client, id, () => firingsBetween(client, id, start, end));
  if (!firings.length) throw noFirings(id, start, end, describeSpec(d.spec));
  const name = policyName(overlap);
  const count = firings.length >= MATCHING_TIMES_MAX ? `at least ${firings.length} firings` : `${firings.length} firing${firings.length > 1 ? 's' : ''}`;
  const several = firings.length > 1 && ['buffer-one', 'buffer-all', 'allow-all'].includes(name);
  const before = firingCounts(d);
  await withSchedule(client, id, (h) => h.backfill({ start, end, overlap }));
  out.write([
    `backfilling ${id}: ${count} from ${start.toISOString()} to ${end.toISOString()} (${timesText(firings)}), overlap ${name}: ${BACKFILL_OVERLAP[name]}.`,
    // The firing time reaches the run only in its workflow id: every run reads the source as it is now.
    `Each run ingests the source as it is now; a firing's time only names the run (${d.action.workflowId ?? id}-<time>)${
      several ? ', so the runs after the first find every partition committed and reuse them' : ''}.`,
    '',
  ].join('\n'));
  const taken = await takenSince(() => describeSchedule(client, id), before, countedFirings(name, firings.length));
  const parts = [`${taken.started} started`, ...(taken.skipped ? [`${taken.skipped} skipped for overlap`] : []), ...(taken.buffered ? [`${taken.buffered} waiting to run`] : [])];
  out.write(`${taken.complete ? 'taken' : 'taken so far'}: ${parts.join(', ')}; \`partflow schedule describe ${id}\` shows the runs\n`);
}
