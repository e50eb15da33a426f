import type { KafkaGapsSummary } from '../sources/kafka/gaps';
import type { FieldPlan } from '../formats/infer';
import type { SourceFormat } from './input';
import type { SourcePartition } from './partitioning';
import type { ReaderSchemaInfo, RetrySettings, StageInfo } from './types';
import type { KafkaPlanInfo } from '../sources/kafka/plan';

/** One raw partition: its pieces, and the content version of its raw input. */
export interface PlannedPartition extends SourcePartition {
  /** Avro sources: "src-…" (read in place); flat sources: "import-2-…" (the raw Avro written by the import). */
  rawVersion: string;
  /** A source object planning could not read (a flat file's scan, a split Avro object's block walk), and why: its partition fails as CorruptInput. */
  unreadable?: string;
}

export interface RawSchema {
  json: string;
  fields: FieldPlan[];
}

/** Written once per distinct ingest input to `_plans/<id>.json`; activities read it by key. */
export interface Plan {
  kind: 'partflow.plan';
  version: 2;
  id: string;
  pipeline: string;
  dataset: string;
  source: string;
  bucket: string;
  targetPrefix: string;
  sourceBucket: string;
  sourcePrefix: string;
  format: SourceFormat | 'kafka';
  partitionRecords: number;
  partitionBytes: number;
  splitBytes: number;
  pack: boolean;
  params: Record<string, string>;
  /** Lookup tables: name -> object (bucket, key, etag). */
  lookups: Record<string, { bucket: string; key: string; etag: string; format: string }>;
  /** The reader schema of Avro sources, if the pipeline sets one. */
  input: ReaderSchemaInfo | null;
  rawSchemas: RawSchema[];
  partitions: PlannedPartition[];
  /** The stages as the planning worker knew them (workers run their own versions). */
  stages: StageInfo[];
  /** Kafka sources: the topic, the offset ranges' bounds, and how values are decoded. */
  kafka?: KafkaPlanInfo;
  /** Source objects with no records, left out of the partitions: how many, and the first keys (absent when none). */
  emptySources?: { count: number; keys: string[] };
  /** Flat sources: what their scans depended on besides the bytes, so the next run can reuse them (activities/plan-reuse.ts). */
  scanner?: { version: number; maxRecordBytes: number };
  /** Avro sources with split objects: what their block walks depended on besides the bytes, so the next run can reuse them (activities/plan-reuse.ts). */
  walker?: { version: number; maxBlockBytes: number; maxBlockRecords: number; maxHeaderBytes: number };
}

/**
 * Empty source objects are counted whatever their number, and named up to these many: the plan
 * is read by every activity, and the summary travels to the workflow and across continue-as-new.
 */
export const EMPTY_KEYS_IN_PLAN = 100;
export const EMPTY_URLS_IN_SUMMARY = 10;

/** Source objects left out because they hold no records: how many, and the first few as s3:// URLs. */
export interface EmptySources {
  count: number;
  urls: string[];
}

/** What the plan activity hands the workflow: references, counts and partition ids only. */
export interface PlanSummary {
  planKey: string;
  bucket: string;
  dataset: string;
  targetPrefix: string;
  format: SourceFormat | 'kafka';
  partitions: number;
  /** Every partition's stable id, in plan order; empty for large plans planned by index (windowed ingests). */
  ids: string[];
  /** Readable names, when they fit in a small payload (else the workflow shows ids). */
  names: string[] | null;
  /** Source objects in the partitions (empty ones are left out). */
  sourceObjects: number;
  /** Source objects with no records (0 bytes; csv: no header row; jsonl: blank lines only; json: `[]`), left out of the partitions. */
  emptySources?: EmptySources;
  /** Objects under the prefix whose names (or folders) start with "_" or ".", skipped: how many, and the first URLs. */
  hiddenSources?: EmptySources;
  scannedRecords: number | null;
  /** Flat sources: objects whose scan came from the plan behind the latest snapshot (unchanged since), not from reading them again. */
  reusedScans?: number;
  /** Avro sources with split objects: how many were walked now, and how many walks came from the plan behind the latest snapshot (absent when none is split). */
  walks?: { walked: number; reused: number };
  /** Flat sources need an import activity per partition; Avro sources are read in place. */
  needsImport: boolean;
  stages: { name: string; after: string[]; version: string }[];
  /** The pipeline's retry settings for partition activities. */
  retry: Required<RetrySettings>;
  /** Kafka sources: the topic whose offsets a completed run commits (commitKafkaOffsets). */
  kafka?: { topic: string; gaps?: KafkaGapsSummary };
  /** Which partitions are small enough to run several per activity (src/pipeline/small-partitions.ts). */
  small?: string;
  /**
   * Stages under whose prefix nothing at all was stored when the plan was made (a first ingest
   * into the dataset): a partition's first run of such a stage need not look for an earlier commit.
   */
  emptyStages?: string[];
}
