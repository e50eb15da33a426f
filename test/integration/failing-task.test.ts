import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import path from 'node:path';
import { connectTemporal } from '../../src/temporal/connect';
import { runCli } from '../helpers/cli';
import { testConfig } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * A run whose workflow task keeps failing (a worker that cannot run its code: another release's,
 * after a rolling deploy) makes no progress, and its progress query fails the same way: `status`
 * must say why rather than show a bare RUNNING.
 */
const cfg = testConfig(`test-failing-task-${process.pid}`);

describe('partflow status of a run whose workflow task keeps failing', () => {
  it('names the attempt, the worker and the failure, and what to do', async () => {
    const connection = await NativeConnection.connect({ address: cfg.temporalAddress });
    const worker = await Worker.create({ connection, taskQueue: cfg.taskQueue, workflowsPath: path.join(__dirname, '../fixtures/failing-workflows'), identity: 'old-release-worker' });
    const running = worker.run();
    const clientConn = await connectTemporal(cfg.temporal);
    const client = new Client({ connection: clientConn, namespace: cfg.temporalNamespace });
    const handle = await client.workflow.start('ingest', { taskQueue: cfg.taskQueue, workflowId: `failing-task-${process.pid}`, args: [], workflowExecutionTimeout: '2m' });
    try {
      await until('the workflow task to fail twice', 60_000, async () => ((await handle.describe()).raw.pendingWorkflowTask?.attempt ?? 0) >= 2 || undefined, 500);
      const r = await runCli(cfg, 'status', handle.workflowId);
      expect(r.stdout).toContain(`${handle.workflowId}  RUNNING`);
      expect(r.stdout).toMatch(/the run's workflow task keeps failing \(attempt \d+, last on worker old-release-worker\): WORKFLOW_WORKER_UNHANDLED_FAILURE: workflow code of another release: boom\. The run makes no progress until a worker can run it/);
      const json = JSON.parse((await runCli(cfg, 'status', handle.workflowId, '--json')).stdout);
      expect(json.failingTask).toMatchObject({ identity: 'old-release-worker', cause: 'WORKFLOW_WORKER_UNHANDLED_FAILURE', nondeterminism: false });
    } finally {
      await handle.terminate('test done').catch(() => undefined);
      worker.shutdown();
      await running;
      await connection.close();
      await clientConn.close();
    }
  });
});
