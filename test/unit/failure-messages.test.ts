import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { describeFailure, FailureContext } from '../../workflows/run/activity-options';

/** Failures as the workflow receives them: Temporal's own timeouts carry none of partflow's context. */
const activityFailure = (cause: Error) => new ActivityFailure('activity failed', 'map', 'map:p-1', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker-1', cause);
const where: FailureContext = { stage: 'map', partition: 'p-3fa9c1d20b7e', name: 'offers-7.avro', heartbeatTimeoutSeconds: 60, partitionTimeoutMs: 2 * 3_600_000 };

describe('failure messages of partitions', () => {
  it('a heartbeat timeout names the stage and partition, the likely cause and what a retry does', () => {
    const f = describeFailure(activityFailure(new TimeoutFailure('activity Heartbeat timeout', undefined, 'HEARTBEAT')), 5, where);
    expect(f).toEqual({
      type: 'TimeoutFailure', attempts: 5,
      error: 'stage "map" partition p-3fa9c1d20b7e (offers-7.avro): no heartbeat for 1m: the worker running it stopped or lost its connection to Temporal (each such loss uses one of the retry policy\'s attempts; the next attempt resumes from the partition\'s last checkpoint)',
    });
  });

  it('an attempt over the partition timeout says which timeout and how to raise it', () => {
    const f = describeFailure(activityFailure(new TimeoutFailure('activity StartToClose timeout', undefined, 'START_TO_CLOSE')), 3, where);
    expect(f.error).toBe('stage "map" partition p-3fa9c1d20b7e (offers-7.avro): an attempt ran longer than the partition timeout of 2h (raise partitionTimeout in the ingest input for partitions this slow)');
  });

  it("keeps the activity's own message, which already names the partition, and its attempt count", () => {
    const app = ApplicationFailure.create({ message: 'stage "map" partition p-1 (a.avro): corrupt block', type: 'CorruptInput', nonRetryable: true, details: [{ attempt: 2 }] });
    expect(describeFailure(activityFailure(app), 5, where)).toEqual({ error: 'stage "map" partition p-1 (a.avro): corrupt block', type: 'CorruptInput', attempts: 2 });
  });
});
