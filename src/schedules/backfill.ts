import { Client, ScheduleDescription, ScheduleOverlapPolicy } from '@temporalio/client';
import { optionalDateToTs, optionalTsToDate } from '@temporalio/common/lib/time';
import { OverlapName, overlapName, ScheduleOptionError } from './spec';

/** Temporal lists at most this many matching times per request. */
export const MATCHING_TIMES_MAX = 1000;

/**
 * What each policy makes of a backfill's firings. Temporal does not take them all at once: its
 * scheduler hands them to the policy a batch at a time (10 per pass in current servers), and a
 * firing counts as overlapping only if a run of the schedule is going when its batch comes. So
 * under skip and buffer-one, how many run depends on how long the runs take.
 * Every firing ingests the source as it is then: its time only names the run.
 */
export const BACKFILL_OVERLAP: Record<OverlapName, string> = {
  'skip': 'a firing is skipped if a run of the schedule is going when Temporal takes it; it takes them 10 at a time, so the first of each batch runs if the run before has ended, and how many run depends on how long runs take',
  'buffer-one': 'as skip, but one firing at a time waits for the run that is going and starts when it ends',
  'buffer-all': 'all run, one after another',
  'cancel-other': 'a firing cancels the run that is going and starts once it has ended; of each batch of 10 only the last starts, so only the last firing\'s run is sure to complete',
  'terminate-other': 'a firing terminates the run that is going and starts; of each batch of 10 only the last starts, so only the last firing\'s run is sure to complete',
  'allow-all': 'all start without waiting for each other (10 a second), on the same dataset',
};

/**
 * The firing times of the schedule from `start` to `end`, both included (as a backfill takes
 * them), up to MATCHING_TIMES_MAX.
 */
export async function firingsBetween(client: Client, id: string, start: Date, end: Date): Promise<Date[]> {
  const res = await client.workflowService.listScheduleMatchingTimes({
    namespace: client.options.namespace, scheduleId: id,
    // Temporal lists the times after startTime; a backfill takes one at its start too.
    startTime: optionalDateToTs(new Date(start.getTime() - 1)),
    endTime: optionalDateToTs(end),
  });
  return (res.startTime ?? []).map((t) => optionalTsToDate(t)!);
}

/**
 * How many of a backfill's firings the schedule's counters will show (started, skipped or
 * buffered): Temporal drops all but the last under cancel-other and terminate-other, uncounted.
 */
export function countedFirings(policy: OverlapName, firings: number): number {
  return policy === 'cancel-other' || policy === 'terminate-other' ? Math.min(1, firings) : firings;
}

/** The schedule's counters that a firing moves: started, skipped for overlap, waiting in the buffer. */
export interface FiringCounts {
  started: number;
  skipped: number;
  buffered: number;
}

export function firingCounts(d: ScheduleDescription): FiringCounts {
  return { started: d.info.numActionsTaken, skipped: d.info.numActionsSkippedOverlap, buffered: Number(d.raw.info?.bufferSize ?? 0) };
}

/**
 * What Temporal has made of `firings` firings since `before`: polls the schedule until the
 * counters account for all of them, or `ms` have passed (then the counts so far, complete false).
 * A buffered firing that starts meanwhile moves from buffered to started, so the sum holds.
 */
export async function takenSince(get: () => Promise<ScheduleDescription>, before: FiringCounts, firings: number, ms = 15_000): Promise<FiringCounts & { complete: boolean }> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = firingCounts(await get());
    const d = { started: now.started - before.started, skipped: now.skipped - before.skipped, buffered: Math.max(0, now.buffered - before.buffered) };
    const complete = d.started + d.skipped + d.buffered >= firings;
    if (complete || Date.now() > deadline) return { ...d, complete };
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A period with no firing is a mistake in --from or --to: say so, with the schedule's times. */
export function noFirings(id: string, start: Date, end: Date, when: string): ScheduleOptionError {
  return new ScheduleOptionError(`schedule "${id}" has no firing from ${start.toISOString()} to ${end.toISOString()}: nothing to backfill; its times: ${when}`);
}

export function policyName(p: ScheduleOverlapPolicy): OverlapName {
  return overlapName(p) as OverlapName;
}
