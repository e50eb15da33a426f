import { Command } from 'commander';
import { defaultPayloadConverter } from '@temporalio/common';
import { cliConfig } from '../config';
import { RUN_EXIT_HELP, runExitCode } from '../exit';
import { connectClient, startIngest, waitWithProgress } from '../../client';
import { IngestInput } from '../../pipeline/input';
import type { IngestSummary } from '../../manifest/run';
import { printSummary, printWaiting } from '../print';
import { describeRun } from '../workflow-lookup';
import { unlessCancelled } from '../run-input';
import { fromPlanIndex, isPlanIndex, readPlan } from '../../tools/partition-match';
import { s3Client } from '../../storage/client';
import type { Progress } from '../../../workflows/state';

export function registerRetry(program: Command): void {
  program
    .command('retry <workflowId>')
    .description('retry failed partitions (and what they blocked) of a run; a closed run gets a new run that reuses every committed partition')
    .option('--partition <id>', 'only this partition: its id (p-3fa9c1d20b7e) or name (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--stage <name>', 'only failures of this stage (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--rerun', 'a closed run that completed: start a new run of its very input anyway (it reads the source again and reuses every unchanged output)')
    .option('--wait', 'wait for the run, with progress')
    .addHelpText('after', RUN_EXIT_HELP)
    .action(async (workflowId: string, o: { partition: string[]; stage: string[]; rerun?: boolean; wait?: boolean }) => {
      const cfg = cliConfig();
      const { client, connection } = await connectClient(cfg);
      let handle = client.workflow.getHandle(workflowId);
      const desc = await describeRun(handle, cfg);
      if (desc.status.name === 'RUNNING') {
        // Lists only when given: the workflow refuses an empty one (it would read as "every").
        const req = { ...(o.partition.length ? { partitions: o.partition } : {}), ...(o.stage.length ? { stages: o.stage } : {}) };
        const res = await handle.executeUpdate<{ requeued: { stage: string; partition: string }[] }, [object]>('retryFailed', { args: [req] });
        let shown = (r: { partition: string }) => r.partition;
        // A run too large for its workflow to hold every id answers "#<plan index>" for the rest: the plan names them.
        const planUrl = res.requeued.some((r) => isPlanIndex(r.partition)) ? (await handle.query<Progress>('progress')).plan : undefined;
        if (planUrl) {
          const plan = await readPlan(s3Client(cfg.s3), planUrl);
          shown = (r) => { const p = fromPlanIndex(plan, r.partition); return p.name ? `${p.partition} (${p.name})` : p.partition; };
        }
        process.stdout.write(res.requeued.length ? `re-queued ${res.requeued.length}: ${res.requeued.map((r) => `${r.stage} ${shown(r)}`).join(', ')}\n` : 'nothing to retry: no failed partition matches\n');
      } else {
        const closed = desc.status.name === 'COMPLETED' ? (await handle.result()) as IngestSummary : undefined;
        const failed = closed ? Object.values(closed.stages).flatMap((st) => st.failures.map((f) => [f.partition, f.name ?? ''])) : undefined;
        // A new run reads the source as it is now: started for nothing to retry, it would publish another snapshot of whatever changed since.
        if (closed?.status === 'completed' && !o.rerun) {
          throw new Error(`${workflowId} completed with every partition committed: nothing to retry. To read its source again with the same input (target, dataset, params, partitioning), add --rerun`);
        }
        const unknown = failed && !o.rerun ? o.partition.filter((q) => !failed.some(([id, name]) => id === q || name === q)) : [];
        if (unknown.length) throw new Error(`no failed partition of ${workflowId} has the id or name ${unknown.join(', ')} (failed: ${failed!.map(([id, name]) => name || id).slice(0, 10).join(', ')})`);
        // The closed run's input, from its history: the new run finds every committed partition and reuses it.
        const history = await handle.fetchHistory();
        const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
        const input = defaultPayloadConverter.fromPayload(started!.input!.payloads![0]) as IngestInput;
        handle = await startIngest(client, cfg, input, `${workflowId}-retry-${Date.now().toString(36)}`);
        // Temporal says COMPLETED for a run that ended partial: say how it ended.
        const ended = closed ? `ended ${closed.status}` : `is ${desc.status.name.toLowerCase().replace(/_/g, ' ')}`;
        process.stdout.write(`${workflowId} ${ended}; started ${handle.workflowId}, a new run of its input: it plans the source as it is now and reuses every committed partition whose input is unchanged\n`);
        if (o.partition.length || o.stage.length) process.stdout.write('  (--partition and --stage do not narrow a new run: it runs whatever is not committed)\n');
      }
      if (o.wait) {
        const r = await unlessCancelled(handle.workflowId, () => waitWithProgress(handle));
        if (r.status === 'waiting-for-retry') printWaiting(r);
        else printSummary(r);
        process.exitCode = runExitCode(r);
      }
      await connection.close();
    });
}
