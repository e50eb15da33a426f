import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, RetryState } from '@temporalio/common';
import { failureOf } from '../../src/cli/exit';
import { explainError } from '../../src/cli/print';

/** What the CLI prints for a failed run: the cause, without the Temporal wrappers it came through. */
const app = (message: string, cause?: Error) => ApplicationFailure.create({ message, type: 'SourceEmpty', nonRetryable: true, cause });
const activity = (cause: Error) => new ActivityFailure('Activity task failed', 'planIngest', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker-1', cause);
const workflow = (cause: Error) => new WorkflowFailedError('Workflow execution failed', cause, RetryState.NON_RETRYABLE_FAILURE);

describe('explainError', () => {
  it("prints a failed workflow's cause without Temporal's wrapper text", () => {
    const empty = 'no records under s3://b/x.avro: its one source object is empty (s3://b/x.avro)';
    expect(failureOf(workflow(activity(app(empty))))).toEqual({ code: 1, message: empty });
    const child = new ChildWorkflowFailure('default', { workflowId: 'w', runId: 'r' }, 'window', RetryState.NON_RETRYABLE_FAILURE, activity(app('stage "a" partition p-1: corrupt input')));
    expect(explainError(workflow(child))).toBe('stage "a" partition p-1: corrupt input');
  });

  it('keeps the causes beneath the first that says something, once each', () => {
    expect(explainError(workflow(activity(app('cannot plan', new Error('Access Denied')))))).toBe('cannot plan: Access Denied');
    expect(explainError(workflow(activity(app('S3 said: Access Denied', new Error('Access Denied')))))).toBe('S3 said: Access Denied');
  });

  it('a wrapper with no cause is said as it is', () => {
    expect(explainError(new WorkflowFailedError('Workflow execution failed', undefined, RetryState.NON_RETRYABLE_FAILURE))).toBe('Workflow execution failed');
  });
});
