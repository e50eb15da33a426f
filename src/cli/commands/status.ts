import { Command } from 'commander';
import { loadConfig } from '../../config';
import { connectClient } from '../../client';
import type { IngestSummary } from '../../manifest/run';
import { printSummary } from '../print';

export function registerStatus(program: Command): void {
  program
    .command('status <workflowId>')
    .description("show an ingest's state, progress and, once closed, its result")
    .option('--json', 'print JSON')
    .action(async (workflowId: string, o: { json?: boolean }) => {
      const cfg = loadConfig();
      const { client, connection } = await connectClient(cfg);
      const handle = client.workflow.getHandle(workflowId);
      const desc = await handle.describe();
      const status = desc.status.name;
      let progress: unknown;
      try {
        progress = await handle.query('progress');
      } catch {
        progress = undefined;
      }
      const result = status === 'COMPLETED' ? await handle.result() : undefined;
      if (o.json) process.stdout.write(JSON.stringify({ workflowId, runId: desc.runId, status, progress, result }, null, 2) + '\n');
      else {
        process.stdout.write(`${workflowId}  ${status}  started ${desc.startTime.toISOString()}${desc.closeTime ? `  closed ${desc.closeTime.toISOString()}` : ''}\n`);
        const p = progress as { stages?: Record<string, { total: number; done: number; running: number; failed: number; records: { out: number; rejected: number } }> } | undefined;
        for (const [n, s] of Object.entries(p?.stages ?? {})) {
          process.stdout.write(`  ${n.padEnd(8)} ${s.done}/${s.total} done, ${s.running} running, ${s.failed} failed; ${s.records.out} records out, ${s.records.rejected} rejected\n`);
        }
        if (result) printSummary(result as IngestSummary);
        if (status === 'FAILED') {
          try {
            await handle.result();
          } catch (e) {
            process.stdout.write(`  failure: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}\n`);
          }
        }
      }
      await connection.close();
    });
}
