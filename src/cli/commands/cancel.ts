import { Command } from 'commander';
import { cliConfig } from '../config';
import { connectClient } from '../../client';
import { pollersInTime, START_ONE } from '../../client/no-worker';
import { describeRun } from '../workflow-lookup';
import { afterCancel } from '../run-input';

export function registerCancel(program: Command): void {
  program
    .command('cancel <workflowId>')
    .description('ask Temporal to cancel a run: its running partitions stop, it writes its run manifest and ends cancelled')
    .addHelpText('after', `
Partitions committed before the cancel stay committed, and so does one whose activity commits
before the cancel reaches it: the run waits for each running activity's outcome (seconds; at most
the heartbeat timeout for a worker that is gone) and counts it as committed by this run. The run
publishes no new dataset snapshot.
\`partflow retry <workflowId>\` then starts a new run of the same input that reuses them.`)
    .action(async (workflowId: string) => {
      const cfg = cliConfig();
      const { client, connection } = await connectClient(cfg);
      try {
        const handle = client.workflow.getHandle(workflowId);
        const status = (await describeRun(handle, cfg)).status.name;
        if (status !== 'RUNNING') throw new Error(`${workflowId} is ${status.toLowerCase().replace(/_/g, ' ')} already: only a running run can be cancelled`);
        await handle.cancel();
        process.stdout.write(`asked Temporal to cancel ${workflowId}: its running partitions stop (one that commits first counts as committed), then it writes its run manifest and ends cancelled (partflow status ${workflowId}). `
          + `Once it has: ${afterCancel(workflowId)}\n`);
        // The run's own code carries the cancel out: with no worker it stays running, holding the request.
        const idle = await pollersInTime(handle).catch(() => undefined);
        if (idle && idle.pollers.length === 0) {
          process.stderr.write(`note: no worker polls task queue "${idle.taskQueue}" (namespace ${idle.namespace}): ${workflowId} stays running, holding the cancel, until one does (${START_ONE})\n`);
        }
      } finally {
        await connection.close();
      }
    });
}
