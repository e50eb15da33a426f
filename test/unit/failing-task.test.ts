import { failingTaskLine } from '../../src/client/failing-task';

describe('failingTaskLine', () => {
  it('sends a nondeterminism failure to the deploy: a worker of another release took the task', () => {
    const line = failingTaskLine({ attempt: 7, identity: '123@old-host', cause: 'NON_DETERMINISTIC_ERROR', message: '[TMPRL1100] Nondeterminism error: patch marker encountered for change batch-retry-schedule\nstack…', nondeterminism: true });
    expect(line).toBe("the run's workflow task keeps failing (attempt 7, last on worker 123@old-host): NON_DETERMINISTIC_ERROR: [TMPRL1100] Nondeterminism error: patch marker encountered for change batch-retry-schedule. "
      + 'A worker running another release of partflow\'s workflow code took the task: stop the workers of the older release (see "Deploying workflow changes" in the README); the run carries on once only one release\'s workers poll its task queue');
  });

  it('sends any other failure to the worker\'s log', () => {
    expect(failingTaskLine({ attempt: 2, cause: 'cause 99', message: 'x', nondeterminism: false })).toBe("the run's workflow task keeps failing (attempt 2): cause 99: x. The run makes no progress until a worker can run it; the worker's log says more");
  });
});
