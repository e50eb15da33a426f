import type { PlanSummary } from '../../src/pipeline/plan';
import { Code, CompactState } from './compact';
import { afterOf } from './graph';
import { unknownFields } from '../../src/log/shown';

export interface RetryFilter {
  partitions?: string[];
  stages?: string[];
}

/**
 * What is wrong with a retry request's shape (from a signal or update, so anything), or null.
 * `strict`: a field it does not know, or an empty list, is refused too: read as "no filter", a
 * typo (`partition`) or an empty list would retry every failed partition. Signals of runs started
 * before this were taken without it, and replay so.
 */
export function retryShapeProblem(req: unknown, strict = true): string | null {
  if (req !== undefined && req !== null && (typeof req !== 'object' || Array.isArray(req))) return 'expected {"partitions": ["p-3fa9c1d20b7e"], "stages": ["map"]} or nothing';
  const r = (req ?? {}) as Record<string, unknown>;
  if (strict) {
    const unknown = unknownFields(r, ['partitions', 'stages']);
    if (unknown) return `${unknown}: a retry takes "partitions" and "stages" (both optional)`;
  }
  for (const [field, list] of [['partitions', r.partitions], ['stages', r.stages]] as const) {
    if (list !== undefined && (!Array.isArray(list) || list.some((x) => typeof x !== 'string'))) return `"${field}" must be a list of strings`;
    if (strict && Array.isArray(list) && list.length === 0) return `"${field}" is empty: leave it out to retry every failed ${field === 'partitions' ? 'partition' : 'stage'}`;
  }
  return null;
}

/** Why a retry request cannot be taken, or null. Partitions are ids, names or "#<index>". */
export function retryProblem(req: unknown, state: CompactState | undefined, stages: string[], strict = true): string | null {
  const shape = retryShapeProblem(req, strict);
  if (shape || !state) return shape;
  const r = (req ?? {}) as RetryFilter;
  for (const p of r.partitions ?? []) {
    if (indexOf(state, p) === undefined) {
      return `unknown partition ${JSON.stringify(p)}: give a partition id (p-3fa9c1d20b7e), name or #index of this run${state.ids.length ? '' : ' (this run is too large to know every id: use ids and names of failed partitions as the partitions query shows them, or #index)'}`;
    }
  }
  for (const st of r.stages ?? []) if (!stages.includes(st)) return `unknown stage ${JSON.stringify(st)} (stages: ${stages.join(', ')})`;
  return null;
}

function indexOf(state: CompactState, p: string): number | undefined {
  const m = /^#(\d+)$/.exec(p);
  if (m && Number(m[1]) < state.partitions) return Number(m[1]);
  let i = state.ids.indexOf(p);
  if (i < 0 && state.names) i = state.names.indexOf(p);
  if (i >= 0) return i;
  for (const f of state.failureDetails.values()) if (f.partition === p || f.name === p) return f.index;
  return undefined;
}

/**
 * Marks failed (stage, partition) entries pending again, only of the stages and partitions asked
 * for, and with each what it blocked downstream once all of that stage's inputs are committed or
 * re-queued. Returns the re-queued entries and the runs they had so far.
 */
export function requeue(state: CompactState, plan: PlanSummary, filter: RetryFilter, opts: { unblock?: boolean } = {}): { stage: string; index: number; runs: number }[] {
  const out: { stage: string; index: number; runs: number }[] = [];
  const stageSet = filter.stages?.length ? new Set(filter.stages) : null;
  const only = filter.partitions?.length ? new Set(filter.partitions.map((p) => indexOf(state, p)).filter((i): i is number => i !== undefined)) : null;
  const after = afterOf(plan);
  const indices = only ? [...only].sort((a, b) => a - b) : Array.from({ length: state.partitions }, (_, i) => i);
  const committed = (code: Code) => code === Code.done || code === Code.skipped;
  for (const i of indices) {
    let touched = false;
    state.stages.forEach((stage, s) => {
      if (state.get(s, i) !== Code.failed || (stageSet && !stageSet.has(stage))) return;
      const runs = state.failureDetails.get(`${stage}/${i}`)?.runs ?? 1;
      state.set(s, i, Code.pending);
      out.push({ stage, index: i, runs });
      touched = true;
    });
    // A partition with no failed stage may still hold a stage blocked by a failure that was
    // retried and committed since (see unblocked): asked for, it runs too.
    if (!touched && !opts.unblock) continue;
    out.push(...requeueBlocked(state, after, i, (c) => committed(c) || c === Code.pending));
  }
  return out;
}

/**
 * Blocked stages of partition i whose inputs are all committed: their failed upstream was
 * retried and committed after they were blocked (a retry that came while a sibling stage still
 * ran, or before the window reported the block). Pending again, so that nothing stays blocked
 * behind a failure that is gone.
 */
export function unblocked(state: CompactState, plan: PlanSummary, i: number, may: (stage: string) => boolean): { stage: string; index: number; runs: number }[] {
  return requeueBlocked(state, afterOf(plan), i, (c) => c === Code.done || c === Code.skipped, may);
}

/** Times a blocked stage is run again on its own once its inputs are committed. */
export const MAX_UNBLOCKED_RUNS = 3;

/**
 * A stage blocked by a failure that has since been retried and committed runs again. A stage
 * that keeps ending blocked with its inputs committed (its inputs' versions cannot be read) is
 * given up after MAX_UNBLOCKED_RUNS tries, so that it cannot loop; `runs` counts them per
 * stage and partition, across continue-as-new. Returns whether partition i got anything to run.
 */
export function rerunUnblocked(state: CompactState, plan: PlanSummary, i: number, runs: Map<string, number>): boolean {
  if (state.count(Code.blocked) === 0) return false; // the usual case, on every report
  const may = (stage: string) => (runs.get(`${stage}/${i}`) ?? 0) < MAX_UNBLOCKED_RUNS;
  const out = unblocked(state, plan, i, may);
  for (const r of out) runs.set(`${r.stage}/${r.index}`, (runs.get(`${r.stage}/${r.index}`) ?? 0) + 1);
  return out.length > 0;
}

function requeueBlocked(state: CompactState, after: Map<string, string[]>, i: number, ready: (c: Code) => boolean, may: (stage: string) => boolean = () => true): { stage: string; index: number; runs: number }[] {
  const out: { stage: string; index: number; runs: number }[] = [];
  // Stages are in DAG order, so one pass sees upstream re-queues before downstream stages.
  state.stages.forEach((stage, s) => {
    if (state.get(s, i) !== Code.blocked || !may(stage)) return;
    const deps = after.get(stage) ?? [];
    if (deps.every((d) => {
      const ds = state.stageIndex(d);
      return ds < 0 || ready(state.get(ds, i)); // no raw stage: an Avro source is read in place
    })) {
      state.set(s, i, Code.pending);
      out.push({ stage, index: i, runs: 0 });
    }
  });
  return out;
}
