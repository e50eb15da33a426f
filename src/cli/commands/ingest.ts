import { Command } from 'commander';
import { cliConfig } from '../config';
import { RUN_EXIT_HELP, runExitCode } from '../exit';
import { connectClient, startIngest, waitWithProgress } from '../../client';
import { IngestInput } from '../../pipeline/input';
import { addIngestInputOptions, ingestInputFromOptions } from '../ingest-options';
import { printSummary, printWaiting } from '../print';
import { refuseEmptyOptions } from '../args';
import { unlessCancelled } from '../run-input';

export function registerIngest(program: Command): void {
  const cmd = program
    .command('ingest <pipeline>')
    .description('start an ingest workflow');
  addIngestInputOptions(cmd, { sourceRequired: true })
    .option('--workflow-id <id>', 'workflow id (default: ingest-<pipeline>-<time>)')
    .option('--wait', 'wait for the result (or for the run to wait for a retry), with a progress bar per stage')
    .option('--json', 'print the result as JSON (with --wait)')
    .addHelpText('after', RUN_EXIT_HELP)
    .action(async (pipeline: string, o: Record<string, unknown>) => {
      refuseEmptyOptions(o);
      const cfg = cliConfig();
      const input = { pipeline, ...ingestInputFromOptions(o) } as IngestInput;
      const { client, connection } = await connectClient(cfg);
      const handle = await startIngest(client, cfg, input, o.workflowId as string | undefined, (note) => process.stderr.write(`note: ${note}\n`));
      process.stderr.write(`started ${handle.workflowId}\n`);
      if (o.wait) {
        const summary = await unlessCancelled(handle.workflowId, () => waitWithProgress(handle));
        if (o.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        else if (summary.status === 'waiting-for-retry') printWaiting(summary);
        else printSummary(summary);
        process.exitCode = runExitCode(summary);
      } else process.stdout.write(handle.workflowId + '\n');
      await connection.close();
    });
}
