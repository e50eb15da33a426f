import { WorkflowHandle } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import { cliConfig } from '../config';
import { connectClient } from '../../client';
import { noWorkerAnswer, queryInTime, unanswered } from '../../client/no-worker';
import { s3Client } from '../../storage/client';
import { formatS3Url, parseS3Url } from '../../storage/s3url';
import { datasetPrefix } from '../../pipeline/layout';
import { runManifests } from '../../tools/history';
import { fromPlanIndex, isPlanIndex, matchPartitions, readPlan } from '../../tools/partition-match';
import { table } from '../print';
import type { IngestSummary } from '../../manifest/run';
import { STATUSES } from '../../../workflows/run/compact';

/** Rows per `partitions` query: well under a query result's 4 MiB, answered well within its deadline. */
const PAGE_ROWS = 1000;

function nonNegative(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number, 0 or more');
  return Number(v);
}

/**
 * A query no worker answered (a gRPC deadline or "consistent query buffer is full") said as
 * such: whether a worker polls the run's task queue, how to start one, and the run manifest a
 * closed run can be read from instead. Any other error as it was.
 */
async function noAnswerError(handle: WorkflowHandle, workflowId: string, err: unknown): Promise<unknown> {
  const cause = unanswered(err);
  if (cause === undefined) return err;
  const note = await noWorkerAnswer(handle).catch(() => `no worker answered within the query's deadline (${cause})`);
  return new Error(`the partitions of ${workflowId} come from its workflow, which only a worker answers for: ${note}. `
    + `Once the run has ended, --dataset <url> reads them from its run manifest instead`);
}

