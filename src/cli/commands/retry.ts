import { Command } from 'commander';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadConfig } from '../../config';
import { connectClient, startIngest, waitWithProgress } from '../../client';
import { IngestInput } from '../../pipeline/input';
import { printSummary, printWaiting } from '../print';

export function registerRetry(program: Command): void {
  program
    .command('retry <workflowId>')
    .description('retry failed partitions (and what they blocked) of a run; a closed run gets a new run that reuses every committed partition')
    .option('--partition <id>', 'only this partition: its id (p-3fa9c1d20b7e) or name (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--stage <name>', 'only failures of this stage (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--wait', 'wait for the run, with progress')
    .action(async (workflowId: string, o: { partition: string[]; stage: string[]; wait?: boolean }) => {
      const cfg = loadConfig();
      const { client, connection } = await connectClient(cfg);
      let handle = client.workflow.getHandle(workflowId);
      const desc = await handle.describe();
      if (desc.status.name === 'RUNNING') {
        const res = await handle.executeUpdate<{ requeued: { stage: string; partition: string }[] }, [object]>('retryFailed', { args: [{ partitions: o.partition, stages: o.stage }] });
        process.stdout.write(res.requeued.length ? `re-queued ${res.requeued.length}: ${res.requeued.map((r) => `${r.stage} ${r.partition}`).join(', ')}\n` : 'nothing to retry: no failed partition matches\n');
      } else {
        // The closed run's input, from its history: the new run finds every committed partition and reuses it.
        const history = await handle.fetchHistory();
        const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
        const input = defaultPayloadConverter.fromPayload(started!.input!.payloads![0]) as IngestInput;
        handle = await startIngest(client, cfg, input, `${workflowId}-retry-${Date.now().toString(36)}`);
        process.stdout.write(`${workflowId} is ${desc.status.name.toLowerCase()}; started ${handle.workflowId}, which reuses every committed partition\n`);
      }
      if (o.wait) {
        const r = await waitWithProgress(handle);
        if (r.status === 'waiting-for-retry') printWaiting(r);
        else printSummary(r);
        if (r.status !== 'completed') process.exitCode = 3;
      }
      await connection.close();
    });
}
