import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import pino from 'pino';
import { Writable } from 'node:stream';
import vm from 'node:vm';
import { sdkLogFunction } from '../../src/worker/worker';

/** The JSON lines a pino logger at `level` writes for the SDK entries given. */
function logged(level: string, ...entries: { level: 'WARN' | 'DEBUG' | 'ERROR'; message: string; meta?: Record<string, unknown> }[]): Record<string, unknown>[] {
  const lines: string[] = [];
  const out = new Writable({ write(chunk, _enc, cb) { lines.push(...chunk.toString().split('\n').filter(Boolean)); cb(); } });
  const log = pino({ level }, out);
  const fn = sdkLogFunction(log);
  for (const e of entries) fn({ ...e, timestampNanos: 0n });
  return lines.map((l) => JSON.parse(l));
}

describe("the Temporal SDK's log lines in pino", () => {
  it('"Workflow failed" carries the failure\'s type, message and cause chain, not {}', () => {
    const cause = new Error('S3 said: access denied');
    const err = ApplicationFailure.create({ message: 'no source objects under s3://lake-raw/incomming/orders/', type: 'SourceEmpty', nonRetryable: true, cause });
    const [line] = logged('info', { level: 'WARN', message: 'Workflow failed', meta: { error: err, sdkComponent: 'worker', workflowId: 'ingest-1' } });
    expect(line.msg).toBe('Workflow failed');
    expect(line.workflowId).toBe('ingest-1');
    expect(line.error).toEqual({
      type: 'ApplicationFailure', failureType: 'SourceEmpty', nonRetryable: true, message: 'no source objects under s3://lake-raw/incomming/orders/',
      cause: { type: 'Error', message: 'S3 said: access denied' },
    });
  });

  it('"Activity failed" carries the message of the error the activity threw and the activity', () => {
    const inner = ApplicationFailure.create({ message: 'refusing to ingest s3://b/x/', type: 'DatasetConflict', nonRetryable: true });
    const err = new ActivityFailure('Activity task failed', 'planIngest', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker@host', inner);
    const [line] = logged('info', { level: 'WARN', message: 'Activity failed', meta: { error: err, durationMs: 12 } });
    expect(line.durationMs).toBe(12);
    expect(line.error).toMatchObject({
      type: 'ActivityFailure', message: 'Activity task failed', activityType: 'planIngest', activityId: '1',
      cause: { type: 'ApplicationFailure', failureType: 'DatasetConflict', message: 'refusing to ingest s3://b/x/' },
    });
    expect(JSON.stringify(line)).not.toContain('stack');
  });

  it("recognises an error from the workflow sandbox (another realm), and adds stacks at debug", () => {
    const foreign = vm.runInNewContext('(() => { const e = new TypeError("cannot read properties of undefined"); e.cause = new RangeError("deep"); return e; })()');
    expect(foreign instanceof Error).toBe(false);
    const [line] = logged('debug', { level: 'WARN', message: 'Workflow failed', meta: { error: foreign } });
    const error = line.error as Record<string, unknown>;
    expect(error).toMatchObject({ type: 'TypeError', message: 'cannot read properties of undefined', cause: { type: 'RangeError', message: 'deep' } });
    expect(error.stack).toMatch(/^TypeError: cannot read properties of undefined\n\s+at /);
    expect((error.cause as Record<string, unknown>).stack).toMatch(/^RangeError: deep/);
  });

  it('a failure cloned out of a workflow thread keeps its class (from its stack), message and cause', () => {
    const thrown = ApplicationFailure.create({ message: 'no source objects under s3://b/x/', type: 'SourceEmpty', nonRetryable: true });
    // What the workflow's logger sink receives: ActivityFailure's stack is empty, names are lost.
    const failed = structuredClone(Object.assign(new Error('Activity task failed', { cause: thrown }), { stack: '' }));
    expect(failed.name).toBe('Error');
    const [line] = logged('info', { level: 'WARN', message: 'Workflow failed', meta: { error: failed } });
    expect(line.error).toEqual({ type: 'Error', message: 'Activity task failed', cause: { type: 'ApplicationFailure', message: 'no source objects under s3://b/x/' } });
  });

  it('leaves other meta as it is', () => {
    const [line] = logged('info', { level: 'ERROR', message: 'Worker failed', meta: { taskQueue: 'q', attempt: 2 } });
    expect(line).toMatchObject({ level: 50, msg: 'Worker failed', taskQueue: 'q', attempt: 2 });
  });
});

describe('SDK warnings about what partflow does on purpose', () => {
  it('"No workflows registered" (the activity-only processes of runWorker({ processes: 2 })) is debug, not a warning', () => {
    const entry = { level: 'WARN' as const, message: 'No workflows registered, not polling for workflow tasks', meta: { sdkComponent: 'worker', taskQueue: 'partflow' } };
    expect(logged('info', entry)).toEqual([]);
    expect(logged('debug', entry)).toMatchObject([{ level: 20, msg: 'No workflows registered, not polling for workflow tasks' }]);
    // Other warnings stay warnings.
    expect(logged('info', { level: 'WARN', message: 'Activity failed' })).toMatchObject([{ level: 40 }]);
  });
});
