import { formatS3Url, parseS3Url, S3UrlError } from '../storage/s3url';
import { NAME_RE } from './name';
import { isKafkaUrl, KafkaSource, KafkaValueSettings, resolveKafkaSource, StartOffsets } from '../sources/kafka/source';
import { durationMs, formatMs } from '../config/duration';
import { shown } from '../log/shown';

/**
 * The `ingest` workflow's input, as users type it into the Temporal UI or CLI.
 * Pure code: the workflow validates with it before doing anything.
 */
export interface IngestInput {
  pipeline: string;
  source: string;
  target?: string;
  dataset?: string;
  partitionRecords?: number;
  /** Largest packed partition of small objects, in bytes (default 256 KiB). */
  partitionBytes?: number;
  /** Avro objects bigger than this are split into pieces of at most this many bytes (default 16 MiB). */
  splitBytes?: number;
  /** Pack small objects into shared partitions (default true); false keeps one partition per object. */
  pack?: boolean;
  maxParallel?: number;
  format?: SourceFormat;
  params?: Record<string, string>;
  /** Advanced: seconds without a heartbeat before a partition attempt is given up and retried. */
  heartbeatTimeoutSeconds?: number;
  /** Advanced: partitions one workflow history handles before child workflows take over. */
  partitionsPerWorkflow?: number;
  /** Advanced: small partitions run this many per activity (1: one activity per partition). */
  partitionsPerActivity?: number;
  /** How long a run with failed partitions waits for a retry before it ends as partial: "3d", "12h", "0". */
  waitForRetry?: string | number;
  /** The longest one attempt at one partition may run ("24h"); liveness comes from heartbeats. */
  partitionTimeout?: string | number;
  /** Kafka sources: where the first run starts (default "earliest"). */
  startOffsets?: StartOffsets;
  /** Kafka sources: skip offsets the broker no longer holds, recording the gap (default false). */
  allowGaps?: boolean;
  /** Kafka sources: how values are decoded (default {"format": "json"}). */
  value?: KafkaValueSettings;
}

export type SourceFormat = 'csv' | 'jsonl' | 'json' | 'avro';
export const SOURCE_FORMATS: readonly SourceFormat[] = ['csv', 'jsonl', 'json', 'avro'];

export interface ResolvedIngest {
  pipeline: string;
  source: string;
  sourceBucket: string;
  sourcePrefix: string;
  target: string;
  targetBucket: string;
  targetPrefix: string;
  dataset: string;
  /** The dataset name came from the source (no "dataset" given): planning refuses a dataset another source created. */
  datasetDefaulted?: true;
  partitionRecords: number;
  partitionBytes: number;
  splitBytes: number;
  pack: boolean;
  maxParallel: number;
  format?: SourceFormat;
  params: Record<string, string>;
  heartbeatTimeoutSeconds: number;
  partitionsPerWorkflow: number;
  partitionsPerActivity: number;
  waitForRetryMs: number;
  partitionTimeoutMs: number;
  /** Set for kafka:// sources (sourceBucket and sourcePrefix are then empty). */
  kafka?: KafkaSource;
}

export const INPUT_LIMITS = {
  partitionRecords: { min: 1, max: 10_000_000, default: 50_000 },
  // Chosen by `npm run bench -- partitions` (bench/RESULTS.md): fine packs recompute little when a
  // few objects change, at a modest cost to a first full run.
  partitionBytes: { min: 1024, max: 64 * 1024 ** 3, default: 256 * 1024 },
  splitBytes: { min: 1024, max: 64 * 1024 ** 3, default: 16 * 1024 ** 2 },
  maxParallel: { min: 1, max: 1_000, default: 8 },
  heartbeatTimeoutSeconds: { min: 5, max: 3_600, default: 60 },
  partitionsPerWorkflow: { min: 10, max: 2_000, default: 500 },
  // Enough to spread a task's cost (~20 ms of worker and server CPU) thin; small enough that a
  // batch of the largest small partitions (2 MiB) stays a short activity.
  partitionsPerActivity: { min: 1, max: 100, default: 16 },
};

const KNOWN = new Set(['pipeline', 'source', 'target', 'dataset', 'partitionRecords', 'partitionBytes', 'splitBytes', 'pack', 'maxParallel', 'format', 'params', 'heartbeatTimeoutSeconds', 'partitionsPerWorkflow', 'partitionsPerActivity', 'waitForRetry', 'partitionTimeout', 'startOffsets', 'allowGaps', 'value']);
const KAFKA_ONLY = ['startOffsets', 'allowGaps', 'value'];

const DAY = 86_400_000;
export const DEFAULT_WAIT_FOR_RETRY_MS = 3 * DAY;
export const DEFAULT_PARTITION_TIMEOUT_MS = DAY;
/** Where outputs go in the source's bucket when the input names no target. */
export const DEFAULT_TARGET_PREFIX = 'datasets/';

