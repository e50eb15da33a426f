/** The partition manifest: written last, create-only; its existence commits the output. */
export interface PartitionManifest {
  kind: 'partflow.partition';
  version: 2;
  pipeline: string;
  dataset: string;
  stage: string;
  /** The partition's stable id, and its readable name. */
  partition: string;
  name: string;
  /** The code version of the stage that produced this output. */
  codeVersion: string;
  /** Everything the output depends on (see src/pipeline/versions.ts); part of its key. */
  contentVersion: string;
  schema: { ref: string; fingerprint: string };
  codec: string;
  /** `gaps`: Kafka offsets in `range` the broker no longer held (allowGaps), [from, to). */
  inputs: { url: string; etag: string; size: number; range?: [number, number]; version?: string; gaps?: [number, number][] }[];
  output: { url: string; bytes: number; sha256: string; records: number };
  rejects: { url: string; bytes: number; sha256: string; records: number } | null;
  counts: RecordCounts;
  /**
   * Kafka ranges: the offsets of `inputs[0].range` that hold no record (transaction markers,
   * records of aborted transactions, offsets compacted away, gaps skipped with allowGaps), so
   * that counts.in + control + aborted + compacted + gaps = the range's length. Absent in
   * manifests written before it, and for other sources.
   */
  offsets?: { control: number; aborted: number; compacted: number; gaps: number };
  /** Set when the committing attempt carried on from an earlier attempt's checkpoint. */
  resumedFrom?: { attempt: number; records: number; position: { input: number; blockOffset: number; skip: number } } | null;
  run: { workflowId: string; runId: string; activityId: string; attempt: number };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

export interface RecordCounts {
  in: number;
  out: number;
  rejected: number;
  dropped: number;
}

/** What an activity returns to the workflow about one partition of one stage. */
export interface PartitionResult {
  stage: string;
  partition: string;
  /** `skipped`: a committed manifest was found and nothing was recomputed. */
  status: 'done' | 'skipped';
  counts: RecordCounts;
  outputKey: string;
  manifestKey: string;
  durationMs: number;
  /** Attempt of the activity that returned this (1 for the first). */
  attempt: number;
  codeVersion: string;
  /** What the next stages of this partition pass on as their upstream version. */
  contentVersion: string;
  /** The committed output and the run that computed it: a run manifest is written from these without reading every partition manifest back. */
  output?: { url: string; sha256: string };
  computedBy?: { workflowId: string; runId: string };
}
