import type { PlanSummary } from '../../src/pipeline/plan';
import type { CompactCarry } from './compact';

/** Knobs for tests and very large runs; the defaults suit 100k partitions. */
export interface ScaleOptions {
  /** Continue-as-new once the parent's history has this many events (Temporal also suggests it). */
  continueAsNewEvents?: number;
  /** Activities one child window runs at most: bounds every child's history. */
  windowActivities?: number;
  /** Plans of more partitions than this reach the workflow without ids and names. */
  summaryIdsMax?: number;
  /** How often a run looks at the windows an earlier run started (default 60). */
  windowCheckSeconds?: number;
}

/** What one run of a large ingest hands the next across continue-as-new. */
export interface IngestCarry {
  options: ScaleOptions;
  plan: PlanSummary;
  state: CompactCarry;
  firstRunId: string;
  /** The first run's start (absent in carries of runs started before it was kept): the ingest's startedAt. */
  startedAt?: string;
  seq: number;
  cursor: number;
  free: number;
  inflight: Inflight[];
  retryRuns: [string, number][];
  /** "stage/index" -> times a blocked stage ran again on its own once its inputs were committed. */
  unblocked?: [string, number][];
  /** Workflow time at which a run waiting for a retry gives up. */
  waitUntil: number | null;
  /** The last word for people in current details (an ignored signal), kept across runs. */
  note?: string;
  /** finishPartial was asked while a retry ran: the run ends once it has, without waiting again. */
  finishAsked?: true;
  /** "stage/index" run again because their window's results were lost: their records are counted already. */
  recount?: string[];
  /** Tag of the windows a reset run started (ids `<workflow id>/<tag>/w-…`), see ingestWindowed's rerunAfterReset. */
  tag?: string;
  /** A reset run continued as new before it started windows of its own: the next run reruns at its first. */
  reset?: true;
}

export interface Inflight {
  seq: number;
  id: string;
  slots: number;
  /** [first, last] partition indices it owns, and the stages it runs. */
  ranges: [number, number][];
  stages: string[];
}
