import { Command } from 'commander';
import { loadConfig } from '../../config';
import { connectClient } from '../../client';
import type { IngestSummary } from '../../manifest/run';
import { printSummary } from '../print';

export function registerFinish(program: Command): void {
  program
    .command('finish <workflowId>')
    .description('end a run that waits for a retry now, as partial: it writes its run manifest and commits the snapshot of what succeeded (the failed partitions stay failed; a later ingest retries them)')
    .option('--wait', 'wait for the run to close and print its result')
    .action(async (workflowId: string, o: { wait?: boolean }) => {
      const cfg = loadConfig();
      const { client, connection } = await connectClient(cfg);
      try {
        const handle = client.workflow.getHandle(workflowId);
        const res = await handle.executeUpdate<{ failed: number }, []>('finishPartial');
        process.stdout.write(`${workflowId} stops waiting and ends partial, with ${res.failed} failed partition(s)\n`);
        if (o.wait) {
          printSummary((await handle.result()) as IngestSummary);
          process.exitCode = 3;
        }
      } finally {
        await connection.close();
      }
    });
}
