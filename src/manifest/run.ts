import type { RecordCounts } from './partition';

export interface StageSummary {
  /** s3:// URL of the stage's output directory. */
  output: string;
  succeeded: number;
  /** Of the succeeded: found already committed and not recomputed. */
  skipped: number;
  failed: number;
  /** Not run because an upstream partition failed. */
  blocked: number;
  records: RecordCounts;
  /** Failed partitions with their last error and attempts (the first 100). */
  failures: { partition: string; error: string; attempts: number }[];
}

/** What the ingest workflow returns, and the core of the run manifest. */
export interface IngestSummary {
  status: 'completed' | 'partial';
  pipeline: string;
  dataset: string;
  source: string;
  plan: string;
  partitions: number;
  stages: Record<string, StageSummary>;
  /** s3:// URL under which every stage's outputs are. */
  outputPrefix: string;
  /** s3:// URL of the run manifest. */
  manifest: string;
}

export interface RunManifest extends IngestSummary {
  kind: 'partflow.run';
  version: 1;
  workflowId: string;
  runId: string;
  writtenAt: string;
  /** Per stage, the committed partition manifests of this run's outputs (some may be reused from earlier runs). */
  committed: Record<string, { partition: string; manifest: string; output: string; sha256: string; records: number; runId: string }[]>;
  /** Every partition that failed in this run, with its last error. */
  failures: { stage: string; partition: string; error: string; attempts: number; runs: number }[];
  /** Partitions not run because an upstream partition failed. */
  blocked: { stage: string; partition: string }[];
}
