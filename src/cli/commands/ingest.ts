import { Command } from 'commander';
import { loadConfig } from '../../config';
import { connectClient, startIngest, waitWithProgress } from '../../client';
import { IngestInput, INPUT_LIMITS } from '../../pipeline/input';
import { bytesArg, int, keyValue } from '../args';
import { printSummary, printWaiting } from '../print';

/** "earliest", "latest", or "0=100,2=5000"; the workflow checks the numbers. */
function startOffsetsArg(v: string): NonNullable<IngestInput['startOffsets']> {
  if (v === 'earliest' || v === 'latest') return v;
  return Object.fromEntries(v.split(',').map((kv) => {
    const [k, n] = kv.split('=');
    return [k.trim(), n !== undefined && /^\s*\d+\s*$/.test(n) ? Number(n) : (n as unknown as number)];
  }));
}

export function registerIngest(program: Command): void {
  program
    .command('ingest <pipeline>')
    .description('start an ingest workflow')
    .requiredOption('--source <url>', 's3:// URL of the source prefix or object, or kafka://host:port/topic')
    .option('--target <url>', 's3:// URL under which outputs go (default: s3://<source bucket>/datasets/)')
    .option('--dataset <name>', 'dataset name (default: last segment of the source)')
    .option('--partition-records <n>', 'records per chunk when a big flat file is cut', int('partition-records', INPUT_LIMITS.partitionRecords.min, INPUT_LIMITS.partitionRecords.max))
    .option('--partition-bytes <size>', 'largest packed partition of small objects (default 256KiB)', bytesArg('partition-bytes', INPUT_LIMITS.partitionBytes.min, INPUT_LIMITS.partitionBytes.max))
    .option('--split-bytes <size>', 'Avro objects bigger than this are split into pieces of at most this size (default 16MiB)', bytesArg('split-bytes', INPUT_LIMITS.splitBytes.min, INPUT_LIMITS.splitBytes.max))
    .option('--max-parallel <n>', 'activities in flight at once', int('max-parallel', INPUT_LIMITS.maxParallel.min, INPUT_LIMITS.maxParallel.max))
    .option('--format <fmt>', 'source format: csv, jsonl, json or avro (default: from object names)')
    .option('--param <key=value>', 'pipeline parameter (repeatable), e.g. lookup.airports=s3://…', keyValue, {})
    .option('--partition-timeout <duration>', 'longest one partition attempt may run, e.g. 12h (default 24h; liveness comes from heartbeats)')
    .option('--wait-for-retry <duration>', 'how long a run with failed partitions waits for a retry, e.g. 3d, 12h, 0 (default 3d)')
    .option('--start-offsets <where>', 'Kafka: where the first run starts: earliest, latest, or partition=offset,… (default earliest)')
    .option('--allow-gaps', 'Kafka: skip offsets the broker no longer holds (recorded as gaps) instead of failing')
    .option('--value-format <fmt>', 'Kafka: json, avro, avro-single-object or confluent (default json)')
    .option('--value-schema <ref>', 'Kafka: the values\' (reader) schema of schemas/, e.g. orders@1')
    .option('--registry <url>', 'Kafka: Schema Registry URL for confluent values')
    .option('--workflow-id <id>', 'workflow id (default: ingest-<pipeline>-<time>)')
    .option('--wait', 'wait for the result (or for the run to wait for a retry), with a progress bar per stage')
    .option('--json', 'print the result as JSON (with --wait)')
    .action(async (pipeline: string, o: Record<string, unknown>) => {
      const cfg = loadConfig();
      const input: IngestInput = { pipeline, source: o.source as string };
      if (o.target) input.target = o.target as string;
      if (o.dataset) input.dataset = o.dataset as string;
      if (o.partitionRecords) input.partitionRecords = o.partitionRecords as number;
      if (o.partitionBytes) input.partitionBytes = o.partitionBytes as number;
      if (o.splitBytes) input.splitBytes = o.splitBytes as number;
      if (o.maxParallel) input.maxParallel = o.maxParallel as number;
      if (o.format) input.format = o.format as IngestInput['format'];
      if (Object.keys(o.param as object).length) input.params = o.param as Record<string, string>;
      if (o.waitForRetry !== undefined) input.waitForRetry = o.waitForRetry as string;
      if (o.partitionTimeout !== undefined) input.partitionTimeout = o.partitionTimeout as string;
      if (o.startOffsets !== undefined) input.startOffsets = startOffsetsArg(o.startOffsets as string);
      if (o.allowGaps) input.allowGaps = true;
      if (o.valueFormat || o.valueSchema || o.registry) {
        input.value = { format: (o.valueFormat ?? 'json') as NonNullable<IngestInput['value']>['format'] };
        if (o.valueSchema) input.value.schema = o.valueSchema as string;
        if (o.registry) input.value.registry = o.registry as string;
      }
      const { client, connection } = await connectClient(cfg);
      const handle = await startIngest(client, cfg, input, o.workflowId as string | undefined);
      process.stderr.write(`started ${handle.workflowId}\n`);
      if (o.wait) {
        const summary = await waitWithProgress(handle);
        if (o.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        else if (summary.status === 'waiting-for-retry') printWaiting(summary);
        else printSummary(summary);
        if (summary.status !== 'completed') process.exitCode = 3;
      } else process.stdout.write(handle.workflowId + '\n');
      await connection.close();
    });
}
