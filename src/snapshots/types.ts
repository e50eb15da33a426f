import type { RecordCounts } from '../manifest/partition';

/** One partition of one stage as a snapshot holds it. */
export interface SnapshotPartition {
  partition: string;
  name: string;
  output: string;
  /** s3:// URL of the partition manifest (its rejects, if any, sit beside it). */
  manifest: string;
  records: number;
  counts: RecordCounts;
  sha256: string;
  codeVersion: string;
  contentVersion: string;
  /** The run that computed this output. */
  workflowId: string;
  runId: string;
  /**
   * The run that committed this snapshot failed this partition: this is the parent's last good
   * output. Also set, with `successors`, on a partition the run no longer planned whose source
   * objects it read only in partitions that failed (see keptForFailed in changes.ts).
   */
  carriedForward?: true;
  /**
   * Ids of the failed partitions of the committing run that now read this partition's source
   * objects (a pack that took in a new object, which failed): their data is this one until they
   * succeed. Set only with `carriedForward`.
   */
  successors?: string[];
  /**
   * s3:// URL of a plan that lists this partition's pieces, set once it is kept without being
   * planned: a later run's snapshot looks its source objects up there (gc keeps the plan).
   */
  plannedIn?: string;
}

export type ChangeKind = 'added' | 'changed' | 'removed';

/** Partition ids per kind of change, for one stage. */
export interface StageChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

export interface StageCounts {
  partitions: number;
  records: number;
  carriedForward: number;
  /** Partitions the run failed that no earlier snapshot had an output for (absent from this one). */
  missing: number;
}

/** A partition the committing run failed (or blocked), as the snapshot head lists it. */
export interface FailedEntry {
  partition: string;
  name: string;
  /** The parent snapshot had an output for this partition, which this one keeps. */
  carriedForward: boolean;
  /**
   * Partitions of the parent the run no longer planned, whose source objects this one now reads:
   * kept (carried forward) in its place while it fails. Absent when none.
   */
  keeps?: { partition: string; name: string }[];
}

/** The head object `_snapshots/00000042.json`. With `parts`, the stages' partitions are in part files. */
export interface SnapshotHead {
  kind: 'partflow.snapshot';
  version: 1;
  snapshot: number;
  /** 0 for the first snapshot of a dataset. */
  parent: number;
  committedAt: string;
  dataset: string;
  /** s3:// URL of the dataset folder (ends with "/"). */
  datasetUrl: string;
  /**
   * What the snapshot holds: completed when it lists no failed partition, partial when some are
   * carried forward or missing. A superseded snapshot's is its parent's, whatever `run.status` says.
   */
  status: 'completed' | 'partial';
  /** The run that committed this snapshot; `status` is how that run ended. */
  run: { workflowId: string; runId: string; pipeline: string; manifest: string; plan: string; status: 'completed' | 'partial' | 'cancelled'; startedAt?: string };
  counts: Record<string, StageCounts>;
  changes: Record<string, StageChanges>;
  /**
   * Failed partitions of the committing run, per stage (carried forward or missing); in a
   * superseded snapshot, its parent's, which go with the partitions it keeps.
   */
  failed: Record<string, FailedEntry[]>;
  stages?: Record<string, SnapshotPartition[]>;
  /** The latest start of the runs this snapshot reflects: when the source was last read for it. */
  sourceAsOf?: string;
  /**
   * Set when the committing run started before the run behind the latest snapshot (it saw the
   * source earlier): this snapshot then keeps its parent's partitions, not the run's, with the
   * parent's `status`, `failed` and `counts`.
   */
  supersededBy?: { snapshot: number; workflowId: string; startedAt: string };
  /** Part files, relative to `_snapshots/`, written before this head; each holds entries of some stages. */
  parts?: { file: string; sha256: string; entries: number }[];
}

/** A part file: a slice of a large snapshot's partitions. */
export interface SnapshotPart {
  kind: 'partflow.snapshot-part';
  stages: Record<string, SnapshotPartition[]>;
}

/** A snapshot with all of its partitions loaded. */
export interface Snapshot extends SnapshotHead {
  stages: Record<string, SnapshotPartition[]>;
}

/** A consumer's cursor: the last snapshot it has processed. */
export interface ConsumerCursor {
  kind: 'partflow.consumer';
  consumer: string;
  snapshot: number;
  committedAt: string;
}
