import type { Logger } from 'pino';

/** A stage schema that means "the schema of the stage's one input" (for copy-like stages). */
export const INHERIT_SCHEMA = '@input';

/** Name of the implicit first stage: the raw Avro partitions made from the source. */
export const RAW_STAGE = 'raw';

export interface TransformContext {
  pipeline: string;
  stage: string;
  /** The partition's stable id ("p-3fa9c1d20b7e") and readable name ("feeds/m-0042.avro+17"). */
  partition: string;
  partitionName: string;
  /** Which upstream stage the record came from (a stage may read several). */
  input: string;
  /** 0-based index of the record in its input object. */
  recordIndex: number;
  /** What the stage's setup() returned for this partition. */
  state: unknown;
  params: Readonly<Record<string, string>>;
  log: Logger;
}

/**
 * A record transform. Return the output record, or null/undefined to drop the input record.
 * Throw (any error) to reject the record: it goes to the rejects object with the message.
 */
export type Transform = (record: any, ctx: TransformContext) => unknown | Promise<unknown>;

/**
 * The transform of a stage that writes every input as it is. Unlike `(r) => r`, it keeps a
 * null input (a schema such as `["null", "int"]` has null records): it never drops one.
 */
export const passThrough: Transform = (record) => record;

export interface SetupContext {
  pipeline: string;
  stage: string;
  partition: string;
  partitionName: string;
  params: Readonly<Record<string, string>>;
  /**
   * Loads a lookup table declared by the pipeline, as plain records. A worker loads each table
   * once and shares it between partitions, so the array and its records are frozen: copy what
   * you need to change. It is the same array for every partition, so an index built from it
   * can be kept in a WeakMap keyed by the array.
   */
  lookup(name: string): Promise<Record<string, unknown>[]>;
  log: Logger;
}

export interface StageDefinition {
  name: string;
  /** Upstream stages; defaults to the stage before this one, or `raw` for the first. */
  after?: string[];
  /** Output schema reference in schemas/: "name" (newest version) or "name@N"; or "@input" for the input's own schema. */
  schema: string;
  /** Bump when the transform's behaviour changes; outputs of another version are never reused. */
  version: string;
  transform: Transform;
  /** Runs once per partition attempt before the first record, e.g. to load lookups. */
  setup?: (ctx: SetupContext) => Promise<unknown> | unknown;
  /** Output codec; defaults to the pipeline's. */
  codec?: 'null' | 'deflate' | 'snappy' | 'zstandard';
  /**
   * The pipeline lookups this stage reads. A changed lookup table recomputes only the stages
   * that declare it. Default: every lookup of the pipeline.
   */
  lookups?: string[];
}

export interface LookupDefinition {
  /** Key of the lookup object relative to the source bucket, unless `params["lookup.<name>"]` gives an s3:// URL. */
  defaultKey: string;
  format: 'csv' | 'jsonl' | 'avro';
  /** Columns every record must have: a table without them fails the stages that read it, naming what is missing. */
  columns?: string[];
}

export interface PipelineDefinition {
  name: string;
  description?: string;
  stages: StageDefinition[];
  lookups?: Record<string, LookupDefinition>;
  codec?: 'null' | 'deflate' | 'snappy' | 'zstandard';
  /**
   * Reader schema for Avro sources ("name" or "name@N"): older source files are read through
   * schema resolution into this shape. Without it, each source is read with its own schema.
   */
  input?: string;
  /** Schema directory for this pipeline's stages; defaults to the project's schemas/. */
  schemasDir?: string;
  /** Retries of a partition's activity for transient errors (network, throttling, 5xx, timeouts). */
  retry?: RetrySettings;
}

export interface RetrySettings {
  /** Attempts per partition activity, the first included (default 5). */
  maximumAttempts?: number;
  /** Delay before the first retry (default 1). */
  initialIntervalSeconds?: number;
  /** Growth of the delay per retry (default 2). */
  backoffCoefficient?: number;
  /** Longest delay between retries (default 60). */
  maximumIntervalSeconds?: number;
}

export const DEFAULT_RETRY: Required<RetrySettings> = { maximumAttempts: 5, initialIntervalSeconds: 1, backoffCoefficient: 2, maximumIntervalSeconds: 60 };

/** What a workflow learns about a pipeline: no code, only the DAG and identities. */
export interface StageInfo {
  name: string;
  after: string[];
  version: string;
  schemaRef: string;
  schemaFingerprint: string;
  /**
   * SHA-256 of what the output schema says beyond its canonical form (defaults, aliases, doc,
   * logical types...), which the fingerprint leaves out but the outputs depend on; absent when
   * nothing, so that plans and content versions of schemas without any stay what they were.
   */
  schemaExtras?: string;
  codec: string;
  /** Lookups the stage reads (declared, or all of the pipeline's). */
  lookups: string[];
}

/** A reader schema as plans record it: `extras` as in StageInfo.schemaExtras, absent when none. */
export interface ReaderSchemaInfo {
  ref: string;
  fingerprint: string;
  extras?: string;
}

export interface PipelineInfo {
  name: string;
  stages: StageInfo[];
  lookups: string[];
  /** Reader schema for Avro sources, resolved. */
  input?: ReaderSchemaInfo;
  retry: Required<RetrySettings>;
}

/**
 * Thrown by a transform (or setup) to fail the whole partition attempt instead of rejecting one
 * record: for example when a dependency is down (retryable, the default) or the partition can
 * never succeed with this code (`retryable: false`).
 */
export class PartitionError extends Error {
  readonly retryable: boolean;
  constructor(message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message);
    this.name = 'PartitionError';
    this.retryable = opts.retryable ?? true;
    if (opts.cause !== undefined) (this as { cause?: unknown }).cause = opts.cause;
  }
}

export function isPartitionError(err: unknown): err is PartitionError {
  return err instanceof PartitionError || (err as Error)?.name === 'PartitionError';
}
