import type { RetryPolicy } from '@temporalio/common';
import { backoffMs, options } from '../../workflows/run/activity-options';
import type { WindowSettings } from '../../workflows/run/window';
import { DEFAULT_RETRY, RetrySettings } from '../../src/pipeline/types';
import type { PlanSummary } from '../../src/pipeline/plan';

/** The waits Temporal puts between an activity's attempts under `p`, for `attempts` attempts. */
function temporalWaits(p: RetryPolicy, attempts: number): number[] {
  const waits: number[] = [];
  for (let n = 1; n < attempts; n++) waits.push(Math.min(Number(p.initialInterval) * p.backoffCoefficient! ** (n - 1), Number(p.maximumInterval)));
  return waits;
}

const settings = (retry: Required<RetrySettings>): WindowSettings => ({ plan: { retry } as PlanSummary, heartbeatTimeoutSeconds: 60 });
const item = { i: 0, id: 'p-3fa9c1d20b7e', run: ['map'] };

describe('a partition retried alone after its batch attempts keeps its policy schedule', () => {
  const policies: RetrySettings[] = [{}, { maximumAttempts: 10 }, { maximumAttempts: 8, initialIntervalSeconds: 5 }, { maximumAttempts: 6, backoffCoefficient: 1.5, maximumIntervalSeconds: 3 }];

  it.each(policies)('the wait before it runs alone and its own schedule add up to the policy (%o)', (r) => {
    const retry = { ...DEFAULT_RETRY, ...r };
    const policy = temporalWaits(options(settings(retry), 'map', item, 1, false).retry!, retry.maximumAttempts);
    for (let used = 1; used < retry.maximumAttempts; used++) {
      const solo = options(settings(retry), 'map', item, 1, false, used, false, true).retry!;
      expect(solo.maximumAttempts).toBe(retry.maximumAttempts - used);
      expect([...policy.slice(0, used - 1), backoffMs(retry, used), ...temporalWaits(solo, solo.maximumAttempts!)]).toEqual(policy);
    }
  });

  it('unlimited attempts stay unlimited, the waits going on from the batch attempt', () => {
    const retry = { ...DEFAULT_RETRY, maximumAttempts: 0 };
    const solo = options(settings(retry), 'map', item, 1, false, 1, false, true).retry!;
    expect(solo).toMatchObject({ maximumAttempts: 0, initialInterval: 2000, maximumInterval: 60_000 });
    expect(backoffMs(retry, 1)).toBe(1000);
    expect(backoffMs(retry, 10)).toBe(60_000);
  });

  it('without `resumed` (histories from before) the schedule starts afresh', () => {
    const solo = options(settings(DEFAULT_RETRY), 'map', item, 1, false, 1).retry!;
    expect(solo).toMatchObject({ maximumAttempts: 4, initialInterval: 1000 });
  });
});