/**
 * A dataset name taken from a source (a topic, an object key) past the 128 characters that a
 * given name may have: the CLI's dataset commands could not name it, and cutting it short could
 * join two sources in one dataset. Checked by planning, not here: workflows resolve their input
 * on replay, and runs started before this check must replay as they ran.
 */
export function defaultedNameProblem(input: Pick<ResolvedIngest, 'dataset' | 'datasetDefaulted'>): string | null {
  if (!input.datasetDefaulted || input.dataset.length <= 128) return null;
  return `the dataset name taken from the source ("${input.dataset.slice(0, 40)}…", ${input.dataset.length} characters) is over the 128 characters a dataset name may have: give "dataset" (--dataset)`;
}

/** resolveIngestInput, for an ingest about to start (the CLI, the client, a schedule): with the checks planning makes of the resolved input. */
export function resolveNewIngest(input: unknown, pipelines?: string[]): ResolvedIngest {
  const resolved = resolveIngestInput(input, pipelines);
  const problem = defaultedNameProblem(resolved);
  if (problem) throw new InvalidInputError([problem]);
  return resolved;
}

export { durationMs, formatMs };

export class InvalidInputError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid ingest input: ${problems.join('; ')}`);
    this.name = 'InvalidInputError';
  }
}

function intIn(problems: string[], name: string, v: unknown, lim: { min: number; max: number; default: number }): number {
  if (v === undefined || v === null) return lim.default;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lim.min || v > lim.max) {
    problems.push(`${name} must be an integer from ${lim.min} to ${lim.max}, got ${shown(v)}`);
    return lim.default;
  }
  return v;
}

/**
 * What is wrong with an S3 source URL. The source may be a kafka:// URL too, so a URL of another
 * scheme (or no URL) is told both; only the message differs from parseS3Url's.
 */
function sourceUrlProblem(source: unknown, err: unknown): string {
  if (err instanceof S3UrlError) {
    if (typeof source !== 'string' || source === '') return `expected a URL like s3://bucket/prefix/, s3://bucket/key or kafka://host:port/topic, got ${shown(source)}`;
    if (!source.startsWith('s3://')) return `invalid URL ${shown(source)}: must start with s3:// (s3://bucket/prefix/ or s3://bucket/key) or kafka:// (kafka://host:port/topic)`;
  }
  return (err as Error).message;
}

