import { noWorkerNote, unanswered } from '../../src/client/no-worker';

function grpc(code: number, details: string): Error {
  const cause = Object.assign(new Error(`${code} X: ${details}`), { code, details, metadata: {} });
  return Object.assign(new Error(`Failed to query Workflow: ${cause.message}`), { name: 'ServiceError', cause });
}

describe('a query no worker answers', () => {
  it('is a deadline or a full query buffer, not Temporal out of reach or a refusal', () => {
    expect(unanswered(grpc(4, 'query timed out before a worker could process it'))).toBe('query timed out before a worker could process it');
    expect(unanswered(grpc(8, 'consistent query buffer is full, cannot accept new consistent queries'))).toMatch(/buffer is full/);
    expect(unanswered(grpc(9, 'no poller seen for task queue recently, worker may be down'))).toMatch(/no poller/);
    expect(unanswered(grpc(9, 'something else'))).toBeUndefined();
    expect(unanswered(grpc(14, 'No connection established'))).toBeUndefined();
    expect(unanswered(grpc(3, 'unknown queryType'))).toBeUndefined();
    expect(unanswered(new Error('x'))).toBeUndefined();
  });

  it('is explained by the task queue\'s pollers: none, or one Temporal still lists', () => {
    expect(noWorkerNote({ taskQueue: 'q', namespace: 'default', pollers: [] })).toBe('no worker polls task queue "q" (namespace default): progress needs a running worker '
      + '(start one with `partflow worker` and the same PARTFLOW_TASK_QUEUE, TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE); the run waits in Temporal');
    const now = Date.parse('2026-11-24T12:00:00Z');
    const note = noWorkerNote({ taskQueue: 'q', namespace: 'default', pollers: [
      { identity: '1@a', lastAccessTime: new Date(now - 90_000) }, { identity: '2@b', lastAccessTime: new Date(now - 30_000) },
    ] }, now);
    expect(note).toMatch(/^no worker on task queue "q" \(namespace default\) answered within 10 s \(the last poll was 30 s ago, by 2@b; Temporal lists a worker that stopped for a few minutes\): progress needs a running worker/);
  });
});
