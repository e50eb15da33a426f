import { Command } from 'commander';
import { IngestInput, INPUT_LIMITS, InvalidInputError } from '../pipeline/input';
import { bytesArg, int, keyValue } from './args';

/**
 * The options that make an ingest's input, shared by `partflow ingest` and `partflow schedule
 * create|update`, so a scheduled run takes exactly what a manual one does.
 */
export function addIngestInputOptions(cmd: Command, opts: { sourceRequired: boolean }): Command {
  const source = '--source <url>';
  const sourceHelp = 's3:// URL of the source prefix or object, or kafka://host:port/topic';
  if (opts.sourceRequired) cmd.requiredOption(source, sourceHelp);
  else cmd.option(source, sourceHelp);
  return cmd
    .option('--target <url>', 's3:// URL under which outputs go (default: s3://<source bucket>/datasets/)')
    .option('--dataset <name>', 'dataset name (default: last segment of the source; a default name whose dataset another source created is refused)')
    .option('--partition-records <n>', `records per chunk when a big flat file is cut (default ${INPUT_LIMITS.partitionRecords.default})`, int('partition-records', INPUT_LIMITS.partitionRecords.min, INPUT_LIMITS.partitionRecords.max))
    .option('--partition-bytes <size>', `largest packed partition of small objects: bytes, or with a unit k, m or g, each binary whatever its case or suffix (2mb, 2MB and 2MiB are all 2 MiB, 2097152 bytes) (default 256KiB)`, bytesArg('partition-bytes', INPUT_LIMITS.partitionBytes.min, INPUT_LIMITS.partitionBytes.max))
    .option('--split-bytes <size>', 'Avro objects bigger than this are split into pieces of at most this size (planning reads each once more, to find where its blocks start), binary units as for --partition-bytes (default 16MiB)', bytesArg('split-bytes', INPUT_LIMITS.splitBytes.min, INPUT_LIMITS.splitBytes.max))
    // --pack first, so that neither given leaves `pack` unset (commander's rule for option pairs).
    .option('--pack', 'pack small source objects into partitions of up to --partition-bytes (the default)')
    .option('--no-pack', 'one partition per source object (big ones are still split); an object is never packed with others')
    .option('--max-parallel <n>', `activities in flight at once (default ${INPUT_LIMITS.maxParallel.default})`, int('max-parallel', INPUT_LIMITS.maxParallel.min, INPUT_LIMITS.maxParallel.max))
    .option('--partitions-per-activity <n>', 'small partitions (at most 2 MiB) run this many per activity; 1 runs one per activity (default 16)', int('partitions-per-activity', INPUT_LIMITS.partitionsPerActivity.min, INPUT_LIMITS.partitionsPerActivity.max))
    .option('--format <fmt>', 'source format: csv, jsonl, json or avro (default: from object names)')
    .option('--param <key=value>', 'pipeline parameter (repeatable), e.g. lookup.airports=s3://…', keyValue, {})
    .option('--partition-timeout <duration>', 'longest one partition attempt may run, e.g. 12h (default 24h; liveness comes from heartbeats)')
    .option('--wait-for-retry <duration>', 'how long a run with failed partitions waits for a retry, e.g. 3d, 12h, 0 (default 3d)')
    .option('--heartbeat-timeout-seconds <n>', `advanced: seconds without a heartbeat after which a partition attempt is retried from its checkpoint; also how long an async transform may take over one record (default ${INPUT_LIMITS.heartbeatTimeoutSeconds.default})`, int('heartbeat-timeout-seconds', INPUT_LIMITS.heartbeatTimeoutSeconds.min, INPUT_LIMITS.heartbeatTimeoutSeconds.max))
    .option('--partitions-per-workflow <n>', `advanced: partitions per window (child workflow); a run that fits one window stays in the ingest's own history (${INPUT_LIMITS.partitionsPerWorkflow.min} – ${INPUT_LIMITS.partitionsPerWorkflow.max}, default ${INPUT_LIMITS.partitionsPerWorkflow.default})`, int('partitions-per-workflow', INPUT_LIMITS.partitionsPerWorkflow.min, INPUT_LIMITS.partitionsPerWorkflow.max))
    .option('--start-offsets <where>', 'Kafka: where a dataset\'s first run starts: earliest, latest, or partition=offset,… (default earliest); later runs go on from the committed offsets and ignore it', startOffsetsArg)
    .option('--allow-gaps', 'Kafka: skip offsets the broker no longer holds (recorded as gaps) instead of failing')
    .option('--value-format <fmt>', 'Kafka: json, avro, avro-single-object or confluent (default json)')
    .option('--value-schema <ref>', 'Kafka: the values\' (reader) schema of schemas/, e.g. orders@1')
    .option('--registry <url>', 'Kafka: Schema Registry URL for confluent values');
}

