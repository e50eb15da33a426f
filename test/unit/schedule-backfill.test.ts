import type { ScheduleDescription } from '@temporalio/client';
import { countedFirings, firingCounts, takenSince } from '../../src/schedules/backfill';

const desc = (started: number, skipped: number, buffered: number) =>
  ({ info: { numActionsTaken: started, numActionsSkippedOverlap: skipped }, raw: { info: { bufferSize: buffered } } }) as unknown as ScheduleDescription;

describe('what Temporal made of a backfill', () => {
  it('counts the firings since before, and a buffered one that starts meanwhile still counts once', async () => {
    const seen = [desc(5, 1, 0), desc(6, 1, 2), desc(7, 1, 1)];
    const before = firingCounts(seen.shift()!);
    await expect(takenSince(async () => seen.shift()!, before, 3)).resolves.toEqual({ started: 1, skipped: 0, buffered: 2, complete: true });
    await expect(takenSince(async () => desc(7, 1, 1), before, 3)).resolves.toEqual({ started: 2, skipped: 0, buffered: 1, complete: true });
  });

  it('says when the counts do not yet account for every firing', async () => {
    await expect(takenSince(async () => desc(1, 0, 0), firingCounts(desc(0, 0, 0)), 3, 0)).resolves.toEqual({ started: 1, skipped: 0, buffered: 0, complete: false });
  });

  it('cancel-other and terminate-other leave one firing of many; the others count every one', () => {
    expect([countedFirings('cancel-other', 3), countedFirings('terminate-other', 3), countedFirings('skip', 3), countedFirings('buffer-all', 3)]).toEqual([1, 1, 3, 3]);
  });
});
