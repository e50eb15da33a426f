import { Command } from 'commander';
import { cliConfig } from '../config';
import { connectClient } from '../../client';
import { noWorkerAnswer, queryInTime, unanswered, workflowPollers, noWorkerNote } from '../../client/no-worker';
import { failedTotal } from '../../client/wait';
import type { IngestSummary } from '../../manifest/run';
import type { Progress } from '../../../workflows/state';
import { explainError, printSummary, printWaiting, stageProgressLine } from '../print';
import { describeRun } from '../workflow-lookup';
import { silentActivities, silentLine } from '../../client/silent-activities';
import { failingTaskLine, failingWorkflowTask } from '../../client/failing-task';

export function registerStatus(program: Command): void {
  program
    .command('status <workflowId>')
    .description("show an ingest's state, progress and, once closed, its result (progress comes from a running worker on the run's task queue: without one, status says so and shows the state and start time)")
    .option('--json', 'print JSON')
    .action(async (workflowId: string, o: { json?: boolean }) => {
      const cfg = cliConfig();
      const { client, connection } = await connectClient(cfg);
      const handle = client.workflow.getHandle(workflowId);
      const desc = await describeRun(handle, cfg);
      const status = desc.status.name;
      // Only a worker answers the progress query (a closed run's too): with none polling, it would
      // wait tens of seconds for nothing, so it is not asked; a worker that just stopped (still
      // listed) gets a short deadline. What describe says (state, start) is printed either way.
      let progress: unknown;
      let noWorker: string | undefined;
      const pollers = await workflowPollers(handle, desc.taskQueue).catch(() => undefined);
      const idle = pollers?.pollers.length === 0;
      if (idle && status === 'RUNNING') noWorker = noWorkerNote(pollers);
      if (!idle) {
        try {
          progress = await queryInTime(handle, 'progress', []);
        } catch (err) {
          progress = undefined;
          if (status === 'RUNNING' && unanswered(err)) noWorker = await noWorkerAnswer(handle, desc.taskQueue).catch(() => undefined);
        }
      }
      // A partition whose worker died shows as running until its heartbeat timeout: said sooner.
      const silent = status === 'RUNNING' ? await silentActivities(handle, desc).catch(() => []) : [];
      const failingTask = status === 'RUNNING' ? await failingWorkflowTask(handle, desc).catch(() => undefined) : undefined;
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
      // After continue-as-new Temporal's start time is the current run's; the ingest started with its first.
      const p = progress as Partial<Progress> | undefined;
      const summary = result as IngestSummary | undefined;
      const startedAt = p?.startedAt ?? summary?.startedAt ?? desc.startTime.toISOString();
      if (o.json) process.stdout.write(JSON.stringify({ workflowId, runId: desc.runId, status, startTime: desc.startTime.toISOString(), startedAt, progress, result, ...(failure ? { failure } : {}), ...(noWorker ? { noWorker } : {}), ...(silent.length ? { silent } : {}), ...(failingTask ? { failingTask } : {}) }, null, 2) + '\n');
      else {
        // A running workflow may be planning, running, waiting for a retry or finishing: say which.
        // Temporal says COMPLETED for a run that ended partial too: say how it ended, as a waiting run says it waits.
        const ended = summary?.status;
        const phase = status === 'RUNNING' && p?.phase ? ` (${p.phase})` : ended && ended !== 'completed' ? ` (${ended})` : '';
        process.stdout.write(`${workflowId}  ${status}${phase}  started ${startedAt}${desc.closeTime ? `  closed ${desc.closeTime.toISOString()}` : ''}\n`);
        for (const [n, s] of Object.entries(p?.stages ?? {})) process.stdout.write(stageProgressLine(n, s, p?.windows !== undefined));
        if (failingTask) process.stdout.write(`  ${failingTaskLine(failingTask)}\n`);
        for (const s of silent.slice(0, 20)) process.stdout.write(`  ${silentLine(s)}\n`);
        if (silent.length > 20) process.stdout.write(`  … and ${silent.length - 20} more activities with no heartbeat (--json lists them)\n`);
        if (status === 'RUNNING' && p?.phase === 'waiting-for-retry') {
          printWaiting({ status: 'waiting-for-retry', workflowId, failed: p.failed ?? [], total: failedTotal(p) });
        } else if (noWorker) {
          process.stdout.write(`  ${noWorker}\n`);
        }
        if (summary) printSummary(summary);
        if (failure) process.stdout.write(`  failure: ${failure}\n`);
      }
      await connection.close();
    });
}