/**
 * "earliest", "latest", or "0=100,2=5000"; the workflow checks the numbers. A number past 2^53
 * stays text, so the refusal quotes what was typed rather than its rounded value.
 */
export function startOffsetsArg(v: string): NonNullable<IngestInput['startOffsets']> {
  if (v === 'earliest' || v === 'latest') return v;
  const out: Record<string, number> = {};
  for (const kv of v.split(',')) {
    const [k, n] = kv.split('=').map((x) => x?.trim());
    // Not commander's InvalidArgumentError, which prints the whole --help after it: one line, as
    // the workflow input's own checks of startOffsets print.
    if (Object.hasOwn(out, k)) throw new InvalidInputError([`--start-offsets names partition ${k} twice (${v})`]);
    out[k] = n !== undefined && /^\d+$/.test(n) && Number.isSafeInteger(Number(n)) ? Number(n) : (n as unknown as number);
  }
  return out;
}

/**
 * The input fields the options above set, laid over `base` (for `schedule update`, the
 * schedule's current input): only options given on the command line change anything.
 */
export function ingestInputFromOptions(o: Record<string, unknown>, base: Partial<IngestInput> = {}): Partial<IngestInput> {
  const input: Partial<IngestInput> = { ...base };
  if (o.source) input.source = o.source as string;
  if (o.target) input.target = o.target as string;
  if (o.dataset) input.dataset = o.dataset as string;
  if (o.partitionRecords) input.partitionRecords = o.partitionRecords as number;
  if (o.partitionBytes) input.partitionBytes = o.partitionBytes as number;
  if (o.splitBytes) input.splitBytes = o.splitBytes as number;
  if (o.pack !== undefined) input.pack = o.pack as boolean;
  if (o.maxParallel) input.maxParallel = o.maxParallel as number;
  if (o.partitionsPerActivity) input.partitionsPerActivity = o.partitionsPerActivity as number;
  if (o.heartbeatTimeoutSeconds) input.heartbeatTimeoutSeconds = o.heartbeatTimeoutSeconds as number;
  if (o.partitionsPerWorkflow) input.partitionsPerWorkflow = o.partitionsPerWorkflow as number;
  if (o.format) input.format = o.format as IngestInput['format'];
  if (o.param && Object.keys(o.param as object).length) input.params = o.param as Record<string, string>;
  if (o.waitForRetry !== undefined) input.waitForRetry = o.waitForRetry as string;
  if (o.partitionTimeout !== undefined) input.partitionTimeout = o.partitionTimeout as string;
  if (o.startOffsets !== undefined) input.startOffsets = o.startOffsets as NonNullable<IngestInput['startOffsets']>;
  if (o.allowGaps) input.allowGaps = true;
  if (o.valueFormat || o.valueSchema || o.registry) {
    input.value = { ...(base.value ?? { format: 'json' }), format: (o.valueFormat ?? base.value?.format ?? 'json') as NonNullable<IngestInput['value']>['format'] };
    if (o.valueSchema) input.value.schema = o.valueSchema as string;
    if (o.registry) input.value.registry = o.registry as string;
  }
  return input;
}
