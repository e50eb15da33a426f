import { Command } from 'commander';
import { cliConfig } from '../config';
import { connectClient, noWorkerPolling } from '../../client';
import { failedTotal } from '../../client/wait';
import type { IngestSummary } from '../../manifest/run';
import type { Progress } from '../../../workflows/state';
import { explainError, printSummary, printWaiting, stageProgressLine } from '../print';
import { describeRun } from '../workflow-lookup';

export function registerStatus(program: Command): void {
  program
    .command('status <workflowId>')
    .description("show an ingest's state, progress and, once closed, its result")
    .option('--json', 'print JSON')
    .action(async (workflowId: string, o: { json?: boolean }) => {
      const cfg = cliConfig();
      const { client, connection } = await connectClient(cfg);
      const handle = client.workflow.getHandle(workflowId);
      const desc = await describeRun(handle, cfg);
      const status = desc.status.name;
      let progress: unknown;
      try {
        progress = await handle.query('progress');
      } catch {
        progress = undefined;
      }
      const result = status === 'COMPLETED' ? await handle.result() : undefined;
      let failure: string | undefined;
      if (status === 'FAILED') {
        try {
          await handle.result();
        } catch (e) {
          // The workflow's own failure says only that it failed: its cause says why.
          const why = (e as Error & { cause?: Error }).cause;
          failure = why ? explainError(why) : (e as Error).message;
        }
      }
      if (o.json) process.stdout.write(JSON.stringify({ workflowId, runId: desc.runId, status, progress, result, ...(failure ? { failure } : {}) }, null, 2) + '\n');
      else {
        const p = progress as Partial<Progress> | undefined;
        // A running workflow may be planning, running, waiting for a retry or finishing: say which.
        const phase = status === 'RUNNING' && p?.phase ? ` (${p.phase})` : '';
        process.stdout.write(`${workflowId}  ${status}${phase}  started ${desc.startTime.toISOString()}${desc.closeTime ? `  closed ${desc.closeTime.toISOString()}` : ''}\n`);
        for (const [n, s] of Object.entries(p?.stages ?? {})) process.stdout.write(stageProgressLine(n, s));
        if (status === 'RUNNING' && p?.phase === 'waiting-for-retry') {
          printWaiting({ status: 'waiting-for-retry', workflowId, failed: p.failed ?? [], total: failedTotal(p) });
        } else if (status === 'RUNNING') {
          const idle = await noWorkerPolling(handle).catch(() => undefined);
          if (idle) process.stdout.write(`  ${idle}\n`);
        }
        if (result) printSummary(result as IngestSummary);
        if (failure) process.stdout.write(`  failure: ${failure}\n`);
      }
      await connection.close();
    });
}