export function registerPartitions(program: Command): void {
  program
    .command('partitions <workflowId>')
    .description("a run's partitions per stage: status, attempts, last error, records, duration, output (from Temporal, which needs a running worker on the run's task queue to answer; or with --dataset from the run manifest)")
    .option('--status <status>', 'only pending (not started), running, done, skipped, failed, blocked (by an upstream failure) or cancelled (unfinished in a cancelled run)')
    .option('--stage <name>', 'only this stage')
    .option('--partition <id|name|key>', 'only the partition with this id or name, or that reads this source key')
    .option('--dataset <url>', 's3:// URL of the dataset (<target>/<dataset>/): read the run manifest instead of asking Temporal (a completed run too large for Temporal to keep records per partition is read from it by itself)')
    .option('--offset <n>', 'skip the first n rows', nonNegative, 0)
    .option('--limit <n>', 'print at most n rows', nonNegative)
    .option('--json', 'print JSON')
    .action(async (workflowId: string, o: { status?: string; stage?: string; partition?: string; dataset?: string; offset: number; limit?: number; json?: boolean }) => {
      if (o.status && !(STATUSES as string[]).includes(o.status)) throw new InvalidArgumentError(`--status must be one of ${STATUSES.join(', ')}`);
      const cfg = cliConfig();
      let rows: Record<string, unknown>[] = [];
      let planUrl: string | undefined;
      let fetchedFrom = 0;
      // Read once: a closed run's are looked for before its rows are.
      let manifests: Awaited<ReturnType<typeof runManifests>> | undefined;
      if (!o.dataset) {
        const { client, connection } = await connectClient(cfg);
        const handle = client.workflow.getHandle(workflowId);
        try {
          planUrl = (await queryInTime<{ plan?: string }>(handle, 'progress', [])).plan;
          // The workflow pages and filters by status and stage itself: --offset and --limit ask it for
          // those rows only (a 100k-partition run's first 20 rows are one query, not 300); a match by
          // --partition needs every row.
          const from = o.partition ? 0 : o.offset;
          const until = o.partition || o.limit === undefined ? Infinity : o.offset + o.limit;
          for (let offset = from; offset < until; offset += PAGE_ROWS) {
            const limit = Math.min(PAGE_ROWS, until - offset);
            const page = await queryInTime<{ total: number; partitions: Record<string, unknown>[] }, [object]>(handle, 'partitions', [{ status: o.status, stage: o.stage, offset, limit }]);
            rows.push(...page.partitions);
            if (offset + limit >= page.total) break;
          }
          fetchedFrom = from;
        } catch (err) {
          const explained = await noAnswerError(handle, workflowId, err);
          await connection.close();
          throw explained;
        }
        // A completed run too large for Temporal to keep records and outputs per partition: its run manifest has them.
        const lean = rows.some((r) => r.status === 'done' || r.status === 'skipped') && rows.every((r) => !r.records);
        if (lean) {
          const status = (await handle.describe()).status.name;
          if (status === 'COMPLETED') o.dataset = (await handle.result() as IngestSummary).outputPrefix;
          // A cancelled or failed run returns no result, but its plan says where its run manifest is.
          else if (status !== 'RUNNING' && planUrl) {
            const plan = await readPlan(s3Client(cfg.s3), planUrl);
            const url = formatS3Url({ bucket: plan.bucket, key: `${datasetPrefix(plan.targetPrefix, plan.dataset)}/` });
            manifests = await runManifests(s3Client(cfg.s3), url, workflowId);
            if (manifests.length) o.dataset = url;
          }
        }
        await connection.close();
        // A run too large for the workflow to hold every id answers with "#<index>": the plan names them.
        if (planUrl && rows.some((p) => isPlanIndex(p.partition))) {
          const plan = await readPlan(s3Client(cfg.s3), planUrl);
          rows = rows.map((p) => (isPlanIndex(p.partition) ? { ...p, ...fromPlanIndex(plan, String(p.partition)) } : p));
        }
        // Temporal keeps each output's key only; the plan lies in the same (target) bucket. A URL can be given to `partflow cat`.
        const bucket = planUrl ? parseS3Url(planUrl).bucket : undefined;
        const outputUrl = (key: unknown) => (typeof key !== 'string' ? '' : bucket && !key.startsWith('s3://') ? formatS3Url({ bucket, key }) : key);
        rows = rows.map((p) => ({
          partition: p.partition, name: p.name ?? '', stage: p.stage, status: p.status, attempts: p.attempts, runs: p.runs,
          records: p.records ? `${(p.records as { in: number }).in}>${(p.records as { out: number }).out}` : '', rejected: (p.records as { rejected?: number })?.rejected ?? '',
          ms: p.durationMs ?? '', output: outputUrl(p.outputKey), type: p.errorType ?? '', error: p.error ?? '',
        }));
      }
      if (o.dataset) {
        rows = [];
        fetchedFrom = 0;
        const runs = manifests?.length ? manifests : await runManifests(s3Client(cfg.s3), o.dataset, workflowId);
        const run = runs[runs.length - 1];
        if (!run) throw new Error(`no run manifest for ${workflowId} under ${o.dataset}_runs/`);
        planUrl = run.plan;
        for (const [stage, list] of Object.entries(run.committed)) {
          for (const c of list) {
            rows.push({
              partition: c.partition, name: c.name, stage, status: c.result === 'computed' ? 'done' : 'skipped', attempts: c.attempts ?? '', version: c.contentVersion,
              records: `${c.counts.in}>${c.counts.out}`, rejected: c.counts.rejected, output: c.output, error: '',
            });
          }
        }
        for (const f of run.failures) rows.push({ partition: f.partition, name: f.name, stage: f.stage, status: 'failed', attempts: f.attempts, error: f.error });
        for (const b of run.blocked) rows.push({ partition: b.partition, name: b.name, stage: b.stage, status: 'blocked' });
        for (const c of run.cancelled ?? []) rows.push({ partition: c.partition, name: c.name, stage: c.stage, status: 'cancelled' });
        rows = rows.filter((r) => (!o.status || r.status === o.status) && (!o.stage || r.stage === o.stage)).sort((a, b) => String(a.name).localeCompare(String(b.name)));
      }
      if (o.partition) {
        const q = o.partition;
        let ids = new Set(rows.filter((r) => r.partition === q || r.name === q).map((r) => r.partition));
        if (ids.size === 0 && planUrl) ids = new Set(matchPartitions(await readPlan(s3Client(cfg.s3), planUrl), q).map((p) => p.id));
        if (ids.size === 0) throw new Error(`no partition of ${workflowId} has the id or name ${q} or reads a source object ${q}`);
        rows = rows.filter((r) => ids.has(r.partition));
      }
      if (!o.dataset && rows.some((r) => r.status === 'done' || r.status === 'skipped') && rows.every((r) => r.records === '')) {
        process.stderr.write(`note: ${workflowId} is too large for Temporal to keep records and outputs per partition; once it ends, --dataset <url> reads them from its run manifest\n`);
      }
      const skip = o.offset - fetchedFrom;
      rows = rows.slice(skip, o.limit === undefined ? undefined : skip + o.limit);
      if (o.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      else if (rows.length) table(rows);
      else process.stdout.write('no partitions match\n');
    });
}
