import type { Client, ScheduleDescription } from '@temporalio/client';
import { describeTrigger, triggerAndWatch, TriggerOutcome } from '../../src/schedules/trigger';

const action = (workflowId: string) => ({ action: { workflow: { workflowId, firstExecutionRunId: `run-of-${workflowId}` } } });

function desc(o: { started: number; skipped: number; buffered: number; recent: string[]; running: string[] }): ScheduleDescription {
  return {
    policies: { overlap: 'SKIP' },
    info: { numActionsTaken: o.started, numActionsSkippedOverlap: o.skipped, recentActions: o.recent.map(action), runningActions: o.running.map((w) => action(w).action) },
    raw: { info: { bufferSize: o.buffered } },
  } as unknown as ScheduleDescription;
}

/** A client whose schedule answers `seen` in turn (the last one again once they run out), recording the trigger's policy. */
function fake(seen: ScheduleDescription[]) {
  const triggered: unknown[] = [];
  const client = { schedule: { getHandle: () => ({ trigger: async (p: unknown) => { triggered.push(p); } }) } } as unknown as Client;
  const describe = async () => (seen.length > 1 ? seen.shift()! : seen[0]);
  return { client, describe, triggered };
}

const outcome = (o: Partial<TriggerOutcome>): TriggerOutcome => ({ started: 0, skipped: 0, buffered: 0, complete: true, policy: 'skip', startedRuns: [], running: [], waiting: 0, terminated: [], ...o });

describe('partflow schedule trigger', () => {
  it('watches the counters after the firing, with the schedule\'s own policy, and names the run it started', async () => {
    const f = fake([
      desc({ started: 1, skipped: 0, buffered: 0, recent: ['s-1'], running: [] }),
      desc({ started: 1, skipped: 0, buffered: 0, recent: ['s-1'], running: [] }),
      desc({ started: 2, skipped: 0, buffered: 0, recent: ['s-1', 's-2'], running: ['s-2'] }),
    ]);
    const o = await triggerAndWatch(f.client, 's', f.describe, undefined, 5_000);
    expect(f.triggered).toEqual(['SKIP']);
    expect(o).toEqual(outcome({ started: 1, startedRuns: ['s-2'], running: ['s-2'] }));
    expect(describeTrigger('s', o)).toEqual({ skipped: false, text: 'triggered s: started s-2 (partflow status s-2)' });
  });

  it('says a firing skipped for overlap started nothing, which run is going, and how to run anyway', async () => {
    const f = fake([desc({ started: 1, skipped: 0, buffered: 0, recent: ['s-1'], running: ['s-1'] }), desc({ started: 1, skipped: 1, buffered: 0, recent: ['s-1'], running: ['s-1'] })]);
    const o = await triggerAndWatch(f.client, 's', f.describe, 'BUFFER_ONE' as never, 5_000);
    expect(f.triggered).toEqual(['BUFFER_ONE']);
    expect(o).toMatchObject({ skipped: 1, started: 0, startedRuns: [], running: ['s-1'], policy: 'buffer-one' });
    expect(describeTrigger('s', outcome({ skipped: 1, running: ['s-1'] }))).toEqual({
      skipped: true,
      text: 'schedule "s": the firing was skipped for overlap (policy skip): s-1 is still going, so no run was started. '
        + 'To run anyway: partflow schedule trigger s --overlap allow-all (both run at once, on the same dataset), or wait for it to end (partflow status s-1) and trigger again',
    });
    expect(describeTrigger('s', outcome({ skipped: 1, running: ['s-1'], waiting: 1, policy: 'buffer-one' })).text).toContain('(policy buffer-one): s-1 is still going and a firing already waits for it, so no run was started');
  });

  it('under terminate-other, watches on past "buffered" for the start and names the run it terminated', async () => {
    // Temporal counts the firing buffered while it terminates the run that is going, then starts.
    const f = fake([
      desc({ started: 1, skipped: 0, buffered: 0, recent: ['s-1'], running: ['s-1'] }),
      desc({ started: 1, skipped: 0, buffered: 1, recent: ['s-1'], running: ['s-1'] }),
      desc({ started: 1, skipped: 0, buffered: 1, recent: ['s-1'], running: [] }),
      desc({ started: 2, skipped: 0, buffered: 0, recent: ['s-1', 's-2'], running: ['s-2'] }),
    ]);
    const o = await triggerAndWatch(f.client, 's', f.describe, 'TERMINATE_OTHER' as never, 5_000);
    expect(o).toEqual(outcome({ started: 1, startedRuns: ['s-2'], running: ['s-2'], terminated: ['s-1'], policy: 'terminate-other' }));
    expect(describeTrigger('s', o).text).toBe('triggered s: terminated s-1 (overlap terminate-other: no run manifest or snapshot from it; the partitions it committed are reused) and started s-2 (partflow status s-2)');
    expect(describeTrigger('s', outcome({ buffered: 1, running: ['s-1'], policy: 'terminate-other' })).text).toContain('the firing terminates s-1 and then starts');
  });

  it('says a buffered firing waits for the run that is going, and when Temporal has not taken it in time', async () => {
    expect(describeTrigger('s', outcome({ buffered: 1, running: ['s-1'], policy: 'buffer-all' })).text).toBe('triggered s: the firing waits for s-1 to end, then starts (overlap buffer-all); `partflow schedule describe s` shows it');
    expect(describeTrigger('s', outcome({ buffered: 1, running: ['s-1'], policy: 'cancel-other' })).text).toContain('the firing cancels s-1 and starts once it has ended');
    const f = fake([desc({ started: 0, skipped: 0, buffered: 0, recent: [], running: [] })]);
    const o = await triggerAndWatch(f.client, 's', f.describe, undefined, 0);
    expect(o.complete).toBe(false);
    expect(describeTrigger('s', o, 10_000)).toEqual({ skipped: false, text: expect.stringMatching(/^triggered s, but Temporal had not taken the firing after 10s/) });
  });
});