/** Validates and fills in defaults. `knownPipelines`, when given, is checked too. */
export function resolveIngestInput(raw: unknown, knownPipelines?: string[]): ResolvedIngest {
  const problems: string[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidInputError([`expected a JSON object like {"pipeline": "copy", "source": "s3://bucket/prefix/"}, got ${shown(raw)}`]);
  }
  const input = raw as Record<string, unknown>;
  for (const k of Object.keys(input)) if (!KNOWN.has(k)) problems.push(`unknown field ${shown(k)} (known: ${[...KNOWN].join(', ')})`);
  const pipeline = input.pipeline;
  if (pipeline === undefined || pipeline === '') problems.push('"pipeline" is required (a registered pipeline name)');
  else if (typeof pipeline !== 'string') problems.push(`"pipeline" must be a pipeline's name (a string), got ${shown(pipeline)}`);
  // Before anything else uses it: a name no pipeline can have would also be refused as a search attribute past 2 KiB.
  else if (!NAME_RE.test(pipeline)) problems.push(`"pipeline" ${shown(pipeline, 80)} cannot be a pipeline's name: names match ${NAME_RE}`);
  else if (knownPipelines && !knownPipelines.includes(pipeline)) {
    problems.push(`unknown pipeline ${shown(pipeline)} (registered: ${knownPipelines.join(', ') || 'none'})`);
  }
  let src = { bucket: '', key: '' };
  let kafka: KafkaSource | undefined;
  if (input.source === undefined) problems.push('"source" is required (an s3:// URL of a prefix or object, or kafka://host:port/topic)');
  else if (isKafkaUrl(input.source)) {
    kafka = resolveKafkaSource(input.source, input, problems);
    if (input.target === undefined) problems.push('a kafka:// source needs "target" (the s3://bucket/prefix/ its dataset goes under)');
    if (input.format !== undefined) problems.push('"format" is for S3 sources; a kafka:// source sets "value": {"format": …}');
  } else {
    for (const k of KAFKA_ONLY) if (input[k] !== undefined) problems.push(`"${k}" is only for kafka:// sources`);
    try {
      src = parseS3Url(input.source);
    } catch (err) {
      problems.push(`source: ${sourceUrlProblem(input.source, err)}`);
    }
  }
  let dataset = '';
  if (input.dataset !== undefined) {
    if (typeof input.dataset !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(input.dataset)) {
      problems.push(`dataset must be 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit, got ${shown(input.dataset)}`);
    } else dataset = input.dataset;
  } else {
    const segs = src.key.split('/').filter((s) => s !== '');
    // A topic's dots are part of its name ("orders.v1"), not a file extension.
    const last = kafka ? kafka.topic : segs.length ? segs[segs.length - 1].replace(/\.[^.]*$/, '') : src.bucket;
    dataset = last.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '') || 'dataset';
  }
  const datasetDefaulted = input.dataset === undefined;
  let tgt = { bucket: src.bucket, key: DEFAULT_TARGET_PREFIX };
  if (input.target !== undefined) {
    try {
      tgt = parseS3Url(input.target, { prefix: true });
    } catch (err) {
      problems.push(`target: ${(err as Error).message}`);
    }
  }
  const partitionRecords = intIn(problems, 'partitionRecords', input.partitionRecords, INPUT_LIMITS.partitionRecords);
  const partitionBytes = intIn(problems, 'partitionBytes', input.partitionBytes, INPUT_LIMITS.partitionBytes);
  const splitBytes = intIn(problems, 'splitBytes', input.splitBytes, INPUT_LIMITS.splitBytes);
  if (input.pack !== undefined && typeof input.pack !== 'boolean') problems.push(`pack must be true or false, got ${shown(input.pack)}`);
  const pack = input.pack !== false;
  const maxParallel = intIn(problems, 'maxParallel', input.maxParallel, INPUT_LIMITS.maxParallel);
  const heartbeatTimeoutSeconds = intIn(problems, 'heartbeatTimeoutSeconds', input.heartbeatTimeoutSeconds, INPUT_LIMITS.heartbeatTimeoutSeconds);
  const partitionsPerWorkflow = intIn(problems, 'partitionsPerWorkflow', input.partitionsPerWorkflow, INPUT_LIMITS.partitionsPerWorkflow);
  const partitionsPerActivity = intIn(problems, 'partitionsPerActivity', input.partitionsPerActivity, INPUT_LIMITS.partitionsPerActivity);
  let waitForRetryMs = DEFAULT_WAIT_FOR_RETRY_MS;
  if (input.waitForRetry !== undefined) {
    const ms = durationMs(input.waitForRetry);
    if (ms === undefined || ms > 365 * DAY) problems.push(`waitForRetry must be a duration like "3d", "12h", "30m" or "0" (at most a year), got ${shown(input.waitForRetry)}`);
    else waitForRetryMs = ms;
  }
  let partitionTimeoutMs = DEFAULT_PARTITION_TIMEOUT_MS;
  if (input.partitionTimeout !== undefined) {
    const ms = durationMs(input.partitionTimeout);
    if (ms === undefined || ms < 60_000 || ms > 365 * DAY) problems.push(`partitionTimeout must be a duration like "24h", "90m" or "7d" (from 1m to a year), got ${shown(input.partitionTimeout)}`);
    else partitionTimeoutMs = ms;
  }
  let format: SourceFormat | undefined;
  if (input.format !== undefined) {
    if (!SOURCE_FORMATS.includes(input.format as SourceFormat)) problems.push(`format must be one of ${SOURCE_FORMATS.join(', ')}, got ${shown(input.format)}`);
    else format = input.format as SourceFormat;
  }
  const params: Record<string, string> = {};
  if (input.params !== undefined) {
    if (typeof input.params !== 'object' || input.params === null || Array.isArray(input.params)) problems.push('params must be an object of strings');
    else {
      for (const [k, v] of Object.entries(input.params)) {
        if (typeof v !== 'string') problems.push(`params[${shown(k)}] must be a string, got ${shown(v)}`);
        else params[k] = v;
        // Where a lookup table is read: a bad URL is the input's fault, not worth a retry at planning.
        if (k.startsWith('lookup.') && typeof v === 'string') {
          try {
            parseS3Url(v);
          } catch (err) {
            problems.push(`params[${shown(k)}]: ${(err as Error).message}`);
          }
        }
      }
    }
  }
  if (problems.length) throw new InvalidInputError(problems);
  return {
    pipeline: pipeline as string,
    source: kafka ? (input.source as string) : formatS3Url(src), sourceBucket: src.bucket, sourcePrefix: src.key,
    target: formatS3Url(tgt), targetBucket: tgt.bucket, targetPrefix: tgt.key,
    dataset, ...(datasetDefaulted ? { datasetDefaulted: true as const } : {}), partitionRecords, partitionBytes, splitBytes, pack, maxParallel, format, params, heartbeatTimeoutSeconds, partitionsPerWorkflow, partitionsPerActivity, waitForRetryMs, partitionTimeoutMs,
    ...(kafka ? { kafka } : {}),
  };
}
