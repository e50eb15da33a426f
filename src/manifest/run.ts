import type { EmptySources } from '../pipeline/plan';
import type { KafkaGapsSummary } from '../sources/kafka/gaps';
import type { RecordCounts } from './partition';
import type { VersionSkew } from './version-skew';

export interface StageSummary {
  /** s3:// URL of the stage's output directory. */
  output: string;
  succeeded: number;
  /** Of the succeeded: found already committed and not recomputed. */
  skipped: number;
  failed: number;
  /** Not run because an upstream partition failed. */
  blocked: number;
  /** A cancelled run's partitions that had not finished when it was cancelled (absent when none). */
  cancelled?: number;
  records: RecordCounts;
  /** Failed partitions with their last error and attempts (the first 100). */
  failures: { partition: string; name?: string; error: string; attempts: number }[];
}

/** Partitions a snapshot kept in place of failed ones (see IngestSummary.snapshot.kept). */
export interface KeptSummary {
  count: number;
  first: { stage: string; partition: string; name: string; failed: { partition: string; name: string }[] }[];
}

/** What the ingest workflow returns, and the core of the run manifest. */
export interface IngestSummary {
  /** `cancelled` only in the run manifest of a cancelled run (a cancelled run returns no result). */
  status: 'completed' | 'partial' | 'cancelled';
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
  /** Source objects the plan left out because they hold no records (absent when none). */
  emptySources?: EmptySources;
  /** Source objects skipped for a name (or folder) starting with "_" or "." (markers, temporary and hidden files). */
  hiddenSources?: EmptySources;
  /**
   * Kafka with allowGaps: offsets skipped because the broker no longer held them, at plan time
   * and (once the run manifest is written) while reading; absent when none.
   */
  kafkaGaps?: KafkaGapsSummary;
  /** The dataset snapshot this run committed (runs from before snapshots have none). */
  snapshot?: {
    number: number;
    url: string;
    /**
     * A run that started later (and so read the source later) had committed snapshot `snapshot`
     * first: this run's snapshot keeps that one's partitions rather than bring back older data.
     */
    supersededBy?: { snapshot: number; workflowId: string; startedAt: string };
    /**
     * Partitions of the parent snapshot the run no longer planned, carried forward because the
     * partitions that now read their source objects failed (a pack that took in an object that
     * fails): how many, and the first few. Absent when none.
     */
    kept?: KeptSummary;
  };
  /**
   * Stages whose committed partitions were not all computed with the code version the run was
   * planned with, counted per version (absent when all were): two workers on the task queue
   * registering different definitions of the pipeline, or a deploy during the run.
   */
  versionSkew?: VersionSkew;
  /** Why no snapshot was committed, when the commit was refused or failed. */
  snapshotError?: string;
  /** The Temporal Schedule that started the run, if one did. */
  schedule?: string;
  /**
   * When the run started (the first of its continue-as-new runs), by the Temporal server's clock:
   * it planned right after, so of two runs the later one saw the source later (runs from before
   * this field have none).
   */
  startedAt?: string;
}

/** One partition of one stage in a run: where its output is and how it came to be. */
export interface RunPartition {
  partition: string;
  name: string;
  output: string;
  manifest: string;
  sha256: string;
  counts: RecordCounts;
  codeVersion: string;
  contentVersion: string;
  /** computed: this run produced it; reused: an earlier run had committed the same content version. */
  result: 'computed' | 'reused';
  /** The run that computed it. */
  workflowId: string;
  runId: string;
  /** Attempts of this run's activity for it (run manifests written before this field have none). */
  attempts?: number;
}

export interface RunManifest extends IngestSummary {
  kind: 'partflow.run';
  version: 2;
  workflowId: string;
  runId: string;
  writtenAt: string;
  /** Per stage, every committed partition of this run (computed or reused), in plan order. */
  committed: Record<string, RunPartition[]>;
  /** Every partition that failed in this run, with its last error. */
  failures: { stage: string; partition: string; name: string; error: string; attempts: number; runs: number }[];
  /** Partitions not run because an upstream partition failed. */
  blocked: { stage: string; partition: string; name: string }[];
  /** A cancelled run's only: every partition it had not finished when it was cancelled. */
  cancelled?: { stage: string; partition: string; name: string }[];
}
