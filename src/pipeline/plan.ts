import type { FieldPlan } from '../formats/infer';
import type { SourceFormat } from './input';
import type { RetrySettings, StageInfo } from './types';

/** One source object as listed at planning time. */
export interface SourceObject {
  key: string;
  size: number;
  etag: string;
}

/** One raw partition: a chunk of a flat file, or a whole Avro source object. */
export interface PlannedPartition {
  index: number;
  id: string;
  source: SourceObject;
  format: SourceFormat;
  /** Flat files: which raw schema (an index into Plan.rawSchemas). */
  schema?: number;
  /** csv/jsonl: bytes [start, end), end -1 = to the end; json: elements [start, end). */
  start?: number;
  end?: number;
  /** Records the scan found (flat files). */
  records?: number;
}

export interface PlannedStage extends StageInfo {
  /** Content version: code version plus a hash of everything the output depends on. */
  outputVersion: string;
  /** Key prefix of the stage's outputs. */
  dir: string;
}

export interface RawSchema {
  json: string;
  fields: FieldPlan[];
  /** csv: header bytes [0, headerEnd). */
  headerEnd?: number;
}

/** Written once per distinct ingest input to `_plans/<id>.json`; activities read it by key. */
export interface Plan {
  kind: 'partflow.plan';
  version: 1;
  id: string;
  pipeline: string;
  dataset: string;
  source: string;
  bucket: string;
  targetPrefix: string;
  sourceBucket: string;
  format: SourceFormat;
  partitionRecords: number;
  params: Record<string, string>;
  /** Lookup tables: name -> object (bucket, key, etag). */
  lookups: Record<string, { bucket: string; key: string; etag: string; format: string }>;
  raw: { version: string; dir: string | null };
  rawSchemas: RawSchema[];
  partitions: PlannedPartition[];
  stages: PlannedStage[];
}

/** What the plan activity hands the workflow: references and counts only. */
export interface PlanSummary {
  planKey: string;
  bucket: string;
  dataset: string;
  format: SourceFormat;
  partitions: number;
  sourceObjects: number;
  scannedRecords: number | null;
  /** Flat sources need an import activity per partition; Avro sources are used as they are. */
  needsImport: boolean;
  rawDir: string | null;
  stages: { name: string; after: string[]; dir: string; version: string; outputVersion: string }[];
  /** The pipeline's retry settings for partition activities. */
  retry: Required<RetrySettings>;
}
