import { Command } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { Config } from '../../config';
import { cliConfig } from '../config';
import { RUN_EXIT_HELP, runExitCode } from '../exit';
import { describeRun } from '../workflow-lookup';
import { unlessCancelled } from '../run-input';
import { connectClient, waitWithProgress } from '../../client';
import type { IngestSummary } from '../../manifest/run';
import { endedInWords, ONLY_WAITING, RunEndedError } from '../../client/run-ended';
import { printSummary } from '../print';
import { counted } from '../../log/shown';

export function registerFinish(program: Command): void {
  program
    .command('finish <workflowId>')
    .description('end a run that waits for a retry now, as partial: it writes its run manifest and commits the snapshot of what succeeded (the failed partitions stay failed; a later ingest retries them)')
    .option('--wait', 'wait for the run to close and print its result')
    .addHelpText('after', RUN_EXIT_HELP)
    .action(async (workflowId: string, o: { wait?: boolean }) => {
      const cfg = cliConfig();
      const { client, connection } = await connectClient(cfg);
      try {
        const handle = client.workflow.getHandle(workflowId);
        await refuseClosed(handle, cfg);
        const res = await handle.executeUpdate<{ failed: number }, []>('finishPartial').catch(async (err: Error) => {
          // Closed between the describe and the update: Temporal's own words would say "completed" even of a failed run.
          await refuseClosed(handle, cfg);
          throw err;
        });
        process.stdout.write(`${workflowId} stops waiting and ends partial, with ${counted(res.failed, 'failed partition')}\n`);
        if (o.wait) {
          // Temporal out of reach meanwhile is waited out, as by ingest --wait.
          const r = await unlessCancelled(workflowId, () => waitWithProgress(handle, process.stderr, { progress: false }) as Promise<IngestSummary>);
          printSummary(r);
          process.exitCode = runExitCode(r);
        }
      } finally {
        await connection.close();
      }
    });
}

async function refuseClosed(handle: WorkflowHandle, cfg: Config): Promise<void> {
  const ended = await endedInWords(handle, (await describeRun(handle, cfg)).status.name);
  if (ended) throw new RunEndedError(handle.workflowId, ended, ONLY_WAITING);
}
