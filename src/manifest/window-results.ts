import type { RecordCounts } from './partition';

/**
 * What a window of an ingest saves, as it ends, for every (stage, partition) it ran
 * (`<dataset>/_windows/<workflow id>/<run id>/<window>.json`); the run manifest is written from
 * these objects.
 */
export interface SavedEntry {
  stage: string;
  index: number;
  status: 'done' | 'skipped' | 'failed' | 'blocked';
  attempts: number;
  runs: number;
  version?: string;
  counts?: RecordCounts;
  durationMs?: number;
  error?: string;
  /** From the activity's result: with these the run manifest needs no read of the partition manifest. */
  output?: { url: string; sha256: string; codeVersion: string };
  computedBy?: { workflowId: string; runId: string };
}
